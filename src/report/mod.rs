//! Provenance report: what a fact-checker hands an editor. For one file
//! (matched, never archived) or one archived item, it gathers the item
//! and every near-duplicate variant the archive links to it, all their
//! sightings in date order, the earliest known appearance, the captions
//! the picture was shown with, a warning when it is being recycled, the
//! metadata the file claims, and how all of this was computed.
//!
//! [`build`] makes a [`Report`], a plain serialisable value in a
//! deterministic order; the writers in [`json`], [`markdown`] and
//! [`html`] only format it. The JSON form is the versioned schema
//! [`SCHEMA`], documented in `docs/report-schema.md`.
//!
//! Rules worth knowing (also stated in every report's method section):
//!
//! - Variants are the connected component of the target over the
//!   catalog's variant links (made when archiving from confirmed
//!   matches), plus, for a file, everything the matcher confirms for it
//!   now. Nothing unconfirmed is reported: [`Report::earlier_possible`]
//!   and the verdict's `possible_variants` stay in the schema for its
//!   readers and are always empty.
//! - A sighting's date is its first-seen date, or failing that the time
//!   it was archived (`dated_by: "archived"`): an upper bound on when it
//!   was first seen. Only sightings with a first-seen date can raise the
//!   recycled-media warning.
//! - Metadata in the file (EXIF, XMP, IPTC) is shown as claims made by
//!   the file, never used for dating.

pub mod html;
pub mod json;
pub mod markdown;
pub mod metadata;
pub mod wording;

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use serde::Serialize;

use crate::analyze::{self, Analysis};
use crate::decode::{self, Limits};
use crate::error::{Error, Result};
use crate::hash::{DHASH_KIND, Dihedral, Hash64, PHASH_KIND, Pdq, Sha256};
use crate::matching::verify::{Alignment, Edit, VerifyParams};
use crate::matching::{CORROBORATING_DISTANCE, SIMILAR_DHASH, SIMILAR_PHASH, Thresholds};
use crate::matching::{Evidence, Found, FrameMatch, MatchKind};
use crate::store::{Archive, Item, VideoFacts};

pub use metadata::FileMetadata;

/// Name and version of the JSON schema; bumped on any incompatible
/// change.
pub const SCHEMA: &str = "firstseen-report/1";
/// Default for [`ReportOptions::recycled_days`].
pub const DEFAULT_RECYCLED_DAYS: u32 = 30;
/// Long side of report thumbnails, in pixels.
pub const THUMB_SIDE: u32 = 320;
/// Most variants a report follows (a huge component is cut, with a
/// note).
pub const MAX_VARIANTS: usize = 500;
/// Most variants given a thumbnail (each one is decoded).
pub const MAX_THUMBNAILS: usize = 60;

/// What to report on.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A file on disk: analysed and matched, not archived.
    File(&'a Path),
    /// An archived item: its SHA-256 or a unique prefix.
    Item(&'a str),
}

/// How to build a report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Decoder limits (for the file and for stored objects).
    pub limits: Limits,
    /// Match thresholds.
    pub thresholds: Thresholds,
    /// A sighting first seen more than this many days after the earliest
    /// appearance raises the recycled-media warning.
    pub recycled_days: u32,
    /// Decode pictures into thumbnails (only the HTML writer shows them).
    pub thumbnails: bool,
    /// The post being checked (where the file was found now, what it
    /// claims, when): the verdict is said against it.
    pub post: Option<Post>,
}

/// The post a checked file came from, as the user describes it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Post {
    /// Where it is circulating now.
    pub source: Option<String>,
    /// What it claims.
    pub caption: Option<String>,
    /// When it was posted (stored form).
    pub first_seen: Option<String>,
    /// Whole days from the earliest known appearance to the post.
    pub days_after_earliest: Option<i64>,
    /// The post is at least the recycled-media threshold later than the
    /// earliest known appearance.
    pub recycled: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            limits: Limits::default(),
            thresholds: Thresholds::default(),
            recycled_days: DEFAULT_RECYCLED_DAYS,
            thumbnails: false,
            post: None,
        }
    }
}

/// A provenance report. Field order is the JSON order.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// When the report was made (UTC).
    pub generated_at: String,
    /// What the report is about.
    pub target: Target,
    /// The answer in one line, and its counts.
    pub verdict: Verdict,
    /// The target's media: hashes, format, size.
    pub media: Media,
    /// Claims the file makes about itself; `None` when its bytes are not
    /// at hand (an item archived with `--no-copy`) or it is a video.
    pub metadata: Option<FileMetadata>,
    /// The earliest sighting of the target or a confirmed variant.
    pub earliest: Option<Appearance>,
    /// An unconfirmed (possible) match seen before `earliest`, or at all
    /// when nothing is confirmed.
    pub earlier_possible: Option<Appearance>,
    /// The post being checked, when described (`report FILE --source …
    /// --caption … --first-seen …`), dated against `earliest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<Post>,
    /// Sightings first seen more than the threshold after `earliest`.
    pub recycled: Vec<Recycled>,
    /// The target's archived item (if any) and every variant: exact
    /// first, then confirmed, then possible, each by first appearance.
    pub variants: Vec<Variant>,
    /// Every sighting of every variant, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Distinct captions with the sightings that carried them, in order
    /// of first appearance.
    pub captions: Vec<CaptionGroup>,
    /// How the report was computed, so it can be reproduced.
    pub method: Method,
    /// Anything that limited the report (an object missing from the
    /// store, a component cut short).
    pub notes: Vec<String>,
}

/// What the report is about.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// `file` (matched, not archived) or `item` (archived).
    pub kind: TargetKind,
    /// What to call it: the file's name (not its full path); for an
    /// item, the file name of its earliest sighting, else its short id.
    pub name: String,
    /// For an item: the id as given on the command line.
    pub query: Option<String>,
    /// The archived item with these exact bytes, if there is one.
    pub archived_item: Option<Sha256>,
}

/// Kind of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// A file given on the command line.
    File,
    /// An archived item.
    Item,
}

