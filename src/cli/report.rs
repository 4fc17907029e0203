//! `firstseen report`: a provenance report on a file or an archived item,
//! as JSON, Markdown or a self-contained HTML page.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use firstseen::Error;
use firstseen::matching::{Matcher, Thresholds};
use firstseen::pipeline::Progress as _;
use firstseen::report::{self, ReportOptions, Status, Subject};

use super::progress::Bar;
use super::{Context, EXIT_NOT_FOUND, EXIT_OK};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Versioned JSON (schema firstseen-report/1, see docs/report-schema.md).
    Json,
    /// Markdown.
    Md,
    /// One self-contained HTML page (thumbnails inlined, no scripts).
    Html,
}

/// Write a provenance report: the earliest known appearance of a picture,
/// every sighting of it and of its near-duplicate variants in date order,
/// the captions it came with, a warning when it is being recycled, the
/// metadata the file claims, and the method used.
///
/// TARGET is a file (when such a path exists: it is matched against the
/// archive, not archived) or an archived item (its SHA-256 or a unique
/// prefix). Never modifies the archive.
///
/// Exit status: 0 when the target is known (possible matches included),
/// 1 when nothing matches (the report is still written) or the item does
/// not exist, 2 on error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A file to check, or an archived item's SHA-256 (or unique prefix).
    #[arg(value_name = "TARGET")]
    target: String,

    /// Output format [default: from the -o file's extension, else md;
    /// json with --json].
    #[arg(long, value_enum)]
    format: Option<Format>,

    /// Write the report to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    /// Warn about recycled media when a sighting was first seen more than
    /// N days after the earliest appearance.
    #[arg(long, value_name = "N", default_value_t = report::DEFAULT_RECYCLED_DAYS)]
    recycled_days: u32,

    /// For a file: where the post being checked was found. The report
    /// then dates that post against the earliest appearance (nothing is
    /// archived).
    #[arg(long, value_name = "URL")]
    source: Option<String>,

    /// For a file: what the post being checked claims.
    #[arg(long, value_name = "TEXT")]
    caption: Option<String>,

    /// For a file: when the post being checked was published.
    #[arg(long, value_name = "DATE")]
    first_seen: Option<String>,

    #[command(flatten)]
    pub decode: super::decode::DecodeArgs,
}

fn format_of(args: &Args, json: bool) -> Format {
    if let Some(f) = args.format {
        return f;
    }
    let ext = args
        .output
        .as_deref()
        .and_then(Path::extension)
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => Format::Html,
        Some("json") => Format::Json,
        Some("md" | "markdown") => Format::Md,
        _ if json => Format::Json,
        _ => Format::Md,
    }
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let format = format_of(&args, ctx.json);
    let archive = ctx.open_archive()?;
    let path = Path::new(&args.target);
    let subject = if path.exists() {
        Subject::File(path)
    } else if looks_like_path(&args.target) {
        anyhow::bail!("{}: no such file", args.target);
    } else {
        Subject::Item(&args.target)
    };
    let described = args.source.is_some() || args.caption.is_some() || args.first_seen.is_some();
    if described && !matches!(subject, Subject::File(_)) {
        anyhow::bail!("--source, --caption and --first-seen describe a file's post: give a file");
    }
    let post = if described {
        let s = super::output::new_sighting(
            args.source.clone(),
            args.caption.clone(),
            args.first_seen.as_deref(),
            None,
        )?;
        Some(report::Post {
            source: s.source,
            caption: s.caption,
            first_seen: s.first_seen,
            ..report::Post::default()
        })
    } else {
        None
    };
    let opts = ReportOptions {
        limits: ctx.limits,
        thresholds: Thresholds::default(),
        recycled_days: args.recycled_days,
        thumbnails: format == Format::Html,
        post,
    };
    let bar = Bar::new("reporting");
    let matcher = Matcher::open(&archive.catalog, Some(archive.dir()), &mut |d, t| {
        bar.indexing(d, t)
    })?;
    let report = match report::report(&archive, &matcher, subject, &opts) {
        Ok(r) => r,
        Err(e @ Error::UnknownItem(_)) => {
            eprintln!("firstseen: {e} (and no such file)");
            return Ok(EXIT_NOT_FOUND);
        }
        Err(e) => return Err(e.into()),
    };
    let mut buf = Vec::new();
    match format {
        Format::Json => report::json::write(&report, &mut buf)?,
        Format::Md => report::markdown::write(&report, &mut buf)?,
        Format::Html => report::html::write(&report, &mut buf)?,
    }
    match &args.output {
        Some(out) => {
            std::fs::write(out, &buf).with_context(|| format!("cannot write {}", out.display()))?
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&buf)?;
            stdout.flush()?;
        }
    }
    Ok(match report.verdict.status {
        Status::Known | Status::Possible => EXIT_OK,
        Status::Unknown => EXIT_NOT_FOUND,
    })
}

/// A target that cannot be an item id (ids are hex) and reads as a path:
/// it has a folder separator or a file extension.
fn looks_like_path(target: &str) -> bool {
    !target.chars().all(|c| c.is_ascii_hexdigit())
        && (target.contains(std::path::MAIN_SEPARATOR)
            || target.contains('/')
            || target.contains('.'))
}
