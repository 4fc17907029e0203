//! `firstseen check`: is this file already known?

use std::path::PathBuf;

use firstseen::hash::Dihedral;
use firstseen::matching::{DEFAULT_MAX_DISTANCE, Thresholds};
use firstseen::pipeline::{self, CheckOutcome, Evidence, MatchKind, MatchReport, Options};
use firstseen::walk;
use serde_json::json;

use super::output::{clean, print_json, short, sighting_line};
use super::progress::Bar;
use super::{Context, EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK};

/// Check whether photos are already known: exact copies (SHA-256) and
/// near duplicates (PDQ, including mirrored and rotated copies), with the
/// known item's earliest sighting. Never modifies the archive.
///
/// Exit status: 0 when every file is known, 1 when any is unknown, 2 on
/// error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files (or folders) to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Largest PDQ Hamming distance (of 256 bits) reported as a match.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DISTANCE,
          value_parser = clap::value_parser!(u32).range(0..=128))]
    max_distance: u32,

    /// Also take hidden files in folders.
    #[arg(long)]
    hidden: bool,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let archive = ctx.open_archive()?;
    let inputs = walk::collect(&args.files, args.hidden);
    for e in &inputs.errors {
        eprintln!("firstseen: {e}");
    }
    let opts = Options {
        limits: ctx.limits,
        thresholds: Thresholds {
            max_distance: args.max_distance,
            ..Thresholds::default()
        },
    };
    let bar = Bar::new("checking");
    let mut outcomes = Vec::new();
    let mut summary = pipeline::check(&archive, &inputs.files, &opts, &bar, &ctx.stop, &mut |o| {
        bar.suspend(|| print_outcome(o, ctx.json));
        if ctx.json {
            outcomes.push(serde_json::to_value(o).unwrap_or_default());
        }
    })?;
    summary.failed += inputs.errors.len() as u64;
    if ctx.json {
        print_json(&json!({
            "files": outcomes,
            "summary": summary,
            "thresholds": {"max_distance": args.max_distance, "min_quality": opts.thresholds.min_quality},
        }))?;
    }
    Ok(if summary.failed > 0 {
        EXIT_ERROR
    } else if summary.unknown > 0 {
        EXIT_NOT_FOUND
    } else {
        EXIT_OK
    })
}

fn print_outcome(o: &CheckOutcome, json: bool) {
    match o {
        CheckOutcome::Failed { error, .. } => eprintln!("firstseen: {error}"),
        _ if json => {}
        CheckOutcome::Checked {
            path, pdq, matches, ..
        } => {
            let name = clean(&path.display().to_string());
            if matches.is_empty() {
                println!(
                    "{name}: not found (PDQ quality {}{})",
                    pdq.quality,
                    if pdq.quality < 50 {
                        "; low: a featureless picture matches poorly"
                    } else {
                        ""
                    }
                );
                return;
            }
            println!("{name}: KNOWN — {} match(es)", matches.len());
            for m in matches {
                print_match(m);
            }
        }
    }
}

fn print_match(m: &MatchReport) {
    let turned = if m.relation == Dihedral::Original {
        String::new()
    } else {
        format!(", {}", m.relation_text)
    };
    let kind = match m.kind {
        MatchKind::Exact => "exact copy".to_string(),
        MatchKind::NearDuplicate => format!("near-duplicate, PDQ distance {}", m.distance),
        MatchKind::MirroredOrRotated => {
            format!("{} copy, PDQ distance {}", m.relation_text, m.distance)
        }
        MatchKind::Possible => format!("possible match{turned}"),
    };
    let kind = if m.evidence == Evidence::PdqWithoutBorder {
        format!("{kind}, once its border is removed")
    } else {
        kind
    };
    let dims = match (m.item.width, m.item.height) {
        (Some(w), Some(h)) => format!(" {w}x{h}"),
        _ => String::new(),
    };
    println!(
        "  {kind}: {} [{}{dims}]",
        short(&m.item.sha256),
        m.item.format
    );
    let p = m.phash_distance.map_or("-".to_string(), |p| p.to_string());
    let d = m.dhash_distance.map_or("-".to_string(), |d| d.to_string());
    match m.kind {
        MatchKind::Exact => {}
        MatchKind::Possible => println!(
            "    pHash {p}/64 and dHash {d}/64 agree but PDQ does not (distance {}): \
             typical of a crop; confirm by eye",
            m.distance
        ),
        _ => println!("    supporting evidence: pHash {p}/64, dHash {d}/64"),
    }
    if m.low_quality {
        println!("    caution: low PDQ quality; match corroborated by pHash/dHash only");
    }
    if let Some(s) = &m.earliest {
        println!("    earliest: {}", sighting_line(s));
    }
    println!("    {} sighting(s) recorded", m.sightings);
}