/// The verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// `known`, `possible` (only unconfirmed matches) or `unknown`.
    pub status: Status,
    /// One sentence for people (no untrusted text in it).
    pub summary: String,
    /// Variants confirmed by SHA-256 or PDQ, the target's own item
    /// included.
    pub confirmed_variants: usize,
    /// Variants found only as possible matches.
    pub possible_variants: usize,
    /// Sightings of confirmed variants.
    pub sightings: usize,
    /// Sightings of possible variants.
    pub unconfirmed_sightings: usize,
    /// Distinct captions among confirmed sightings.
    pub distinct_captions: usize,
    /// The recycled-media warning is raised.
    pub recycled: bool,
}

/// Verdict status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The picture is in the archive (exact copy or PDQ match).
    Known,
    /// Only possible matches: confirm by eye.
    Possible,
    /// Nothing found.
    Unknown,
}

/// The target's media.
#[derive(Debug, Clone, Serialize)]
pub struct Media {
    /// `image` or `video`.
    pub media_type: String,
    /// Container format (`jpeg`, `png`, `mp4`, …).
    pub format: String,
    /// SHA-256 of the bytes.
    pub sha256: Sha256,
    /// File size.
    pub byte_size: Option<u64>,
    /// Width in pixels, upright.
    pub width: Option<u32>,
    /// Height in pixels, upright.
    pub height: Option<u32>,
    /// PDQ hash and quality of the upright picture (none for a video:
    /// its frames carry them).
    pub pdq: Option<Pdq>,
    /// pHash.
    pub phash: Option<Hash64>,
    /// dHash.
    pub dhash: Option<Hash64>,
    /// EXIF orientation applied before hashing (1 = none), when known.
    pub exif_orientation: Option<u8>,
    /// For a video: container, codec, duration, frame counts.
    pub video: Option<VideoFacts>,
    /// Small JPEG of the picture (HTML only; not in the JSON).
    #[serde(skip)]
    pub thumbnail: Option<Thumbnail>,
}

/// A small JPEG for the HTML report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// JPEG bytes.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// How a sighting is dated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatedBy {
    /// By the first-seen date given when it was archived.
    FirstSeen,
    /// Only by when it was archived (no first-seen was given).
    Archived,
}

/// A sighting singled out (the earliest, an earlier possible match).
#[derive(Debug, Clone, Serialize)]
pub struct Appearance {
    /// Sighting id in the catalog.
    pub sighting: i64,
    /// Its date (first-seen, or archived).
    pub date: String,
    /// Which of the two `date` is.
    pub dated_by: DatedBy,
    /// Source (untrusted text).
    pub source: Option<String>,
    /// Caption (untrusted text).
    pub caption: Option<String>,
    /// Label of the variant seen (`V1`, …).
    pub variant: String,
    /// That variant's SHA-256.
    pub sha256: Sha256,
    /// How that variant relates to the target.
    pub kind: MatchKind,
}

/// One recycled-media warning: a sighting first seen long after the
/// earliest appearance.
#[derive(Debug, Clone, Serialize)]
pub struct Recycled {
    /// The later sighting.
    pub sighting: i64,
    /// Its first-seen date.
    pub date: String,
    /// Its source.
    pub source: Option<String>,
    /// Its caption.
    pub caption: Option<String>,
    /// Label of the variant seen.
    pub variant: String,
    /// Whole days from the earliest appearance to this sighting.
    pub days_later: i64,
    /// "This image circulated at least N days earlier: first seen DATE at
    /// SOURCE with caption …" (contains untrusted text: escape it).
    pub message: String,
}

/// One archived item related to the target.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// Short label used across the report: `V1`, `V2`, ….
    pub label: String,
    /// The item's SHA-256.
    pub sha256: Sha256,
    /// Exact copy, near duplicate, mirrored/rotated, video, or possible.
    pub kind: MatchKind,
    /// Confirmed by SHA-256 or PDQ (false for possible matches and what
    /// is reached only through them).
    pub confirmed: bool,
    /// This variant is the target's picture under this transform.
    pub relation: Dihedral,
    /// Plain-English form of `relation`.
    pub relation_text: &'static str,
    /// Its size against the target's (`null` for the target's own item,
    /// or when a video and a photo are compared).
    pub size_change: Option<SizeChange>,
    /// What differs from the target, in words (size, shape, mirroring).
    pub changes: Vec<String>,
    /// PDQ distance: to the target for a direct match, else of the link
    /// through which it was reached (see `via`).
    pub distance: Option<u32>,
    /// The variant through which it was reached, when not directly.
    pub via: Option<Sha256>,
    /// What a direct match of a file target rests on.
    pub evidence: Option<Evidence>,
    /// pHash distance (of 64) for a direct match.
    pub phash_distance: Option<u32>,
    /// dHash distance (of 64) for a direct match.
    pub dhash_distance: Option<u32>,
    /// `image` or `video`.
    pub media_type: String,
    /// Format.
    pub format: String,
    /// Width.
    pub width: Option<u32>,
    /// Height.
    pub height: Option<u32>,
    /// File size.
    pub byte_size: Option<u64>,
    /// Whether its bytes are in the object store.
    pub stored: bool,
    /// Which frame or share of a video, when one is involved.
    pub detail: Option<String>,
    /// Matching frames, when a video is involved (direct matches only).
    pub frames: Vec<MatchedFrame>,
    /// For a direct match confirmed or described by local features: how
    /// the target shows this version (the part of it visible, rotation,
    /// scale, what it fills, a covered band). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alignment: Option<Alignment>,
    /// The same as a list of edits (cropped, rotated, inside, covered,
    /// mirrored, scaled); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<Edit>,
    /// Number of its sightings.
    pub sightings: usize,
    /// Date of its earliest sighting.
    pub first_seen: Option<String>,
    /// Small JPEG (HTML only).
    #[serde(skip)]
    pub thumbnail: Option<Thumbnail>,
}

/// How a variant's size compares with the target's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeChange {
    /// The same width and height.
    Same,
    /// Smaller, same shape: downscaled (or cropped evenly).
    Smaller,
    /// Larger, same shape.
    Larger,
    /// Another aspect ratio (over 1% off): cropped, padded or reframed.
    Reshaped,
}

/// A frame of a video that matches: a frame of the target and one of
/// the variant, or a frame and a photo.
#[derive(Debug, Clone, Serialize)]
pub struct MatchedFrame {
    /// Time of the frame in the target, when the target is a video.
    pub query_secs: Option<f64>,
    /// Time span of the frame in the variant, when the variant is a
    /// video.
    pub archived: Option<(f64, f64)>,
    /// PDQ distance.
    pub distance: u32,
    /// The variant's frame (or else the target's), small (HTML only).
    #[serde(skip)]
    pub thumbnail: Option<Thumbnail>,
}

