//! The hash-chained log: every sighting and every import is appended as
//! an entry whose hash covers the previous entry's hash, so a sighting
//! edited, deleted or reordered in the catalog afterwards no longer
//! matches the chain, and a rewritten chain no longer leads to a head
//! someone noted earlier (`firstseen status`, every manifest's header).
//!
//! An entry is `(seq, kind, payload, prev, hash)` with
//! `hash = SHA-256(prev || payload)`: `prev` the 32 bytes of the previous
//! entry's hash (32 zero bytes for the first), `payload` the UTF-8 bytes
//! of a canonical JSON object (keys in the fixed order below, no
//! whitespace, every key present, `null` for absent values, strings as
//! `serde_json` writes them). A sighting's payload is rebuilt from its
//! row by [`sighting_payload`], so [`super::verify`] can tell that a row
//! still says what was chained.
//!
//! Entries are written in the same transaction as the sighting or import
//! they record. Sightings recorded before the chain existed (catalog
//! schema 2 and older) are chained, oldest row first, by the migration
//! that creates the chain, once; a sighting that appears later without an
//! entry is reported by `verify`, never chained silently.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256 as Hasher};

use crate::error::{Error, Result};
use crate::hash::Sha256;

/// Hash that the first entry's `prev` holds: 32 zero bytes.
pub const GENESIS: Sha256 = Sha256([0; 32]);

/// Entry kind of a sighting.
pub const KIND_SIGHTING: &str = "sighting";
/// Entry kind of an import (a manifest or a hash list).
pub const KIND_IMPORT: &str = "import";
/// Entry kind of a correction of a sighting (`amend`, `retract`).
pub const KIND_CORRECTION: &str = "correction";
/// Entry kind of a redaction of an item's stored bytes.
pub const KIND_REDACTION: &str = "redaction";

/// The chain's latest entry: how many entries there are and the last
/// one's hash. Anyone holding a head can later check that the archive's
/// history still leads to it (`firstseen verify --head`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    /// Number of entries (the head's sequence number).
    pub length: u64,
    /// The latest entry's hash.
    pub hash: Sha256,
}

/// `SHA-256(prev || payload)`.
pub fn entry_hash(prev: &Sha256, payload: &[u8]) -> Sha256 {
    let mut h = Hasher::new();
    h.update(prev.0);
    h.update(payload);
    Sha256(h.finalize().into())
}

/// The chain's head, `None` while it is empty.
///
/// # Errors
/// SQLite errors or a malformed stored hash.
pub(crate) fn head(conn: &Connection) -> Result<Option<ChainHead>> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        None => Ok(None),
        Some((seq, hex)) => Ok(Some(ChainHead {
            length: seq.unsigned_abs(),
            hash: hex.parse()?,
        })),
    }
}

/// The catalog row an entry records.
#[derive(Debug, Clone, Copy)]
enum Row {
    Sighting(i64),
    Import(i64),
    Correction(i64),
    Redaction(i64),
}

