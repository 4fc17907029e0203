//! The feature index: which stored pictures and video frames share local
//! features with a query, without reading every stored feature.
//!
//! Every check used to vote each stored descriptor against the query's
//! (the *linear vote*, kept here as the reference and for the few items
//! not indexed yet), so its cost grew with the archive. This index is a
//! set of multi-table hash tables over descriptor bits (locality-sensitive
//! hashing for the Hamming space by bit sampling): each stored descriptor
//! is filed under [`TABLES`] keys, each made of its own chosen bits
//! ([`KEY_AT`], chosen on real photos for an even split), so a query
//! descriptor within a few bits of it shares at least one key with it far
//! more often than an unrelated one does. Beside each filed descriptor
//! sit a 32-bit signature of further bits, compared before a hit counts
//! (as Hamming embedding does in bag-of-features search), and its
//! corner's orientation. A query reads one bucket per table for each of
//! its descriptors (and their mirrored twins): its cost grows with the
//! postings in those buckets, not with a pass over the archive. Buckets
//! far fuller than their segment's mean are stop words, not read
//! ([`STOP_FACTOR`]).
//!
//! A stored feature's vote goes to the bin of the turn from its corner to
//! the query's, and a picture's votes are those of its best two
//! neighbouring bins (weak geometric consistency, as Jégou et al. scaled
//! bag-of-features search): a copy turns all its corners alike, while the
//! chance agreements of generic corners (a checkerboard, text, blocks of
//! colour) turn every way, so such pictures do not crowd the true one off
//! the shortlist. The votes rank stored pictures and frames; a bounded
//! shortlist ([`SHORTLIST`]) of the best goes on to the linear vote on
//! their own stored features (read from the catalog) and then to
//! geometric verification, so what is confirmed is exactly what the
//! linear vote and verification would confirm of the shortlisted entries.
//!
//! # Segments
//! The index is kept as immutable segment files under
//! `index/features/`, each covering a range of items
//! (`after < item <= upto`) and at most [`SEGMENT_FEATURES`] features,
//! listed by `index/features/state.json` (replaced atomically, after the
//! segment it names is on disk). Items archived after the last segment
//! are voted on linearly until a writer files them in a new segment
//! ([`FeatureIndex::save`], at the end of `archive` and `import`). Small
//! segments are merged (rebuilt from the catalog over their joint range)
//! as they gather, so there are few. A query is answered segment by
//! segment, the shape that lets several servers each hold some.
//!
//! # Staleness
//! The state records the catalog's `feature_edits` counter (bumped by
//! triggers on any change to stored features other than appending), the
//! last item and its SHA-256, and the kind of features and of index it
//! was built for. Any difference, a missing or damaged segment, means
//! the index is rebuilt from the catalog, or — when the
//! archive cannot be written — the linear vote is used, with a warning.
//! `verify` rebuilds every segment and compares it byte for byte.
//!
//! # Memory
//! Segments are mapped for their bucket offsets; postings are read from
//! the file ([`Slab::read_at`]), so a query's resident memory is what it
//! reads, not the pages around it.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::index::sha_of;
use super::slab::{Cursor, Slab, u32_at, u64_at};
use crate::error::{Error, Result};
use crate::hash::features::{self, Descriptor, Features};
use crate::store::{Catalog, FeatureKey, FeatureRow, FeatureState, ItemId};
use crate::timings;

/// Folder of the feature index, inside the archive directory.
pub const DIR: &str = "index/features";
/// The list of current segments, inside the archive directory.
pub const STATE_FILE: &str = "index/features/state.json";
/// Set to `linear` to vote on every stored feature instead of using the
/// index (the reference it is measured against; a diagnostic).
pub const LINEAR_VAR: &str = "FIRSTSEEN_FEATURE_INDEX";
/// The kind of index: the tables, key and signature bits, as filed.
/// Part of the archive format: a state of another scheme is rebuilt.
pub const SCHEME: &str = "bitsample-4x20-sig32-angle6-v3";

/// Hash tables, each keyed by its own run of descriptor bits.
pub const TABLES: usize = 4;
/// Bits of a key, at most (small segments use its leading bits).
const KEY_BITS: u32 = 20;
/// Bits of a key in a segment of [`SEGMENT_FEATURES`] features.
const MAX_BUCKET_BITS: u32 = 20;
/// Bits of the signature kept beside each filed descriptor.
const SIG_BITS: u32 = 32;
/// Largest signature distance (of [`SIG_BITS`]) at which a shared key
/// counts as a vote: about [`super::VOTE_DISTANCE`] of 256, with room.
pub const SIG_RADIUS: u32 = 8;
/// Bits of the corner's orientation kept beside each filed descriptor
/// (64 steps of 5.6°), for the angle-consistent vote.
const ANGLE_BITS: u32 = 6;
/// Bins of the orientation difference between a query corner and a
/// stored one that votes (22.5° each): a picture's votes are those of its
/// best two neighbouring bins, since a copy turns all its corners alike
/// while chance agreements (generic corners, a checkerboard, text) turn
/// every way.
const ANGLE_BINS: usize = 16;
/// Bits of a posting that number the feature (so a segment holds at
/// most `2^26` features, about 480,000 pictures): few, large segments,
/// since a query reads one bucket of each table of each segment.
const FEATURE_BITS: u32 = 26;
/// Features in one segment, at most.
pub const SEGMENT_FEATURES: usize = 1 << FEATURE_BITS;
/// A bucket holding more than this many times a segment's mean (at
/// least [`STOP_MIN`]) is not read: its descriptors are a pattern that
/// recurs in photo after photo (a plain edge, a corner of a window), a
/// *stop word* in bag-of-features terms, which says little about which
/// picture a query comes from and would cost most of the query's time.
/// A picture is found by its distinctive features, read in the other
/// buckets and tables.
pub const STOP_FACTOR: usize = 4;
/// The smallest bucket size [`STOP_FACTOR`] can stop.
pub const STOP_MIN: usize = 64;
/// Stored pictures and frames handed on from the index votes, at most.
/// (A phone screenshot's candidates all pass the linear vote; each costs
/// a verification.)
pub const SHORTLIST: usize = 48;
/// Index votes an entry needs to be shortlisted.
pub const MIN_INDEX_VOTES: usize = 2;

const MAGIC: &[u8; 16] = b"firstseen-fix\0v1";
const NO_FRAME: u32 = u32::MAX;

