//! Matching: which archived items does an analysed file show, how was
//! each match confirmed, and what was done to the picture.
//!
//! Matching is its own stage, called alike by `check`, by `archive` (for
//! variant links) and by `report`, so a match is found and classified in
//! one place:
//!
//! 1. candidates: the same SHA-256; PDQ within the threshold in any of
//!    the eight orientations, for each probe (the picture, and the
//!    picture inside a uniform border); stored local features voted for
//!    by the query's features; pHash/dHash neighbours ([`index`]);
//! 2. confirmation: a PDQ match within the threshold stands on its own
//!    (the industry's tested rule); every other candidate must pass the
//!    geometric verification of [`verify`], which also says what was done
//!    to the picture (crop, rotation, screenshot, covered band, mirror).
//!    A candidate that fails it is not reported.
//!
//! Thresholds follow PDQ's published guidance: two hashes match at a
//! Hamming distance of 31 or less (of 256 bits), and a hash whose quality
//! is below 50 (flat or featureless pictures) is not trusted on its own.

pub mod features;
pub mod hamming;
pub mod verify;

mod index;
pub mod listed;
pub mod slab;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analyze::{Analysis, Probe, VideoAnalysis};
use crate::error::Result;
use crate::hash::features::Features;
use crate::hash::video::FrameHash;
use crate::hash::{Dihedral, Perceptual, Sha256};
use crate::store::{Archive, Catalog, Item, ItemId};
use crate::timings;
use verify::{Alignment, Edit, VerifyParams};

pub use features::{FeatureEntry, FeatureIndex, FeatureIndexOpen, FeatureSource, HeldOnly};
pub use index::{
    Candidate, INDEX_FILE, Index, IndexCheck, IndexOpen, MERGE_AT, MIN_VOTES, Similar,
    VOTE_DISTANCE, find_matches, find_similar,
};

/// PDQ match threshold from the PDQ paper and reference implementation.
pub const DEFAULT_MAX_DISTANCE: u32 = 31;
/// Below this PDQ quality a hash is not trusted alone.
pub const MIN_TRUSTED_QUALITY: u8 = 50;
/// pHash/dHash distance (of 64 bits) taken as corroborating a weak PDQ
/// match.
pub const CORROBORATING_DISTANCE: u32 = 12;

/// Index votes a shortlisted picture needs when the index is asked with
/// a file's stored features ([`Matcher::find_variants`], as `archive`
/// links variants): a copy, crop or screenshot of a picture shares
/// dozens of its strongest features with it.
pub const MIN_VARIANT_VOTES: usize = 6;

/// pHash distance at or below which, together with [`SIMILAR_DHASH`], a
/// pair PDQ does not match is nominated for verification (crops beyond
/// PDQ's reach keep pHash and dHash close). Never a match on its own.
pub const SIMILAR_PHASH: u32 = 6;
/// dHash distance for a nomination; see [`SIMILAR_PHASH`].
pub const SIMILAR_DHASH: u32 = 8;

/// Matching thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Largest PDQ Hamming distance reported as a match.
    pub max_distance: u32,
    /// PDQ quality below which a match needs corroboration.
    pub min_quality: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_distance: DEFAULT_MAX_DISTANCE,
            min_quality: MIN_TRUSTED_QUALITY,
        }
    }
}

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
    /// Confirmed by local features in one geometric arrangement (see
    /// [`verify`]): crops, screenshots, banners, small rotations.
    Features,
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
    /// How the file shows the archived picture, when their local
    /// features were fitted (always for [`Evidence::Features`]).
    pub alignment: Option<Alignment>,
}

impl Found {
    /// The match of a file with its own archived item (same bytes).
    pub fn exact(item: Item) -> Found {
        Found {
            item,
            distance: 0,
            relation: Dihedral::Original,
            evidence: Evidence::Sha256,
            phash_distance: Some(0),
            dhash_distance: Some(0),
            low_quality: false,
            frames: Vec::new(),
            overlap: None,
            alignment: None,
        }
    }

    /// The kind of match, decided here only.
    pub fn kind(&self) -> MatchKind {
        match self.evidence {
            Evidence::Sha256 => MatchKind::Exact,
            _ if self.overlap.is_some() => MatchKind::VideoOverlap,
            _ if !self.frames.is_empty() => MatchKind::VideoFrame,
            Evidence::Features => MatchKind::Altered,
            _ if self.relation == Dihedral::Original => MatchKind::NearDuplicate,
            _ => MatchKind::MirroredOrRotated,
        }
    }