/// Appends one entry after the current head.
fn append(conn: &Connection, kind: &str, payload: &str, row: Row) -> Result<ChainHead> {
    let prev = head(conn)?;
    let (seq, prev_hash) = match prev {
        Some(h) => (h.length + 1, h.hash),
        None => (1, GENESIS),
    };
    let hash = entry_hash(&prev_hash, payload.as_bytes());
    // Each kind names its row in its own column (the columns for
    // corrections and redactions came with a later schema, and the
    // migration that chains old sightings runs before it).
    let (column, id) = match row {
        Row::Sighting(id) => ("sighting_id", id),
        Row::Import(id) => ("import_id", id),
        Row::Correction(id) => ("correction_id", id),
        Row::Redaction(id) => ("redaction_id", id),
    };
    conn.prepare_cached(&format!(
        "INSERT INTO chain (seq, kind, payload, prev, hash, {column})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?
    .execute(params![
        i64::try_from(seq).unwrap_or(i64::MAX),
        kind,
        payload,
        prev_hash.to_hex(),
        hash.to_hex(),
        id
    ])?;
    Ok(ChainHead { length: seq, hash })
}

#[derive(Serialize)]
struct SightingPayload<'a> {
    kind: &'static str,
    sighting: i64,
    item: &'a str,
    source: Option<&'a str>,
    caption: Option<&'a str>,
    first_seen: Option<&'a str>,
    archived_at: &'a str,
    file_name: Option<&'a str>,
    note: Option<&'a str>,
    import: Option<i64>,
}

/// The canonical payload of sighting `id` as its row (and its import
/// link) stand now, or `None` when there is no such sighting.
///
/// # Errors
/// SQLite errors.
pub(crate) fn sighting_payload(conn: &Connection, id: i64) -> Result<Option<String>> {
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT i.sha256, s.source, s.caption, s.first_seen, s.archived_at, s.file_name,
                    s.note, si.import_id
             FROM sighting s LEFT JOIN item i ON i.id = s.item_id
             LEFT JOIN sighting_import si ON si.sighting_id = s.id
             WHERE s.id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .optional()?;
    let Some((item, source, caption, first_seen, archived_at, file_name, note, import)) = row
    else {
        return Ok(None);
    };
    let payload = SightingPayload {
        kind: KIND_SIGHTING,
        sighting: id,
        item: &item,
        source: source.as_deref(),
        caption: caption.as_deref(),
        first_seen: first_seen.as_deref(),
        archived_at: &archived_at,
        file_name: file_name.as_deref(),
        note: note.as_deref(),
        import,
    };
    Ok(Some(canonical(&payload)?))
}

#[derive(Serialize)]
struct ImportPayload<'a> {
    kind: &'static str,
    import: i64,
    source_kind: &'a str,
    name: &'a str,
    file_name: Option<&'a str>,
    file_sha256: &'a str,
    chain_head: Option<&'a str>,
    chain_length: Option<i64>,
    imported_at: &'a str,
    items_new: i64,
    items_known: i64,
    sightings_new: i64,
    sightings_known: i64,
    hashes_new: i64,
    hashes_known: i64,
    hashes_digest: Option<&'a str>,
}

/// The canonical payload of import record `id` as its row stands now.
///
/// # Errors
/// SQLite errors.
pub(crate) fn import_payload(conn: &Connection, id: i64) -> Result<Option<String>> {
    let row = conn
        .prepare_cached(
            "SELECT kind, name, file_name, file_sha256, chain_head, chain_length, imported_at,
                    items_new, items_known, sightings_new, sightings_known, hashes_new,
                    hashes_known, hashes_digest
             FROM import_record WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, String>(6)?,
                [
                    r.get::<_, i64>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, i64>(9)?,
                    r.get::<_, i64>(10)?,
                    r.get::<_, i64>(11)?,
                    r.get::<_, i64>(12)?,
                ],
                r.get::<_, Option<String>>(13)?,
            ))
        })
        .optional()?;
    let Some((kind, name, file_name, file_sha, head, length, at, n, digest)) = row else {
        return Ok(None);
    };
    let payload = ImportPayload {
        kind: KIND_IMPORT,
        import: id,
        source_kind: &kind,
        name: &name,
        file_name: file_name.as_deref(),
        file_sha256: &file_sha,
        chain_head: head.as_deref(),
        chain_length: length,
        imported_at: &at,
        items_new: n[0],
        items_known: n[1],
        sightings_new: n[2],
        sightings_known: n[3],
        hashes_new: n[4],
        hashes_known: n[5],
        hashes_digest: digest.as_deref(),
    };
    Ok(Some(canonical(&payload)?))
}

fn canonical(payload: &impl Serialize) -> Result<String> {
    serde_json::to_string(payload).map_err(|e| Error::Invalid {
        what: "chain payload",
        reason: e.to_string(),
    })
}

/// Appends the entry for sighting `id`, just inserted (with its import
/// link, if any) in the same transaction.
///
/// # Errors
/// SQLite errors.
pub(crate) fn append_sighting(conn: &Connection, id: i64) -> Result<ChainHead> {
    let payload = sighting_payload(conn, id)?.ok_or_else(|| Error::Invalid {
        what: "chain",
        reason: format!("sighting #{id} vanished before it could be chained"),
    })?;
    append(conn, KIND_SIGHTING, &payload, Row::Sighting(id))
}