/// Most matching frames given a thumbnail, per variant.
const MAX_FRAME_THUMBNAILS: usize = 8;

/// One sighting in the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Sighting id in the catalog.
    pub sighting: i64,
    /// First-seen date, or archived time when none was given.
    pub date: String,
    /// Which of the two `date` is.
    pub dated_by: DatedBy,
    /// First-seen as recorded.
    pub first_seen: Option<String>,
    /// When it was archived (UTC).
    pub archived_at: String,
    /// Source (untrusted text; a link only when http or https).
    pub source: Option<String>,
    /// Caption (untrusted text).
    pub caption: Option<String>,
    /// Note (untrusted text).
    pub note: Option<String>,
    /// File name it was archived from.
    pub file_name: Option<String>,
    /// The manifest it was imported from, if any.
    pub imported_from: Option<String>,
    /// Label of the variant seen.
    pub variant: String,
    /// That variant's SHA-256.
    pub sha256: Sha256,
    /// How that variant relates to the target.
    pub kind: MatchKind,
    /// Whether that variant is confirmed.
    pub confirmed: bool,
    /// Its transform relative to the target.
    pub relation: Dihedral,
    /// Its PDQ distance (see [`Variant::distance`]).
    pub distance: Option<u32>,
    /// Days after the earliest appearance (confirmed sightings only).
    pub days_after_earliest: Option<i64>,
    /// This sighting raises the recycled-media warning.
    pub recycled: bool,
    /// Corrections of this sighting: the fields above hold the corrected
    /// values, these the values they replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<crate::store::corrections::Correction>,
}

/// A distinct caption and the sightings that carried it.
#[derive(Debug, Clone, Serialize)]
pub struct CaptionGroup {
    /// The caption (whitespace-normalised), or `None` for sightings
    /// without one.
    pub caption: Option<String>,
    /// Date of its first sighting.
    pub first_date: String,
    /// Date of its last sighting.
    pub last_date: String,
    /// Its sightings (ids), oldest first.
    pub sightings: Vec<i64>,
    /// Labels of the variants it came with.
    pub variants: Vec<String>,
    /// At least one of its sightings is of a confirmed variant.
    pub confirmed: bool,
}

/// How the report was computed.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    /// `firstseen`.
    pub tool: &'static str,
    /// Its version.
    pub version: &'static str,
    /// The hashes used.
    pub hashes: Vec<HashMethod>,
    /// The thresholds in force.
    pub thresholds: ThresholdSet,
    /// The archive searched.
    pub archive: ArchiveState,
}

/// One hash used.
#[derive(Debug, Clone, Serialize)]
pub struct HashMethod {
    /// `sha256`, `pdq`, `phash`, `dhash`.
    pub name: &'static str,
    /// What it is and its parameters.
    pub description: String,
}

/// Thresholds in force.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdSet {
    /// PDQ match: Hamming distance at most this (of 256).
    pub pdq_max_distance: u32,
    /// PDQ quality below which a match needs pHash or dHash within
    /// `corroborating_distance`.
    pub pdq_min_quality: u8,
    /// See `pdq_min_quality`.
    pub corroborating_distance: u32,
    /// A candidate for the feature check: pHash at most this (of 64)…
    pub nominate_phash: u32,
    /// …and dHash at most this (of 64) (or shared local features).
    pub nominate_dhash: u32,
    /// The feature check: at least this many corners in one geometric
    /// arrangement…
    pub feature_min_inliers: usize,
    /// …holding this share of the shared area's textured cells.
    pub feature_min_spread: f32,
    /// Recycled-media warning: first seen more than this many days after
    /// the earliest appearance.
    pub recycled_days: u32,
}

/// The archive's state when the report was made.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveState {
    /// Items.
    pub items: u64,
    /// Sightings.
    pub sightings: u64,
    /// Near-duplicate links.
    pub variant_links: u64,
    /// Entries in the archive's hash-chained log.
    pub chain_length: Option<u64>,
    /// Hash of its latest entry (`firstseen verify --head` checks it).
    pub chain_head: Option<Sha256>,
}

/// An item of the component while it is being gathered.
struct Member {
    item: Item,
    kind: MatchKind,
    confirmed: bool,
    /// This item is the target's picture under `relation`.
    relation: Dihedral,
    distance: Option<u32>,
    via: Option<Sha256>,
    evidence: Option<Evidence>,
    phash_distance: Option<u32>,
    dhash_distance: Option<u32>,
    detail: Option<String>,
    frames: Vec<FrameMatch>,
    low_quality: bool,
    alignment: Option<Alignment>,
}

/// What a report is about, read and analysed: the target, its analysis
/// when its bytes are at hand (to match, to show, to read its
/// metadata), its archived item when there is one, and what was noted
/// on the way.
#[derive(Debug)]
pub struct Analysed {
    target: Target,
    analysis: Option<Analysis>,
    item: Option<Item>,
    notes: Vec<String>,
}

impl Analysed {
    /// The analysis to match, when the bytes were at hand.
    pub fn analysis(&self) -> Option<&Analysis> {
        self.analysis.as_ref()
    }
}

/// The report on `subject` from `archive` (read only), its matches found
/// by `matcher`: [`analyse`], [`crate::matching::Matcher::find`],
/// [`build`].
///
/// # Errors
/// See [`analyse`] and [`build`]; catalog and feature-index errors.
pub fn report(
    archive: &Archive,
    matcher: &crate::matching::Matcher,
    subject: Subject<'_>,
    opts: &ReportOptions,
) -> Result<Report> {
    let analysed = analyse(archive, subject, opts)?;
    let found = match analysed.analysis() {
        Some(a) => matcher.find(&archive.catalog, a, &opts.thresholds)?,
        None => Vec::new(),
    };
    build(archive, analysed, found, opts)
}

