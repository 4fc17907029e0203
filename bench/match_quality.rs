//! Match quality: how many edited copies of real photos `check` finds,
//! how many of those are confirmed, and how often it reports the wrong
//! photo.
//!
//! Run: `bench/match_quality [CORPUS] [--pairs N] [--markdown]` (or
//! `cargo bench --bench match_quality -- …`). CORPUS is a folder of
//! photos, default `$FIRSTSEEN_SHARED/corpus` or `../shared/corpus`
//! (`photos/` and, for negatives, `video/`).
//!
//! 1. The photos are archived into a fresh archive with the library's
//!    archive job, exactly as `firstseen archive` does.
//! 2. Every edit below is applied to every photo, written as a JPEG, and
//!    the copies are checked with the library's check job, exactly as
//!    `firstseen check` does. Per edit: found (the right item reported),
//!    confirmed (by PDQ, SHA-256 or verification — `check` reports no
//!    unconfirmed tier), wrong (another item reported).
//! 3. The false-match rate is estimated on pairs of different images: the
//!    photos, tiles and crops of them, and frames of the videos (with
//!    their tiles), each pair run through the same two stages the matcher
//!    uses (PDQ radius and feature verification).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use firstseen::analyze::{Analysis, analyze_bytes};
use firstseen::decode::{self, Limits};
use firstseen::hash::Sha256;
use firstseen::matching::{self, Index, Thresholds};
use firstseen::pipeline::{self, ArchiveOptions, CheckOutcome, NoProgress, Options};
use firstseen::store::{Archive, IndexedHash, ItemId, NewSighting};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, Rgb, RgbImage};
use rayon::prelude::*;

type EditFn = fn(&RgbImage, &[RgbImage], usize) -> RgbImage;

/// Every edit: name, what it does, and the function.
fn edits() -> Vec<(&'static str, EditFn)> {
    vec![
        ("resize 50%", |im, _, _| scale(im, 0.5)),
        ("resize 25%", |im, _, _| scale(im, 0.25)),
        ("JPEG q30", |im, _, _| jpeg_round_trip(im, 30)),
        ("JPEG q70", |im, _, _| jpeg_round_trip(im, 70)),
        ("centre crop 90% of area", |im, _, _| {
            centre_crop(im, 0.9f64.sqrt())
        }),
        ("centre crop 70% of area", |im, _, _| {
            centre_crop(im, 0.7f64.sqrt())
        }),
        ("mirror", |im, _, _| imageops::flip_horizontal(im)),
        ("rotate 90°", |im, _, _| imageops::rotate90(im)),
        ("rotate 5° (canvas kept)", |im, _, _| {
            rotate_degrees(im, 5.0)
        }),
        ("10% white border", |im, _, _| {
            border(im, 0.1, Rgb([255, 255, 255]))
        }),
        ("text banner, bottom 15%", |im, _, i| banner(im, 0.15, i)),
        ("grayscale", |im, _, _| {
            DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(im.clone()).to_luma8()).to_rgb8()
        }),
        ("Gaussian blur r=2", |im, _, _| imageops::blur(im, 2.0)),
        ("brightness +30%", |im, _, _| brighten(im, 1.3)),
        ("phone screenshot", |im, _, i| screenshot(im, i, false)),
        // Beyond the list: what circulates on social media.
        ("off-centre crop (top left 60%)", |im, _, _| {
            let (w, h) = im.dimensions();
            let s = 0.6f64.sqrt();
            imageops::crop_imm(
                im,
                w / 20,
                h / 20,
                (f64::from(w) * s) as u32,
                (f64::from(h) * s) as u32,
            )
            .to_image()
        }),
        ("4:5 portrait crop", |im, _, _| portrait_crop(im)),
        ("rotate -3°, cropped straight", |im, _, _| {
            centre_crop(&rotate_degrees(im, -3.0), 0.86)
        }),
        ("stickers over corners", |im, _, i| stickers(im, i)),
        ("meme captions top and bottom", |im, _, i| meme(im, i)),
        ("dark-mode screenshot, small", |im, _, i| {
            screenshot(im, i, true)
        }),
        ("side-by-side collage", |im, others, i| {
            collage(im, &others[(i + 7) % others.len()])
        }),
        ("watermark text", |im, _, i| watermark(im, i)),
        ("forwarded (30%, q20)", |im, _, _| {
            jpeg_round_trip(&scale(im, 0.3), 20)
        }),
        ("stretched 10% wider", |im, _, _| {
            let (w, h) = im.dimensions();
            imageops::resize(im, w * 11 / 10, h, FilterType::Triangle)
        }),
        ("warmer colours, more contrast", |im, _, _| colour_grade(im)),
        ("screenshot of a screenshot", |im, _, i| {
            jpeg_round_trip(&scale(&screenshot(im, i, false), 0.5), 60)
        }),
    ]
}

