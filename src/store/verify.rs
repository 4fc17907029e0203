//! `verify`: is the archive still what was recorded? Every stored object
//! is re-hashed against its name; the catalog and the store are compared
//! (objects missing, altered, or present with no item); the hash chain is
//! walked entry by entry (each entry's hash, its link to the previous
//! one, and that every sighting and import row still says what its entry
//! says); rows that bypassed the chain are found. Each problem is reported
//! on its own, precisely, and the walk goes on. Nothing is modified.

use std::fs;
use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::hash::Sha256;
use crate::store::chain::{
    self, ChainHead, GENESIS, KIND_CORRECTION, KIND_IMPORT, KIND_REDACTION, KIND_SIGHTING,
};
use crate::store::{Archive, Item, exchange};

/// What kind of problem `verify` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// A stored object no longer hashes to its name.
    AlteredObject,
    /// An item says its bytes are stored, but the object is absent.
    MissingObject,
    /// An object with no item, or whose item says "hashes only".
    StrayObject,
    /// A file or folder in `objects/` that is not an object name.
    StrayFile,
    /// The chain itself: an entry edited, removed or out of order.
    Chain,
    /// A sighting row differs from its chain entry.
    SightingAltered,
    /// A chained sighting is no longer in the catalog.
    SightingMissing,
    /// A sighting with no chain entry (added outside firstseen).
    SightingUnchained,
    /// An import record (or its listed hashes) differs from its entry.
    ImportAltered,
    /// A chained import record is no longer in the catalog.
    ImportMissing,
    /// An import record with no chain entry.
    ImportUnchained,
    /// A correction or redaction record differs from its chain entry,
    /// is gone, or was never chained.
    CorrectionAltered,
    /// The bytes of a redacted item are in the store again.
    RedactedObject,
    /// The head given with `--head` is not in the chain.
    UnknownHead,
    /// SQLite's own integrity or foreign-key checks failed.
    Catalog,
    /// The hash index file disagreed with the catalog (it is derived
    /// data, and was rebuilt).
    Index,
    /// The feature index disagreed with the catalog (derived data: it
    /// was rebuilt).
    FeatureIndex,
    /// A stored set of local features cannot be read: the item is
    /// matched without them.
    DamagedFeatures,
}

impl ProblemKind {
    /// Short label for one-line output.
    pub fn label(self) -> &'static str {
        match self {
            ProblemKind::AlteredObject => "altered-object",
            ProblemKind::MissingObject => "missing-object",
            ProblemKind::StrayObject => "stray-object",
            ProblemKind::StrayFile => "stray-file",
            ProblemKind::Chain => "chain",
            ProblemKind::SightingAltered => "sighting-altered",
            ProblemKind::SightingMissing => "sighting-missing",
            ProblemKind::SightingUnchained => "sighting-unchained",
            ProblemKind::ImportAltered => "import-altered",
            ProblemKind::ImportMissing => "import-missing",
            ProblemKind::ImportUnchained => "import-unchained",
            ProblemKind::CorrectionAltered => "correction-altered",
            ProblemKind::RedactedObject => "redacted-object",
            ProblemKind::UnknownHead => "unknown-head",
            ProblemKind::Catalog => "catalog",
            ProblemKind::Index => "index",
            ProblemKind::FeatureIndex => "feature-index",
            ProblemKind::DamagedFeatures => "damaged-features",
        }
    }
}

/// One problem: what, about what, and the details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The kind.
    pub kind: ProblemKind,
    /// What it is about: an object's SHA-256, `sighting #12`,
    /// `chain entry 7`, a path under `objects/`.
    pub subject: String,
    /// What exactly is wrong.
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.kind.label(),
            self.subject,
            self.detail
        )
    }
}

