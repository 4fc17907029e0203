//! The forms in which pictures circulate — crops, small rotations,
//! banners, stickers, screenshots of posts — are found, confirmed and
//! described, and never attributed to the wrong photo. The edits are the
//! bench's (`bench/edits.rs`: the list and more), made here from
//! the sample photos so the test stands alone; `bench/match_quality`
//! runs them over the whole corpus.

use image::imageops;
use image::{DynamicImage, RgbImage};
use serde_json::Value;

use crate::util::{TestArchive, sample, save, sha256_of};

#[path = "../../bench/edits.rs"]
pub(crate) mod edits;

/// Photos archived; the edits are made of the first three.
const ARCHIVED: &[&str] = &[
    "mate-GreenMeadow.jpg",
    "skimage-chelsea.png",
    "skimage-rocket.jpg",
    "mate-FreshFlower.jpg",
    "skimage-camera.png",
    "pillow-flower.jpg",
];

/// The kind of edit `check` must name when local features confirm the
/// copy made by the bench edit `name` ("" when any description will do).
fn expected_edit(name: &str) -> &'static str {
    match name {
        n if n.contains("screen at an angle") => "perspective",
        n if n.contains("crop") && !n.contains("rotate") => "cropped",
        n if n.starts_with("rotate 5") || n.contains("canvas expanded") => "rotated",
        n if n.contains("screenshot") || n.contains("collage") => "inside",
        _ => "",
    }
}

#[test]
fn circulating_edits_are_confirmed_and_described() {
    let t = TestArchive::new();
    let mut args = vec!["archive".to_string()];
    args.extend(ARCHIVED.iter().map(|n| sample(n).display().to_string()));
    let v = t.json(&args, 0);
    assert_eq!(v["summary"]["new_items"], ARCHIVED.len() as u64, "{v:#}");

    let s = t.scratch();
    let photos: Vec<_> = ARCHIVED[..3].iter().map(|n| sample(n)).collect();
    let images: Vec<RgbImage> = photos
        .iter()
        .map(|p| image::open(p).unwrap().to_rgb8())
        .collect();
    let mut files = Vec::new();
    let mut want = Vec::new();
    for (i, img) in images.iter().enumerate() {
        for (k, (edit, f)) in edits::all().into_iter().enumerate() {
            let path = s.join(format!("e{k:02}-{i}.jpg"));
            std::fs::write(&path, edits::jpeg_bytes(&f(img, &images, i), 88)).unwrap();
            files.push(path.display().to_string());
            // A collage also rightly shows the photo beside it.
            let also = edit
                .contains("collage")
                .then(|| sha256_of(&photos[(i + 7) % photos.len()]));
            want.push((sha256_of(&photos[i]), also, edit, ARCHIVED[i]));
        }
    }
    let mut args = vec!["check".to_string()];
    args.extend(files.iter().cloned());
    let out = t.json(&args, 0);
    let checked = out["files"].as_array().unwrap();
    assert_eq!(checked.len(), want.len());
    for (f, (sha, also, edit, name)) in checked.iter().zip(&want) {
        let m = f["matches"].as_array().unwrap();
        assert!(!m.is_empty(), "{edit} of {name} not found: {f:#}");
        // Only the right photo, never another one.
        assert!(
            m.iter().all(|x| x["item"]["sha256"] == sha.as_str()
                || also.as_deref() == x["item"]["sha256"].as_str()),
            "{edit} of {name} matched another photo: {f:#}"
        );
        let best = m
            .iter()
            .find(|x| x["item"]["sha256"] == sha.as_str())
            .unwrap();
        let kind = expected_edit(edit);
        if !kind.is_empty() && best["evidence"] == "features" {
            let edits: Vec<&str> = best["edits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["edit"].as_str().unwrap())
                .collect();
            assert!(
                edits.contains(&kind),
                "{edit} of {name}: {edits:?} in {f:#}"
            );
        }
    }
}

#[test]
fn rotation_and_crop_are_said_plainly() {
    let t = TestArchive::new();
    let photo = sample("mate-GreenMeadow.jpg");
    t.json(["archive".as_ref(), photo.as_os_str()], 0);
    let img = image::open(&photo).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    let corner = imageops::crop_imm(&img, 0, 0, w * 62 / 100, h * 80 / 100).to_image();
    let p = t.scratch().join("corner.jpg");
    save(&DynamicImage::ImageRgb8(corner), &p, 90);
    let v: Value = t.json(["check".as_ref(), p.as_os_str()], 0);
    let change = v["files"][0]["matches"][0]["change"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        change.contains("cropped to its left 62% and top 80%"),
        "{change}"
    );

    let turned = edits::rotate_degrees(&img, 4.0);
    let p = t.scratch().join("turned.jpg");
    save(&DynamicImage::ImageRgb8(turned), &p, 90);
    let out = t.cmd(["check".as_ref(), p.as_os_str()]).assert().code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("rotated 4° clockwise"), "{text}");
    assert!(text.contains("confirmed by local features"), "{text}");
}

