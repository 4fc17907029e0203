//! `firstseen log`: sightings, newest first.

use serde_json::json;

use super::output::{outln, print_json, short, sighting_line};
use super::{Context, EXIT_OK};

/// List sightings, most recently archived first.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show at most N sightings.
    #[arg(short = 'n', long, value_name = "N")]
    limit: Option<u64>,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let archive = ctx.open_archive()?;
    let rows = archive.catalog.log(args.limit)?;
    if ctx.json {
        let rows: Vec<_> = rows
            .iter()
            .map(|(s, sha)| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["sha256"] = json!(sha);
                v
            })
            .collect();
        print_json(&json!({ "sightings": rows }))?;
        return Ok(EXIT_OK);
    }
    for (s, sha) in &rows {
        outln!("{}  {}  {}", s.archived_at, short(sha), sighting_line(s));
    }
    if rows.is_empty() {
        eprintln!("no sightings recorded yet");
    }
    Ok(EXIT_OK)
}