/// What `verify` looked at.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifySummary {
    /// Objects re-hashed.
    pub objects: u64,
    /// Items in the catalog.
    pub items: u64,
    /// Sightings in the catalog.
    pub sightings: u64,
    /// Chain entries walked.
    pub chain_entries: u64,
    /// The chain head.
    pub head: Option<ChainHead>,
    /// Problems found.
    pub problems: u64,
    /// Intact objects no item refers to (or whose item says "hashes
    /// only"): left by a run that was killed between writing an object
    /// and committing its item. Harmless — nothing refers to them and
    /// their content matches their name — so not problems;
    /// `verify --repair` ([`repair`]) removes or adopts them.
    pub leftovers: Vec<Sha256>,
}

/// Verifies `archive`; each problem goes to `report` as it is found.
/// With `expected_head`, also checks that the chain contains that hash
/// (a head noted earlier, e.g. from a manifest's header).
///
/// # Errors
/// Only failures that stop the walk (the catalog cannot be read); every
/// problem with the data is reported, not returned.
pub fn verify(
    archive: &Archive,
    expected_head: Option<&Sha256>,
    report: &mut dyn FnMut(&Problem),
) -> Result<VerifySummary> {
    let conn = archive.catalog.conn();
    let mut summary = VerifySummary::default();
    let mut emit = |kind: ProblemKind, subject: String, detail: String| {
        summary.problems += 1;
        report(&Problem {
            kind,
            subject,
            detail,
        });
    };
    check_sqlite(conn, &mut emit)?;
    let (objects, leftovers) = check_objects(archive, &mut emit)?;
    summary.objects = objects;
    summary.leftovers = leftovers;
    check_stored_items(archive, &mut emit)?;
    let (entries, found_head) = check_chain(conn, expected_head, &mut emit)?;
    summary.chain_entries = entries;
    if let Some(h) = expected_head
        && !found_head
    {
        emit(
            ProblemKind::UnknownHead,
            format!("head {h}"),
            "not in this archive's chain: its history was rewritten since that head was noted, \
             or the head is from another archive"
                .to_string(),
        );
    }
    check_unchained(conn, &mut emit)?;
    let status = archive.catalog.status()?;
    summary.items = status.items;
    summary.sightings = status.sightings;
    summary.head = status.chain;
    Ok(summary)
}

type Emit<'a> = dyn FnMut(ProblemKind, String, String) + 'a;

fn check_sqlite(conn: &Connection, emit: &mut Emit<'_>) -> Result<()> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for r in rows.into_iter().filter(|r| r != "ok") {
        emit(ProblemKind::Catalog, "integrity_check".to_string(), r);
    }
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let rows: Vec<(String, Option<i64>, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (table, rowid, parent) in rows {
        emit(
            ProblemKind::Catalog,
            format!("{table} row {}", rowid.unwrap_or(-1)),
            format!("refers to a missing {parent} row"),
        );
    }
    Ok(())
}

