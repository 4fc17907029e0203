//! `firstseen import`: merge another archive's manifest, or a hash list
//! from another system.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use firstseen::Archive;
use firstseen::manifest::{self, ImportOutcome, hashlist};
use firstseen::pipeline::Progress as _;
use serde_json::json;

use super::output::{clean, outln, print_json};
use super::{Context, EXIT_OK};

/// Merge a manifest (from `firstseen export`) into the archive, or add a
/// list of PDQ hashes from another system.
///
/// A manifest's items are matched by SHA-256 (new ones are kept as
/// hashes only, without bytes) and its sightings are added unless the
/// item already has an identical one; each imported sighting remembers
/// the manifest it came from (shown by `show`). A hash list's hashes are
/// known without any file: `check` reports a match with the list's name.
///
/// All or nothing: a malformed file changes nothing, and the error names
/// the line and field. Every import is recorded in the hash chain.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest (or with --hash-list, the list); `-` reads standard
    /// input.
    #[arg(value_name = "FILE", required_unless_present = "hash_list")]
    file: Option<PathBuf>,

    /// A list of PDQ hashes: one per line (64 hex digits, optionally
    /// followed by a quality), or CSV whose header names the hash column
    /// (pdq, hash, pdq_hash, signal_value, …) and optionally a quality
    /// column.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "file",
        requires = "source"
    )]
    hash_list: Option<PathBuf>,

    /// With --hash-list: the list's name, reported by `check` when a file
    /// matches one of its hashes.
    #[arg(long, value_name = "NAME", requires = "hash_list")]
    source: Option<String>,
}

fn open_input(path: &Path) -> anyhow::Result<(Box<dyn BufRead>, String)> {
    if path == Path::new("-") {
        return Ok((Box::new(std::io::stdin().lock()), "stdin".to_string()));
    }
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok((
        Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
        name,
    ))
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let dir = ctx.archive_dir()?;
    if let Some(list) = &args.hash_list {
        let source = args.source.as_deref().unwrap_or_default();
        hashlist::check_list_name(source)?;
        let (input, name) = open_input(list)?;
        let mut archive =
            Archive::create(&dir).with_context(|| format!("opening archive {}", dir.display()))?;
        let (outcome, stats) =
            hashlist::import(&mut archive.catalog, input, source, Some(&name))
                .with_context(|| format!("{}: nothing was imported", list.display()))?;
        report(&outcome, ctx, Some(stats))?;
        return Ok(EXIT_OK);
    }
    let file = args.file.as_deref().unwrap_or(Path::new("-"));
    let (input, name) = open_input(file)?;
    let mut archive =
        Archive::create(&dir).with_context(|| format!("opening archive {}", dir.display()))?;
    let outcome = manifest::import(&mut archive.catalog, input, &name)
        .with_context(|| format!("{}: nothing was imported", file.display()))?;
    // The catalog holds the import already; the index catches up later
    // by itself if this fails.
    let bar = super::progress::Bar::new("importing");
    let _ = firstseen::matching::update_index(&archive, &mut |d, t| bar.indexing(d, t));
    report(&outcome, ctx, None)?;
    Ok(EXIT_OK)
}

fn report(
    o: &ImportOutcome,
    ctx: &Context,
    list: Option<hashlist::ListStats>,
) -> anyhow::Result<()> {
    for w in &o.warnings {
        eprintln!("firstseen: warning: {w}");
    }
    if ctx.json {
        print_json(&json!({
            "import": o.record,
            "links": o.links,
            "list": list,
            "chain": o.chain,
            "warnings": o.warnings,
        }))?;
        return Ok(());
    }
    let c = &o.record.counts;
    match list {
        Some(stats) => outln!(
            "imported hash list \"{}\" from {}: {} new hash(es), {} already listed ({} read)",
            clean(&o.record.name),
            clean(o.record.file_name.as_deref().unwrap_or("?")),
            c.hashes_new,
            c.hashes_known,
            stats.entries
        ),
        None => outln!(
            "imported {}: {} new item(s) (hashes only), {} already known; {} new sighting(s), \
             {} already recorded",
            clean(&o.record.name),
            c.items_new,
            c.items_known,
            c.sightings_new,
            c.sightings_known
        ),
    }
    if let Some(h) = &o.record.chain_head {
        outln!("manifest chain head  {} ({} entries)", h.hash, h.length);
    }
    outln!(
        "archive chain head   {} ({} entries)",
        o.chain.hash,
        o.chain.length
    );
    Ok(())
}