/// Reads and analyses what a report is about: a file, or an archived
/// item's stored bytes (a note says why when they are not at hand).
///
/// # Errors
/// The file cannot be read or decoded, the item id is unknown or
/// ambiguous, or the catalog fails.
pub fn analyse(archive: &Archive, subject: Subject<'_>, opts: &ReportOptions) -> Result<Analysed> {
    let catalog = &archive.catalog;
    let mut notes = Vec::new();
    let (target, analysis, item) = match subject {
        Subject::File(path) => {
            let a = analyze::analyze_file(path, &opts.limits)?;
            let item = catalog.item_by_sha(&a.fingerprint.sha256)?;
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            (
                Target {
                    kind: TargetKind::File,
                    name,
                    query: None,
                    archived_item: item.as_ref().map(|i| i.sha256),
                },
                Some(a),
                item,
            )
        }
        Subject::Item(id) => {
            let item = catalog.resolve(id)?;
            let analysis = stored_analysis(archive, &item, opts, &mut notes);
            let name = catalog
                .sightings(item.id)?
                .into_iter()
                .find_map(|s| s.file_name)
                .unwrap_or_else(|| item.sha256.to_hex()[..12].to_string());
            (
                Target {
                    kind: TargetKind::Item,
                    name,
                    query: Some(id.trim().to_string()),
                    archived_item: Some(item.sha256),
                },
                analysis,
                Some(item),
            )
        }
    };
    Ok(Analysed {
        target,
        analysis,
        item,
        notes,
    })
}

/// Builds the report on what [`analyse`] read from the matches it is
/// given (the matcher's [`Found`], as `check` reports them): nothing is
/// matched again here, only the archive's records of the matched items
/// and their variant links are read.
///
/// # Errors
/// Catalog errors.
pub fn build(
    archive: &Archive,
    analysed: Analysed,
    mut found: Vec<Found>,
    opts: &ReportOptions,
) -> Result<Report> {
    let catalog = &archive.catalog;
    let Analysed {
        target,
        analysis,
        item,
        mut notes,
    } = analysed;
    if let Some(item) = &item
        && !found.iter().any(|f| f.item.id == item.id)
    {
        found.insert(0, Found::exact(item.clone()));
    }

    let media = media_of(archive, analysis.as_ref(), item.as_ref(), opts)?;
    let metadata = match &analysis {
        Some(a) if a.video.is_none() => Some(metadata::extract(&a.bytes)),
        _ => None,
    };

    // The component: every confirmed match and everything linked to it.
    let mut members: Vec<Member> = Vec::new();
    let subject_video = media.media_type == "video";
    members.extend(found.into_iter().map(member_of_found));
    follow_links(archive, &mut members, 0, subject_video, &mut notes)?;

    // Sightings per member, then order the members (exact, confirmed,
    // possible; each by first appearance) and label them.
    let mut sightings = Vec::with_capacity(members.len());
    for m in &members {
        sightings.push(catalog.sightings(m.item.id)?);
    }
    let mut order: Vec<usize> = (0..members.len()).collect();
    let first_date = |i: usize| sightings[i].first().map(|s| s.effective_date().to_string());
    order.sort_by_key(|&i| {
        let m = &members[i];
        let rank = if m.kind == MatchKind::Exact {
            0
        } else if m.confirmed {
            1
        } else {
            2
        };
        (
            rank,
            first_date(i).is_none(),
            first_date(i),
            m.item.sha256.to_hex(),
        )
    });

    let mut variants = Vec::with_capacity(order.len());
    let mut timeline = Vec::new();
    let mut thumbs_left = if opts.thumbnails { MAX_THUMBNAILS } else { 0 };
    for (n, &i) in order.iter().enumerate() {
        let m = &members[i];
        let label = format!("V{}", n + 1);
        let imports: HashMap<i64, crate::store::exchange::ImportRecord> =
            catalog.sighting_imports(m.item.id)?.into_iter().collect();
        for s in &sightings[i] {
            timeline.push(TimelineEntry {
                sighting: s.id,
                date: s.effective_date().to_string(),
                dated_by: if s.first_seen.is_some() {
                    DatedBy::FirstSeen
                } else {
                    DatedBy::Archived
                },
                first_seen: s.first_seen.clone(),
                archived_at: s.archived_at.clone(),
                source: s.source.clone(),
                caption: s.caption.clone(),
                note: s.note.clone(),
                file_name: s.file_name.clone(),
                imported_from: imports
                    .get(&s.id)
                    .map(|r| format!("{} {}", r.kind.name(), r.name)),
                variant: label.clone(),
                sha256: m.item.sha256,
                kind: m.kind,
                confirmed: m.confirmed,
                relation: m.relation,
                distance: m.distance,
                days_after_earliest: None,
                recycled: false,
                corrections: s.corrections.clone(),
            });
        }
        for s in catalog.all_sightings(m.item.id)? {
            if let Some(r) = &s.retracted {
                notes.push(format!(
                    "Sighting #{} of {label} ({}) was retracted on {}{} and is not counted.",
                    s.id,
                    crate::time::day(s.effective_date()),
                    crate::time::day(&r.made_at),
                    r.reason
                        .as_deref()
                        .map(|why| format!(": {why}"))
                        .unwrap_or_default()
                ));
            }
        }
        if let Some(r) = catalog.redaction(m.item.id)? {
            notes.push(format!(
                "The stored bytes of {label} were redacted on {}: {}. Its hashes and sightings are kept.",
                crate::time::day(&r.made_at),
                r.reason
            ));
        }
        let thumbnail = if thumbs_left > 0 {
            thumbs_left -= 1;
            if Some(m.item.sha256) == media.thumbnail.as_ref().map(|_| media.sha256) {
                media.thumbnail.clone()
            } else {
                item_thumbnail(archive, &m.item, opts)
            }
        } else {
            None
        };
        variants.push(Variant {
            label,
            sha256: m.item.sha256,
            kind: m.kind,
            confirmed: m.confirmed,
            relation: m.relation,
            relation_text: wording::relation(m.relation),
            size_change: size_change(&media, m).map(|(c, _)| c),
            changes: changes(&media, m),
            distance: m.distance,
            via: m.via,
            evidence: m.evidence,
            phash_distance: m.phash_distance,
            dhash_distance: m.dhash_distance,
            media_type: m.item.media_type.clone(),
            format: m.item.format.clone(),
            width: m.item.width,
            height: m.item.height,
            byte_size: m.item.byte_size,
            stored: m.item.stored,
            detail: m.detail.clone(),
            frames: matched_frames(archive, m, analysis.as_ref(), opts.thumbnails)?,
            alignment: m.alignment.clone(),
            edits: m
                .alignment
                .as_ref()
                .map(Alignment::edits)
                .unwrap_or_default(),
            sightings: sightings[i].len(),
            first_seen: first_date(i),
            thumbnail,
        });
    }
    timeline.sort_by(|a, b| {
        (&a.date, &a.archived_at, a.sighting).cmp(&(&b.date, &b.archived_at, b.sighting))
    });

    // Earliest appearance, recycled sightings.
    let appearance = |e: &TimelineEntry| Appearance {
        sighting: e.sighting,
        date: e.date.clone(),
        dated_by: e.dated_by,
        source: e.source.clone(),
        caption: e.caption.clone(),
        variant: e.variant.clone(),
        sha256: e.sha256,
        kind: e.kind,
    };
    let earliest = timeline.iter().find(|e| e.confirmed).map(appearance);
    let earlier_possible = timeline
        .iter()
        .find(|e| !e.confirmed)
        .filter(|p| earliest.as_ref().is_none_or(|e| p.date < e.date))
        .map(appearance);
    let mut recycled = Vec::new();
    let noun = if media.media_type == "video" {
        "video"
    } else {
        "image"
    };
    if let Some(first) = &earliest {
        for e in timeline.iter_mut().filter(|e| e.confirmed) {
            let Some(days) = crate::time::days_between(&first.date, &e.date) else {
                continue;
            };
            e.days_after_earliest = Some(days);
            if e.first_seen.is_some()
                && e.sighting != first.sighting
                && days > i64::from(opts.recycled_days)
            {
                e.recycled = true;
                recycled.push(Recycled {
                    sighting: e.sighting,
                    date: e.date.clone(),
                    source: e.source.clone(),
                    caption: e.caption.clone(),
                    variant: e.variant.clone(),
                    days_later: days,
                    message: recycled_message(days, first, noun),
                });
            }
        }
    }

    let captions = caption_groups(&timeline);
    let counts = catalog.counts()?;
    let post = opts.post.clone().map(|mut p| {
        p.days_after_earliest = match (&earliest, &p.first_seen) {
            (Some(e), Some(d)) => crate::time::days_between(&e.date, d),
            _ => None,
        };
        p.recycled = p
            .days_after_earliest
            .is_some_and(|d| d > i64::from(opts.recycled_days));
        p
    });
    let mut verdict = verdict(
        &variants,
        &timeline,
        &captions,
        earliest.as_ref(),
        earlier_possible.as_ref(),
        &recycled,
        counts.items,
    );
    if let (Some(p), Some(first), Status::Known) = (&post, &earliest, verdict.status) {
        verdict_against_post(&mut verdict, p, first);
    }
    let head = catalog.chain_head()?;
    Ok(Report {
        schema: SCHEMA,
        generated_at: crate::time::now(),
        target,
        verdict,
        media,
        metadata,
        earliest,
        earlier_possible,
        post,
        recycled,
        variants,
        timeline,
        captions,
        method: Method {
            tool: "firstseen",
            version: env!("CARGO_PKG_VERSION"),
            hashes: hash_methods(),
            thresholds: ThresholdSet {
                pdq_max_distance: opts.thresholds.max_distance,
                pdq_min_quality: opts.thresholds.min_quality,
                corroborating_distance: CORROBORATING_DISTANCE,
                nominate_phash: SIMILAR_PHASH,
                nominate_dhash: SIMILAR_DHASH,
                feature_min_inliers: VerifyParams::default().min_inliers,
                feature_min_spread: VerifyParams::default().min_spread,
                recycled_days: opts.recycled_days,
            },
            archive: ArchiveState {
                items: counts.items,
                sightings: counts.sightings,
                variant_links: counts.variant_links,
                chain_length: head.map(|h| h.length),
                chain_head: head.map(|h| h.hash),
            },
        },
        notes,
    })
}

