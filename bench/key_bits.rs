//! Which descriptor bits the feature index files each descriptor under:
//! the derivation of `matching::features::KEY_AT` and `SIG_AT`.
//!
//! Run: `cargo bench --bench key_bits -- [CORPUS]` (CORPUS as for
//! `match_quality`: `photos/` of it, plus `samples/photos`).
//!
//! The descriptor's tests compare random point pairs around an oriented
//! corner, so many of them are far from even (one side of a corner is
//! brighter by construction) and neighbours agree with each other: keys
//! made of runs of bits put a few percent of all stored features in the
//! same bucket. This picks, table by table, the bits that split the
//! stored features of real photos (and tiles and crops of them) most
//! evenly for the least loss of the pairs the linear vote counts
//! (a stored feature and its nearest feature in an edited copy, within
//! the vote distance), and the signature bits the same way. It trains on
//! half of the photos and reports on the other half, beside the keys
//! used before (runs of the first 128 bits), so the choice is shown to
//! hold for photos it did not see.

use std::path::{Path, PathBuf};

use firstseen::hash::features::{self, Descriptor, QUERY_POINTS, STORED_POINTS};
use image::{DynamicImage, RgbImage};
use rayon::prelude::*;

#[path = "edits.rs"]
mod edits;
#[path = "rng.rs"]
mod rng;

const TABLES: usize = 4;
const KEY_BITS: usize = 20;
const SIG_BITS: usize = 38;
const VOTE_DISTANCE: u32 = 40;

fn bit(d: &Descriptor, b: usize) -> u32 {
    ((d[b / 64] >> (b % 64)) & 1) as u32
}

