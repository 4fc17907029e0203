//! The two batch jobs, `archive` and `check`: read → decode → hash on all
//! cores (rayon), then store or match one file at a time on the calling
//! thread, in input order, so output is deterministic and the catalog has
//! a single writer.
//!
//! Files are processed in small chunks so memory stays bounded by the
//! chunk, not by the batch, however many thousands of files are given.
//! A failure is reported for its file and the batch goes on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use crate::decode::trim::{self, Rect};
use crate::decode::{self, Limits, video};
use crate::error::{Error, Result};
use crate::hash::video::{FrameCollector, FrameHash};
use crate::hash::{self, Dihedral, Fingerprint, Hash256, PdqWithDihedrals, Perceptual, Sha256};
use crate::matching::{self, CORROBORATING_DISTANCE, Index, Thresholds};
use crate::store::exchange::ListedHash;
use crate::store::{
    Archive, Catalog, IndexedHash, Item, ItemId, NewItem, NewLink, NewSighting, NewVideo, Record,
    Recorded, Sighting, VideoFacts,
};

/// Progress reporting, implemented by the command-line front end.
pub trait Progress: Sync {
    /// The batch has `total` files.
    fn start(&self, total: u64);
    /// One more file is done.
    fn advance(&self);
    /// The batch is over.
    fn finish(&self);
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

/// One way of looking at a picture for matching: as decoded, or with a
/// uniform border (screenshot frame, letterbox) removed.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The hashes in all eight orientations.
    pub hashes: Perceptual,
    /// The part of the picture hashed, when a border was removed.
    pub trimmed: Option<Rect>,
}

/// One file read, decoded and hashed.
#[derive(Debug)]
pub struct Analysis {
    /// The file.
    pub path: PathBuf,
    /// Its bytes (kept for the store).
    pub bytes: Vec<u8>,
    /// Format name (`jpeg`, …).
    pub format: &'static str,
    /// Upright width.
    pub width: u32,
    /// Upright height.
    pub height: u32,
    /// EXIF orientation tag that was applied (1 = none).
    pub orientation: u8,
    /// SHA-256, PDQ, pHash, dHash of the picture as it is.
    pub fingerprint: Fingerprint,
    /// The picture as decoded (first) and, when it has a uniform border,
    /// without it. Empty for a video.
    pub probes: Vec<Probe>,
    /// For a video or animation: its facts and kept frames.
    pub video: Option<VideoAnalysis>,
    /// Problems that did not stop the analysis (a truncated video).
    pub warnings: Vec<String>,
}

/// What analysing a video found.
#[derive(Debug, Clone)]
pub struct VideoAnalysis {
    /// Container, codec, duration, frame counts.
    pub facts: VideoFacts,
    /// Kept frames in time order (at least one).
    pub frames: Vec<FrameHash>,
}

/// Reads, decodes and hashes one file.
///
/// # Errors
/// Any read, size-limit or decode error, with the file's path.
pub fn analyze_file(path: &Path, limits: &Limits) -> Result<Analysis> {
    analyze_inner(path, limits).map_err(|e| e.in_file(path))
}

fn analyze_inner(path: &Path, limits: &Limits) -> Result<Analysis> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > limits.max_bytes {
        return Err(decode::too_large_bytes(meta.len(), limits));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    analyze_bytes(path.to_path_buf(), bytes, limits)
}

/// Decodes and hashes bytes already in memory.
///
/// # Errors
/// Size-limit or decode errors (without a path).
pub fn analyze_bytes(path: PathBuf, bytes: Vec<u8>, limits: &Limits) -> Result<Analysis> {
    let sha = Sha256::of(&bytes);
    if video::sniff_video(&bytes).is_some() {
        return analyze_video(path, bytes, sha, limits);
    }
    let decoded = decode::decode_image(&bytes, limits)?;
    let whole = hash::perceptual(&decoded.image);
    let mut probes = vec![Probe {
        hashes: whole,
        trimmed: None,
    }];
    if let Some(r) = trim::content_rect(&decoded.image) {
        let inner = decoded.image.crop_imm(r.x, r.y, r.width, r.height);
        probes.push(Probe {
            hashes: hash::perceptual(&inner),
            trimmed: Some(r),
        });
    }
    Ok(Analysis {
        path,
        format: decoded.format.name(),
        width: decoded.width(),
        height: decoded.height(),
        orientation: decoded.orientation,
        fingerprint: whole.fingerprint(sha),
        probes,
        video: None,
        warnings: Vec::new(),
        bytes,
    })
}