/// The bits of a descriptor each table's key is made of, most
/// significant first (a small segment's buckets use the leading ones).
/// The descriptor's tests compare random point pairs around an oriented
/// corner, so many are far from even and neighbours agree: keys made of
/// runs of bits put a few percent of a real photo's features in one
/// bucket. These were chosen by `cargo bench --bench key_bits` on the
/// corpus photos, table by table, for the most even split of real
/// features per pair of matching features lost; they are part of
/// [`SCHEME`].
const KEY_AT: [[u8; KEY_BITS as usize]; TABLES] = [
    [
        44, 46, 3, 21, 166, 126, 205, 75, 229, 191, 152, 224, 70, 214, 34, 198, 63, 15, 72, 237,
    ],
    [
        56, 174, 212, 79, 130, 119, 248, 1, 59, 250, 86, 165, 118, 106, 238, 246, 231, 12, 173, 109,
    ],
    [
        160, 5, 78, 37, 25, 206, 207, 209, 23, 28, 10, 24, 122, 19, 105, 193, 143, 157, 96, 254,
    ],
    [
        172, 189, 149, 54, 73, 239, 77, 127, 171, 138, 18, 203, 151, 42, 147, 233, 50, 128, 8, 65,
    ],
];
/// The bits of the signature: of the rest, those that best keep matching
/// features together while splitting others (same bench).
const SIG_AT: [u8; SIG_BITS as usize] = [
    102, 32, 14, 85, 30, 6, 213, 145, 134, 230, 184, 178, 131, 135, 88, 158, 61, 7, 217, 142, 45,
    194, 2, 223, 66, 226, 167, 181, 104, 17, 94, 197,
];

/// A feature as filed: its descriptor's [`TABLES`] keys (each
/// [`KEY_BITS`], table `t` at bit `KEY_BITS * t`), its signature above
/// them and its corner's orientation above that, in one word (a segment
/// of 2^26 features is built in about 1 GB).
type Filed = u128;

/// An orientation in [`ANGLE_BITS`] steps.
#[inline]
fn angle_step(radians: f32) -> u64 {
    let steps = 1u32 << ANGLE_BITS;
    ((radians / std::f32::consts::TAU * steps as f32).round() as i64).rem_euclid(i64::from(steps))
        as u64
}

/// Gathers the bits of `d` at `at`, the first the most significant.
#[inline]
fn gather(d: &Descriptor, at: &[u8]) -> u64 {
    at.iter().fold(0, |k, &b| {
        (k << 1) | ((d[usize::from(b) / 64] >> (b % 64)) & 1)
    })
}

/// The filed form of a feature: its descriptor and its corner's
/// orientation (radians).
#[inline]
fn filed(d: &Descriptor, angle: f32) -> Filed {
    let above = KEY_BITS as usize * TABLES;
    let mut f = Filed::from(gather(d, &SIG_AT)) << above;
    f |= Filed::from(angle_step(angle)) << (above + SIG_BITS as usize);
    for (t, at) in KEY_AT.iter().enumerate() {
        f |= Filed::from(gather(d, at)) << (KEY_BITS as usize * t);
    }
    f
}

/// The keys, signature and orientation step of a filed feature.
#[inline]
fn keys(f: Filed) -> ([u32; TABLES], u64, u64) {
    let key = |t: usize| ((f >> (KEY_BITS as usize * t)) & ((1 << KEY_BITS) - 1)) as u32;
    let above = KEY_BITS as usize * TABLES;
    (
        [key(0), key(1), key(2), key(3)],
        (f >> above) as u64 & ((1 << SIG_BITS) - 1),
        (f >> (above + SIG_BITS as usize)) as u64 & ((1 << ANGLE_BITS) - 1),
    )
}

/// A query feature as it asks the index: keys, signature, orientation.
type Probe = ([u32; TABLES], u64, u64);

/// Bucket bits for a segment of `n` features: enough that a bucket holds
/// a handful of postings, at most [`MAX_BUCKET_BITS`].
fn bucket_bits(n: usize) -> u32 {
    let log = usize::BITS - n.max(1).leading_zeros();
    log.saturating_sub(4).clamp(4, MAX_BUCKET_BITS)
}

/// One stored picture or frame that the index votes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nominee {
    /// Whose features.
    pub key: FeatureKey,
    /// Stored features that reappear in the query (by the index, or by
    /// the linear vote for entries not indexed yet).
    pub votes: usize,
}

/// A stored picture or frame held in memory with its features (entries
/// not in a segment yet, or a fetched shortlist entry).
#[derive(Debug, Clone)]
pub struct FeatureEntry {
    /// Whose features.
    pub key: FeatureKey,
    /// For a frame: the span it stands for.
    pub span: Option<(f64, f64)>,
    /// The features.
    pub features: Features,
}

impl FeatureEntry {
    /// The item.
    pub fn item(&self) -> ItemId {
        self.key.item
    }

    /// A stored row, read; a damaged one gives the line that names it
    /// ("item 17: stored features are malformed: …").
    ///
    /// # Errors
    /// The row's features cannot be read.
    pub fn from_row(r: FeatureRow) -> std::result::Result<FeatureEntry, String> {
        match r.features {
            Ok(features) => Ok(FeatureEntry {
                key: r.key,
                span: r.span,
                features,
            }),
            Err(why) => Err(damaged_line(&r.key, &why)),
        }
    }
}

/// Where the matcher reads stored features it did not hold: a catalog,
/// or anything else that keeps them (the shared archive's store).
pub trait FeatureSource {
    /// One stored set of features; `None` when there is none. A damaged
    /// row comes back with its reason.
    ///
    /// # Errors
    /// Store errors.
    fn feature_row(&self, key: FeatureKey) -> Result<Option<FeatureRow>>;

    /// Every stored set of features of one item (a picture's, or each
    /// frame's of a video).
    ///
    /// # Errors
    /// Store errors.
    fn feature_rows_of(&self, item: ItemId) -> Result<Vec<FeatureRow>>;
}

impl FeatureSource for Catalog {
    fn feature_row(&self, key: FeatureKey) -> Result<Option<FeatureRow>> {
        Catalog::feature_row(self, key)
    }

    fn feature_rows_of(&self, item: ItemId) -> Result<Vec<FeatureRow>> {
        let mut out = Vec::new();
        self.feature_rows(ItemId(item.0 - 1), item, &mut |r| out.push(r))?;
        Ok(out)
    }
}

