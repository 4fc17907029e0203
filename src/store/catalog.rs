//! The SQLite catalog: items (one per distinct file content), sightings
//! (every time and place an item was seen) and near-duplicate links.
//!
//! Every archived file is written in one transaction, so an error or an
//! interruption leaves either the whole record or nothing.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::hash::features::Features;
use crate::hash::video::FrameHash;
use crate::hash::{Dihedral, Hash64, Hash256, Pdq, Sha256};
use crate::store::migrations;

/// Row id of an item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ItemId(pub i64);

/// An archived item: one distinct file content.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Catalog row id.
    #[serde(skip)]
    pub id: ItemId,
    /// SHA-256 of the file.
    pub sha256: Sha256,
    /// `image` (later also `video`).
    pub media_type: String,
    /// Container format (`jpeg`, `png`, …).
    pub format: String,
    /// Width in pixels, upright.
    pub width: Option<u32>,
    /// Height in pixels, upright.
    pub height: Option<u32>,
    /// File size in bytes.
    pub byte_size: Option<u64>,
    /// PDQ hash and quality.
    pub pdq: Option<Pdq>,
    /// pHash.
    pub phash: Option<Hash64>,
    /// dHash.
    pub dhash: Option<Hash64>,
    /// Whether the original bytes are in the object store.
    pub stored: bool,
    /// When the item was first added to this archive.
    pub added_at: String,
    /// Problems found when it was archived (a truncated JPEG).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<String>,
}

/// What a new item is made of.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// SHA-256 of the file.
    pub sha256: Sha256,
    /// `image`.
    pub media_type: String,
    /// Container format.
    pub format: String,
    /// Width, upright.
    pub width: u32,
    /// Height, upright.
    pub height: u32,
    /// File size.
    pub byte_size: u64,
    /// PDQ hash and quality (for a video: none, its frames carry them).
    pub pdq: Option<Pdq>,
    /// pHash.
    pub phash: Option<Hash64>,
    /// dHash.
    pub dhash: Option<Hash64>,
    /// Whether the bytes were copied into the store.
    pub stored: bool,
    /// Local features in their stored form (see
    /// [`crate::hash::features::Features::to_bytes`]), for a still picture.
    pub features: Option<Vec<u8>>,
    /// Problems found while analysing it (a truncated JPEG), one a line.
    pub warnings: Option<String>,
}

/// What a video item adds to [`NewItem`].
#[derive(Debug, Clone)]
pub struct NewVideo {
    /// Facts about the video.
    pub info: VideoFacts,
    /// The kept frames, in time order.
    pub frames: Vec<FrameHash>,
}

/// Facts about an archived video.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoFacts {
    /// Container (`mp4`, `webm`, `gif`, …).
    pub container: String,
    /// Codec (`h264`, `vp9`, …).
    pub codec: String,
    /// Backend that decoded it (`openh264`, `ffmpeg`, `image`).
    pub decoder: String,
    /// Duration in seconds.
    pub duration_secs: f64,
    /// Frames decoded.
    pub frames_decoded: u64,
    /// Frames sampled (hashed).
    pub frames_sampled: u64,
    /// Frames kept after collapsing repeats.
    pub frames_kept: u64,
    /// Decoder warnings (a truncated stream, …), one per line.
    pub warnings: Option<String>,
}

/// A stored frame of a video (without its thumbnail).
#[derive(Debug, Clone, Serialize)]
pub struct StoredFrame {
    /// Order among the video's kept frames.
    pub seq: u32,
    /// Presentation-order frame number.
    pub frame_number: u64,
    /// Start of the span this frame stands for, seconds.
    pub start_secs: f64,
    /// End of the span, seconds.
    pub end_secs: f64,
    /// PDQ and quality.
    pub pdq: Pdq,
}

/// Where and when a copy was seen, as the user tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSighting {
    /// Source URL or description (untrusted text).
    pub source: Option<String>,
    /// Caption or claim that came with it (untrusted text).
    pub caption: Option<String>,
    /// When it was first seen (stored form, see [`crate::time`]).
    pub first_seen: Option<String>,
    /// Original file name.
    pub file_name: Option<String>,
    /// Free-form note.
    pub note: Option<String>,
}