fn scale(im: &RgbImage, f: f64) -> RgbImage {
    let (w, h) = im.dimensions();
    let nw = ((f64::from(w) * f).round() as u32).max(8);
    let nh = ((f64::from(h) * f).round() as u32).max(8);
    imageops::resize(im, nw, nh, FilterType::Lanczos3)
}

fn jpeg_bytes(im: &RgbImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, q)
        .encode_image(im)
        .expect("JPEG encoding in memory");
    out
}

fn jpeg_round_trip(im: &RgbImage, q: u8) -> RgbImage {
    image::load_from_memory(&jpeg_bytes(im, q))
        .expect("own JPEG decodes")
        .to_rgb8()
}

fn centre_crop(im: &RgbImage, linear: f64) -> RgbImage {
    let (w, h) = im.dimensions();
    let cw = (f64::from(w) * linear).round() as u32;
    let ch = (f64::from(h) * linear).round() as u32;
    imageops::crop_imm(im, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

fn portrait_crop(im: &RgbImage) -> RgbImage {
    let (w, h) = im.dimensions();
    let target_w = (h * 4 / 5).min(w);
    let target_h = (target_w * 5 / 4).min(h);
    imageops::crop_imm(
        im,
        (w - target_w) / 2,
        (h - target_h) / 2,
        target_w,
        target_h,
    )
    .to_image()
}

/// Rotates about the centre, keeping the canvas; uncovered corners black.
fn rotate_degrees(im: &RgbImage, deg: f64) -> RgbImage {
    let (w, h) = im.dimensions();
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let dx = f64::from(x) + 0.5 - cx;
        let dy = f64::from(y) + 0.5 - cy;
        // Inverse rotation: where this output pixel comes from.
        let sx = c * dx + s * dy + cx - 0.5;
        let sy = -s * dx + c * dy + cy - 0.5;
        bilinear(im, sx, sy).unwrap_or(Rgb([0, 0, 0]))
    })
}

fn bilinear(im: &RgbImage, x: f64, y: f64) -> Option<Rgb<u8>> {
    let (w, h) = im.dimensions();
    if x < 0.0 || y < 0.0 || x > f64::from(w - 1) || y > f64::from(h - 1) {
        return None;
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - f64::from(x0), y - f64::from(y0));
    let mut out = [0u8; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let p = |xx, yy| f64::from(im.get_pixel(xx, yy).0[k]);
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bot = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        *o = (top * (1.0 - fy) + bot * fy).round() as u8;
    }
    Some(Rgb(out))
}

fn border(im: &RgbImage, share: f64, colour: Rgb<u8>) -> RgbImage {
    let (w, h) = im.dimensions();
    let b = (f64::from(w) * share).round() as u32;
    let mut out = RgbImage::from_pixel(w + 2 * b, h + 2 * b, colour);
    imageops::overlay(&mut out, im, i64::from(b), i64::from(b));
    out
}

fn brighten(im: &RgbImage, f: f64) -> RgbImage {
    let mut out = im.clone();
    for p in out.pixels_mut() {
        for c in &mut p.0 {
            *c = (f64::from(*c) * f).min(255.0) as u8;
        }
    }
    out
}