/// Appends the entry for import record `id`, with its final counts.
///
/// # Errors
/// SQLite errors.
pub(crate) fn append_import(conn: &Connection, id: i64) -> Result<ChainHead> {
    let payload = import_payload(conn, id)?.ok_or_else(|| Error::Invalid {
        what: "chain",
        reason: format!("import #{id} vanished before it could be chained"),
    })?;
    append(conn, KIND_IMPORT, &payload, Row::Import(id))
}

#[derive(Serialize)]
struct CorrectionPayload<'a> {
    kind: &'static str,
    correction: i64,
    sighting: i64,
    action: &'a str,
    field: Option<&'a str>,
    value: Option<&'a str>,
    reason: Option<&'a str>,
    made_at: &'a str,
}

/// The canonical payload of correction `id` as its row stands now.
///
/// # Errors
/// SQLite errors.
pub(crate) fn correction_payload(conn: &Connection, id: i64) -> Result<Option<String>> {
    type Row = (
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    );
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT sighting_id, action, field, value, reason, made_at FROM correction WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    let Some((sighting, action, field, value, reason, made_at)) = row else {
        return Ok(None);
    };
    Ok(Some(canonical(&CorrectionPayload {
        kind: KIND_CORRECTION,
        correction: id,
        sighting,
        action: &action,
        field: field.as_deref(),
        value: value.as_deref(),
        reason: reason.as_deref(),
        made_at: &made_at,
    })?))
}

#[derive(Serialize)]
struct RedactionPayload<'a> {
    kind: &'static str,
    redaction: i64,
    item: &'a str,
    reason: &'a str,
    made_at: &'a str,
}

/// The canonical payload of redaction `id` as its row stands now.
///
/// # Errors
/// SQLite errors.
pub(crate) fn redaction_payload(conn: &Connection, id: i64) -> Result<Option<String>> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached(
            "SELECT i.sha256, r.reason, r.made_at FROM redaction r
             LEFT JOIN item i ON i.id = r.item_id WHERE r.id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                r.get(1)?,
                r.get(2)?,
            ))
        })
        .optional()?;
    let Some((item, reason, made_at)) = row else {
        return Ok(None);
    };
    Ok(Some(canonical(&RedactionPayload {
        kind: KIND_REDACTION,
        redaction: id,
        item: &item,
        reason: &reason,
        made_at: &made_at,
    })?))
}

/// Appends the entry for correction `id`, just inserted.
///
/// # Errors
/// SQLite errors.
pub(crate) fn append_correction(conn: &Connection, id: i64) -> Result<ChainHead> {
    let payload = correction_payload(conn, id)?.ok_or_else(|| Error::Invalid {
        what: "chain",
        reason: format!("correction #{id} vanished before it could be chained"),
    })?;
    append(conn, KIND_CORRECTION, &payload, Row::Correction(id))
}

/// Appends the entry for redaction `id`, just inserted.
///
/// # Errors
/// SQLite errors.
pub(crate) fn append_redaction(conn: &Connection, id: i64) -> Result<ChainHead> {
    let payload = redaction_payload(conn, id)?.ok_or_else(|| Error::Invalid {
        what: "chain",
        reason: format!("redaction #{id} vanished before it could be chained"),
    })?;
    append(conn, KIND_REDACTION, &payload, Row::Redaction(id))
}

/// Chains every sighting that has no entry yet, oldest row first: run
/// once, by the migration that creates the chain, for sightings recorded
/// before it existed.
///
/// # Errors
/// SQLite errors.
pub(crate) fn backfill(conn: &Connection) -> Result<u64> {
    let ids: Vec<i64> = conn
        .prepare(
            "SELECT id FROM sighting WHERE id NOT IN
               (SELECT sighting_id FROM chain WHERE sighting_id IS NOT NULL) ORDER BY id",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for &id in &ids {
        append_sighting(conn, id)?;
    }
    Ok(ids.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_hash_covers_prev_and_payload() {
        let a = entry_hash(&GENESIS, b"{}");
        assert_eq!(a, Sha256::of(&[[0u8; 32].as_slice(), b"{}"].concat()));
        assert_ne!(entry_hash(&a, b"{}"), a);
        assert_ne!(entry_hash(&GENESIS, b"{ }"), a);
    }
}
