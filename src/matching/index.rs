//! The index matching searches: every PDQ hash of photos and video
//! frames, with their pHash/dHash, and the stored local features of
//! archived pictures.
//!
//! Hashes are held in multi-index tables ([`super::hamming`]), which answer
//! the matcher's radius queries exactly (the same results as a linear
//! scan) without reading every hash. For an archive the tables persist in
//! `index/hashes.idx` beside the catalog, as a snapshot of the catalog up
//! to its last item: a command reads the snapshot and the few items
//! archived since (scanned linearly), and `archive` and `import` fold
//! those into a new snapshot once they number [`MERGE_AT`]. A snapshot
//! whose catalog changed otherwise (the catalog's `hash_edits` counter,
//! bumped by triggers on any update, deletion or out-of-order insert, by
//! firstseen or by hand), that is missing, damaged or from another
//! catalog, is rebuilt from the catalog; `verify` compares it whole.
//!
//! Local features have their own index ([`super::features`]), held here
//! beside the hashes.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::features::{FeatureEntry, FeatureIndex, FeatureSource};
use super::hamming::MultiIndex;
use super::slab::{Cursor, Slab, put_u32s, put_u64s, u32_at, u64_at};
use super::{SIMILAR_DHASH, SIMILAR_PHASH, Thresholds};
use crate::error::{Error, Result};
use crate::hash::features::Features;
use crate::hash::{Dihedral, Hash64, Hash256, Sha256};
use crate::store::{Catalog, FeatureKey, FeatureRow, HashState, IndexedHash, ItemId};
use crate::timings;

/// A near match found in the index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candidate {
    /// The archived item.
    pub item: ItemId,
    /// PDQ Hamming distance under the best transform.
    pub distance: u32,
    /// How the query relates to the archived picture: the query is the
    /// archived picture under this transform (`Original` = same
    /// orientation).
    pub relation: Dihedral,
    /// Either hash has quality below the trusted minimum.
    pub low_quality: bool,
    /// When the indexed hash is a video frame: the span it stands for.
    pub span: Option<(f64, f64)>,
}

/// Hashes archived since the snapshot that trigger a new one.
pub const MERGE_AT: usize = 1024;

/// File of the persistent snapshot, inside the archive directory.
pub const INDEX_FILE: &str = "index/hashes.idx";

/// The hashes matching searches and the stored features it votes on.
#[derive(Debug, Default)]
pub struct Index {
    base: Snapshot,
    /// Hashes archived after the snapshot, scanned linearly.
    recent: Vec<IndexedHash>,
    /// The stored local features ([`super::features`]).
    features: FeatureIndex,
    /// Stored feature rows found damaged while matching (reported once).
    damaged: std::sync::Mutex<Vec<String>>,
}

impl Clone for Index {
    fn clone(&self) -> Self {
        Index {
            base: self.base.clone(),
            recent: self.recent.clone(),
            features: self.features.clone(),
            damaged: std::sync::Mutex::new(Vec::new()),
        }
    }
}

/// The catalog's hashes up to one item, in multi-index tables: what the
/// index file holds, queried in place (see [`super::slab`]). Entries are
/// in catalog order (item, then frame start).
///
/// File layout, little-endian: magic, `edits`, last item, its SHA-256,
/// entry count `n`, then per entry its item (`u64`), PDQ quality (`u8`)
/// and span number (`u32`, [`NO_SPAN`] for a photo), the span count and
/// spans (two `f64`), the PDQ [`MultiIndex`], the count `m` of entries
/// with pHash and dHash, their entry numbers (`u32`) and dHashes (`u64`),
/// and the pHash [`MultiIndex`].
#[derive(Debug, Clone)]
struct Snapshot {
    slab: Slab,
    /// The catalog state the snapshot reflects.
    edits: i64,
    last_item: ItemId,
    /// SHA-256 of that last item: a snapshot of another catalog is stale.
    last_sha: Option<Sha256>,
    n: usize,
    items_at: usize,
    quality_at: usize,
    span_of_at: usize,
    spans: usize,
    spans_at: usize,
    pdq: MultiIndex<4>,
    /// pHash of the entries that have both pHash and dHash.
    similar: MultiIndex<1>,
    similar_entry_at: usize,
    dhash_at: usize,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot::build(
            HashState {
                edits: 0,
                last_item: ItemId(0),
            },
            None,
            &[],
        )
    }
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.slab.bytes() == other.slab.bytes()
    }
}

const NO_SPAN: u32 = u32::MAX;
const MAGIC: &[u8; 16] = b"firstseen-idx\0v1";

/// Descriptor distance (of 256) at which a stored feature counts as
/// seen again in a query, for the first-stage vote.
pub const VOTE_DISTANCE: u32 = 40;
/// Votes that nominate an item for verification.
pub const MIN_VOTES: usize = 6;

