//! The batch runner and its two jobs, `archive` and `check`: analysis
//! (read → decode → hash → features) on all cores (rayon), then matching
//! and storing one file at a time on the calling thread, in input order,
//! so output is deterministic and the catalog has a single writer. What a
//! match is lives in [`crate::matching`]; this module only runs batches.
//!
//! Files are processed in small chunks so memory stays bounded by the
//! chunk, not by the batch, however many thousands of files are given.
//! A failure is reported for its file and the batch goes on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use crate::analyze::{Analysis, analyze_file};
use crate::decode::Limits;
use crate::error::{Error, Result};
use crate::hash::{self, Dihedral, Sha256};
use crate::matching::listed::{ListedIndex, ListedMatch};
use crate::matching::verify::{Alignment, Edit};
use crate::matching::{self, Evidence, FrameMatch, MatchKind, Matcher, Overlap, Thresholds};
use crate::report::wording;
use crate::sidecar::{self, SidecarUse};
use crate::store::{
    Archive, Catalog, FeatureKey, IndexedHash, Item, NewItem, NewLink, NewSighting, NewVideo,
    Record, Recorded, Sighting,
};

/// Progress reporting, implemented by the command-line front end.
pub trait Progress: Sync {
    /// The batch has `total` files.
    fn start(&self, total: u64);
    /// One more file is done.
    fn advance(&self);
    /// The batch is over.
    fn finish(&self);
    /// An index is being built before the batch: `done` of `total`
    /// items filed (`done == total` when it is over).
    fn indexing(&self, _done: u64, _total: u64) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// How many files are decoded in parallel before their results are
/// stored: bounds memory to a few dozen decoded files.
fn chunk_size() -> usize {
    (rayon::current_num_threads() * 4).max(8)
}

/// `files` in consecutive chunks of at most `count` files whose sizes
/// add up to at most `bytes` (a larger file alone): the contents a chunk
/// holds until it is stored stay bounded.
fn chunks(files: &[PathBuf], count: usize, bytes: u64) -> Vec<&[PathBuf]> {
    let mut out = Vec::new();
    let (mut start, mut total) = (0, 0u64);
    for (i, f) in files.iter().enumerate() {
        let size = std::fs::metadata(f).map_or(0, |m| m.len());
        if i > start && (i - start >= count || total.saturating_add(size) > bytes) {
            out.push(&files[start..i]);
            (start, total) = (i, 0);
        }
        total = total.saturating_add(size);
    }
    if start < files.len() {
        out.push(&files[start..]);
    }
    out
}

/// The threads that analyse files, as many as rayon's global pool has
/// but apart from it: the matching of the chunk before (which runs on
/// the global pool) shares the cores with them instead of waiting in
/// their queue. None when the threads cannot be started (the global pool
/// is used then).
fn analysis_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(|i| format!("analyse-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Runs `analyze_file` over `files` on all cores, chunk by chunk, and
/// hands each result to `sink` in input order. The next chunk is
/// analysed while `sink` matches and stores this one (on the calling
/// thread), so the cores do not wait for the single writer; at most two
/// chunks are in hand. Stops early (between chunks) when `stop` is set
/// or `sink` fails; returns whether it ran to the end.
fn analyze_all(
    files: &[PathBuf],
    limits: &Limits,
    progress: &dyn Progress,
    stop: &AtomicBool,
    sink: &mut dyn FnMut(Result<Analysis>) -> Result<()>,
) -> Result<bool> {
    progress.start(files.len() as u64);
    // Two chunks in hand at once: each holds a quarter of the budget.
    let chunks = chunks(files, chunk_size(), crate::decode::budget::budget() / 4);
    let (send, receive) = std::sync::mpsc::sync_channel::<Vec<Result<Analysis>>>(0);
    let sunk = std::thread::scope(|scope| {
        scope.spawn(move || {
            for chunk in chunks {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let analyse = || -> Vec<Result<Analysis>> {
                    chunk
                        .par_iter()
                        .map(|p| {
                            let r = analyze_file(p, limits);
                            progress.advance();
                            r
                        })
                        .collect()
                };
                let results = match analysis_pool() {
                    Some(pool) => pool.install(analyse),
                    None => analyse(),
                };
                // The receiver is gone when the sink failed.
                if send.send(results).is_err() {
                    break;
                }
            }
        });
        for results in receive {
            for r in results {
                sink(r)?;
            }
        }
        Ok::<(), Error>(())
    });
    progress.finish();
    sunk?;
    Ok(!stop.load(Ordering::Relaxed))
}

/// Settings shared by `archive` and `check`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Decoder limits.
    pub limits: Limits,
    /// Match thresholds.
    pub thresholds: Thresholds,
}

/// What `archive` records for each file, besides its hashes.
#[derive(Debug, Clone, Default)]
pub struct ArchiveOptions {
    /// Limits and thresholds.
    pub common: Options,
    /// Copy the original bytes into the store.
    pub copy: bool,
    /// Source, caption, first-seen and note for every file of the batch
    /// (the file name is filled in per file).
    pub sighting: NewSighting,
    /// Per-file sightings (`archive --from-csv`): a row's fields win over
    /// `sighting`'s.
    pub rows: HashMap<PathBuf, NewSighting>,
    /// Fill fields not given from a downloader's sidecar beside the file
    /// (see [`crate::sidecar`]).
    pub sidecars: bool,
}

/// A near-duplicate link made while archiving.
#[derive(Debug, Clone, Serialize)]
pub struct LinkInfo {
    /// The existing item.
    pub sha256: Sha256,
    /// PDQ distance.
    pub distance: u32,
    /// How the new file relates to it.
    pub relation: Dihedral,
    /// Which frame or share of a video, when one is involved.
    pub detail: Option<String>,
}

/// The outcome for one file of an `archive` batch.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ArchiveOutcome {
    /// Recorded.
    Archived {
        /// The file.
        path: PathBuf,
        /// Its SHA-256.
        sha256: Sha256,
        /// `new_item`, `new_sighting` or `already_recorded`.
        result: &'static str,
        /// Near-duplicate links made for a new item.
        variant_of: Vec<LinkInfo>,
        /// Sightings the item now has.
        sightings: u64,
        /// Problems that did not stop archiving (a truncated video).
        warnings: Vec<String>,
        /// The fields the sighting took from a downloader's sidecar.
        #[serde(skip_serializing_if = "Option::is_none")]
        sidecar: Option<SidecarUse>,
    },
    /// Failed; nothing was recorded for it.
    Failed {
        /// The file.
        path: PathBuf,
        /// One-line reason.
        error: String,
    },
}

/// Totals for a batch.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    /// New items added.
    pub new_items: u64,
    /// New sightings of already known items.
    pub new_sightings: u64,
    /// Files whose content and sighting were both already recorded.
    pub already_recorded: u64,
    /// Files that failed.
    pub failed: u64,
    /// Files in folders skipped as not media.
    pub skipped: u64,
    /// The run was interrupted before the end.
    pub interrupted: bool,
}

