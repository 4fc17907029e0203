//! Malformed, truncated and hostile files: a one-line error naming the
//! file, the batch goes on, exit 2, and the archive stays consistent.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{TestArchive, repo, sample, shared};

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    v.sort();
    v
}

/// Archives `broken` plus one good photo in one batch and checks the
/// promises: no panic, one error line per failure naming the file, exit
/// 2, the good photo archived, and catalog and store agree.
fn archive_batch(broken: &[PathBuf]) -> (TestArchive, Value, String) {
    let t = TestArchive::new();
    let good = sample("pillow-hopper.jpg");
    let mut args: Vec<&std::ffi::OsStr> = vec!["archive".as_ref(), "--json".as_ref()];
    args.extend(broken.iter().map(|p| p.as_os_str()));
    args.push(good.as_os_str());
    let out = t
        .cmd(&args)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "a decoder panic escaped:\n{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), broken.len() + 1);
    let last = files.last().unwrap();
    assert_eq!(
        last["status"], "archived",
        "the good file after the bad ones: {v:#}"
    );

    let failed: Vec<_> = files.iter().filter(|f| f["status"] == "failed").collect();
    assert_eq!(v["summary"]["failed"], failed.len());
    assert!(!failed.is_empty());
    let error_lines: Vec<_> = stderr
        .lines()
        .filter(|l| l.starts_with("firstseen: ") && !l.starts_with("firstseen: warning: "))
        .collect();
    assert_eq!(
        error_lines.len(),
        failed.len(),
        "one line per failure:\n{stderr}"
    );
    for f in &failed {
        let err = f["error"].as_str().unwrap();
        let path = f["path"].as_str().unwrap();
        assert!(
            !path.is_empty() && err.starts_with(path),
            "error must name the file: {err}"
        );
        assert!(!err.contains('\n'));
        println!("{err}");
    }
    // Catalog and store agree: every archived file is one item with its
    // object; nothing for the failures.
    let archived = files.len() - failed.len();
    let log = t.json(["log"], 0);
    assert_eq!(log["sightings"].as_array().unwrap().len(), archived);
    assert_eq!(t.object_count(), archived);
    let tmp_left = std::fs::read_dir(t.dir().join("tmp")).unwrap().count();
    assert_eq!(tmp_left, 0, "temporary files left behind");
    (t, v, stderr)
}

#[test]
fn bundled_broken_fixtures_fail_cleanly() {
    let broken = files_in(&repo().join("tests/fixtures/broken"));
    assert!(broken.len() >= 8);
    let (_t, v, stderr) = archive_batch(&broken);
    // Two are damaged only where the picture survives: the JPEG decoder
    // keeps what it could decode of a truncated scan (as browsers show
    // it), and the PNG's hostile zTXt text chunks are never inflated.
    let decoded = [
        "pillow-truncated_jpeg.jpg",
        "pillow-png_decompression_dos.png",
    ];
    for f in v["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap_or_default();
        let name = path.rsplit('/').next().unwrap_or_default();
        if name == "pillow-hopper.jpg" {
            continue;
        }
        let expect = if decoded.contains(&name) {
            "archived"
        } else {
            "failed"
        };
        assert_eq!(f["status"], expect, "{name}: {f:#}");
    }
    assert_eq!(
        v["summary"]["failed"],
        broken.len() - decoded.len(),
        "{stderr}"
    );
    assert!(stderr.contains("pillow-decompression_bomb.gif: cannot decode gif"));
    assert!(stderr.contains("pillow-bmpsuite-shortfile.bmp: cannot decode bmp: file is truncated"));
}

#[test]
fn pixel_cap_refuses_large_images() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let out = t
        .cmd([
            "--max-pixels",
            "100000",
            "archive",
            rocket.to_str().unwrap(),
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(
            "skimage-rocket.jpg: refused: image size (pixels) 273280 exceeds the limit of 100000"
        ),
        "{stderr}"
    );
    assert_eq!(t.object_count(), 0);
    let out = t
        .cmd(["--max-bytes", "1000", "hash", rocket.to_str().unwrap()])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("file size (bytes) 112525 exceeds the limit of 1000"),
        "{stderr}"
    );
}