impl Snapshot {
    fn build(state: HashState, last_sha: Option<Sha256>, rows: &[IndexedHash]) -> Snapshot {
        let n = rows.len();
        let mut out = Vec::with_capacity(128 + n * 200);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&state.edits.to_le_bytes());
        out.extend_from_slice(&state.last_item.0.to_le_bytes());
        out.extend_from_slice(&last_sha.map_or([0; 32], |s| s.0));
        out.extend_from_slice(&(n as u64).to_le_bytes());
        let items: Vec<u64> = rows.iter().map(|r| r.item.0 as u64).collect();
        put_u64s(&mut out, &items);
        out.extend(rows.iter().map(|r| r.quality));
        let mut spans = Vec::new();
        let span_of: Vec<u32> = rows
            .iter()
            .map(|r| match r.span {
                Some((a, b)) => {
                    spans.extend([a.to_bits(), b.to_bits()]);
                    (spans.len() / 2 - 1) as u32
                }
                None => NO_SPAN,
            })
            .collect();
        put_u32s(&mut out, &span_of);
        out.extend_from_slice(&((spans.len() / 2) as u64).to_le_bytes());
        put_u64s(&mut out, &spans);
        MultiIndex::encode(rows.iter().map(|r| r.hash.words()).collect(), &mut out);
        let mut similar_entry = Vec::new();
        let mut phash = Vec::new();
        let mut dhash = Vec::new();
        for (k, r) in rows.iter().enumerate() {
            if let (Some(p), Some(d)) = (r.phash, r.dhash) {
                similar_entry.push(k as u32);
                phash.push([p.0]);
                dhash.push(d.0);
            }
        }
        out.extend_from_slice(&(similar_entry.len() as u64).to_le_bytes());
        put_u32s(&mut out, &similar_entry);
        put_u64s(&mut out, &dhash);
        MultiIndex::encode(phash, &mut out);
        Snapshot::parse(Slab::heap(out)).expect("a snapshot just encoded parses")
    }

    /// The snapshot in `slab` (checked as [`MultiIndex::parse`] checks).
    fn parse(slab: Slab) -> std::io::Result<Snapshot> {
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a firstseen index");
        let bytes = slab.bytes();
        let mut c = Cursor::new(bytes, 0);
        if &c.take::<16>()? != MAGIC {
            return Err(bad());
        }
        let edits = i64::from_le_bytes(c.take()?);
        let last_item = ItemId(i64::from_le_bytes(c.take()?));
        let sha: [u8; 32] = c.take()?;
        let last_sha = (sha != [0; 32]).then_some(Sha256(sha));
        let n = count(&mut c, u32::MAX as usize)?;
        let items_at = c.skip(n, 8)?;
        let quality_at = c.skip(n, 1)?;
        let span_of_at = c.skip(n, 4)?;
        let spans = count(&mut c, n)?;
        let spans_at = c.skip(spans, 16)?;
        let (pdq, end) = MultiIndex::parse(&slab, c.at)?;
        c.at = end;
        let m = count(&mut c, n)?;
        let similar_entry_at = c.skip(m, 4)?;
        let dhash_at = c.skip(m, 8)?;
        let (similar, end) = MultiIndex::parse(&slab, c.at)?;
        if pdq.len() != n || similar.len() != m || end != bytes.len() {
            return Err(bad());
        }
        Ok(Snapshot {
            slab,
            edits,
            last_item,
            last_sha,
            n,
            items_at,
            quality_at,
            span_of_at,
            spans,
            spans_at,
            pdq,
            similar,
            similar_entry_at,
            dhash_at,
        })
    }

    fn len(&self) -> usize {
        self.n
    }

    fn item(&self, k: usize) -> ItemId {
        ItemId(u64_at(self.slab.bytes(), self.items_at + 8 * k) as i64)
    }

    /// Entry `k` as a catalog row.
    fn row(&self, k: usize) -> IndexedHash {
        IndexedHash {
            item: self.item(k),
            hash: Hash256::from_words(&self.pdq.hash(k as u32)),
            quality: self.slab.bytes()[self.quality_at + k],
            phash: None,
            dhash: None,
            span: self.span(k),
        }
    }

    /// The span of entry `k` (none for a photo, or a damaged number).
    fn span(&self, k: usize) -> Option<(f64, f64)> {
        let b = self.slab.bytes();
        let s = u32_at(b, self.span_of_at + 4 * k) as usize;
        (s < self.spans).then(|| {
            let at = self.spans_at + 16 * s;
            (
                f64::from_bits(u64_at(b, at)),
                f64::from_bits(u64_at(b, at + 8)),
            )
        })
    }

    /// The entry number and dHash of pHash entry `j`; `None` when the
    /// stored number is damaged.
    fn similar_entry(&self, j: usize) -> Option<(usize, Hash64)> {
        let b = self.slab.bytes();
        let k = u32_at(b, self.similar_entry_at + 4 * j) as usize;
        (k < self.n).then(|| (k, Hash64(u64_at(b, self.dhash_at + 8 * j))))
    }

    /// Every entry as catalog rows, pHash and dHash included.
    fn rows(&self) -> Vec<IndexedHash> {
        let mut rows: Vec<IndexedHash> = (0..self.len()).map(|k| self.row(k)).collect();
        for j in 0..self.similar.len() {
            if let Some((k, d)) = self.similar_entry(j) {
                rows[k].phash = Some(Hash64(self.similar.hash(j as u32)[0]));
                rows[k].dhash = Some(d);
            }
        }
        rows
    }

    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(self.slab.bytes())
    }
}

