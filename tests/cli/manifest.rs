//! Manifests, hash lists, the hash chain and `verify`, end to end on the
//! sample photos and a real video.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use serde_json::Value;

use crate::util::{TestArchive, repo, sample, save, sha256_of, shared};

const PHOTOS: &[&str] = &[
    "skimage-rocket.jpg",
    "skimage-chelsea.png",
    "mate-FreshFlower.jpg",
    "pillow-hopper.jpg",
];

fn video() -> PathBuf {
    repo().join("tests/fixtures/video/bikes-3s.mp4")
}

/// An archive with four photos, a video, a second sighting, a sighting
/// with awkward text and a mirrored copy linked as a variant.
fn populated() -> TestArchive {
    let t = TestArchive::new();
    let mut args: Vec<String> = vec![
        "archive".into(),
        "--source".into(),
        "https://example.org/wire/1".into(),
        "--caption".into(),
        "Wire photos".into(),
        "--first-seen".into(),
        "2024-03-01".into(),
    ];
    args.extend(PHOTOS.iter().map(|n| sample(n).display().to_string()));
    args.push(video().display().to_string());
    t.json(&args, 0);
    let rocket = sample("skimage-rocket.jpg");
    t.json(
        [
            "archive",
            rocket.to_str().unwrap(),
            "--source",
            "https://b.example/repost?id=7&x=\"y\"",
            "--caption",
            "Old launch\nphoto — «repost» \u{1b}[31m",
            "--first-seen",
            "2023-06-30T12:00:00+02:00",
            "--note",
            "tab\there",
        ],
        0,
    );
    let mirrored = t.scratch().join("rocket-mirror.jpg");
    save(&image::open(&rocket).unwrap().fliph(), &mirrored, 85);
    let v = t.json(["archive".as_ref(), mirrored.as_os_str()], 0);
    assert_eq!(v["files"][0]["variant_of"][0]["relation"], "flipy", "{v:#}");
    t
}

