//! `firstseen hash`: print hashes without touching any archive.

use std::path::PathBuf;

use firstseen::pipeline;
use rayon::prelude::*;
use serde_json::json;

use super::output::{clean, print_json};
use super::{Context, EXIT_ERROR, EXIT_OK};

/// Print SHA-256, PDQ (hex) with its quality, pHash and dHash of each
/// file, like sha256sum. Touches no archive.
///
/// Text output: one line per file,
/// `SHA256  PDQ  QUALITY  PHASH  DHASH  FILE`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to hash.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let results: Vec<_> = args
        .files
        .par_iter()
        .map(|p| pipeline::analyze_file(p, &ctx.limits))
        .collect();
    let mut failed = 0;
    let mut rows = Vec::new();
    for r in results {
        match r {
            Err(e) => {
                failed += 1;
                eprintln!("firstseen: {e}");
            }
            Ok(a) => {
                let fp = &a.fingerprint;
                if ctx.json {
                    rows.push(json!({
                        "path": a.path,
                        "sha256": fp.sha256,
                        "pdq": fp.pdq.hash,
                        "pdq_quality": fp.pdq.quality,
                        "phash": fp.phash,
                        "dhash": fp.dhash,
                        "format": a.format,
                        "width": a.width,
                        "height": a.height,
                        "exif_orientation": a.orientation,
                    }));
                } else {
                    println!(
                        "{}  {}  {:>3}  {}  {}  {}",
                        fp.sha256,
                        fp.pdq.hash,
                        fp.pdq.quality,
                        fp.phash,
                        fp.dhash,
                        clean(&a.path.display().to_string())
                    );
                }
            }
        }
    }
    if ctx.json {
        print_json(&json!({
            "files": rows,
            "kinds": {
                "pdq": "pdq-256-v1",
                "phash": firstseen::hash::PHASH_KIND,
                "dhash": firstseen::hash::DHASH_KIND,
            },
        }))?;
    }
    Ok(if failed > 0 { EXIT_ERROR } else { EXIT_OK })
}