fn colour_grade(im: &RgbImage) -> RgbImage {
    let mut out = im.clone();
    for p in out.pixels_mut() {
        let [r, g, b] = p.0.map(f64::from);
        let con = |v: f64| ((v - 128.0) * 1.25 + 128.0).clamp(0.0, 255.0);
        p.0 = [
            con(r * 1.08 + 10.0) as u8,
            con(g) as u8,
            con(b * 0.88) as u8,
        ];
    }
    out
}

/// A tiny generator so edits are the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Draws a line of text-like glyphs (5×7 cells, random but fixed
/// shapes, spaces between words) `px` pixels high.
fn text(img: &mut RgbImage, x: u32, y: u32, px: u32, chars: usize, colour: Rgb<u8>, seed: u64) {
    let mut rng = Rng(seed);
    let cell = (px / 7).max(1);
    let mut cx = x;
    for i in 0..chars {
        if i % (3 + (seed as usize + i) % 6) == 5 || rng.below(7) == 0 {
            cx += cell * 4;
            continue;
        }
        let glyph = rng.next();
        for gy in 0..7 {
            for gx in 0..5 {
                if glyph >> (gy * 5 + gx) & 1 == 1 || (gx == 0 && gy > 1) {
                    fill(img, cx + gx * cell, y + gy * cell, cell, cell, colour);
                }
            }
        }
        cx += cell * 6;
        if cx + cell * 6 >= img.width() {
            break;
        }
    }
}

fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, colour: Rgb<u8>) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, colour);
        }
    }
}