fn export(t: &TestArchive, name: &str) -> PathBuf {
    let path = t.scratch().join(name);
    t.cmd(["export".as_ref(), "-o".as_ref(), path.as_os_str()])
        .assert()
        .code(0);
    path
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Everything after the header line.
fn body(s: &str) -> &str {
    &s[s.find('\n').unwrap() + 1..]
}

fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

fn stdout_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

#[test]
fn export_is_deterministic_and_round_trips_byte_for_byte() {
    let t = populated();
    let a = export(&t, "a.jsonl");
    let stdout = t.cmd(["export"]).assert().code(0);
    assert_eq!(stdout.get_output().stdout, std::fs::read(&a).unwrap());
    let a_text = read(&a);
    let lines: Vec<&str> = a_text.lines().collect();
    assert_eq!(lines.len(), 1 + 6, "{a_text}");
    let header: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(header["format"], "firstseen-manifest/2");
    assert_eq!(header["items"], 6);
    assert_eq!(header["sightings"], 7);
    let status = t.json(["status"], 0);
    assert_eq!(header["chain"]["head"], status["status"]["chain"]["hash"]);
    assert_eq!(header["chain"]["length"], 7);
    // Items in SHA-256 order; no media bytes, no local facts.
    let shas: Vec<String> = lines[1..]
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["sha256"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut sorted = shas.clone();
    sorted.sort();
    assert_eq!(shas, sorted);
    assert!(!a_text.contains("stored") && !a_text.contains("added_at"));
    let video_line: Value = serde_json::from_str(
        lines
            .iter()
            .find(|l| l.contains(&sha256_of(&video())))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(video_line["media_type"], "video");
    assert!(video_line["frames"].as_array().unwrap().len() >= 3);
    assert_eq!(video_line["frames"][1]["start_secs"], 1.0);

    // Every line fits the published schema.
    let schema: Value =
        serde_json::from_str(&read(&repo().join("docs/manifest.schema.json"))).unwrap();
    for (i, l) in lines.iter().enumerate() {
        let def = if i == 0 { "header" } else { "item" };
        let v: Value = serde_json::from_str(l).unwrap();
        conforms(
            &v,
            &schema["$defs"][def],
            &schema,
            &format!("line {}", i + 1),
        );
    }

    // Into an empty archive, and out again: the same items and sightings.
    let u = TestArchive::new();
    let imported = u.json(["import".as_ref(), a.as_os_str()], 0);
    assert_eq!(imported["import"]["counts"]["items_new"], 6);
    assert_eq!(imported["import"]["counts"]["sightings_new"], 7);
    assert_eq!(
        imported["import"]["chain_head"]["hash"],
        header["chain"]["head"]
    );
    let b = export(&u, "b.jsonl");
    let b_text = read(&b);
    assert_eq!(body(&a_text), body(&b_text), "round trip changed the body");
    assert_ne!(a_text.lines().next(), b_text.lines().next());
    // Once more: still the same.
    let w = TestArchive::new();
    w.json(["import".as_ref(), b.as_os_str()], 0);
    assert_eq!(body(&read(&export(&w, "c.jsonl"))), body(&a_text));

    // The imported archive has hashes only, verifies, and shows where
    // each sighting came from.
    assert_eq!(u.object_count(), 0);
    u.cmd(["verify"]).assert().code(0);
    let rocket = sha256_of(&sample("skimage-rocket.jpg"));
    let shown = u.json(["show", &rocket], 0);
    assert_eq!(shown["item"]["stored"], false);
    assert_eq!(shown["sightings"].as_array().unwrap().len(), 2);
    let from = &shown["sightings"][0]["imported_from"];
    assert_eq!(from["name"], "a.jsonl");
    assert_eq!(from["chain_head"]["hash"], header["chain"]["head"]);
    assert_eq!(shown["sightings"][0]["first_seen"], "2023-06-30T10:00:00Z");
    assert_eq!(shown["variants"].as_array().unwrap().len(), 1);
    let text = stdout_of(&u.cmd(["show", &rocket]).assert().code(0));
    assert!(
        text.contains("imported ") && text.contains("from manifest a.jsonl"),
        "{text}"
    );
    // Matching works on the imported hashes.
    let half = u.scratch().join("rocket-half.jpg");
    let img = image::open(sample("skimage-rocket.jpg")).unwrap();
    save(&img.resize(320, 214, FilterType::Triangle), &half, 80);
    let v = u.json(["check".as_ref(), half.as_os_str()], 0);
    let m = v["files"][0]["matches"].as_array().unwrap();
    assert!(
        m.iter()
            .any(|m| m["item"]["sha256"] == rocket.as_str() && m["kind"] == "near-duplicate"),
        "{v:#}"
    );
}

/// A small JSON Schema check, enough to catch drift between the writer
/// and `docs/manifest.schema.json`: keys, required keys, nested objects
/// and arrays, constants, enums and string lengths.
fn conforms(v: &Value, schema: &Value, root: &Value, at: &str) {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &root["$defs"][r.trim_start_matches("#/$defs/")],
        None => schema,
    };
    assert!(schema.is_object(), "{at}: no schema");
    if let Some(c) = schema.get("const") {
        assert_eq!(v, c, "{at}");
    }
    if let Some(e) = schema["enum"].as_array() {
        assert!(e.contains(v), "{at}: {v} not in {e:?}");
    }
    match v {
        Value::Object(m) => {
            assert_eq!(schema["additionalProperties"], false, "{at}");
            let props = schema["properties"].as_object().unwrap();
            for (k, x) in m {
                let s = props
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}: {k} is not in the schema"));
                conforms(x, s, root, &format!("{at}.{k}"));
            }
            for r in schema["required"].as_array().into_iter().flatten() {
                assert!(m.contains_key(r.as_str().unwrap()), "{at}: {r} missing");
            }
        }
        Value::Array(a) => {
            assert_eq!(schema["type"], "array", "{at}");
            for (i, x) in a.iter().enumerate() {
                conforms(x, &schema["items"], root, &format!("{at}[{i}]"));
            }
        }
        Value::String(s) => {
            if schema.get("const").is_none() && schema.get("enum").is_none() {
                assert_eq!(schema["type"], "string", "{at}");
            }
            if let Some(max) = schema["maxLength"].as_u64() {
                assert!(s.chars().count() as u64 <= max, "{at}");
            }
        }
        Value::Number(n) => {
            let ty = schema["type"].as_str().unwrap();
            assert!(ty == "number" || (ty == "integer" && n.is_u64()), "{at}");
        }
        _ => panic!("{at}: unexpected {v}"),
    }
}

#[test]
fn import_deduplicates_sightings_and_merges_into_an_archive() {
    let t = populated();
    let a = export(&t, "a.jsonl");
    // Into the archive it came from: everything is already there.
    let v = t.json(["import".as_ref(), a.as_os_str()], 0);
    let c = &v["import"]["counts"];
    assert_eq!(
        (c["items_new"].as_u64(), c["items_known"].as_u64()),
        (Some(0), Some(6))
    );
    assert_eq!(
        (c["sightings_new"].as_u64(), c["sightings_known"].as_u64()),
        (Some(0), Some(7))
    );
    // The import is recorded and chained, nothing else changes.
    let after = read(&export(&t, "after.jsonl"));
    assert_eq!(body(&after), body(&read(&a)));
    let status = t.json(["status"], 0);
    assert_eq!(status["status"]["imports"], 1);
    assert_eq!(status["status"]["chain"]["length"], 8);
    t.cmd(["verify"]).assert().code(0);

    // Another archive with one photo of its own and one in common.
    let u = TestArchive::new();
    let hopper = sample("pillow-hopper.jpg");
    let meadow = sample("mate-GreenMeadow.jpg");
    u.json(
        [
            "archive",
            hopper.to_str().unwrap(),
            meadow.to_str().unwrap(),
            "--source",
            "https://other.example/",
        ],
        0,
    );
    let v = u.json(["import".as_ref(), a.as_os_str()], 0);
    assert_eq!(v["import"]["counts"]["items_new"], 5);
    assert_eq!(v["import"]["counts"]["items_known"], 1);
    assert_eq!(v["import"]["counts"]["sightings_new"], 7);
    let again = u.json(["import".as_ref(), a.as_os_str()], 0);
    assert_eq!(again["import"]["counts"]["sightings_new"], 0);
    let shown = u.json(["show", &sha256_of(&hopper)], 0);
    assert_eq!(
        shown["item"]["stored"], true,
        "a local item keeps its bytes"
    );
    assert_eq!(shown["sightings"].as_array().unwrap().len(), 2);
    assert_eq!(u.json(["status"], 0)["status"]["items"], 7);
    u.cmd(["verify"]).assert().code(0);
}

/// Replaces `from` by `to` in line `n` (1-based) of a manifest.
fn edit_line(path: &Path, n: usize, from: &str, to: &str) -> PathBuf {
    let text = read(path);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines[n - 1].contains(from), "{from} not in line {n}");
    lines[n - 1] = lines[n - 1].replacen(from, to, 1);
    let out = path.with_extension(format!("edit{n}.jsonl"));
    std::fs::write(&out, lines.join("\n") + "\n").unwrap();
    out
}

