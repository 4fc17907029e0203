//! `firstseen sight`: record that a known item was seen again, without
//! its file.

use firstseen::Archive;
use serde_json::json;

use super::output::{outln, print_json, short, sighting_line};
use super::{Context, EXIT_NOT_FOUND, EXIT_OK};

/// Record a sighting of an archived item without the file: it was seen
/// again at SOURCE (a post, a page) with this caption. Chained like every
/// sighting.
///
/// Exit status: 0 when recorded (or already recorded), 1 when there is no
/// such item, 2 on error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The item's SHA-256, or a unique prefix of it (at least 4 hex
    /// characters).
    #[arg(value_name = "ITEM")]
    item: String,

    /// Where it was seen (URL or description).
    #[arg(long, value_name = "URL", required = true)]
    source: String,

    /// What the post claimed.
    #[arg(long, value_name = "TEXT")]
    caption: Option<String>,

    /// When it was first seen there: a date (2026-01-27) or an RFC 3339
    /// timestamp.
    #[arg(long, value_name = "DATE")]
    first_seen: Option<String>,

    /// A free-form note kept with the sighting.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let sighting = super::output::new_sighting(
        Some(args.source),
        args.caption,
        args.first_seen.as_deref(),
        args.note,
    )?;
    let mut archive = Archive::open_for_writing(&ctx.archive_dir()?)?;
    let Some(item) = super::output::find_item(&archive.catalog, &args.item)? else {
        return Ok(EXIT_NOT_FOUND);
    };
    let id = archive.add_sighting(item.id, &sighting)?;
    let all = archive.catalog.sightings(item.id)?;
    let recorded = id.and_then(|id| all.iter().find(|s| s.id == id));
    if ctx.json {
        print_json(&json!({
            "item": item.sha256,
            "result": if id.is_some() { "new_sighting" } else { "already_recorded" },
            "sighting": recorded,
            "sightings": all.len(),
        }))?;
    } else {
        match recorded {
            Some(s) => outln!(
                "seen again {}  {} ({} sightings)",
                short(&item.sha256),
                sighting_line(s),
                all.len()
            ),
            None => outln!("unchanged  {}  (already recorded)", short(&item.sha256)),
        }
    }
    Ok(EXIT_OK)
}
