//! The desk's daily work (issue #11): sightings without the file, stdin
//! paths, summaries, completions and manual pages, quiet and colour, and
//! the rough edges a new user hit (each test would fail if one came
//! back).

use serde_json::Value;

use crate::util::{TestArchive, sample, sha256_of};

fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).to_string()
}

fn stdout_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stdout).to_string()
}

fn sightings(t: &TestArchive, item: &str) -> Vec<Value> {
    t.json(["show", item], 0)["sightings"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_folder_without_media_is_an_error_not_all_known() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    t.cmd(["archive", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    let folder = t.scratch().join("notes");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("notes.txt"), "not a picture").unwrap();
    for cmd in ["check", "archive"] {
        let out = t.cmd([cmd, folder.to_str().unwrap()]).assert().code(2);
        let err = stderr_of(&out);
        assert!(
            err.contains("no photos or videos found") && err.contains("1 other file(s) skipped"),
            "{cmd}: {err}"
        );
    }
    // An empty folder too, and with --json nothing claims success.
    let empty = t.scratch().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    t.cmd(["check", "--json", empty.to_str().unwrap()])
        .assert()
        .code(2);
}

#[test]
fn a_mistyped_archive_path_never_creates_an_archive_in_a_full_folder() {
    let t = TestArchive::new();
    let unrelated = t.scratch().join("Documents");
    std::fs::create_dir_all(&unrelated).unwrap();
    std::fs::write(unrelated.join("letter.txt"), "dear").unwrap();
    let rocket = sample("skimage-rocket.jpg");
    let mut cmd = assert_cmd::Command::cargo_bin("firstseen").unwrap();
    cmd.env_remove("FIRSTSEEN_ARCHIVE")
        .args(["--archive", unrelated.to_str().unwrap(), "archive"])
        .arg(&rocket);
    let out = cmd.assert().code(2);
    let err = stderr_of(&out);
    assert!(
        err.contains("is not a firstseen archive and is not empty"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&unrelated).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing was created beside letter.txt");
    // A new folder and an existing archive are fine.
    t.cmd(["archive", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    t.cmd(["archive", rocket.to_str().unwrap(), "--source", "s"])
        .assert()
        .code(0);
}

#[test]
fn the_same_file_again_with_nothing_new_is_already_recorded() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let copy = t.scratch().join("renamed.jpg");
    std::fs::copy(&rocket, &copy).unwrap();
    let sha = sha256_of(&rocket);
    t.cmd(["archive", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    for path in [&rocket, &copy, &rocket] {
        let v = t.json(["archive", path.to_str().unwrap()], 0);
        assert_eq!(v["files"][0]["result"], "already_recorded", "{v:#}");
        assert_eq!(v["summary"]["already_recorded"], 1);
    }
    let out = t.cmd(["archive", copy.to_str().unwrap()]).assert().code(0);
    assert!(stdout_of(&out).contains("already recorded"));
    assert_eq!(sightings(&t, &sha).len(), 1);
    // Something new (a note) is a sighting.
    let v = t.json(
        ["archive", copy.to_str().unwrap(), "--note", "from a tip"],
        0,
    );
    assert_eq!(v["files"][0]["result"], "new_sighting");
    assert_eq!(sightings(&t, &sha).len(), 2);
}

/// Runs `firstseen ARGS` in a pseudo-terminal (util-linux `script`) and
/// returns what the terminal showed.
fn on_a_terminal(t: &TestArchive, args: &str) -> Option<String> {
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        println!("SKIPPED: no /usr/bin/script to run a terminal");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("firstseen");
    let command = format!("{} --archive {} {args}", bin.display(), t.dir().display());
    let out = std::process::Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn no_empty_progress_bar_is_left_with_file_arguments() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let Some(shown) = on_a_terminal(&t, &format!("archive {}", rocket.display())) else {
        return;
    };
    assert!(shown.contains("1 new item(s)"), "{shown}");
    assert!(!shown.contains("0/0"), "an empty bar was drawn: {shown:?}");
    assert!(!shown.contains("files"), "a bar was drawn: {shown:?}");
    // On a terminal, the verdict is coloured; --color never and NO_COLOR
    // turn it off.
    let Some(coloured) = on_a_terminal(&t, &format!("check {}", rocket.display())) else {
        return;
    };
    assert!(coloured.contains("\u{1b}["), "{coloured:?}");
    let plain = on_a_terminal(&t, &format!("--color never check {}", rocket.display())).unwrap();
    assert!(
        plain.contains("KNOWN") && !plain.contains("\u{1b}["),
        "{plain:?}"
    );
}

#[test]
fn colour_only_when_asked_off_a_terminal() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    t.cmd(["archive", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    let plain = t.cmd(["check", rocket.to_str().unwrap()]).assert().code(0);
    assert!(!stdout_of(&plain).contains('\u{1b}'));
    let always = t
        .cmd(["--color", "always", "check", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    assert!(stdout_of(&always).contains("\u{1b}["));
    let json = t
        .cmd([
            "--color",
            "always",
            "--json",
            "check",
            rocket.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    assert!(
        !stdout_of(&json).contains('\u{1b}'),
        "JSON is never coloured"
    );
}

#[test]
fn report_on_a_missing_file_says_so() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    t.cmd(["archive", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    let missing = t.scratch().join("missing.jpg");
    let out = t
        .cmd(["report", missing.to_str().unwrap()])
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(
        err.contains("no such file") && err.contains("missing.jpg"),
        "{err}"
    );
    assert!(!err.contains("item id"), "{err}");
}

#[test]
fn an_error_names_its_path_once() {
    let t = TestArchive::new();
    let file = t.scratch().join("notes.txt");
    std::fs::write(&file, "x").unwrap();
    let rocket = sample("skimage-rocket.jpg");
    let mut cmd = assert_cmd::Command::cargo_bin("firstseen").unwrap();
    cmd.env_remove("FIRSTSEEN_ARCHIVE")
        .args(["--archive", file.to_str().unwrap(), "archive"])
        .arg(&rocket);
    let err = stderr_of(&cmd.assert().code(2));
    assert_eq!(err.matches("notes.txt").count(), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn help_groups_options_and_states_real_ranges() {
    let t = TestArchive::new();
    let help = |args: &[&str]| stdout_of(&t.cmd(args).assert().code(0));
    let check = help(&["check", "--help"]);
    assert!(check.contains("Global options:") && check.contains("Decoding options:"));
    assert!(check.contains("--max-frames") && check.contains("0 to 128"));
    assert!(!check.contains("of 256 bits"));
    for cmd in ["show", "log", "status", "sight"] {
        let h = help(&[cmd, "--help"]);
        assert!(
            !h.contains("--max-frames") && !h.contains("--frame-every"),
            "{cmd}: {h}"
        );
        assert!(h.contains("--archive"), "{cmd}");
    }
    // Limits work after the command and, as before, ahead of it.
    let rocket = sample("skimage-rocket.jpg");
    for args in [
        vec!["hash", "--max-bytes", "1000", rocket.to_str().unwrap()],
        vec!["--max-bytes", "1000", "hash", rocket.to_str().unwrap()],
    ] {
        let err = stderr_of(&t.cmd(&args).assert().code(2));
        assert!(err.contains("--max-bytes"), "{args:?}: {err}");
    }
    t.cmd(["check", "--max-distance", "129", rocket.to_str().unwrap()])
        .assert()
        .code(2);
}

#[test]
fn sight_records_a_chained_sighting_without_the_file() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let sha = sha256_of(&rocket);
    t.cmd(["archive", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    let args = [
        "sight",
        &sha[..8],
        "--source",
        "https://social.example/p/42",
        "--caption",
        "Launch last night",
        "--first-seen",
        "2026-01-27",
        "--note",
        "screenshot sent by a reader",
    ];
    let v = t.json(args, 0);
    assert_eq!(v["result"], "new_sighting", "{v:#}");
    assert_eq!(v["item"], sha.as_str());
    assert_eq!(v["sighting"]["source"], "https://social.example/p/42");
    assert_eq!(v["sightings"], 2);
    assert_eq!(t.json(args, 0)["result"], "already_recorded");
    let all = sightings(&t, &sha);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["first_seen"], "2026-01-27");
    assert_eq!(all[0]["caption"], "Launch last night");
    let verify = t.json(["verify"], 0);
    assert_eq!(verify["summary"]["chain_entries"], 2, "{verify:#}");
    assert_eq!(verify["summary"]["problems"], 0, "{verify:#}");
    // Unknown items, missing --source and a future date are refused;
    // sight never creates an archive.
    t.cmd(["sight", "abcdef12", "--source", "x"])
        .assert()
        .code(1);
    t.cmd(["sight", &sha[..8]]).assert().code(2);
    t.cmd([
        "sight",
        &sha[..8],
        "--source",
        "x",
        "--first-seen",
        "2999-01-01",
    ])
    .assert()
    .code(2);
    let other = TestArchive::new();
    other
        .cmd(["sight", &sha[..8], "--source", "x"])
        .assert()
        .code(2);
    assert!(!other.dir().exists());
}

#[test]
fn check_reads_paths_from_stdin_and_sums_up() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let chelsea = sample("skimage-chelsea.png");
    t.cmd(["archive", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    let missing = t.scratch().join("gone.jpg");
    let list = format!(
        "{}\n\n{}\n{}\n",
        rocket.display(),
        chelsea.display(),
        missing.display()
    );
    let out = t
        .cmd(["check", "-"])
        .write_stdin(list.clone())
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(err.contains("1 known, 1 not found, 1 failed"), "{err}");
    let v = t
        .cmd(["check", "--json", "-"])
        .write_stdin(list)
        .assert()
        .code(2);
    let v: Value = serde_json::from_slice(&v.get_output().stdout).unwrap();
    assert_eq!(v["summary"]["known"], 1);
    assert_eq!(v["files"].as_array().unwrap().len(), 3);
    // --quiet keeps results and drops the summary.
    let q = t
        .cmd(["--quiet", "check", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    assert!(stderr_of(&q).is_empty(), "{}", stderr_of(&q));
    assert!(stdout_of(&q).contains("KNOWN"));
    // archive takes - as well.
    let v = t
        .cmd(["--json", "archive", "-"])
        .write_stdin(format!("{}\n", chelsea.display()))
        .assert()
        .code(0);
    let v: Value = serde_json::from_slice(&v.get_output().stdout).unwrap();
    assert_eq!(v["summary"]["new_items"], 1);
}

#[test]
fn completions_and_manual_pages_come_from_the_cli() {
    let t = TestArchive::new();
    for (shell, word) in [
        ("bash", "complete"),
        ("zsh", "#compdef"),
        ("fish", "complete -c firstseen"),
    ] {
        let out = stdout_of(&t.cmd(["completions", shell]).assert().code(0));
        assert!(out.contains(word) && out.contains("sight"), "{shell}");
    }
    let man = stdout_of(&t.cmd(["man"]).assert().code(0));
    assert!(man.contains(".TH firstseen 1") && man.contains("archive"));
    let dir = t.scratch().join("man");
    t.cmd(["man", "--dir", dir.to_str().unwrap()])
        .assert()
        .code(0);
    for page in ["firstseen.1", "firstseen-check.1", "firstseen-sight.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
}

/// Archives three items with sightings to search for.
fn archive_for_search(t: &TestArchive) -> [String; 3] {
    let flower = sample("pillow-flower.jpg");
    let rocket = sample("skimage-rocket.jpg");
    let video = crate::util::repo().join("tests/fixtures/video/bikes-3s.mp4");
    for (path, source, caption, date) in [
        (
            &flower,
            "https://wire.example/2019/flowers",
            "Spring flowers in the Café garden",
            "2019-05-02",
        ),
        (
            &rocket,
            "https://social.example/p/9",
            "Rocket launch at the consulate",
            "2026-01-27",
        ),
        (
            &video,
            "https://video.example/v/1",
            "Cyclists near the consulate",
            "2026-01-28T09:30:00Z",
        ),
    ] {
        t.cmd([
            "archive",
            path.to_str().unwrap(),
            "--source",
            source,
            "--caption",
            caption,
            "--first-seen",
            date,
        ])
        .assert()
        .code(0);
    }
    [sha256_of(&flower), sha256_of(&rocket), sha256_of(&video)]
}

fn found(t: &TestArchive, args: &[&str], code: i32) -> Vec<String> {
    let mut all = vec!["search"];
    all.extend(args);
    let v = t.json(&all, code);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"]["sha256"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn search_finds_items_by_words_source_date_and_kind() {
    let t = TestArchive::new();
    let [flower, rocket, video] = archive_for_search(&t);
    // Words: all required, case and accents ignored, prefixes with *.
    assert_eq!(
        found(&t, &["consulate"], 0),
        [video.clone(), rocket.clone()]
    );
    assert_eq!(
        found(&t, &["consulate", "--oldest"], 0),
        [rocket.clone(), video.clone()]
    );
    assert_eq!(found(&t, &["CAFE"], 0), [flower.as_str()]);
    assert_eq!(found(&t, &["consul*", "launch"], 0), [rocket.as_str()]);
    assert_eq!(found(&t, &["garden", "rocket"], 1), Vec::<&str>::new());
    // File names and sources are searched too.
    assert_eq!(found(&t, &["bikes"], 0), [video.as_str()]);
    assert_eq!(
        found(&t, &["--source", "social.example"], 0),
        [rocket.as_str()]
    );
    assert_eq!(found(&t, &["--caption", "flowers"], 0), [flower.as_str()]);
    assert_eq!(found(&t, &["--caption", "wire"], 1), Vec::<&str>::new());
    // Dates: a day includes its times.
    assert_eq!(found(&t, &["--until", "2019-05-02"], 0), [flower.as_str()]);
    assert_eq!(
        found(&t, &["--since", "2026-01-28", "--until", "2026-01-28"], 0),
        [video.as_str()]
    );
    assert_eq!(found(&t, &["--kind", "video"], 0), [video.as_str()]);
    assert_eq!(
        found(&t, &["--kind", "image", "consulate"], 0),
        [rocket.as_str()]
    );
    // Paging.
    assert_eq!(found(&t, &["-n", "1"], 0), [video.as_str()]);
    assert_eq!(
        found(&t, &["-n", "1", "--offset", "1"], 0),
        [rocket.as_str()]
    );
    let v = t.json(["search", "-n", "1"], 0);
    assert_eq!(v["summary"]["more"], true);
    assert_eq!(t.json(["search", "-n", "3"], 0)["summary"]["more"], false);
    assert_eq!(
        v["items"][0]["earliest"]["caption"],
        "Cyclists near the consulate"
    );
    // A sighting recorded later is searchable at once, and the item's
    // line keeps its earliest sighting.
    t.cmd([
        "sight",
        &flower[..8],
        "--source",
        "https://x.example/1",
        "--caption",
        "Blossoms at the consulate",
        "--first-seen",
        "2026-02-01",
    ])
    .assert()
    .code(0);
    let v = t.json(["search", "blossoms"], 0);
    assert_eq!(v["items"][0]["earliest"]["first_seen"], "2019-05-02");
    assert_eq!(v["items"][0]["matching_sightings"], 1);
    assert_eq!(v["items"][0]["sightings"], 2);
    // Search sees corrections: the amended caption, not the one it
    // replaced; a retracted sighting no longer counts.
    let rocket_sighting = t.json(["show", &rocket], 0)["sightings"][0]["id"]
        .as_i64()
        .unwrap();
    t.cmd([
        "amend",
        &rocket_sighting.to_string(),
        "--caption",
        "Satellite lift-off",
    ])
    .assert()
    .code(0);
    assert_eq!(found(&t, &["satellite"], 0), [rocket.as_str()]);
    t.cmd([
        "amend",
        &rocket_sighting.to_string(),
        "--source",
        "https://corrected.example/9",
    ])
    .assert()
    .code(0);
    assert_eq!(
        found(&t, &["--source", "corrected.example"], 0),
        [rocket.as_str()]
    );
    assert_eq!(
        found(&t, &["--source", "social.example"], 1),
        Vec::<&str>::new()
    );
    t.cmd(["search", "-n", "0", "x"]).assert().code(2);
    t.cmd(["search", "-n", "18446744073709551615", "x"])
        .assert()
        .code(2);
    assert_eq!(found(&t, &["launch"], 1), Vec::<&str>::new());
    let video_sighting = t.json(["show", &video], 0)["sightings"][0]["id"]
        .as_i64()
        .unwrap();
    t.cmd([
        "retract",
        &video_sighting.to_string(),
        "--reason",
        "wrong clip",
    ])
    .assert()
    .code(0);
    assert_eq!(found(&t, &["cyclists"], 1), Vec::<&str>::new());
    assert_eq!(found(&t, &["--kind", "video"], 1), Vec::<&str>::new());
    // Human output: one line per item, and what FTS would read as syntax
    // is taken as words.
    let out = t.cmd(["search", "consulate"]).assert().code(0);
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("first seen 2019-05-02"), "{text}");
    t.cmd(["search", "--", "NEAR(\"a", "OR", "-x"])
        .assert()
        .code(1);
    let err = stderr_of(&t.cmd(["search", "--since", "last week"]).assert().code(2));
    assert!(err.contains("--since"), "{err}");
    t.cmd(["search", "--", "--"]).assert().code(2);
}

#[test]
fn an_archive_from_before_search_is_indexed_when_opened() {
    // A catalog at the schema before the search index, with a sighting:
    // the first command upgrades it and the old sighting is found.
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    t.cmd([
        "archive",
        rocket.to_str().unwrap(),
        "--caption",
        "Old launch photo",
    ])
    .assert()
    .code(0);
    let conn = rusqlite::Connection::open(t.dir().join("catalog.sqlite")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER sighting_text_insert; DROP TRIGGER sighting_text_delete;
         DROP TRIGGER sighting_text_update; DROP TABLE sighting_text;
         DROP INDEX sighting_date; DROP TABLE correction; DROP TABLE redaction;
         DROP INDEX chain_correction; DROP INDEX chain_redaction;
         ALTER TABLE chain DROP COLUMN correction_id; ALTER TABLE chain DROP COLUMN redaction_id;
         DROP TRIGGER item_features_updated; DROP TRIGGER item_features_deleted;
         DROP TRIGGER item_features_inserted_behind; DROP TRIGGER frame_features_updated;
         DROP TRIGGER frame_features_deleted; DROP TRIGGER frame_features_inserted_behind;
         DROP TRIGGER item_deleted_features; DROP TABLE feature_edits;
         PRAGMA user_version = 6;",
    )
    .unwrap();
    drop(conn);
    assert_eq!(found(&t, &["launch"], 0).len(), 1);
    let verify = t.json(["verify"], 0);
    assert_eq!(verify["summary"]["problems"], 0, "{verify:#}");
}

#[test]
fn downloaders_sidecars_fill_the_sighting_and_say_so() {
    let t = TestArchive::new();
    let dir = t.scratch();
    // yt-dlp: `NAME.info.json` beside `NAME.mp4` (fields as yt-dlp
    // writes them; most of its keys are irrelevant here).
    let video = dir.join("Agents at the door [x1].mp4");
    std::fs::copy(
        crate::util::repo().join("tests/fixtures/video/bikes-3s.mp4"),
        &video,
    )
    .unwrap();
    std::fs::write(
        dir.join("Agents at the door [x1].info.json"),
        r#"{"id": "x1", "title": "Agents at the consulate door", "fulltitle": "Agents at the consulate door",
            "webpage_url": "https://video.example/watch?v=x1", "original_url": "https://video.example/watch?v=x1",
            "upload_date": "20260127", "timestamp": 1769506200, "uploader": "Local News", "channel": "Local News",
            "duration": 3, "formats": [{"format_id": "18", "url": "https://cdn.example/x1.mp4"}],
            "extractor": "generic", "_type": "video"}"#,
    )
    .unwrap();
    // gallery-dl --write-metadata: `photo.jpg.json`.
    let photo = dir.join("1234_1.jpg");
    std::fs::copy(sample("skimage-rocket.jpg"), &photo).unwrap();
    std::fs::write(
        dir.join("1234_1.jpg.json"),
        r#"{"category": "twitter", "subcategory": "tweet", "tweet_id": 1234, "num": 1,
            "content": "Boy led away by his backpack, today", "date": "2026-01-27 09:30:00",
            "author": {"id": 9, "name": "reporter_x", "nick": "A Reporter"}, "lang": "en",
            "extension": "jpg", "filename": "1234_1"}"#,
    )
    .unwrap();
    let v = t.json(
        [
            "archive",
            video.to_str().unwrap(),
            photo.to_str().unwrap(),
            "--note",
            "desk tip",
        ],
        0,
    );
    let files = v["files"].as_array().unwrap();
    assert_eq!(files[0]["sidecar"]["writer"], "yt-dlp", "{v:#}");
    assert_eq!(
        files[0]["sidecar"]["fields"],
        serde_json::json!(["source", "caption", "first_seen", "uploader"])
    );
    assert_eq!(files[1]["sidecar"]["writer"], "gallery-dl");
    let log = t.json(["log"], 0);
    let by_file = |name: &str| {
        log["sightings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["file_name"] == name)
            .unwrap()
            .clone()
    };
    let s = by_file("Agents at the door [x1].mp4");
    assert_eq!(s["source"], "https://video.example/watch?v=x1");
    assert_eq!(s["caption"], "Agents at the consulate door");
    assert_eq!(s["first_seen"], "2026-01-27T09:30:00Z");
    assert_eq!(s["note"], "desk tip; uploaded by Local News");
    let s = by_file("1234_1.jpg");
    assert_eq!(s["caption"], "Boy led away by his backpack, today");
    assert_eq!(s["first_seen"], "2026-01-27T09:30:00Z");
    // The command line wins, and the text output says what came from
    // where.
    let copy = dir.join("again [x1].mp4");
    std::fs::copy(&video, &copy).unwrap();
    std::fs::copy(
        dir.join("Agents at the door [x1].info.json"),
        dir.join("again [x1].info.json"),
    )
    .unwrap();
    let out = t
        .cmd([
            "archive",
            copy.to_str().unwrap(),
            "--caption",
            "Mine",
            "--source",
            "https://mine.example",
        ])
        .assert()
        .code(0);
    let text = stdout_of(&out);
    assert!(
        text.contains("first-seen, uploader from again [x1].info.json"),
        "{text}"
    );
    let all = sightings(&t, &sha256_of(&copy));
    assert!(
        all.iter()
            .any(|s| s["caption"] == "Mine" && s["first_seen"] == "2026-01-27T09:30:00Z")
    );
    // A note that the uploader would push over the limit fails the file.
    let long = dir.join("long [x2].mp4");
    std::fs::copy(&video, &long).unwrap();
    std::fs::write(
        dir.join("long [x2].info.json"),
        r#"{"uploader": "Local News"}"#,
    )
    .unwrap();
    let note = "n".repeat((64 << 10) - 4);
    let err = stderr_of(
        &t.cmd([
            "archive",
            long.to_str().unwrap(),
            "--note",
            &note,
            "--source",
            "s",
        ])
        .assert()
        .code(2),
    );
    assert!(
        err.contains("long [x2].mp4") && err.contains("exceeds the limit"),
        "{err}"
    );
    // --no-sidecars ignores them.
    let bare = dir.join("bare.jpg");
    std::fs::copy(sample("pillow-flower.jpg"), &bare).unwrap();
    std::fs::write(dir.join("bare.jpg.json"), r#"{"content": "ignored"}"#).unwrap();
    let v = t.json(["archive", "--no-sidecars", bare.to_str().unwrap()], 0);
    assert!(v["files"][0].get("sidecar").is_none());
    assert!(sightings(&t, &sha256_of(&bare))[0]["caption"].is_null());
}

#[test]
fn a_bad_sidecar_fails_its_file_only_and_names_the_field() {
    let t = TestArchive::new();
    let dir = t.scratch();
    let bad = dir.join("bad.jpg");
    std::fs::copy(sample("pillow-flower.jpg"), &bad).unwrap();
    let good = dir.join("good.jpg");
    std::fs::copy(sample("skimage-rocket.jpg"), &good).unwrap();
    for (json, field) in [
        (
            r#"{"content": "x", "date": "2026-13-01 00:00:00"}"#,
            "field date",
        ),
        (r#"{"content": ["not", "text"]}"#, "field content"),
        (
            r#"{"content": "x", "date": "2999-01-01 00:00:00"}"#,
            "future",
        ),
        ("not json at all", "not JSON"),
    ] {
        std::fs::write(dir.join("bad.jpg.json"), json).unwrap();
        let out = t
            .cmd(["archive", bad.to_str().unwrap(), good.to_str().unwrap()])
            .assert()
            .code(2);
        let err = stderr_of(&out);
        assert!(
            err.contains("bad.jpg.json") && err.contains(field),
            "{json}: {err}"
        );
        assert_eq!(
            err.lines().filter(|l| l.contains("bad.jpg")).count(),
            1,
            "{err}"
        );
    }
    // The good file went in; the bad one never did.
    assert!(t.json(["show", &sha256_of(&good)], 0)["sightings"].is_array());
    t.cmd(["show", &sha256_of(&bad)]).assert().code(1);
    // A sidecar that is a FIFO or far too large is refused, not read.
    let big = dir.join("big.jpg");
    std::fs::copy(sample("pillow-hopper.jpg"), &big).unwrap();
    let f = std::fs::File::create(dir.join("big.jpg.json")).unwrap();
    f.set_len(firstseen::sidecar::MAX_SIDECAR_BYTES + 1)
        .unwrap();
    let err = stderr_of(&t.cmd(["archive", big.to_str().unwrap()]).assert().code(2));
    assert!(
        err.contains("big.jpg.json") && err.contains("too large"),
        "{err}"
    );
}

#[test]
fn archive_from_csv_gives_each_file_its_sighting() {
    let t = TestArchive::new();
    let dir = t.scratch();
    std::fs::copy(sample("skimage-rocket.jpg"), dir.join("rocket.jpg")).unwrap();
    std::fs::copy(sample("pillow-flower.jpg"), dir.join("flower.jpg")).unwrap();
    let csv = dir.join("list.csv");
    std::fs::write(
        &csv,
        "path,source,caption,first_seen,note\n\
         rocket.jpg,https://a.example/1,\"Launch, as posted\",2019-05-02,\n\
         flower.jpg,,Flowers,,from the CSV\n\
         missing.jpg,,x,,\n\
         flower.jpg,,y,2999-01-01,\n",
    )
    .unwrap();
    let v = t.json(
        [
            "archive",
            "--from-csv",
            csv.to_str().unwrap(),
            "--source",
            "https://batch.example",
        ],
        2,
    );
    assert_eq!(v["summary"]["new_items"], 2, "{v:#}");
    assert_eq!(v["summary"]["failed"], 2, "{v:#}");
    let failed: Vec<String> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "failed")
        .map(|f| f["error"].as_str().unwrap().to_string())
        .collect();
    assert!(
        failed.iter().any(|e| e.contains("missing.jpg")),
        "{failed:?}"
    );
    assert!(
        failed.iter().any(|e| e.contains("line 5: first_seen")),
        "{failed:?}"
    );
    let rocket = &sightings(&t, &sha256_of(&dir.join("rocket.jpg")))[0];
    assert_eq!(rocket["caption"], "Launch, as posted");
    assert_eq!(rocket["source"], "https://a.example/1");
    assert_eq!(rocket["first_seen"], "2019-05-02");
    let flower = &sightings(&t, &sha256_of(&dir.join("flower.jpg")))[0];
    assert_eq!(
        flower["source"], "https://batch.example",
        "the batch fills a row's gaps"
    );
    assert_eq!(flower["note"], "from the CSV");
    let err = stderr_of(
        &t.cmd([
            "archive",
            "--from-csv",
            dir.join("none.csv").to_str().unwrap(),
        ])
        .assert()
        .code(2),
    );
    assert!(err.contains("none.csv"), "{err}");
}

#[test]
fn amend_and_retract_are_chained_corrections_shown_everywhere() {
    let t = TestArchive::new();
    let flower = sample("pillow-flower.jpg");
    let sha = sha256_of(&flower);
    t.cmd([
        "archive",
        flower.to_str().unwrap(),
        "--source",
        "https://wire.example/1",
        "--caption",
        "Flood in Texas",
        "--first-seen",
        "2026-01-27",
    ])
    .assert()
    .code(0);
    t.cmd([
        "sight",
        &sha[..8],
        "--source",
        "https://social.example/2",
        "--caption",
        "Old flood",
        "--first-seen",
        "2019-05-02",
    ])
    .assert()
    .code(0);
    let ids: Vec<i64> = sightings(&t, &sha)
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    let (wire, social) = (ids[1], ids[0]);
    assert_eq!(
        t.json(["check", flower.to_str().unwrap()], 0)["files"][0]["matches"][0]["earliest"]["caption"],
        "Old flood"
    );

    let v = t.json(
        [
            "amend",
            &format!("#{wire}"),
            "--caption",
            "Flowers after the flood",
            "--first-seen",
            "2024-03-01",
            "--reason",
            "the caption was the post's",
        ],
        0,
    );
    assert_eq!(v["corrections"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(v["sighting"]["caption"], "Flowers after the flood");
    assert_eq!(v["sighting"]["corrections"][0]["was"], "Flood in Texas");
    // The same amendment again changes nothing.
    assert_eq!(
        t.json(
            [
                "amend",
                &wire.to_string(),
                "--caption",
                "Flowers after the flood"
            ],
            0
        )["corrections"],
        serde_json::json!([])
    );
    let v = t.json(
        ["retract", &social.to_string(), "--reason", "another photo"],
        0,
    );
    assert_eq!(v["sighting"]["retracted"]["reason"], "another photo");

    // show: corrected values, originals beside them, the retraction.
    let shown = t.json(["show", &sha], 0);
    let all = shown["sightings"].as_array().unwrap();
    assert_eq!(all.len(), 2);
    let w = all.iter().find(|s| s["id"] == wire).unwrap();
    assert_eq!(w["caption"], "Flowers after the flood");
    assert_eq!(w["first_seen"], "2024-03-01");
    assert_eq!(w["corrections"][1]["field"], "first_seen");
    assert_eq!(w["corrections"][1]["was"], "2026-01-27");
    let text = stdout_of(&t.cmd(["show", &sha]).assert().code(0));
    assert!(
        text.contains("caption corrected") && text.contains("from \"Flood in Texas\""),
        "{text}"
    );
    assert!(
        text.contains("[RETRACTED]") && text.contains("another photo"),
        "{text}"
    );
    // A retracted sighting no longer counts: check and report use the
    // corrected wire sighting as earliest.
    let check = t.json(["check", flower.to_str().unwrap()], 0);
    let m = &check["files"][0]["matches"][0];
    assert_eq!(m["earliest"]["caption"], "Flowers after the flood");
    assert_eq!(m["sightings"], 1);
    let report = t.json(["report", &sha, "--format", "json"], 0);
    assert_eq!(report["earliest"]["date"], "2024-03-01");
    assert_eq!(
        report["timeline"][0]["corrections"][0]["was"],
        "Flood in Texas"
    );
    assert!(
        report["notes"].to_string().contains("retracted"),
        "{report:#}"
    );
    let md = stdout_of(&t.cmd(["report", &sha, "--format", "md"]).assert().code(0));
    assert!(md.contains("caption was \"Flood in Texas\""), "{md}");
    // The chain holds every correction; verify stays clean.
    let verify = t.json(["verify"], 0);
    assert_eq!(verify["summary"]["problems"], 0, "{verify:#}");
    assert_eq!(verify["summary"]["chain_entries"], 5);
    // Refused: a retracted sighting amended or retracted again, an
    // unknown sighting, a bad date, nothing to amend.
    t.cmd(["amend", &social.to_string(), "--caption", "x"])
        .assert()
        .code(2);
    t.cmd(["retract", &social.to_string(), "--reason", "again"])
        .assert()
        .code(2);
    t.cmd(["amend", "999", "--caption", "x"]).assert().code(2);
    t.cmd(["amend", &wire.to_string(), "--first-seen", "2999-01-01"])
        .assert()
        .code(2);
    t.cmd(["amend", &wire.to_string()]).assert().code(2);
    t.cmd(["amend", "abc", "--caption", "x"]).assert().code(2);

    // Export carries the corrections, import applies them, and the
    // importing archive verifies clean too.
    let manifest = t.scratch().join("m.jsonl");
    t.cmd(["export", "-o", manifest.to_str().unwrap()])
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        text.contains("\"corrections\"") && text.contains("Flood in Texas"),
        "{text}"
    );
    let other = TestArchive::new();
    other
        .cmd(["import", manifest.to_str().unwrap()])
        .assert()
        .code(0);
    let shown = other.json(["show", &sha], 0);
    let all = shown["sightings"].as_array().unwrap();
    assert!(
        all.iter()
            .any(|s| s["caption"] == "Flowers after the flood" && s["corrections"].is_array())
    );
    assert!(all.iter().any(|s| s["retracted"].is_object()));
    assert_eq!(other.json(["verify"], 0)["summary"]["problems"], 0);
    // Importing it again adds nothing but the import's own entry.
    let before = shown_chain(&other);
    other
        .cmd(["import", manifest.to_str().unwrap()])
        .assert()
        .code(0);
    assert_eq!(shown_chain(&other), before + 1);
    // A correction changed in the catalog by hand is caught.
    let conn = rusqlite::Connection::open(t.dir().join("catalog.sqlite")).unwrap();
    conn.execute(
        "UPDATE correction SET value = 'forged' WHERE field = 'caption'",
        [],
    )
    .unwrap();
    drop(conn);
    let out = t.cmd(["verify"]).assert().code(1);
    assert!(
        stdout_of(&out).contains("correction-altered")
            || stderr_of(&out).contains("correction-altered")
    );
}

fn shown_chain(t: &TestArchive) -> u64 {
    t.json(["status"], 0)["status"]["chain"]["length"]
        .as_u64()
        .unwrap()
}

#[test]
fn redact_removes_the_bytes_and_keeps_the_record() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let sha = sha256_of(&rocket);
    t.cmd(["archive", rocket.to_str().unwrap(), "--caption", "Launch"])
        .assert()
        .code(0);
    assert_eq!(t.object_count(), 1);
    let v = t.json(["redact", &sha[..8], "--reason", "legal request"], 0);
    assert_eq!(v["redaction"]["reason"], "legal request");
    assert_eq!(t.object_count(), 0);
    let shown = t.json(["show", &sha], 0);
    assert_eq!(shown["item"]["stored"], false);
    assert_eq!(shown["redaction"]["reason"], "legal request");
    assert_eq!(shown["sightings"].as_array().unwrap().len(), 1);
    // Still matched on its hashes, by exact bytes and as an edited copy.
    let check = t.json(["check", rocket.to_str().unwrap()], 0);
    assert_eq!(
        check["files"][0]["matches"][0]["item"]["sha256"],
        sha.as_str()
    );
    let small = t.scratch().join("small.jpg");
    let img = image::open(&rocket)
        .unwrap()
        .resize(320, 320, image::imageops::FilterType::Triangle);
    crate::util::save(&img, &small, 80);
    let check = t.json(["check", small.to_str().unwrap()], 0);
    assert_eq!(
        check["files"][0]["matches"][0]["item"]["sha256"],
        sha.as_str()
    );
    // The same bytes archived again are recorded, not stored.
    t.cmd([
        "archive",
        rocket.to_str().unwrap(),
        "--source",
        "https://again.example",
    ])
    .assert()
    .code(0);
    assert_eq!(t.object_count(), 0);
    // verify: clean, and the redaction is chained; bytes put back by
    // hand are reported and removed by --repair.
    let verify = t.json(["verify"], 0);
    assert_eq!(verify["summary"]["problems"], 0, "{verify:#}");
    let obj = t.dir().join("objects").join(&sha[..2]).join(&sha[2..]);
    std::fs::create_dir_all(obj.parent().unwrap()).unwrap();
    std::fs::copy(&rocket, &obj).unwrap();
    let out = t.cmd(["verify"]).assert().code(1);
    assert!(
        stdout_of(&out).contains("redacted-object") || stderr_of(&out).contains("redacted-object")
    );
    let _ = t.cmd(["verify", "--repair"]).output().unwrap();
    assert!(!obj.exists());
    assert_eq!(t.json(["verify"], 0)["summary"]["problems"], 0);
    t.cmd(["redact", &sha[..8], "--reason", "again"])
        .assert()
        .code(2);
    t.cmd(["redact", "abcdef12", "--reason", "x"])
        .assert()
        .code(1);
    // A report says so.
    let report = t.json(["report", &sha, "--format", "json"], 0);
    assert!(
        report["notes"].to_string().contains("redacted"),
        "{report:#}"
    );
}

#[test]
fn json_uses_one_shape_for_one_thing_in_every_command() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let missing = t.scratch().join("gone.jpg");
    let (r, m) = (rocket.to_str().unwrap(), missing.to_str().unwrap());
    let hashed = t.json(["hash", r, m], 2);
    let archived = t.json(["archive", r, m], 2);
    let checked = t.json(["check", r, m], 2);
    let sha = sha256_of(&rocket);
    let shown = t.json(["show", &sha], 0);
    // A PDQ hash and its quality: {"hash", "quality"} everywhere.
    let pdq = &shown["item"]["pdq"];
    assert!(
        pdq["hash"].is_string() && pdq["quality"].is_number(),
        "{pdq}"
    );
    let ok = |v: &Value| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["status"] != "failed")
            .unwrap()
            .clone()
    };
    let (hashed_ok, checked_ok) = (ok(&hashed), ok(&checked));
    assert_eq!(&hashed_ok["pdq"], pdq);
    assert_eq!(&checked_ok["pdq"], pdq);
    assert_eq!(hashed_ok["phash"], shown["item"]["phash"]);
    assert_eq!(hashed_ok["dhash"], shown["item"]["dhash"]);
    // A failed file: {"status": "failed", "path", "error"} everywhere.
    for v in [&hashed, &archived, &checked] {
        let failed: Vec<&Value> = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "failed")
            .collect();
        assert_eq!(failed.len(), 1, "{v:#}");
        assert_eq!(failed[0]["path"], m, "{v:#}");
        assert!(failed[0]["error"].as_str().unwrap().contains("gone.jpg"));
        assert_eq!(v["summary"]["failed"], 1, "{v:#}");
    }
    // One name for each hash kind: `hash` and the manifest header agree.
    let manifest = t.scratch().join("m.jsonl");
    t.cmd(["export", "-o", manifest.to_str().unwrap()])
        .assert()
        .code(0);
    let header: Value = serde_json::from_str(
        std::fs::read_to_string(&manifest)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(hashed["hashes"], header["hashes"], "{hashed:#}");
    // An item: the same object in show, check and search.
    let found = t.json(["search", "rocket"], 0);
    assert_eq!(found["items"][0]["item"], shown["item"]);
    assert_eq!(checked_ok["matches"][0]["item"], shown["item"]);
}

#[test]
fn exchanged_corrections_agree_by_time_in_both_archives() {
    let a = TestArchive::new();
    let b = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let sha = sha256_of(&rocket);
    a.cmd(["archive", rocket.to_str().unwrap(), "--caption", "First"])
        .assert()
        .code(0);
    let m0 = a.scratch().join("m0.jsonl");
    a.cmd(["export", "-o", m0.to_str().unwrap()])
        .assert()
        .code(0);
    b.cmd(["import", m0.to_str().unwrap()]).assert().code(0);
    let id = |t: &TestArchive| {
        t.json(["show", &sha], 0)["sightings"][0]["id"]
            .as_i64()
            .unwrap()
    };
    // A corrects first, B a second later.
    a.cmd(["amend", &id(&a).to_string(), "--caption", "Older fix"])
        .assert()
        .code(0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    b.cmd(["amend", &id(&b).to_string(), "--caption", "Newer fix"])
        .assert()
        .code(0);
    let (ma, mb) = (a.scratch().join("a.jsonl"), b.scratch().join("b.jsonl"));
    a.cmd(["export", "-o", ma.to_str().unwrap()])
        .assert()
        .code(0);
    b.cmd(["export", "-o", mb.to_str().unwrap()])
        .assert()
        .code(0);
    a.cmd(["import", mb.to_str().unwrap()]).assert().code(0);
    b.cmd(["import", ma.to_str().unwrap()]).assert().code(0);
    for t in [&a, &b] {
        let s = &t.json(["show", &sha], 0)["sightings"][0];
        assert_eq!(s["caption"], "Newer fix", "{s:#}");
        assert_eq!(s["corrections"].as_array().unwrap().len(), 2);
        let found = t.json(["search", "newer"], 0);
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        t.cmd(["search", "older"]).assert().code(1);
        assert_eq!(t.json(["verify"], 0)["summary"]["problems"], 0);
    }
}