#[test]
fn screenshots_of_other_photos_are_not_matched() {
    // Two screenshots in the same app frame share their chrome; a photo
    // archived as a screenshot must not match another photo's screenshot.
    let t = TestArchive::new();
    let a = image::open(sample("mate-GreenMeadow.jpg"))
        .unwrap()
        .to_rgb8();
    let b = image::open(sample("skimage-camera.png")).unwrap().to_rgb8();
    let s = t.scratch();
    let shot_a = s.join("shot-a.jpg");
    let shot_b = s.join("shot-b.jpg");
    save(
        &DynamicImage::ImageRgb8(edits::screenshot(&a, 1, false)),
        &shot_a,
        90,
    );
    save(
        &DynamicImage::ImageRgb8(edits::screenshot(&b, 2, false)),
        &shot_b,
        90,
    );
    t.json(["archive".as_ref(), shot_a.as_os_str()], 0);
    let v = t.json(["check".as_ref(), shot_b.as_os_str()], 1);
    assert_eq!(v["files"][0]["matches"], serde_json::json!([]), "{v:#}");
    // …while the photo itself is found inside the archived screenshot.
    let p = s.join("a.jpg");
    save(&DynamicImage::ImageRgb8(a), &p, 90);
    t.json(["check".as_ref(), p.as_os_str()], 0);
}

#[test]
fn a_second_photo_of_the_same_scene_is_not_the_archived_picture() {
    // The two views of a stereo pair (tests/fixtures/same-scene): much
    // of the scene agrees, but the nearer things have moved against the
    // farther ones. No edit does that; the second view is a new photo.
    let t = TestArchive::new();
    let dir = crate::util::repo().join("tests/fixtures/same-scene");
    let left = dir.join("stereo-aloe-a.jpg");
    let right = dir.join("stereo-aloe-b.jpg");
    t.json(["archive".as_ref(), left.as_os_str()], 0);
    let v = t.json(["check".as_ref(), right.as_os_str()], 1);
    assert_eq!(v["files"][0]["matches"], serde_json::json!([]), "{v:#}");
    // Crops and smaller copies of the archived view are still found.
    let img = image::open(&left).unwrap();
    let s = t.scratch();
    let crop = s.join("crop.jpg");
    let (w, h) = (img.width(), img.height());
    save(
        &img.crop_imm(w / 10, h / 10, w * 3 / 4, h * 4 / 5),
        &crop,
        80,
    );
    let small = s.join("small.jpg");
    save(
        &img.resize(w / 2, h / 2, imageops::FilterType::Triangle),
        &small,
        60,
    );
    for f in [&crop, &small] {
        let v = t.json(["check".as_ref(), f.as_os_str()], 0);
        assert_eq!(
            v["files"][0]["matches"][0]["item"]["sha256"].as_str(),
            Some(sha256_of(&left).as_str()),
            "{v:#}"
        );
    }
}

#[test]
fn a_photo_of_a_screen_whose_corners_change_under_the_angle_is_found_straightened() {
    // Two corpus photos on a monitor seen from the side (the bench's
    // edit, with the seeds the bench gives them): glare, blur and the
    // angle change their corners too much to pair as they are; the
    // screen's outline is found and the picture inside looked at
    // straight on.
    let Some(shared) = crate::util::shared() else {
        eprintln!("SKIPPED: ../shared is not present (set FIRSTSEEN_SHARED)");
        return;
    };
    let t = TestArchive::new();
    let s = t.scratch();
    for (name, seed) in [
        ("lomiri-friends_by_Aitzol_Berasategi.jpg", 4),
        ("mate-Dune.jpg", 8),
    ] {
        let photo = shared.join("corpus/photos").join(name);
        t.json(["archive".as_ref(), photo.as_os_str()], 0);
        let img = image::open(&photo).unwrap().to_rgb8();
        let shot = s.join(format!("screen-{seed}.jpg"));
        std::fs::write(
            &shot,
            edits::jpeg_bytes(&edits::screen_photo(&img, seed), 88),
        )
        .unwrap();
        let v = t.json(["check".as_ref(), shot.as_os_str()], 0);
        let m = &v["files"][0]["matches"][0];
        assert_eq!(m["item"]["sha256"], sha256_of(&photo).as_str(), "{v:#}");
        assert!(m["alignment"]["perspective"].is_array(), "{v:#}");
    }
}