impl NewSighting {
    /// A sighting from what a person typed: source, caption, first-seen
    /// (read as [`crate::time::parse_first_seen`] reads it) and note,
    /// each checked against its length limit. `names` are what the front
    /// end calls the four fields (`--source`…, or `source`…), for the
    /// error.
    ///
    /// # Errors
    /// A date that cannot be read, or is in the future or before 1826;
    /// text over its length limit.
    pub fn checked(
        source: Option<String>,
        caption: Option<String>,
        first_seen: Option<&str>,
        note: Option<String>,
        names: [&'static str; 4],
    ) -> Result<NewSighting> {
        use crate::text::{MAX_LONG_TEXT, MAX_SOURCE, check_len};
        let first_seen = first_seen.map(crate::time::parse_first_seen).transpose()?;
        for (what, value, max) in [
            (names[0], &source, MAX_SOURCE),
            (names[1], &caption, MAX_LONG_TEXT),
            (names[3], &note, MAX_LONG_TEXT),
        ] {
            if let Some(v) = value {
                check_len(what, v, max)?;
            }
        }
        Ok(NewSighting {
            source,
            caption,
            first_seen,
            file_name: None,
            note,
        })
    }

    /// No source, caption, date or note: only the file's name, which
    /// says nothing new about a copy of bytes already known.
    pub fn says_nothing(&self) -> bool {
        self.source.is_none()
            && self.caption.is_none()
            && self.first_seen.is_none()
            && self.note.is_none()
    }
}

/// A recorded sighting.
#[derive(Debug, Clone, Serialize)]
pub struct Sighting {
    /// Catalog row id.
    pub id: i64,
    /// The item seen.
    #[serde(skip)]
    pub item_id: ItemId,
    /// Source URL or description.
    pub source: Option<String>,
    /// Caption.
    pub caption: Option<String>,
    /// When first seen, if known.
    pub first_seen: Option<String>,
    /// When archived (UTC).
    pub archived_at: String,
    /// Original file name.
    pub file_name: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// Amendments applied to the fields above, oldest first (the value
    /// each replaced is kept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<super::corrections::Correction>,
    /// Set when the sighting was retracted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retracted: Option<super::corrections::Retraction>,
}

impl Sighting {
    /// The date this sighting vouches for: its first-seen, or failing that
    /// its archived-at time.
    pub fn effective_date(&self) -> &str {
        self.first_seen.as_deref().unwrap_or(&self.archived_at)
    }
}

/// A near-duplicate link between two items, seen from one of them.
#[derive(Debug, Clone, Serialize)]
pub struct VariantLink {
    /// The other item.
    #[serde(skip)]
    pub other: ItemId,
    /// The other item's SHA-256.
    pub sha256: Sha256,
    /// PDQ Hamming distance between the two.
    pub distance: u32,
    /// How the other item's picture relates to this one's.
    pub relation: Dihedral,
    /// Which frame or share of a video, or what the later copy did to
    /// the picture (cropped, inside a screenshot…), when recorded.
    pub detail: Option<String>,
    /// Which side of the link this item is on.
    pub side: LinkSide,
}

/// A variant link seen from one of its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkSide {
    /// This item was archived later and matched the other: `detail` says
    /// what it did to the other's picture.
    CopyOf,
    /// The other item was archived later and matched this one.
    CopiedAs,
}

/// One item's hashes as the matching index holds them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexedHash {
    /// The item.
    pub item: ItemId,
    /// Its PDQ hash.
    pub hash: Hash256,
    /// Its PDQ quality.
    pub quality: u8,
    /// Its pHash, when known.
    pub phash: Option<Hash64>,
    /// Its dHash, when known.
    pub dhash: Option<Hash64>,
    /// For a frame of a video: the time span (seconds) it stands for.
    pub span: Option<(f64, f64)>,
}

/// What the hash index needs to know of the catalog to tell whether a
/// snapshot of it is current: see [`Catalog::hashes_after`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashState {
    /// Changes other than appended items (see the `hash_edits` table).
    pub edits: i64,
    /// The last item's id (0 when empty).
    pub last_item: ItemId,
}

/// Where a stored set of local features belongs: a still picture, or
/// one kept frame of a video (its number in the item's frame list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FeatureKey {
    /// The item.
    pub item: ItemId,
    /// For a frame of a video: its `seq`.
    pub frame: Option<u32>,
}

/// One stored set of local features, as the catalog holds it.
#[derive(Debug, Clone)]
pub struct FeatureRow {
    /// Whose features these are.
    pub key: FeatureKey,
    /// For a frame: the time span (seconds) it stands for.
    pub span: Option<(f64, f64)>,
    /// The features, or why the stored row cannot be read (a damaged
    /// row is that item's problem only: see [`Catalog::feature_rows`]).
    pub features: std::result::Result<Features, String>,
}

/// What the feature index needs to know of the catalog to tell whether
/// its segments are current: changes other than appended items (the
/// `feature_edits` table) and the last item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureState {
    /// Changes other than appended items.
    pub edits: i64,
    /// The last item's id (0 when empty).
    pub last_item: ItemId,
}

/// Counts for status lines.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    /// Items.
    pub items: u64,
    /// Sightings.
    pub sightings: u64,
    /// Near-duplicate links.
    pub variant_links: u64,
}

