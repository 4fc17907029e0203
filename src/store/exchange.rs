//! What the catalog exchanges with other archives and systems, in plain
//! typed records: the export snapshot (every item with its sightings,
//! frames and links, in a stable order, read in one transaction) and the
//! import session (one transaction for a whole manifest or hash list,
//! recorded as an import record and chained). The manifest's file format
//! lives in [`crate::manifest`]; nothing here knows about JSON lines.
//!
//! Stable order, so that two exports of the same archive are identical:
//! items by SHA-256; a item's sightings by (first-seen or else
//! archived-at, archived-at, source, caption, file name, note), which
//! is a total order of everything a sighting carries; frames by time;
//! links by the other item's SHA-256. Row ids, whether the bytes are
//! stored and when an item was added here are local facts and are not
//! exchanged.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256 as Hasher};

use crate::error::{Error, Result};
use crate::hash::{Dihedral, Hash64, Hash256, Pdq, Sha256};
use crate::store::catalog::{self, Catalog, ItemId, VideoFacts};
use crate::store::chain::{self, ChainHead};

/// An item as it travels between archives: its identity and hashes,
/// video facts and frames, every sighting and its near-duplicate links.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeItem {
    /// SHA-256 of the file.
    pub sha256: Sha256,
    /// `image` or `video`.
    pub media_type: String,
    /// Container format (`jpeg`, `mp4`, …).
    pub format: String,
    /// Width, upright.
    pub width: Option<u32>,
    /// Height, upright.
    pub height: Option<u32>,
    /// File size in bytes.
    pub byte_size: Option<u64>,
    /// PDQ hash and quality (none for a video: its frames carry them).
    pub pdq: Option<Pdq>,
    /// pHash.
    pub phash: Option<Hash64>,
    /// dHash.
    pub dhash: Option<Hash64>,
    /// For a video: its facts.
    pub video: Option<VideoFacts>,
    /// For a video: its kept frames in time order.
    pub frames: Vec<ExchangeFrame>,
    /// Every sighting, in the stable order.
    pub sightings: Vec<ExchangeSighting>,
    /// Items this one is a near duplicate of.
    pub links: Vec<ExchangeLink>,
    /// Local features of a still picture, in their stored form (see
    /// [`crate::hash::features::Features::to_bytes`]).
    pub features: Option<Vec<u8>>,
}

/// A kept frame of a video, without its thumbnail.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeFrame {
    /// Presentation-order frame number.
    pub frame_number: u64,
    /// Start of the span the frame stands for, seconds.
    pub start_secs: f64,
    /// End of the span, seconds.
    pub end_secs: f64,
    /// PDQ hash and quality.
    pub pdq: Pdq,
    /// pHash.
    pub phash: Option<Hash64>,
    /// dHash.
    pub dhash: Option<Hash64>,
}

/// A sighting as it travels: everything but its row id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeSighting {
    /// Source URL or description.
    pub source: Option<String>,
    /// Caption.
    pub caption: Option<String>,
    /// When first seen (stored form).
    pub first_seen: Option<String>,
    /// When archived (UTC).
    pub archived_at: String,
    /// Original file name (display only).
    pub file_name: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// Corrections of it (`amend`, `retract`), oldest first. The fields
    /// above are as first recorded; each amendment replaces one.
    pub corrections: Vec<ExchangeCorrection>,
}

/// A correction as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeCorrection {
    /// `amend` or `retract`.
    pub action: String,
    /// For `amend`: `source`, `caption` or `first_seen`.
    pub field: Option<String>,
    /// For `amend`: the new value (`None` clears the field).
    pub value: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When it was made (UTC).
    pub made_at: String,
}

/// A near-duplicate link: this item's picture is `variant_of`'s picture
/// under `transform`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeLink {
    /// The other item.
    pub variant_of: Sha256,
    /// PDQ distance.
    pub distance: u32,
    /// The transform.
    pub transform: Dihedral,
    /// Which frame or share of a video.
    pub detail: Option<String>,
}

/// What was imported: a manifest from another archive or a hash list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    /// A firstseen manifest.
    Manifest,
    /// A list of PDQ hashes from another system.
    HashList,
}

