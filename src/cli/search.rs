//! `firstseen search`: find archived items again by what was said about
//! them.

use firstseen::store::search::{SearchQuery, parse_date};

use super::output::{clean, outln, print_json, short, sighting_line};
use super::{Context, EXIT_NOT_FOUND, EXIT_OK};

/// Media kinds to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Photos and other still pictures.
    Image,
    /// Videos and animations.
    Video,
}

/// Search the archive: words in captions, sources, notes and file names
/// (case and accents ignored; `word*` matches a prefix), filtered by
/// source, caption, date and kind. One line per item with its earliest
/// sighting; items seen most recently first (`--oldest`: first seen
/// first).
///
/// Exit status: 0 when something is found, 1 when nothing is, 2 on error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Words that must all appear in a sighting's caption, source, note
    /// or file name.
    #[arg(value_name = "TEXT")]
    text: Vec<String>,

    /// Only sightings whose source contains this text (e.g. a domain).
    #[arg(long, value_name = "TEXT")]
    source: Option<String>,

    /// Only sightings whose caption holds these words.
    #[arg(long, value_name = "WORDS")]
    caption: Option<String>,

    /// Only sightings dated on or after DATE (first-seen, else archived).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,

    /// Only sightings dated on or before DATE (a date includes its day).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,

    /// Only photos or only videos.
    #[arg(long, value_enum)]
    kind: Option<Kind>,

    /// Oldest first (by the dates of the matching sightings).
    #[arg(long)]
    oldest: bool,

    /// At most N items.
    #[arg(long, short = 'n', value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,

    /// Skip the first N items (for the next page).
    #[arg(long, value_name = "N", default_value_t = 0)]
    offset: usize,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let text = (!args.text.is_empty()).then(|| args.text.join(" "));
    let query = SearchQuery {
        text,
        source: args.source,
        caption: args.caption,
        since: args
            .since
            .as_deref()
            .map(|d| parse_date("--since", d))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|d| parse_date("--until", d))
            .transpose()?,
        media_type: args.kind.map(|k| match k {
            Kind::Image => "image".to_string(),
            Kind::Video => "video".to_string(),
        }),
        oldest_first: args.oldest,
        limit: args.limit as usize,
        offset: args.offset,
    };
    let archive = ctx.open_archive()?;
    let found = archive.catalog.search(&query)?;
    if ctx.json {
        print_json(&firstseen::shapes::search(&found, args.offset))?;
    } else {
        for h in &found.hits {
            let dims = match (h.item.width, h.item.height) {
                (Some(w), Some(h)) => format!(" {w}x{h}"),
                _ => String::new(),
            };
            outln!(
                "{}  [{}{dims}]  {}  ({} of {} sighting(s) match)",
                short(&h.item.sha256),
                clean(&h.item.format),
                sighting_line(&h.earliest),
                h.matching,
                h.sightings
            );
        }
        if !super::output::quiet() {
            let shown = found.hits.len();
            if found.more {
                eprintln!(
                    "{shown} item(s) shown, more match; next page: --offset {}",
                    args.offset + shown
                );
            } else {
                eprintln!("{shown} item(s) found");
            }
        }
    }
    Ok(if found.hits.is_empty() && !found.more {
        EXIT_NOT_FOUND
    } else {
        EXIT_OK
    })
}