/// The catalog handle.
#[derive(Debug)]
pub struct Catalog {
    conn: Connection,
    /// A private copy read instead of the catalog (see
    /// [`Catalog::open_read_only`]), removed when the catalog is closed.
    _copy: Option<TempCopy>,
}

/// A folder holding a private copy of a catalog; removed when dropped.
#[derive(Debug)]
struct TempCopy(std::path::PathBuf);

impl Drop for TempCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The path as an SQLite URI path: everything but unreserved characters
/// and '/' percent-encoded.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// True for the errors SQLite gives when it cannot make the shared-memory
/// file a WAL catalog needs (a read-only folder or filesystem).
fn is_cannot_share(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
    )
}

const ITEM_COLUMNS: &str = "id, sha256, media_type, format, width, height, byte_size, pdq, \
     pdq_quality, phash, dhash, stored, added_at, warnings";
const SIGHTING_COLUMNS: &str =
    "id, item_id, source, caption, first_seen, archived_at, file_name, note";

impl Catalog {
    /// Opens (creating if needed) the catalog file and migrates it.
    ///
    /// # Errors
    /// SQLite errors (wrapped with the path), or a catalog written by a
    /// newer firstseen.
    pub fn open(path: &Path) -> Result<Catalog> {
        let with_path = |e: rusqlite::Error| Error::Catalog(e).in_file(path);
        let mut conn = Connection::open(path).map_err(with_path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(with_path)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(with_path)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(with_path)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(with_path)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(with_path)?;
        if version > migrations::latest() {
            return Err(Error::Invalid {
                what: "catalog",
                reason: format!(
                    "{}: schema version {version} is newer than this firstseen understands ({}); upgrade firstseen",
                    path.display(),
                    migrations::latest()
                ),
            });
        }
        migrations::migrate(&mut conn).map_err(with_path)?;
        Ok(Catalog { conn, _copy: None })
    }

    /// Opens an existing catalog for reading only: nothing is written,
    /// not even a schema upgrade (`check`, `show`, `log`).
    ///
    /// # Errors
    /// SQLite errors, or a catalog of another schema version.
    pub fn open_read_only(path: &Path) -> Result<Catalog> {
        use rusqlite::OpenFlags;
        let with_path = |e: rusqlite::Error| Error::Catalog(e).in_file(path);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open = |p: &Path, flags: OpenFlags| -> rusqlite::Result<(Connection, i64)> {
            let conn = Connection::open_with_flags(p, flags)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            Ok((conn, version))
        };
        let mut copy = None;
        let (conn, version) = match open(path, flags) {
            Ok(v) => v,
            // On a read-only filesystem (an archive on a write-protected
            // disk or a read-only mount) SQLite cannot make the WAL's
            // shared-memory file: with no log to merge, the file is read
            // as immutable; with one, a private copy of both is read.
            Err(e) if is_cannot_share(&e) => {
                let wal = path.with_extension("sqlite-wal");
                if std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0 {
                    let uri = format!("file:{}?immutable=1", uri_path(path));
                    open(Path::new(&uri), flags | OpenFlags::SQLITE_OPEN_URI).map_err(with_path)?
                } else {
                    let dir = std::env::temp_dir().join(format!(
                        "firstseen-catalog-{}-{}",
                        std::process::id(),
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_nanos())
                    ));
                    std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
                    let held = TempCopy(dir.clone());
                    let local = dir.join("catalog.sqlite");
                    std::fs::copy(path, &local).map_err(|e| Error::io(path, e))?;
                    std::fs::copy(&wal, local.with_extension("sqlite-wal"))
                        .map_err(|e| Error::io(&wal, e))?;
                    let opened = open(&local, flags).map_err(with_path)?;
                    copy = Some(held);
                    opened
                }
            }
            Err(e) => return Err(with_path(e)),
        };
        if version != migrations::latest() {
            return Err(Error::Invalid {
                what: "catalog",
                reason: format!(
                    "{}: schema version {version}, this firstseen reads version {}; {}",
                    path.display(),
                    migrations::latest(),
                    if version < migrations::latest() {
                        "run `firstseen archive` once to upgrade it"
                    } else {
                        "upgrade firstseen"
                    }
                ),
            });
        }
        Ok(Catalog { conn, _copy: copy })
    }