/// The stored object of an archived still image, analysed (to find its
/// possible matches and read its metadata). `None`, with a note, when the
/// bytes are not kept or cannot be read; videos are not re-decoded (their
/// frames are in the catalog).
fn stored_analysis(
    archive: &Archive,
    item: &Item,
    opts: &ReportOptions,
    notes: &mut Vec<String>,
) -> Option<Analysis> {
    if item.media_type != "image" {
        return None;
    }
    if !item.stored {
        notes.push(
            "The item's bytes are not in the archive (archived with --no-copy): no thumbnail, \
             no file metadata, and no search for possible matches."
                .to_string(),
        );
        return None;
    }
    let path = archive.objects.path_of(&item.sha256);
    match std::fs::read(&path)
        .map_err(|e| Error::io(&path, e))
        .and_then(|b| analyze::analyze_bytes(path.clone(), b, &opts.limits))
    {
        Ok(a) => Some(a),
        Err(e) => {
            notes.push(format!("The stored object could not be analysed ({e})."));
            None
        }
    }
}

fn member_of_found(f: Found) -> Member {
    // Classified by the matcher, as `check` shows it.
    let kind = f.kind();
    // What the checked file did to this version (crop, screenshot…).
    let detail = match &f.alignment {
        Some(_) if kind == MatchKind::Altered => Some(wording::change(&f)),
        _ => wording::link_detail(&f),
    };
    Member {
        kind,
        confirmed: true,
        // The file is the archived picture under `relation`, so the
        // archived picture is the file under its inverse.
        relation: f.relation.inverse(),
        distance: (f.distance != u32::MAX).then_some(f.distance),
        via: None,
        evidence: Some(f.evidence),
        phash_distance: f.phash_distance,
        dhash_distance: f.dhash_distance,
        detail,
        frames: f.frames,
        low_quality: f.low_quality,
        alignment: f.alignment,
        item: f.item,
    }
}