/// Archives `files` into `archive`, calling `report` for each file in
/// input order. `matcher` (opened on this archive, and brought up to
/// date here) finds what each new file is a variant of, and takes in
/// what is archived.
///
/// # Errors
/// Only catalog-wide failures abort the batch; per-file failures are
/// reported through `report` and counted.
pub fn archive(
    archive: &mut Archive,
    matcher: &mut Matcher,
    files: &[PathBuf],
    opts: &ArchiveOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
    report: &mut dyn FnMut(&ArchiveOutcome),
) -> Result<Summary> {
    matcher.follow(&archive.catalog)?;
    let mut summary = Summary::default();
    let completed = analyze_all(files, &opts.common.limits, progress, stop, &mut |r| {
        let outcome = match r.and_then(|a| archive_one(archive, matcher, a, opts)) {
            Ok(outcome) => outcome,
            Err(e) => ArchiveOutcome::Failed {
                path: error_path(&e).unwrap_or_default(),
                error: e.to_string(),
            },
        };
        match &outcome {
            ArchiveOutcome::Archived { result, .. } => match *result {
                "new_item" => summary.new_items += 1,
                "new_sighting" => summary.new_sightings += 1,
                _ => summary.already_recorded += 1,
            },
            ArchiveOutcome::Failed { .. } => summary.failed += 1,
        }
        report(&outcome);
        matcher.file_recent(&archive.catalog)?;
        Ok(())
    })?;
    summary.interrupted = !completed;
    // Fold what was archived into the persistent hash index once enough
    // has gathered. The catalog holds everything already: a failure here
    // loses nothing (the next command reads the newer rows itself).
    let _ = matcher.index().save(archive.dir(), &archive.catalog);
    let _ = matching::FeatureIndex::save(archive.dir(), &archive.catalog, &mut |d, t| {
        progress.indexing(d, t)
    });
    Ok(summary)
}

fn error_path(e: &Error) -> Option<PathBuf> {
    match e {
        Error::Io { path, .. } | Error::File { path, .. } => Some(path.clone()),
        _ => None,
    }
}