/// No store behind the index: every stored feature is held in memory
/// (an index built with [`FeatureIndex::in_memory`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct HeldOnly;

impl FeatureSource for HeldOnly {
    fn feature_row(&self, _key: FeatureKey) -> Result<Option<FeatureRow>> {
        Ok(None)
    }

    fn feature_rows_of(&self, _item: ItemId) -> Result<Vec<FeatureRow>> {
        Ok(Vec::new())
    }
}

/// One immutable segment, queried in place.
#[derive(Debug, Clone)]
struct Segment {
    slab: Slab,
    /// Its file name, for a segment on disk.
    file: Option<String>,
    after: ItemId,
    upto: ItemId,
    n: usize,
    features: usize,
    bits: u32,
    items_at: usize,
    frames_at: usize,
    starts_at: usize,
    /// Per table: offsets (`2^bits + 1` × u32) and postings (u64:
    /// signature, orientation step, feature number, from high to low).
    tables: [(usize, usize); TABLES],
}

/// A segment's contents before encoding: entries in order and each
/// descriptor as filed.
#[derive(Default)]
struct SegmentInput {
    keys: Vec<FeatureKey>,
    starts: Vec<u32>,
    descriptors: Vec<Filed>,
}

impl SegmentInput {
    fn push(&mut self, key: FeatureKey, f: &Features) {
        self.starts.push(self.descriptors.len() as u32);
        self.keys.push(key);
        self.descriptors.extend(
            f.descriptors
                .iter()
                .zip(&f.points)
                .map(|(d, p)| filed(d, p.angle)),
        );
    }

    fn would_overflow(&self, f: &Features) -> bool {
        !self.keys.is_empty() && self.descriptors.len() + f.descriptors.len() > SEGMENT_FEATURES
    }
}

impl Segment {
    /// Encodes a segment of the entries in `input`, covering items
    /// `after < item <= upto`.
    fn encode(
        after: ItemId,
        upto: ItemId,
        input: &SegmentInput,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let n = input.keys.len();
        let nf = input.descriptors.len().min(SEGMENT_FEATURES);
        let bits = bucket_bits(nf);
        let kind = format!("{}/{SCHEME}", features::KIND);
        out.write_all(MAGIC)?;
        out.write_all(&(kind.len() as u32).to_le_bytes())?;
        out.write_all(kind.as_bytes())?;
        out.write_all(&after.0.to_le_bytes())?;
        out.write_all(&upto.0.to_le_bytes())?;
        out.write_all(&(n as u64).to_le_bytes())?;
        out.write_all(&(nf as u64).to_le_bytes())?;
        out.write_all(&bits.to_le_bytes())?;
        let mut w = |values: &mut dyn Iterator<Item = u64>, size: usize| -> std::io::Result<()> {
            for v in values {
                out.write_all(&v.to_le_bytes()[..size])?;
            }
            Ok(())
        };
        w(&mut input.keys.iter().map(|k| k.item.0 as u64), 8)?;
        w(
            &mut input
                .keys
                .iter()
                .map(|k| u64::from(k.frame.unwrap_or(NO_FRAME))),
            4,
        )?;
        w(
            &mut input
                .starts
                .iter()
                .map(|&s| u64::from(s))
                .chain(std::iter::once(nf as u64)),
            4,
        )?;
        let buckets = 1usize << bits;
        let filed = &input.descriptors[..nf];
        for t in 0..TABLES {
            let bucket = |k: &[u32; TABLES]| (k[t] >> (KEY_BITS - bits)) as usize;
            let mut offsets = vec![0u32; buckets + 1];
            for d in filed {
                offsets[bucket(&keys(*d).0) + 1] += 1;
            }
            for b in 0..buckets {
                offsets[b + 1] += offsets[b];
            }
            let mut next = offsets.clone();
            let mut postings = vec![0u64; nf];
            for (f, d) in filed.iter().enumerate() {
                let (k, sig, angle) = keys(*d);
                let b = bucket(&k);
                postings[next[b] as usize] =
                    (sig << (ANGLE_BITS + FEATURE_BITS)) | (angle << FEATURE_BITS) | f as u64;
                next[b] += 1;
            }
            w(&mut offsets.iter().map(|&o| u64::from(o)), 4)?;
            w(&mut postings.into_iter(), 8)?;
        }
        Ok(())
    }

    /// The segment in `slab`, checked to fit.
    fn parse(slab: Slab, file: Option<String>) -> std::io::Result<Segment> {
        let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
        let bytes = slab.bytes();
        let mut c = Cursor::new(bytes, 0);
        if &c.take::<16>()? != MAGIC {
            return Err(bad("not a firstseen feature index segment"));
        }
        let kind_len = c.u32()? as usize;
        let kind_at = c.skip(kind_len, 1)?;
        if bytes[kind_at..kind_at + kind_len] != *format!("{}/{SCHEME}", features::KIND).as_bytes()
        {
            return Err(bad("a segment of another kind of features or index"));
        }
        let after = ItemId(c.u64()? as i64);
        let upto = ItemId(c.u64()? as i64);
        let n = usize::try_from(c.u64()?).map_err(|_| bad("count out of range"))?;
        let nf = usize::try_from(c.u64()?).map_err(|_| bad("count out of range"))?;
        let bits = c.u32()?;
        if nf > SEGMENT_FEATURES || !(1..=KEY_BITS).contains(&bits) {
            return Err(bad("counts out of range"));
        }
        let items_at = c.skip(n, 8)?;
        let frames_at = c.skip(n, 4)?;
        let starts_at = c.skip(n + 1, 4)?;
        let mut tables = [(0, 0); TABLES];
        for t in &mut tables {
            let offsets_at = c.skip((1 << bits) + 1, 4)?;
            let postings_at = c.skip(nf, 8)?;
            *t = (offsets_at, postings_at);
        }
        if c.at != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        let seg = Segment {
            slab,
            file,
            after,
            upto,
            n,
            features: nf,
            bits,
            items_at,
            frames_at,
            starts_at,
            tables,
        };
        // The bucket offsets and entry starts (tens of megabytes in a
        // large segment) are not all read here: each read is checked
        // against the counts as it is made ([`Segment::hits`]), and
        // `verify` compares the whole file with the catalog.
        Ok(seg)
    }