/// Adds, breadth first from `members[start..]`, every item linked to
/// them and not yet present.
fn follow_links(
    archive: &Archive,
    members: &mut Vec<Member>,
    start: usize,
    subject_video: bool,
    notes: &mut Vec<String>,
) -> Result<()> {
    let mut queue: VecDeque<usize> = (start..members.len()).collect();
    while let Some(i) = queue.pop_front() {
        let (from, from_relation, from_sha, from_exact) = {
            let m = &members[i];
            (
                m.item.id,
                m.relation,
                m.item.sha256,
                m.kind == MatchKind::Exact,
            )
        };
        for link in archive.catalog.variants(from)? {
            if members.iter().any(|m| m.item.id == link.other) {
                continue;
            }
            if members.len() >= MAX_VARIANTS {
                let note = format!(
                    "Only the first {MAX_VARIANTS} variants were followed; the archive links more."
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
                return Ok(());
            }
            let item = archive.catalog.item(link.other)?;
            // other = link(from) = link(from_relation(target)).
            let relation = compose(from_relation, link.relation);
            let kind = match (subject_video, item.media_type == "video") {
                (true, true) => MatchKind::VideoOverlap,
                (true, false) | (false, true) => MatchKind::VideoFrame,
                _ if relation == Dihedral::Original => MatchKind::NearDuplicate,
                _ => MatchKind::MirroredOrRotated,
            };
            members.push(Member {
                item,
                kind,
                confirmed: true,
                relation,
                distance: Some(link.distance),
                via: (!from_exact).then_some(from_sha),
                evidence: None,
                phash_distance: None,
                dhash_distance: None,
                detail: link.detail,
                frames: Vec::new(),
                low_quality: false,
                alignment: None,
            });
            queue.push_back(members.len() - 1);
        }
    }
    Ok(())
}

/// The transform equal to `first` followed by `then`.
pub fn compose(first: Dihedral, then: Dihedral) -> Dihedral {
    use image::{Rgb, RgbImage};
    // Six distinct pixels on a non-square grid tell all eight apart.
    let probe = RgbImage::from_fn(3, 2, |x, y| Rgb([(x + 3 * y) as u8, 0, 0]));
    let want = then.apply_rgb(&first.apply_rgb(&probe));
    Dihedral::ALL
        .into_iter()
        .find(|t| t.apply_rgb(&probe) == want)
        .unwrap_or(Dihedral::Original)
}

fn swaps_axes(t: Dihedral) -> bool {
    matches!(
        t,
        Dihedral::Rotate90 | Dihedral::Rotate270 | Dihedral::FlipPlus1 | Dihedral::FlipMinus1
    )
}

/// How a variant's size compares with the target's (in the target's
/// orientation), with the two sizes in words.
fn size_change(target: &Media, m: &Member) -> Option<(SizeChange, String)> {
    let (tw, th, w, h) = (target.width?, target.height?, m.item.width?, m.item.height?);
    if m.item.sha256 == target.sha256
        || m.item.media_type != target.media_type
        || [tw, th, w, h].contains(&0)
    {
        return None;
    }
    let (uw, uh) = if swaps_axes(m.relation) {
        (h, w)
    } else {
        (w, h)
    };
    let shown = format!("{w}×{h}, target {tw}×{th}");
    let ratio = |a: u32, b: u32| f64::from(a) / f64::from(b);
    let shape = (ratio(uw, uh) / ratio(tw, th) - 1.0).abs();
    let change = if (uw, uh) == (tw, th) {
        SizeChange::Same
    } else if shape > 0.01 {
        SizeChange::Reshaped
    } else if u64::from(uw) * u64::from(uh) < u64::from(tw) * u64::from(th) {
        SizeChange::Smaller
    } else {
        SizeChange::Larger
    };
    Some((change, shown))
}

/// What differs between a variant and the target, in words.
fn changes(target: &Media, m: &Member) -> Vec<String> {
    let mut out = Vec::new();
    if m.item.sha256 == target.sha256 {
        out.push("identical file (same SHA-256)".to_string());
        return out;
    }
    if m.relation != Dihedral::Original {
        out.push(wording::relation(m.relation).to_string());
    }
    if let Some((change, shown)) = size_change(target, m) {
        out.push(match change {
            SizeChange::Same => "same size: re-encoded or edited".to_string(),
            SizeChange::Reshaped => {
                format!("different shape ({shown}): cropped, padded or reframed")
            }
            SizeChange::Smaller => format!("smaller ({shown}): downscaled or evenly cropped"),
            SizeChange::Larger => {
                format!("larger ({shown}): the target may be downscaled from it")
            }
        });
    }
    if m.low_quality {
        out.push(
            "matched on a low-quality PDQ hash (a flat picture), corroborated by pHash or dHash"
                .to_string(),
        );
    }
    if m.evidence == Some(Evidence::PdqWithoutBorder) {
        out.push("matched once a uniform border was removed".to_string());
    }
    if let Some(d) = &m.detail {
        out.push(d.clone());
    }
    out
}

fn media_of(
    archive: &Archive,
    a: Option<&Analysis>,
    item: Option<&Item>,
    opts: &ReportOptions,
) -> Result<Media> {
    let video = match (a.and_then(|a| a.video.as_ref()), item) {
        (Some(v), _) => Some(v.facts.clone()),
        (None, Some(i)) if i.media_type == "video" => archive.catalog.video(i.id)?,
        _ => None,
    };
    let is_video = video.is_some();
    let mut media = match (a, item) {
        (Some(a), _) => Media {
            media_type: if is_video { "video" } else { "image" }.to_string(),
            format: a.format.to_string(),
            sha256: a.fingerprint.sha256,
            byte_size: Some(a.bytes.len() as u64),
            width: Some(a.width),
            height: Some(a.height),
            pdq: (!is_video).then_some(a.fingerprint.pdq),
            phash: (!is_video).then_some(a.fingerprint.phash),
            dhash: (!is_video).then_some(a.fingerprint.dhash),
            exif_orientation: (!is_video).then_some(a.orientation),
            video,
            thumbnail: None,
        },
        (None, Some(i)) => Media {
            media_type: i.media_type.clone(),
            format: i.format.clone(),
            sha256: i.sha256,
            byte_size: i.byte_size,
            width: i.width,
            height: i.height,
            pdq: i.pdq,
            phash: i.phash,
            dhash: i.dhash,
            exif_orientation: None,
            video,
            thumbnail: None,
        },
        (None, None) => {
            return Err(Error::Invalid {
                what: "report target",
                reason: "neither a file nor an archived item".to_string(),
            });
        }
    };
    if opts.thumbnails {
        media.thumbnail = match (a, item) {
            (Some(a), _) => match &a.video {
                Some(v) => v
                    .frames
                    .first()
                    .and_then(|f| jpeg_thumbnail(f.thumb_jpeg.clone())),
                None => thumbnail_of_bytes(&a.bytes, &opts.limits),
            },
            (None, Some(i)) => item_thumbnail(archive, i, opts),
            (None, None) => None,
        };
    }
    Ok(media)
}

/// A member's matching frames, the first few with a thumbnail: the
/// stored frame of an archived video, else the target video's frame.
fn matched_frames(
    archive: &Archive,
    m: &Member,
    target: Option<&Analysis>,
    thumbnails: bool,
) -> Result<Vec<MatchedFrame>> {
    let stored = if thumbnails && m.item.media_type == "video" && !m.frames.is_empty() {
        archive.catalog.frames(m.item.id)?
    } else {
        Vec::new()
    };
    let mut out = Vec::with_capacity(m.frames.len());
    for (n, f) in m.frames.iter().enumerate() {
        let thumbnail = if thumbnails && n < MAX_FRAME_THUMBNAILS {
            let archived = f
                .archived
                .and_then(|(start, _)| stored.iter().find(|s| s.start_secs == start))
                .and_then(|s| {
                    archive
                        .catalog
                        .frame_thumbnail(m.item.id, s.seq)
                        .ok()
                        .flatten()
                });
            let query = || {
                let q = f.query_secs?;
                let frame = target?
                    .video
                    .as_ref()?
                    .frames
                    .iter()
                    .find(|t| t.start_secs == q)?;
                Some(frame.thumb_jpeg.clone())
            };
            archived.or_else(query).and_then(jpeg_thumbnail)
        } else {
            None
        };
        out.push(MatchedFrame {
            query_secs: f.query_secs,
            archived: f.archived,
            distance: f.distance,
            thumbnail,
        });
    }
    Ok(out)
}

/// A thumbnail of an archived item: its first frame's for a video, its
/// stored bytes' for a photo (none when not stored or undecodable).
fn item_thumbnail(archive: &Archive, item: &Item, opts: &ReportOptions) -> Option<Thumbnail> {
    if item.media_type == "video" {
        let jpeg = archive.catalog.frame_thumbnail(item.id, 0).ok()??;
        return jpeg_thumbnail(jpeg);
    }
    if !item.stored {
        return None;
    }
    let path = archive.objects.path_of(&item.sha256);
    let len = std::fs::metadata(&path).ok()?.len();
    if len > opts.limits.max_bytes {
        return None;
    }
    thumbnail_of_bytes(&std::fs::read(&path).ok()?, &opts.limits)
}

/// Decodes (behind limits, upright) and shrinks to [`THUMB_SIDE`].
fn thumbnail_of_bytes(bytes: &[u8], limits: &Limits) -> Option<Thumbnail> {
    let decoded = decode::decode_image(bytes, limits).ok()?;
    let small = decoded.image.thumbnail(THUMB_SIDE, THUMB_SIDE).to_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 82)
        .encode_image(&small)
        .ok()?;
    Some(Thumbnail {
        jpeg,
        width: small.width(),
        height: small.height(),
    })
}

