//! `firstseen check`: is this file already known?

use std::path::PathBuf;

use anyhow::Context as _;
use firstseen::hash::Dihedral;
use firstseen::manifest;
use firstseen::matching::MatchKind;
use firstseen::matching::listed::ListedMatch;
use firstseen::matching::{DEFAULT_MAX_DISTANCE, Matcher, Thresholds};
use firstseen::pipeline::{self, CheckOutcome, MatchReport, Options, Progress as _};
use firstseen::report::wording;
use firstseen::store::Catalog;
use firstseen::walk;

use super::output::{Tone, clean, input_failures, outln, paint, print_json, short, sighting_line};
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
    /// Files (or folders) to check; `-` reads paths from standard input,
    /// one per line.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Largest PDQ Hamming distance reported as a match, 0 to 128 (PDQ
    /// hashes have 256 bits; unrelated pictures differ by about 128).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DISTANCE,
          value_parser = clap::value_parser!(u32).range(0..=128))]
    max_distance: u32,

    /// Also take hidden files in folders.
    #[arg(long)]
    hidden: bool,

    /// Match against this manifest (from `firstseen export`) instead of
    /// an archive: no archive is needed or touched.
    #[arg(long, value_name = "M.jsonl")]
    manifest: Option<PathBuf>,

    #[command(flatten)]
    pub decode: super::decode::DecodeArgs,
}

/// An in-memory catalog holding a manifest's items and sightings.
fn catalog_from_manifest(path: &std::path::Path) -> anyhow::Result<Catalog> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut catalog = Catalog::open_in_memory()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let outcome = manifest::import(
        &mut catalog,
        std::io::BufReader::with_capacity(1 << 16, f),
        &name,
    )
    .with_context(|| format!("manifest {}", path.display()))?;
    for w in &outcome.warnings {
        super::output::warn(path, &w.to_string());
    }
    Ok(catalog)
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let files = super::output::with_stdin_paths(&args.files)?;
    let inputs = walk::collect(&files, args.hidden);
    super::output::require_media(&inputs, &files)?;
    let archive;
    // A manifest's catalog lives in memory; an archive's has its
    // persistent hash index beside it.
    let (catalog, dir) = match &args.manifest {
        Some(m) => (catalog_from_manifest(m)?, None),
        None => {
            archive = ctx.open_archive()?;
            let dir = archive.dir().to_path_buf();
            (archive.catalog, Some(dir))
        }
    };
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
    // Paths that could not even be listed are failed files too, in the
    // same shape as any other failure.
    let mut outcomes = input_failures(&inputs.errors);
    let matcher = Matcher::open(&catalog, dir.as_deref(), &mut |d, t| bar.indexing(d, t))?;
    let mut summary = pipeline::check_catalog(
        &catalog,
        &matcher,
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
    let archive_label = dir.as_deref().unwrap_or(std::path::Path::new("manifest"));
    for w in &summary.warnings {
        bar.suspend(|| super::output::warn(archive_label, w));
    }
    if ctx.json {
        print_json(&firstseen::shapes::check(
            outcomes,
            &summary,
            args.max_distance,
            opts.thresholds.min_quality,
        ))?;
    }
    if !ctx.json && !super::output::quiet() {
        let mut line = format!(
            "{} known, {} not found, {} failed",
            summary.known, summary.unknown, summary.failed
        );
        if summary.interrupted {
            line.push_str("; interrupted: files not reached were not checked");
        }
        eprintln!("{line}");
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
        CheckOutcome::Checked { path, warnings, .. } if json => {
            super::output::warn_all(path, warnings)
        }
        CheckOutcome::Checked {
            path,
            pdq,
            matches,
            listed,
            warnings,
            ..
        } => {
            super::output::warn_all(path, warnings);
            let name = clean(&path.display().to_string());
            if matches.is_empty() && listed.is_empty() {
                outln!(
                    "{name}: {} (PDQ quality {}{})",
                    paint(Tone::New, "not found"),
                    pdq.quality,
                    if pdq.quality < 50 {
                        "; low: a featureless picture matches poorly"
                    } else {
                        ""
                    }
                );
                return;
            }
            outln!(
                "{name}: {} — {} match(es)",
                paint(Tone::Known, "KNOWN"),
                matches.len() + listed.len()
            );
            for m in matches {
                print_match(m);
            }
            for l in listed {
                print_listed(l);
            }
        }
    }
}

fn print_match(m: &MatchReport) {
    let kind = wording::match_line(&wording::MatchLine {
        kind: m.kind,
        relation: m.relation,
        distance: m.distance,
        evidence: m.evidence,
        change: &m.change,
        archived_video: m.item.media_type == "video",
        overlap: m.overlap.as_ref(),
    });
    let dims = match (m.item.width, m.item.height) {
        (Some(w), Some(h)) => format!(" {w}x{h}"),
        _ => String::new(),
    };
    outln!(
        "  {kind}: {} [{}{dims}]",
        short(&m.item.sha256),
        m.item.format
    );
    let p = m.phash_distance.map_or("-".to_string(), |p| p.to_string());
    let d = m.dhash_distance.map_or("-".to_string(), |d| d.to_string());
    if !m.frames.is_empty() {
        outln!("    matching frames: {}", wording::frame_list(&m.frames));
    }
    match (&m.alignment, m.kind) {
        (_, MatchKind::Exact | MatchKind::VideoOverlap) => {}
        (Some(a), MatchKind::Altered) => {
            outln!("    confirmed by {}: {}", m.confirmed_by, wording::fit(a))
        }
        (Some(a), _) => {
            outln!(
                "    confirmed by {}; supporting evidence: pHash {p}/64, dHash {d}/64",
                m.confirmed_by
            );
            if !a.edits().is_empty() {
                outln!("    what changed: {}", m.change);
            }
        }
        _ if m.phash_distance.is_none() && m.dhash_distance.is_none() => {}
        _ => outln!("    supporting evidence: pHash {p}/64, dHash {d}/64"),
    }
    if m.low_quality {
        outln!("    caution: low PDQ quality; match corroborated by pHash/dHash only");
    }
    if let Some(s) = &m.earliest {
        let of = m
            .earliest_of
            .map(|sha| format!(" (of its variant {})", short(&sha)))
            .unwrap_or_default();
        outln!("    earliest: {}{of}", sighting_line(s));
    }
    outln!("    {} sighting(s) recorded", m.sightings);
}

fn print_listed(l: &ListedMatch) {
    let turned = if l.relation == Dihedral::Original {
        String::new()
    } else {
        format!(", {}", l.relation_text)
    };
    let at = l
        .query_secs
        .map(|s| format!(", frame at {s:.1} s"))
        .unwrap_or_default();
    outln!(
        "  listed in hash list \"{}\"{turned}{at}, PDQ distance {}: {}",
        clean(&l.list),
        l.distance,
        short(&l.pdq)
    );
    outln!(
        "    imported {}{}",
        l.imported_at,
        l.file_name
            .as_deref()
            .map(|f| format!(" from {}", clean(f)))
            .unwrap_or_default()
    );
}
