//! `firstseen verify`: prove the archive has not been altered.

use firstseen::hash::Sha256;
use firstseen::store::verify;
use serde_json::json;

use super::output::{clean, outln, print_json};
use super::{Context, EXIT_NOT_FOUND, EXIT_OK};

/// Check the archive: re-hash every stored object against its name,
/// compare the catalog with the store (missing, altered and stray
/// objects), and walk the hash chain (each entry's hash and link, and
/// that every sighting and import still says what was chained, so an
/// edited, deleted or reordered sighting is caught), and compare the hash
/// index with the catalog (rebuilding it when it differs). Each problem is
/// printed on one line. Nothing is modified, unless `--repair`.
///
/// An intact object that no item refers to is the leftover of a run
/// killed between writing it and committing its item: harmless, listed
/// as a note, not a problem. `--repair` removes such leftovers (or, when
/// the item exists but says "hashes only", marks it stored).
///
/// Exit status: 0 when everything checks out, 1 when problems were
/// found, 2 when the archive cannot be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also check that the chain contains this head (from an earlier
    /// `status` or a manifest's header): a chain rewritten since then
    /// does not.
    #[arg(long, value_name = "HEAD")]
    head: Option<Sha256>,
    /// Remove (or adopt) the objects left by interrupted runs, then
    /// verify.
    #[arg(long)]
    repair: bool,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let mut repaired = json!(null);
    if args.repair {
        let mut archive = firstseen::Archive::create(&ctx.archive_dir()?)?;
        let (removed, adopted) = verify::repair(&mut archive)?;
        if !ctx.json {
            for s in &removed {
                outln!(
                    "repaired: removed {s}, an object no item refers to (left by an interrupted run)"
                );
            }
            for s in &adopted {
                outln!("repaired: {s} is stored again (its object was left by an interrupted run)");
            }
        }
        repaired = json!({"removed": removed, "adopted": adopted});
    }
    let archive = ctx.open_archive()?;
    let checked = firstseen::matching::verify_archive(&archive, args.head.as_ref(), &mut |p| {
        if !ctx.json {
            outln!("{}", clean(&p.to_string()));
        }
    })?;
    let (problems, summary, index) = (checked.problems, checked.summary, checked.index);
    if ctx.json {
        print_json(&json!({
            "ok": problems.is_empty(),
            "problems": problems,
            "summary": summary,
            "index": index,
            "repaired": repaired
        }))?;
    } else {
        let head = summary.head.map_or("(empty)".to_string(), |h| {
            format!("{} ({} entries)", h.hash, h.length)
        });
        let verdict = if problems.is_empty() {
            "OK".to_string()
        } else {
            format!("{} PROBLEM(S)", problems.len())
        };
        for s in &summary.leftovers {
            outln!(
                "note: object {s} is intact but no item refers to it: left by an interrupted run, \
                 harmless (`verify --repair` removes it)"
            );
        }
        outln!(
            "{verdict}: {} object(s) re-hashed, {} item(s), {} sighting(s), {} chain entries, \
             {} hash(es) indexed; chain head {head}",
            summary.objects,
            summary.items,
            summary.sightings,
            summary.chain_entries,
            index.hashes
        );
    }
    Ok(if problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_NOT_FOUND
    })
}