/// Wraps a JPEG already made (a stored video frame thumbnail).
fn jpeg_thumbnail(jpeg: Vec<u8>) -> Option<Thumbnail> {
    let (width, height) =
        image::ImageReader::with_format(std::io::Cursor::new(&jpeg), image::ImageFormat::Jpeg)
            .into_dimensions()
            .ok()?;
    Some(Thumbnail {
        jpeg,
        width,
        height,
    })
}

fn recycled_message(days: i64, first: &Appearance, noun: &str) -> String {
    let mut m = format!(
        "This {noun} circulated at least {days} days earlier: first seen {}",
        crate::time::day(&first.date)
    );
    if let Some(s) = &first.source {
        m.push_str(&format!(" at {s}"));
    }
    if let Some(c) = &first.caption {
        m.push_str(&format!(" with caption “{c}”"));
    }
    m.push('.');
    m
}

/// Collapses runs of whitespace; empty captions count as none.
fn normalise_caption(c: Option<&str>) -> Option<String> {
    let s = c?.split_whitespace().collect::<Vec<_>>().join(" ");
    (!s.is_empty()).then_some(s)
}

fn caption_groups(timeline: &[TimelineEntry]) -> Vec<CaptionGroup> {
    let mut groups: Vec<CaptionGroup> = Vec::new();
    for e in timeline {
        let key = normalise_caption(e.caption.as_deref());
        match groups.iter_mut().find(|g| g.caption == key) {
            Some(g) => {
                g.last_date.clone_from(&e.date);
                g.sightings.push(e.sighting);
                if !g.variants.contains(&e.variant) {
                    g.variants.push(e.variant.clone());
                }
                g.confirmed |= e.confirmed;
            }
            None => groups.push(CaptionGroup {
                caption: key,
                first_date: e.date.clone(),
                last_date: e.date.clone(),
                sightings: vec![e.sighting],
                variants: vec![e.variant.clone()],
                confirmed: e.confirmed,
            }),
        }
    }
    groups
}

fn verdict(
    variants: &[Variant],
    timeline: &[TimelineEntry],
    captions: &[CaptionGroup],
    earliest: Option<&Appearance>,
    earlier_possible: Option<&Appearance>,
    recycled: &[Recycled],
    archive_items: u64,
) -> Verdict {
    let confirmed_variants = variants.iter().filter(|v| v.confirmed).count();
    let possible_variants = variants.len() - confirmed_variants;
    let sightings = timeline.iter().filter(|e| e.confirmed).count();
    let distinct_captions = captions
        .iter()
        .filter(|g| g.confirmed && g.caption.is_some())
        .count();
    let status = if confirmed_variants > 0 {
        Status::Known
    } else if possible_variants > 0 {
        Status::Possible
    } else {
        Status::Unknown
    };
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let mut summary = match (status, earliest) {
        (Status::Known, Some(first)) => {
            // The first time it resurfaced (recycled is in date order).
            let head = match recycled.first() {
                Some(r) => format!(
                    "Recycled media: first seen {}, {} days before it resurfaced on {}.",
                    crate::time::day(&first.date),
                    r.days_later,
                    crate::time::day(&r.date)
                ),
                None => format!("Known: first seen {}.", crate::time::day(&first.date)),
            };
            format!(
                "{head} {} of {} in this archive.",
                plural(sightings, "sighting", "sightings"),
                plural(confirmed_variants, "version", "versions")
            )
        }
        (Status::Known, None) => "Known, but no sighting is recorded.".to_string(),
        (Status::Possible, _) => format!(
            "Possibly known: {} found by pHash and dHash only (PDQ does not confirm it); compare by eye.",
            plural(possible_variants, "similar picture", "similar pictures")
        ),
        (Status::Unknown, _) => format!(
            "Not found: no exact copy, near duplicate or possible match among the {} {} of this archive.",
            archive_items,
            if archive_items == 1 { "item" } else { "items" }
        ),
    };
    if status == Status::Known
        && let Some(p) = earlier_possible
    {
        summary.push_str(&format!(
            " An unconfirmed possible match was seen earlier, on {}.",
            crate::time::day(&p.date)
        ));
    }
    Verdict {
        status,
        summary,
        confirmed_variants,
        possible_variants,
        sightings,
        unconfirmed_sightings: timeline.len() - sightings,
        distinct_captions,
        recycled: !recycled.is_empty(),
    }
}