impl ImportKind {
    /// `manifest` or `hash-list`.
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Manifest => "manifest",
            ImportKind::HashList => "hash-list",
        }
    }

    fn from_name(s: &str) -> Option<ImportKind> {
        match s {
            "manifest" => Some(ImportKind::Manifest),
            "hash-list" => Some(ImportKind::HashList),
            _ => None,
        }
    }
}

/// An import as recorded: where it came from, when, and what it added.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRecord {
    /// Row id.
    pub id: i64,
    /// Manifest or hash list.
    pub kind: ImportKind,
    /// The manifest's file name, or the hash list's name (`--source`).
    pub name: String,
    /// The imported file's name (display only).
    pub file_name: Option<String>,
    /// SHA-256 of the imported file's bytes.
    pub file_sha256: Sha256,
    /// The manifest's chain head, as its header gave it.
    pub chain_head: Option<ChainHead>,
    /// When imported (UTC).
    pub imported_at: String,
    /// What it added and what was already known.
    pub counts: ImportCounts,
}

/// What an import added and what was already known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Items new to the archive (kept as hashes only, no bytes).
    pub items_new: u64,
    /// Items the archive already had.
    pub items_known: u64,
    /// Sightings added.
    pub sightings_new: u64,
    /// Sightings the archive already had (identical in every field).
    pub sightings_known: u64,
    /// Listed hashes added.
    pub hashes_new: u64,
    /// Listed hashes already on the same list.
    pub hashes_known: u64,
}

/// What an import is, before it starts.
#[derive(Debug, Clone)]
pub struct NewImport {
    /// Manifest or hash list.
    pub kind: ImportKind,
    /// The manifest's file name, or the hash list's name.
    pub name: String,
    /// The file's name (display only).
    pub file_name: Option<String>,
    /// The manifest's chain head.
    pub chain_head: Option<ChainHead>,
}

/// The header facts of an export, read in the same transaction as its
/// items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// The chain head when the export was taken.
    pub chain: Option<ChainHead>,
    /// Number of items.
    pub items: u64,
    /// Number of sightings.
    pub sightings: u64,
    /// Every import, oldest first.
    pub imports: Vec<ImportRecord>,
}

/// What [`Catalog::export`] hands over: the header facts once, then
/// each item.
#[derive(Debug, Clone, Copy)]
pub enum ExportPart<'a> {
    /// Counts, chain head, imports.
    Header(&'a Snapshot),
    /// One item.
    Item(&'a ExchangeItem),
}

/// Counts and chain head, for `firstseen status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Catalog schema version.
    pub schema_version: i64,
    /// Items.
    pub items: u64,
    /// Items whose bytes are in the store.
    pub items_stored: u64,
    /// Video items.
    pub videos: u64,
    /// Sightings.
    pub sightings: u64,
    /// Sightings that came from an import.
    pub sightings_imported: u64,
    /// Near-duplicate links.
    pub variant_links: u64,
    /// Imports (manifests and hash lists).
    pub imports: u64,
    /// Hash lists (distinct names).
    pub hash_lists: u64,
    /// Listed hashes.
    pub listed_hashes: u64,
    /// Chain head.
    pub chain: Option<ChainHead>,
}

/// A PDQ hash from a hash list, for matching.
#[derive(Debug, Clone)]
pub struct ListedHash {
    /// Row id.
    pub id: i64,
    /// The list's name.
    pub list: String,
    /// The hash.
    pub hash: Hash256,
    /// Its quality, when the list gave one.
    pub quality: Option<u8>,
    /// The import that brought it.
    pub import: i64,
}

const IMPORT_COLUMNS: &str = "id, kind, name, file_name, file_sha256, chain_head, chain_length, \
     imported_at, items_new, items_known, sightings_new, sightings_known, hashes_new, hashes_known";

