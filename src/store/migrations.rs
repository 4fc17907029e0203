//! Catalog schema, as an append-only list of migrations keyed by SQLite's
//! `PRAGMA user_version`. Never reorder or remove an entry: add a new one.

use rusqlite::Connection;

/// The migrations, in order; entry `n` brings the schema to version `n+1`.
const MIGRATIONS: &[&str] = &[
    // 1: items, sightings, near-duplicate links, settings.
    "CREATE TABLE item (
        id          INTEGER PRIMARY KEY,
        sha256      TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
        media_type  TEXT NOT NULL,
        format      TEXT NOT NULL,
        width       INTEGER,
        height      INTEGER,
        byte_size   INTEGER,
        pdq         TEXT CHECK (pdq IS NULL OR length(pdq) = 64),
        pdq_quality INTEGER,
        phash       TEXT,
        dhash       TEXT,
        stored      INTEGER NOT NULL DEFAULT 0,
        added_at    TEXT NOT NULL
    );
    CREATE TABLE sighting (
        id          INTEGER PRIMARY KEY,
        item_id     INTEGER NOT NULL REFERENCES item(id),
        source      TEXT,
        caption     TEXT,
        first_seen  TEXT,
        archived_at TEXT NOT NULL,
        file_name   TEXT,
        note        TEXT
    );
    CREATE INDEX sighting_item ON sighting(item_id);
    CREATE INDEX sighting_archived ON sighting(archived_at);
    CREATE TABLE variant_link (
        item_id    INTEGER NOT NULL REFERENCES item(id),
        variant_of INTEGER NOT NULL REFERENCES item(id),
        distance   INTEGER NOT NULL,
        transform  TEXT NOT NULL,
        PRIMARY KEY (item_id, variant_of)
    );
    CREATE INDEX variant_link_of ON variant_link(variant_of);
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 2: videos and animations: per-video facts and the sampled frames'
    // hashes (with the time span each kept frame stands for) and a small
    // JPEG thumbnail for reports; a free-text detail on variant links
    // ("frame at 12.0 s", shares and offset between two videos).
    "CREATE TABLE video (
        item_id        INTEGER PRIMARY KEY REFERENCES item(id),
        container      TEXT NOT NULL,
        codec          TEXT NOT NULL,
        decoder        TEXT NOT NULL,
        duration_secs  REAL NOT NULL,
        frames_decoded INTEGER NOT NULL,
        frames_sampled INTEGER NOT NULL,
        frames_kept    INTEGER NOT NULL,
        warnings       TEXT
    );
    CREATE TABLE frame (
        item_id      INTEGER NOT NULL REFERENCES item(id),
        seq          INTEGER NOT NULL,
        frame_number INTEGER NOT NULL,
        start_secs   REAL NOT NULL,
        end_secs     REAL NOT NULL,
        pdq          TEXT NOT NULL CHECK (length(pdq) = 64),
        pdq_quality  INTEGER NOT NULL,
        phash        TEXT,
        dhash        TEXT,
        thumb_jpeg   BLOB,
        PRIMARY KEY (item_id, seq)
    );
    ALTER TABLE variant_link ADD COLUMN detail TEXT;",
];

/// Brings the schema up to date inside one exclusive transaction.
///
/// # Errors
/// Any SQLite error; the schema is then left at its previous version.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let done = usize::try_from(version).unwrap_or(0);
    for (i, sql) in (0_i64..).zip(MIGRATIONS).skip(done) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
    }
    tx.commit()
}

/// The schema version this build writes.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_twice() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest());
    }
}