fn analyze_video(path: PathBuf, bytes: Vec<u8>, sha: Sha256, limits: &Limits) -> Result<Analysis> {
    let mut collector = FrameCollector::new();
    let info = video::decode_video(&bytes, &limits.video, &limits.sampling, &mut |f| {
        collector.push(f);
        Ok(())
    })?;
    let sampled = collector.sampled();
    let frames = collector.finish(info.duration_secs);
    let Some(first) = frames.first() else {
        return Err(Error::Decode {
            format: info.container.name().to_string(),
            reason: "no frame could be decoded".to_string(),
        });
    };
    let fingerprint = first.hashes.fingerprint(sha);
    let facts = VideoFacts {
        container: info.container.name().to_string(),
        codec: info.codec.clone(),
        decoder: info.decoder.name().to_string(),
        duration_secs: info.duration_secs,
        frames_decoded: info.frames_decoded,
        frames_sampled: sampled,
        frames_kept: frames.len() as u64,
        warnings: (!info.warnings.is_empty()).then(|| info.warnings.join("\n")),
    };
    Ok(Analysis {
        path,
        format: info.container.name(),
        width: info.width,
        height: info.height,
        orientation: 1,
        fingerprint,
        probes: Vec::new(),
        video: Some(VideoAnalysis { facts, frames }),
        warnings: info.warnings,
        bytes,
    })
}