fn photos(corpus: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in [
        corpus.join("photos"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/photos"),
    ] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            eprintln!("key_bits: skipping {} (not readable)", dir.display());
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if ["jpg", "jpeg", "png", "webp"].contains(&ext.as_str()) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Stored features of a photo's pictures (it, tiles, crops) and the
/// descriptor pairs its edited copies give.
struct Sample {
    stored: Vec<Descriptor>,
    pairs: Vec<(Descriptor, Descriptor)>,
}

fn sample(path: &Path) -> Option<Sample> {
    let img = image::open(path).ok()?.to_rgb8();
    let img = shrink(img);
    // The photo's own features, as many as a query has (tiles and crops
    // of it would repeat them: collisions a bucket cannot avoid).
    let stored = features::extract(&DynamicImage::ImageRgb8(img.clone()), QUERY_POINTS).descriptors;
    let original = features::extract(&DynamicImage::ImageRgb8(img.clone()), STORED_POINTS);
    let copies: Vec<RgbImage> = vec![
        edits::scale(&img, 0.5),
        edits::jpeg_round_trip(&img, 30),
        edits::centre_crop(&img, 0.84),
        edits::rotate_degrees(&img, 5.0),
        edits::brighten(&img, 1.3),
        edits::screenshot(&img, 3, false),
        image::imageops::blur(&img, 2.0),
    ];
    let mut pairs = Vec::new();
    for c in copies {
        let q = features::extract(&DynamicImage::ImageRgb8(c), QUERY_POINTS);
        for s in &original.descriptors {
            if let Some((d, best)) = q
                .descriptors
                .iter()
                .map(|d| (features::distance(s, d), d))
                .min_by_key(|x| x.0)
                && d <= VOTE_DISTANCE
            {
                pairs.push((*s, *best));
            }
        }
    }
    Some(Sample { stored, pairs })
}

fn shrink(img: RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let long = w.max(h);
    if long <= 1600 {
        return img;
    }
    let k = 1600.0 / f64::from(long);
    edits::scale(&img, k)
}

/// Expected share of stored features in a random stored feature's
/// bucket (keys of `bits`), and share of pairs with equal keys.
fn score(stored: &[Descriptor], pairs: &[(Descriptor, Descriptor)], key: &[usize]) -> (f64, f64) {
    let mut counts = std::collections::HashMap::<u32, u64>::new();
    for d in stored {
        *counts.entry(key_of(d, key)).or_default() += 1;
    }
    let n = stored.len() as f64;
    let coll = counts.values().map(|&c| (c * c) as f64).sum::<f64>() / (n * n);
    let kept = pairs
        .iter()
        .filter(|(a, b)| key_of(a, key) == key_of(b, key))
        .count() as f64
        / pairs.len().max(1) as f64;
    (coll, kept)
}

fn key_of(d: &Descriptor, key: &[usize]) -> u32 {
    key.iter().fold(0, |k, &b| (k << 1) | bit(d, b))
}

/// Greedy choice of one table's key: each step the unused bit that cuts
/// collisions most per pair lost.
fn choose_key(
    stored: &[Descriptor],
    pairs: &[(Descriptor, Descriptor)],
    used: &mut [bool; 256],
) -> Vec<usize> {
    let mut key: Vec<usize> = Vec::new();
    let mut cur: Vec<u32> = vec![0; stored.len()];
    let mut alive: Vec<bool> = vec![true; pairs.len()];
    let (mut coll, mut kept) = (1.0f64, 1.0f64);
    for _ in 0..KEY_BITS {
        let size = 1usize << (key.len() + 1);
        let best = (0..256)
            .into_par_iter()
            .filter(|&b| !used[b])
            .map(|b| {
                let mut counts = vec![0u32; size];
                for (d, k) in stored.iter().zip(&cur) {
                    counts[((k << 1) | bit(d, b)) as usize] += 1;
                }
                let n = stored.len() as f64;
                let c = counts
                    .iter()
                    .map(|&c| f64::from(c) * f64::from(c))
                    .sum::<f64>()
                    / (n * n);
                let alive_now = pairs
                    .iter()
                    .zip(&alive)
                    .filter(|((x, y), a)| **a && bit(x, b) == bit(y, b))
                    .count() as f64
                    / pairs.len().max(1) as f64;
                let gain = (coll / c).ln();
                let loss = (kept / alive_now.max(1e-9)).ln() + 1e-3;
                (gain / loss, b, c, alive_now)
            })
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .expect("a bit is left");
        let (_, b, c, a) = best;
        used[b] = true;
        key.push(b);
        for (d, k) in stored.iter().zip(cur.iter_mut()) {
            *k = (*k << 1) | bit(d, b);
        }
        for ((x, y), al) in pairs.iter().zip(alive.iter_mut()) {
            *al = *al && bit(x, b) == bit(y, b);
        }
        coll = c;
        kept = a;
    }
    key
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let corpus = args.first().map(PathBuf::from).unwrap_or_else(|| {
        std::env::var("FIRSTSEEN_SHARED")
            .map(|s| Path::new(&s).join("corpus"))
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
    });
    let files = photos(&corpus);
    eprintln!("key_bits: {} photos", files.len());
    let samples: Vec<Option<Sample>> = files.par_iter().map(|p| sample(p)).collect();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, s) in samples.into_iter().enumerate() {
        let Some(s) = s else {
            eprintln!("key_bits: skipping {} (unreadable)", files[i].display());
            continue;
        };
        if i % 2 == 0 { &mut train } else { &mut test }.push(s);
    }
    let flat = |v: &[Sample]| -> (Vec<Descriptor>, Vec<(Descriptor, Descriptor)>) {
        (
            v.iter().flat_map(|s| s.stored.iter().copied()).collect(),
            v.iter().flat_map(|s| s.pairs.iter().copied()).collect(),
        )
    };
    let (ts, tp) = flat(&train);
    let (hs, hp) = flat(&test);
    eprintln!(
        "key_bits: training on {} stored features and {} pairs; held out {} and {}",
        ts.len(),
        tp.len(),
        hs.len(),
        hp.len()
    );
    let mut used = [false; 256];
    let keys: Vec<Vec<usize>> = (0..TABLES)
        .map(|_| choose_key(&ts, &tp, &mut used))
        .collect();
    // Signature: the unused bits that best keep pairs together while
    // splitting unrelated features (entropy over flip rate).
    let mut sig: Vec<(f64, usize)> = (0..256)
        .filter(|&b| !used[b])
        .map(|b| {
            let p = ts.iter().filter(|d| bit(d, b) == 1).count() as f64 / ts.len() as f64;
            let h = -(p * p.ln() + (1.0 - p) * (1.0 - p).ln());
            let flip = tp.iter().filter(|(x, y)| bit(x, b) != bit(y, b)).count() as f64
                / tp.len().max(1) as f64;
            (h / (flip + 0.02), b)
        })
        .collect();
    sig.sort_by(|a, b| b.0.total_cmp(&a.0));
    let sig: Vec<usize> = sig.iter().take(SIG_BITS).map(|x| x.1).collect();

    let old: Vec<Vec<usize>> = [0usize, 20, 40, 64]
        .iter()
        .map(|&s| (s..s + KEY_BITS).rev().collect())
        .collect();
    println!(
        "| keys | bits | table | share of stored features in a feature's bucket (held out) | pairs kept (held out) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, set) in [("runs (v1)", &old), ("chosen (v2)", &keys)] {
        for bits in [16usize, 18, 20] {
            for (t, k) in set.iter().enumerate() {
                let (c, kept) = score(&hs, &hp, &k[..bits]);
                println!(
                    "| {name} | {bits} | {t} | {:.2e} | {:.1}% |",
                    c,
                    kept * 100.0
                );
            }
        }
    }
    let any = |set: &[Vec<usize>]| {
        hp.iter()
            .filter(|(a, b)| {
                set.iter()
                    .any(|k| key_of(a, &k[..18]) == key_of(b, &k[..18]))
            })
            .count() as f64
            / hp.len().max(1) as f64
    };
    println!(
        "pairs sharing a key in some table (18 bits, held out): runs {:.1}%, chosen {:.1}%",
        any(&old) * 100.0,
        any(&keys) * 100.0
    );
    println!("const KEY_AT: [[u8; KEY_BITS as usize]; TABLES] = {keys:?};");
    println!("const SIG_AT: [u8; SIG_BITS as usize] = {sig:?};");
}
