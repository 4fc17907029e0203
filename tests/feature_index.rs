//! The feature index against the linear vote it replaces, on real photos
//! and their edits: wherever the linear vote and verification confirm
//! the original of an edited copy, the index's shortlist holds it too
//! (its recall against the linear vote, measured and held to 99%), and
//! none of the added look-alike entries (real descriptors with about 64
//! of their 256 bits changed, beyond the vote radius) is ever confirmed.
//!
//! Uses `samples/photos`, and the whole corpus (`../shared/corpus/photos`
//! or `$FIRSTSEEN_SHARED/corpus/photos`) when present; says which.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use firstseen::analyze::analyze_bytes;
use firstseen::decode::Limits;
use firstseen::hash::features::Features;
use firstseen::matching::{self, FeatureEntry, FeatureIndex, HeldOnly, Index};
use firstseen::store::{FeatureKey, ItemId};
use image::RgbImage;
use rayon::prelude::*;

#[path = "../bench/edits.rs"]
mod edits;

fn photos() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("samples/photos")];
    let shared = std::env::var_os("FIRSTSEEN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"));
    if shared.join("corpus/photos").is_dir() {
        println!("corpus: {}", shared.join("corpus/photos").display());
        dirs.push(shared.join("corpus/photos"));
    } else {
        println!("SKIPPED the corpus part: ../shared/corpus/photos not found (samples only)");
    }
    let mut out: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    out.sort();
    out
}

fn analyse(im: &RgbImage) -> firstseen::analyze::Analysis {
    analyze_bytes(
        PathBuf::from("edit.jpg"),
        edits::jpeg_bytes(im, 88),
        &Limits::default(),
    )
    .unwrap()
}

/// Look-alike entries: each feature a real stored one with `flips` of
/// its 256 bits changed at random positions.
fn added(real: &[Features], count: usize, first: i64, flips: u32) -> Vec<FeatureEntry> {
    let mut rng = edits::Rng(0x05ee_d0fa_dded);
    (0..count)
        .map(|k| {
            let mut f = real[rng.below(real.len() as u64) as usize].clone();
            for d in &mut f.descriptors {
                let mut flipped = 0;
                while flipped < flips {
                    let bit = rng.below(256) as usize;
                    let mask = 1u64 << (bit % 64);
                    if d[bit / 64] & mask == 0 || rng.below(2) == 0 {
                        d[bit / 64] ^= mask;
                        flipped += 1;
                    }
                }
            }
            FeatureEntry {
                key: FeatureKey {
                    item: ItemId(first + k as i64),
                    frame: None,
                },
                span: None,
                features: f,
            }
        })
        .collect()
}

