//! archive → check on real photos and their altered copies.

use image::imageops::FilterType;
use serde_json::Value;

use crate::util::{TestArchive, sample, save, sha256_of};

const ARCHIVED: &[&str] = &[
    "skimage-rocket.jpg",
    "skimage-chelsea.png",
    "mate-FreshFlower.jpg",
    "mate-GreenMeadow.jpg",
    "skimage-camera.png",
];
const UNRELATED: &[&str] = &["pillow-flower.jpg", "pillow-hopper.jpg"];

fn archive_samples(t: &TestArchive) {
    let mut args = vec![
        "archive".to_string(),
        "--source".into(),
        "https://example.org/post/1".into(),
        "--caption".into(),
        "Original post".into(),
        "--first-seen".into(),
        "2024-03-01".into(),
    ];
    args.extend(ARCHIVED.iter().map(|n| sample(n).display().to_string()));
    let v = t.json(&args, 0);
    assert_eq!(v["summary"]["new_items"], 5, "{v:#}");
    assert_eq!(v["summary"]["failed"], 0);
}

fn matches_of(v: &Value) -> &Vec<Value> {
    v["files"][0]["matches"].as_array().expect("matches array")
}

#[test]
fn altered_copies_match_the_right_item_and_unrelated_photos_do_not() {
    let t = TestArchive::new();
    archive_samples(&t);
    let scratch = t.scratch();
    for name in [
        "skimage-rocket.jpg",
        "skimage-chelsea.png",
        "mate-FreshFlower.jpg",
    ] {
        let original = sample(name);
        let want = sha256_of(&original);
        let img = image::open(&original).expect("open sample");
        let variants = [
            (
                "half",
                img.resize_exact(img.width() / 2, img.height() / 2, FilterType::Triangle),
                95,
                "near-duplicate",
            ),
            ("q40", img.clone(), 40, "near-duplicate"),
            ("mirrored", img.fliph(), 90, "mirrored-or-rotated"),
            ("rot90", img.rotate90(), 90, "mirrored-or-rotated"),
        ];
        for (label, v, quality, kind) in variants {
            let path = scratch.join(format!("{name}-{label}.jpg"));
            save(&v, &path, quality);
            let out = t.json(["check".as_ref(), path.as_os_str()], 0);
            let m = matches_of(&out);
            assert!(!m.is_empty(), "{label} of {name} not found: {out:#}");
            assert_eq!(
                m[0]["item"]["sha256"],
                want.as_str(),
                "{label} of {name}: {out:#}"
            );
            assert_eq!(m[0]["kind"], kind, "{label} of {name}");
            assert!(m[0]["distance"].as_u64().unwrap() <= 31);
            assert_eq!(m[0]["earliest"]["source"], "https://example.org/post/1");
            assert_eq!(m[0]["earliest"]["first_seen"], "2024-03-01");
            assert_eq!(m[0]["sightings"], 1);
            // Never a second, wrong item.
            assert!(
                m.iter().all(|x| x["item"]["sha256"] == want.as_str()),
                "{label} of {name} also matched another item: {out:#}"
            );
            if label == "mirrored" {
                assert_eq!(m[0]["relation"], "flipy", "{out:#}");
            }
        }
    }
    for name in UNRELATED {
        let out = t.json(["check".as_ref(), sample(name).as_os_str()], 1);
        assert!(matches_of(&out).is_empty(), "{name} matched: {out:#}");
    }
}

#[test]
fn exact_copy_and_human_output() {
    let t = TestArchive::new();
    archive_samples(&t);
    let rocket = sample("skimage-rocket.jpg");
    let out = t.json(["check".as_ref(), rocket.as_os_str()], 0);
    let m = matches_of(&out);
    assert_eq!(m[0]["kind"], "exact");
    assert_eq!(m[0]["distance"], 0);
    let text = t
        .cmd(["check".as_ref(), rocket.as_os_str()])
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(stdout.contains("KNOWN"), "{stdout}");
    assert!(stdout.contains("exact copy"), "{stdout}");
    assert!(
        stdout.contains("first seen 2024-03-01 at https://example.org/post/1"),
        "{stdout}"
    );
    // Mixed batch: one known, one unknown → exit 1.
    let hopper = sample("pillow-hopper.jpg");
    t.cmd(["check".as_ref(), rocket.as_os_str(), hopper.as_os_str()])
        .assert()
        .code(1);
}