    /// True when the catalog file's schema predates this firstseen's.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn schema_is_older(path: &Path) -> Result<bool> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| Error::Catalog(e).in_file(path))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| Error::Catalog(e).in_file(path))?;
        Ok(version < migrations::latest())
    }

    /// Opens an in-memory catalog (tests).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open_in_memory() -> Result<Catalog> {
        let mut conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrations::migrate(&mut conn)?;
        Ok(Catalog { conn, _copy: None })
    }

    /// Starts a write transaction (IMMEDIATE, so two writers queue rather
    /// than fail half-way).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn begin(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// The connection, for the store's other modules (chain, exchange,
    /// verify).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably (to open a transaction).
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The item with this exact SHA-256.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn item_by_sha(&self, sha: &Sha256) -> Result<Option<Item>> {
        item_by_sha(&self.conn, sha)
    }

    /// The item with this row id.
    ///
    /// # Errors
    /// SQLite errors; [`Error::UnknownItem`] if absent.
    pub fn item(&self, id: ItemId) -> Result<Item> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM item WHERE id = ?1");
        self.conn
            .query_row(&sql, [id.0], item_from_row)
            .optional()?
            .ok_or_else(|| Error::UnknownItem(format!("#{}", id.0)))
    }

    /// Resolves a full SHA-256 or a unique prefix of one (at least 4 hex
    /// characters), as git resolves object names.
    ///
    /// # Errors
    /// [`Error::Invalid`] for non-hex or too short input,
    /// [`Error::UnknownItem`], [`Error::AmbiguousItem`].
    pub fn resolve(&self, prefix: &str) -> Result<Item> {
        let p = prefix.trim().to_ascii_lowercase();
        if p.len() < 4 || p.len() > 64 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Invalid {
                what: "item id",
                reason: format!("{prefix:?}: give a SHA-256 or a prefix of 4 to 64 hex characters"),
            });
        }
        // Prefix range [p, p + "g") on lowercase hex sorts exactly the
        // hashes that start with p, and uses the UNIQUE index.
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM item WHERE sha256 >= ?1 AND sha256 < ?2 ORDER BY sha256 LIMIT 2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params![p, format!("{p}g")], item_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        match rows.len() {
            0 => Err(Error::UnknownItem(prefix.to_string())),
            1 => Ok(rows.into_iter().next().expect("one row")),
            _ => {
                let count: i64 = self.conn.query_row(
                    "SELECT count(*) FROM item WHERE sha256 >= ?1 AND sha256 < ?2",
                    params![p, format!("{p}g")],
                    |r| r.get(0),
                )?;
                Err(Error::AmbiguousItem {
                    prefix: prefix.to_string(),
                    count: usize::try_from(count).unwrap_or(usize::MAX),
                })
            }
        }
    }

    /// Every PDQ hash in the catalog, for building the match index.
    ///
    /// # Errors
    /// SQLite errors or a malformed stored hash.
    pub fn pdq_hashes(&self) -> Result<Vec<IndexedHash>> {
        Ok(self.hashes_after(ItemId(0))?.1)
    }

    /// The catalog's [`HashState`] and the PDQ hashes (as
    /// [`Catalog::pdq_hashes`]) of items after `after`, read in one
    /// transaction, so the rows are exactly those the state describes.
    ///
    /// # Errors
    /// SQLite errors; [`Error::Invalid`] for a malformed stored hash.
    pub fn hashes_after(&self, after: ItemId) -> Result<(HashState, Vec<IndexedHash>)> {
        let tx = self.conn.unchecked_transaction()?;
        let state = HashState {
            edits: tx.query_row("SELECT count FROM hash_edits", [], |r| r.get(0))?,
            last_item: ItemId(
                tx.query_row("SELECT coalesce(max(id), 0) FROM item", [], |r| r.get(0))?,
            ),
        };
        // Photos by their own hash, videos by their kept frames' hashes.
        let mut stmt = tx.prepare(
            "SELECT id, pdq, pdq_quality, phash, dhash, NULL, NULL FROM item
               WHERE pdq IS NOT NULL AND id > ?1
             UNION ALL
             SELECT item_id, pdq, pdq_quality, phash, dhash, start_secs, end_secs FROM frame
               WHERE item_id > ?1
             ORDER BY 1, 6",
        )?;
        let rows = stmt.query_map([after.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                parse_col::<Hash64>(r, 3)?,
                parse_col::<Hash64>(r, 4)?,
                r.get::<_, Option<f64>>(5)?,
                r.get::<_, Option<f64>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, hex, quality, phash, dhash, start, end) = row?;
            out.push(IndexedHash {
                item: ItemId(id),
                hash: hex.parse()?,
                quality: clamp_quality(quality),
                phash,
                dhash,
                span: start.zip(end),
            });
        }
        drop(stmt);
        tx.finish()?;
        Ok((state, out))
    }

    /// The catalog's [`FeatureState`].
    ///
    /// # Errors
    /// SQLite errors.
    pub fn feature_state(&self) -> Result<FeatureState> {
        Ok(FeatureState {
            edits: self
                .conn
                .query_row("SELECT count FROM feature_edits", [], |r| r.get(0))?,
            last_item: ItemId(self.conn.query_row(
                "SELECT coalesce(max(id), 0) FROM item",
                [],
                |r| r.get(0),
            )?),
        })
    }

    /// Every stored set of local features of items in `after < id <=
    /// upto`, in (item, frame) order, handed to `each` as it is read
    /// (an archive of a million pictures holds gigabytes of them). A row
    /// that cannot be read is handed over with the reason, not raised:
    /// one damaged row is one item's problem.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn feature_rows(
        &self,
        after: ItemId,
        upto: ItemId,
        each: &mut dyn FnMut(FeatureRow),
    ) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT item_id, NULL, NULL, NULL, data FROM item_features
               WHERE item_id > ?1 AND item_id <= ?2
             UNION ALL
             SELECT ff.item_id, ff.seq, f.start_secs, f.end_secs, ff.data FROM frame_features ff
               LEFT JOIN frame f ON f.item_id = ff.item_id AND f.seq = ff.seq
               WHERE ff.item_id > ?1 AND ff.item_id <= ?2
             ORDER BY 1, 2",
        )?;
        let mut rows = stmt.query([after.0, upto.0])?;
        while let Some(r) = rows.next()? {
            let item = ItemId(r.get(0)?);
            let frame: Option<i64> = r.get(1)?;
            let span = r.get::<_, Option<f64>>(2)?.zip(r.get::<_, Option<f64>>(3)?);
            let data: Vec<u8> = r.get(4)?;
            each(feature_row(item, frame, span, &data));
        }
        Ok(())
    }

    /// One stored set of local features, when there is one.
    ///
    /// # Errors
    /// SQLite errors (a damaged row comes back as a [`FeatureRow`] whose
    /// features are the reason).
    pub fn feature_row(&self, key: FeatureKey) -> Result<Option<FeatureRow>> {
        let row: Option<(Option<f64>, Option<f64>, Vec<u8>)> = match key.frame {
            None => self
                .conn
                .prepare_cached("SELECT NULL, NULL, data FROM item_features WHERE item_id = ?1")?
                .query_row([key.item.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?,
            Some(seq) => self
                .conn
                .prepare_cached(
                    "SELECT f.start_secs, f.end_secs, ff.data FROM frame_features ff
                       LEFT JOIN frame f ON f.item_id = ff.item_id AND f.seq = ff.seq
                      WHERE ff.item_id = ?1 AND ff.seq = ?2",
                )?
                .query_row(params![key.item.0, seq], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?,
        };
        Ok(
            row.map(|(a, b, data)| {
                feature_row(key.item, key.frame.map(i64::from), a.zip(b), &data)
            }),
        )
    }

    /// Sightings of one item that count, oldest first (by first-seen,
    /// then archived), corrections applied; retracted ones left out.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn sightings(&self, item: ItemId) -> Result<Vec<Sighting>> {
        let mut all = self.all_sightings(item)?;
        all.retain(|s| s.retracted.is_none());
        Ok(all)
    }

    /// Every sighting of an item, retracted ones included (marked),
    /// corrections applied, oldest first by their corrected dates.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn all_sightings(&self, item: ItemId) -> Result<Vec<Sighting>> {
        // Ordered below, once corrections may have moved their dates.
        let sql = format!("SELECT {SIGHTING_COLUMNS} FROM sighting WHERE item_id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([item.0], sighting_from_row)?;
        let mut all = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        super::corrections::apply(&self.conn, &mut all)?;
        all.sort_by(|a, b| {
            (a.effective_date(), &a.archived_at, a.id).cmp(&(
                b.effective_date(),
                &b.archived_at,
                b.id,
            ))
        });
        Ok(all)
    }

    /// Sighting `id` as its row stands (no corrections applied).
    ///
    /// # Errors
    /// SQLite errors.
    pub(crate) fn sighting_row(&self, id: i64) -> Result<Option<Sighting>> {
        let sql = format!("SELECT {SIGHTING_COLUMNS} FROM sighting WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], sighting_from_row)
            .optional()?)
    }

    /// Near-duplicate links of an item, in both directions, closest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn variants(&self, item: ItemId) -> Result<Vec<VariantLink>> {
        // A link row (a, b, t) says: a's picture is b's picture under t.
        // Seen from b, a is b under t; seen from a, b is a under t⁻¹.
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.item_id, i.sha256, l.distance, l.transform, 0, l.detail FROM variant_link l
               JOIN item i ON i.id = l.item_id WHERE l.variant_of = ?1
             UNION ALL
             SELECT l.variant_of, i.sha256, l.distance, l.transform, 1, l.detail FROM variant_link l
               JOIN item i ON i.id = l.variant_of WHERE l.item_id = ?1
             ORDER BY 3, 2",
        )?;
        let rows = stmt.query_map([item.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (other, sha, distance, transform, invert, detail) = row?;
            let t = Dihedral::from_name(&transform).ok_or_else(|| Error::Invalid {
                what: "stored transform",
                reason: transform.clone(),
            })?;
            out.push(VariantLink {
                other: ItemId(other),
                sha256: sha.parse()?,
                distance: u32::try_from(distance).unwrap_or(u32::MAX),
                relation: if invert { t.inverse() } else { t },
                detail,
                side: if invert {
                    LinkSide::CopyOf
                } else {
                    LinkSide::CopiedAs
                },
            });
        }
        Ok(out)
    }

    /// The earliest sighting that counts among an item and every item
    /// linked to it as a variant, directly or through others (at most
    /// `limit` items are visited), with the SHA-256 of the item it is of.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn earliest_among_variants(
        &self,
        item: ItemId,
        limit: usize,
    ) -> Result<Option<(Sighting, Sha256)>> {
        let mut seen = vec![item];
        let mut queue = std::collections::VecDeque::from([item]);
        let mut best: Option<(Sighting, ItemId)> = None;
        while let Some(id) = queue.pop_front() {
            if let Some(s) = self.sightings(id)?.into_iter().next() {
                let earlier = best
                    .as_ref()
                    .is_none_or(|(b, _)| s.effective_date() < b.effective_date());
                if earlier {
                    best = Some((s, id));
                }
            }
            for link in self.variants(id)? {
                if seen.len() < limit && !seen.contains(&link.other) {
                    seen.push(link.other);
                    queue.push_back(link.other);
                }
            }
        }
        match best {
            Some((s, id)) => Ok(Some((s, self.item(id)?.sha256))),
            None => Ok(None),
        }
    }

    /// The most recent sightings with their items' SHA-256, newest
    /// archived first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn log(&self, limit: Option<u64>) -> Result<Vec<(Sighting, Sha256)>> {
        let sql = "SELECT s.id, s.item_id, s.source, s.caption, s.first_seen, s.archived_at, \
             s.file_name, s.note, i.sha256 FROM sighting s JOIN item i ON i.id = s.item_id \
             ORDER BY s.archived_at DESC, s.id DESC LIMIT ?1";
        let mut stmt = self.conn.prepare(sql)?;
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows = stmt.query_map([limit], |r| {
            Ok((sighting_from_row(r)?, r.get::<_, String>(8)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut s, sha) = row?;
            super::corrections::apply(&self.conn, std::slice::from_mut(&mut s))?;
            out.push((s, sha.parse()?));
        }
        Ok(out)
    }

    /// Number of items, sightings and links.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn counts(&self) -> Result<Counts> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM item), (SELECT count(*) FROM sighting),
                    (SELECT count(*) FROM variant_link)",
            [],
            |r| {
                Ok(Counts {
                    items: r.get::<_, i64>(0)?.unsigned_abs(),
                    sightings: r.get::<_, i64>(1)?.unsigned_abs(),
                    variant_links: r.get::<_, i64>(2)?.unsigned_abs(),
                })
            },
        )?)
    }
}

