//! Match quality: how many edited copies of real photos `check` finds,
//! how many of those are confirmed, and how often it reports the wrong
//! photo.
//!
//! Run: `bench/match_quality [CORPUS] [--pairs N] [--crops N] [--negatives-only]` (or
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
//!    uses (PDQ radius and feature verification). `--crops N` sets the
//!    random crops taken of each photo (default 16): more crops, more
//!    images, more pairs (about 3.2 million at 37).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use firstseen::analyze::{Analysis, analyze_bytes};
use firstseen::decode::{self, Limits};
use firstseen::hash::Sha256;
use firstseen::matching::{self, Index, Matcher, Thresholds};
use firstseen::pipeline::{self, ArchiveOptions, CheckOutcome, NoProgress, Options};
use firstseen::store::{Archive, IndexedHash, ItemId, NewSighting};
use image::RgbImage;
use rayon::prelude::*;

#[path = "edits.rs"]
mod edits;
use edits::{derived, jpeg_bytes};

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
    let mut edits_too = true;
    let mut crops: usize = 16;
    // Only the edits whose names contain one of these (comma-separated).
    let mut only: Option<String> = None;
    let mut keep: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pairs" => {
                pairs_wanted = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(pairs_wanted)
            }
            "--crops" => crops = it.next().and_then(|v| v.parse().ok()).unwrap_or(crops),
            "--markdown" => markdown = true,
            "--negatives-only" => edits_too = false,
            "--edits" => only = it.next().cloned(),
            // A small PNG of every edited copy, to look at.
            "--keep" => keep = it.next().cloned(),
            other => corpus = Some(other.to_string()),
        }
    }
    if let Some(k) = &keep {
        std::fs::create_dir_all(k).unwrap_or_else(|e| panic!("{k}: {e}"));
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

    if !edits_too {
        negatives(&corpus, &images, pairs_wanted, crops);
        same_scene(&corpus);
        return;
    }
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
    let mut matcher =
        Matcher::open(&archive.catalog, Some(archive.dir()), &mut |_, _| {}).expect("matcher");
    pipeline::archive(
        &mut archive,
        &mut matcher,
        &photos,
        &opts,
        &NoProgress,
        &stop,
        &mut |o| {
            if let pipeline::ArchiveOutcome::Archived { path, sha256, .. } = o {
                shas.insert(path.clone(), *sha256);
            }
        },
    )
    .expect("archiving the corpus");
    let archive_secs = t.elapsed().as_secs_f64();

    // Edited copies, written as JPEG q90 files.
    let edit_list: Vec<_> = edits::all()
        .into_iter()
        .filter(|(name, _)| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|w| name.contains(w)))
        })
        .collect();
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
            if let Some(keep) = &keep {
                let small = edits::scale(&edited, 640.0 / f64::from(edited.width().max(640)));
                small
                    .save(Path::new(keep).join(format!("e{e:02}-i{i:02}.png")))
                    .expect("keep edit");
                std::fs::copy(&path, Path::new(keep).join(format!("e{e:02}-i{i:02}.jpg")))
                    .expect("keep edit");
            }
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
        &matcher,
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
    negatives(&corpus, &images, pairs_wanted, crops);
    same_scene(&corpus);
}

/// One image of the negative set: its source (pairs from one source are
/// not "different images") and its analysis.
struct Negative {
    source: usize,
    analysis: Analysis,
}

