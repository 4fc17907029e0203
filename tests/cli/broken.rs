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
        .filter(|l| l.starts_with("firstseen: "))
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