fn archive_one(
    archive: &mut Archive,
    matcher: &mut Matcher,
    a: Analysis,
    opts: &ArchiveOptions,
) -> Result<ArchiveOutcome> {
    let fp = &a.fingerprint;
    let known = archive.catalog.item_by_sha(&fp.sha256)?;
    // Confirmed matches become variant links (between two videos, only
    // when at least half of one is found in the other).
    let found: Vec<matching::Found> = if known.is_some() {
        Vec::new()
    } else {
        matcher
            .find_variants(&archive.catalog, &a, &opts.common.thresholds)?
            .into_iter()
            .filter(|f| f.evidence != Evidence::Sha256)
            .filter(|f| {
                f.overlap
                    .is_none_or(|o| o.query_share.max(o.archived_share) >= LINK_MIN_SHARE)
            })
            .collect()
    };
    let links: Vec<LinkInfo> = found
        .iter()
        .map(|f| LinkInfo {
            sha256: f.item.sha256,
            distance: f.distance,
            relation: f.relation,
            detail: wording::link_detail(f),
        })
        .collect();
    let link_ids = found
        .iter()
        .zip(&links)
        .map(|(f, l)| NewLink {
            variant_of: f.item.id,
            distance: f.distance,
            transform: f.relation,
            detail: l.detail.clone(),
        })
        .collect();
    let (sighting, sidecar) = sighting_for(&a.path, opts)?;
    let is_video = a.video.is_some();
    let stored_features = a.stored_features();
    let record = Record {
        item: NewItem {
            sha256: fp.sha256,
            media_type: if is_video { "video" } else { "image" }.to_string(),
            format: a.format.to_string(),
            width: a.width,
            height: a.height,
            byte_size: a.bytes.len() as u64,
            pdq: (!is_video).then_some(fp.pdq),
            phash: (!is_video).then_some(fp.phash),
            dhash: (!is_video).then_some(fp.dhash),
            stored: opts.copy,
            features: stored_features.as_ref().map(|f| f.to_bytes()),
            // A video's warnings are kept with its facts.
            warnings: (!is_video && !a.warnings.is_empty()).then(|| a.warnings.join("\n")),
        },
        bytes: opts.copy.then_some(a.bytes.as_slice()),
        sighting,
        links: link_ids,
        video: a.video.as_ref().map(|v| NewVideo {
            info: v.facts.clone(),
            frames: v.frames.clone(),
        }),
    };
    // Name the input first: "photo.jpg: storing it failed: …" (a full
    // disk names the archive's own file only as the reason).
    let recorded = archive.record(&record).map_err(|e| match e {
        e @ Error::Io { .. } => Error::File {
            path: a.path.clone(),
            source: Box::new(e),
        },
        other => other.in_file(&a.path),
    })?;
    if let Recorded::NewItem(id) = recorded {
        match &a.video {
            None => {
                matcher.index_mut().push(IndexedHash {
                    item: id,
                    hash: fp.pdq.hash,
                    quality: fp.pdq.quality,
                    phash: Some(fp.phash),
                    dhash: Some(fp.dhash),
                    span: None,
                });
                if let Some(features) = stored_features {
                    matcher.index_mut().push_features(matching::FeatureEntry {
                        key: FeatureKey {
                            item: id,
                            frame: None,
                        },
                        span: None,
                        features,
                    });
                }
            }
            Some(v) => {
                for (seq, f) in v.frames.iter().enumerate() {
                    if let Some(feat) = &f.features {
                        matcher.index_mut().push_features(matching::FeatureEntry {
                            key: FeatureKey {
                                item: id,
                                frame: Some(seq as u32),
                            },
                            span: Some((f.start_secs, f.end_secs)),
                            features: feat.clone(),
                        });
                    }
                    matcher.index_mut().push(IndexedHash {
                        item: id,
                        hash: f.hashes.pdq.pdq.hash,
                        quality: f.hashes.pdq.pdq.quality,
                        phash: Some(f.hashes.phashes[0]),
                        dhash: Some(f.hashes.dhashes[0]),
                        span: Some((f.start_secs, f.end_secs)),
                    });
                }
            }
        }
    }
    let sightings = archive.catalog.sightings(recorded.item())?.len() as u64;
    Ok(ArchiveOutcome::Archived {
        path: a.path,
        sha256: fp.sha256,
        result: match recorded {
            Recorded::NewItem(_) => "new_item",
            Recorded::NewSighting(_) => "new_sighting",
            Recorded::AlreadyRecorded(_) => "already_recorded",
        },
        variant_of: links,
        sightings,
        warnings: a.warnings,
        sidecar,
    })
}