impl Catalog {
    /// The facts of a video item, or `None` for a still image.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn video(&self, item: ItemId) -> Result<Option<VideoFacts>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT container, codec, decoder, duration_secs, frames_decoded, frames_sampled,
                        frames_kept, warnings FROM video WHERE item_id = ?1",
            )?
            .query_row([item.0], |r| {
                Ok(VideoFacts {
                    container: r.get(0)?,
                    codec: r.get(1)?,
                    decoder: r.get(2)?,
                    duration_secs: r.get(3)?,
                    frames_decoded: r.get::<_, i64>(4)?.unsigned_abs(),
                    frames_sampled: r.get::<_, i64>(5)?.unsigned_abs(),
                    frames_kept: r.get::<_, i64>(6)?.unsigned_abs(),
                    warnings: r.get(7)?,
                })
            })
            .optional()?)
    }

    /// The kept frames of a video item, in time order.
    ///
    /// # Errors
    /// SQLite errors or a malformed stored hash.
    pub fn frames(&self, item: ItemId) -> Result<Vec<StoredFrame>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, frame_number, start_secs, end_secs, pdq, pdq_quality FROM frame
             WHERE item_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([item.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, f64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, number, start, end, hex, quality) = row?;
            out.push(StoredFrame {
                seq: u32::try_from(seq).unwrap_or(u32::MAX),
                frame_number: number.unsigned_abs(),
                start_secs: start,
                end_secs: end,
                pdq: Pdq {
                    hash: hex.parse()?,
                    quality: clamp_quality(quality),
                },
            });
        }
        Ok(out)
    }

    /// The JPEG thumbnail stored for a frame, if any.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn frame_thumbnail(&self, item: ItemId, seq: u32) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT thumb_jpeg FROM frame WHERE item_id = ?1 AND seq = ?2")?
            .query_row(params![item.0, seq], |r| r.get::<_, Option<Vec<u8>>>(0))
            .optional()?
            .flatten())
    }
}

