//! `firstseen archive`: hash files, keep them, record where they were seen.

use std::path::PathBuf;

use anyhow::Context as _;
use firstseen::matching::Matcher;
use firstseen::pipeline::{self, ArchiveOptions, ArchiveOutcome, Options, Progress as _};
use firstseen::report::wording;
use firstseen::{Archive, walk};

use super::output::{Tone, clean, outln, paint, print_json, short};
use super::progress::Bar;
use super::{Context, EXIT_ERROR, EXIT_OK};

/// Archive photos: hash them, copy them into the archive and record a
/// sighting (source, caption, first-seen) for each.
///
/// Folders are walked recursively; files are recognised by content, and
/// files in folders that are not images are skipped. Archiving the same
/// bytes again adds a sighting to the existing item. A new item close to
/// an archived one (PDQ distance ≤ 31, mirrors and rotations included) is
/// linked to it as a near-duplicate variant.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to archive; `-` reads paths from standard input,
    /// one per line.
    #[arg(required_unless_present = "from_csv", value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Also archive the files listed in this CSV file, each with its own
    /// sighting: rows `path,source,caption,first_seen,note` (a first row
    /// naming the columns may reorder or omit them; relative paths are
    /// from the CSV's folder). A row's fields win over the options below.
    #[arg(long, value_name = "FILE")]
    from_csv: Option<PathBuf>,

    /// Ignore downloaders' sidecars. By default, `NAME.info.json` beside
    /// `NAME.mp4` (yt-dlp) or `photo.jpg.json` beside `photo.jpg`
    /// (gallery-dl) fills in the source, caption, first-seen and uploader
    /// not given here.
    #[arg(long)]
    no_sidecars: bool,

    /// Where this copy was found (URL or description).
    #[arg(long, value_name = "URL")]
    source: Option<String>,

    /// What the post claimed: the caption or headline that came with it.
    #[arg(long, value_name = "TEXT")]
    caption: Option<String>,

    /// When it was first seen: a date (2026-01-27) or an RFC 3339
    /// timestamp (2026-01-27T09:30:00Z). Without it the sighting has only
    /// its archived-at time.
    #[arg(long, value_name = "DATE")]
    first_seen: Option<String>,

    /// A free-form note kept with the sighting.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,

    /// Record hashes and the sighting but do not copy the file into the
    /// archive.
    #[arg(long)]
    no_copy: bool,

    /// Also take hidden files and folders (names starting with a dot).
    #[arg(long)]
    hidden: bool,

    #[command(flatten)]
    pub decode: super::decode::DecodeArgs,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let sighting = super::output::new_sighting(
        args.source,
        args.caption,
        args.first_seen.as_deref(),
        args.note,
    )?;
    let mut paths = super::output::with_stdin_paths(&args.paths)?;
    let listed = match &args.from_csv {
        Some(csv) => firstseen::csvlist::read(csv)?,
        None => firstseen::csvlist::CsvList::default(),
    };
    paths.extend(listed.paths());
    let rows = listed.sightings();
    let mut inputs = walk::collect(&paths, args.hidden);
    inputs.errors.extend(listed.errors);
    super::output::require_media(&inputs, &paths)?;
    let dir = ctx.archive_dir()?;
    let mut archive = match Archive::create(&dir) {
        Ok(a) => a,
        // Not an archive: the message says what to do.
        Err(e @ firstseen::Error::Invalid { .. }) => return Err(e.into()),
        Err(firstseen::Error::Io { path, source }) if path == dir => {
            anyhow::bail!("archive {} cannot be written: {source}", dir.display())
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("archive {} cannot be written", dir.display())));
        }
    };
    archive
        .check_writable()
        .with_context(|| format!("archive {} cannot be written", dir.display()))?;
    let opts = ArchiveOptions {
        common: Options {
            limits: ctx.limits,
            ..Options::default()
        },
        copy: !args.no_copy,
        sighting,
        rows,
        sidecars: !args.no_sidecars,
    };
    for e in &inputs.errors {
        eprintln!("firstseen: {e}");
    }
    let bar = Bar::new("archiving");
    let mut outcomes = super::output::input_failures(&inputs.errors);
    let mut matcher = Matcher::open(&archive.catalog, Some(archive.dir()), &mut |d, t| {
        bar.indexing(d, t)
    })?;
    let mut summary = pipeline::archive(
        &mut archive,
        &mut matcher,
        &inputs.files,
        &opts,
        &bar,
        &ctx.stop,
        &mut |o| {
            bar.suspend(|| print_outcome(o, ctx.json));
            if ctx.json {
                outcomes.push(firstseen::shapes::value(o));
            }
        },
    )?;
    summary.failed += inputs.errors.len() as u64;
    summary.skipped = inputs.skipped.len() as u64;
    if ctx.json {
        print_json(&firstseen::shapes::archive(
            archive.dir(),
            outcomes,
            &summary,
        ))?;
    } else if !super::output::quiet() {
        let mut line = format!(
            "{} new item(s), {} new sighting(s) of known items, {} already recorded, {} failed",
            summary.new_items, summary.new_sightings, summary.already_recorded, summary.failed
        );
        if summary.skipped > 0 {
            line.push_str(&format!("; skipped {} non-image file(s)", summary.skipped));
        }
        if summary.interrupted {
            line.push_str("; interrupted: files not reached were not archived");
        }
        eprintln!("{line} (archive: {})", archive.dir().display());
    }
    Ok(if summary.failed > 0 {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

fn print_outcome(o: &ArchiveOutcome, json: bool) {
    match o {
        ArchiveOutcome::Failed { error, .. } => eprintln!("firstseen: {error}"),
        ArchiveOutcome::Archived { path, warnings, .. } if json => {
            super::output::warn_all(path, warnings);
        }
        ArchiveOutcome::Archived {
            path,
            sha256,
            result,
            variant_of,
            sightings,
            warnings,
            sidecar,
        } => {
            super::output::warn_all(path, warnings);
            let (tag, tone, detail) = match *result {
                "new_item" => ("new", Tone::New, String::new()),
                "new_sighting" => (
                    "seen again",
                    Tone::Known,
                    format!(" ({sightings} sightings)"),
                ),
                _ => ("unchanged", Tone::Known, " (already recorded)".to_string()),
            };
            outln!(
                "{} {}  {}{detail}",
                paint(tone, &format!("{tag:<10}")),
                short(sha256),
                clean(&path.display().to_string())
            );
            if let Some(used) = sidecar.as_ref().filter(|u| !u.fields.is_empty()) {
                outln!(
                    "           {} from {}",
                    used.fields.join(", ").replace('_', "-"),
                    clean(&used.file)
                );
            }
            for l in variant_of {
                let what = match (&l.detail, l.relation) {
                    (Some(d), firstseen::hash::Dihedral::Original) => clean(d),
                    (Some(d), r) => format!("{}; {}", wording::relation(r), clean(d)),
                    (None, r) => wording::relation(r).to_string(),
                };
                outln!(
                    "           near-duplicate of {}: {what}, PDQ distance {}",
                    short(&l.sha256),
                    l.distance
                );
            }
        }
    }
}