#[test]
fn empty_and_non_image_files_fail_cleanly() {
    let t = TestArchive::new();
    let s = t.scratch();
    std::fs::write(s.join("empty.jpg"), b"").unwrap();
    std::fs::write(s.join("notes.jpg"), b"this is text, not a picture").unwrap();
    let out = t
        .cmd([
            "archive".as_ref(),
            s.join("empty.jpg").as_os_str(),
            s.join("notes.jpg").as_os_str(),
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("empty.jpg: empty file"), "{stderr}");
    assert!(
        stderr.contains("notes.jpg: not a supported image"),
        "{stderr}"
    );
    assert!(stderr.contains("0 new item(s)"), "{stderr}");
}

#[test]
fn folder_walk_skips_non_images() {
    let t = TestArchive::new();
    let v = t.json(["archive".as_ref(), repo().join("samples").as_os_str()], 0);
    assert_eq!(v["summary"]["failed"], 0, "{v:#}");
    assert!(
        v["summary"]["skipped"].as_u64().unwrap() >= 1,
        "SOURCES.md is skipped"
    );
    assert!(v["summary"]["new_items"].as_u64().unwrap() >= 8, "{v:#}");
}

#[test]
fn every_shared_broken_file_errors_or_decodes_without_panic() {
    let Some(shared) = shared() else {
        println!("SKIPPED: ../shared/corpus/broken not found (set FIRSTSEEN_SHARED to run)");
        return;
    };
    let broken = files_in(&shared.join("corpus/broken"));
    assert_eq!(broken.len(), 34);
    let (_t, v, _) = archive_batch(&broken);
    println!(
        "shared broken corpus: {} failed cleanly, {} decoded",
        v["summary"]["failed"],
        v["summary"]["new_items"].as_u64().unwrap() - 1
    );
}

/// Runs `f` on another thread and fails the test if it takes longer
/// than `secs` (a hang is the bug these tests guard against).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("the command hung")
}

#[test]
fn fifos_and_devices_are_refused_without_blocking() {
    let t = TestArchive::new();
    let fifo = t.scratch().join("pipe.jpg");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    assert!(made, "mkfifo");
    let photo = sample("skimage-rocket.jpg");
    for command in ["archive", "check", "hash", "report"] {
        let (args, t2) = (
            vec![
                command.to_string(),
                fifo.display().to_string(),
                "/dev/zero".to_string(),
                photo.display().to_string(),
            ],
            t.dir().to_path_buf(),
        );
        let args = if command == "report" {
            args[..2].to_vec()
        } else {
            args
        };
        let out = within(60, move || {
            assert_cmd::Command::cargo_bin("firstseen")
                .unwrap()
                .arg("--archive")
                .arg(t2)
                .args(&args)
                .output()
                .unwrap()
        });
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains("pipe.jpg") && err.contains("not a regular file (a FIFO)"),
            "{command}: {err}"
        );
        if command != "report" {
            assert!(
                err.contains("/dev/zero") && err.contains("character device"),
                "{command}: {err}"
            );
            // The rest of the batch still ran.
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("skimage-rocket.jpg"), "{command}: {stdout}");
        }
    }
    // Inside a folder, a FIFO is passed over and counted, never opened.
    let dir = t.scratch().join("folder");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&photo, dir.join("a.jpg")).unwrap();
    std::process::Command::new("mkfifo")
        .arg(dir.join("b.jpg"))
        .status()
        .unwrap();
    let t2 = t.dir().to_path_buf();
    let out = within(60, move || {
        assert_cmd::Command::cargo_bin("firstseen")
            .unwrap()
            .arg("--archive")
            .arg(t2)
            .args(["archive", "--json"])
            .arg(&dir)
            .output()
            .unwrap()
    });
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["skipped"], 1, "{v:#}");
    assert_eq!(v["summary"]["failed"], 0, "{v:#}");
}

#[test]
fn max_bytes_holds_while_reading() {
    let t = TestArchive::new();
    let photo = sample("skimage-rocket.jpg");
    let out = t
        .cmd([
            "--max-bytes".as_ref(),
            "1000".as_ref(),
            "hash".as_ref(),
            photo.as_os_str(),
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("skimage-rocket.jpg") && err.contains("exceeds the limit of 1000"),
        "{err}"
    );
}

/// The sample JPEG with its frame header (SOF) claiming `w`×`h`.
fn lying_jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut b = std::fs::read(sample("pillow-hopper.jpg")).unwrap();
    let sof = b
        .windows(2)
        .position(|x| x[0] == 0xFF && (x[1] == 0xC0 || x[1] == 0xC2))
        .unwrap();
    b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    b
}

