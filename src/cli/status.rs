//! `firstseen status`: what the archive holds, and its chain head.

use super::output::{outln, print_json};
use super::{Context, EXIT_OK};

/// Show counts (items, sightings, imports, listed hashes), the hash
/// chain's head and when `verify` last ran, with what it found. Note the
/// head: `firstseen verify --head HEAD` later proves that nothing
/// recorded up to it was changed since.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let archive = ctx.open_archive()?;
    if ctx.json {
        print_json(&firstseen::shapes::status(&archive)?)?;
        return Ok(EXIT_OK);
    }
    let s = archive.catalog.status()?;
    outln!("archive        {}", archive.dir().display());
    outln!(
        "items          {} ({} stored, {} hashes only; {} video(s))",
        s.items,
        s.items_stored,
        s.items - s.items_stored.min(s.items),
        s.videos
    );
    outln!(
        "sightings      {} ({} imported)",
        s.sightings,
        s.sightings_imported
    );
    outln!("variant links  {}", s.variant_links);
    outln!("imports        {}", s.imports);
    outln!(
        "listed hashes  {} in {} list(s)",
        s.listed_hashes,
        s.hash_lists
    );
    match s.chain {
        Some(h) => outln!("chain head     {} ({} entries)", h.hash, h.length),
        None => outln!("chain head     (empty: nothing recorded yet)"),
    }
    match firstseen::store::verify::LastVerify::read(archive.dir()) {
        Some(v) if v.problems == 0 => outln!("last verify    {}: no problems", v.at),
        Some(v) => outln!("last verify    {}: {} problem(s)", v.at, v.problems),
        None => outln!("last verify    never"),
    }
    Ok(EXIT_OK)
}