fn import_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportRecord> {
    let bad = |i: usize, e: Error| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    };
    let kind: String = r.get(1)?;
    let head: Option<String> = r.get(5)?;
    let length: Option<i64> = r.get(6)?;
    let n = |i: usize| r.get::<_, i64>(i).map(i64::unsigned_abs);
    Ok(ImportRecord {
        id: r.get(0)?,
        kind: ImportKind::from_name(&kind).ok_or_else(|| {
            bad(
                1,
                Error::Invalid {
                    what: "import kind",
                    reason: kind.clone(),
                },
            )
        })?,
        name: r.get(2)?,
        file_name: r.get(3)?,
        file_sha256: r.get::<_, String>(4)?.parse().map_err(|e| bad(4, e))?,
        chain_head: match head {
            None => None,
            Some(h) => Some(ChainHead {
                length: length.unwrap_or(0).unsigned_abs(),
                hash: h.parse().map_err(|e| bad(5, e))?,
            }),
        },
        imported_at: r.get(7)?,
        counts: ImportCounts {
            items_new: n(8)?,
            items_known: n(9)?,
            sightings_new: n(10)?,
            sightings_known: n(11)?,
            hashes_new: n(12)?,
            hashes_known: n(13)?,
        },
    })
}

fn parse_opt<T: std::str::FromStr<Err = Error>>(s: Option<String>) -> Result<Option<T>> {
    s.map(|s| s.parse()).transpose()
}

fn quality(q: Option<i64>) -> u8 {
    u8::try_from(q.unwrap_or(0).clamp(0, 100)).unwrap_or(0)
}