fn count(c: &mut Cursor<'_>, max: usize) -> std::io::Result<usize> {
    usize::try_from(c.u64()?)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "count out of range"))
}

/// How an index was opened, for `verify` and `--timings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexOpen {
    /// The snapshot was current (plus the items archived since).
    Current,
    /// There was no snapshot: built from the catalog.
    Missing,
    /// The snapshot was damaged, or from another state of the catalog:
    /// rebuilt from the catalog.
    Stale,
    /// Built in memory (a manifest's catalog has no archive directory).
    InMemory,
}

impl Index {
    /// Builds an index over catalog rows, in memory.
    pub fn new(entries: Vec<IndexedHash>) -> Index {
        Index {
            base: Snapshot::build(
                HashState {
                    edits: 0,
                    last_item: ItemId(0),
                },
                None,
                &entries,
            ),
            ..Index::default()
        }
    }

    /// Opens the persistent hash index of the archive at `dir`: its
    /// snapshot and the hashes archived since, or — when the snapshot is
    /// missing, damaged or stale — a new one built from the catalog and
    /// saved (when the directory can be written; a read-only archive
    /// keeps it in memory). Features are not loaded.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn open(dir: &Path, catalog: &Catalog) -> Result<(Index, IndexOpen)> {
        let path = dir.join(INDEX_FILE);
        let read = {
            let _t = timings::stage("index read");
            read_snapshot(&path)
        };
        let how = match read {
            Ok(Some(base)) => {
                let (state, recent) = catalog.hashes_after(base.last_item)?;
                if is_current(&base, state, catalog)? {
                    let mut index = Index {
                        base,
                        recent,
                        ..Index::default()
                    };
                    // Many rows since the snapshot (written by an older
                    // firstseen, or straight into SQLite): fold them in
                    // now, so this is paid once.
                    if index.recent.len() >= MERGE_AT {
                        let _t = timings::stage("index build");
                        let tail = std::mem::take(&mut index.recent);
                        index.base = merged(&index.base, tail, state, catalog)?;
                        let _ = write_snapshot(dir, &index.base);
                    }
                    return Ok((index, IndexOpen::Current));
                }
                IndexOpen::Stale
            }
            Ok(None) => IndexOpen::Missing,
            Err(_) => IndexOpen::Stale,
        };
        let _t = timings::stage("index build");
        let base = snapshot_of(catalog)?;
        let _ = write_snapshot(dir, &base);
        Ok((
            Index {
                base,
                ..Index::default()
            },
            how,
        ))
    }

    /// Writes a new snapshot when the catalog has [`MERGE_AT`] or more
    /// hashes beyond the one on disk, or the one on disk is stale, so
    /// later commands read few rows. What is written is read from the
    /// catalog in one transaction (other writers' items included), not
    /// taken from this index.
    ///
    /// # Errors
    /// Catalog errors, and I/O errors writing the file.
    pub fn save(&self, dir: &Path, catalog: &Catalog) -> Result<()> {
        let (state, tail) = catalog.hashes_after(self.base.last_item)?;
        let current = is_current(&self.base, state, catalog)?;
        if current && tail.len() < MERGE_AT {
            return Ok(());
        }
        let _t = timings::stage("index save");
        let base = if current {
            merged(&self.base, tail, state, catalog)?
        } else {
            snapshot_of(catalog)?
        };
        write_snapshot(dir, &base)
    }

    /// Every hash as catalog rows (snapshot, then recent), for `verify`.
    pub fn rows(&self) -> Vec<IndexedHash> {
        let mut rows = self.base.rows();
        rows.extend(self.recent.iter().copied());
        rows
    }

    /// Bytes the hash tables take (in memory, or mapped from the file).
    pub fn memory_bytes(&self) -> usize {
        self.base.slab.bytes().len() + self.recent.len() * std::mem::size_of::<IndexedHash>()
    }

    /// Adds stored local features of pictures, filed in memory as an
    /// archive's index would file them.
    pub fn with_features(self, features: Vec<(ItemId, Features)>) -> Index {
        self.with_feature_index(FeatureIndex::in_memory(
            features
                .into_iter()
                .map(|(item, features)| FeatureEntry {
                    key: FeatureKey { item, frame: None },
                    span: None,
                    features,
                })
                .collect(),
        ))
    }

    /// Sets the feature index.
    pub fn with_feature_index(mut self, features: FeatureIndex) -> Index {
        self.features = features;
        self
    }

    /// The feature index.
    pub fn features(&self) -> &FeatureIndex {
        &self.features
    }

    /// Adds the features of one picture or frame archived by this run.
    pub fn push_features(&mut self, entry: FeatureEntry) {
        self.features.push(entry);
    }

    /// Stored feature rows found damaged so far (while opening, and
    /// while matching since the last call), each once.
    pub fn take_damaged(&self) -> Vec<String> {
        let mut seen = self
            .damaged
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default();
        seen.extend(self.features.damaged().iter().cloned());
        seen.sort();
        seen.dedup();
        seen
    }

    /// What a command should say once about the archive's indexes: the
    /// stored feature rows that cannot be read (those items are matched
    /// without their features), and a feature index that could not be
    /// written (every stored feature is then voted on, slowly).
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .take_damaged()
            .into_iter()
            .map(|d| format!("stored local features of {d}; matched without them"))
            .collect();
        if self.features.how() == Some(super::FeatureIndexOpen::Linear)
            && std::env::var_os(super::features::LINEAR_VAR).is_none()
        {
            out.push(
                "the feature index cannot be written here: every stored feature is voted on linearly (slow in a large archive; run a command that can write the archive once)"
                    .to_string(),
            );
        }
        out
    }

    fn note_damaged(&self, line: String) {
        if let Ok(mut d) = self.damaged.lock()
            && !d.contains(&line)
        {
            d.push(line);
        }
    }

    /// The stored features of a picture or frame: held in memory, or
    /// read from `source`. A damaged row is noted and skipped.
    ///
    /// # Errors
    /// Store errors.
    pub fn feature_entry(
        &self,
        source: &dyn FeatureSource,
        key: FeatureKey,
    ) -> Result<Option<FeatureEntry>> {
        if let Some(e) = self.features.recent().iter().find(|e| e.key == key) {
            return Ok(Some(e.clone()));
        }
        Ok(source.feature_row(key)?.and_then(|r| self.entry_of_row(r)))
    }

    /// The stored features of a picture, or of every frame of a video.
    ///
    /// # Errors
    /// Store errors.
    pub fn feature_entries_of(
        &self,
        source: &dyn FeatureSource,
        item: ItemId,
    ) -> Result<Vec<FeatureEntry>> {
        let held: Vec<FeatureEntry> = self
            .features
            .recent()
            .iter()
            .filter(|e| e.key.item == item)
            .cloned()
            .collect();
        if !held.is_empty() {
            return Ok(held);
        }
        Ok(source
            .feature_rows_of(item)?
            .into_iter()
            .filter_map(|r| self.entry_of_row(r))
            .collect())
    }

    fn entry_of_row(&self, r: FeatureRow) -> Option<FeatureEntry> {
        FeatureEntry::from_row(r)
            .map_err(|line| self.note_damaged(line))
            .ok()
    }

    /// The hash entry of an item (and, for a frame, its span).
    pub fn entry(&self, item: ItemId, span: Option<(f64, f64)>) -> Option<IndexedHash> {
        let b = &self.base;
        let (mut lo, mut hi) = (0, b.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if b.item(mid) < item {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo..b.len())
            .take_while(|&k| b.item(k) == item)
            .find(|&k| b.span(k) == span)
            .map(|k| b.row(k))
            .or_else(|| {
                self.recent
                    .iter()
                    .find(|e| e.item == item && e.span == span)
                    .copied()
            })
    }
    /// Takes in the hashes archived since this index was read (by this
    /// process or another). Returns false, doing nothing, when the
    /// catalog changed otherwise (the index must be opened again).
    ///
    /// # Errors
    /// Catalog errors.
    pub fn follow(&mut self, catalog: &Catalog) -> Result<bool> {
        let after = self
            .recent
            .iter()
            .map(|e| e.item)
            .max()
            .unwrap_or(self.base.last_item)
            .max(self.base.last_item);
        let (state, rows) = catalog.hashes_after(after)?;
        if state.edits != self.base.edits {
            return Ok(false);
        }
        self.recent.extend(rows);
        Ok(true)
    }

    /// The feature index, to follow the catalog.
    pub fn features_mut(&mut self) -> &mut FeatureIndex {
        &mut self.features
    }

    /// Adds one hash (an item archived during this run).
    pub fn push(&mut self, entry: IndexedHash) {
        self.recent.push(entry);
    }

    /// Number of hashes.
    pub fn len(&self) -> usize {
        self.base.len() + self.recent.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What `verify` found of the persistent hash index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexCheck {
    /// Hashes in the catalog (photos and video frames).
    pub hashes: usize,
    /// What was wrong with the index file, when it disagreed with the
    /// catalog in a way its staleness check cannot see (a damaged file,
    /// or a catalog changed with its triggers removed). It has been
    /// rebuilt from the catalog.
    pub problem: Option<String>,
}

impl Index {
    /// Compares the archive's index file, entry by entry, with the
    /// catalog, and rebuilds it from the catalog when it is missing,
    /// stale or wrong (the index is derived data: nothing recorded
    /// changes).
    ///
    /// # Errors
    /// Catalog errors (a failure to write the rebuilt file is part of
    /// the problem reported).
    pub fn verify(dir: &Path, catalog: &Catalog) -> Result<IndexCheck> {
        let (state, rows) = catalog.hashes_after(ItemId(0))?;
        let problem = match read_snapshot(&dir.join(INDEX_FILE)) {
            Ok(None) => None,
            Err(e) => Some(format!("{INDEX_FILE} cannot be read ({e})")),
            Ok(Some(base)) if !is_current(&base, state, catalog)? => None,
            Ok(Some(base)) => {
                let mut held = base.rows();
                held.extend(rows.iter().filter(|r| r.item > base.last_item).copied());
                first_difference(&held, &rows)
            }
        };
        let fresh = Snapshot::build(state, sha_of(catalog, state.last_item)?, &rows);
        let problem = match (problem, write_snapshot(dir, &fresh)) {
            (Some(p), Ok(())) => Some(format!("{p}; rebuilt from the catalog")),
            (Some(p), Err(e)) => Some(format!("{p}; rebuilding it failed: {e}")),
            (None, _) => None,
        };
        Ok(IndexCheck {
            hashes: rows.len(),
            problem,
        })
    }
}

/// Where an index's entries first differ from the catalog's, in words.
fn first_difference(held: &[IndexedHash], catalog: &[IndexedHash]) -> Option<String> {
    let describe = |r: &IndexedHash| match r.span {
        Some((a, _)) => format!("item #{} (frame at {a:.1} s)", r.item.0),
        None => format!("item #{}", r.item.0),
    };
    match held.iter().zip(catalog).position(|(a, b)| a != b) {
        Some(k) => Some(format!(
            "entry {k} differs from the catalog: the index holds {} with PDQ {}, the catalog {} with PDQ {}",
            describe(&held[k]),
            held[k].hash,
            describe(&catalog[k]),
            catalog[k].hash
        )),
        None if held.len() != catalog.len() => Some(format!(
            "the index holds {} hashes, the catalog {}",
            held.len(),
            catalog.len()
        )),
        None => None,
    }
}

/// The index file at `path`: `None` when there is none, an error when it
/// cannot be read or is damaged.
fn read_snapshot(path: &Path) -> std::io::Result<Option<Snapshot>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Snapshot::parse(Slab::of_file(file)?).map(Some)
}

/// Writes a snapshot beside the catalog: a temporary file in the
/// archive's `tmp/` (cleaned like the object store's), fsynced, renamed
/// over the old one.
fn write_snapshot(dir: &Path, snapshot: &Snapshot) -> Result<()> {
    let path = dir.join(INDEX_FILE);
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp: PathBuf = dir.join("tmp").join(format!(
        "index.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let written = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("tmp"))?;
        let file = std::fs::File::create(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        snapshot.write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(&path, e)
    })
}

/// `base` with the rows archived after it, as of catalog `state`.
fn merged(
    base: &Snapshot,
    tail: Vec<IndexedHash>,
    state: HashState,
    catalog: &Catalog,
) -> Result<Snapshot> {
    let mut rows = base.rows();
    rows.extend(tail);
    Ok(Snapshot::build(
        state,
        sha_of(catalog, state.last_item)?,
        &rows,
    ))
}

/// A snapshot of the whole catalog.
fn snapshot_of(catalog: &Catalog) -> Result<Snapshot> {
    let (state, rows) = catalog.hashes_after(ItemId(0))?;
    let last_sha = sha_of(catalog, state.last_item)?;
    Ok(Snapshot::build(state, last_sha, &rows))
}

/// The SHA-256 of an item, when it exists (none for item 0): what a
/// saved index records of the last item it holds.
pub(super) fn sha_of(catalog: &Catalog, item: ItemId) -> Result<Option<Sha256>> {
    if item.0 == 0 {
        return Ok(None);
    }
    match catalog.item(item) {
        Ok(i) => Ok(Some(i.sha256)),
        Err(Error::UnknownItem(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `base` is a snapshot of this catalog, changed since only by
/// appended items.
fn is_current(base: &Snapshot, state: HashState, catalog: &Catalog) -> Result<bool> {
    Ok(base.edits == state.edits
        && base.last_item <= state.last_item
        && sha_of(catalog, base.last_item)? == base.last_sha)
}

/// Keeps, per entry, the transform with the smallest distance (the
/// earlier transform in [`Dihedral::ALL`] on ties).
fn keep_best<K: Ord>(
    best: &mut std::collections::BTreeMap<K, (u32, Dihedral)>,
    k: K,
    d: u32,
    t: Dihedral,
) {
    best.entry(k)
        .and_modify(|b| {
            if d < b.0 || (d == b.0 && (t as usize) < (b.1 as usize)) {
                *b = (d, t);
            }
        })
        .or_insert((d, t));
}

/// Finds every indexed item within `thresholds.max_distance` of the query
/// under any of its eight dihedral transforms, keeping per item the
/// transform with the smallest distance (the untransformed hash wins
/// ties). `dihedrals` are the query's hashes indexed by
/// `Dihedral as usize`. Results are sorted by distance, then item.
pub fn find_matches(
    dihedrals: &[Hash256; 8],
    quality: u8,
    index: &Index,
    thresholds: &Thresholds,
) -> Vec<Candidate> {
    use std::collections::BTreeMap;
    let radius = thresholds.max_distance;
    let mut base: BTreeMap<u32, (u32, Dihedral)> = BTreeMap::new();
    let mut recent: BTreeMap<usize, (u32, Dihedral)> = BTreeMap::new();
    for t in Dihedral::ALL {
        let q = dihedrals[t as usize].words();
        index
            .base
            .pdq
            .within(&q, radius, &mut |id, d| keep_best(&mut base, id, d, t));
        for (k, e) in index.recent.iter().enumerate() {
            let d = dihedrals[t as usize].distance(&e.hash);
            if d <= radius {
                keep_best(&mut recent, k, d, t);
            }
        }
    }
    let candidate = |e: IndexedHash, (distance, t): (u32, Dihedral)| Candidate {
        item: e.item,
        distance,
        // t(query) ≈ archived, so query ≈ t⁻¹(archived).
        relation: t.inverse(),
        low_quality: quality < thresholds.min_quality || e.quality < thresholds.min_quality,
        span: e.span,
    };
    let mut out: Vec<Candidate> = base
        .into_iter()
        .map(|(id, b)| candidate(index.base.row(id as usize), b))
        .chain(
            recent
                .into_iter()
                .map(|(k, b)| candidate(index.recent[k], b)),
        )
        .collect();
    out.sort_by(|a, b| {
        (a.distance, a.item)
            .cmp(&(b.distance, b.item))
            .then(span_start(a.span).total_cmp(&span_start(b.span)))
    });
    out
}

fn span_start(span: Option<(f64, f64)>) -> f64 {
    span.map_or(-1.0, |s| s.0)
}

/// A possible match found by pHash and dHash together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Similar {
    /// The archived item.
    pub item: ItemId,
    /// pHash distance (of 64) in the best orientation.
    pub phash_distance: u32,
    /// dHash distance (of 64) in that orientation.
    pub dhash_distance: u32,
    /// The query is the archived picture under this transform.
    pub relation: Dihedral,
    /// When the indexed hash is a video frame: the span it stands for.
    pub span: Option<(f64, f64)>,
}

/// Finds indexed items whose pHash is within [`SIMILAR_PHASH`] and dHash
/// within [`SIMILAR_DHASH`] of the query in one of its eight orientations
/// (`phashes[t as usize]` is the pHash of the query under transform
/// `t`), skipping `exclude`. Sorted by combined distance, then item.
pub fn find_similar(
    phashes: &[Hash64; 8],
    dhashes: &[Hash64; 8],
    index: &Index,
    exclude: &[ItemId],
) -> Vec<Similar> {
    // Per entry (snapshot entries, then recent ones after them): the
    // qualifying orientation with the smallest combined distance, the
    // earlier one in `Dihedral::ALL` on ties.
    let mut best: std::collections::BTreeMap<usize, (u32, u32, Dihedral)> =
        std::collections::BTreeMap::new();
    let mut offer = |k: usize, pd: u32, dd: u32, t: Dihedral| {
        if dd > SIMILAR_DHASH {
            return;
        }
        best.entry(k)
            .and_modify(|b| {
                if pd + dd < b.0 + b.1 || (pd + dd == b.0 + b.1 && (t as usize) < (b.2 as usize)) {
                    *b = (pd, dd, t);
                }
            })
            .or_insert((pd, dd, t));
    };
    let b = &index.base;
    let n = b.len();
    for t in Dihedral::ALL {
        let (p, d) = (phashes[t as usize], dhashes[t as usize]);
        b.similar.within(&[p.0], SIMILAR_PHASH, &mut |j, pd| {
            if let Some((k, dh)) = b.similar_entry(j as usize) {
                offer(k, pd, d.distance(&dh), t);
            }
        });
        for (k, e) in index.recent.iter().enumerate() {
            if let (Some(ep), Some(ed)) = (e.phash, e.dhash) {
                let pd = p.distance(&ep);
                if pd <= SIMILAR_PHASH {
                    offer(n + k, pd, d.distance(&ed), t);
                }
            }
        }
    }
    let mut out: Vec<Similar> = best
        .into_iter()
        .filter_map(|(k, (phash_distance, dhash_distance, t))| {
            let (item, span) = if k < n {
                (b.item(k), b.span(k))
            } else {
                (index.recent[k - n].item, index.recent[k - n].span)
            };
            (!exclude.contains(&item)).then_some(Similar {
                item,
                phash_distance,
                dhash_distance,
                relation: t.inverse(),
                span,
            })
        })
        .collect();
    out.sort_by_key(|s| (s.phash_distance + s.dhash_distance, s.item));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Pdq;
    use crate::store::{Archive, NewItem, NewSighting, Record};

    fn pseudo_random(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed | 1;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// Records `n` photos with random hashes; returns their PDQ hashes.
    fn record_photos(archive: &mut Archive, n: usize, seed: u64) -> Vec<Hash256> {
        let mut next = pseudo_random(seed);
        (0..n)
            .map(|_| {
                let hash = Hash256::from_words(&[next(), next(), next(), next()]);
                let mut sha = [0u8; 32];
                sha[..8].copy_from_slice(&next().to_le_bytes());
                let item = NewItem {
                    sha256: Sha256(sha),
                    media_type: "image".into(),
                    format: "png".into(),
                    width: 10,
                    height: 10,
                    byte_size: 1,
                    pdq: Some(Pdq { hash, quality: 90 }),
                    phash: Some(Hash64(next())),
                    dhash: Some(Hash64(next())),
                    stored: false,
                    features: None,
                    warnings: None,
                };
                archive
                    .record(&Record {
                        item,
                        bytes: None,
                        sighting: NewSighting::default(),
                        links: Vec::new(),
                        video: None,
                    })
                    .expect("record");
                hash
            })
            .collect()
    }

    fn found(index: &Index, h: Hash256) -> Vec<(ItemId, u32)> {
        find_matches(&[h; 8], 100, index, &Thresholds::default())
            .iter()
            .map(|c| (c.item, c.distance))
            .collect()
    }

    #[test]
    fn the_persistent_index_follows_the_catalog() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut archive = Archive::create(dir.path()).expect("archive");
        let (index, how) = Index::open(dir.path(), &archive.catalog).expect("open");
        assert_eq!((how, index.len()), (IndexOpen::Missing, 0));
        assert!(dir.path().join(INDEX_FILE).is_file());

        // Appended items are read as recent rows, the snapshot kept.
        let first = record_photos(&mut archive, 300, 1);
        let (index, how) = Index::open(dir.path(), &archive.catalog).expect("open");
        assert_eq!(
            (how, index.base.len(), index.recent.len()),
            (IndexOpen::Current, 0, 300)
        );
        assert_eq!(index.rows(), archive.catalog.pdq_hashes().expect("rows"));
        assert_eq!(found(&index, first[7]), vec![(ItemId(8), 0)]);
        // Below MERGE_AT nothing is written; at it, a snapshot of all.
        index.save(dir.path(), &archive.catalog).expect("save");
        assert_eq!(
            Index::open(dir.path(), &archive.catalog)
                .expect("open")
                .0
                .recent
                .len(),
            300
        );
        record_photos(&mut archive, MERGE_AT, 2);
        index.save(dir.path(), &archive.catalog).expect("save");
        let (index, how) = Index::open(dir.path(), &archive.catalog).expect("open");
        assert_eq!(
            (how, index.base.len(), index.recent.len()),
            (IndexOpen::Current, 300 + MERGE_AT, 0)
        );
        // Queried in place from the file, not read into memory.
        assert!(index.base.slab.is_mapped());
        assert_eq!(index.rows(), archive.catalog.pdq_hashes().expect("rows"));
        assert_eq!(found(&index, first[7]), vec![(ItemId(8), 0)]);

        // A hash changed by hand (triggers count it): rebuilt.
        let moved = Hash256::from_words(&[1, 2, 3, 4]);
        archive
            .catalog
            .conn()
            .execute("UPDATE item SET pdq = ?1 WHERE id = 8", [moved.to_hex()])
            .expect("edit");
        let (index, how) = Index::open(dir.path(), &archive.catalog).expect("open");
        assert_eq!(how, IndexOpen::Stale);
        assert_eq!(found(&index, moved), vec![(ItemId(8), 0)]);
        assert!(found(&index, first[7]).is_empty());
        assert_eq!(
            Index::open(dir.path(), &archive.catalog).expect("open").1,
            IndexOpen::Current
        );

        // A damaged file: rebuilt, same rows.
        let path = dir.path().join(INDEX_FILE);
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
        let (index, how) = Index::open(dir.path(), &archive.catalog).expect("open");
        assert_eq!(how, IndexOpen::Stale);
        assert_eq!(index.rows(), archive.catalog.pdq_hashes().expect("rows"));

        // Another catalog's snapshot (same counter, same last id): stale.
        let other = tempfile::tempdir().expect("temp dir");
        let mut b = Archive::create(other.path()).expect("archive");
        record_photos(&mut b, 300 + MERGE_AT, 3);
        Index::open(other.path(), &b.catalog).expect("open");
        std::fs::copy(other.path().join(INDEX_FILE), &path).expect("copy");
        assert_eq!(
            Index::open(dir.path(), &archive.catalog).expect("open").1,
            IndexOpen::Stale
        );

        // Edited with the triggers gone: not seen by opening, but by
        // verify, which rebuilds it.
        archive
            .catalog
            .conn()
            .execute_batch(&format!(
                "DROP TRIGGER item_hashes_updated; UPDATE item SET pdq = '{}' WHERE id = 9;",
                Hash256::from_words(&[!0, !0, 0, 0xdead]).to_hex()
            ))
            .expect("edit");
        assert_eq!(
            Index::open(dir.path(), &archive.catalog).expect("open").1,
            IndexOpen::Current
        );
        let check = Index::verify(dir.path(), &archive.catalog).expect("verify");
        let problem = check.problem.expect("a difference");
        assert!(
            problem.contains("entry 8 differs") && problem.contains("rebuilt"),
            "{problem}"
        );
        assert!(
            Index::verify(dir.path(), &archive.catalog)
                .expect("verify")
                .problem
                .is_none()
        );
        let (index, _) = Index::open(dir.path(), &archive.catalog).expect("open");
        assert_eq!(
            found(&index, Hash256::from_words(&[!0, !0, 0, 0xdead])),
            vec![(ItemId(9), 0)]
        );
    }

    fn hash_with_bits(bits: &[usize]) -> Hash256 {
        let mut b = [0u8; 32];
        for &k in bits {
            b[31 - k / 8] |= 1 << (k % 8);
        }
        Hash256(b)
    }

    fn query(h: Hash256) -> [Hash256; 8] {
        // Unrelated hashes for the other seven transforms.
        let mut q = [hash_with_bits(&(0..128).collect::<Vec<_>>()); 8];
        q[0] = h;
        q
    }

    #[test]
    fn threshold_is_inclusive_at_31() {
        let base = hash_with_bits(&[]);
        let index = Index::new(vec![
            IndexedHash {
                item: ItemId(1),
                hash: hash_with_bits(&(0..31).collect::<Vec<_>>()),
                quality: 100,
                phash: None,
                dhash: None,
                span: None,
            },
            IndexedHash {
                item: ItemId(2),
                hash: hash_with_bits(&(0..32).collect::<Vec<_>>()),
                quality: 100,
                phash: None,
                dhash: None,
                span: None,
            },
            IndexedHash {
                item: ItemId(3),
                hash: base,
                quality: 100,
                phash: None,
                dhash: None,
                span: None,
            },
        ]);
        let m = find_matches(&query(base), 100, &index, &Thresholds::default());
        let found: Vec<_> = m.iter().map(|c| (c.item.0, c.distance)).collect();
        assert_eq!(found, vec![(3, 0), (1, 31)]);
        assert!(m.iter().all(|c| c.relation == Dihedral::Original));
    }

    #[test]
    fn best_transform_wins_and_low_quality_is_flagged() {
        let target = hash_with_bits(&[1, 2, 3, 200]);
        let mut q = query(hash_with_bits(&(100..140).collect::<Vec<_>>()));
        q[Dihedral::Rotate90 as usize] = hash_with_bits(&[1, 2, 3]);
        let index = Index::new(vec![IndexedHash {
            item: ItemId(7),
            hash: target,
            quality: 30,
            phash: None,
            dhash: None,
            span: None,
        }]);
        let m = find_matches(&q, 100, &index, &Thresholds::default());
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].distance, 1);
        assert_eq!(m[0].relation, Dihedral::Rotate90.inverse());
        assert!(m[0].low_quality);
    }

    #[test]
    fn similar_needs_both_phash_and_dhash() {
        let entry = |id, p, d| IndexedHash {
            item: ItemId(id),
            hash: hash_with_bits(&[]),
            quality: 100,
            phash: Some(Hash64(p)),
            dhash: Some(Hash64(d)),
            span: None,
        };
        let index = Index::new(vec![
            entry(1, 0b11_1111, 0xff), // 6 and 8 bits away: similar
            entry(2, 0b111_1111, 0),   // pHash 7 away: not
            entry(3, 0, 0x1ff),        // dHash 9 away: not
            entry(4, 0, 0),            // excluded
        ]);
        let far = Hash64(u64::MAX);
        let mut p = [far; 8];
        let mut d = [far; 8];
        p[Dihedral::FlipY as usize] = Hash64(0);
        d[Dihedral::FlipY as usize] = Hash64(0);
        let got = find_similar(&p, &d, &index, &[ItemId(4)]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].item, ItemId(1));
        assert_eq!((got[0].phash_distance, got[0].dhash_distance), (6, 8));
        assert_eq!(got[0].relation, Dihedral::FlipY);
    }
}
