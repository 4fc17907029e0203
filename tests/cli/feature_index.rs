//! The feature index of an archive, end to end: built by the first
//! command on an archive without one, following new items, found stale
//! and rebuilt after a killed writer or a hand-edited catalog, checked by
//! `verify`; a damaged stored row is one item's problem.

use serde_json::Value;

use crate::util::{TestArchive, repo};

const STATE: &str = "index/features/state.json";

fn state(t: &TestArchive) -> Value {
    serde_json::from_slice(&std::fs::read(t.dir().join(STATE)).unwrap()).unwrap()
}

fn screenshot() -> std::path::PathBuf {
    repo().join("samples/circulating/rocket-repost.jpg")
}

/// The rocket repost (a crop in a post) is found through local features
/// of item 7 (its PDQ is far).
fn found_by_features(t: &TestArchive) -> bool {
    let shot = screenshot();
    let v = t.json(["check".as_ref(), shot.as_os_str()], 0);
    v["files"][0]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["evidence"] == "features")
}

fn archive_samples(t: &TestArchive) {
    let photos = repo().join("samples/photos");
    t.cmd(["archive".as_ref(), photos.as_os_str()])
        .assert()
        .code(0);
}

#[test]
fn archive_files_its_features_and_later_items_follow() {
    let t = TestArchive::new();
    archive_samples(&t);
    let s = state(&t);
    assert_eq!(s["upto"], 7, "{s:#}");
    let segs = s["segments"].as_array().unwrap();
    assert!(!segs.is_empty());
    let filed: u64 = segs.iter().map(|g| g["features"].as_u64().unwrap()).sum();
    assert!(filed > 500, "{s:#}");
    assert!(found_by_features(&t));
    // One more item: filed in the next segment (or merged into one).
    t.cmd([
        "archive".as_ref(),
        repo()
            .join("samples/circulating/chelsea-screenshot.jpg")
            .as_os_str(),
    ])
    .assert()
    .code(0);
    assert_eq!(state(&t)["upto"], 8);
    let v = t.json(["verify"], 0);
    assert_eq!(v["summary"]["problems"], 0, "{v:#}");
}

#[test]
fn an_archive_without_a_feature_index_gets_one_on_first_use() {
    let t = TestArchive::new();
    archive_samples(&t);
    std::fs::remove_dir_all(t.dir().join("index/features")).unwrap();
    assert!(found_by_features(&t));
    assert_eq!(state(&t)["upto"], 7);
}

#[test]
fn a_killed_writer_or_a_hand_edited_catalog_is_detected_and_rebuilt() {
    let t = TestArchive::new();
    archive_samples(&t);
    let before = state(&t);
    // A killed writer: a segment file written but never listed, and a
    // listed segment cut short.
    let dir = t.dir().join("index/features");
    std::fs::write(
        dir.join("seg-000000000009-000000000009-dead.fix"),
        b"partial",
    )
    .unwrap();
    let listed = before["segments"][0]["file"].as_str().unwrap().to_string();
    let bytes = std::fs::read(dir.join(&listed)).unwrap();
    std::fs::write(dir.join(&listed), &bytes[..bytes.len() / 2]).unwrap();
    assert!(found_by_features(&t));
    let after = state(&t);
    assert_ne!(after["segments"][0]["file"], before["segments"][0]["file"]);
    assert!(
        !dir.join("seg-000000000009-000000000009-dead.fix").exists(),
        "the stray segment is removed by the rebuild"
    );
    // A hand-edited catalog: one item's features replaced by another's
    // (the triggers count the change, so the index is rebuilt).
    let conn = rusqlite::Connection::open(t.dir().join("catalog.sqlite")).unwrap();
    conn.execute(
        "UPDATE item_features SET data = (SELECT data FROM item_features WHERE item_id = 1)
          WHERE item_id = 7",
        [],
    )
    .unwrap();
    drop(conn);
    let shot = screenshot();
    let v = t.json(["check".as_ref(), shot.as_os_str()], 1);
    assert!(
        v["files"][0]["matches"].as_array().unwrap().is_empty(),
        "{v:#}"
    );
    assert_ne!(state(&t)["edits"], after["edits"]);
}

#[test]
fn verify_finds_a_segment_that_disagrees_with_the_catalog() {
    let t = TestArchive::new();
    archive_samples(&t);
    // Flip one posting's bits: the file still parses, but no longer
    // says what the catalog holds.
    let s = state(&t);
    let file = t
        .dir()
        .join("index/features")
        .join(s["segments"][0]["file"].as_str().unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x5a;
    std::fs::write(&file, &bytes).unwrap();
    let v = t.json(["verify"], 1);
    let problems = v["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["kind"] == "feature-index"),
        "{v:#}"
    );
    // Rebuilt: a second verify is clean.
    let v = t.json(["verify"], 0);
    assert_eq!(v["summary"]["problems"], 0, "{v:#}");
}

#[test]
fn a_damaged_feature_row_is_one_items_problem() {
    let t = TestArchive::new();
    archive_samples(&t);
    let conn = rusqlite::Connection::open(t.dir().join("catalog.sqlite")).unwrap();
    // Item 1 (not the one the repost shows) gets a malformed row.
    conn.execute(
        "UPDATE item_features SET data = x'00010203' WHERE item_id = 1",
        [],
    )
    .unwrap();
    drop(conn);
    // Check goes on: the repost of item 7 is still found.
    let shot = screenshot();
    let out = t.cmd(["check".as_ref(), shot.as_os_str()]).assert().code(0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("item 1"), "{stderr}");
    // Verify names it.
    let v = t.json(["verify"], 1);
    let problems = v["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["kind"] == "damaged-features" && p["subject"] == "item 1"),
        "{v:#}"
    );
}

#[test]
fn a_read_only_archive_without_an_index_votes_linearly_with_a_warning() {
    let t = TestArchive::new();
    archive_samples(&t);
    std::fs::remove_dir_all(t.dir().join("index/features")).unwrap();
    // Root ignores permissions: make the index folder a file instead, so
    // nothing can be written under it.
    std::fs::write(t.dir().join("index/features"), b"").unwrap();
    let shot = screenshot();
    let out = t.cmd(["check".as_ref(), shot.as_os_str()]).assert().code(0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("linear"), "{stderr}");
    std::fs::remove_file(t.dir().join("index/features")).unwrap();
}

/// An import into a new archive files the manifest's features before it
/// returns: the next check finds the index current (nothing to build)
/// and matches through it.
#[test]
fn an_import_builds_the_feature_index() {
    let from = TestArchive::new();
    archive_samples(&from);
    let manifest = from.dir().join("export.jsonl");
    from.cmd(["export", "-o", manifest.to_str().unwrap()])
        .assert()
        .code(0);
    let t = TestArchive::new();
    t.cmd(["import".as_ref(), manifest.as_os_str()])
        .assert()
        .code(0);
    let s = state(&t);
    assert_eq!(s["upto"], 7, "{s:#}");
    let filed: u64 = s["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["features"].as_u64().unwrap())
        .sum();
    assert!(filed > 500, "{s:#}");
    let before = std::fs::read(t.dir().join(STATE)).unwrap();
    assert!(found_by_features(&t));
    assert_eq!(
        std::fs::read(t.dir().join(STATE)).unwrap(),
        before,
        "the check found the imported index current"
    );
}