/// Imports `manifest` into `t`, expecting an error mentioning each of
/// `needles`, and checks that nothing changed.
fn rejected(t: &TestArchive, manifest: &Path, needles: &[&str]) {
    let before = t
        .cmd(["export"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = t
        .cmd(["import".as_ref(), manifest.as_os_str()])
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    assert!(err.contains("nothing was imported"), "{err}");
    let after = t
        .cmd(["export"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert_eq!(before, after, "a rejected import changed the archive");
}

#[test]
fn malformed_manifest_changes_nothing_and_names_line_and_field() {
    let t = populated();
    let a = export(&t, "a.jsonl");
    let u = TestArchive::new();
    u.json(
        ["archive".as_ref(), sample("pillow-flower.jpg").as_os_str()],
        0,
    );
    // Line 4's first sighting has an impossible date: lines 2 and 3 were
    // fine, and must not be imported either.
    let bad = edit_line(&a, 4, "\"archived_at\":\"", "\"archived_at\":\"yesterday");
    rejected(
        &u,
        &bad,
        &["line 4", "field sightings[0].archived_at", "yesterday"],
    );
    // The last line cut off: the header's counts are not met.
    let text = read(&a);
    let cut = u.scratch().join("cut.jsonl");
    let keep: Vec<&str> = text.lines().take(6).collect();
    std::fs::write(&cut, keep.join("\n") + "\n").unwrap();
    rejected(&u, &cut, &["line 7", "truncated"]);
    // Items out of order.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(2, 3);
    let swapped = u.scratch().join("swapped.jsonl");
    std::fs::write(&swapped, lines.join("\n") + "\n").unwrap();
    rejected(&u, &swapped, &["line 4", "field sha256", "ascending"]);
    // A link to an item nowhere to be found.
    let mirror_line = text
        .lines()
        .position(|l| l.contains("\"variant_of\""))
        .unwrap()
        + 1;
    let rocket = sha256_of(&sample("skimage-rocket.jpg"));
    let dangling = edit_line(&a, mirror_line, &rocket, &"ab".repeat(32));
    rejected(
        &u,
        &dangling,
        &[
            &format!("line {mirror_line}"),
            "variant_of",
            "neither the manifest nor the archive",
        ],
    );
    u.cmd(["verify"]).assert().code(0);
}

#[test]
fn hostile_manifests_give_clean_errors() {
    let t = populated();
    let a = export(&t, "a.jsonl");
    let u = TestArchive::new();
    u.json(
        ["archive".as_ref(), sample("pillow-flower.jpg").as_os_str()],
        0,
    );
    let s = u.scratch();
    let header = read(&a).lines().next().unwrap().to_string();
    let one_item_header = {
        let mut h: Value = serde_json::from_str(&header).unwrap();
        h["items"] = 1.into();
        h["sightings"] = 1.into();
        h.to_string()
    };
    let item = |extra: &str| {
        format!(
            "{one_item_header}\n{{\"sha256\":\"{}\",\"media_type\":\"image\",\"format\":\"jpeg\",\
             \"sightings\":[{{\"archived_at\":\"2024-01-01T00:00:00Z\"{extra}}}]}}\n",
            "12".repeat(32)
        )
    };
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "path-like file name",
            item(",\"file_name\":\"../../etc/passwd\""),
            vec!["line 2", "sightings[0].file_name"],
        ),
        (
            "unknown field",
            item(",\"path\":\"/etc/passwd\""),
            vec!["line 2", "unknown field `path`"],
        ),
        (
            "huge caption",
            item(&format!(",\"caption\":\"{}\"", "x".repeat(70_000))),
            vec![
                "line 2",
                "sightings[0].caption",
                "exceeds the limit of 65536",
            ],
        ),
        (
            "deep nesting",
            item(&format!(",\"caption\":{deep}")),
            vec!["line 2", "sightings[0].caption"],
        ),
        (
            "bad hex",
            item("").replace(&"12".repeat(32), &format!("zz{}", "12".repeat(31))),
            vec!["line 2", "field sha256", "not hexadecimal"],
        ),
        (
            "wrong type",
            item("").replace(
                "\"format\":\"jpeg\"",
                "\"format\":\"jpeg\",\"width\":\"640\"",
            ),
            vec!["line 2", "field width", "invalid type"],
        ),
        (
            "a directory for a format",
            item("").replace("\"jpeg\"", "\"../x\""),
            vec!["line 2", "field format"],
        ),
        (
            "not a manifest",
            "{\"hello\":1}\n".to_string(),
            vec!["line 1", "not a firstseen manifest"],
        ),
        (
            "another format",
            header.replace("manifest/2", "manifest/9"),
            vec!["line 1", "field format"],
        ),
        (
            "binary",
            "\u{0}\u{1}\u{2}garbage\n".to_string(),
            vec!["line 1"],
        ),
        ("empty", String::new(), vec!["empty file"]),
        (
            "two objects on a line",
            item("").replace("}]}\n", "}]}{}\n"),
            vec!["line 2", "one object per line"],
        ),
        (
            "negative quality",
            item("").replace(
                "\"format\":\"jpeg\"",
                "\"format\":\"jpeg\",\"pdq\":{\"hash\":\"00\",\"quality\":-1}",
            ),
            vec!["line 2", "field pdq.hash"],
        ),
    ];
    for (label, text, needles) in cases {
        let path = s.join(format!("{}.jsonl", label.replace(' ', "-")));
        std::fs::write(&path, text).unwrap();
        eprintln!("case: {label}");
        rejected(&u, &path, &needles);
    }
}

#[test]
fn check_against_a_manifest_needs_no_archive() {
    let t = populated();
    let a = export(&t, "a.jsonl");
    let u = TestArchive::new();
    let img = image::open(sample("mate-FreshFlower.jpg")).unwrap();
    let copy = u.scratch().join("flower-small.jpg");
    save(&img.resize(400, 400, FilterType::Triangle), &copy, 70);
    let v = u.json(
        [
            "check".as_ref(),
            copy.as_os_str(),
            "--manifest".as_ref(),
            a.as_os_str(),
        ],
        0,
    );
    let m = &v["files"][0]["matches"][0];
    assert_eq!(m["kind"], "near-duplicate", "{v:#}");
    assert_eq!(
        m["item"]["sha256"],
        sha256_of(&sample("mate-FreshFlower.jpg")).as_str()
    );
    assert_eq!(m["earliest"]["source"], "https://example.org/wire/1");
    assert!(
        !u.dir().exists(),
        "check --manifest must not create an archive"
    );
    // Human output as for an archive; an unknown photo exits 1.
    let text = stdout_of(
        &u.cmd([
            "check".as_ref(),
            copy.as_os_str(),
            "--manifest".as_ref(),
            a.as_os_str(),
        ])
        .assert()
        .code(0),
    );
    assert!(
        text.contains("KNOWN") && text.contains("first seen 2024-03-01"),
        "{text}"
    );
    let other = sample("mate-GreenMeadow.jpg");
    u.cmd([
        "check".as_ref(),
        other.as_os_str(),
        "--manifest".as_ref(),
        a.as_os_str(),
    ])
    .assert()
    .code(1);
    // The video itself: found by SHA-256, with its frames kept.
    let v = u.json(
        [
            "check".as_ref(),
            video().as_os_str(),
            "--manifest".as_ref(),
            a.as_os_str(),
        ],
        0,
    );
    assert_eq!(v["files"][0]["matches"][0]["kind"], "exact", "{v:#}");
    // A broken manifest is an error, not "not found".
    let bad = u.scratch().join("bad.jsonl");
    std::fs::write(&bad, "{\"format\":\"firstseen-manifest/1\"}\n").unwrap();
    let out = u
        .cmd([
            "check".as_ref(),
            copy.as_os_str(),
            "--manifest".as_ref(),
            bad.as_os_str(),
        ])
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("line 1"), "{}", stderr_of(&out));
}

#[test]
fn manifest_features_confirm_crops_without_the_files() {
    // Items known only from a manifest carry their local features, so a
    // crop of one is confirmed in an archive that never saw the file.
    let t = populated();
    let a = export(&t, "a.jsonl");
    let text = read(&a);
    assert!(
        body(&text).contains("\"features\":\"RlNGM"),
        "features exported"
    );
    let u = TestArchive::new();
    u.json(["import".as_ref(), a.as_os_str()], 0);
    let photo = sample("skimage-chelsea.png");
    let img = image::open(&photo).unwrap();
    let (w, h) = (img.width(), img.height());
    let crop = u.scratch().join("crop.jpg");
    save(&img.crop_imm(w / 5, h / 6, w * 3 / 5, h * 2 / 3), &crop, 85);
    let v = u.json(["check".as_ref(), crop.as_os_str()], 0);
    let m = &v["files"][0]["matches"][0];
    assert_eq!(m["item"]["sha256"], sha256_of(&photo).as_str(), "{v:#}");
    assert_eq!(m["evidence"], "features", "{v:#}");
    assert_eq!(m["item"]["stored"], false);
    // The same through check --manifest, with no archive at all.
    let v = u.json(
        [
            "check".as_ref(),
            crop.as_os_str(),
            "--manifest".as_ref(),
            a.as_os_str(),
        ],
        0,
    );
    assert_eq!(v["files"][0]["matches"][0]["evidence"], "features", "{v:#}");
    // A format-1 manifest (no features) is still read: PDQ matches only.
    let old = u.scratch().join("old.jsonl");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[0] = lines[0].replace("firstseen-manifest/2", "firstseen-manifest/1");
    for l in lines.iter_mut().skip(1) {
        let mut item: Value = serde_json::from_str(l).unwrap();
        item.as_object_mut().unwrap().remove("features");
        *l = item.to_string();
    }
    std::fs::write(&old, lines.join("\n") + "\n").unwrap();
    let v = u.json(
        [
            "check".as_ref(),
            crop.as_os_str(),
            "--manifest".as_ref(),
            old.as_os_str(),
        ],
        1,
    );
    assert_eq!(v["files"][0]["matches"], serde_json::json!([]), "{v:#}");
    // Features in a format-2 manifest are untrusted: garbage is refused
    // with the line and field named.
    let bad = u.scratch().join("bad.jsonl");
    let mut broken = text.lines().map(str::to_string).collect::<Vec<_>>();
    let at = broken
        .iter()
        .position(|l| l.contains("\"features\""))
        .unwrap();
    let mut item: Value = serde_json::from_str(&broken[at]).unwrap();
    item["features"] = Value::String("RlNGMQAAAAAA".into());
    broken[at] = item.to_string();
    std::fs::write(&bad, broken.join("\n") + "\n").unwrap();
    let out = u
        .cmd([
            "check".as_ref(),
            crop.as_os_str(),
            "--manifest".as_ref(),
            bad.as_os_str(),
        ])
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("line {}", at + 1)) && err.contains("features"),
        "{err}"
    );
}