    fn key(&self, k: usize) -> FeatureKey {
        let b = self.slab.bytes();
        let frame = u32_at(b, self.frames_at + 4 * k);
        FeatureKey {
            item: ItemId(u64_at(b, self.items_at + 8 * k) as i64),
            frame: (frame != NO_FRAME).then_some(frame),
        }
    }

    /// Entry number of feature `f` (entries' starts rise).
    fn entry_of(&self, f: u32) -> usize {
        let b = self.slab.bytes();
        let (mut lo, mut hi) = (0, self.n);
        // The last entry whose start is <= f.
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if u32_at(b, self.starts_at + 4 * mid) <= f {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Stored features of this segment filed under table `t` that
    /// reappear among `probes` (their keys and signatures), unsorted,
    /// with repeats. Postings are read from the file, not through the
    /// mapping (see [`Slab::read_at`]); the bucket offsets are read in
    /// place.
    fn hits(&self, t: usize, probes: &[Probe]) -> Result<Vec<u32>> {
        let b = self.slab.bytes();
        let (offsets_at, postings_at) = self.tables[t];
        let buckets = 1usize << self.bits;
        let shift = KEY_BITS - self.bits;
        let stop = (STOP_FACTOR * (self.features >> self.bits)).max(STOP_MIN);
        let mut hits: Vec<u32> = Vec::new();
        let mut run: Vec<u8> = Vec::new();
        for (k, sig, angle) in probes {
            let bucket = ((k[t] >> shift) as usize).min(buckets - 1);
            let lo = u32_at(b, offsets_at + 4 * bucket) as usize;
            let hi = u32_at(b, offsets_at + 4 * bucket + 4) as usize;
            if lo > hi || hi > self.features {
                return Err(Error::io(
                    Path::new(DIR).join(self.name()),
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "bucket offsets out of order (`firstseen verify` rebuilds the index)",
                    ),
                ));
            }
            if hi - lo > stop || hi == lo {
                continue;
            }
            run.resize(8 * (hi - lo), 0);
            self.slab
                .read_at(postings_at + 8 * lo, &mut run)
                .map_err(|e| Error::io(Path::new(DIR).join(self.name()), e))?;
            for p in run.chunks_exact(8) {
                let p = u64::from_le_bytes(p.try_into().expect("eight bytes"));
                if ((p >> (ANGLE_BITS + FEATURE_BITS)) ^ sig).count_ones() <= SIG_RADIUS {
                    // The feature number, and above it the bin of the
                    // turn from the stored corner to the query's.
                    let stored = (p >> FEATURE_BITS) & ((1 << ANGLE_BITS) - 1);
                    let turn = (angle + (1 << ANGLE_BITS) - stored) & ((1 << ANGLE_BITS) - 1);
                    let bin = (turn * ANGLE_BINS as u64) >> ANGLE_BITS;
                    hits.push(((bin << FEATURE_BITS) | (p & ((1 << FEATURE_BITS) - 1))) as u32);
                }
            }
        }
        Ok(hits)
    }

    /// Entries of this segment and their votes, from the [`Segment::hits`]
    /// of its tables: each stored feature counts once (however many of
    /// its keys the query shares), in the bin of its turn; an entry's
    /// votes are those of its best two neighbouring bins.
    fn votes(&self, mut hits: Vec<u32>) -> Vec<(usize, usize)> {
        let feature = |h: u32| h & ((1 << FEATURE_BITS) - 1);
        hits.sort_unstable_by_key(|&h| (feature(h), h));
        hits.dedup_by_key(|h| feature(*h));
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut bins = [0usize; ANGLE_BINS];
        let mut current: Option<usize> = None;
        let best = |bins: &[usize; ANGLE_BINS]| {
            (0..ANGLE_BINS)
                .map(|b| bins[b] + bins[(b + 1) % ANGLE_BINS])
                .max()
                .unwrap_or(0)
        };
        for h in hits {
            let f = feature(h);
            if (f as usize) >= self.features {
                continue;
            }
            let e = self.entry_of(f);
            if current != Some(e) {
                if let Some(c) = current {
                    out.push((c, best(&bins)));
                }
                current = Some(e);
                bins = [0; ANGLE_BINS];
            }
            bins[(h >> FEATURE_BITS) as usize % ANGLE_BINS] += 1;
        }
        if let Some(c) = current {
            out.push((c, best(&bins)));
        }
        out
    }

    /// The segment's file name, or what it is.
    fn name(&self) -> &str {
        self.file.as_deref().unwrap_or("(in memory)")
    }
}

/// What `state.json` records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct State {
    features: String,
    scheme: String,
    edits: i64,
    /// The last item the segments cover.
    upto: i64,
    /// Its SHA-256: a state of another catalog is stale.
    upto_sha: Option<String>,
    segments: Vec<SegmentInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct SegmentInfo {
    file: String,
    after: i64,
    upto: i64,
    entries: u64,
    features: u64,
}

/// How the feature index was opened, for `--timings`, `verify` and the
/// warnings of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureIndexOpen {
    /// The segments were current (plus the items archived since).
    Current,
    /// There was none (an archive of an earlier version): built.
    Built,
    /// It was damaged or stale: rebuilt from the catalog.
    Rebuilt,
    /// Built in memory (a manifest's catalog).
    InMemory,
    /// None could be built (the archive cannot be written): every stored
    /// feature is voted on linearly.
    Linear,
}

/// The feature index of an archive, or one built in memory.
#[derive(Debug, Clone, Default)]
pub struct FeatureIndex {
    segments: Vec<Segment>,
    /// Entries after the last segment (or all, for the linear vote),
    /// with their features.
    recent: Vec<FeatureEntry>,
    /// The last item the segments (and `recent`) cover.
    upto: ItemId,
    edits: i64,
    /// Damaged stored rows met, one line each.
    damaged: Vec<String>,
    how: Option<FeatureIndexOpen>,
}