#[test]
fn exif_rotated_copy_matches_upright() {
    let t = TestArchive::new();
    let hopper = sample("pillow-hopper.jpg");
    t.json(["archive".as_ref(), hopper.as_os_str()], 0);
    let rotated = crate::util::repo().join("samples/circulating/pillow-hopper_orientation_6.jpg");
    let out = t.json(["check".as_ref(), rotated.as_os_str()], 0);
    let m = matches_of(&out);
    assert_eq!(m[0]["kind"], "near-duplicate", "{out:#}");
    assert_eq!(m[0]["relation"], "orig");
}

#[test]
fn same_bytes_twice_is_one_item_with_two_sightings() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let sha = sha256_of(&rocket);
    let first = t.json(
        [
            "archive",
            rocket.to_str().unwrap(),
            "--source",
            "https://a.example/1",
            "--caption",
            "Launch tonight",
            "--first-seen",
            "2026-01-27",
        ],
        0,
    );
    assert_eq!(first["files"][0]["result"], "new_item");
    let second = t.json(
        [
            "archive",
            rocket.to_str().unwrap(),
            "--source",
            "https://b.example/2",
            "--caption",
            "Old launch photo",
            "--first-seen",
            "2023-06-30T12:00:00+02:00",
        ],
        0,
    );
    assert_eq!(second["files"][0]["result"], "new_sighting");
    // The identical sighting again is not duplicated.
    let third = t.json(
        [
            "archive",
            rocket.to_str().unwrap(),
            "--source",
            "https://b.example/2",
            "--caption",
            "Old launch photo",
            "--first-seen",
            "2023-06-30T10:00:00Z",
        ],
        0,
    );
    assert_eq!(third["files"][0]["result"], "already_recorded");
    assert_eq!(t.object_count(), 1);

    let shown = t.json(["show", &sha[..10]], 0);
    assert_eq!(shown["item"]["sha256"], sha.as_str());
    let sightings = shown["sightings"].as_array().unwrap();
    assert_eq!(sightings.len(), 2);
    assert_eq!(sightings[0]["first_seen"], "2023-06-30T10:00:00Z");
    assert_eq!(sightings[0]["source"], "https://b.example/2");
    assert_eq!(sightings[1]["first_seen"], "2026-01-27");

    let check = t.json(["check", rocket.to_str().unwrap()], 0);
    let m = matches_of(&check);
    assert_eq!(m[0]["earliest"]["first_seen"], "2023-06-30T10:00:00Z");
    assert_eq!(m[0]["sightings"], 2);

    let log = t.json(["log"], 0);
    assert_eq!(log["sightings"].as_array().unwrap().len(), 2);
    assert_eq!(log["sightings"][0]["source"], "https://b.example/2");
}

#[test]
fn near_duplicate_is_linked_as_variant() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    t.json(["archive".as_ref(), rocket.as_os_str()], 0);
    let mirrored = t.scratch().join("rocket-mirror.jpg");
    save(&image::open(&rocket).unwrap().fliph(), &mirrored, 80);
    let out = t.json(["archive".as_ref(), mirrored.as_os_str()], 0);
    let link = &out["files"][0]["variant_of"][0];
    assert_eq!(link["sha256"], sha256_of(&rocket).as_str(), "{out:#}");
    assert_eq!(link["relation"], "flipy");
    let shown = t.json(["show", sha256_of(&rocket).as_str()], 0);
    assert_eq!(
        shown["variants"][0]["sha256"],
        sha256_of(&mirrored).as_str()
    );
    let text = t
        .cmd(["show", sha256_of(&mirrored).as_str()])
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(stdout.contains("near-duplicate variants (1)"), "{stdout}");
}

#[test]
fn check_never_modifies_the_archive() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    t.json(["archive".as_ref(), rocket.as_os_str()], 0);
    let catalog = t.dir().join("catalog.sqlite");
    let before = std::fs::read(&catalog).unwrap();
    let hopper = sample("pillow-hopper.jpg");
    t.cmd(["check".as_ref(), hopper.as_os_str(), rocket.as_os_str()])
        .assert()
        .code(1);
    assert_eq!(std::fs::read(&catalog).unwrap(), before);
    assert_eq!(t.object_count(), 1);
}