#[test]
fn hash_list_matches_are_reported_with_the_list_name() {
    let t = TestArchive::new();
    let list = repo().join("tests/fixtures/hashlists/samples-pdq.csv");
    let v = t.json(
        [
            "import".as_ref(),
            "--hash-list".as_ref(),
            list.as_os_str(),
            "--source".as_ref(),
            "Desk watchlist".as_ref(),
        ],
        0,
    );
    assert_eq!(v["import"]["counts"]["hashes_new"], 2, "{v:#}");
    assert_eq!(v["list"]["skipped"], 1);
    let again = t.json(
        [
            "import".as_ref(),
            "--hash-list".as_ref(),
            list.as_os_str(),
            "--source".as_ref(),
            "Desk watchlist".as_ref(),
        ],
        0,
    );
    assert_eq!(again["import"]["counts"]["hashes_known"], 2);
    // A resized, mirrored copy of a listed photo: a listed match.
    let img = image::open(sample("skimage-rocket.jpg")).unwrap();
    let copy = t.scratch().join("rocket-flipped.jpg");
    save(
        &img.resize(320, 214, FilterType::Triangle).fliph(),
        &copy,
        75,
    );
    let v = t.json(["check".as_ref(), copy.as_os_str()], 0);
    let l = &v["files"][0]["listed"][0];
    assert_eq!(l["kind"], "listed", "{v:#}");
    assert_eq!(l["list"], "Desk watchlist");
    assert_eq!(l["relation"], "flipy");
    assert_eq!(l["file_name"], "samples-pdq.csv");
    assert!(l["distance"].as_u64().unwrap() <= 31);
    assert!(v["files"][0]["matches"].as_array().unwrap().is_empty());
    let text = stdout_of(&t.cmd(["check".as_ref(), copy.as_os_str()]).assert().code(0));
    assert!(
        text.contains("listed in hash list \"Desk watchlist\""),
        "{text}"
    );
    t.cmd(["check".as_ref(), sample("pillow-hopper.jpg").as_os_str()])
        .assert()
        .code(1);
    assert_eq!(t.json(["status"], 0)["status"]["listed_hashes"], 2);
    t.cmd(["verify"]).assert().code(0);

    // A malformed list imports nothing and names line and column.
    let bad = t.scratch().join("bad.csv");
    std::fs::write(
        &bad,
        format!("pdq,quality\n{},100\nnot-a-hash,5\n", "ab".repeat(32)),
    )
    .unwrap();
    let out = t
        .cmd([
            "import".as_ref(),
            "--hash-list".as_ref(),
            bad.as_os_str(),
            "--source".as_ref(),
            "x".as_ref(),
        ])
        .assert()
        .code(2);
    assert!(
        stderr_of(&out).contains("line 3, column 1"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(t.json(["status"], 0)["status"]["listed_hashes"], 2);
    // --source is required.
    t.cmd(["import".as_ref(), "--hash-list".as_ref(), list.as_os_str()])
        .assert()
        .code(2);

    // The real ThreatExchange needles: 100 bare hex lines.
    let Some(shared) = shared() else {
        println!("SKIPPED: ../shared absent, ThreatExchange needles.txt not imported");
        return;
    };
    let needles = shared.join("pdq-reference/ThreatExchange/pdq/data/reg-test-input/needles.txt");
    let v = t.json(
        [
            "import".as_ref(),
            "--hash-list".as_ref(),
            needles.as_os_str(),
            "--source".as_ref(),
            "TE needles".as_ref(),
        ],
        0,
    );
    assert_eq!(v["import"]["counts"]["hashes_new"], 100, "{v:#}");
    assert_eq!(v["import"]["file_sha256"], sha256_of(&needles).as_str());
    let s = t.json(["status"], 0);
    assert_eq!(s["status"]["listed_hashes"], 102);
    assert_eq!(s["status"]["hash_lists"], 2);
    t.cmd(["verify"]).assert().code(0);
}

/// A copy of an archive directory, to tamper with.
fn copy_archive(from: &TestArchive) -> TestArchive {
    let to = TestArchive::new();
    for e in walkdir::WalkDir::new(from.dir())
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = e.path().strip_prefix(from.dir()).unwrap();
        let dest = to.dir().join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
    to
}

/// Runs verify, expects exit 1 and returns its problems.
fn problems(t: &TestArchive) -> Vec<Value> {
    let v = t.json(["verify"], 1);
    assert_eq!(v["ok"], false);
    v["problems"].as_array().unwrap().clone()
}

fn sql(t: &TestArchive, statement: &str) {
    let conn = rusqlite::Connection::open(t.dir().join("catalog.sqlite")).unwrap();
    let n = conn.execute(statement, []).unwrap();
    assert!(n > 0, "{statement} changed nothing");
}

fn object_path(t: &TestArchive, sha: &str) -> PathBuf {
    t.dir().join("objects").join(&sha[..2]).join(&sha[2..])
}

#[test]
fn verify_catches_every_kind_of_tampering() {
    let base = populated();
    let v = base.json(["verify"], 0);
    assert_eq!(v["ok"], true, "{v:#}");
    assert_eq!(v["summary"]["objects"], 6);
    let head = v["summary"]["head"]["hash"].as_str().unwrap().to_string();
    let text = stdout_of(&base.cmd(["verify"]).assert().code(0));
    assert!(text.starts_with("OK: 6 object(s) re-hashed"), "{text}");
    let rocket = sha256_of(&sample("skimage-rocket.jpg"));
    let chelsea = sha256_of(&sample("skimage-chelsea.png"));

    // A byte flipped in a stored object.
    let t = copy_archive(&base);
    let p = object_path(&t, &rocket);
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&p, bytes).unwrap();
    let found = problems(&t);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["kind"], "altered-object");
    assert_eq!(found[0]["subject"], rocket.as_str());
    let text = stdout_of(&t.cmd(["verify"]).assert().code(1));
    assert!(
        text.contains(&format!("altered-object: {rocket}: content hashes to")),
        "{text}"
    );
    assert!(text.contains("1 PROBLEM(S)"), "{text}");

    // An object deleted, and a stray one added.
    let t = copy_archive(&base);
    std::fs::remove_file(object_path(&t, &chelsea)).unwrap();
    let stray = b"not an archived picture";
    let stray_sha = firstseen::hash::Sha256::of(stray).to_hex();
    std::fs::create_dir_all(object_path(&t, &stray_sha).parent().unwrap()).unwrap();
    std::fs::write(object_path(&t, &stray_sha), stray).unwrap();
    std::fs::write(t.dir().join("objects/README"), "hi").unwrap();
    // A stray object whose content still matches its name is an
    // interrupted write's leftover: noted, harmless, not a problem; one
    // that does not match is altered.
    let bad_stray = "ee".repeat(32);
    std::fs::create_dir_all(object_path(&t, &bad_stray).parent().unwrap()).unwrap();
    std::fs::write(object_path(&t, &bad_stray), b"junk").unwrap();
    let found = problems(&t);
    let kinds: Vec<&str> = found.iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 4, "{found:#?}");
    assert!(
        kinds.contains(&"missing-object")
            && kinds.contains(&"stray-object")
            && kinds.contains(&"altered-object")
            && kinds.contains(&"stray-file"),
        "{kinds:?}"
    );
    let v = t.json(["verify"], 1);
    assert_eq!(
        v["summary"]["leftovers"],
        serde_json::json!([stray_sha]),
        "{v:#}"
    );
    // --repair removes the intact leftover, and only it.
    let v = t.json(["verify", "--repair"], 1);
    assert_eq!(
        v["repaired"]["removed"],
        serde_json::json!([stray_sha]),
        "{v:#}"
    );
    assert!(!object_path(&t, &stray_sha).exists());
    assert!(object_path(&t, &bad_stray).exists());
    let missing = found
        .iter()
        .find(|p| p["kind"] == "missing-object")
        .unwrap();
    assert_eq!(missing["subject"], chelsea.as_str());

    // A sighting's caption edited directly in SQLite.
    let t = copy_archive(&base);
    sql(&t, "UPDATE sighting SET caption = 'Doctored' WHERE id = 2");
    let found = problems(&t);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["kind"], "sighting-altered");
    assert_eq!(found[0]["subject"], "sighting #2");
    let detail = found[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("caption: \"Wire photos\" in the chain, \"Doctored\" in the catalog"),
        "{detail}"
    );

    // A first-seen date moved earlier: the classic forgery.
    let t = copy_archive(&base);
    sql(
        &t,
        "UPDATE sighting SET first_seen = '2020-01-01' WHERE id = 1",
    );
    assert_eq!(problems(&t)[0]["kind"], "sighting-altered");

    // A sighting row deleted.
    let t = copy_archive(&base);
    sql(&t, "DELETE FROM sighting WHERE id = 3");
    let found = problems(&t);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["kind"], "sighting-missing");
    assert_eq!(found[0]["subject"], "sighting #3");

    // A sighting row and its chain entry deleted: the chain breaks.
    let t = copy_archive(&base);
    sql(&t, "DELETE FROM sighting WHERE id = 3");
    sql(&t, "DELETE FROM chain WHERE seq = 3");
    let found = problems(&t);
    assert!(found.iter().all(|p| p["kind"] == "chain"), "{found:#?}");
    assert!(
        found.iter().any(|p| p["detail"]
            .as_str()
            .unwrap()
            .contains("entries 3 to 3 are missing")),
        "{found:#?}"
    );

    // Two chain entries swapped (their sightings swapped with them).
    let t = copy_archive(&base);
    sql(&t, "UPDATE chain SET seq = -2 WHERE seq = 2");
    sql(&t, "UPDATE chain SET seq = 2 WHERE seq = 4");
    sql(&t, "UPDATE chain SET seq = 4 WHERE seq = -2");
    let found = problems(&t);
    assert!(
        found
            .iter()
            .any(|p| p["kind"] == "chain" && p["subject"] == "chain entry 2"),
        "{found:#?}"
    );

    // Two sightings' contents swapped (the rows reordered).
    let t = copy_archive(&base);
    sql(&t, "UPDATE sighting SET id = -1 WHERE id = 1");
    sql(&t, "UPDATE sighting SET id = 1 WHERE id = 2");
    sql(&t, "UPDATE sighting SET id = 2 WHERE id = -1");
    let found = problems(&t);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found.iter().all(|p| p["kind"] == "sighting-altered"));

    // A sighting slipped in without the chain.
    let t = copy_archive(&base);
    sql(
        &t,
        "INSERT INTO sighting (item_id, source, archived_at) VALUES (1, 'https://forged.example', '2019-01-01T00:00:00Z')",
    );
    let found = problems(&t);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["kind"], "sighting-unchained");

    // The whole chain recomputed after an edit passes its own checks, but
    // no longer leads to the head noted earlier.
    let t = copy_archive(&base);
    t.cmd(["verify", "--head", &head]).assert().code(0);
    {
        let conn = rusqlite::Connection::open(t.dir().join("catalog.sqlite")).unwrap();
        conn.execute("UPDATE sighting SET caption = 'Doctored' WHERE id = 2", [])
            .unwrap();
        let rows: Vec<(i64, String)> = conn
            .prepare("SELECT seq, payload FROM chain ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut prev = firstseen::store::chain::GENESIS;
        for (seq, payload) in rows {
            let payload = if payload.contains("\"sighting\":2,") {
                payload.replacen("\"caption\":\"Wire photos\"", "\"caption\":\"Doctored\"", 1)
            } else {
                payload
            };
            let hash = firstseen::store::chain::entry_hash(&prev, payload.as_bytes());
            conn.execute(
                "UPDATE chain SET payload = ?2, prev = ?3, hash = ?4 WHERE seq = ?1",
                rusqlite::params![seq, payload, prev.to_hex(), hash.to_hex()],
            )
            .unwrap();
            prev = hash;
        }
    }
    t.cmd(["verify"]).assert().code(0);
    let v = t.json(["verify", "--head", &head], 1);
    assert_eq!(v["problems"][0]["kind"], "unknown-head", "{v:#}");
}