impl Catalog {
    /// The chain head, `None` while nothing has been recorded.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn chain_head(&self) -> Result<Option<ChainHead>> {
        chain::head(self.conn())
    }

    /// Counts and chain head.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn status(&self) -> Result<Status> {
        let conn = self.conn();
        let n = |sql: &str| -> Result<u64> {
            Ok(conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))?
                .unsigned_abs())
        };
        Ok(Status {
            schema_version: conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
            items: n("SELECT count(*) FROM item")?,
            items_stored: n("SELECT count(*) FROM item WHERE stored")?,
            videos: n("SELECT count(*) FROM video")?,
            sightings: n("SELECT count(*) FROM sighting")?,
            sightings_imported: n("SELECT count(*) FROM sighting_import")?,
            variant_links: n("SELECT count(*) FROM variant_link")?,
            imports: n("SELECT count(*) FROM import_record")?,
            hash_lists: n("SELECT count(DISTINCT list) FROM listed_hash")?,
            listed_hashes: n("SELECT count(*) FROM listed_hash")?,
            chain: chain::head(conn)?,
        })
    }

    /// Every import, oldest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn imports(&self) -> Result<Vec<ImportRecord>> {
        let sql = format!("SELECT {IMPORT_COLUMNS} FROM import_record ORDER BY id");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map([], import_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One import record.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn import_record(&self, id: i64) -> Result<Option<ImportRecord>> {
        let sql = format!("SELECT {IMPORT_COLUMNS} FROM import_record WHERE id = ?1");
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([id], import_from_row)
            .optional()?)
    }

    /// For each sighting of `item` that came from an import: the
    /// sighting's id and the import record.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn sighting_imports(&self, item: ItemId) -> Result<Vec<(i64, ImportRecord)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT si.sighting_id, si.import_id FROM sighting_import si
             JOIN sighting s ON s.id = si.sighting_id WHERE s.item_id = ?1 ORDER BY s.id",
        )?;
        let pairs = stmt
            .query_map([item.0], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::new();
        for (sighting, import) in pairs {
            if let Some(rec) = self.import_record(import)? {
                out.push((sighting, rec));
            }
        }
        Ok(out)
    }

    /// Every listed hash, for matching.
    ///
    /// # Errors
    /// SQLite errors or a malformed stored hash.
    pub fn listed_hashes(&self) -> Result<Vec<ListedHash>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id, list, pdq, quality, import_id FROM listed_hash ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, list, hex, q, import) = row?;
            out.push(ListedHash {
                id,
                list,
                hash: hex.parse()?,
                quality: q.map(|q| quality(Some(q))),
                import,
            });
        }
        Ok(out)
    }

    /// Reads the whole catalog for an export in one read transaction:
    /// `each` gets the snapshot's counts, chain head and imports first,
    /// then every item in SHA-256 order, one at a time (memory is bounded
    /// by the largest item, not the archive).
    ///
    /// # Errors
    /// SQLite errors, or the first error a callback returns.
    pub fn export(
        &mut self,
        each: &mut dyn FnMut(ExportPart<'_>) -> Result<()>,
    ) -> Result<Snapshot> {
        self.export_some(None, each)
    }

    /// [`Catalog::export`] of one item alone (`only`), or of all: the
    /// header then counts what is exported, and a single item's links
    /// (to items not exported) are left out.
    ///
    /// # Errors
    /// SQLite errors, or the first error a callback returns.
    pub fn export_some(
        &mut self,
        only: Option<&Sha256>,
        each: &mut dyn FnMut(ExportPart<'_>) -> Result<()>,
    ) -> Result<Snapshot> {
        let only = only.map(|s| s.to_string());
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?;
        let snapshot = {
            let n = |sql: &str| -> Result<u64> {
                Ok(tx
                    .query_row(sql, [], |r| r.get::<_, i64>(0))?
                    .unsigned_abs())
            };
            let imports = {
                let sql = format!("SELECT {IMPORT_COLUMNS} FROM import_record ORDER BY id");
                let mut stmt = tx.prepare(&sql)?;
                stmt.query_map([], import_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            };
            Snapshot {
                chain: chain::head(&tx)?,
                items: match &only {
                    None => n("SELECT count(*) FROM item")?,
                    Some(sha) => tx
                        .query_row("SELECT count(*) FROM item WHERE sha256 = ?1", [sha], |r| {
                            r.get::<_, i64>(0)
                        })?
                        .unsigned_abs(),
                },
                sightings: match &only {
                    None => n("SELECT count(*) FROM sighting")?,
                    Some(sha) => tx
                        .query_row(
                            "SELECT count(*) FROM sighting s JOIN item i ON i.id = s.item_id \
                             WHERE i.sha256 = ?1",
                            [sha],
                            |r| r.get::<_, i64>(0),
                        )?
                        .unsigned_abs(),
                },
                imports,
            }
        };
        each(ExportPart::Header(&snapshot))?;
        {
            let mut items = tx.prepare(
                "SELECT id, sha256, media_type, format, width, height, byte_size, pdq, pdq_quality,
                        phash, dhash, f.data FROM item LEFT JOIN item_features f ON f.item_id = id
                  WHERE ?1 IS NULL OR sha256 = ?1 ORDER BY sha256",
            )?;
            let mut rows = items.query([&only])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let pdq: Option<String> = r.get(7)?;
                let mut item = ExchangeItem {
                    sha256: r.get::<_, String>(1)?.parse()?,
                    media_type: r.get(2)?,
                    format: r.get(3)?,
                    width: r.get(4)?,
                    height: r.get(5)?,
                    byte_size: r.get::<_, Option<i64>>(6)?.map(i64::unsigned_abs),
                    pdq: match pdq {
                        None => None,
                        Some(h) => Some(Pdq {
                            hash: h.parse()?,
                            quality: quality(r.get(8)?),
                        }),
                    },
                    phash: parse_opt(r.get(9)?)?,
                    dhash: parse_opt(r.get(10)?)?,
                    video: None,
                    frames: Vec::new(),
                    sightings: Vec::new(),
                    links: Vec::new(),
                    features: r.get(11)?,
                };
                read_item_details(&tx, id, &mut item)?;
                if only.is_some() {
                    item.links.clear();
                }
                each(ExportPart::Item(&item))?;
            }
        }
        tx.commit()?;
        Ok(snapshot)
    }

    /// Starts an import: one transaction for everything it adds, an
    /// import record, and a chain entry when it is finished. Dropping
    /// the session without [`Importer::finish`] changes nothing.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn begin_import(&mut self, import: &NewImport) -> Result<Importer<'_>> {
        let now = crate::time::now();
        let tx = self.begin()?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS pending_link (
                origin INTEGER NOT NULL, item_id INTEGER NOT NULL, variant_sha TEXT NOT NULL,
                distance INTEGER NOT NULL, transform TEXT NOT NULL, detail TEXT);
             DELETE FROM temp.pending_link;",
        )?;
        tx.execute(
            "INSERT INTO import_record (kind, name, file_name, file_sha256, chain_head,
                                        chain_length, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                import.kind.name(),
                import.name,
                import.file_name,
                Sha256([0; 32]).to_hex(),
                import.chain_head.map(|h| h.hash.to_hex()),
                import
                    .chain_head
                    .map(|h| i64::try_from(h.length).unwrap_or(i64::MAX)),
                now,
            ],
        )?;
        let id = tx.last_insert_rowid();
        Ok(Importer {
            tx,
            id,
            kind: import.kind,
            now,
            counts: ImportCounts::default(),
        })
    }
}