#[test]
fn hash_needs_no_archive_and_prints_all_hashes() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let out = t
        .cmd(["hash".as_ref(), rocket.as_os_str()])
        .assert()
        .code(0);
    let line = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let cols: Vec<_> = line.split_whitespace().collect();
    assert_eq!(cols[0], sha256_of(&rocket));
    assert_eq!(cols[1].len(), 64);
    assert!(
        cols[1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(cols[3].len(), 16);
    assert_eq!(cols[4].len(), 16);
    assert!(!t.dir().exists(), "hash must not create an archive");
    let v = t.json(["hash".as_ref(), rocket.as_os_str()], 0);
    assert_eq!(v["files"][0]["pdq"]["hash"], cols[1]);
    assert_eq!(v["files"][0]["width"], 640);
    assert_eq!(v["files"][0]["status"], "hashed");
    // `hash` computes only the hashes, but the same ones `archive` stores.
    t.json(["archive".as_ref(), rocket.as_os_str()], 0);
    let shown = t.json(["show", cols[0]], 0);
    let item = &shown["item"];
    // One shape for a PDQ hash and its quality in every command.
    assert_eq!(item["pdq"], v["files"][0]["pdq"]);
    assert_eq!(item["phash"], v["files"][0]["phash"]);
    assert_eq!(item["dhash"], v["files"][0]["dhash"]);
}

#[test]
fn exit_codes_and_errors() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    // No archive yet: check is an error, not "not found".
    let out = t
        .cmd(["check".as_ref(), rocket.as_os_str()])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("no archive at"));
    t.json(["archive".as_ref(), rocket.as_os_str()], 0);
    t.cmd(["show", "ffff0000"]).assert().code(1);
    t.cmd(["show", "xyz"]).assert().code(2);
    t.cmd([
        "archive",
        "--first-seen",
        "yesterday",
        rocket.to_str().unwrap(),
    ])
    .assert()
    .code(2);
    t.cmd(["check", "/nonexistent/file.jpg"]).assert().code(2);
    t.cmd(["--help"]).assert().code(0);
}

