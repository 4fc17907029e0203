//! A full disk and a read-only archive, on small tmpfs mounts the test
//! makes (it needs to be root, as CI is; otherwise it prints SKIPPED).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{TestArchive, make_pictures, sample};

/// A tmpfs mounted for the test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn new(at: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("SKIPPED: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Mount(at.to_path_buf()))
    }

    fn read_only(&self) -> bool {
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn firstseen(archive: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("firstseen"));
    c.arg("--archive").arg(archive);
    c
}

#[test]
fn a_full_disk_names_the_input_and_loses_nothing() {
    let t = TestArchive::new();
    let pics = make_pictures(&t.scratch(), 12);
    let Some(m) = Mount::new(&t.scratch().join("small"), "2m") else {
        return;
    };
    let archive = m.0.join("archive");
    let first = sample("pillow-hopper.jpg");
    assert!(
        firstseen(&archive)
            .arg("archive")
            .arg(&first)
            .status()
            .unwrap()
            .success()
    );
    let out = firstseen(&archive)
        .arg("archive")
        .args(&pics)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "the disk should fill: {err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("firstseen: "))
        .collect();
    assert!(!lines.is_empty());
    for l in &lines {
        // Each failure names its input file first, then the reason.
        assert!(
            l.starts_with("firstseen: ") && l.contains("/pic") && l.contains(".jpg: "),
            "{l}"
        );
        assert!(
            !l.starts_with(&format!("firstseen: {}", archive.display())),
            "{l}"
        );
    }
    // What was stored before the disk filled is whole.
    let v = firstseen(&archive)
        .args(["verify", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(v["problems"], serde_json::json!([]), "{v:#}");
}

#[test]
fn a_read_only_archive_fails_once_before_any_work() {
    let t = TestArchive::new();
    let Some(m) = Mount::new(&t.scratch().join("ro"), "8m") else {
        return;
    };
    let archive = m.0.join("archive");
    let photo = sample("skimage-rocket.jpg");
    assert!(
        firstseen(&archive)
            .arg("archive")
            .arg(&photo)
            .status()
            .unwrap()
            .success()
    );
    if !m.read_only() {
        println!("SKIPPED: cannot remount read-only");
        return;
    }
    let others = [
        sample("skimage-chelsea.png"),
        sample("mate-GreenMeadow.jpg"),
        sample("pillow-hopper.jpg"),
    ];
    let out = firstseen(&archive)
        .arg("archive")
        .args(&others)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one error, not one per file: {err}");
    assert!(lines[0].contains("cannot be written"), "{err}");
    // Each cause said once: the catalog's path appears once.
    assert_eq!(
        lines[0].matches("catalog.sqlite").count(),
        1,
        "{}",
        lines[0]
    );
    assert_eq!(lines[0].matches("catalog: ").count(), 1, "{}", lines[0]);
    // Reading it still works (its log merged at the last clean close,
    // the catalog file is read as it is).
    let out = firstseen(&archive)
        .arg("check")
        .arg(&photo)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let out = firstseen(&archive)
        .arg("check")
        .arg(&others[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "not archived, so not known");
}

/// Copies a folder tree (regular files only).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn an_archive_on_a_read_only_filesystem_can_be_read() {
    let t = TestArchive::new();
    let Some(m) = Mount::new(&t.scratch().join("ro-read"), "16m") else {
        return;
    };
    // One photo checkpointed into the catalog file, a second only in its
    // write-ahead log: a reader holding its snapshot keeps the writer
    // from merging it, and the copy is taken before anyone does.
    let (first, second) = (sample("skimage-rocket.jpg"), sample("pillow-hopper.jpg"));
    let work = t.scratch().join("work");
    assert!(
        firstseen(&work)
            .arg("archive")
            .arg(&first)
            .status()
            .unwrap()
            .success()
    );
    let reader = rusqlite::Connection::open(work.join("catalog.sqlite")).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let n: i64 = reader
        .query_row("SELECT count(*) FROM item", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    assert!(
        firstseen(&work)
            .arg("archive")
            .arg(&second)
            .status()
            .unwrap()
            .success()
    );
    let wal = work.join("catalog.sqlite-wal");
    assert!(
        std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0),
        "the log holds the second photo"
    );
    let archive = m.0.join("archive");
    copy_tree(&work, &archive);
    let _ = std::fs::remove_file(archive.join("catalog.sqlite-shm"));
    drop(reader);
    if !m.read_only() {
        println!("SKIPPED: cannot remount read-only");
        return;
    }
    // Both photos are known, the archive verifies, nothing is written.
    for photo in [&first, &second] {
        let out = firstseen(&archive)
            .arg("check")
            .arg(photo)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            photo.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = firstseen(&archive).arg("verify").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 item(s)"));
}