/// Walks `objects/` in name order, re-hashing every object. Returns the
/// count and the intact objects nothing refers to.
fn check_objects(archive: &Archive, emit: &mut Emit<'_>) -> Result<(u64, Vec<Sha256>)> {
    let root = archive.dir().join("objects");
    let mut count = 0;
    let mut leftovers = Vec::new();
    let Ok(dirs) = sorted_entries(&root) else {
        return Ok((0, leftovers));
    };
    for (name, path) in dirs {
        let is_fan = name.len() == 2 && is_lower_hex(&name);
        if !is_fan || !path.is_dir() {
            emit(
                ProblemKind::StrayFile,
                rel(&path, archive.dir()),
                "not an object folder (objects/ holds two-hex-digit folders only)".to_string(),
            );
            continue;
        }
        let files = sorted_entries(&path).map_err(|e| Error::io(&path, e))?;
        for (rest, file) in files {
            let hex = format!("{name}{rest}");
            let sha: Option<Sha256> = (hex.len() == 64 && is_lower_hex(&hex))
                .then(|| hex.parse().ok())
                .flatten();
            let Some(sha) = sha.filter(|_| file.is_file()) else {
                emit(
                    ProblemKind::StrayFile,
                    rel(&file, archive.dir()),
                    "not an object (objects are named by their 64-hex-digit SHA-256)".to_string(),
                );
                continue;
            };
            count += 1;
            let intact = match fs::File::open(&file).and_then(Sha256::of_reader) {
                Err(e) => {
                    emit(
                        ProblemKind::AlteredObject,
                        sha.to_hex(),
                        format!("cannot be read: {e}"),
                    );
                    false
                }
                Ok(actual) if actual != sha => {
                    emit(
                        ProblemKind::AlteredObject,
                        sha.to_hex(),
                        format!("content hashes to {actual} ({})", rel(&file, archive.dir())),
                    );
                    false
                }
                Ok(_) => true,
            };
            if crate::store::corrections::is_redacted(archive.catalog.conn(), &sha)? {
                emit(
                    ProblemKind::RedactedObject,
                    sha.to_hex(),
                    format!(
                        "the item was redacted, but its bytes are in the store ({}); \
                         `verify --repair` removes them",
                        rel(&file, archive.dir())
                    ),
                );
                continue;
            }
            match archive.catalog.item_by_sha(&sha)? {
                None | Some(Item { stored: false, .. }) if intact => leftovers.push(sha),
                None => emit(
                    ProblemKind::StrayObject,
                    sha.to_hex(),
                    format!(
                        "in the store but no item has this SHA-256 ({})",
                        rel(&file, archive.dir())
                    ),
                ),
                Some(item) if !item.stored => emit(
                    ProblemKind::StrayObject,
                    sha.to_hex(),
                    "in the store but its item says hashes only (stored = 0)".to_string(),
                ),
                Some(_) => {}
            }
        }
    }
    Ok((count, leftovers))
}

/// Removes the leftovers of killed runs (intact objects no item refers
/// to) and adopts those whose item says "hashes only" (marks it stored).
/// Runs inside a catalog write transaction, so no writer is between
/// writing an object and committing its item meanwhile. Returns the
/// objects removed and adopted.
///
/// # Errors
/// I/O or catalog errors.
pub fn repair(archive: &mut Archive) -> Result<(Vec<Sha256>, Vec<Sha256>)> {
    let mut ignore = |_: ProblemKind, _: String, _: String| {};
    let redacted = redacted_objects(archive)?;
    let tx = archive.catalog.begin()?;
    let candidates = {
        let view = Archive {
            dir: archive.dir.clone(),
            catalog: crate::store::Catalog::open_read_only(
                &archive.dir.join(crate::store::CATALOG_FILE),
            )?,
            objects: archive.objects.clone(),
        };
        check_objects(&view, &mut ignore)?.1
    };
    let (mut removed, mut adopted) = (Vec::new(), Vec::new());
    for sha in redacted {
        archive.objects.remove(&sha)?;
        removed.push(sha);
    }
    for sha in candidates {
        match crate::store::catalog::item_by_sha(&tx, &sha)? {
            Some(item) => {
                crate::store::catalog::mark_stored(&tx, item.id)?;
                adopted.push(sha);
            }
            None => {
                archive.objects.remove(&sha)?;
                removed.push(sha);
            }
        }
    }
    tx.commit()?;
    Ok((removed, adopted))
}

/// Redacted items whose bytes are in the store again.
fn redacted_objects(archive: &Archive) -> Result<Vec<Sha256>> {
    let shas: Vec<String> = archive
        .catalog
        .conn()
        .prepare("SELECT i.sha256 FROM redaction r JOIN item i ON i.id = r.item_id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for hex in shas {
        let sha: Sha256 = hex.parse()?;
        if archive.objects.path_of(&sha).is_file() {
            out.push(sha);
        }
    }
    Ok(out)
}