    /// The edits found by the feature fit, most telling first.
    pub fn edits(&self) -> Vec<Edit> {
        self.alignment
            .as_ref()
            .map(Alignment::edits)
            .unwrap_or_default()
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

/// The matcher: the indexes over everything a catalog holds (PDQ hashes
/// of photos and frames, pHash/dHash neighbours, the stored local
/// features), opened once per process and kept — for a command's batch,
/// for the web app's life — and brought up to date with
/// [`Matcher::follow`] as the archive changes. It returns matches as
/// facts ([`Found`]: the item, how it was confirmed, the alignment and
/// edits); what they are called is the report's business.
///
/// For an archive (`dir`), the indexes are its persistent ones
/// ([`Index::open`], [`FeatureIndex::open`]; an index missing or stale
/// is built); a catalog without a directory (one built from a manifest)
/// is indexed in memory.
#[derive(Debug, Clone)]
pub struct Matcher {
    index: Index,
    dir: Option<PathBuf>,
    /// Size and time of the index files when they were read, to notice
    /// a writer's new snapshot or segments.
    files: [Option<(u64, std::time::SystemTime)>; 2],
    /// How many entries the feature index may hold outside its segments
    /// before [`Matcher::file_recent`] files them.
    file_at: usize,
}

/// Pictures and frames a long `archive` keeps in memory, each voted on
/// one by one by every later file, before it files them in a segment of
/// the feature index: without it a batch of n files costs n² votes.
pub const FILE_RECENT_AT: usize = 256;

impl Matcher {
    /// Opens the matcher over `catalog` (see [`Matcher`]); `progress`
    /// gets items done and items in all while a feature index is built.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn open(
        catalog: &Catalog,
        dir: Option<&Path>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Matcher> {
        let index = match dir {
            Some(dir) => {
                let index = Index::open(dir, catalog)?.0;
                index.with_feature_index(FeatureIndex::open(dir, catalog, progress)?)
            }
            None => {
                let _t = timings::stage("index build");
                let mut entries = Vec::new();
                catalog.feature_rows(ItemId(0), ItemId(i64::MAX), &mut |r| {
                    entries.extend(FeatureEntry::from_row(r).ok());
                })?;
                Index::new(catalog.pdq_hashes()?)
                    .with_feature_index(FeatureIndex::in_memory(entries))
            }
        };
        Ok(Matcher {
            index,
            files: dir.map(index_files).unwrap_or_default(),
            dir: dir.map(Path::to_path_buf),
            file_at: FILE_RECENT_AT,
        })
    }

    /// A matcher over an index built by the caller (tests, benches).
    pub fn of_index(index: Index) -> Matcher {
        Matcher {
            index,
            dir: None,
            files: [None, None],
            file_at: FILE_RECENT_AT,
        }
    }

    /// Brings the matcher up to date with the catalog: items archived
    /// since (by this process or another) join it; when a writer has
    /// filed them in a new snapshot or segments, or the catalog changed
    /// otherwise (a correction, a redaction), the indexes are opened
    /// again (and rebuilt if stale). Returns true when it reopened.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn follow(&mut self, catalog: &Catalog) -> Result<bool> {
        let Some(dir) = self.dir.clone() else {
            return Ok(false);
        };
        let files = index_files(&dir);
        if files == self.files
            && self.index.follow(catalog)?
            && self.index.features_mut().follow(catalog)?
        {
            return Ok(false);
        }
        *self = Matcher::open(catalog, Some(&dir), &mut |_, _| {})?;
        Ok(true)
    }

    /// Files the feature entries archived since the index was opened in
    /// a new segment once there are [`FILE_RECENT_AT`] of them, and opens
    /// the indexes again, so a long batch does not vote on all it has
    /// archived for each new file. Does nothing for an index in memory
    /// or a linear vote; a segment that cannot be written is tried again
    /// [`FILE_RECENT_AT`] entries later. Returns true when it filed them.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn file_recent(&mut self, catalog: &Catalog) -> Result<bool> {
        let features = self.index.features();
        let filed = matches!(
            features.how(),
            Some(FeatureIndexOpen::Current | FeatureIndexOpen::Built | FeatureIndexOpen::Rebuilt)
        );
        let held = features.recent().len();
        let Some(dir) = self.dir.clone() else {
            return Ok(false);
        };
        if !filed || held < self.file_at {
            return Ok(false);
        }
        let saved = FeatureIndex::save(&dir, catalog, &mut |_, _| {}).is_ok();
        if saved {
            self.follow(catalog)?;
        }
        let held = self.index.features().recent().len();
        self.file_at = held + FILE_RECENT_AT;
        Ok(saved && held < FILE_RECENT_AT)
    }

