//! `firstseen show`: one item, its variants and all its sightings.

use super::output::{outln, print_json, short, sighting_line};
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
    let Some(item) = super::output::find_item(&archive.catalog, &args.item)? else {
        return Ok(EXIT_NOT_FOUND);
    };
    if ctx.json {
        print_json(&firstseen::shapes::item(&archive, &item)?)?;
        return Ok(EXIT_OK);
    }
    let sightings = archive.catalog.all_sightings(item.id)?;
    let redaction = archive.catalog.redaction(item.id)?;
    let video = archive.catalog.video(item.id)?;
    let frames = archive.catalog.frames(item.id)?;
    let variants = archive.catalog.variants(item.id)?;
    let imports: std::collections::HashMap<i64, firstseen::store::exchange::ImportRecord> = archive
        .catalog
        .sighting_imports(item.id)?
        .into_iter()
        .collect();
    let object = archive.objects.path_of(&item.sha256);
    outln!("item      {}", item.sha256);
    let dims = match (item.width, item.height) {
        (Some(w), Some(h)) => format!(" {w}x{h}"),
        _ => String::new(),
    };
    let size = item
        .byte_size
        .map(|b| format!(", {b} bytes"))
        .unwrap_or_default();
    outln!("media     {} {}{dims}{size}", item.media_type, item.format);
    if let Some(pdq) = &item.pdq {
        outln!("pdq       {} (quality {})", pdq.hash, pdq.quality);
    }
    if let (Some(p), Some(d)) = (&item.phash, &item.dhash) {
        outln!("phash     {p}   dhash {d}");
    }
    outln!(
        "stored    {}",
        if item.stored {
            object.display().to_string()
        } else {
            "no (hashes only)".to_string()
        }
    );
    if let Some(r) = &redaction {
        outln!(
            "redacted  {}: {} (hashes and sightings kept)",
            r.made_at,
            super::output::clean(&r.reason)
        );
    }
    outln!("added     {}", item.added_at);
    for line in item.warnings.iter().flat_map(|w| w.lines()) {
        outln!("warning   {}", super::output::clean(line));
    }
    if let Some(v) = &video {
        outln!(
            "video     {} {}, {:.1} s, {} frames decoded, {} sampled, {} kept (decoded by {})",
            v.container,
            v.codec,
            v.duration_secs,
            v.frames_decoded,
            v.frames_sampled,
            v.frames_kept,
            v.decoder
        );
        if let Some(w) = &v.warnings {
            for line in w.lines() {
                outln!("warning   {}", super::output::clean(line));
            }
        }
        outln!("\nframes ({}):", frames.len());
        for f in &frames {
            outln!(
                "  {:>8.3}–{:<8.3} {}  quality {}",
                f.start_secs,
                f.end_secs,
                f.pdq.hash,
                f.pdq.quality
            );
        }
    }
    if let Some(first) = sightings.iter().find(|s| s.retracted.is_none()) {
        outln!("earliest  {}", sighting_line(first));
    }
    outln!("\nsightings ({}), oldest first:", sightings.len());
    for s in &sightings {
        outln!("  #{:<4} {}", s.id, sighting_line(s));
        for line in super::output::correction_lines(s) {
            outln!("    {line}");
        }
        let mut extra = vec![format!("archived {}", s.archived_at)];
        if let Some(f) = &s.file_name {
            extra.push(format!("file {}", super::output::clean(f)));
        }
        if let Some(n) = &s.note {
            extra.push(format!("note: {}", super::output::clean(n)));
        }
        outln!("    {}", extra.join("; "));
        if let Some(r) = imports.get(&s.id) {
            let head = r
                .chain_head
                .map(|h| format!(", its chain head {} ({} entries)", h.hash, h.length))
                .unwrap_or_default();
            outln!(
                "    imported {} from {} {}{head}",
                r.imported_at,
                r.kind.name(),
                super::output::clean(&r.name)
            );
        }
    }
    if !variants.is_empty() {
        outln!("\nnear-duplicate variants ({}):", variants.len());
        for v in &variants {
            outln!("  {}  {}", short(&v.sha256), variant_text(v));
        }
    }
    Ok(EXIT_OK)
}

/// A variant link in words, from the later copy's side: what the copy
/// did to the picture it matched.
fn variant_text(v: &firstseen::store::VariantLink) -> String {
    use firstseen::hash::Dihedral;
    use firstseen::store::LinkSide;
    // `relation` is how the other picture relates to this one; what the
    // copy did is that seen from the copy.
    let done = match v.side {
        LinkSide::CopyOf => v.relation.inverse(),
        LinkSide::CopiedAs => v.relation,
    };
    let what = match (&v.detail, done) {
        (Some(d), _) => super::output::clean(d),
        (None, Dihedral::Original) => "the same picture, re-encoded or resized".to_string(),
        (None, r) => firstseen::report::wording::relation(r).to_string(),
    };
    match v.side {
        LinkSide::CopyOf => format!(
            "this item is a later copy of it: {what} (PDQ distance {})",
            v.distance
        ),
        LinkSide::CopiedAs => format!(
            "a later copy of this item: {what} (PDQ distance {})",
            v.distance
        ),
    }
}