fn check_stored_items(archive: &Archive, emit: &mut Emit<'_>) -> Result<()> {
    let mut stmt = archive
        .catalog
        .conn()
        .prepare("SELECT sha256 FROM item WHERE stored ORDER BY sha256")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let hex: String = r.get(0)?;
        let sha: Sha256 = hex.parse()?;
        let path = archive.objects.path_of(&sha);
        if !path.is_file() {
            emit(
                ProblemKind::MissingObject,
                hex,
                format!(
                    "the catalog says its bytes are stored, but {} is absent",
                    rel(&path, archive.dir())
                ),
            );
        }
    }
    Ok(())
}

/// Walks the chain; returns the number of entries and whether
/// `expected_head` was among their hashes.
fn check_chain(
    conn: &Connection,
    expected_head: Option<&Sha256>,
    emit: &mut Emit<'_>,
) -> Result<(u64, bool)> {
    let mut stmt = conn.prepare(
        "SELECT seq, kind, payload, prev, hash, sighting_id, import_id, correction_id, redaction_id
         FROM chain ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq: i64 = 1;
    let mut prev_hash: Option<String> = Some(GENESIS.to_hex());
    let mut entries = 0;
    let mut found_head = false;
    while let Some(r) = rows.next()? {
        entries += 1;
        let seq: i64 = r.get(0)?;
        let kind: String = r.get(1)?;
        let payload: String = r.get(2)?;
        let prev: String = r.get(3)?;
        let hash: String = r.get(4)?;
        let sighting_id: Option<i64> = r.get(5)?;
        let import_id: Option<i64> = r.get(6)?;
        let correction_id: Option<i64> = r.get(7)?;
        let redaction_id: Option<i64> = r.get(8)?;
        let subject = format!("chain entry {seq}");
        if seq != expected_seq {
            emit(
                ProblemKind::Chain,
                subject.clone(),
                if seq > expected_seq {
                    format!("entries {expected_seq} to {} are missing", seq - 1)
                } else {
                    format!("out of sequence (expected {expected_seq})")
                },
            );
        }
        expected_seq = seq + 1;
        if prev_hash.as_deref() != Some(prev.as_str()) {
            emit(
                ProblemKind::Chain,
                subject.clone(),
                format!(
                    "does not follow the previous entry (its prev is {prev}, the previous \
                     entry's hash is {}): entries removed, reordered or rewritten",
                    prev_hash.as_deref().unwrap_or("unreadable")
                ),
            );
        }
        let computed = prev
            .parse::<Sha256>()
            .ok()
            .map(|p| chain::entry_hash(&p, payload.as_bytes()).to_hex());
        if computed.as_deref() != Some(hash.as_str()) {
            emit(
                ProblemKind::Chain,
                subject.clone(),
                "its hash does not match its payload: the entry was edited".to_string(),
            );
        }
        if expected_head.is_some_and(|h| h.to_hex() == hash) {
            found_head = true;
        }
        prev_hash = Some(hash);
        let fields: Option<Map<String, Value>> = serde_json::from_str(&payload).ok();
        let Some(fields) = fields else {
            emit(
                ProblemKind::Chain,
                subject,
                "its payload is not a JSON object".to_string(),
            );
            continue;
        };
        let claimed_kind = fields.get("kind").and_then(Value::as_str).unwrap_or("");
        if claimed_kind != kind {
            emit(
                ProblemKind::Chain,
                subject.clone(),
                format!("kind column says {kind:?}, payload says {claimed_kind:?}"),
            );
        }
        match claimed_kind {
            KIND_SIGHTING => {
                let id = fields.get("sighting").and_then(Value::as_i64);
                if id.is_none() || id != sighting_id {
                    emit(
                        ProblemKind::Chain,
                        subject.clone(),
                        format!(
                            "refers to sighting {} but the entry's row link says {}",
                            id.map_or("?".to_string(), |i| format!("#{i}")),
                            sighting_id.map_or("none".to_string(), |i| format!("#{i}"))
                        ),
                    );
                }
                let Some(id) = id else { continue };
                match chain::sighting_payload(conn, id)? {
                    None => emit(
                        ProblemKind::SightingMissing,
                        format!("sighting #{id}"),
                        format!(
                            "recorded by {subject} (item {}) but no longer in the catalog",
                            fields.get("item").and_then(Value::as_str).unwrap_or("?")
                        ),
                    ),
                    Some(now) if now != payload => emit(
                        ProblemKind::SightingAltered,
                        format!("sighting #{id}"),
                        format!("differs from {subject}: {}", differences(&fields, &now)),
                    ),
                    Some(_) => {}
                }
            }
            KIND_IMPORT => {
                let id = fields.get("import").and_then(Value::as_i64);
                if id.is_none() || id != import_id {
                    emit(
                        ProblemKind::Chain,
                        subject.clone(),
                        "its import does not match the entry's row link".to_string(),
                    );
                }
                let Some(id) = id else { continue };
                match chain::import_payload(conn, id)? {
                    None => emit(
                        ProblemKind::ImportMissing,
                        format!("import #{id}"),
                        format!("recorded by {subject} but no longer in the catalog"),
                    ),
                    Some(now) if now != payload => emit(
                        ProblemKind::ImportAltered,
                        format!("import #{id}"),
                        format!("differs from {subject}: {}", differences(&fields, &now)),
                    ),
                    Some(_) => {}
                }
                if let Some(digest) = fields.get("hashes_digest").and_then(Value::as_str) {
                    let actual = exchange::listed_digest(conn, id)?;
                    if actual.to_hex() != digest {
                        emit(
                            ProblemKind::ImportAltered,
                            format!("import #{id}"),
                            format!(
                                "its listed hashes were changed since {subject} (digest \
                                 {actual}, chained {digest})"
                            ),
                        );
                    }
                }
            }
            KIND_CORRECTION | KIND_REDACTION => {
                let (key, linked, what) = if claimed_kind == KIND_CORRECTION {
                    ("correction", correction_id, "correction")
                } else {
                    ("redaction", redaction_id, "redaction")
                };
                let id = fields.get(key).and_then(Value::as_i64);
                if id.is_none() || id != linked {
                    emit(
                        ProblemKind::Chain,
                        subject.clone(),
                        format!("its {what} does not match the entry's row link"),
                    );
                }
                let Some(id) = id else { continue };
                let now = if claimed_kind == KIND_CORRECTION {
                    chain::correction_payload(conn, id)?
                } else {
                    chain::redaction_payload(conn, id)?
                };
                match now {
                    None => emit(
                        ProblemKind::CorrectionAltered,
                        format!("{what} #{id}"),
                        format!("recorded by {subject} but no longer in the catalog"),
                    ),
                    Some(now) if now != payload => emit(
                        ProblemKind::CorrectionAltered,
                        format!("{what} #{id}"),
                        format!("differs from {subject}: {}", differences(&fields, &now)),
                    ),
                    Some(_) => {}
                }
            }
            other => emit(
                ProblemKind::Chain,
                subject,
                format!("unknown entry kind {other:?}"),
            ),
        }
    }
    Ok((entries, found_head))
}

fn check_unchained(conn: &Connection, emit: &mut Emit<'_>) -> Result<()> {
    for (table, column, what) in [
        ("correction", "correction_id", "correction"),
        ("redaction", "redaction_id", "redaction"),
    ] {
        let ids: Vec<i64> = conn
            .prepare(&format!(
                "SELECT id FROM {table} WHERE id NOT IN
                   (SELECT {column} FROM chain WHERE {column} IS NOT NULL) ORDER BY id"
            ))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in ids {
            emit(
                ProblemKind::CorrectionAltered,
                format!("{what} #{id}"),
                "has no chain entry: it was added outside firstseen".to_string(),
            );
        }
    }
    let mut stmt = conn.prepare(
        "SELECT s.id, i.sha256 FROM sighting s LEFT JOIN item i ON i.id = s.item_id
         WHERE s.id NOT IN (SELECT sighting_id FROM chain WHERE sighting_id IS NOT NULL)
         ORDER BY s.id",
    )?;
    let rows: Vec<(i64, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, sha) in rows {
        emit(
            ProblemKind::SightingUnchained,
            format!("sighting #{id}"),
            format!(
                "of item {} has no chain entry: it was added outside firstseen",
                sha.as_deref().unwrap_or("(missing item)")
            ),
        );
    }
    let mut stmt = conn.prepare(
        "SELECT id FROM import_record
         WHERE id NOT IN (SELECT import_id FROM chain WHERE import_id IS NOT NULL) ORDER BY id",
    )?;
    let rows: Vec<i64> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in rows {
        emit(
            ProblemKind::ImportUnchained,
            format!("import #{id}"),
            "has no chain entry: it was added outside firstseen".to_string(),
        );
    }
    Ok(())
}

/// "caption: "a" in the chain, "b" in the catalog; …" for the fields
/// that differ between a chained payload and the row's payload now.
fn differences(chained: &Map<String, Value>, now: &str) -> String {
    let now: Map<String, Value> = serde_json::from_str(now).unwrap_or_default();
    let mut keys: Vec<&String> = chained.keys().chain(now.keys()).collect();
    keys.dedup();
    let mut seen = std::collections::BTreeSet::new();
    let mut parts = Vec::new();
    for k in keys {
        if !seen.insert(k) {
            continue;
        }
        let (a, b) = (chained.get(k), now.get(k));
        if a != b {
            parts.push(format!(
                "{k}: {} in the chain, {} in the catalog",
                short_json(a),
                short_json(b)
            ));
        }
    }
    if parts.is_empty() {
        "its canonical form changed".to_string()
    } else {
        parts.join("; ")
    }
}

fn short_json(v: Option<&Value>) -> String {
    const MAX: usize = 80;
    let s = v.map_or("(absent)".to_string(), Value::to_string);
    if s.chars().count() > MAX {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    } else {
        s
    }
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(String, std::path::PathBuf)>> {
    let mut v: Vec<(String, std::path::PathBuf)> = fs::read_dir(dir)?
        .filter_map(std::result::Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    v.sort();
    Ok(v)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The file beside the catalog that holds the last full verify's result.
pub const LAST_VERIFY_FILE: &str = "last-verify.json";

/// The outcome of the last full `verify`, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LastVerify {
    /// When it finished (UTC).
    pub at: String,
    /// Problems found (the index's included).
    pub problems: u64,
    /// Items then.
    pub items: u64,
    /// Sightings then.
    pub sightings: u64,
    /// Chain entries walked.
    pub chain_entries: u64,
    /// The chain head then.
    pub head: Option<String>,
}

impl LastVerify {
    /// Writes it beside the catalog (a temporary file renamed over the
    /// last one, so a reader sees the old result or the new one).
    ///
    /// # Errors
    /// I/O errors.
    pub fn record(&self, archive_dir: &Path) -> Result<()> {
        let tmp = archive_dir
            .join("tmp")
            .join(format!("last-verify.{}.json", std::process::id()));
        let text = serde_json::to_vec_pretty(self).map_err(|e| Error::Invalid {
            what: "verify result",
            reason: e.to_string(),
        })?;
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        let to = archive_dir.join(LAST_VERIFY_FILE);
        std::fs::rename(&tmp, &to).map_err(|e| Error::io(&to, e))
    }

    /// The last recorded result; `None` when there is none (or it cannot
    /// be read: it is a note, not a record).
    pub fn read(archive_dir: &Path) -> Option<LastVerify> {
        let text = std::fs::read(archive_dir.join(LAST_VERIFY_FILE)).ok()?;
        if text.len() > 1 << 16 {
            return None;
        }
        serde_json::from_slice(&text).ok()
    }
}