/// Looks an item up inside a transaction or on the connection.
pub(crate) fn item_by_sha(conn: &Connection, sha: &Sha256) -> Result<Option<Item>> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM item WHERE sha256 = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([sha.to_hex()], item_from_row)
        .optional()?)
}

/// Inserts a new item.
pub(crate) fn insert_item(tx: &Transaction<'_>, item: &NewItem, now: &str) -> Result<ItemId> {
    tx.prepare_cached(
        "INSERT INTO item (sha256, media_type, format, width, height, byte_size, pdq, pdq_quality,
                           phash, dhash, stored, added_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        item.sha256.to_hex(),
        item.media_type,
        item.format,
        item.width,
        item.height,
        i64::try_from(item.byte_size).unwrap_or(i64::MAX),
        item.pdq.map(|p| p.hash.to_hex()),
        item.pdq.map(|p| p.quality),
        item.phash.map(|h| h.to_string()),
        item.dhash.map(|h| h.to_string()),
        item.stored,
        now,
    ])?;
    let id = ItemId(tx.last_insert_rowid());
    if let Some(w) = &item.warnings {
        tx.prepare_cached("UPDATE item SET warnings = ?1 WHERE id = ?2")?
            .execute(params![w, id.0])?;
    }
    if let Some(f) = &item.features {
        insert_features(tx, id, f)?;
    }
    Ok(id)
}

