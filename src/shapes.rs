//! The JSON shapes the front ends print: one shape for one thing, so
//! `firstseen show ITEM --json` and the web app's `GET /api/item/ITEM`
//! answer alike. Each function takes what the library computed and
//! returns the value both print; neither front end builds these itself.

use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::Result;
use crate::pipeline::{CheckSummary, Summary};
use crate::store::search::SearchResults;
use crate::store::{Archive, Item};

/// An item, as `show --json` prints it: the item, where its bytes are,
/// every sighting oldest first (with corrections and the import it came
/// from), its redaction, variants, and for a video its facts and frames.
///
/// # Errors
/// Catalog errors.
pub fn item(archive: &Archive, item: &Item) -> Result<Value> {
    let catalog = &archive.catalog;
    let sightings = catalog.all_sightings(item.id)?;
    let redaction = catalog.redaction(item.id)?;
    let video = catalog.video(item.id)?;
    let frames = catalog.frames(item.id)?;
    let variants = catalog.variants(item.id)?;
    let imports: std::collections::HashMap<i64, crate::store::exchange::ImportRecord> =
        catalog.sighting_imports(item.id)?.into_iter().collect();
    let variants: Vec<_> = variants
        .iter()
        .map(|v| {
            json!({
                "sha256": v.sha256,
                "distance": v.distance,
                "relation": v.relation,
                "relation_text": crate::report::wording::relation(v.relation),
                "detail": v.detail,
                "side": v.side,
            })
        })
        .collect();
    let sightings: Vec<_> = sightings
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["imported_from"] = json!(imports.get(&s.id));
            v
        })
        .collect();
    Ok(json!({
        "item": item,
        "object": item.stored.then(|| archive.objects.path_of(&item.sha256)),
        "sightings": sightings,
        "redaction": redaction,
        "variants": variants,
        "video": video,
        "frames": frames,
    }))
}

/// A page of search results, as `search --json` prints it.
pub fn search(found: &SearchResults, offset: usize) -> Value {
    let items: Vec<_> = found
        .hits
        .iter()
        .map(|h| {
            json!({
                "item": h.item,
                "earliest": h.earliest,
                "matching_sightings": h.matching,
                "sightings": h.sightings,
            })
        })
        .collect();
    json!({
        "items": items,
        "summary": {
            "shown": found.hits.len(),
            "offset": offset,
            "more": found.more,
        },
    })
}

/// The archive's counts, chain head and last full verify, as `status
/// --json` prints it.
///
/// # Errors
/// Catalog errors.
pub fn status(archive: &Archive) -> Result<Value> {
    Ok(json!({
        "archive": archive.dir(),
        "status": archive.catalog.status()?,
        "last_verify": crate::store::verify::LastVerify::read(archive.dir()),
    }))
}

/// A `check` batch: each file's outcome, the totals, the thresholds.
pub fn check(
    files: Vec<Value>,
    summary: &CheckSummary,
    max_distance: u32,
    min_quality: u8,
) -> Value {
    json!({
        "files": files,
        "summary": summary,
        "thresholds": {"max_distance": max_distance, "min_quality": min_quality},
    })
}

/// An `archive` batch: each file's outcome and the totals.
pub fn archive(dir: &Path, files: Vec<Value>, summary: &Summary) -> Value {
    json!({
        "archive": dir,
        "files": files,
        "summary": summary,
    })
}

/// One file's outcome, or anything else serialisable, as a value (a
/// value that cannot be serialised becomes `null`, never a panic).
pub fn value(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}