#[test]
fn status_counts_and_chain_head() {
    let t = TestArchive::new();
    t.cmd(["status"]).assert().code(2);
    t.json(
        ["archive".as_ref(), sample("pillow-hopper.jpg").as_os_str()],
        0,
    );
    let s = t.json(["status"], 0);
    assert_eq!(s["status"]["items"], 1);
    assert_eq!(s["status"]["sightings"], 1);
    assert_eq!(s["status"]["chain"]["length"], 1);
    let text = stdout_of(&t.cmd(["status"]).assert().code(0));
    assert!(
        text.contains("chain head") && text.contains("(1 entries)"),
        "{text}"
    );
}

#[test]
fn a_manifest_item_with_its_features_stays_under_8_kb() {
    // A textured photo keeps its full share of features; its item line
    // (hashes, one sighting, features) must stay within the budget of
    // issue #8 (8 KB per item, catalog and manifest).
    let t = TestArchive::new();
    let photo = sample("mate-GreenMeadow.jpg");
    t.json(
        [
            "archive".as_ref(),
            photo.as_os_str(),
            "--source".as_ref(),
            "https://example.org/post/1".as_ref(),
        ],
        0,
    );
    let m = read(&export(&t, "m.jsonl"));
    let item = m.lines().nth(1).expect("one item line");
    let v: Value = serde_json::from_str(item).unwrap();
    let features = v["features"].as_str().expect("features exported");
    assert!(
        features.len() > 6_000,
        "a full set of features: {}",
        features.len()
    );
    assert!(item.len() <= 8_000, "{} bytes", item.len());
}