/// A stored feature row, read.
fn feature_row(
    item: ItemId,
    frame: Option<i64>,
    span: Option<(f64, f64)>,
    data: &[u8],
) -> FeatureRow {
    let frame = frame.map(|f| u32::try_from(f).unwrap_or(u32::MAX));
    let features = match (frame, span) {
        (Some(_), None) => Err("its frame is missing".to_string()),
        _ => Features::from_bytes(data).map_err(|e| e.to_string()),
    };
    FeatureRow {
        key: FeatureKey { item, frame },
        span,
        features,
    }
}

/// Stores an item's local features (replacing any).
pub(crate) fn insert_features(tx: &Transaction<'_>, item: ItemId, data: &[u8]) -> Result<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO item_features (item_id, data) VALUES (?1, ?2)")?
        .execute(params![item.0, data])?;
    Ok(())
}

/// Marks an item's bytes as present in the store.
pub(crate) fn mark_stored(tx: &Transaction<'_>, item: ItemId) -> Result<()> {
    tx.execute("UPDATE item SET stored = 1 WHERE id = ?1", [item.0])?;
    Ok(())
}

/// Adds a sighting unless an identical one (same source, caption,
/// first-seen, file name and note) is already recorded for the item, and
/// appends it to the hash chain. Returns the new sighting's id, or `None`
/// for a duplicate.
pub(crate) fn insert_sighting(
    tx: &Transaction<'_>,
    item: ItemId,
    s: &NewSighting,
    now: &str,
) -> Result<Option<i64>> {
    let duplicate: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sighting WHERE item_id = ?1 AND source IS ?2
               AND caption IS ?3 AND first_seen IS ?4 AND file_name IS ?5 AND note IS ?6)",
        )?
        .query_row(
            params![
                item.0,
                s.source,
                s.caption,
                s.first_seen,
                s.file_name,
                s.note
            ],
            |r| r.get(0),
        )?;
    if duplicate {
        return Ok(None);
    }
    tx.prepare_cached(
        "INSERT INTO sighting (item_id, source, caption, first_seen, archived_at, file_name, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        item.0,
        s.source,
        s.caption,
        s.first_seen,
        now,
        s.file_name,
        s.note
    ])?;
    let id = tx.last_insert_rowid();
    crate::store::chain::append_sighting(tx, id)?;
    Ok(Some(id))
}

/// Records that `item`'s picture is `variant_of`'s picture under
/// `transform`, at PDQ `distance`, with an optional free-text detail
/// (which frame, which share of a video).
pub(crate) fn insert_link(tx: &Transaction<'_>, item: ItemId, link: &NewLink) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO variant_link (item_id, variant_of, distance, transform, detail)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        item.0,
        link.variant_of.0,
        link.distance,
        link.transform.name(),
        link.detail
    ])?;
    Ok(())
}

/// Stores the facts of a video item (its `video` row).
pub(crate) fn insert_video_facts(tx: &Transaction<'_>, item: ItemId, v: &VideoFacts) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO video (item_id, container, codec, decoder, duration_secs, frames_decoded,
                            frames_sampled, frames_kept, warnings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        item.0,
        v.container,
        v.codec,
        v.decoder,
        v.duration_secs,
        i64::try_from(v.frames_decoded).unwrap_or(i64::MAX),
        i64::try_from(v.frames_sampled).unwrap_or(i64::MAX),
        i64::try_from(v.frames_kept).unwrap_or(i64::MAX),
        v.warnings,
    ])?;
    Ok(())
}