/// Runs `analyze_file` over `files` on all cores, chunk by chunk, and
/// hands each result to `sink` in input order. Stops early (between
/// chunks) when `stop` is set; returns whether it ran to the end.
fn analyze_all(
    files: &[PathBuf],
    limits: &Limits,
    progress: &dyn Progress,
    stop: &AtomicBool,
    sink: &mut dyn FnMut(Result<Analysis>) -> Result<()>,
) -> Result<bool> {
    progress.start(files.len() as u64);
    for chunk in files.chunks(chunk_size()) {
        if stop.load(Ordering::Relaxed) {
            progress.finish();
            return Ok(false);
        }
        let results: Vec<Result<Analysis>> = chunk
            .par_iter()
            .map(|p| {
                let r = analyze_file(p, limits);
                progress.advance();
                r
            })
            .collect();
        for r in results {
            sink(r)?;
        }
    }
    progress.finish();
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
#[derive(Debug, Serialize)]
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
/// input order.
///
/// # Errors
/// Only catalog-wide failures abort the batch; per-file failures are
/// reported through `report` and counted.
pub fn archive(
    archive: &mut Archive,
    files: &[PathBuf],
    opts: &ArchiveOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
    report: &mut dyn FnMut(&ArchiveOutcome),
) -> Result<Summary> {
    let mut index = Index::new(archive.catalog.pdq_hashes()?);
    let mut summary = Summary::default();
    let completed = analyze_all(files, &opts.common.limits, progress, stop, &mut |r| {
        let outcome = match r.and_then(|a| archive_one(archive, &mut index, a, opts)) {
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
        Ok(())
    })?;
    summary.interrupted = !completed;
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
    index: &mut Index,
    a: Analysis,
    opts: &ArchiveOptions,
) -> Result<ArchiveOutcome> {
    let fp = &a.fingerprint;
    let known = archive.catalog.item_by_sha(&fp.sha256)?;
    // Only PDQ matches become variant links (and, between two videos,
    // only when at least half of one is found in the other): possible
    // matches by pHash and dHash alone are for a person to confirm.
    let found: Vec<Found> = if known.is_some() {
        Vec::new()
    } else {
        find_all(archive, index, &a, &opts.common.thresholds)?
            .into_iter()
            .filter(|f| matches!(f.evidence, Evidence::Pdq | Evidence::PdqWithoutBorder))
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
            detail: f.detail(),
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
    let sighting = NewSighting {
        file_name: a.path.file_name().map(|n| n.to_string_lossy().into_owned()),
        ..opts.sighting.clone()
    };
    let is_video = a.video.is_some();
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
        },
        bytes: opts.copy.then_some(a.bytes.as_slice()),
        sighting,
        links: link_ids,
        video: a.video.as_ref().map(|v| NewVideo {
            info: v.facts.clone(),
            frames: v.frames.clone(),
        }),
    };
    let recorded = archive.record(&record).map_err(|e| e.in_file(&a.path))?;
    if let Recorded::NewItem(id) = recorded {
        match &a.video {
            None => index.push(IndexedHash {
                item: id,
                hash: fp.pdq.hash,
                quality: fp.pdq.quality,
                phash: Some(fp.phash),
                dhash: Some(fp.dhash),
                span: None,
            }),
            Some(v) => {
                for f in &v.frames {
                    index.push(IndexedHash {
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
    })
}

/// Share of one video found in the other above which two videos are
/// linked as variants when archiving.
const LINK_MIN_SHARE: f64 = 0.5;

/// How a match was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// Same SHA-256.
    Sha256,
    /// PDQ within the threshold.
    Pdq,
    /// PDQ within the threshold once a uniform border was removed.
    PdqWithoutBorder,
    /// PDQ disagrees, but pHash and dHash both agree closely (typical of
    /// crops): a possible match to verify by eye.
    PhashDhash,
}

/// A match of an analysed file against an archived item, before the
/// item's sightings are looked up.
#[derive(Debug, Clone)]
pub struct Found {
    /// The archived item.
    pub item: Item,
    /// PDQ distance in the matched orientation (0 for exact copies).
    pub distance: u32,
    /// The file is the archived picture under this transform.
    pub relation: Dihedral,
    /// What the match rests on.
    pub evidence: Evidence,
    /// pHash distance in the matched orientation.
    pub phash_distance: Option<u32>,
    /// dHash distance in the matched orientation.
    pub dhash_distance: Option<u32>,
    /// A PDQ hash of quality below the trusted minimum was involved.
    pub low_quality: bool,
    /// Matching frame pairs when a video is involved, by query time.
    pub frames: Vec<FrameMatch>,
    /// Between two videos: how much of each is found in the other.
    pub overlap: Option<Overlap>,
}

impl Found {
    /// A short description of the frames involved, for variant links.
    pub fn detail(&self) -> Option<String> {
        if let Some(o) = &self.overlap {
            return Some(format!(
                "{:.0}% of the new video's frames found, {:.0}% of the archived video's; offset {:+.1} s",
                o.query_share * 100.0,
                o.archived_share * 100.0,
                o.offset_secs
            ));
        }
        let best = self.frames.iter().min_by_key(|f| f.distance)?;
        match (best.query_secs, best.archived) {
            (None, Some((a, b))) => Some(format!("frame of the archived video at {a:.1}–{b:.1} s")),
            (Some(q), None) => Some(format!("frame of the new video at {q:.1} s")),
            _ => None,
        }
    }
}

/// One matching pair of frames (or of a frame and a photo).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrameMatch {
    /// Time of the frame in the queried video (none for a photo query).
    pub query_secs: Option<f64>,
    /// Span of the matching frame in the archived video (none for an
    /// archived photo).
    pub archived: Option<(f64, f64)>,
    /// PDQ distance.
    pub distance: u32,
}

/// How two videos overlap, vPDQ-style.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Overlap {
    /// Share of the query's trusted frames found in the archived video.
    pub query_share: f64,
    /// Share of the archived video's trusted frames found in the query.
    pub archived_share: f64,
    /// Median of (archived time − query time) over matching frames: where
    /// the query starts within the archived video.
    pub offset_secs: f64,
}

/// Every archived item an analysed file matches, best first: the exact
/// copy, then PDQ matches (a match on a low-quality hash only when pHash
/// or dHash corroborate it), then possible matches by pHash and dHash.
///
/// # Errors
/// Catalog errors.
pub fn find_all(
    archive: &Archive,
    index: &Index,
    a: &Analysis,
    thresholds: &Thresholds,
) -> Result<Vec<Found>> {
    find_in(&archive.catalog, index, a, thresholds)
}

/// [`find_all`] against a catalog alone (an archive's, or one built in
/// memory from a manifest).
///
/// # Errors
/// Catalog errors.
pub fn find_in(
    catalog: &Catalog,
    index: &Index,
    a: &Analysis,
    thresholds: &Thresholds,
) -> Result<Vec<Found>> {
    let fp = &a.fingerprint;
    let mut found: Vec<Found> = Vec::new();
    if let Some(item) = catalog.item_by_sha(&fp.sha256)? {
        found.push(Found {
            item,
            distance: 0,
            relation: Dihedral::Original,
            evidence: Evidence::Sha256,
            phash_distance: Some(0),
            dhash_distance: Some(0),
            low_quality: false,
            frames: Vec::new(),
            overlap: None,
        });
    }
    if let Some(v) = &a.video {
        let mut rest = find_for_video(catalog, index, v, thresholds, &found)?;
        found.append(&mut rest);
        return Ok(found);
    }
    let seen = |found: &[Found], sha: &Sha256| found.iter().any(|f| f.item.sha256 == *sha);
    let mut pdq: Vec<Found> = Vec::new();
    for probe in &a.probes {
        let h = &probe.hashes;
        for c in matching::find_matches(&h.pdq.dihedrals, h.pdq.pdq.quality, index, thresholds) {
            let item = catalog.item(c.item)?;
            if seen(&found, &item.sha256) {
                continue;
            }
            let (p, d) = evidence(h, c.relation, &item);
            if c.low_quality
                && !(p.is_some_and(|p| p <= CORROBORATING_DISTANCE)
                    || d.is_some_and(|d| d <= CORROBORATING_DISTANCE))
            {
                continue;
            }
            let candidate = Found {
                item,
                distance: c.distance,
                relation: c.relation,
                evidence: if probe.trimmed.is_some() {
                    Evidence::PdqWithoutBorder
                } else {
                    Evidence::Pdq
                },
                phash_distance: p,
                dhash_distance: d,
                low_quality: c.low_quality,
                frames: c
                    .span
                    .map(|span| FrameMatch {
                        query_secs: None,
                        archived: Some(span),
                        distance: c.distance,
                    })
                    .into_iter()
                    .collect(),
                overlap: None,
            };
            match pdq.iter_mut().find(|f| f.item.id == candidate.item.id) {
                Some(f) => {
                    let mut frames = std::mem::take(&mut f.frames);
                    frames.extend(candidate.frames.iter().copied());
                    if candidate.distance < f.distance {
                        *f = candidate;
                    }
                    frames.sort_by(|a, b| span_start(a).total_cmp(&span_start(b)));
                    frames.dedup();
                    f.frames = frames;
                }
                None => pdq.push(candidate),
            }
        }
    }
    pdq.sort_by_key(|f| (f.distance, f.item.id));
    found.extend(pdq);
    let mut similar: Vec<Found> = Vec::new();
    for probe in &a.probes {
        let h = &probe.hashes;
        let exclude: Vec<_> = found.iter().chain(&similar).map(|f| f.item.id).collect();
        for s in matching::find_similar(&h.phashes, &h.dhashes, index, &exclude) {
            let item = catalog.item(s.item)?;
            let distance = item.pdq.map_or(u32::MAX, |p| {
                h.pdq.dihedrals[s.relation.inverse() as usize].distance(&p.hash)
            });
            similar.push(Found {
                item,
                distance,
                relation: s.relation,
                evidence: Evidence::PhashDhash,
                phash_distance: Some(s.phash_distance),
                dhash_distance: Some(s.dhash_distance),
                low_quality: false,
                frames: s
                    .span
                    .map(|span| FrameMatch {
                        query_secs: None,
                        archived: Some(span),
                        distance,
                    })
                    .into_iter()
                    .collect(),
                overlap: None,
            });
        }
    }
    found.extend(similar);
    Ok(found)
}

fn span_start(f: &FrameMatch) -> f64 {
    f.archived.map_or(f.query_secs.unwrap_or(0.0), |s| s.0)
}

/// Matches of a video's kept frames: against archived photos (a frame
/// that shows the photo) and archived videos (shares of frames found
/// both ways and the time offset, as vPDQ compares videos). Frames of
/// quality below the trusted minimum (black or flat frames) take no part.
fn find_for_video(
    catalog: &Catalog,
    index: &Index,
    v: &VideoAnalysis,
    thresholds: &Thresholds,
    already: &[Found],
) -> Result<Vec<Found>> {
    use std::collections::BTreeMap;
    let trusted: Vec<&FrameHash> = v
        .frames
        .iter()
        .filter(|f| f.hashes.pdq.pdq.quality >= thresholds.min_quality)
        .collect();
    // Per archived item: (query frame time, archived span, distance, relation).
    type Hit = (f64, Option<(f64, f64)>, u32, Dihedral);
    let mut hits: BTreeMap<ItemId, Vec<Hit>> = BTreeMap::new();
    for f in &trusted {
        // The frame inside any border, and the whole frame when it differs.
        for h in std::iter::once(&f.hashes).chain(&f.whole) {
            let h = &h.pdq;
            for c in matching::find_matches(&h.dihedrals, h.pdq.quality, index, thresholds) {
                if c.low_quality || already.iter().any(|x| x.item.id == c.item) {
                    continue;
                }
                hits.entry(c.item).or_default().push((
                    f.start_secs,
                    c.span,
                    c.distance,
                    c.relation,
                ));
            }
        }
    }
    let mut out = Vec::new();
    for (id, hits) in hits {
        let item = catalog.item(id)?;
        let best =
            hits.iter()
                .min_by_key(|h| h.2)
                .copied()
                .unwrap_or((0.0, None, 0, Dihedral::Original));
        let mut frames: Vec<FrameMatch> = Vec::new();
        for &(q, span, distance, _) in &hits {
            // Keep the closest archived frame for each query frame.
            match frames.iter_mut().find(|m| m.query_secs == Some(q)) {
                Some(m) if m.distance <= distance => {}
                Some(m) => {
                    *m = FrameMatch {
                        query_secs: Some(q),
                        archived: span,
                        distance,
                    }
                }
                None => frames.push(FrameMatch {
                    query_secs: Some(q),
                    archived: span,
                    distance,
                }),
            }
        }
        frames.sort_by(|a, b| {
            a.query_secs
                .unwrap_or(0.0)
                .total_cmp(&b.query_secs.unwrap_or(0.0))
        });
        let overlap = if item.media_type == "video" {
            let archived_trusted = catalog
                .frames(id)?
                .iter()
                .filter(|f| f.pdq.quality >= thresholds.min_quality)
                .count()
                .max(1);
            let mut archived_hit: Vec<u64> = hits
                .iter()
                .filter_map(|h| h.1.map(|s| s.0.to_bits()))
                .collect();
            archived_hit.sort_unstable();
            archived_hit.dedup();
            let mut offsets: Vec<f64> = frames
                .iter()
                .filter_map(|m| Some(m.archived?.0 - m.query_secs?))
                .collect();
            offsets.sort_by(f64::total_cmp);
            Some(Overlap {
                query_share: frames.len() as f64 / trusted.len().max(1) as f64,
                archived_share: (archived_hit.len() as f64 / archived_trusted as f64).min(1.0),
                offset_secs: offsets.get(offsets.len() / 2).copied().unwrap_or(0.0),
            })
        } else {
            None
        };
        let (phash_distance, dhash_distance) =
            match v.frames.iter().find(|f| f.start_secs == best.0) {
                Some(f) if overlap.is_none() => evidence(&f.hashes, best.3, &item),
                _ => (None, None),
            };
        out.push(Found {
            item,
            distance: best.2,
            relation: best.3,
            evidence: Evidence::Pdq,
            phash_distance,
            dhash_distance,
            low_quality: false,
            frames,
            overlap,
        });
    }
    out.sort_by(|a, b| {
        let share = |f: &Found| {
            f.overlap
                .map_or(1.0, |o| o.query_share.max(o.archived_share))
        };
        share(b)
            .total_cmp(&share(a))
            .then(a.distance.cmp(&b.distance))
            .then(a.item.id.cmp(&b.item.id))
    });
    Ok(out)
}

/// pHash and dHash distances between an archived item and the probe
/// turned into the archived picture's orientation.
fn evidence(h: &Perceptual, relation: Dihedral, item: &Item) -> (Option<u32>, Option<u32>) {
    let t = relation.inverse() as usize;
    (
        item.phash.map(|p| p.distance(&h.phashes[t])),
        item.dhash.map(|d| d.distance(&h.dhashes[t])),
    )
}

/// How a checked file relates to an archived item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchKind {
    /// The same bytes.
    Exact,
    /// The same picture, same orientation, altered (resized,
    /// recompressed, lightly cropped, …).
    NearDuplicate,
    /// The same picture mirrored or rotated.
    MirroredOrRotated,
    /// Possibly the same picture (pHash and dHash agree, PDQ does not):
    /// typical of a crop; confirm by eye.
    Possible,
    /// A photo and a frame of a video show the same picture.
    VideoFrame,
    /// Two videos share frames (a re-upload, a trim, a re-encode).
    VideoOverlap,
}

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
    /// The item's earliest sighting (by first-seen, else archived-at).
    pub earliest: Option<Sighting>,
    /// Number of sightings of the item.
    pub sightings: u64,
}