#[test]
fn a_header_claiming_more_pixels_than_the_file_holds_is_refused() {
    let t = TestArchive::new();
    let liar = t.scratch().join("liar.jpg");
    let mut b = lying_jpeg(9999, 9999);
    b.truncate(633);
    std::fs::write(&liar, &b).unwrap();
    let photo = sample("skimage-rocket.jpg");
    let v = t.json(["archive".as_ref(), liar.as_os_str(), photo.as_os_str()], 2);
    let failed = &v["files"][0];
    assert_eq!(failed["status"], "failed", "{v:#}");
    let err = failed["error"].as_str().unwrap();
    assert!(
        err.contains("liar.jpg") && err.contains("9999x9999") && err.contains("633 bytes"),
        "{err}"
    );
    assert_eq!(v["summary"]["new_items"], 1, "the batch goes on: {v:#}");
}

#[test]
fn truncated_jpegs_are_archived_with_a_warning() {
    let t = TestArchive::new();
    let whole = std::fs::read(sample("mate-GreenMeadow.jpg")).unwrap();
    let mut files = Vec::new();
    for cut in [10, 30, 50, 70, 90] {
        let p = t.scratch().join(format!("cut{cut}.jpg"));
        std::fs::write(&p, &whole[..whole.len() * cut / 100]).unwrap();
        files.push(p);
    }
    let mut args = vec!["archive".to_string()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let out = t.cmd(&args).arg("--json").output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    for (f, p) in v["files"].as_array().unwrap().iter().zip(&files) {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        match f["status"].as_str().unwrap() {
            // Archived: only with the warning, on its line and in JSON.
            "archived" => {
                let w = f["warnings"].as_array().unwrap();
                assert!(
                    w.iter().any(|w| w.as_str().unwrap().contains("truncated")),
                    "{f:#}"
                );
                assert!(err.contains(&name) && err.contains("truncated"), "{err}");
            }
            // Or refused by the decoder, with the file named.
            _ => assert!(f["error"].as_str().unwrap().contains(&name), "{f:#}"),
        }
    }
    // The whole file has no such warning.
    let p = t.scratch().join("whole.jpg");
    std::fs::write(&p, &whole).unwrap();
    let v = t.json(["archive".as_ref(), p.as_os_str()], 0);
    assert_eq!(v["files"][0]["warnings"], serde_json::json!([]), "{v:#}");
}

/// Peak memory figures `--timings` prints: (pictures in hand, resident), MB.
fn memory_peaks(stderr: &str) -> (f64, f64) {
    let number_after = |key: &str| -> f64 {
        let at = stderr
            .find(key)
            .unwrap_or_else(|| panic!("no '{key}' in {stderr}"));
        stderr[at + key.len()..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after '{key}' in {stderr}"))
    };
    (
        number_after("pictures in hand at most"),
        number_after("peak resident"),
    )
}

#[test]
fn memory_is_bounded_across_threads() {
    // Four 20-megapixel pictures (small files: smooth gradients), hashed
    // on four threads: each costs about 300 MB while in hand.
    let t = TestArchive::new();
    let mut files = Vec::new();
    for k in 0..4u32 {
        let img = image::RgbImage::from_fn(4500, 4500, |x, y| {
            let v = ((x * (k + 1) + y * (4 - k)) / 40 % 256) as u8;
            image::Rgb([v, v / 2 + (k * 40) as u8, 255 - v])
        });
        let p = t.scratch().join(format!("big{k}.png"));
        img.save(&p).unwrap();
        files.push(p);
    }
    let run = |budget: &str| {
        let out = t
            .cmd(["--timings", "--max-memory", budget, "hash"])
            .args(&files)
            .env("RAYON_NUM_THREADS", "4")
            .assert()
            .success();
        memory_peaks(&String::from_utf8_lossy(&out.get_output().stderr))
    };
    let (free_in_hand, free_resident) = run("4G");
    let (held_in_hand, held_resident) = run("400M");
    eprintln!(
        "pictures in hand / resident: budget 4G {free_in_hand} / {free_resident} MB, \
         budget 400M {held_in_hand} / {held_resident} MB"
    );
    // With room, several pictures are in hand at once; with 400 MB, one
    // at a time (each alone fits), and the process stays near one
    // picture's cost.
    assert!(free_in_hand > 350.0, "{free_in_hand}");
    assert!(held_in_hand <= 400.0, "{held_in_hand}");
    assert!(
        held_resident < 0.7 * free_resident,
        "{held_resident} vs {free_resident}"
    );
    assert!(held_resident < 600.0, "{held_resident}");
}