/// The headline said of the post being checked: how much older the
/// picture is than the post claiming it.
fn verdict_against_post(verdict: &mut Verdict, post: &Post, first: &Appearance) {
    let first_day = crate::time::day(&first.date);
    let head = match (post.days_after_earliest, &post.first_seen) {
        (Some(days), Some(d)) if post.recycled => format!(
            "Recycled media: this post, dated {}, shows a picture first seen {first_day}, {days} days earlier.",
            crate::time::day(d)
        ),
        (Some(days), Some(d)) if days >= 0 => format!(
            "Known: first seen {first_day}, {days} days before this post ({}).",
            crate::time::day(d)
        ),
        (Some(_), Some(d)) => format!(
            "Known: this post ({}) is the earliest appearance on record; the archive has it from {first_day}.",
            crate::time::day(d)
        ),
        _ => format!("Known: first seen {first_day}, before this post."),
    };
    // Keep the counts sentence that follows the first one.
    let rest = verdict
        .summary
        .split_once(". ")
        .map(|(_, r)| r.to_string())
        .unwrap_or_default();
    verdict.summary = if rest.is_empty() {
        head
    } else {
        format!("{head} {rest}")
    };
    verdict.recycled |= post.recycled;
}

fn hash_methods() -> Vec<HashMethod> {
    vec![
        HashMethod {
            name: "sha256",
            description: "SHA-256 of the file's bytes: identity of the exact file".to_string(),
        },
        HashMethod {
            name: "pdq",
            description: "PDQ, 256-bit perceptual hash of the upright picture (EXIF orientation \
                          applied), with a quality score 0-100; compared in all eight \
                          mirror/rotation orientations"
                .to_string(),
        },
        HashMethod {
            name: "phash",
            description: format!("64-bit pHash ({PHASH_KIND}), supporting evidence"),
        },
        HashMethod {
            name: "dhash",
            description: format!("64-bit dHash ({DHASH_KIND}), supporting evidence"),
        },
    ]
}

/// Returns `s` when it is an `http` or `https` URL safe to make a link
/// of: scheme checked case-insensitively, no whitespace, control
/// characters, quotes or angle brackets anywhere, and a host.
pub fn link_target(s: &str) -> Option<&str> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        return None;
    };
    let bad = |c: char| {
        c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`')
    };
    if rest.is_empty() || rest.starts_with('/') || s.chars().any(bad) {
        return None;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_matches_applying_in_turn() {
        use image::{Rgb, RgbImage};
        let img = RgbImage::from_fn(5, 3, |x, y| Rgb([(x * 7 + y) as u8, 1, 2]));
        for a in Dihedral::ALL {
            for b in Dihedral::ALL {
                let c = compose(a, b);
                assert_eq!(
                    c.apply_rgb(&img),
                    b.apply_rgb(&a.apply_rgb(&img)),
                    "{a:?} {b:?}"
                );
            }
            assert_eq!(compose(a, a.inverse()), Dihedral::Original);
        }
    }

    #[test]
    fn only_http_urls_become_links() {
        assert_eq!(
            link_target("https://example.org/a?b=c&d"),
            Some("https://example.org/a?b=c&d")
        );
        assert_eq!(
            link_target("HTTP://EXAMPLE.ORG"),
            Some("HTTP://EXAMPLE.ORG")
        );
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " https://example.org",
            "https://exa mple.org",
            "https://example.org/\"><script>",
            "https://",
            "https:///path",
            "data:text/html,<script>alert(1)</script>",
            "ftp://example.org",
            "//example.org",
            "https://example.org/\u{0}",
        ] {
            assert_eq!(link_target(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn days_read_naturally() {
        assert_eq!(wording::days(1), "1 day");
        assert_eq!(wording::days(44), "44 days");
        assert_eq!(wording::days(90), "90 days (about 3 months)");
        assert_eq!(wording::days(400), "400 days (about a year)");
        assert_eq!(wording::days(731), "731 days (about 2 years)");
        assert_eq!(wording::days(1765), "1765 days (about 5 years)");
    }

    #[test]
    fn captions_group_by_normalised_text() {
        let entry = |id, date: &str, caption: Option<&str>| TimelineEntry {
            sighting: id,
            date: date.to_string(),
            dated_by: DatedBy::FirstSeen,
            first_seen: Some(date.to_string()),
            archived_at: "2026-01-01T00:00:00Z".to_string(),
            source: None,
            caption: caption.map(str::to_string),
            note: None,
            file_name: None,
            imported_from: None,
            variant: format!("V{id}"),
            sha256: Sha256([0; 32]),
            kind: MatchKind::Exact,
            confirmed: true,
            relation: Dihedral::Original,
            distance: Some(0),
            days_after_earliest: None,
            recycled: false,
            corrections: Vec::new(),
        };
        let g = caption_groups(&[
            entry(1, "2020-01-01", Some("Flood  in\ncity")),
            entry(2, "2021-01-01", None),
            entry(3, "2022-01-01", Some("Flood in city ")),
            entry(4, "2023-01-01", Some("  ")),
        ]);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].caption.as_deref(), Some("Flood in city"));
        assert_eq!(g[0].sightings, vec![1, 3]);
        assert_eq!(g[0].variants, vec!["V1", "V3"]);
        assert_eq!(g[0].last_date, "2022-01-01");
        assert_eq!(g[1].caption, None);
        assert_eq!(g[1].sightings, vec![2, 4]);
    }
}