fn disc(img: &mut RgbImage, cx: i64, cy: i64, r: i64, colour: Rgb<u8>) {
    for y in (cy - r).max(0)..(cy + r).min(i64::from(img.height())) {
        for x in (cx - r).max(0)..(cx + r).min(i64::from(img.width())) {
            if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                img.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}

fn banner(im: &RgbImage, share: f64, seed: usize) -> RgbImage {
    let mut out = im.clone();
    let (w, h) = im.dimensions();
    let bh = (f64::from(h) * share).round() as u32;
    fill(&mut out, 0, h - bh, w, bh, Rgb([180, 20, 30]));
    let line = (bh / 3).max(7);
    text(
        &mut out,
        w / 30,
        h - bh + bh / 2 - line / 2,
        line,
        40,
        Rgb([255, 255, 255]),
        seed as u64,
    );
    out
}

fn meme(im: &RgbImage, seed: usize) -> RgbImage {
    let mut out = im.clone();
    let (w, h) = im.dimensions();
    let line = (h / 14).max(7);
    text(
        &mut out,
        w / 12,
        h / 40,
        line,
        18,
        Rgb([255, 255, 255]),
        seed as u64 + 1,
    );
    text(
        &mut out,
        w / 10,
        h - line - h / 40,
        line,
        18,
        Rgb([255, 255, 255]),
        seed as u64 + 2,
    );
    out
}

fn watermark(im: &RgbImage, seed: usize) -> RgbImage {
    let (w, h) = im.dimensions();
    let mut layer = RgbImage::from_pixel(w, h, Rgb([0, 0, 0]));
    let line = (h / 12).max(7);
    text(
        &mut layer,
        w / 8,
        h / 2 - line / 2,
        line,
        14,
        Rgb([255, 255, 255]),
        seed as u64 + 9,
    );
    let mut out = im.clone();
    for (o, m) in out.pixels_mut().zip(layer.pixels()) {
        if m.0[0] > 0 {
            for c in &mut o.0 {
                *c = ((u16::from(*c) + 2 * 255) / 3) as u8;
            }
        }
    }
    out
}

fn stickers(im: &RgbImage, seed: usize) -> RgbImage {
    let mut out = im.clone();
    let (w, h) = im.dimensions();
    let r = i64::from(w.min(h) / 9);
    let (w, h) = (i64::from(w), i64::from(h));
    disc(&mut out, w - r * 3 / 2, r * 3 / 2, r, Rgb([255, 210, 0]));
    disc(&mut out, w - r * 2, r * 5 / 4, r / 6, Rgb([40, 20, 0]));
    disc(&mut out, w - r, r * 5 / 4, r / 6, Rgb([40, 20, 0]));
    disc(
        &mut out,
        r * 3 / 2,
        h - r * 3 / 2,
        r * 4 / 5,
        Rgb([230, 30, 90]),
    );
    let line = (r / 2).max(7) as u32;
    text(
        &mut out,
        (r / 2) as u32,
        (h - r / 2 - i64::from(line)) as u32,
        line,
        6,
        Rgb([255, 255, 255]),
        seed as u64,
    );
    out
}

fn collage(im: &RgbImage, other: &RgbImage) -> RgbImage {
    let h = 800;
    let a = imageops::resize(
        im,
        (im.width() * h / im.height()).max(1),
        h,
        FilterType::Triangle,
    );
    let b = imageops::resize(
        other,
        (other.width() * h / other.height()).max(1),
        h,
        FilterType::Triangle,
    );
    let mut out = RgbImage::from_pixel(a.width() + b.width() + 12, h, Rgb([255, 255, 255]));
    imageops::overlay(&mut out, &a, 0, 0);
    imageops::overlay(&mut out, &b, i64::from(a.width()) + 12, 0);
    out
}

/// A phone screenshot of a post: 1080×2340, status bar, app header,
/// the photo across the width (or inside margins), caption and buttons.
fn screenshot(im: &RgbImage, seed: usize, dark: bool) -> RgbImage {
    let (bg, fg, sub) = if dark {
        (
            Rgb([16, 18, 22]),
            Rgb([235, 235, 235]),
            Rgb([130, 130, 140]),
        )
    } else {
        (
            Rgb([255, 255, 255]),
            Rgb([20, 20, 20]),
            Rgb([120, 120, 120]),
        )
    };
    let mut out = RgbImage::from_pixel(1080, 2340, bg);
    let s = seed as u64 * 31;
    // Status bar: time, signal, battery.
    text(&mut out, 50, 30, 35, 5, fg, s);
    fill(&mut out, 900, 34, 60, 28, fg);
    fill(&mut out, 830, 44, 12, 18, fg);
    fill(&mut out, 850, 38, 12, 24, fg);
    // App header: avatar, name, handle, menu.
    disc(&mut out, 90, 190, 50, Rgb([70, 120, 200]));
    text(&mut out, 170, 150, 35, 14, fg, s + 1);
    text(&mut out, 170, 200, 28, 18, sub, s + 2);
    fill(&mut out, 990, 180, 12, 12, fg);
    fill(&mut out, 1010, 180, 12, 12, fg);
    // The photo.
    let margin = if dark { 140 } else { 0 };
    let pw = 1080 - 2 * margin;
    let ph = (im.height() * pw / im.width()).clamp(1, 1500);
    let pic = imageops::resize(im, pw, ph, FilterType::Triangle);
    let top = 270;
    imageops::overlay(&mut out, &pic, i64::from(margin), top);
    // Buttons and caption.
    let below = top as u32 + ph + 30;
    for k in 0..4 {
        disc(&mut out, 70 + k * 110, i64::from(below) + 30, 26, sub);
    }
    for line in 0..3 {
        text(
            &mut out,
            40,
            below + 100 + line * 60,
            34,
            28,
            fg,
            s + 10 + u64::from(line),
        );
    }
    text(&mut out, 40, below + 300, 26, 12, sub, s + 20);
    out
}

fn corpus_dir(arg: Option<&str>) -> PathBuf {
    if let Some(a) = arg {
        return PathBuf::from(a);
    }
    if let Ok(s) = std::env::var("FIRSTSEEN_SHARED") {
        return Path::new(&s).join("corpus");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut corpus = None;
    let mut pairs_wanted: usize = 1_000_000;
    let mut markdown = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pairs" => {
                pairs_wanted = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(pairs_wanted)
            }
            "--markdown" => markdown = true,
            other => corpus = Some(other.to_string()),
        }
    }
    let corpus = corpus_dir(corpus.as_deref());
    let photos_dir = corpus.join("photos");
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&photos_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", photos_dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            std::fs::read(p)
                .ok()
                .and_then(|b| decode::sniff(&b))
                .is_some()
        })
        .collect();
    photos.sort();
    let limits = Limits::default();
    let images: Vec<RgbImage> = photos
        .iter()
        .map(|p| {
            let b = std::fs::read(p).expect("readable photo");
            decode::decode_image(&b, &limits)
                .expect("corpus photo decodes")
                .image
                .to_rgb8()
        })
        .collect();
    eprintln!("{} photos from {}", photos.len(), photos_dir.display());

    let tmp = tempfile::tempdir().expect("temp dir");
    let mut archive = Archive::create(&tmp.path().join("archive")).expect("archive");
    let stop = AtomicBool::new(false);
    let opts = ArchiveOptions {
        copy: false,
        sighting: NewSighting {
            source: Some("https://example.org/bench".into()),
            ..NewSighting::default()
        },
        ..ArchiveOptions::default()
    };
    let t = Instant::now();
    let mut shas: BTreeMap<PathBuf, Sha256> = BTreeMap::new();
    pipeline::archive(&mut archive, &photos, &opts, &NoProgress, &stop, &mut |o| {
        if let pipeline::ArchiveOutcome::Archived { path, sha256, .. } = o {
            shas.insert(path.clone(), *sha256);
        }
    })
    .expect("archiving the corpus");
    let archive_secs = t.elapsed().as_secs_f64();

    // Edited copies, written as JPEG q90 files.
    let edit_list = edits();
    let dir = tmp.path().join("edits");
    std::fs::create_dir_all(&dir).expect("edits dir");
    // A copy may rightly show two photos (a collage): both are expected.
    let mut expected: BTreeMap<PathBuf, (usize, Sha256, Option<Sha256>)> = BTreeMap::new();
    let jobs: Vec<(usize, usize)> = (0..edit_list.len())
        .flat_map(|e| (0..images.len()).map(move |i| (e, i)))
        .collect();
    let written: Vec<(PathBuf, usize, usize)> = jobs
        .par_iter()
        .map(|&(e, i)| {
            let edited = (edit_list[e].1)(&images[i], &images, i);
            let path = dir.join(format!("e{e:02}-i{i:02}.jpg"));
            std::fs::write(&path, jpeg_bytes(&edited, 90)).expect("write edit");
            (path, e, i)
        })
        .collect();
    for (path, e, i) in &written {
        let also = edit_list[*e]
            .0
            .contains("collage")
            .then(|| shas[&photos[(*i + 7) % photos.len()]]);
        expected.insert(path.clone(), (*e, shas[&photos[*i]], also));
    }
    let files: Vec<PathBuf> = written.iter().map(|w| w.0.clone()).collect();
    let t = Instant::now();
    let mut per_edit: Vec<[u64; 5]> = vec![[0; 5]; edit_list.len()]; // copies, found, by pdq, by features, wrong
    let mut misses: Vec<String> = Vec::new();
    pipeline::check(
        &archive,
        &files,
        &Options::default(),
        &NoProgress,
        &stop,
        &mut |o| {
            let CheckOutcome::Checked { path, matches, .. } = o else {
                if let CheckOutcome::Failed { path, error } = o {
                    eprintln!("failed: {}: {error}", path.display());
                }
                return;
            };
            let (e, want, also) = expected[path];
            let row = &mut per_edit[e];
            row[0] += 1;
            match matches.iter().find(|m| m.item.sha256 == want) {
                Some(m) => {
                    row[1] += 1;
                    if m.evidence == matching::Evidence::Features {
                        row[3] += 1;
                    } else {
                        row[2] += 1;
                    }
                }
                None => misses.push(format!("{}: {}", edit_list[e].0, path.display())),
            }
            if matches
                .iter()
                .any(|m| m.item.sha256 != want && Some(m.item.sha256) != also)
            {
                row[4] += 1;
                eprintln!("WRONG: {} {}", edit_list[e].0, path.display());
            }
        },
    )
    .expect("checking the edits");
    let check_secs = t.elapsed().as_secs_f64();

    let pct = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
    println!("| edit | copies | found | confirmed by PDQ | confirmed by features | wrong item |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut total = [0u64; 5];
    for (k, (name, _)) in edit_list.iter().enumerate() {
        let r = per_edit[k];
        for j in 0..5 {
            total[j] += r[j];
        }
        println!(
            "| {name} | {} | {:.0}% | {:.0}% | {:.0}% | {} |",
            r[0],
            pct(r[1], r[0]),
            pct(r[2], r[0]),
            pct(r[3], r[0]),
            r[4]
        );
    }
    println!(
        "| **all** | {} | {:.1}% | {:.1}% | {:.1}% | {} |",
        total[0],
        pct(total[1], total[0]),
        pct(total[2], total[0]),
        pct(total[3], total[0]),
        total[4]
    );
    println!();
    println!(
        "Every match `check` reports is confirmed (no unconfirmed tier). Archive: {} photos in {archive_secs:.1} s; check: {} copies in {check_secs:.1} s ({:.1} ms each, 2 threads).",
        photos.len(),
        files.len(),
        1000.0 * check_secs / files.len().max(1) as f64
    );
    if !markdown {
        for m in misses.iter().take(60) {
            eprintln!("missed: {m}");
        }
    }
    negatives(&corpus, &images, pairs_wanted);
}