/// The outcome for one checked file.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CheckSummary {
    /// Files matching something.
    pub known: u64,
    /// Files matching nothing.
    pub unknown: u64,
    /// Files that failed.
    pub failed: u64,
    /// Interrupted before the end.
    pub interrupted: bool,
}

/// Checks `files` against `archive` without modifying it.
///
/// # Errors
/// Only catalog-wide failures; per-file failures go through `report`.
pub fn check(
    archive: &Archive,
    files: &[PathBuf],
    opts: &Options,
    progress: &dyn Progress,
    stop: &AtomicBool,
    report: &mut dyn FnMut(&CheckOutcome),
) -> Result<CheckSummary> {
    check_catalog(&archive.catalog, files, opts, progress, stop, report)
}

/// [`check`] against a catalog alone: an archive's, or one built in
/// memory from a manifest (`check --manifest`), which has no object
/// store.
///
/// # Errors
/// Only catalog-wide failures; per-file failures go through `report`.
pub fn check_catalog(
    catalog: &Catalog,
    files: &[PathBuf],
    opts: &Options,
    progress: &dyn Progress,
    stop: &AtomicBool,
    report: &mut dyn FnMut(&CheckOutcome),
) -> Result<CheckSummary> {
    let index = Index::new(catalog.pdq_hashes()?);
    let listed = ListedIndex::new(catalog)?;
    let mut summary = CheckSummary::default();
    let completed = analyze_all(files, &opts.limits, progress, stop, &mut |r| {
        let outcome = match r.and_then(|a| check_one(catalog, &index, &listed, a, &opts.thresholds))
        {
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
    Ok(summary)
}

fn check_one(
    catalog: &Catalog,
    index: &Index,
    listed: &ListedIndex,
    a: Analysis,
    thresholds: &Thresholds,
) -> Result<CheckOutcome> {
    let listed_matches = listed.find(catalog, &a, thresholds)?;
    let mut matches = Vec::new();
    for f in find_in(catalog, index, &a, thresholds)? {
        let kind = match f.evidence {
            Evidence::Sha256 => MatchKind::Exact,
            Evidence::PhashDhash => MatchKind::Possible,
            _ if f.overlap.is_some() => MatchKind::VideoOverlap,
            _ if !f.frames.is_empty() => MatchKind::VideoFrame,
            _ if f.relation == Dihedral::Original => MatchKind::NearDuplicate,
            _ => MatchKind::MirroredOrRotated,
        };
        let sightings = catalog.sightings(f.item.id)?;
        matches.push(MatchReport {
            kind,
            distance: f.distance,
            relation: f.relation,
            relation_text: f.relation.describe(),
            evidence: f.evidence,
            phash_distance: f.phash_distance,
            dhash_distance: f.dhash_distance,
            low_quality: f.low_quality,
            earliest: sightings.first().cloned(),
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

/// A match of a checked file against a hash from an imported hash list
/// (`import --hash-list`): there is no file behind it, only the list's
/// name and the hash.
#[derive(Debug, Clone, Serialize)]
pub struct ListedMatch {
    /// Always `listed`.
    pub kind: &'static str,
    /// The list's name (its `--source`).
    pub list: String,
    /// The listed PDQ hash.
    pub pdq: Hash256,
    /// Its quality, when the list gave one.
    pub quality: Option<u8>,
    /// PDQ Hamming distance in the best orientation.
    pub distance: u32,
    /// How the checked file relates to the listed picture.
    pub relation: Dihedral,
    /// Plain-English form of `relation`.
    pub relation_text: &'static str,
    /// For a video: the time of the best-matching frame, seconds.
    pub query_secs: Option<f64>,
    /// The file the list was imported from.
    pub file_name: Option<String>,
    /// When the list was imported.
    pub imported_at: String,
}

/// The hashes of every imported hash list, apart from the items' index
/// (in its entries the `item` slot holds a position in `hashes`, not an
/// item).
struct ListedIndex {
    hashes: Vec<ListedHash>,
    index: Index,
}

impl ListedIndex {
    fn new(catalog: &Catalog) -> Result<ListedIndex> {
        let hashes = catalog.listed_hashes()?;
        let index = Index::new(
            (0_i64..)
                .zip(&hashes)
                .map(|(i, h)| IndexedHash {
                    item: ItemId(i),
                    hash: h.hash,
                    // A list without qualities vouches for its hashes.
                    quality: h.quality.unwrap_or(100),
                    phash: None,
                    dhash: None,
                    span: None,
                })
                .collect(),
        );
        Ok(ListedIndex { hashes, index })
    }

    /// Listed hashes within the threshold of the file (each probe of a
    /// photo; each trusted frame of a video), closest first. A match
    /// involving a low-quality hash is left out: a list gives no pHash or
    /// dHash to corroborate it.
    fn find(
        &self,
        catalog: &Catalog,
        a: &Analysis,
        thresholds: &Thresholds,
    ) -> Result<Vec<ListedMatch>> {
        if self.index.is_empty() {
            return Ok(Vec::new());
        }
        let mut queries: Vec<(&PdqWithDihedrals, Option<f64>)> = Vec::new();
        match &a.video {
            None => queries.extend(a.probes.iter().map(|p| (&p.hashes.pdq, None))),
            Some(v) => {
                for f in &v.frames {
                    for h in std::iter::once(&f.hashes).chain(&f.whole) {
                        queries.push((&h.pdq, Some(f.start_secs)));
                    }
                }
            }
        }
        let mut best: std::collections::BTreeMap<i64, (u32, Dihedral, Option<f64>)> =
            std::collections::BTreeMap::new();
        for (q, secs) in queries {
            for c in matching::find_matches(&q.dihedrals, q.pdq.quality, &self.index, thresholds) {
                if c.low_quality {
                    continue;
                }
                let e = best
                    .entry(c.item.0)
                    .or_insert((c.distance, c.relation, secs));
                if c.distance < e.0 {
                    *e = (c.distance, c.relation, secs);
                }
            }
        }
        let mut out = Vec::new();
        for (i, (distance, relation, query_secs)) in best {
            let Some(h) = usize::try_from(i).ok().and_then(|i| self.hashes.get(i)) else {
                continue;
            };
            let record = catalog.import_record(h.import)?;
            out.push(ListedMatch {
                kind: "listed",
                list: h.list.clone(),
                pdq: h.hash,
                quality: h.quality,
                distance,
                relation,
                relation_text: relation.describe(),
                query_secs,
                file_name: record.as_ref().and_then(|r| r.file_name.clone()),
                imported_at: record.map(|r| r.imported_at).unwrap_or_default(),
            });
        }
        out.sort_by(|a, b| (a.distance, &a.list, a.pdq.0).cmp(&(b.distance, &b.list, b.pdq.0)));
        Ok(out)
    }
}
