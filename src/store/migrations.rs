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
    // 3: manifests, hash lists and the hash-chained log. An import record
    // per imported manifest or hash list (where it came from, its chain
    // head, when, what it added); which sightings came from which import;
    // PDQ hashes from other systems' lists, known without any file; and
    // the chain (see `chain.rs`). Sightings already recorded are chained
    // right after, in the same transaction (`chain::backfill`).
    "CREATE TABLE import_record (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL CHECK (kind IN ('manifest', 'hash-list')),
        name            TEXT NOT NULL,
        file_name       TEXT,
        file_sha256     TEXT NOT NULL CHECK (length(file_sha256) = 64),
        chain_head      TEXT CHECK (chain_head IS NULL OR length(chain_head) = 64),
        chain_length    INTEGER,
        imported_at     TEXT NOT NULL,
        items_new       INTEGER NOT NULL DEFAULT 0,
        items_known     INTEGER NOT NULL DEFAULT 0,
        sightings_new   INTEGER NOT NULL DEFAULT 0,
        sightings_known INTEGER NOT NULL DEFAULT 0,
        hashes_new      INTEGER NOT NULL DEFAULT 0,
        hashes_known    INTEGER NOT NULL DEFAULT 0,
        hashes_digest   TEXT
    );
    CREATE TABLE sighting_import (
        sighting_id INTEGER PRIMARY KEY REFERENCES sighting(id),
        import_id   INTEGER NOT NULL REFERENCES import_record(id)
    );
    CREATE INDEX sighting_import_by_import ON sighting_import(import_id);
    CREATE TABLE listed_hash (
        id        INTEGER PRIMARY KEY,
        list      TEXT NOT NULL,
        pdq       TEXT NOT NULL CHECK (length(pdq) = 64),
        quality   INTEGER,
        import_id INTEGER NOT NULL REFERENCES import_record(id),
        UNIQUE (list, pdq)
    );
    CREATE INDEX listed_hash_by_import ON listed_hash(import_id);
    CREATE TABLE chain (
        seq         INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,
        payload     TEXT NOT NULL,
        prev        TEXT NOT NULL CHECK (length(prev) = 64),
        hash        TEXT NOT NULL CHECK (length(hash) = 64),
        sighting_id INTEGER UNIQUE,
        import_id   INTEGER UNIQUE
    );",
    // Local features of still pictures (38 bytes each), for confirming
    // crops, screenshots and rotations.
    "CREATE TABLE item_features (
        item_id INTEGER PRIMARY KEY REFERENCES item(id),
        data    BLOB NOT NULL
    );
    CREATE TABLE frame_features (
        item_id INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        data    BLOB NOT NULL,
        PRIMARY KEY (item_id, seq),
        FOREIGN KEY (item_id, seq) REFERENCES frame(item_id, seq)
    );",
    // Problems found when an item was archived (a truncated JPEG).
    "ALTER TABLE item ADD COLUMN warnings TEXT;",
    // The hash index (`matching::index`) is a file beside the catalog that
    // follows appended items by itself (rows after the last item it
    // holds); any other change to the hashes it holds — an update, a
    // deletion, a row inserted behind the last item, by firstseen or by
    // hand — bumps this counter, so the file is known stale and rebuilt.
    "CREATE TABLE hash_edits (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        count INTEGER NOT NULL
    );
    INSERT INTO hash_edits VALUES (1, 0);
    CREATE TRIGGER item_hashes_updated AFTER UPDATE OF id, pdq, pdq_quality, phash, dhash ON item
      BEGIN UPDATE hash_edits SET count = count + 1; END;
    CREATE TRIGGER item_deleted AFTER DELETE ON item
      BEGIN UPDATE hash_edits SET count = count + 1; END;
    CREATE TRIGGER item_inserted_behind AFTER INSERT ON item
      WHEN NEW.id < (SELECT max(id) FROM item)
      BEGIN UPDATE hash_edits SET count = count + 1; END;
    CREATE TRIGGER frame_hashes_updated
      AFTER UPDATE OF item_id, start_secs, end_secs, pdq, pdq_quality, phash, dhash ON frame
      BEGIN UPDATE hash_edits SET count = count + 1; END;
    CREATE TRIGGER frame_deleted AFTER DELETE ON frame
      BEGIN UPDATE hash_edits SET count = count + 1; END;
    CREATE TRIGGER frame_inserted_behind AFTER INSERT ON frame
      WHEN NEW.item_id < (SELECT max(id) FROM item)
      BEGIN UPDATE hash_edits SET count = count + 1; END;",
    // Full-text search over sightings' captions, sources, notes and file
    // names (`firstseen search`): an FTS5 index over the sighting table's
    // own text (external content, so the text is stored once), kept in
    // step by triggers and filled from the rows already there.
    "CREATE VIRTUAL TABLE sighting_text USING fts5(
        caption, source, note, file_name,
        content = 'sighting', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER sighting_text_insert AFTER INSERT ON sighting BEGIN
      INSERT INTO sighting_text (rowid, caption, source, note, file_name)
        VALUES (NEW.id, NEW.caption, NEW.source, NEW.note, NEW.file_name);
    END;
    CREATE TRIGGER sighting_text_delete AFTER DELETE ON sighting BEGIN
      INSERT INTO sighting_text (sighting_text, rowid, caption, source, note, file_name)
        VALUES ('delete', OLD.id, OLD.caption, OLD.source, OLD.note, OLD.file_name);
    END;
    CREATE TRIGGER sighting_text_update AFTER UPDATE ON sighting BEGIN
      INSERT INTO sighting_text (sighting_text, rowid, caption, source, note, file_name)
        VALUES ('delete', OLD.id, OLD.caption, OLD.source, OLD.note, OLD.file_name);
      INSERT INTO sighting_text (rowid, caption, source, note, file_name)
        VALUES (NEW.id, NEW.caption, NEW.source, NEW.note, NEW.file_name);
    END;
    INSERT INTO sighting_text (sighting_text) VALUES ('rebuild');
    CREATE INDEX sighting_date ON sighting(coalesce(first_seen, archived_at));",
    // Corrections and redactions (`amend`, `retract`, `redact`): appended
    // records, each chained; the sighting rows they correct are never
    // edited, so the chain still vouches for what was first recorded.
    "CREATE TABLE correction (
        id          INTEGER PRIMARY KEY,
        sighting_id INTEGER NOT NULL REFERENCES sighting(id),
        action      TEXT NOT NULL CHECK (action IN ('amend', 'retract')),
        field       TEXT CHECK ((action = 'amend' AND field IN ('source', 'caption', 'first_seen'))
                                OR (action = 'retract' AND field IS NULL)),
        value       TEXT,
        reason      TEXT,
        made_at     TEXT NOT NULL
    );
    CREATE INDEX correction_of ON correction(sighting_id);
    CREATE TABLE redaction (
        id      INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL UNIQUE REFERENCES item(id),
        reason  TEXT NOT NULL,
        made_at TEXT NOT NULL
    );
    ALTER TABLE chain ADD COLUMN correction_id INTEGER;
    ALTER TABLE chain ADD COLUMN redaction_id INTEGER;
    CREATE UNIQUE INDEX chain_correction ON chain(correction_id);
    CREATE UNIQUE INDEX chain_redaction ON chain(redaction_id);",
    // The search index holds each sighting's text as corrected: its own
    // copy of the text (no longer the sighting rows' content), updated
    // by an amendment and emptied by a retraction.
    "DROP TRIGGER sighting_text_insert;
    DROP TRIGGER sighting_text_delete;
    DROP TRIGGER sighting_text_update;
    DROP TABLE sighting_text;
    CREATE VIRTUAL TABLE sighting_text USING fts5(
        caption, source, note, file_name,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO sighting_text (rowid, caption, source, note, file_name)
      SELECT id, caption, source, note, file_name FROM sighting;
    UPDATE sighting_text SET caption = (SELECT value FROM correction c
        WHERE c.sighting_id = sighting_text.rowid AND c.field = 'caption' ORDER BY c.id DESC LIMIT 1)
      WHERE rowid IN (SELECT sighting_id FROM correction WHERE field = 'caption');
    UPDATE sighting_text SET source = (SELECT value FROM correction c
        WHERE c.sighting_id = sighting_text.rowid AND c.field = 'source' ORDER BY c.id DESC LIMIT 1)
      WHERE rowid IN (SELECT sighting_id FROM correction WHERE field = 'source');
    DELETE FROM sighting_text
      WHERE rowid IN (SELECT sighting_id FROM correction WHERE action = 'retract');
    CREATE TRIGGER sighting_text_insert AFTER INSERT ON sighting BEGIN
      INSERT INTO sighting_text (rowid, caption, source, note, file_name)
        VALUES (NEW.id, NEW.caption, NEW.source, NEW.note, NEW.file_name);
    END;
    CREATE TRIGGER sighting_text_delete AFTER DELETE ON sighting BEGIN
      DELETE FROM sighting_text WHERE rowid = OLD.id;
    END;
    CREATE TRIGGER sighting_text_update AFTER UPDATE ON sighting BEGIN
      DELETE FROM sighting_text WHERE rowid = OLD.id;
      INSERT INTO sighting_text (rowid, caption, source, note, file_name)
        VALUES (NEW.id, NEW.caption, NEW.source, NEW.note, NEW.file_name);
    END;
    CREATE TRIGGER correction_text_caption AFTER INSERT ON correction
      WHEN NEW.action = 'amend' AND NEW.field = 'caption' BEGIN
      UPDATE sighting_text SET caption = NEW.value WHERE rowid = NEW.sighting_id;
    END;
    CREATE TRIGGER correction_text_source AFTER INSERT ON correction
      WHEN NEW.action = 'amend' AND NEW.field = 'source' BEGIN
      UPDATE sighting_text SET source = NEW.value WHERE rowid = NEW.sighting_id;
    END;
    CREATE TRIGGER correction_text_retract AFTER INSERT ON correction
      WHEN NEW.action = 'retract' BEGIN
      DELETE FROM sighting_text WHERE rowid = NEW.sighting_id;
    END;",
    // A correction imported late may be older than one already here: the
    // search index takes the latest by time, as readers do.
    "DROP TRIGGER correction_text_caption;
    DROP TRIGGER correction_text_source;
    CREATE TRIGGER correction_text_caption AFTER INSERT ON correction
      WHEN NEW.action = 'amend' AND NEW.field = 'caption' BEGIN
      UPDATE sighting_text SET caption = (SELECT value FROM correction
          WHERE sighting_id = NEW.sighting_id AND field = 'caption'
          ORDER BY made_at DESC, id DESC LIMIT 1)
        WHERE rowid = NEW.sighting_id;
    END;
    CREATE TRIGGER correction_text_source AFTER INSERT ON correction
      WHEN NEW.action = 'amend' AND NEW.field = 'source' BEGIN
      UPDATE sighting_text SET source = (SELECT value FROM correction
          WHERE sighting_id = NEW.sighting_id AND field = 'source'
          ORDER BY made_at DESC, id DESC LIMIT 1)
        WHERE rowid = NEW.sighting_id;
    END;
    UPDATE sighting_text SET caption = (SELECT value FROM correction c
        WHERE c.sighting_id = sighting_text.rowid AND c.field = 'caption'
        ORDER BY c.made_at DESC, c.id DESC LIMIT 1)
      WHERE rowid IN (SELECT sighting_id FROM correction WHERE field = 'caption');
    UPDATE sighting_text SET source = (SELECT value FROM correction c
        WHERE c.sighting_id = sighting_text.rowid AND c.field = 'source'
        ORDER BY c.made_at DESC, c.id DESC LIMIT 1)
      WHERE rowid IN (SELECT sighting_id FROM correction WHERE field = 'source');",
    // The feature index (`matching::features`) follows appended items as
    // the hash index does; any other change to stored local features (an
    // update, a deletion, a row stored behind the last item, by firstseen
    // or by hand) bumps this counter, so its segments are known stale.
    "CREATE TABLE feature_edits (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        count INTEGER NOT NULL
    );
    INSERT INTO feature_edits VALUES (1, 0);
    CREATE TRIGGER item_features_updated AFTER UPDATE ON item_features
      BEGIN UPDATE feature_edits SET count = count + 1; END;
    CREATE TRIGGER item_features_deleted AFTER DELETE ON item_features
      BEGIN UPDATE feature_edits SET count = count + 1; END;
    CREATE TRIGGER item_features_inserted_behind AFTER INSERT ON item_features
      WHEN NEW.item_id < (SELECT max(id) FROM item)
      BEGIN UPDATE feature_edits SET count = count + 1; END;
    CREATE TRIGGER frame_features_updated AFTER UPDATE ON frame_features
      BEGIN UPDATE feature_edits SET count = count + 1; END;
    CREATE TRIGGER frame_features_deleted AFTER DELETE ON frame_features
      BEGIN UPDATE feature_edits SET count = count + 1; END;
    CREATE TRIGGER frame_features_inserted_behind AFTER INSERT ON frame_features
      WHEN NEW.item_id < (SELECT max(id) FROM item)
      BEGIN UPDATE feature_edits SET count = count + 1; END;
    CREATE TRIGGER item_deleted_features AFTER DELETE ON item
      BEGIN UPDATE feature_edits SET count = count + 1; END;",
];