    /// The indexes.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The indexes, to add what this process archives.
    pub fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }

    /// What a command should say once about the archive's indexes (see
    /// [`Index::warnings`]).
    pub fn warnings(&self) -> Vec<String> {
        self.index.warnings()
    }

    /// Every archived item an analysed file matches, best first: the
    /// exact copy, then PDQ matches (a match on a low-quality hash only
    /// when pHash or dHash corroborate it), then pictures and frames
    /// confirmed by local features.
    ///
    /// # Errors
    /// Catalog errors, and I/O errors reading the feature index.
    pub fn find(
        &self,
        catalog: &Catalog,
        a: &Analysis,
        thresholds: &Thresholds,
    ) -> Result<Vec<Found>> {
        find_in(catalog, &self.index, a, thresholds, None)
    }

    /// [`Matcher::find`] as `archive` links a new file to what it is a
    /// variant of: the feature index is asked with the file's stored
    /// features (its strongest, spread over the picture: about a seventh
    /// of a query's) instead of all of them, and what they nominate is
    /// verified with all of them. In a large archive this is most of a
    /// check's cost, paid for every file archived.
    ///
    /// # Errors
    /// As [`Matcher::find`].
    pub fn find_variants(
        &self,
        catalog: &Catalog,
        a: &Analysis,
        thresholds: &Thresholds,
    ) -> Result<Vec<Found>> {
        let stored = a.stored_features();
        find_in(catalog, &self.index, a, thresholds, stored.as_ref())
    }
}

/// Size and modification time of the hash index file and the feature
/// index's state file.
fn index_files(dir: &Path) -> [Option<(u64, std::time::SystemTime)>; 2] {
    [INDEX_FILE, features::STATE_FILE].map(|f| {
        std::fs::metadata(dir.join(f))
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)))
    })
}

/// Brings the archive's persistent indexes up to date after items were
/// added (by `archive` or an import): the hash index folds in
/// [`MERGE_AT`] or more new hashes, or rebuilds a stale one; the feature
/// index files the new items' features in a segment (or is built, when
/// there is none; `progress` gets items done and items in all).
///
/// # Errors
/// Catalog errors, and I/O errors writing the feature index.
pub fn update_index(archive: &Archive, progress: &mut dyn FnMut(u64, u64)) -> Result<()> {
    Index::open(archive.dir(), &archive.catalog).map(drop)?;
    FeatureIndex::save(archive.dir(), &archive.catalog, progress)
}

/// [`Matcher::find`] on its indexes.
fn find_in(
    catalog: &Catalog,
    index: &Index,
    a: &Analysis,
    thresholds: &Thresholds,
    nominate_with: Option<&Features>,
) -> Result<Vec<Found>> {
    let fp = &a.fingerprint;
    let mut found: Vec<Found> = Vec::new();
    if let Some(item) = catalog.item_by_sha(&fp.sha256)? {
        found.push(Found::exact(item));
    }
    if let Some(v) = &a.video {
        let mut rest = find_for_video(catalog, index, v, thresholds, &found)?;
        found.append(&mut rest);
        return Ok(found);
    }
    // The feature index is read on another thread while the PDQ index
    // is searched here (the catalog stays on this thread).
    std::thread::scope(|scope| {
        let nomination = a
            .features
            .as_ref()
            .map(|q| scope.spawn(move || nominate(index, q, nominate_with)));
        let found = with_pdq_matches(catalog, index, a, thresholds, found)?;
        let nomination = match nomination.map(|h| h.join()) {
            None => None,
            Some(Ok(n)) => Some(n?),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
        };
        let mut found = found;
        found.extend(verified_by_features(
            catalog,
            index,
            a,
            &found,
            nominate_with,
            nomination,
        )?);
        Ok(found)
    })
}

