//! The forms in which pictures circulate — crops, small rotations,
//! banners, stickers, screenshots of posts — are found, confirmed and
//! described, and never attributed to the wrong photo. Edits are made
//! here from the sample photos, so the test stands alone; the bench
//! (`bench/match_quality`) runs the same kinds over the whole corpus.

use image::imageops::{self, FilterType};
use image::{DynamicImage, Rgb, RgbImage};
use serde_json::Value;

use crate::util::{TestArchive, sample, save, sha256_of};

/// Photos archived; the edits are made of the first three.
const ARCHIVED: &[&str] = &[
    "mate-GreenMeadow.jpg",
    "skimage-chelsea.png",
    "skimage-rocket.jpg",
    "mate-FreshFlower.jpg",
    "skimage-camera.png",
    "pillow-flower.jpg",
];

fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, c: Rgb<u8>) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, c);
        }
    }
}

/// Marks shaped like a line of text.
fn text_line(img: &mut RgbImage, x: u32, y: u32, px: u32, c: Rgb<u8>, seed: u32) {
    let cell = (px / 7).max(1);
    for k in 0..30u32 {
        let shape = (seed.wrapping_mul(2_654_435_761) ^ k.wrapping_mul(40_503)) >> 3;
        if shape.is_multiple_of(7) {
            continue;
        }
        for gy in 0..7 {
            for gx in 0..5 {
                if shape >> ((gy * 5 + gx) % 29) & 1 == 1 || gx == 0 {
                    fill(
                        img,
                        x + k * cell * 6 + gx * cell,
                        y + gy * cell,
                        cell,
                        cell,
                        c,
                    );
                }
            }
        }
    }
}

fn rotate(im: &RgbImage, deg: f64) -> RgbImage {
    let (w, h) = im.dimensions();
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
        let sx = c * dx + s * dy + cx;
        let sy = -s * dx + c * dy + cy;
        if sx < 0.0 || sy < 0.0 || sx >= f64::from(w) || sy >= f64::from(h) {
            Rgb([0, 0, 0])
        } else {
            *im.get_pixel(sx as u32, sy as u32)
        }
    })
}

/// A 1080×2340 phone screenshot: status bar, header, the photo across
/// the width, a caption.
fn screenshot(im: &RgbImage) -> RgbImage {
    let mut out = RgbImage::from_pixel(1080, 2340, Rgb([255, 255, 255]));
    text_line(&mut out, 40, 30, 35, Rgb([0, 0, 0]), 1);
    text_line(&mut out, 160, 160, 35, Rgb([0, 0, 0]), 2);
    let ph = im.height() * 1080 / im.width();
    let pic = imageops::resize(im, 1080, ph, FilterType::Triangle);
    imageops::overlay(&mut out, &pic, 0, 260);
    for line in 0..3 {
        text_line(
            &mut out,
            40,
            300 + ph + line * 60,
            34,
            Rgb([20, 20, 20]),
            3 + line,
        );
    }
    out
}

type Edit = (&'static str, fn(&RgbImage) -> RgbImage, &'static str);

/// Each edit, and the kind of edit `check` must report for it.
fn edits() -> Vec<Edit> {
    vec![
        (
            "crop-70",
            |im| {
                let (w, h) = im.dimensions();
                let (cw, ch) = (w * 837 / 1000, h * 837 / 1000);
                imageops::crop_imm(im, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
            },
            "cropped",
        ),
        (
            "crop-corner",
            |im| {
                let (w, h) = im.dimensions();
                imageops::crop_imm(im, 0, 0, w * 62 / 100, h * 80 / 100).to_image()
            },
            "cropped",
        ),
        ("rotate-5", |im| rotate(im, 5.0), "rotated"),
        (
            "banner-15",
            |im| {
                let mut out = im.clone();
                let (w, h) = im.dimensions();
                let bh = h * 15 / 100;
                fill(&mut out, 0, h - bh, w, bh, Rgb([200, 20, 30]));
                text_line(
                    &mut out,
                    w / 20,
                    h - bh + bh / 3,
                    (bh / 3).max(7),
                    Rgb([255, 255, 255]),
                    9,
                );
                out
            },
            "",
        ),
        ("screenshot", screenshot, "inside"),
        (
            "mirror-crop",
            |im| {
                let (w, h) = im.dimensions();
                let c = imageops::crop_imm(im, w / 10, 0, w * 8 / 10, h).to_image();
                imageops::flip_horizontal(&c)
            },
            "mirrored",
        ),
    ]
}

#[test]
fn circulating_edits_are_confirmed_and_described() {
    let t = TestArchive::new();
    let mut args = vec!["archive".to_string()];
    args.extend(ARCHIVED.iter().map(|n| sample(n).display().to_string()));
    let v = t.json(&args, 0);
    assert_eq!(v["summary"]["new_items"], ARCHIVED.len() as u64, "{v:#}");

    let s = t.scratch();
    let mut files = Vec::new();
    let mut want = Vec::new();
    for name in &ARCHIVED[..3] {
        let photo = sample(name);
        let img = image::open(&photo).unwrap().to_rgb8();
        for (edit, f, kind) in edits() {
            let path = s.join(format!("{edit}-{name}.jpg"));
            save(&DynamicImage::ImageRgb8(f(&img)), &path, 88);
            files.push(path.display().to_string());
            want.push((sha256_of(&photo), edit, kind, name));
        }
    }
    let mut args = vec!["check".to_string()];
    args.extend(files.iter().cloned());
    let out = t.json(&args, 0);
    let checked = out["files"].as_array().unwrap();
    assert_eq!(checked.len(), want.len());
    for (f, (sha, edit, kind, name)) in checked.iter().zip(&want) {
        let m = f["matches"].as_array().unwrap();
        assert!(!m.is_empty(), "{edit} of {name} not found: {f:#}");
        // Only the right photo, never another one.
        assert!(
            m.iter().all(|x| x["item"]["sha256"] == sha.as_str()),
            "{edit} of {name} matched another photo: {f:#}"
        );
        let evidence = m[0]["evidence"].as_str().unwrap();
        assert_ne!(evidence, "phash-dhash");
        if !kind.is_empty() && evidence == "features" {
            let edits: Vec<&str> = m[0]["edits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["edit"].as_str().unwrap())
                .collect();
            assert!(edits.contains(kind), "{edit} of {name}: {edits:?} in {f:#}");
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

    let turned = rotate(&img, 4.0);
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
    save(&DynamicImage::ImageRgb8(screenshot(&a)), &shot_a, 90);
    save(&DynamicImage::ImageRgb8(screenshot(&b)), &shot_b, 90);
    t.json(["archive".as_ref(), shot_a.as_os_str()], 0);
    let v = t.json(["check".as_ref(), shot_b.as_os_str()], 1);
    assert_eq!(v["files"][0]["matches"], serde_json::json!([]), "{v:#}");
    // …while the photo itself is found inside the archived screenshot.
    let p = s.join("a.jpg");
    save(&DynamicImage::ImageRgb8(a), &p, 90);
    t.json(["check".as_ref(), p.as_os_str()], 0);
}
