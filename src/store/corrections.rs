//! Corrections, not edits: `amend` (a sighting's source, caption or
//! first-seen was wrong), `retract` (the sighting should not have been
//! recorded) and `redact` (an item's stored bytes must go: a legal
//! request, graphic content). Each is a record of its own, appended and
//! chained; the rows it corrects are never changed, so the chain still
//! vouches for what was first recorded and `verify` stays clean. Readers
//! see the corrected value with the original beside it.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::catalog::{Catalog, ItemId, Sighting};
use super::{Archive, chain};
use crate::error::{Error, Result};
use crate::text::{MAX_LONG_TEXT, MAX_SOURCE, check_len};

/// A field of a sighting that can be amended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Where it was seen.
    Source,
    /// What it claimed.
    Caption,
    /// When it was first seen.
    FirstSeen,
}

impl Field {
    /// The column and JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Field::Source => "source",
            Field::Caption => "caption",
            Field::FirstSeen => "first_seen",
        }
    }

    fn from_name(s: &str) -> Option<Field> {
        [Field::Source, Field::Caption, Field::FirstSeen]
            .into_iter()
            .find(|f| f.name() == s)
    }
}

/// One amendment as readers see it: the value before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    /// Correction id.
    pub id: i64,
    /// The field.
    pub field: Field,
    /// Its value before (as first recorded, or as an earlier amendment
    /// left it).
    pub was: Option<String>,
    /// Its value now (`None`: cleared).
    pub now: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When the correction was made (UTC).
    pub made_at: String,
}

/// A retraction: the sighting stands in the record but no longer counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retraction {
    /// Correction id.
    pub id: i64,
    /// Why.
    pub reason: Option<String>,
    /// When (UTC).
    pub made_at: String,
}

/// A redaction of an item's stored bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redaction {
    /// Redaction id.
    pub id: i64,
    /// Why.
    pub reason: String,
    /// When (UTC).
    pub made_at: String,
}

/// Applies recorded corrections to sightings read from their rows, in
/// the order the corrections were made (by time, so two archives that
/// exchanged corrections agree).
pub(crate) fn apply(conn: &rusqlite::Connection, sightings: &mut [Sighting]) -> Result<()> {
    if sightings.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, action, field, value, reason, made_at FROM correction
         WHERE sighting_id = ?1 ORDER BY made_at, id",
    )?;
    for s in sightings.iter_mut() {
        let rows = stmt
            .query_map([s.id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, action, field, value, reason, made_at) in rows {
            if action == "retract" {
                s.retracted = Some(Retraction {
                    id,
                    reason,
                    made_at,
                });
                continue;
            }
            let Some(field) = field.as_deref().and_then(Field::from_name) else {
                continue;
            };
            let slot = match field {
                Field::Source => &mut s.source,
                Field::Caption => &mut s.caption,
                Field::FirstSeen => &mut s.first_seen,
            };
            let was = std::mem::replace(slot, value.clone());
            s.corrections.push(Correction {
                id,
                field,
                was,
                now: value,
                reason,
                made_at,
            });
        }
    }
    Ok(())
}

impl Catalog {
    /// The sighting with this id, corrections applied.
    ///
    /// # Errors
    /// [`Error::Invalid`] when there is none; SQLite errors.
    pub fn sighting(&self, id: i64) -> Result<Sighting> {
        let mut found = self.sighting_row(id)?.ok_or_else(|| Error::Invalid {
            what: "sighting",
            reason: format!(
                "no sighting #{id} (`show ITEM` lists its sightings with their numbers)"
            ),
        })?;
        apply(self.conn(), std::slice::from_mut(&mut found))?;
        Ok(found)
    }

    /// The redaction of an item, if its bytes were redacted.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn redaction(&self, item: ItemId) -> Result<Option<Redaction>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT id, reason, made_at FROM redaction WHERE item_id = ?1")?
            .query_row([item.0], |r| {
                Ok(Redaction {
                    id: r.get(0)?,
                    reason: r.get(1)?,
                    made_at: r.get(2)?,
                })
            })
            .optional()?)
    }
}

/// Checks an amended value as the command line's are checked; the
/// stored form of a date.
fn checked(field: Field, value: Option<String>) -> Result<Option<String>> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match field {
        Field::Source => check_len("--source", &v, MAX_SOURCE).map(|()| Some(v)),
        Field::Caption => check_len("--caption", &v, MAX_LONG_TEXT).map(|()| Some(v)),
        Field::FirstSeen => crate::time::parse_first_seen(&v).map(Some),
    }
}