impl FeatureIndex {
    /// An index over entries held in memory, filed in segments as an
    /// archive's would be (a manifest's catalog, tests, benches).
    pub fn in_memory(entries: Vec<FeatureEntry>) -> FeatureIndex {
        let upto = entries.iter().map(|e| e.key.item).max().unwrap_or_default();
        let mut sorted: Vec<&FeatureEntry> = entries.iter().collect();
        sorted.sort_by_key(|e| e.key);
        let mut segments = Vec::new();
        let mut input = SegmentInput::default();
        let mut after = ItemId(i64::MIN);
        let mut flush = |input: &mut SegmentInput, upto: ItemId, after: &mut ItemId| {
            if input.keys.is_empty() {
                return;
            }
            let mut bytes = Vec::new();
            Segment::encode(*after, upto, input, &mut bytes).expect("writing to memory");
            segments.push(Segment::parse(Slab::heap(bytes), None).expect("a segment just encoded"));
            *after = upto;
            *input = SegmentInput::default();
        };
        let mut last = ItemId(i64::MIN);
        for e in sorted {
            if input.would_overflow(&e.features) && e.key.item != last {
                flush(&mut input, last, &mut after);
            }
            input.push(e.key, &e.features);
            last = e.key.item;
        }
        flush(&mut input, last, &mut after);
        FeatureIndex {
            segments,
            recent: entries,
            upto,
            how: Some(FeatureIndexOpen::InMemory),
            ..FeatureIndex::default()
        }
    }

    /// An index that votes linearly on every entry (the reference the
    /// index is tested against).
    pub fn linear(entries: Vec<FeatureEntry>) -> FeatureIndex {
        FeatureIndex {
            upto: entries.iter().map(|e| e.key.item).max().unwrap_or_default(),
            recent: entries,
            how: Some(FeatureIndexOpen::Linear),
            ..FeatureIndex::default()
        }
    }