fn read_item_details(tx: &Transaction<'_>, id: i64, item: &mut ExchangeItem) -> Result<()> {
    item.video = tx
        .prepare_cached(
            "SELECT container, codec, decoder, duration_secs, frames_decoded, frames_sampled,
                    frames_kept, warnings FROM video WHERE item_id = ?1",
        )?
        .query_row([id], |r| {
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
        .optional()?;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT frame_number, start_secs, end_secs, pdq, pdq_quality, phash, dhash
             FROM frame WHERE item_id = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(r) = rows.next()? {
            item.frames.push(ExchangeFrame {
                frame_number: r.get::<_, i64>(0)?.unsigned_abs(),
                start_secs: r.get(1)?,
                end_secs: r.get(2)?,
                pdq: Pdq {
                    hash: r.get::<_, String>(3)?.parse()?,
                    quality: quality(r.get(4)?),
                },
                phash: parse_opt(r.get(5)?)?,
                dhash: parse_opt(r.get(6)?)?,
            });
        }
    }
    {
        let mut stmt = tx.prepare_cached(
            "SELECT source, caption, first_seen, archived_at, file_name, note, id FROM sighting
             WHERE item_id = ?1
             ORDER BY coalesce(first_seen, archived_at), archived_at, source, caption,
                      first_seen, file_name, note",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                ExchangeSighting {
                    source: r.get(0)?,
                    caption: r.get(1)?,
                    first_seen: r.get(2)?,
                    archived_at: r.get(3)?,
                    file_name: r.get(4)?,
                    note: r.get(5)?,
                    corrections: Vec::new(),
                },
                r.get::<_, i64>(6)?,
            ))
        })?;
        let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut corrections = tx.prepare_cached(
            "SELECT action, field, value, reason, made_at FROM correction
             WHERE sighting_id = ?1 ORDER BY id",
        )?;
        for (mut s, sid) in rows {
            s.corrections = corrections
                .query_map([sid], |r| {
                    Ok(ExchangeCorrection {
                        action: r.get(0)?,
                        field: r.get(1)?,
                        value: r.get(2)?,
                        reason: r.get(3)?,
                        made_at: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            item.sightings.push(s);
        }
    }
    {
        let mut stmt = tx.prepare_cached(
            "SELECT i.sha256, l.distance, l.transform, l.detail FROM variant_link l
             JOIN item i ON i.id = l.variant_of WHERE l.item_id = ?1 ORDER BY i.sha256",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(r) = rows.next()? {
            let transform: String = r.get(2)?;
            item.links.push(ExchangeLink {
                variant_of: r.get::<_, String>(0)?.parse()?,
                distance: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                transform: Dihedral::from_name(&transform).ok_or_else(|| Error::Invalid {
                    what: "stored transform",
                    reason: transform.clone(),
                })?,
                detail: r.get(3)?,
            });
        }
    }
    Ok(())
}

/// An import in progress: one open transaction. See
/// [`Catalog::begin_import`].
#[derive(Debug)]
pub struct Importer<'c> {
    tx: Transaction<'c>,
    id: i64,
    kind: ImportKind,
    now: String,
    counts: ImportCounts,
}

impl Importer<'_> {
    /// The import record's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// What has been added so far.
    pub fn counts(&self) -> ImportCounts {
        self.counts
    }

    /// Adds an item (if its SHA-256 is new: as hashes only, no bytes,
    /// with its video facts and frames), then each of its sightings that
    /// the item does not already have (identical in every field,
    /// archived-at included), each chained and linked to this import.
    /// Links are resolved at the end; `origin` (the caller's position,
    /// e.g. a line number) is given back for a link to an item that is in
    /// neither the archive nor the import.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_item(&mut self, item: &ExchangeItem, origin: u64) -> Result<ItemId> {
        let tx = &self.tx;
        let known: Option<i64> = tx
            .prepare_cached("SELECT id FROM item WHERE sha256 = ?1")?
            .query_row([item.sha256.to_hex()], |r| r.get(0))
            .optional()?;
        let id = match known {
            Some(id) => {
                self.counts.items_known += 1;
                id
            }
            None => {
                let id = insert_item(tx, item, &self.now)?;
                self.counts.items_new += 1;
                id
            }
        };
        for s in &item.sightings {
            let known: Option<i64> = tx
                .prepare_cached(
                    // `+archived_at`: look the item's sightings up by
                    // item (sighting_item), never by the archived-at index,
                    // which a manifest's many equal times make a scan.
                    "SELECT id FROM sighting WHERE item_id = ?1 AND source IS ?2
                       AND caption IS ?3 AND first_seen IS ?4 AND +archived_at = ?5
                       AND file_name IS ?6 AND note IS ?7 ORDER BY id LIMIT 1",
                )?
                .query_row(
                    params![
                        id,
                        s.source,
                        s.caption,
                        s.first_seen,
                        s.archived_at,
                        s.file_name,
                        s.note
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(known) = known {
                self.counts.sightings_known += 1;
                add_corrections(tx, known, &s.corrections)?;
                continue;
            }
            tx.prepare_cached(
                "INSERT INTO sighting (item_id, source, caption, first_seen, archived_at,
                                       file_name, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                id,
                s.source,
                s.caption,
                s.first_seen,
                s.archived_at,
                s.file_name,
                s.note
            ])?;
            let sighting = tx.last_insert_rowid();
            tx.prepare_cached(
                "INSERT INTO sighting_import (sighting_id, import_id) VALUES (?1, ?2)",
            )?
            .execute(params![sighting, self.id])?;
            chain::append_sighting(tx, sighting)?;
            add_corrections(tx, sighting, &s.corrections)?;
            self.counts.sightings_new += 1;
        }
        for l in &item.links {
            tx.prepare_cached(
                "INSERT INTO temp.pending_link (origin, item_id, variant_sha, distance, transform,
                                                detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                i64::try_from(origin).unwrap_or(i64::MAX),
                id,
                l.variant_of.to_hex(),
                l.distance,
                l.transform.name(),
                l.detail
            ])?;
        }
        Ok(ItemId(id))
    }

    /// The first link (by origin) to an item that is in neither the
    /// archive nor this import: its origin and the missing SHA-256.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn unresolved_link(&self) -> Result<Option<(u64, Sha256)>> {
        let row: Option<(i64, String)> = self
            .tx
            .query_row(
                "SELECT p.origin, p.variant_sha FROM temp.pending_link p
                 LEFT JOIN item i ON i.sha256 = p.variant_sha WHERE i.id IS NULL
                 ORDER BY p.origin LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((origin, sha)) => Ok(Some((origin.unsigned_abs(), sha.parse()?))),
        }
    }

    /// Adds a PDQ hash to the list named `list`, unless the list already
    /// has it. Returns whether it was new.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_listed(&mut self, list: &str, hash: &Hash256, quality: Option<u8>) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO listed_hash (list, pdq, quality, import_id)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![list, hash.to_hex(), quality, self.id])?;
        if n == 1 {
            self.counts.hashes_new += 1;
        } else {
            self.counts.hashes_known += 1;
        }
        Ok(n == 1)
    }

    /// Resolves the links, records the counts and the imported file's
    /// SHA-256, appends the import to the chain and commits. Returns the
    /// record and the new chain head.
    ///
    /// # Errors
    /// SQLite errors, or a link to an unknown item (see
    /// [`Importer::unresolved_link`]).
    pub fn finish(self, file_sha256: &Sha256) -> Result<(ImportRecord, ChainHead)> {
        if let Some((origin, sha)) = self.unresolved_link()? {
            return Err(Error::Invalid {
                what: "import",
                reason: format!(
                    "entry {origin}: link to {sha}, which is in neither the archive nor the import"
                ),
            });
        }
        let tx = self.tx;
        tx.execute(
            "INSERT OR IGNORE INTO variant_link (item_id, variant_of, distance, transform, detail)
             SELECT p.item_id, i.id, p.distance, p.transform, p.detail FROM temp.pending_link p
             JOIN item i ON i.sha256 = p.variant_sha",
            [],
        )?;
        tx.execute("DELETE FROM temp.pending_link", [])?;
        let digest = match self.kind {
            ImportKind::HashList => Some(listed_digest(&tx, self.id)?.to_hex()),
            ImportKind::Manifest => None,
        };
        let c = self.counts;
        let i = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        tx.execute(
            "UPDATE import_record SET file_sha256 = ?2, items_new = ?3, items_known = ?4,
                    sightings_new = ?5, sightings_known = ?6, hashes_new = ?7, hashes_known = ?8,
                    hashes_digest = ?9
             WHERE id = ?1",
            params![
                self.id,
                file_sha256.to_hex(),
                i(c.items_new),
                i(c.items_known),
                i(c.sightings_new),
                i(c.sightings_known),
                i(c.hashes_new),
                i(c.hashes_known),
                digest
            ],
        )?;
        let head = chain::append_import(&tx, self.id)?;
        let sql = format!("SELECT {IMPORT_COLUMNS} FROM import_record WHERE id = ?1");
        let record = tx.query_row(&sql, [self.id], import_from_row)?;
        tx.commit()?;
        Ok((record, head))
    }
}