impl Archive {
    /// Amends fields of sighting `id` (an empty value clears the field),
    /// each change a chained correction. Returns the corrections made
    /// (none when every value already stands).
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown or retracted sighting or a bad
    /// value; catalog errors. Nothing is written then.
    pub fn amend(
        &mut self,
        id: i64,
        changes: &[(Field, Option<String>)],
        reason: Option<&str>,
    ) -> Result<Vec<i64>> {
        if let Some(r) = reason {
            check_len("--reason", r, MAX_LONG_TEXT)?;
        }
        let mut values = Vec::with_capacity(changes.len());
        for (field, value) in changes {
            values.push((*field, checked(*field, value.clone())?));
        }
        let current = self.catalog.sighting(id)?;
        if current.retracted.is_some() {
            return Err(Error::Invalid {
                what: "sighting",
                reason: format!("#{id} is retracted; it cannot be amended"),
            });
        }
        let now = crate::time::now();
        let tx = self.catalog.begin()?;
        let mut made = Vec::new();
        for (field, value) in values {
            let stands = match field {
                Field::Source => &current.source,
                Field::Caption => &current.caption,
                Field::FirstSeen => &current.first_seen,
            };
            if *stands == value {
                continue;
            }
            made.push(insert(
                &tx,
                id,
                "amend",
                Some(field.name()),
                value.as_deref(),
                reason,
                &now,
            )?);
        }
        tx.commit()?;
        Ok(made)
    }

    /// Retracts sighting `id`: it stays in the record, marked retracted,
    /// and no longer counts (not as the earliest appearance, not in
    /// matches).
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown or already retracted sighting.
    pub fn retract(&mut self, id: i64, reason: &str) -> Result<i64> {
        check_len("--reason", reason, MAX_LONG_TEXT)?;
        if self.catalog.sighting(id)?.retracted.is_some() {
            return Err(Error::Invalid {
                what: "sighting",
                reason: format!("#{id} is already retracted"),
            });
        }
        let now = crate::time::now();
        let tx = self.catalog.begin()?;
        let cid = insert(&tx, id, "retract", None, None, Some(reason), &now)?;
        tx.commit()?;
        Ok(cid)
    }

    /// Redacts an item: its stored bytes and video thumbnails are
    /// removed, its hashes, features, sightings and links kept (so it is
    /// still matched), and a chained record says when and why. The same
    /// bytes archived again are not stored again.
    ///
    /// # Errors
    /// [`Error::Invalid`] when already redacted; I/O or catalog errors.
    /// The record is committed before the bytes are removed: a failure
    /// to remove them is an error, and `verify` then reports them.
    pub fn redact(&mut self, item: ItemId, reason: &str) -> Result<i64> {
        check_len("--reason", reason, MAX_LONG_TEXT)?;
        if reason.trim().is_empty() {
            return Err(Error::Invalid {
                what: "--reason",
                reason: "a redaction needs a reason".to_string(),
            });
        }
        if self.catalog.redaction(item)?.is_some() {
            return Err(Error::Invalid {
                what: "item",
                reason: "already redacted".to_string(),
            });
        }
        let sha = self.catalog.item(item)?.sha256;
        let now = crate::time::now();
        // Freed pages are zeroed, and the log emptied after, so removed
        // thumbnails cannot be carved out of the catalog's files.
        self.catalog
            .conn()
            .pragma_update(None, "secure_delete", true)?;
        let tx = self.catalog.begin()?;
        tx.execute(
            "INSERT INTO redaction (item_id, reason, made_at) VALUES (?1, ?2, ?3)",
            params![item.0, reason, now],
        )?;
        let rid = tx.last_insert_rowid();
        chain::append_redaction(&tx, rid)?;
        tx.execute("UPDATE item SET stored = 0 WHERE id = ?1", [item.0])?;
        tx.execute(
            "UPDATE frame SET thumb_jpeg = NULL WHERE item_id = ?1",
            [item.0],
        )?;
        tx.commit()?;
        self.catalog
            .conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.objects.remove(&sha)?;
        Ok(rid)
    }
}

/// Records one correction of sighting `sighting` (`amend` of `field` to
/// `value`, or `retract`) and appends its chain entry, in `tx`.
///
/// # Errors
/// SQLite errors.
pub(crate) fn insert(
    tx: &rusqlite::Transaction<'_>,
    sighting: i64,
    action: &str,
    field: Option<&str>,
    value: Option<&str>,
    reason: Option<&str>,
    made_at: &str,
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO correction (sighting_id, action, field, value, reason, made_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![sighting, action, field, value, reason, made_at])?;
    let id = tx.last_insert_rowid();
    chain::append_correction(tx, id)?;
    Ok(id)
}

/// Whether the item with this SHA-256 was redacted (its bytes must not
/// be stored again).
pub(crate) fn is_redacted(conn: &rusqlite::Connection, sha: &crate::hash::Sha256) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM redaction r JOIN item i ON i.id = r.item_id WHERE i.sha256 = ?1)",
        )?
        .query_row([sha.to_hex()], |r| r.get(0))?)
}
