//! `firstseen amend`, `retract` and `redact`: corrections appended to the
//! record, never edits of it.

use firstseen::Archive;
use firstseen::store::corrections::Field;
use serde_json::json;

use super::output::{outln, print_json, short, sighting_line};
use super::{Context, EXIT_NOT_FOUND, EXIT_OK};

/// Correct a sighting's source, caption or first-seen date. The
/// correction is recorded (and chained) beside the original, which stays
/// visible as corrected in `show`, `report` and `export`. An empty value
/// clears a field.
#[derive(Debug, clap::Args)]
pub struct AmendArgs {
    /// The sighting's number, as `show ITEM` lists it (`#12` or `12`).
    #[arg(value_name = "SIGHTING")]
    sighting: String,

    /// The corrected source.
    #[arg(long, value_name = "URL")]
    source: Option<String>,

    /// The corrected caption.
    #[arg(long, value_name = "TEXT")]
    caption: Option<String>,

    /// The corrected first-seen date (2026-01-27 or an RFC 3339 time).
    #[arg(long, value_name = "DATE")]
    first_seen: Option<String>,

    /// Why it is corrected.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
}

/// Retract a sighting recorded in error: it stays in the record, marked
/// retracted with the reason, and no longer counts (not as the earliest
/// appearance, not in matches).
#[derive(Debug, clap::Args)]
pub struct RetractArgs {
    /// The sighting's number, as `show ITEM` lists it.
    #[arg(value_name = "SIGHTING")]
    sighting: String,

    /// Why it is retracted.
    #[arg(long, value_name = "TEXT", required = true)]
    reason: String,
}

/// Remove an item's stored bytes (a legal request, graphic content),
/// keeping its hashes, sightings and links so it is still recognised,
/// with a chained record of when and why. The same bytes archived again
/// are not stored again.
#[derive(Debug, clap::Args)]
pub struct RedactArgs {
    /// The item's SHA-256, or a unique prefix of it.
    #[arg(value_name = "ITEM")]
    item: String,

    /// Why the bytes are removed.
    #[arg(long, value_name = "TEXT", required = true)]
    reason: String,
}

fn sighting_id(s: &str) -> anyhow::Result<i64> {
    s.trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            anyhow::anyhow!("{s:?} is not a sighting number (`show ITEM` lists them, e.g. #12)")
        })
}

fn open(ctx: &Context) -> anyhow::Result<Archive> {
    Ok(Archive::open_for_writing(&ctx.archive_dir()?)?)
}

pub fn amend(args: AmendArgs, ctx: &Context) -> anyhow::Result<u8> {
    let id = sighting_id(&args.sighting)?;
    let changes: Vec<(Field, Option<String>)> = [
        (Field::Source, args.source),
        (Field::Caption, args.caption),
        (Field::FirstSeen, args.first_seen),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.map(|v| (f, Some(v))))
    .collect();
    if changes.is_empty() {
        anyhow::bail!("nothing to amend: give --source, --caption or --first-seen");
    }
    let mut archive = open(ctx)?;
    let made = archive.amend(id, &changes, args.reason.as_deref())?;
    let now = archive.catalog.sighting(id)?;
    if ctx.json {
        print_json(&json!({"sighting": now, "corrections": made}))?;
    } else if made.is_empty() {
        outln!("unchanged  #{id}  (already says so)");
    } else {
        outln!("amended    #{id}  {}", sighting_line(&now));
    }
    Ok(EXIT_OK)
}

pub fn retract(args: RetractArgs, ctx: &Context) -> anyhow::Result<u8> {
    let id = sighting_id(&args.sighting)?;
    let mut archive = open(ctx)?;
    let made = archive.retract(id, &args.reason)?;
    let now = archive.catalog.sighting(id)?;
    if ctx.json {
        print_json(&json!({"sighting": now, "corrections": [made]}))?;
    } else {
        outln!("retracted  #{id}  {}", sighting_line(&now));
    }
    Ok(EXIT_OK)
}

pub fn redact(args: RedactArgs, ctx: &Context) -> anyhow::Result<u8> {
    let mut archive = open(ctx)?;
    let Some(item) = super::output::find_item(&archive.catalog, &args.item)? else {
        return Ok(EXIT_NOT_FOUND);
    };
    archive.redact(item.id, &args.reason)?;
    let redaction = archive.catalog.redaction(item.id)?;
    if ctx.json {
        print_json(&json!({"item": item.sha256, "redaction": redaction}))?;
    } else {
        outln!(
            "redacted   {}  stored bytes removed; hashes and sightings kept",
            short(&item.sha256)
        );
    }
    Ok(EXIT_OK)
}