/// Work a migration needs beyond its SQL, run in the same transaction
/// right after it: `(version, step)`.
type Step = fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>;
const AFTER: &[(i64, Step)] = &[(3, chain_existing_sightings)];

/// Version 3: sightings recorded before the chain existed are chained,
/// oldest row first.
fn chain_existing_sightings(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    super::chain::backfill(tx).map(|_| ()).map_err(|e| match e {
        crate::error::Error::Catalog(e) => e,
        other => rusqlite::Error::ToSqlConversionFailure(Box::new(other)),
    })
}

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
        for (_, step) in AFTER.iter().filter(|(v, _)| *v == i + 1) {
            step(&tx)?;
        }
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

    /// An archive from before the chain: its sightings are chained, in
    /// row order, by the migration that adds the chain, and only then.
    #[test]
    fn sightings_recorded_before_the_chain_are_chained_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (i, sql) in (1_i64..).zip(&MIGRATIONS[..2]) {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", i).unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO item (sha256, media_type, format, added_at)
               VALUES ('{}', 'image', 'png', '2024-01-01T00:00:00Z');
             INSERT INTO sighting (item_id, source, archived_at) VALUES (1, 'a', '2024-01-01T00:00:00Z');
             INSERT INTO sighting (item_id, source, archived_at) VALUES (1, 'b', '2024-01-02T00:00:00Z');",
            "ab".repeat(32)
        ))
        .unwrap();
        migrate(&mut conn).unwrap();
        let chained: Vec<(i64, i64, String)> = conn
            .prepare("SELECT seq, sighting_id, payload FROM chain ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(chained.len(), 2);
        assert_eq!((chained[0].0, chained[0].1), (1, 1));
        assert!(
            chained[1].2.contains("\"source\":\"b\""),
            "{}",
            chained[1].2
        );
        assert_eq!(
            super::super::chain::sighting_payload(&conn, 2).unwrap(),
            Some(chained[1].2.clone())
        );
        // A row added behind firstseen's back later is not chained by
        // migrating again.
        conn.execute(
            "INSERT INTO sighting (item_id, archived_at) VALUES (1, '2024-01-03T00:00:00Z')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM chain", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }
}