fn confirmed(index: &Index, query: &Features) -> Vec<ItemId> {
    let mut out: Vec<ItemId> = matching::feature_hits(index, &HeldOnly, query, None, &[], &[])
        .unwrap()
        .into_iter()
        .map(|h| h.item)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The edits compared: those that leave the fewest corners in common.
const HARD: &[&str] = &[
    "centre crop 70% of area",
    "mirror",
    "rotate 5° (canvas kept)",
    "text banner, bottom 15%",
    "phone screenshot",
    "off-centre crop (top left 60%)",
    "stickers over corners",
    "dark-mode screenshot, small",
    "side-by-side collage",
    "forwarded (30%, q20)",
    "screenshot of a screenshot",
];

#[test]
fn index_shortlist_holds_what_the_linear_vote_confirms() {
    let photos = photos();
    let images: Vec<RgbImage> = photos
        .iter()
        .map(|p| image::open(p).unwrap().to_rgb8())
        .collect();
    let real: Vec<FeatureEntry> = images
        .iter()
        .enumerate()
        .filter_map(|(i, im)| {
            analyse(im).stored_features().map(|features| FeatureEntry {
                key: FeatureKey {
                    item: ItemId(i as i64 + 1),
                    frame: None,
                },
                span: None,
                features,
            })
        })
        .collect();
    let real_features: Vec<Features> = real.iter().map(|e| e.features.clone()).collect();
    // Enough look-alikes that the index files them as a large archive's
    // segments are filed (18-bit buckets).
    let first_added = real.len() as i64 + 1000;
    let mut all = real.clone();
    all.extend(added(&real_features, 20_000, first_added, 64));
    let linear = Index::new(Vec::new()).with_feature_index(FeatureIndex::linear(real.clone()));
    let indexed = Index::new(Vec::new()).with_feature_index(FeatureIndex::in_memory(all));
    assert!(indexed.features().indexed_features() > 2_000_000);

    // The edits that leave the fewest corners in common (the others keep
    // more, so they are held when these are).
    let edits: Vec<_> = edits::all()
        .into_iter()
        .filter(|(name, _)| HARD.contains(name))
        .collect();
    assert_eq!(edits.len(), HARD.len());
    let results: Vec<(usize, usize, usize, Vec<String>)> = images
        .par_iter()
        .enumerate()
        .map(|(i, im)| {
            let (mut wanted, mut held, mut extra) = (0usize, 0usize, 0usize);
            let mut missed = Vec::new();
            for (name, edit) in &edits {
                let copy = edit(im, &images, i);
                let Some(q) = analyse(&copy).features else {
                    continue;
                };
                let by_linear = confirmed(&linear, &q);
                let by_index = confirmed(&indexed, &q);
                assert!(
                    by_index.iter().all(|id| id.0 < first_added),
                    "{name} of {}: an added look-alike was confirmed: {by_index:?}",
                    photos[i].display()
                );
                for id in &by_linear {
                    wanted += 1;
                    if by_index.contains(id) {
                        held += 1;
                    } else {
                        missed.push(format!("{name} of {} (item {})", photos[i].display(), id.0));
                    }
                }
                extra += by_index.iter().filter(|id| !by_linear.contains(id)).count();
            }
            (wanted, held, extra, missed)
        })
        .collect();
    let wanted: usize = results.iter().map(|r| r.0).sum();
    let held: usize = results.iter().map(|r| r.1).sum();
    let extra: usize = results.iter().map(|r| r.2).sum();
    let missed: Vec<&String> = results.iter().flat_map(|r| &r.3).collect();
    let recall = held as f64 / wanted.max(1) as f64;
    println!(
        "feature index: {held} of {wanted} confirmed by the linear vote also confirmed through the index (recall {:.2}%), {extra} more; missed: {missed:?}",
        recall * 100.0
    );
    assert!(wanted > 50, "only {wanted} confirmations to compare");
    assert!(recall >= 0.99, "recall {recall:.4} against the linear vote");
}

/// A long `archive` files what it has archived in segments as it goes
/// ([`Matcher::file_recent`]), so later files are not voted against all
/// of them one by one, and what was filed is still found.
#[test]
fn a_long_batch_files_what_it_archives_in_segments() {
    use firstseen::hash::Sha256;
    use firstseen::matching::{FILE_RECENT_AT, Matcher, Thresholds};
    use firstseen::store::{Archive, NewItem, NewSighting, Record, Recorded};

    let dir = std::env::temp_dir().join(format!("firstseen-filing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut archive = Archive::create(&dir).unwrap();
    let photo = image::open(&photos()[0]).unwrap().to_rgb8();
    let real = analyse(&photo).stored_features().unwrap();
    let mut matcher = Matcher::open(&archive.catalog, Some(archive.dir()), &mut |_, _| {}).unwrap();
    // The photo first, then look-alikes of it that no check confirms.
    let mut pictures = vec![real.clone()];
    pictures.extend(
        added(std::slice::from_ref(&real), 2 * FILE_RECENT_AT + 10, 0, 64)
            .into_iter()
            .map(|e| e.features),
    );
    let (mut filings, mut first) = (0, None);
    for (k, features) in pictures.into_iter().enumerate() {
        let mut sha = [0u8; 32];
        sha[..8].copy_from_slice(&(k as u64 + 1).to_le_bytes());
        let recorded = archive
            .record(&Record {
                item: NewItem {
                    sha256: Sha256(sha),
                    media_type: "image".into(),
                    format: "jpeg".into(),
                    width: 1200,
                    height: 800,
                    byte_size: 1,
                    pdq: None,
                    phash: None,
                    dhash: None,
                    stored: false,
                    features: Some(features.to_bytes()),
                    warnings: None,
                },
                bytes: None,
                sighting: NewSighting::default(),
                links: Vec::new(),
                video: None,
            })
            .unwrap();
        let Recorded::NewItem(id) = recorded else {
            panic!("item {k} was not new");
        };
        first.get_or_insert(id);
        matcher.index_mut().push_features(FeatureEntry {
            key: FeatureKey {
                item: id,
                frame: None,
            },
            span: None,
            features,
        });
        if matcher.file_recent(&archive.catalog).unwrap() {
            filings += 1;
        }
        let held = matcher.index().features().recent().len();
        assert!(held < FILE_RECENT_AT, "{held} entries held after item {k}");
    }
    assert_eq!(
        filings,
        2,
        "two filings in {} items",
        2 * FILE_RECENT_AT + 11
    );
    assert!(
        dir.join(firstseen::matching::features::STATE_FILE)
            .is_file()
    );
    // The photo, filed in the first segment, is found from a crop of it.
    let crop = analyse(&edits::centre_crop(&photo, 0.84));
    let found: Vec<ItemId> = matcher
        .find(&archive.catalog, &crop, &Thresholds::default())
        .unwrap()
        .into_iter()
        .map(|f| f.item.id)
        .collect();
    assert_eq!(found, vec![first.unwrap()], "found {found:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