/// The hash index beside the catalog follows a hash changed by hand
/// (the catalog's triggers mark it stale, `check` rebuilds it), and
/// `verify` finds and rebuilds an index the triggers could not warn
/// about.
#[test]
fn the_hash_index_follows_hand_edits_and_verify_checks_it() {
    let t = copy_archive(&populated());
    let rocket = sha256_of(&sample("skimage-rocket.jpg"));
    let chelsea = sha256_of(&sample("skimage-chelsea.png"));
    let repost = sample("skimage-rocket.jpg");
    let matched = |t: &TestArchive| -> Vec<String> {
        let v = t.json(["check", repost.to_str().unwrap()], 0);
        v["files"][0]["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["item"]["sha256"].as_str().unwrap().to_string())
            .collect()
    };
    let before = matched(&t);
    assert!(
        before.contains(&rocket) && !before.contains(&chelsea),
        "{before:?}"
    );
    assert!(t.dir().join("index/hashes.idx").is_file());
    // Give chelsea the rocket's PDQ hash: the repost now matches it too.
    sql(
        &t,
        &format!(
            "UPDATE item SET pdq = (SELECT pdq FROM item WHERE sha256 = '{rocket}') \
             WHERE sha256 = '{chelsea}'"
        ),
    );
    let now = matched(&t);
    assert!(now.contains(&chelsea) && now.contains(&rocket), "{now:?}");
    t.json(["verify"], 0);

    // With the trigger gone, an edit goes unseen by the staleness check
    // (the index still says chelsea matches), but not by verify.
    rusqlite::Connection::open(t.dir().join("catalog.sqlite"))
        .unwrap()
        .execute_batch("DROP TRIGGER item_hashes_updated")
        .unwrap();
    sql(
        &t,
        &format!(
            "UPDATE item SET pdq = '{}' WHERE sha256 = '{chelsea}'",
            "0f".repeat(32)
        ),
    );
    assert!(matched(&t).contains(&chelsea));
    let found = problems(&t);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["kind"], "index");
    let detail = found[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("differs from the catalog") && detail.contains("rebuilt"),
        "{detail}"
    );
    assert_eq!(matched(&t), before);
    let v = t.json(["verify"], 0);
    assert!(v["index"]["hashes"].as_u64().unwrap() > 5, "{v:#}");
}