#[test]
fn bordered_and_cropped_copies() {
    let t = TestArchive::new();
    archive_samples(&t);
    let rocket = sample("skimage-rocket.jpg");
    let want = sha256_of(&rocket);
    let img = image::open(&rocket).unwrap();
    let s = t.scratch();

    // A screenshot-like copy: the picture inside a light frame.
    let inner = img.to_rgb8();
    let mut framed = image::RgbImage::from_pixel(
        inner.width() + 60,
        inner.height() + 90,
        image::Rgb([240, 240, 240]),
    );
    image::imageops::overlay(&mut framed, &inner, 30, 45);
    let framed_path = s.join("framed.jpg");
    save(&image::DynamicImage::ImageRgb8(framed), &framed_path, 80);
    let out = t.json(["check".as_ref(), framed_path.as_os_str()], 0);
    let m = matches_of(&out);
    assert_eq!(m[0]["item"]["sha256"], want.as_str(), "{out:#}");
    assert_eq!(m[0]["kind"], "near-duplicate");
    assert_eq!(m[0]["evidence"], "pdq-without-border");
    assert!(m[0]["distance"].as_u64().unwrap() <= 16, "{out:#}");

    // A 10% centre crop: beyond PDQ, confirmed by local features, with
    // the part of the photo it keeps.
    let (w, h) = (img.width(), img.height());
    let crop = img.crop_imm(w / 20, h / 20, w - w / 10, h - h / 10);
    let crop_path = s.join("crop.jpg");
    save(&crop, &crop_path, 85);
    let out = t.json(["check".as_ref(), crop_path.as_os_str()], 0);
    let m = matches_of(&out);
    assert_eq!(m.len(), 1, "{out:#}");
    assert_eq!(m[0]["item"]["sha256"], want.as_str());
    assert_eq!(m[0]["kind"], "altered");
    assert_eq!(m[0]["evidence"], "features");
    let visible = &m[0]["alignment"]["visible"];
    for (edge, want) in [
        ("left", 0.05),
        ("top", 0.05),
        ("right", 0.95),
        ("bottom", 0.95),
    ] {
        let got = visible[edge].as_f64().unwrap();
        assert!((got - want).abs() < 0.03, "{edge}: {got} in {out:#}");
    }
    assert!(
        m[0]["change"]
            .as_str()
            .unwrap()
            .starts_with("cropped to the middle"),
        "{out:#}"
    );
    // A confirmed match becomes a variant link.
    let archived = t.json(["archive".as_ref(), crop_path.as_os_str()], 0);
    assert_eq!(
        archived["files"][0]["variant_of"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn no_copy_keeps_hashes_only_and_env_names_the_archive() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    // The archive named by FIRSTSEEN_ARCHIVE instead of --archive.
    let mut cmd = assert_cmd::Command::cargo_bin("firstseen").unwrap();
    cmd.env("FIRSTSEEN_ARCHIVE", t.dir())
        .args(["archive", "--no-copy", "--json", rocket.to_str().unwrap()])
        .assert()
        .code(0);
    assert_eq!(t.object_count(), 0);
    let shown = t.json(["show", &sha256_of(&rocket)], 0);
    assert_eq!(shown["item"]["stored"], false);
    assert!(shown["object"].is_null());
    // Archived again with copying: the bytes are now kept.
    t.json(["archive".as_ref(), rocket.as_os_str()], 0);
    assert_eq!(t.object_count(), 1);
    let shown = t.json(["show", &sha256_of(&rocket)], 0);
    assert_eq!(shown["item"]["stored"], true);
}

#[test]
fn interrupted_batch_leaves_a_consistent_archive() {
    let Some(shared) = crate::util::shared() else {
        println!("SKIPPED: ../shared/corpus/photos not found (set FIRSTSEEN_SHARED to run)");
        return;
    };
    let t = TestArchive::new();
    let bin = assert_cmd::cargo::cargo_bin("firstseen");
    let child = std::process::Command::new(bin)
        .arg("--archive")
        .arg(t.dir())
        .arg("archive")
        .arg(shared.join("corpus/photos"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        code == Some(130) || code == Some(0),
        "exit {code:?}, stderr: {stderr}"
    );
    if code == Some(130) {
        assert!(stderr.contains("interrupted"), "{stderr}");
    }
    // Whatever was reached is whole: one object per item, no temp files.
    let items = t.json(["log"], 0)["sightings"].as_array().unwrap().len();
    assert_eq!(t.object_count(), items);
    assert_eq!(std::fs::read_dir(t.dir().join("tmp")).unwrap().count(), 0);
    println!("interrupted after {items} of 31 photos (exit {code:?})");
}

#[test]
fn implausible_dates_and_oversized_text_are_refused_before_any_work() {
    let t = TestArchive::new();
    let rocket = sample("skimage-rocket.jpg");
    let rocket = rocket.to_str().unwrap();
    for date in ["0000-01-01", "1825-12-31T23:00:00Z", "2999-01-01"] {
        let out = t
            .cmd(["archive", rocket, "--first-seen", date])
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        let want = if date.starts_with("2999") {
            "future"
        } else {
            "before 1826"
        };
        assert!(err.contains(want) && err.contains(date), "{date}: {err}");
    }
    // An old but plausible date is accepted.
    t.cmd(["archive", rocket, "--first-seen", "1900-01-01T00:00:00Z"])
        .assert()
        .code(0);
    let long_caption = "x".repeat((64 << 10) + 1);
    let long_source = format!("https://example.org/{}", "y".repeat(16 << 10));
    for (flag, value) in [("--caption", &long_caption), ("--source", &long_source)] {
        let out = t.cmd(["archive", rocket, flag, value]).assert().code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains(flag) && err.contains("exceeds the limit"),
            "{err}"
        );
    }
    // Nothing was archived by the refused runs (1900 was accepted).
    let log = t.json(["log"], 0);
    assert_eq!(log["sightings"].as_array().unwrap().len(), 1, "{log:#}");
}

#[test]
fn bidi_and_zero_width_characters_are_made_visible() {
    let t = TestArchive::new();
    let photo = sample("skimage-chelsea.png");
    let caption = "Cat photo \u{202E}gpj.exe\u{202C} and a hid\u{200B}den word";
    t.json(
        [
            "archive".as_ref(),
            photo.as_os_str(),
            "--caption".as_ref(),
            caption.as_ref(),
        ],
        0,
    );
    let check = t
        .cmd(["check".as_ref(), photo.as_os_str()])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&check.get_output().stdout).to_string();
    assert!(
        text.contains("[U+202E]gpj.exe[U+202C]") && text.contains("hid[U+200B]den"),
        "{text}"
    );
    assert!(!text.contains('\u{202E}') && !text.contains('\u{200B}'));
    for format in ["md", "html"] {
        let out = t
            .cmd([
                "report".as_ref(),
                photo.as_os_str(),
                "--format".as_ref(),
                format.as_ref(),
            ])
            .assert()
            .code(0);
        let r = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(
            !r.contains('\u{202E}') && !r.contains('\u{200B}'),
            "{format}"
        );
        assert!(r.contains("U+202E"), "{format}: {r}");
    }
    // JSON keeps the caption exactly as recorded.
    let v = t.json(["check".as_ref(), photo.as_os_str()], 0);
    assert_eq!(v["files"][0]["matches"][0]["earliest"]["caption"], caption);
}

#[test]
fn a_missing_path_is_listed_as_failed_in_json() {
    let t = TestArchive::new();
    archive_samples(&t);
    let photo = sample("skimage-rocket.jpg");
    for command in ["check", "archive"] {
        let v = t.json(
            [
                command.as_ref(),
                "/nonexistent/missing.jpg".as_ref(),
                photo.as_os_str(),
            ],
            2,
        );
        let files = v["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{command}: {v:#}");
        assert_eq!(files[0]["status"], "failed");
        assert_eq!(files[0]["path"], "/nonexistent/missing.jpg");
        assert!(files[0]["error"].as_str().unwrap().contains("missing.jpg"));
        assert_eq!(v["summary"]["failed"], 1);
    }
}

#[test]
fn export_never_replaces_a_link_or_a_device() {
    let t = TestArchive::new();
    archive_samples(&t);
    let target = t.scratch().join("precious.txt");
    std::fs::write(&target, "keep me").unwrap();
    let link = t.scratch().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for out in [link.as_os_str(), "/dev/null".as_ref()] {
        let o = t
            .cmd(["export".as_ref(), "-o".as_ref(), out])
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&o.get_output().stderr).to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // A regular file is replaced as before.
    let plain = t.scratch().join("m.jsonl");
    std::fs::write(&plain, "old").unwrap();
    t.cmd(["export".as_ref(), "-o".as_ref(), plain.as_os_str()])
        .assert()
        .code(0);
    assert!(
        std::fs::read_to_string(&plain)
            .unwrap()
            .starts_with("{\"format\"")
    );
}

/// `hash` (which decodes only what the hashes need) and `archive` /
/// `check` (which also decode for local features) hash the same picture
/// of a JPEG, whichever reduced decode its size calls for; the stored
/// size is the real one.
#[test]
fn hash_and_archive_agree_on_reduced_jpeg_decodes() {
    use firstseen::analyze::{analyze_file, hash_file};
    use firstseen::decode::{JpegPlan, Limits, jpeg_plan};
    let t = TestArchive::new();
    let big = t.scratch().join("big.jpg");
    let photo = image::open(sample("mate-FreshFlower.jpg")).unwrap();
    save(
        &photo.resize_exact(3000, 2600, FilterType::Triangle),
        &big,
        90,
    );
    let limits = Limits::default();
    for (path, plan) in [
        (sample("mate-FreshFlower.jpg"), JpegPlan::HashScaled),
        (big.clone(), JpegPlan::DetailScaled),
        (sample("skimage-camera.png"), JpegPlan::Full),
    ] {
        assert_eq!(
            jpeg_plan(&std::fs::read(&path).unwrap()),
            plan,
            "{}",
            path.display()
        );
        let h = hash_file(&path, &limits).unwrap();
        let a = analyze_file(&path, &limits).unwrap();
        assert_eq!(h.fingerprint.pdq, a.fingerprint.pdq, "{}", path.display());
        assert_eq!(
            h.fingerprint.phash,
            a.fingerprint.phash,
            "{}",
            path.display()
        );
        assert_eq!(
            h.fingerprint.dhash,
            a.fingerprint.dhash,
            "{}",
            path.display()
        );
        assert_eq!((h.width, h.height), (a.width, a.height));
    }
    let a = analyze_file(&big, &limits).unwrap();
    assert_eq!((a.width, a.height), (3000, 2600));
    assert!(a.features.as_ref().is_some_and(|f| f.source_width == 3000));
}