/// One image of the negative set: its source (pairs from one source are
/// not "different images") and its analysis.
struct Negative {
    source: usize,
    analysis: Analysis,
}

fn negatives(corpus: &Path, photos: &[RgbImage], pairs_wanted: usize) {
    let t = Instant::now();
    let mut pictures: Vec<(usize, RgbImage)> = Vec::new();
    for (s, im) in photos.iter().enumerate() {
        for d in derived(im, s as u64) {
            pictures.push((s, d));
        }
    }
    let video_dir = corpus.join("video");
    // Videos whose names differ only after a '_' are versions of one
    // video (carphone_pristine, carphone_distorted): one source.
    let mut video_sources: Vec<String> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&video_dir) {
        let mut vids: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        vids.sort();
        for v in vids {
            let stem = v
                .file_stem()
                .map(|s| {
                    s.to_string_lossy()
                        .split('_')
                        .next()
                        .unwrap_or("")
                        .to_string()
                })
                .unwrap_or_default();
            let next_source = photos.len()
                + video_sources
                    .iter()
                    .position(|s| *s == stem)
                    .unwrap_or_else(|| {
                        video_sources.push(stem.clone());
                        video_sources.len() - 1
                    });
            let Ok(bytes) = std::fs::read(&v) else {
                continue;
            };
            let limits = Limits::default();
            let mut frames: Vec<RgbImage> = Vec::new();
            let r =
                decode::video::decode_video(&bytes, &limits.video, &limits.sampling, &mut |f| {
                    frames.push(f.image);
                    Ok(())
                });
            if r.is_err() || frames.is_empty() {
                continue;
            }
            // Frames of one video share a source: scenes repeat.
            let step = (frames.len() / 40).max(1);
            for f in frames.into_iter().step_by(step).take(40) {
                for d in derived(&f, next_source as u64).into_iter().take(5) {
                    pictures.push((next_source, d));
                }
            }
        }
    }
    let set: Vec<Negative> = pictures
        .par_iter()
        .filter_map(|(s, im)| {
            let bytes = jpeg_bytes(im, 88);
            analyze_bytes(PathBuf::from("neg.jpg"), bytes, &Limits::default())
                .ok()
                .map(|analysis| Negative {
                    source: *s,
                    analysis,
                })
        })
        .collect();
    let n = set.len();
    // All images are archived in one index (item i = image i), as
    // `check` sees an archive; every image is then checked against it,
    // and only hits on images of other sources count. When that is more
    // pairs than wanted, the queries are sampled.
    let mut entries = Vec::new();
    let mut stored = Vec::new();
    for (i, neg) in set.iter().enumerate() {
        let a = &neg.analysis;
        entries.push(IndexedHash {
            item: ItemId(i as i64),
            hash: a.fingerprint.pdq.hash,
            quality: a.fingerprint.pdq.quality,
            phash: Some(a.fingerprint.phash),
            dhash: Some(a.fingerprint.dhash),
            span: None,
        });
        if let Some(f) = a.stored_features() {
            stored.push((ItemId(i as i64), f));
        }
    }
    let index = Index::new(entries).with_features(stored);
    let pairs_per_query = |j: usize| set.iter().filter(|q| q.source != set[j].source).count();
    let all_pairs: usize = (0..n).map(pairs_per_query).sum();
    let keep_every = (all_pairs / pairs_wanted.max(1)).max(1);
    let thresholds = Thresholds::default();
    let results: Vec<(u64, u64, Vec<String>)> = (0..n)
        .into_par_iter()
        .filter(|j| j % keep_every == 0)
        .map(|j| {
            let qa = &set[j].analysis;
            let other = |id: ItemId| set[id.0 as usize].source != set[j].source;
            let mut hit: Vec<(ItemId, &str)> = Vec::new();
            for p in &qa.probes {
                for c in matching::find_matches(
                    &p.hashes.pdq.dihedrals,
                    p.hashes.pdq.pdq.quality,
                    &index,
                    &thresholds,
                ) {
                    if !c.low_quality && other(c.item) {
                        hit.push((c.item, "PDQ"));
                    }
                }
            }
            if let Some(f) = &qa.features {
                for h in matching::feature_hits(&index, f, &qa.probes, &[]) {
                    if other(h.item) {
                        hit.push((h.item, "features"));
                    }
                }
            }
            hit.sort();
            hit.dedup_by_key(|h| h.0);
            let what = hit
                .iter()
                .map(|(id, how)| {
                    format!(
                        "image {} (source {}) ~ image {j} (source {}): {how}",
                        id.0, set[id.0 as usize].source, set[j].source
                    )
                })
                .collect();
            (pairs_per_query(j) as u64, hit.len() as u64, what)
        })
        .collect();
    let tried: u64 = results.iter().map(|r| r.0).sum();
    let wrong: u64 = results.iter().map(|r| r.1).sum();
    for r in &results {
        for w in &r.2 {
            eprintln!("false match: {w}");
        }
    }
    println!();
    let bound = if wrong == 0 {
        format!(
            "0 seen; 95% upper bound {:.1} in 1,000,000 (rule of three)",
            3e6 / tried.max(1) as f64
        )
    } else {
        format!(
            "{:.2} in 1,000,000",
            wrong as f64 * 1e6 / tried.max(1) as f64
        )
    };
    println!(
        "False matches: {wrong} in {tried} pairs of different images ({n} images: photos, tiles and crops of them, video frames and their tiles; {:.0} s) — rate {bound}.",
        t.elapsed().as_secs_f64()
    );
}