/// The sighting to record for `path`: its CSV row over the batch's
/// fields, then what a sidecar beside it fills in.
fn sighting_for(path: &Path, opts: &ArchiveOptions) -> Result<(NewSighting, Option<SidecarUse>)> {
    let batch = &opts.sighting;
    let mut given = match opts.rows.get(path) {
        Some(row) => NewSighting {
            source: row.source.clone().or_else(|| batch.source.clone()),
            caption: row.caption.clone().or_else(|| batch.caption.clone()),
            first_seen: row.first_seen.clone().or_else(|| batch.first_seen.clone()),
            file_name: None,
            note: row.note.clone().or_else(|| batch.note.clone()),
        },
        None => batch.clone(),
    };
    given.file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if !opts.sidecars {
        return Ok((given, None));
    }
    match sidecar::find(path) {
        Ok(Some(found)) => {
            let (s, used) = sidecar::merge(&given, &found);
            // The note with the uploader added must still fit.
            if let Some(note) = &s.note {
                crate::text::check_len(
                    "note with the sidecar's uploader",
                    note,
                    crate::text::MAX_LONG_TEXT,
                )
                .map_err(|e| e.in_file(path))?;
            }
            Ok((s, Some(used)))
        }
        Ok(None) => Ok((given, None)),
        // "video.mp4: video.info.json: invalid sidecar: field …".
        Err(e) => Err(Error::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        }),
    }
}

/// Items visited when looking for the earliest sighting among an item's
/// variants (as many as a report follows).
const EARLIEST_MAX_VARIANTS: usize = crate::report::MAX_VARIANTS;

/// Share of one video found in the other above which two videos are
/// linked as variants when archiving.
const LINK_MIN_SHARE: f64 = 0.5;

/// One archived item a checked file matched.
#[derive(Debug, Clone, Serialize)]
pub struct MatchReport {
    /// Exact, near-duplicate or mirrored/rotated.
    pub kind: MatchKind,
    /// The archived item.
    pub item: Item,
    /// PDQ Hamming distance (0 for exact).
    pub distance: u32,
    /// How the checked file relates to the archived picture.
    pub relation: Dihedral,
    /// Plain-English form of `relation`.
    pub relation_text: &'static str,
    /// What the match rests on.
    pub evidence: Evidence,
    /// How it was confirmed, in words.
    pub confirmed_by: &'static str,
    /// What the checked copy did to the archived picture, in words.
    pub change: String,
    /// The same, one entry per edit (crop, rotation, screenshot, …).
    pub edits: Vec<Edit>,
    /// The local-feature fit, when one was made.
    pub alignment: Option<Alignment>,
    /// Matching frames, when a video is involved.
    pub frames: Vec<FrameMatch>,
    /// Between two videos: shares found both ways and the time offset.
    pub overlap: Option<Overlap>,
    /// pHash distance in the matched orientation (of 64 bits).
    pub phash_distance: Option<u32>,
    /// dHash distance in the matched orientation (of 64 bits).
    pub dhash_distance: Option<u32>,
    /// A low-quality PDQ hash was involved (corroborated by pHash/dHash).
    pub low_quality: bool,
    /// The earliest sighting (by first-seen, else archived-at) of the
    /// item or of any item linked to it as a variant.
    pub earliest: Option<Sighting>,
    /// The item `earliest` is a sighting of, when it is a variant rather
    /// than the matched item itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_of: Option<Sha256>,
    /// Number of sightings of the item.
    pub sightings: u64,
}

/// The outcome for one checked file.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CheckOutcome {
    /// Hashed and compared.
    Checked {
        /// The file.
        path: PathBuf,
        /// SHA-256.
        sha256: Sha256,
        /// PDQ of the file.
        pdq: hash::Pdq,
        /// Matches, exact first, then by distance.
        matches: Vec<MatchReport>,
        /// Matches to hashes of imported hash lists, closest first.
        listed: Vec<ListedMatch>,
        /// Problems that did not stop the check (a truncated video).
        warnings: Vec<String>,
    },
    /// Could not be checked.
    Failed {
        /// The file.
        path: PathBuf,
        /// One-line reason.
        error: String,
    },
}

/// Totals for a `check` batch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckSummary {
    /// Files matching something.
    pub known: u64,
    /// Files matching nothing.
    pub unknown: u64,
    /// Files that failed.
    pub failed: u64,
    /// Interrupted before the end.
    pub interrupted: bool,
    /// Said once about the archive (damaged stored features, an index
    /// that could not be written).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Checks `files` against `archive` without modifying it, with the