/// `found` (the exact copy, if any) followed by the PDQ matches of the
/// analysed picture's probes, described by their feature fit.
fn with_pdq_matches(
    catalog: &Catalog,
    index: &Index,
    a: &Analysis,
    thresholds: &Thresholds,
    mut found: Vec<Found>,
) -> Result<Vec<Found>> {
    let seen = |found: &[Found], sha: &Sha256| found.iter().any(|f| f.item.sha256 == *sha);
    let mut pdq: Vec<Found> = Vec::new();
    let pdq_search = timings::stage("pdq search");
    for probe in &a.probes {
        let h = &probe.hashes;
        for c in find_matches(&h.pdq.dihedrals, h.pdq.pdq.quality, index, thresholds) {
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
                alignment: None,
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
    drop(pdq_search);
    pdq.sort_by_key(|f| (f.distance, f.item.id));
    found.extend(pdq);
    // Describe PDQ matches by their feature fit where both sides have
    // features (the fit may fail on a flat picture: the PDQ match stands).
    if let Some(q) = &a.features {
        for f in found.iter_mut().filter(|f| f.evidence != Evidence::Sha256) {
            let key = crate::store::FeatureKey {
                item: f.item.id,
                frame: None,
            };
            if let Some(stored) = index.feature_entry(catalog, key)? {
                let _t = timings::stage("verification");
                f.alignment = verify::verify(&stored.features, q, &VerifyParams::default());
            }
        }
    }
    Ok(found)
}

/// A picture or video frame confirmed by local features.
#[derive(Debug, Clone)]
pub struct FeatureHit {
    /// The archived item.
    pub item: ItemId,
    /// For a frame of a video: the span it stands for.
    pub span: Option<(f64, f64)>,
    /// How the query shows it.
    pub alignment: Alignment,
}

/// Pictures and video frames confirmed by local features alone:
/// nominated by the feature index ([`FeatureIndex::nominate`]: its
/// shortlist, each then held to the linear vote on its own stored
/// features) or by pHash and dHash together ([`find_similar`], for each
/// probe), then kept only when [`verify::verify`] confirms them. Skips
/// items in `exclude`; most consistent corners first. Stored features
/// not held by the index are read from `source`. The index is asked with
/// `nominate_with` when given (see [`Matcher::find_variants`]), else with
/// `query`; verification is always with `query`.
///
/// # Errors
/// Store errors reading stored features.
pub fn feature_hits(
    index: &Index,
    source: &dyn FeatureSource,
    query: &Features,
    nominate_with: Option<&Features>,
    probes: &[Probe],
    exclude: &[ItemId],
) -> Result<Vec<FeatureHit>> {
    let nomination = nominate(index, query, nominate_with)?;
    confirm_nominated(
        index,
        source,
        query,
        nominate_with,
        nomination,
        probes,
        exclude,
    )
}

/// What the feature index nominates for `query` (asked with
/// `nominate_with` when given): its shortlist, and the entries held
/// outside it that pass the linear vote.
type Nomination = (Vec<features::Nominee>, Vec<usize>);

/// Asks the feature index (see [`feature_hits`]).
fn nominate(
    index: &Index,
    query: &Features,
    nominate_with: Option<&Features>,
) -> Result<Nomination> {
    if query.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let _vote = timings::stage("feature vote");
    // The corners of a query's extra coarse levels are for verification;
    // the index holds those of the stored levels only.
    let stored_levels;
    let asked = match nominate_with {
        Some(f) => f,
        None => {
            stored_levels = query.within_levels(crate::hash::features::LEVELS);
            &stored_levels
        }
    };
    index.features().nominate(asked, &asked.mirrored())
}

/// [`feature_hits`] once the index has nominated.
fn confirm_nominated(
    index: &Index,
    source: &dyn FeatureSource,
    query: &Features,
    nominate_with: Option<&Features>,
    (shortlist, tail): Nomination,
    probes: &[Probe],
    exclude: &[ItemId],
) -> Result<Vec<FeatureHit>> {
    if query.is_empty() {
        return Ok(Vec::new());
    }
    let mirrored = query.mirrored();
    let nominated_by = nominate_with.map(|f| (f, f.mirrored()));
    let fetch = timings::stage("feature fetch");
    let nominated: Vec<FeatureEntry> = tail
        .iter()
        .map(|&k| index.features().recent()[k].clone())
        .filter(|e| !exclude.contains(&e.key.item))
        .collect();
    // Entries nominated by the linear vote or by pHash/dHash are
    // verified as they are; the index's shortlist must first pass the
    // linear vote on its own features (counted in verification's own
    // comparison of descriptors).
    let mut nominated: Vec<(FeatureEntry, usize)> = nominated.into_iter().map(|e| (e, 0)).collect();
    for n in shortlist {
        if exclude.contains(&n.key.item) || nominated.iter().any(|(e, _)| e.key == n.key) {
            continue;
        }
        // Asked with a file's stored features, a variant shares many of
        // them: the nominees a few coincidences put on the shortlist
        // (about fifty a picture in a million, each costing a
        // verification) are left out.
        if nominated_by.is_some() && n.votes < MIN_VARIANT_VOTES {
            continue;
        }
        let Some(e) = index.feature_entry(source, n.key)? else {
            continue;
        };
        match &nominated_by {
            // Asked with stored features, a nominee is held to the
            // linear vote on them, as the entries outside the index are
            // (and as the linear vote alone would hold it): a comparison
            // of 140 descriptors with 140, a tenth of a verification.
            Some((f, m)) => {
                if features::vote_count(&e.features, f, m) >= MIN_VOTES {
                    nominated.push((e, 0));
                }
            }
            None => nominated.push((e, MIN_VOTES)),
        }
    }
    for probe in probes {
        let h = &probe.hashes;
        for s in find_similar(&h.phashes, &h.dhashes, index, &[]) {
            if exclude.contains(&s.item) {
                continue;
            }
            for e in index.feature_entries_of(source, s.item)? {
                if e.span == s.span && !nominated.iter().any(|(n, _)| n.key == e.key) {
                    nominated.push((e, 0));
                }
            }
        }
    }
    drop(fetch);
    let params = VerifyParams::default();
    // Candidates are verified on all cores; the order is restored below.
    use rayon::prelude::*;
    let mut out: Vec<FeatureHit> = nominated
        .into_par_iter()
        .filter_map(|(e, votes)| {
            let _t = timings::stage("verification");
            verify::verify_voted(&e.features, query, &mirrored, &params, votes).map(|alignment| {
                FeatureHit {
                    item: e.key.item,
                    span: e.span,
                    alignment,
                }
            })
        })
        .collect();
    out.sort_by(|x, y| {
        y.alignment
            .inliers
            .cmp(&x.alignment.inliers)
            .then(x.item.cmp(&y.item))
    });
    Ok(out)
}

/// [`feature_hits`] as matches, with their items: one per item, its best
/// fit, with every matching frame of a video.
fn verified_by_features(
    catalog: &Catalog,
    index: &Index,
    a: &Analysis,
    already: &[Found],
    nominate_with: Option<&Features>,
    nomination: Option<Nomination>,
) -> Result<Vec<Found>> {
    let (Some(query), Some(nomination)) = (a.features.as_ref(), nomination) else {
        return Ok(Vec::new());
    };
    let exclude: Vec<ItemId> = already.iter().map(|f| f.item.id).collect();
    let mut out: Vec<Found> = Vec::new();
    let hits = confirm_nominated(
        index,
        catalog,
        query,
        nominate_with,
        nomination,
        &a.probes,
        &exclude,
    )?;
    for hit in hits {
        let relation = dihedral_of(&hit.alignment);
        let h = &a.probes[0].hashes;
        let pdq_to = |hash: &crate::hash::Hash256| {
            h.pdq.dihedrals[relation.inverse() as usize].distance(hash)
        };
        let frame = hit.span.map(|span| FrameMatch {
            query_secs: None,
            archived: Some(span),
            distance: index
                .entry(hit.item, Some(span))
                .map_or(u32::MAX, |e| pdq_to(&e.hash)),
        });
        if let Some(f) = out.iter_mut().find(|f| f.item.id == hit.item) {
            // Hits come best first: later frames only add their spans.
            f.frames.extend(frame);
            f.frames
                .sort_by(|a, b| span_start(a).total_cmp(&span_start(b)));
            continue;
        }
        let item = catalog.item(hit.item)?;
        let distance = match (item.pdq, &frame) {
            (Some(p), _) => pdq_to(&p.hash),
            (None, Some(f)) => f.distance,
            (None, None) => u32::MAX,
        };
        let (phash_distance, dhash_distance) = evidence(h, relation, &item);
        out.push(Found {
            item,
            distance,
            relation,
            evidence: Evidence::Features,
            phash_distance,
            dhash_distance,
            low_quality: false,
            frames: frame.into_iter().collect(),
            overlap: None,
            alignment: Some(hit.alignment),
        });
    }
    Ok(out)
}

/// The eight-way orientation nearest to a fitted alignment.
fn dihedral_of(a: &Alignment) -> Dihedral {
    let quarter = ((a.rotation_degrees / 90.0).round() as i64).rem_euclid(4);
    match (a.mirrored, quarter) {
        (false, 0) => Dihedral::Original,
        (false, 1) => Dihedral::Rotate270,
        (false, 2) => Dihedral::Rotate180,
        (false, _) => Dihedral::Rotate90,
        (true, 0) => Dihedral::FlipY,
        (true, 1) => Dihedral::FlipMinus1,
        (true, 2) => Dihedral::FlipX,
        (true, _) => Dihedral::FlipPlus1,
    }
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
            for c in find_matches(&h.dihedrals, h.pdq.quality, index, thresholds) {
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
            alignment: None,
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
    /// The same photograph, cropped, turned a little, shown in a
    /// screenshot or partly covered: confirmed by local features.
    Altered,
    /// A photo and a frame of a video show the same picture.
    VideoFrame,
    /// Two videos share frames (a re-upload, a trim, a re-encode).
    VideoOverlap,
}

/// A whole-archive verify: the records ([`crate::store::verify::verify`])
/// and then the hash index against the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveCheck {
    /// Every problem, the index's last.
    pub problems: Vec<crate::store::verify::Problem>,
    /// Counts, chain head, leftovers.
    pub summary: crate::store::verify::VerifySummary,
    /// The index's check.
    pub index: IndexCheck,
}

/// Verifies `archive` (see [`crate::store::verify::verify`]), then its
/// hash index, and notes the result beside the catalog for `status`
/// (a failure to write that note is not a problem of the archive).
/// `each` gets every problem as it is found.
///
/// # Errors
/// Only failures that stop the walk (the catalog cannot be read).
pub fn verify_archive(
    archive: &Archive,
    expected_head: Option<&Sha256>,
    each: &mut dyn FnMut(&crate::store::verify::Problem),
) -> Result<ArchiveCheck> {
    use crate::store::verify::{self as v, LastVerify, Problem, ProblemKind};
    let mut problems = Vec::new();
    let summary = v::verify(archive, expected_head, &mut |p| {
        each(p);
        problems.push(p.clone());
    })?;
    let index = Index::verify(archive.dir(), &archive.catalog)?;
    if let Some(detail) = &index.problem {
        let p = Problem {
            kind: ProblemKind::Index,
            subject: INDEX_FILE.to_string(),
            detail: detail.clone(),
        };
        each(&p);
        problems.push(p);
    }
    let (feature_problem, damaged) = FeatureIndex::verify(archive.dir(), &archive.catalog)?;
    let feature_problems = feature_problem
        .map(|detail| Problem {
            kind: ProblemKind::FeatureIndex,
            subject: features::STATE_FILE.to_string(),
            detail,
        })
        .into_iter()
        .chain(damaged.into_iter().map(|line| {
            let (subject, detail) = line.split_once(": ").unwrap_or((&line, ""));
            Problem {
                kind: ProblemKind::DamagedFeatures,
                subject: subject.to_string(),
                detail: format!("{detail}; matched without its local features"),
            }
        }));
    for p in feature_problems {
        each(&p);
        problems.push(p);
    }
    let _ = LastVerify {
        at: crate::time::now(),
        problems: problems.len() as u64,
        items: summary.items,
        sightings: summary.sightings,
        chain_entries: summary.chain_entries,
        head: summary.head.map(|h| h.hash.to_string()),
    }
    .record(archive.dir());
    Ok(ArchiveCheck {
        problems,
        summary,
        index,
    })
}