/// A picture and tiles and crops of it, for the negative set.
fn derived(im: &RgbImage, seed: u64) -> Vec<RgbImage> {
    let (w, h) = im.dimensions();
    let mut out = vec![im.clone()];
    if w < 64 || h < 64 {
        return out;
    }
    let crop = |x: u32, y: u32, cw: u32, ch: u32| imageops::crop_imm(im, x, y, cw, ch).to_image();
    // 2×2 tiles.
    for ty in 0..2 {
        for tx in 0..2 {
            out.push(crop(tx * w / 2, ty * h / 2, w / 2, h / 2));
        }
    }
    // Centre crop and fixed random crops.
    out.push(centre_crop(im, 0.6));
    let mut rng = Rng(seed ^ 0xabc);
    for _ in 0..8 {
        let cw = w / 3 + rng.below(u64::from(w / 2)) as u32;
        let ch = h / 3 + rng.below(u64::from(h / 2)) as u32;
        let x = rng.below(u64::from(w - cw + 1)) as u32;
        let y = rng.below(u64::from(h - ch + 1)) as u32;
        out.push(crop(x, y, cw, ch));
    }
    // 3×3 tiles.
    for ty in 0..3 {
        for tx in 0..3 {
            out.push(crop(tx * w / 3, ty * h / 3, w / 3, h / 3));
        }
    }
    out
}
