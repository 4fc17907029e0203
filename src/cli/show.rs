//! `firstseen show`: one item, its variants and all its sightings.

use firstseen::Error;
use serde_json::json;

use super::output::{print_json, short, sighting_line};
use super::{Context, EXIT_NOT_FOUND, EXIT_OK};

/// Show an archived item: hashes, size, near-duplicate variants and every
/// sighting, oldest first.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The item's SHA-256, or a unique prefix of it (at least 4 hex
    /// characters), as printed by `archive`, `check` and `log`.
    #[arg(value_name = "ITEM")]
    item: String,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let archive = ctx.open_archive()?;
    let item = match archive.catalog.resolve(&args.item) {
        Ok(i) => i,
        Err(e @ Error::UnknownItem(_)) => {
            eprintln!("firstseen: {e}");
            return Ok(EXIT_NOT_FOUND);
        }
        Err(e) => return Err(e.into()),
    };
    let sightings = archive.catalog.sightings(item.id)?;
    let variants = archive.catalog.variants(item.id)?;
    let object = archive.objects.path_of(&item.sha256);
    if ctx.json {
        let variants: Vec<_> = variants
            .iter()
            .map(|v| {
                json!({
                    "sha256": v.sha256,
                    "distance": v.distance,
                    "relation": v.relation,
                    "relation_text": v.relation.describe(),
                })
            })
            .collect();
        print_json(&json!({
            "item": item,
            "object": item.stored.then_some(object),
            "sightings": sightings,
            "variants": variants,
        }))?;
        return Ok(EXIT_OK);
    }
    println!("item      {}", item.sha256);
    let dims = match (item.width, item.height) {
        (Some(w), Some(h)) => format!(" {w}x{h}"),
        _ => String::new(),
    };
    let size = item
        .byte_size
        .map(|b| format!(", {b} bytes"))
        .unwrap_or_default();
    println!("media     {} {}{dims}{size}", item.media_type, item.format);
    if let Some(pdq) = &item.pdq {
        println!("pdq       {} (quality {})", pdq.hash, pdq.quality);
    }
    if let (Some(p), Some(d)) = (&item.phash, &item.dhash) {
        println!("phash     {p}   dhash {d}");
    }
    println!(
        "stored    {}",
        if item.stored {
            object.display().to_string()
        } else {
            "no (hashes only)".to_string()
        }
    );
    println!("added     {}", item.added_at);
    if let Some(first) = sightings.first() {
        println!("earliest  {}", sighting_line(first));
    }
    println!("\nsightings ({}), oldest first:", sightings.len());
    for s in &sightings {
        println!("  {}", sighting_line(s));
        let mut extra = vec![format!("archived {}", s.archived_at)];
        if let Some(f) = &s.file_name {
            extra.push(format!("file {}", super::output::clean(f)));
        }
        if let Some(n) = &s.note {
            extra.push(format!("note: {}", super::output::clean(n)));
        }
        println!("    {}", extra.join("; "));
    }
    if !variants.is_empty() {
        println!("\nnear-duplicate variants ({}):", variants.len());
        for v in &variants {
            println!(
                "  {}  {}, PDQ distance {}",
                short(&v.sha256),
                v.relation.describe(),
                v.distance
            );
        }
    }
    Ok(EXIT_OK)
}