/// SHA-256 over the hashes an import added to its lists, one
/// `list\tpdq\tquality\n` line each in (list, pdq) order: what the
/// import's chain entry vouches for, recomputed by `verify`.
pub(crate) fn listed_digest(conn: &rusqlite::Connection, import: i64) -> Result<Sha256> {
    let mut h = Hasher::new();
    let mut stmt = conn.prepare_cached(
        "SELECT list, pdq, quality FROM listed_hash WHERE import_id = ?1 ORDER BY list, pdq",
    )?;
    let mut rows = stmt.query([import])?;
    while let Some(r) = rows.next()? {
        let list: String = r.get(0)?;
        let pdq: String = r.get(1)?;
        let q: Option<i64> = r.get(2)?;
        let q = q.map(|q| q.to_string()).unwrap_or_default();
        h.update(format!("{list}\t{pdq}\t{q}\n").as_bytes());
    }
    Ok(Sha256(h.finalize().into()))
}

fn insert_item(tx: &Transaction<'_>, item: &ExchangeItem, now: &str) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO item (sha256, media_type, format, width, height, byte_size, pdq, pdq_quality,
                           phash, dhash, stored, added_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11)",
    )?
    .execute(params![
        item.sha256.to_hex(),
        item.media_type,
        item.format,
        item.width,
        item.height,
        item.byte_size.map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
        item.pdq.map(|p| p.hash.to_hex()),
        item.pdq.map(|p| p.quality),
        item.phash.map(|h| h.to_string()),
        item.dhash.map(|h| h.to_string()),
        now,
    ])?;
    let id = tx.last_insert_rowid();
    if let Some(v) = &item.video {
        catalog::insert_video_facts(tx, ItemId(id), v)?;
    }
    if let Some(f) = &item.features {
        catalog::insert_features(tx, ItemId(id), f)?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO frame (item_id, seq, frame_number, start_secs, end_secs, pdq, pdq_quality,
                            phash, dhash, thumb_jpeg)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL)",
    )?;
    for (seq, f) in (0_i64..).zip(&item.frames) {
        stmt.execute(params![
            id,
            seq,
            i64::try_from(f.frame_number).unwrap_or(i64::MAX),
            f.start_secs,
            f.end_secs,
            f.pdq.hash.to_hex(),
            f.pdq.quality,
            f.phash.map(|h| h.to_string()),
            f.dhash.map(|h| h.to_string()),
        ])?;
    }
    Ok(id)
}

/// Records a manifest's corrections of sighting `id` that it does not
/// have yet (same action, field, value and time), each chained.
fn add_corrections(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    corrections: &[ExchangeCorrection],
) -> Result<()> {
    for c in corrections {
        let known: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM correction WHERE sighting_id = ?1 AND action = ?2
                   AND field IS ?3 AND value IS ?4 AND made_at = ?5)",
            )?
            .query_row(params![id, c.action, c.field, c.value, c.made_at], |r| {
                r.get(0)
            })?;
        if known {
            continue;
        }
        super::corrections::insert(
            tx,
            id,
            &c.action,
            c.field.as_deref(),
            c.value.as_deref(),
            c.reason.as_deref(),
            &c.made_at,
        )?;
    }
    Ok(())
}
