//! `firstseen export`: the archive's manifest, for sharing without the
//! pictures.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use firstseen::manifest;
use serde_json::json;

use super::output::print_json;
use super::{Context, EXIT_OK};

/// Write the archive's manifest: every item (SHA-256, PDQ and quality,
/// pHash, dHash, size, video frames) and every sighting, never any media
/// bytes. JSON Lines: a header line (format, chain head, counts, import
/// history), then one line per item in SHA-256 order. Two exports of the
/// same archive are byte-identical.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write to FILE (replaced atomically when complete) instead of
    /// standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let mut archive = ctx.open_archive()?;
    let Some(path) = args.output else {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        manifest::export(&mut archive.catalog, &mut out, Path::new("<stdout>"))?;
        return Ok(EXIT_OK);
    };
    // Replace only a regular file: never follow a link or write over a
    // device or FIFO that happens to carry the name.
    if let Ok(m) = std::fs::symlink_metadata(&path)
        && !m.file_type().is_file()
    {
        anyhow::bail!(
            "{}: exists and is not a regular file (a link, folder or device); refusing to replace it",
            path.display()
        );
    }
    let tmp = partial_name(&path);
    let result = (|| -> anyhow::Result<manifest::ExportSummary> {
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        let summary = manifest::export(&mut archive.catalog, &mut out, &path)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
        Ok(summary)
    })();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let head = summary
        .chain
        .map_or("(empty chain)".to_string(), |h| h.hash.to_hex());
    if ctx.json {
        print_json(&json!({ "output": path, "summary": summary }))?;
    } else {
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "exported {} item(s), {} sighting(s) to {} (chain head {head})",
            summary.items,
            summary.sightings,
            path.display()
        )?;
    }
    Ok(EXIT_OK)
}

/// `dir/.name.partial`: beside the target, so the rename stays on one
/// file system.
fn partial_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "manifest".to_string());
    path.with_file_name(format!(".{name}.partial"))
}
