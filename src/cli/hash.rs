//! `firstseen hash`: print hashes without touching any archive.

use std::path::PathBuf;

use rayon::prelude::*;
use serde_json::json;

use super::output::{clean, outln, print_json};
use super::{Context, EXIT_ERROR, EXIT_OK};

/// Print SHA-256, PDQ (hex) with its quality, pHash and dHash of each
/// file, like sha256sum. Touches no archive.
///
/// Text output: one line per photo,
/// `SHA256  PDQ  QUALITY  PHASH  DHASH  FILE`; for a video, a line
/// `SHA256  video …  FILE` followed by one indented line per kept frame:
/// `SECONDS  PDQ  QUALITY  PHASH  DHASH`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to hash; `-` reads paths from standard input, one per line.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    #[command(flatten)]
    pub decode: super::decode::DecodeArgs,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let files = super::output::with_stdin_paths(&args.files)?;
    let results: Vec<_> = files
        .par_iter()
        .map(|p| firstseen::analyze::hash_file(p, &ctx.limits))
        .collect();
    let mut failed = 0;
    let mut rows = Vec::new();
    for r in results {
        match r {
            Err(e) => {
                failed += 1;
                eprintln!("firstseen: {e}");
                if ctx.json {
                    rows.extend(super::output::input_failures(std::slice::from_ref(&e)));
                }
            }
            Ok(a) if a.video.is_some() => {
                let v = a.video.as_ref().expect("checked");
                let f = &v.facts;
                if ctx.json {
                    let frames: Vec<_> = v
                        .frames
                        .iter()
                        .map(|fr| {
                            json!({
                                "start_secs": fr.start_secs,
                                "end_secs": fr.end_secs,
                                "frame_number": fr.frame_number,
                                "pdq": fr.hashes.pdq.pdq,
                                "phash": fr.hashes.phashes[0],
                                "dhash": fr.hashes.dhashes[0],
                            })
                        })
                        .collect();
                    rows.push(json!({
                        "status": "hashed",
                        "path": a.path,
                        "sha256": a.fingerprint.sha256,
                        "media_type": "video",
                        "format": a.format,
                        "width": a.width,
                        "height": a.height,
                        "video": f,
                        "frames": frames,
                        "warnings": a.warnings,
                    }));
                } else {
                    outln!(
                        "{}  video {} {} {}x{}, {:.1} s, {} frames kept of {} sampled  {}",
                        a.fingerprint.sha256,
                        f.container,
                        f.codec,
                        a.width,
                        a.height,
                        f.duration_secs,
                        f.frames_kept,
                        f.frames_sampled,
                        clean(&a.path.display().to_string())
                    );
                    for fr in &v.frames {
                        let p = &fr.hashes.pdq.pdq;
                        outln!(
                            "  {:>8.3}  {}  {:>3}  {}  {}",
                            fr.start_secs,
                            p.hash,
                            p.quality,
                            fr.hashes.phashes[0],
                            fr.hashes.dhashes[0]
                        );
                    }
                }
                super::output::warn_all(&a.path, &a.warnings);
            }
            Ok(a) => {
                let fp = &a.fingerprint;
                if ctx.json {
                    rows.push(json!({
                        "status": "hashed",
                        "path": a.path,
                        "sha256": fp.sha256,
                        "media_type": "image",
                        "pdq": fp.pdq,
                        "phash": fp.phash,
                        "dhash": fp.dhash,
                        "format": a.format,
                        "width": a.width,
                        "height": a.height,
                        "exif_orientation": a.orientation,
                    }));
                } else {
                    outln!(
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
            "summary": {"hashed": files.len() - failed, "failed": failed},
            "hashes": {
                "pdq": firstseen::manifest::PDQ_KIND,
                "phash": firstseen::hash::PHASH_KIND,
                "dhash": firstseen::hash::DHASH_KIND,
            },
        }))?;
    }
    Ok(if failed > 0 { EXIT_ERROR } else { EXIT_OK })
}