fn negatives(corpus: &Path, photos: &[RgbImage], pairs_wanted: usize, crops: usize) {
    let t = Instant::now();
    let mut pictures: Vec<(usize, RgbImage)> = Vec::new();
    for (s, im) in photos.iter().enumerate() {
        for d in derived(im, s as u64, crops) {
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
            let Some(frames) = video_frames(&v).filter(|f| !f.is_empty()) else {
                continue;
            };
            // Frames of one video share a source: scenes repeat.
            let step = (frames.len() / 40).max(1);
            for (_, f) in frames.into_iter().step_by(step).take(40) {
                for d in derived(&f, next_source as u64, crops).into_iter().take(9) {
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
        entries.push(indexed(ItemId(i as i64), a));
        if let Some(f) = a.stored_features() {
            stored.push((ItemId(i as i64), f));
        }
    }
    let index = Index::new(entries).with_features(stored);
    let pairs_per_query = |j: usize| set.iter().filter(|q| q.source != set[j].source).count();
    let all_pairs: usize = (0..n).map(pairs_per_query).sum();
    // Keep a share of the queries so about `pairs_wanted` pairs are tried.
    let share = (pairs_wanted as f64 / all_pairs.max(1) as f64).min(1.0);
    let kept = |j: usize| ((j + 1) as f64 * share).floor() > (j as f64 * share).floor();
    let results: Vec<(u64, u64, Vec<String>)> = (0..n)
        .into_par_iter()
        .filter(|&j| kept(j))
        .map(|j| {
            let qa = &set[j].analysis;
            let other = |id: ItemId| set[id.0 as usize].source != set[j].source;
            let mut hit: Vec<(ItemId, &str)> = matched(&index, qa)
                .into_iter()
                .filter(|h| other(h.0))
                .collect();
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

/// The sampled frames of the video at `path` with their times; None
/// when it cannot be read or decoded.
fn video_frames(path: &Path) -> Option<Vec<(f64, RgbImage)>> {
    let bytes = std::fs::read(path).ok()?;
    let limits = Limits::default();
    let mut frames = Vec::new();
    decode::video::decode_video(&bytes, &limits.video, &limits.sampling, &mut |f| {
        frames.push((f.timestamp_secs, f.image));
        Ok(())
    })
    .ok()?;
    Some(frames)
}

/// The hash-index entry of an analysed picture archived as `item`.
fn indexed(item: ItemId, a: &Analysis) -> IndexedHash {
    IndexedHash {
        item,
        hash: a.fingerprint.pdq.hash,
        quality: a.fingerprint.pdq.quality,
        phash: Some(a.fingerprint.phash),
        dhash: Some(a.fingerprint.dhash),
        span: None,
    }
}

/// The items of `index` the matcher's two stages report for `qa`: within
/// the PDQ radius (trusted quality), then confirmed by local features.
fn matched(index: &Index, qa: &Analysis) -> Vec<(ItemId, &'static str)> {
    let mut hit = Vec::new();
    for p in &qa.probes {
        for c in matching::find_matches(
            &p.hashes.pdq.dihedrals,
            p.hashes.pdq.pdq.quality,
            index,
            &Thresholds::default(),
        ) {
            if !c.low_quality {
                hit.push((c.item, "PDQ"));
            }
        }
    }
    if let Some(f) = &qa.features {
        for h in matching::feature_hits(index, &matching::HeldOnly, f, None, &qa.probes, &[])
            .expect("in memory")
        {
            hit.push((h.item, "features"));
        }
    }
    hit
}

/// Different photos of one scene, which must not be reported as the same
/// picture: frames about a second apart of each corpus video (a fixed
/// camera, a hand-held one, street footage), and the pairs in
/// `tests/fixtures/same-scene` (stereo pairs, frames where things
/// moved). Each pair's first photo is archived alone and the second
/// checked against it.
fn same_scene(corpus: &Path) {
    let mut sets: Vec<(String, Vec<(RgbImage, RgbImage)>)> = Vec::new();
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/same-scene");
    let open = |p: &Path| image::open(p).map(|i| i.to_rgb8()).ok();
    if let Ok(rd) = std::fs::read_dir(&fixtures) {
        let mut firsts: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with("-a.jpg"))
            .collect();
        firsts.sort();
        for a in firsts {
            let b = PathBuf::from(a.to_string_lossy().replace("-a.jpg", "-b.jpg"));
            if let (Some(x), Some(y)) = (open(&a), open(&b)) {
                let name = a.file_name().unwrap_or_default().to_string_lossy();
                sets.push((name.trim_end_matches("-a.jpg").to_string(), vec![(x, y)]));
            }
        }
    }
    let mut vids: Vec<PathBuf> = std::fs::read_dir(corpus.join("video"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    vids.sort();
    for v in vids {
        let stem = v
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        // A degraded version of another clip is not another scene.
        if stem.ends_with("_distorted") {
            continue;
        }
        let Some(frames) = video_frames(&v) else {
            continue;
        };
        let mut pairs = Vec::new();
        let mut last: Option<&(f64, RgbImage)> = None;
        for f in &frames {
            match last {
                Some(l) if f.0 - l.0 < 0.9 => continue,
                Some(l) => pairs.push((l.1.clone(), f.1.clone())),
                None => {}
            }
            last = Some(f);
        }
        if !pairs.is_empty() {
            sets.push((format!("{stem}: frames a second apart"), pairs));
        }
    }
    if sets.is_empty() {
        println!("\nSame scene: no pairs (no tests/fixtures/same-scene, no corpus videos).");
        return;
    }
    println!("\nDifferent photos of one scene (first archived, second checked):\n");
    println!("| pairs | tried | reported as the same picture (by PDQ / by features) |");
    println!("|---|---:|---:|");
    let (mut all, mut wrong) = (0, 0);
    for (name, pairs) in &sets {
        let found: Vec<Vec<(ItemId, &str)>> = pairs
            .par_iter()
            .map(|(x, y)| {
                let analysed = |im: &RgbImage| {
                    analyze_bytes(
                        PathBuf::from("scene.jpg"),
                        jpeg_bytes(im, 92),
                        &Limits::default(),
                    )
                    .expect("analysed")
                };
                let (a, b) = (analysed(x), analysed(y));
                let index = Index::new(vec![indexed(ItemId(1), &a)]).with_features(
                    a.stored_features()
                        .map(|f| (ItemId(1), f))
                        .into_iter()
                        .collect(),
                );
                matched(&index, &b)
            })
            .collect();
        let by = |how: &str| {
            found
                .iter()
                .filter(|h| h.iter().any(|x| x.1 == how))
                .count()
        };
        let reported = found.iter().filter(|h| !h.is_empty()).count();
        all += pairs.len();
        wrong += reported;
        println!(
            "| {name} | {} | {reported} ({} / {}) |",
            pairs.len(),
            by("PDQ"),
            by("features")
        );
    }
    println!("| **all** | {all} | {wrong} |");
}