    /// Opens the feature index of the archive at `dir`: its segments and
    /// the entries archived since, or — when it is missing, damaged or
    /// stale — builds it from the catalog (`progress` gets items done and
    /// items in all), or, when it cannot be written, votes linearly.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn open(
        dir: &Path,
        catalog: &Catalog,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<FeatureIndex> {
        let state = catalog.feature_state()?;
        // Until segments are found or built, every entry is voted on
        // linearly: when forced, and for an archive that cannot be
        // written (a build fails with an I/O error).
        let mut index = FeatureIndex {
            edits: state.edits,
            how: Some(FeatureIndexOpen::Linear),
            ..FeatureIndex::default()
        };
        if std::env::var_os(LINEAR_VAR).is_none_or(|v| v != "linear") {
            let stale = match read_state(dir) {
                Ok(Some(s)) => match current(dir, &s, state, catalog)? {
                    Some(segments) => {
                        index.segments = segments;
                        index.upto = ItemId(s.upto);
                        index.how = Some(FeatureIndexOpen::Current);
                        None
                    }
                    None => Some(FeatureIndexOpen::Rebuilt),
                },
                Ok(None) => Some(FeatureIndexOpen::Built),
                Err(_) => Some(FeatureIndexOpen::Rebuilt),
            };
            if let Some(how) = stale {
                match build(dir, catalog, state, progress) {
                    Ok((segments, damaged)) => {
                        index.segments = segments;
                        index.upto = state.last_item;
                        index.damaged = damaged;
                        index.how = Some(how);
                    }
                    Err(Error::Io { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        index.follow(catalog)?;
        Ok(index)
    }

    /// Takes in the entries archived since this index was opened (by
    /// this process or another): their features join the linearly voted
    /// tail. Returns false, doing nothing, when the catalog changed
    /// otherwise (the index must be opened again).
    ///
    /// # Errors
    /// Catalog errors.
    pub fn follow(&mut self, catalog: &Catalog) -> Result<bool> {
        let state = catalog.feature_state()?;
        if state.edits != self.edits {
            return Ok(false);
        }
        let after = self
            .recent
            .iter()
            .map(|e| e.key.item)
            .max()
            .unwrap_or(self.upto)
            .max(self.upto);
        if state.last_item > after {
            let damaged = &mut self.damaged;
            let recent = &mut self.recent;
            catalog.feature_rows(
                after,
                state.last_item,
                &mut |r| match FeatureEntry::from_row(r) {
                    Ok(e) => recent.push(e),
                    Err(line) => damaged.push(line),
                },
            )?;
        }
        Ok(true)
    }

    /// Adds the features of one picture or frame archived by this
    /// process (so its next query sees them without a catalog read).
    pub fn push(&mut self, entry: FeatureEntry) {
        self.recent.push(entry);
    }

    /// How it was opened.
    pub fn how(&self) -> Option<FeatureIndexOpen> {
        self.how
    }

    /// Stored rows that could not be read, one line each ("item 17:
    /// stored features are malformed: …"): those items are matched
    /// without their features.
    pub fn damaged(&self) -> &[String] {
        &self.damaged
    }

    /// Entries held in memory (not indexed yet, or all of a linear or
    /// in-memory index).
    pub fn recent(&self) -> &[FeatureEntry] {
        &self.recent
    }

    /// Features filed in segments.
    pub fn indexed_features(&self) -> usize {
        self.segments.iter().map(|s| s.features).sum()
    }

    /// Bytes of the segments (mapped or in memory).
    pub fn segment_bytes(&self) -> usize {
        self.segments.iter().map(|s| s.slab.bytes().len()).sum()
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The stored pictures and frames the query's features point to,
    /// most votes first: from the segments, the [`SHORTLIST`] entries
    /// with the most index votes (at least [`MIN_INDEX_VOTES`]); from
    /// the entries not indexed yet, those the linear vote nominates. The
    /// segments' nominees still need the linear vote on their own
    /// features (see [`super::feature_hits`]).
    ///
    /// # Errors
    /// I/O errors reading a segment file.
    pub fn nominate(
        &self,
        query: &Features,
        mirrored: &Features,
    ) -> Result<(Vec<Nominee>, Vec<usize>)> {
        use rayon::prelude::*;
        let probes: Vec<Probe> = query
            .descriptors
            .iter()
            .zip(&query.points)
            .chain(mirrored.descriptors.iter().zip(&mirrored.points))
            .map(|(d, p)| keys(filed(d, p.angle)))
            .collect();
        // Each table of each segment on its own thread; then each
        // segment's hits counted per entry.
        let jobs: Vec<(usize, usize)> = (0..self.segments.len())
            .flat_map(|s| (0..TABLES).map(move |t| (s, t)))
            .collect();
        let hits: Vec<Vec<u32>> = jobs
            .par_iter()
            .map(|&(s, t)| self.segments[s].hits(t, &probes))
            .collect::<Result<_>>()?;
        let mut nominees: Vec<Nominee> = Vec::new();
        for (s, seg) in self.segments.iter().enumerate() {
            let all: Vec<u32> = hits[s * TABLES..(s + 1) * TABLES].concat();
            nominees.extend(
                seg.votes(all)
                    .into_iter()
                    .filter(|&(_, v)| v >= MIN_INDEX_VOTES)
                    .map(|(e, votes)| Nominee {
                        key: seg.key(e),
                        votes,
                    }),
            );
        }
        nominees.sort_by(|a, b| b.votes.cmp(&a.votes).then(a.key.cmp(&b.key)));
        nominees.truncate(SHORTLIST);
        // Entries the segments hold are voted on there; the rest here.
        let indexed = !self.segments.is_empty();
        let tail: Vec<usize> = linear_votes(&self.recent, query, mirrored, &|e| {
            !(indexed && e.key.item <= self.upto)
        })
        .into_iter()
        .map(|(k, _)| k)
        .collect();
        Ok((nominees, tail))
    }

    /// Writes the entries not yet in a segment as a new segment (merging
    /// small segments as they gather) and records it, so later commands
    /// read few rows linearly; builds the whole index when there is none
    /// or it is stale (`progress` gets items done and items in all). What
    /// is written is read from the catalog, not taken from this index.
    ///
    /// # Errors
    /// Catalog errors, and I/O errors writing the files.
    pub fn save(dir: &Path, catalog: &Catalog, progress: &mut dyn FnMut(u64, u64)) -> Result<()> {
        if std::env::var_os(LINEAR_VAR).is_some_and(|v| v == "linear") {
            return Ok(());
        }
        let state = catalog.feature_state()?;
        let s = match read_state(dir) {
            Ok(Some(s)) if current(dir, &s, state, catalog)?.is_some() => s,
            // None yet (a new archive, an import into one), or stale:
            // built now rather than by the next command.
            _ => {
                let _t = timings::stage("feature index build");
                return build(dir, catalog, state, progress).map(drop);
            }
        };
        if state.last_item.0 <= s.upto {
            return Ok(());
        }
        let _t = timings::stage("feature index save");
        let mut infos = s.segments.clone();
        let (mut new, _damaged) =
            write_segments(dir, catalog, ItemId(s.upto), state.last_item, progress)?;
        infos.append(&mut new);
        // Merge the last two segments while the later is at least half
        // the earlier (as a binary counter carries), so an archive grown
        // a little at a time keeps a few large segments.
        let mut retired = Vec::new();
        while let [.., a, b] = infos.as_slice()
            && b.features * 2 >= a.features
            && a.features + b.features <= SEGMENT_FEATURES as u64
        {
            let (after, upto) = (ItemId(a.after), ItemId(b.upto));
            let (merged, _damaged) = write_segments(dir, catalog, after, upto, &mut |_, _| {})?;
            retired.extend(infos.split_off(infos.len() - 2));
            let grew = merged.len() > 1;
            infos.extend(merged);
            if grew {
                break;
            }
        }
        write_state(dir, catalog, state, infos)?;
        for r in retired {
            let _ = std::fs::remove_file(dir.join(DIR).join(&r.file));
        }
        Ok(())
    }

    /// Compares every segment with the catalog by building it again and
    /// comparing the bytes, and rebuilds the index when they differ (it
    /// is derived data: nothing recorded changes). Returns the problem,
    /// and the damaged stored rows found.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn verify(dir: &Path, catalog: &Catalog) -> Result<(Option<String>, Vec<String>)> {
        let state = catalog.feature_state()?;
        let mut damaged = Vec::new();
        let problem = match read_state(dir) {
            Ok(None) => None,
            Err(e) => Some(format!("{STATE_FILE} cannot be read ({e})")),
            Ok(Some(s)) => match current(dir, &s, state, catalog)? {
                None => None,
                Some(segments) => {
                    let mut problem = None;
                    for seg in &segments {
                        let mut input = SegmentInput::default();
                        catalog.feature_rows(seg.after, seg.upto, &mut |r| match r.features {
                            Ok(f) => input.push(r.key, &f),
                            Err(why) => damaged.push(damaged_line(&r.key, &why)),
                        })?;
                        let mut bytes = Vec::new();
                        Segment::encode(seg.after, seg.upto, &input, &mut bytes)
                            .map_err(|e| Error::io(dir.join(DIR), e))?;
                        if bytes != seg.slab.bytes() {
                            problem = Some(format!(
                                "{DIR}/{} differs from the catalog's features of items {} to {}",
                                seg.file.as_deref().unwrap_or("?"),
                                seg.after.0 + 1,
                                seg.upto.0
                            ));
                            break;
                        }
                    }
                    problem
                }
            },
        };
        if problem.is_some() || !damaged.is_empty() {
            let mut ignore = |_, _| {};
            let rebuilt = build(dir, catalog, state, &mut ignore);
            return Ok(match (problem, rebuilt) {
                (Some(p), Ok((_, d))) => (Some(format!("{p}; rebuilt from the catalog")), d),
                (Some(p), Err(e)) => (Some(format!("{p}; rebuilding it failed: {e}")), damaged),
                (None, Ok((_, d))) => (None, d),
                (None, Err(_)) => (None, damaged),
            });
        }
        Ok((problem, damaged))
    }
}

/// The entries of `entries` (those `take` accepts) with at least
/// [`super::MIN_VOTES`] stored features within [`super::VOTE_DISTANCE`] of
/// a query descriptor, straight or mirrored: `(position, votes)`, most
/// votes first. The linear vote, reference of the index.
pub fn linear_votes(
    entries: &[FeatureEntry],
    query: &Features,
    mirrored: &Features,
    take: &(dyn Fn(&FeatureEntry) -> bool + Sync),
) -> Vec<(usize, usize)> {
    use rayon::prelude::*;
    let mut out: Vec<(usize, usize)> = entries
        .par_iter()
        .enumerate()
        .filter(|(_, e)| take(e))
        .filter_map(|(k, e)| {
            let votes = vote_count(&e.features, query, mirrored);
            (votes >= super::MIN_VOTES).then_some((k, votes))
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Stored features of `stored` within [`super::VOTE_DISTANCE`] of any
/// query descriptor, straight or mirrored.
pub fn vote_count(stored: &Features, query: &Features, mirrored: &Features) -> usize {
    stored
        .descriptors
        .iter()
        .filter(|d| {
            query
                .descriptors
                .iter()
                .chain(&mirrored.descriptors)
                .any(|e| features::within(d, e, super::VOTE_DISTANCE))
        })
        .count()
}

fn damaged_line(key: &FeatureKey, why: &str) -> String {
    match key.frame {
        Some(f) => format!("item {} (frame {f}): {why}", key.item.0),
        None => format!("item {}: {why}", key.item.0),
    }
}

fn read_state(dir: &Path) -> std::io::Result<Option<State>> {
    match std::fs::read(dir.join(STATE_FILE)) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The segments of `s` when it is a current state of this catalog (same
/// kinds, edits, and last item), each file present and sound, and the
/// ranges in order without overlap; `None` otherwise.
fn current(
    dir: &Path,
    s: &State,
    state: FeatureState,
    catalog: &Catalog,
) -> Result<Option<Vec<Segment>>> {
    if s.features != features::KIND
        || s.scheme != SCHEME
        || s.edits != state.edits
        || s.upto > state.last_item.0
        || sha_of(catalog, ItemId(s.upto))?.map(|h| h.to_string()) != s.upto_sha
    {
        return Ok(None);
    }
    let _t = timings::stage("feature index read");
    let mut segments = Vec::with_capacity(s.segments.len());
    let mut after = 0;
    for info in &s.segments {
        if info.after < after || info.upto <= info.after || !is_segment_name(&info.file) {
            return Ok(None);
        }
        let path = dir.join(DIR).join(&info.file);
        let Ok(file) = std::fs::File::open(&path) else {
            return Ok(None);
        };
        let Ok(seg) = Slab::of_file(file).and_then(|slab| {
            slab.expect_random_reads();
            Segment::parse(slab, Some(info.file.clone()))
        }) else {
            return Ok(None);
        };
        if seg.after.0 != info.after
            || seg.upto.0 != info.upto
            || seg.features as u64 != info.features
        {
            return Ok(None);
        }
        after = info.upto;
        segments.push(seg);
    }
    if after > s.upto {
        return Ok(None);
    }
    Ok(Some(segments))
}

fn is_segment_name(name: &str) -> bool {
    name.starts_with("seg-")
        && name.ends_with(".fix")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Builds the whole index from the catalog: new segments, a new state,
/// and the old files removed.
fn build(
    dir: &Path,
    catalog: &Catalog,
    state: FeatureState,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Vec<Segment>, Vec<String>)> {
    let _t = timings::stage("feature index build");
    let old: Vec<PathBuf> = std::fs::read_dir(dir.join(DIR))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(is_segment_name)
                })
                .collect()
        })
        .unwrap_or_default();
    let (infos, damaged) = write_segments(dir, catalog, ItemId(0), state.last_item, progress)?;
    write_state(dir, catalog, state, infos.clone())?;
    let names: Vec<&str> = infos.iter().map(|i| i.file.as_str()).collect();
    for p in old {
        if !p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| names.contains(&n))
        {
            let _ = std::fs::remove_file(p);
        }
    }
    let Ok(Some(s)) = read_state(dir) else {
        return Err(Error::io(
            dir.join(STATE_FILE),
            std::io::Error::other("the state just written cannot be read"),
        ));
    };
    let segments = current(dir, &s, state, catalog)?.ok_or_else(|| {
        Error::io(
            dir.join(STATE_FILE),
            std::io::Error::other("the segments just written cannot be read"),
        )
    })?;
    Ok((segments, damaged))
}

/// Writes segments covering items `after < item <= upto`, each of at most
/// [`SEGMENT_FEATURES`] features, and returns what they hold.
fn write_segments(
    dir: &Path,
    catalog: &Catalog,
    after: ItemId,
    upto: ItemId,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Vec<SegmentInfo>, Vec<String>)> {
    let folder = dir.join(DIR);
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
    let mut infos = Vec::new();
    let mut damaged = Vec::new();
    let mut input = SegmentInput::default();
    let mut start = after;
    let mut last = after;
    let mut failed: Option<Error> = None;
    let total = (upto.0 - after.0).max(0) as u64;
    let mut flush = |input: &mut SegmentInput, from: ItemId, to: ItemId| -> Result<()> {
        // Items without features need no segment.
        if to <= from || input.keys.is_empty() {
            return Ok(());
        }
        let info = write_segment(dir, from, to, input)?;
        infos.push(info);
        *input = SegmentInput::default();
        Ok(())
    };
    catalog.feature_rows(after, upto, &mut |r| {
        if failed.is_some() {
            return;
        }
        let f = match r.features {
            Ok(f) => f,
            Err(why) => {
                damaged.push(damaged_line(&r.key, &why));
                return;
            }
        };
        if r.key.item != last && input.would_overflow(&f) {
            if let Err(e) = flush(&mut input, start, last) {
                failed = Some(e);
                return;
            }
            start = last;
            progress((last.0 - after.0) as u64, total);
        }
        input.push(r.key, &f);
        if r.key.item != last && r.key.item.0 % 4096 == 0 {
            progress((r.key.item.0 - after.0) as u64, total);
        }
        last = r.key.item;
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    flush(&mut input, start, upto)?;
    progress(total, total);
    Ok((infos, damaged))
}

/// Writes one segment file: a temporary file in the archive's `tmp/`,
/// fsynced, renamed into place under a name no other writer uses.
fn write_segment(
    dir: &Path,
    after: ItemId,
    upto: ItemId,
    input: &SegmentInput,
) -> Result<SegmentInfo> {
    let name = format!(
        "seg-{:012}-{:012}-{}.fix",
        after.0 + 1,
        upto.0,
        unique_suffix()
    );
    let path = dir.join(DIR).join(&name);
    write_atomically(dir, &path, &mut |out| {
        Segment::encode(after, upto, input, out)
    })?;
    Ok(SegmentInfo {
        file: name,
        after: after.0,
        upto: upto.0,
        entries: input.keys.len() as u64,
        features: input.descriptors.len().min(SEGMENT_FEATURES) as u64,
    })
}

fn write_state(
    dir: &Path,
    catalog: &Catalog,
    state: FeatureState,
    segments: Vec<SegmentInfo>,
) -> Result<()> {
    let upto = state.last_item.0;
    let s = State {
        features: features::KIND.to_string(),
        scheme: SCHEME.to_string(),
        edits: state.edits,
        upto,
        upto_sha: sha_of(catalog, ItemId(upto))?.map(|h| h.to_string()),
        segments,
    };
    let json = serde_json::to_vec_pretty(&s)
        .map_err(|e| Error::io(dir.join(STATE_FILE), std::io::Error::other(e)))?;
    write_atomically(dir, &dir.join(STATE_FILE), &mut |out| out.write_all(&json))
}

fn unique_suffix() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{:x}{:x}{:x}",
        nanos,
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// Writes `path` through a temporary file in the archive's `tmp/`
/// (cleaned like the object store's), fsynced, then renamed over it.
fn write_atomically(
    dir: &Path,
    path: &Path,
    write: &mut dyn FnMut(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = dir
        .join("tmp")
        .join(format!("features.{}", unique_suffix()));
    let written = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("tmp"))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::File::create(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::features::Keypoint;

    fn random(seed: &mut u64) -> Descriptor {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        [next(), next(), next(), next()]
    }

    fn entry(item: i64, descriptors: Vec<Descriptor>) -> FeatureEntry {
        let point = Keypoint {
            x: 10.0,
            y: 10.0,
            angle: 0.0,
            level: 0,
            score: 1.0,
        };
        FeatureEntry {
            key: FeatureKey {
                item: ItemId(item),
                frame: None,
            },
            span: None,
            features: Features {
                width: 640,
                height: 480,
                source_width: 640,
                source_height: 480,
                points: vec![point; descriptors.len()],
                descriptors,
            },
        }
    }

    /// A copy turns all its corners alike; a picture of generic corners
    /// agrees with more of the query's, but at every turn: the copy ranks
    /// first, with all its votes, and the other keeps few.
    #[test]
    fn votes_count_the_most_consistent_turn() {
        let mut seed = 0xa11_u64;
        let asked: Vec<Descriptor> = (0..42).map(|_| random(&mut seed)).collect();
        let angles: Vec<f32> = (0..42)
            .map(|k| k as f32 * 0.37 % std::f32::consts::TAU)
            .collect();
        let with_angles =
            |item: i64, range: std::ops::Range<usize>, turn: &dyn Fn(usize) -> f32| {
                let mut e = entry(item, asked[range.clone()].to_vec());
                for (p, k) in e.features.points.iter_mut().zip(range) {
                    p.angle = (angles[k] - turn(k)).rem_euclid(std::f32::consts::TAU);
                }
                e
            };
        // 30 agreements at scattered turns; 12 at one turn.
        let generic = with_angles(1, 0..30, &|k| k as f32 * 2.1);
        let copy = with_angles(2, 30..42, &|_| 0.3);
        let index = FeatureIndex::in_memory(vec![generic, copy]);
        let mut q = entry(0, asked).features;
        for (p, a) in q.points.iter_mut().zip(&angles) {
            p.angle = *a;
        }
        let m = q.mirrored();
        let (nominees, _) = index.nominate(&q, &m).unwrap();
        let votes: Vec<(i64, usize)> = nominees.iter().map(|n| (n.key.item.0, n.votes)).collect();
        assert_eq!(votes[0], (2, 12), "{votes:?}");
        assert!(votes.iter().all(|&(i, v)| i == 2 || v < 12), "{votes:?}");
    }

    fn query(descriptors: Vec<Descriptor>) -> (Features, Features) {
        let q = entry(0, descriptors).features;
        let m = q.mirrored();
        (q, m)
    }

    /// A pattern that recurs in picture after picture fills one bucket
    /// of each table: it is not read, so the pictures made mostly of it
    /// are not shortlisted for it, and a picture is still found by its
    /// distinctive features.
    #[test]
    fn a_crowded_bucket_is_a_stop_word() {
        let mut seed = 0x5eed_u64;
        let common = random(&mut seed);
        let mut entries = Vec::new();
        for item in 1..=400 {
            let mut d = vec![common; 10];
            d.extend((0..10).map(|_| random(&mut seed)));
            entries.push(entry(item, d));
        }
        let distinctive: Vec<Descriptor> = (0..10).map(|_| random(&mut seed)).collect();
        let mut target = vec![common; 3];
        target.extend(distinctive.iter().copied());
        entries.push(entry(401, target));
        let index = FeatureIndex::in_memory(entries);
        assert_eq!(index.segment_count(), 1);

        let mut asked = vec![common];
        asked.extend(distinctive.iter().copied());
        let (q, m) = query(asked);
        let (nominees, tail) = index.nominate(&q, &m).unwrap();
        assert!(tail.is_empty(), "every entry is in the segment");
        assert_eq!(
            nominees.iter().map(|n| n.key.item.0).collect::<Vec<_>>(),
            [401],
            "{nominees:?}"
        );
        assert_eq!(nominees[0].votes, 10, "only its distinctive features vote");

        // Asked for the common pattern alone: nothing is shortlisted
        // (the 400 pictures it fills would otherwise all be).
        let (q, m) = query(vec![common]);
        assert!(index.nominate(&q, &m).unwrap().0.is_empty());
    }

    /// The filed keys and signature are the chosen bits: two descriptors
    /// differing only outside them share every key and signature, and a
    /// flip of a key bit moves that table's key only.
    #[test]
    fn keys_are_the_chosen_bits() {
        let mut seed = 0xfeed_u64;
        let d = random(&mut seed);
        let used: Vec<u8> = KEY_AT.iter().flatten().chain(&SIG_AT).copied().collect();
        let unused = (0..=255u8).find(|b| !used.contains(b)).unwrap();
        let mut e = d;
        e[usize::from(unused) / 64] ^= 1 << (unused % 64);
        assert_eq!(keys(filed(&d, 1.0)), keys(filed(&e, 1.0)));
        let bit = KEY_AT[2][0];
        let mut f = d;
        f[usize::from(bit) / 64] ^= 1 << (bit % 64);
        let (a, sa, ta) = keys(filed(&d, 1.0));
        let (b, sb, tb) = keys(filed(&f, 1.0));
        assert_eq!((a[0], a[1], a[3], sa, ta), (b[0], b[1], b[3], sb, tb));
        assert_eq!(
            a[2] ^ b[2],
            1 << (KEY_BITS - 1),
            "the leading bit of table 2"
        );
        // No bit serves twice.
        let mut sorted = used.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), used.len());
    }
}