/// matcher kept by the caller (opened on this archive).
///
/// # Errors
/// Only catalog-wide failures; per-file failures go through `report`.
pub fn check(
    archive: &Archive,
    matcher: &Matcher,
    files: &[PathBuf],
    opts: &Options,
    progress: &dyn Progress,
    stop: &AtomicBool,
    report: &mut dyn FnMut(&CheckOutcome),
) -> Result<CheckSummary> {
    check_catalog(
        &archive.catalog,
        matcher,
        files,
        opts,
        progress,
        stop,
        report,
    )
}

/// [`check`] against a catalog alone: an archive's, or one built in
/// memory from a manifest (`check --manifest`), which has no object
/// store.
///
/// # Errors
/// Only catalog-wide failures; per-file failures go through `report`.
pub fn check_catalog(
    catalog: &Catalog,
    matcher: &Matcher,
    files: &[PathBuf],
    opts: &Options,
    progress: &dyn Progress,
    stop: &AtomicBool,
    report: &mut dyn FnMut(&CheckOutcome),
) -> Result<CheckSummary> {
    let listed = ListedIndex::new(catalog)?;
    let mut summary = CheckSummary::default();
    let completed = analyze_all(files, &opts.limits, progress, stop, &mut |r| {
        let outcome =
            match r.and_then(|a| check_one(catalog, matcher, &listed, a, &opts.thresholds)) {
                Ok(o) => o,
                Err(e) => CheckOutcome::Failed {
                    path: error_path(&e).unwrap_or_default(),
                    error: e.to_string(),
                },
            };
        match &outcome {
            CheckOutcome::Checked {
                matches, listed, ..
            } if matches.is_empty() && listed.is_empty() => summary.unknown += 1,
            CheckOutcome::Checked { .. } => summary.known += 1,
            CheckOutcome::Failed { .. } => summary.failed += 1,
        }
        report(&outcome);
        Ok(())
    })?;
    summary.interrupted = !completed;
    summary.warnings = matcher.warnings();
    Ok(summary)
}

fn check_one(
    catalog: &Catalog,
    matcher: &Matcher,
    listed: &ListedIndex,
    a: Analysis,
    thresholds: &Thresholds,
) -> Result<CheckOutcome> {
    let mut listed_matches = listed.find(catalog, &a, thresholds)?;
    for l in &mut listed_matches {
        l.relation_text = wording::relation(l.relation);
    }
    let mut matches = Vec::new();
    for f in matcher.find(catalog, &a, thresholds)? {
        let kind = f.kind();
        let sightings = catalog.sightings(f.item.id)?;
        let earliest = catalog.earliest_among_variants(f.item.id, EARLIEST_MAX_VARIANTS)?;
        let earliest_of = earliest
            .as_ref()
            .map(|(_, sha)| *sha)
            .filter(|sha| *sha != f.item.sha256);
        matches.push(MatchReport {
            kind,
            distance: f.distance,
            relation: f.relation,
            relation_text: wording::relation(f.relation),
            evidence: f.evidence,
            confirmed_by: wording::evidence(f.evidence),
            change: wording::change(&f),
            edits: f.edits(),
            alignment: f.alignment.clone(),
            phash_distance: f.phash_distance,
            dhash_distance: f.dhash_distance,
            low_quality: f.low_quality,
            earliest: earliest.map(|(s, _)| s),
            earliest_of,
            sightings: sightings.len() as u64,
            frames: f.frames,
            overlap: f.overlap,
            item: f.item,
        });
    }
    Ok(CheckOutcome::Checked {
        path: a.path,
        sha256: a.fingerprint.sha256,
        pdq: a.fingerprint.pdq,
        matches,
        listed: listed_matches,
        warnings: a.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_bound_count_and_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sizes = [10usize, 10, 10, 50, 10, 10, 10, 10, 10];
        let files: Vec<PathBuf> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let p = dir.path().join(format!("{i}"));
                std::fs::write(&p, vec![0u8; n]).expect("write");
                p
            })
            .collect();
        let lens: Vec<usize> = chunks(&files, 3, 25).iter().map(|c| c.len()).collect();
        // 10+10 (a third would pass 25), 10, 50 alone, 10+10, 10+10, 10.
        assert_eq!(lens, [2, 1, 1, 2, 2, 1]);
        let lens: Vec<usize> = chunks(&files, 4, 1000).iter().map(|c| c.len()).collect();
        assert_eq!(lens, [4, 4, 1]);
        assert!(chunks(&[], 4, 10).is_empty());
    }
}