/// Stores a video's facts and kept frames.
pub(crate) fn insert_video(tx: &Transaction<'_>, item: ItemId, video: &NewVideo) -> Result<()> {
    insert_video_facts(tx, item, &video.info)?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO frame (item_id, seq, frame_number, start_secs, end_secs, pdq, pdq_quality,
                            phash, dhash, thumb_jpeg)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (seq, f) in (0_i64..).zip(&video.frames) {
        let pdq = f.hashes.pdq.pdq;
        stmt.execute(params![
            item.0,
            seq,
            i64::try_from(f.frame_number).unwrap_or(i64::MAX),
            f.start_secs,
            f.end_secs,
            pdq.hash.to_hex(),
            pdq.quality,
            f.hashes.phashes[0].to_string(),
            f.hashes.dhashes[0].to_string(),
            f.thumb_jpeg,
        ])?;
        if let Some(feat) = &f.features {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO frame_features (item_id, seq, data) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![item.0, seq, feat.to_bytes()])?;
        }
    }
    Ok(())
}

/// A near-duplicate link to record for a new item.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLink {
    /// The existing item.
    pub variant_of: ItemId,
    /// PDQ distance.
    pub distance: u32,
    /// The new item is the existing one under this transform.
    pub transform: Dihedral,
    /// Which frame or share of a video, when one is involved.
    pub detail: Option<String>,
}

fn clamp_quality(q: i64) -> u8 {
    u8::try_from(q.clamp(0, 100)).unwrap_or(0)
}

fn parse_col<T: std::str::FromStr>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match row.get::<_, Option<String>>(idx)? {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        }),
    }
}

fn item_from_row(r: &Row<'_>) -> rusqlite::Result<Item> {
    let sha: Option<Sha256> = parse_col(r, 1)?;
    let pdq_hash: Option<Hash256> = parse_col(r, 7)?;
    let quality: Option<i64> = r.get(8)?;
    Ok(Item {
        id: ItemId(r.get(0)?),
        sha256: sha.ok_or(rusqlite::Error::InvalidColumnType(
            1,
            "sha256".into(),
            rusqlite::types::Type::Null,
        ))?,
        media_type: r.get(2)?,
        format: r.get(3)?,
        width: r.get(4)?,
        height: r.get(5)?,
        byte_size: r.get::<_, Option<i64>>(6)?.map(i64::unsigned_abs),
        pdq: pdq_hash.map(|hash| Pdq {
            hash,
            quality: clamp_quality(quality.unwrap_or(0)),
        }),
        phash: parse_col(r, 9)?,
        dhash: parse_col(r, 10)?,
        stored: r.get(11)?,
        added_at: r.get(12)?,
        warnings: r.get(13)?,
    })
}

fn sighting_from_row(r: &Row<'_>) -> rusqlite::Result<Sighting> {
    Ok(Sighting {
        id: r.get(0)?,
        item_id: ItemId(r.get(1)?),
        source: r.get(2)?,
        caption: r.get(3)?,
        first_seen: r.get(4)?,
        archived_at: r.get(5)?,
        file_name: r.get(6)?,
        note: r.get(7)?,
        corrections: Vec::new(),
        retracted: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(sha: &str) -> NewItem {
        NewItem {
            sha256: sha.parse().unwrap(),
            media_type: "image".into(),
            format: "png".into(),
            width: 1,
            height: 1,
            byte_size: 1,
            pdq: None,
            phash: None,
            dhash: None,
            stored: false,
            features: None,
            warnings: None,
        }
    }

    #[test]
    fn resolve_full_prefix_ambiguous_and_unknown() {
        let mut c = Catalog::open_in_memory().unwrap();
        let a = format!("abcd00{}", "0".repeat(58));
        let b = format!("abcd11{}", "1".repeat(58));
        let tx = c.begin().unwrap();
        insert_item(&tx, &item(&a), "2026-01-01T00:00:00Z").unwrap();
        insert_item(&tx, &item(&b), "2026-01-01T00:00:00Z").unwrap();
        tx.commit().unwrap();
        assert_eq!(c.resolve(&a).unwrap().sha256.to_hex(), a);
        assert_eq!(c.resolve("ABCD0").unwrap().sha256.to_hex(), a);
        assert!(matches!(
            c.resolve("abcd"),
            Err(Error::AmbiguousItem { count: 2, .. })
        ));
        assert!(matches!(c.resolve("abce"), Err(Error::UnknownItem(_))));
        assert!(matches!(c.resolve("abc"), Err(Error::Invalid { .. })));
        assert!(matches!(c.resolve("abcz"), Err(Error::Invalid { .. })));
    }
}
