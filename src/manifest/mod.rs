//! The archive manifest: firstseen's interchange format. It carries every
//! item (SHA-256, perceptual hashes, dimensions, video frames) and every
//! sighting (source, caption, first-seen, archived-at, file name, note),
//! never any media bytes, so archives can share what they know without
//! sharing the pictures. Hash lists from other systems (PDQ hashes, one
//! per line or in a CSV column) are read by [`hashlist`].
//!
//! Layout (`docs/manifest.md`, schema `docs/manifest.schema.json`): JSON
//! Lines, UTF-8. Line 1 is the header (format `firstseen-manifest/2`;
//! `/1`, the same without local features, is still read;
//! tool, hash kinds, the exporting archive's chain head, counts, import
//! history); every further line is one item, in ascending SHA-256 order,
//! with its sightings, frames and links in a stable order. Two exports of
//! the same archive are byte-identical; export → import into an empty
//! archive → export reproduces every item line byte for byte (only the
//! header, which carries the archive's own chain head and import
//! history, differs), and `diff <(tail -n +2 a) <(tail -n +2 b)` compares
//! two manifests' contents. Export streams from a database cursor and
//! import line by line, so memory is bounded by the largest item.
//!
//! A manifest is untrusted input: every string, array and line has a
//! bound ([`limits`]), unknown fields are errors, values are checked
//! (hex, dates, ranges, names), no field ever names a file to open, and
//! an import is one transaction: any error leaves the archive unchanged
//! and names the line and field.

pub mod hashlist;
mod lines;
mod read;
mod wire;

use std::io::{BufRead, Write};
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::hash::{DHASH_KIND, PHASH_KIND};
use crate::store::Catalog;
use crate::store::chain::ChainHead;
use crate::store::exchange::{
    ExchangeItem, ExportPart, ImportKind, ImportRecord, NewImport, Snapshot,
};

pub use read::{ManifestHeader, ManifestReader};

/// The `format` field of every manifest this version writes (and reads).
pub const FORMAT: &str = "firstseen-manifest/2";
/// The first format, without local features, still read.
pub const FORMAT_1: &str = "firstseen-manifest/1";
/// Kind name of the PDQ hashes (256 bits, the reference bit order).
pub const PDQ_KIND: &str = "pdq-256";

/// Bounds on untrusted manifests and hash lists.
pub mod limits {
    /// Longest line, header or item (bytes).
    pub const MAX_LINE: usize = 64 << 20;
    /// Captions, notes, decoder warnings (bytes); the same as `archive`.
    pub const LONG_TEXT: usize = crate::text::MAX_LONG_TEXT;
    /// Sources (URLs); the same as `archive`.
    pub const SOURCE_TEXT: usize = crate::text::MAX_SOURCE;
    /// File names, list names, link details, tool names.
    pub const SHORT_TEXT: usize = 1024;
    /// Base64 text of an item's local features (up to 1,000 features).
    pub const FEATURES_TEXT: usize = 52 << 10;
    /// Container, codec and decoder names.
    pub const NAME_TEXT: usize = 64;
    /// Frames of one video.
    pub const MAX_FRAMES: usize = 100_000;
    /// Sightings of one item.
    pub const MAX_SIGHTINGS: usize = 100_000;
    /// Near-duplicate links of one item.
    pub const MAX_LINKS: usize = 10_000;
    /// Imports listed in a header.
    pub const MAX_IMPORTS: usize = 100_000;
    /// Longest line of a hash list (bytes).
    pub const MAX_LIST_LINE: usize = 64 << 10;
    /// Seconds beyond which a frame time or duration is refused.
    pub const MAX_SECONDS: f64 = 1.0e7;
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    /// Items written.
    pub items: u64,
    /// Sightings written.
    pub sightings: u64,
    /// The chain head in the header.
    pub chain: Option<ChainHead>,
}

/// Writes the manifest of the catalog to `out`, header first, then one
/// line per item in SHA-256 order, all from one read transaction.
/// `out_name` names the output in I/O errors.
///
/// # Errors
/// Catalog or write errors.
pub fn export(
    catalog: &mut Catalog,
    out: &mut dyn Write,
    out_name: &Path,
) -> Result<ExportSummary> {
    export_some(catalog, None, out, out_name)
}

/// A manifest of one item alone (its header counting that item), which
/// imports like any other: the web app's "manifest entry" download.
///
/// # Errors
/// Catalog or write errors.
pub fn export_item(
    catalog: &mut Catalog,
    sha: &crate::hash::Sha256,
    out: &mut dyn Write,
    out_name: &Path,
) -> Result<ExportSummary> {
    export_some(catalog, Some(sha), out, out_name)
}

fn export_some(
    catalog: &mut Catalog,
    only: Option<&crate::hash::Sha256>,
    out: &mut dyn Write,
    out_name: &Path,
) -> Result<ExportSummary> {
    let io = |e: std::io::Error| Error::io(out_name, e);
    let mut line = Vec::with_capacity(4096);
    let mut written = ExportSummary {
        items: 0,
        sightings: 0,
        chain: None,
    };
    let snapshot = catalog.export_some(only, &mut |part| {
        line.clear();
        match part {
            ExportPart::Header(s) => write_json(&mut line, &header(s))?,
            ExportPart::Item(item) => {
                write_json(&mut line, &wire_item(item))?;
                written.items += 1;
                written.sightings += item.sightings.len() as u64;
            }
        }
        out.write_all(&line).map_err(io)
    })?;
    out.flush().map_err(io)?;
    written.chain = snapshot.chain;
    Ok(written)
}

fn write_json(buf: &mut Vec<u8>, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *buf, value).map_err(|e| Error::Invalid {
        what: "manifest line",
        reason: e.to_string(),
    })?;
    buf.push(b'\n');
    Ok(())
}

/// Times are written to the microsecond, so that what an import stores
/// is written back identically.
fn micros(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn chain(h: &ChainHead) -> wire::Chain {
    wire::Chain {
        length: h.length,
        head: wire::Hex(h.hash),
    }
}

fn text<const N: usize>(s: &str) -> wire::Text<N> {
    wire::Text(s.to_string())
}

fn opt_text<const N: usize>(s: &Option<String>) -> Option<wire::Text<N>> {
    s.as_deref().map(text)
}

fn header(s: &Snapshot) -> wire::Header {
    wire::Header {
        format: text(FORMAT),
        tool: text(concat!("firstseen ", env!("CARGO_PKG_VERSION"))),
        hashes: wire::HashKinds {
            pdq: text(PDQ_KIND),
            phash: text(PHASH_KIND),
            dhash: text(DHASH_KIND),
        },
        chain: s.chain.as_ref().map(chain),
        items: s.items,
        sightings: s.sightings,
        imports: wire::Bounded(s.imports.iter().map(wire_import).collect()),
    }
}

fn wire_import(r: &ImportRecord) -> wire::Import {
    wire::Import {
        kind: text(r.kind.name()),
        name: text(&r.name),
        file_name: opt_text(&r.file_name),
        file_sha256: wire::Hex(r.file_sha256),
        chain: r.chain_head.as_ref().map(chain),
        imported_at: text(&r.imported_at),
        items_new: r.counts.items_new,
        items_known: r.counts.items_known,
        sightings_new: r.counts.sightings_new,
        sightings_known: r.counts.sightings_known,
        hashes_new: r.counts.hashes_new,
        hashes_known: r.counts.hashes_known,
    }
}

fn wire_item(i: &ExchangeItem) -> wire::Item {
    wire::Item {
        sha256: wire::Hex(i.sha256),
        media_type: text(&i.media_type),
        format: text(&i.format),
        width: i.width,
        height: i.height,
        byte_size: i.byte_size,
        pdq: i.pdq.map(|p| wire::Pdq {
            hash: wire::Hex(p.hash),
            quality: p.quality,
        }),
        phash: i.phash.map(wire::Hex),
        dhash: i.dhash.map(wire::Hex),
        video: i.video.as_ref().map(|v| wire::Video {
            container: text(&v.container),
            codec: text(&v.codec),
            decoder: text(&v.decoder),
            duration_secs: micros(v.duration_secs),
            frames_decoded: v.frames_decoded,
            frames_sampled: v.frames_sampled,
            frames_kept: v.frames_kept,
            warnings: opt_text(&v.warnings),
        }),
        frames: wire::Bounded(
            i.frames
                .iter()
                .map(|f| wire::Frame {
                    frame: f.frame_number,
                    start_secs: micros(f.start_secs),
                    end_secs: micros(f.end_secs),
                    pdq: wire::Hex(f.pdq.hash),
                    quality: f.pdq.quality,
                    phash: f.phash.map(wire::Hex),
                    dhash: f.dhash.map(wire::Hex),
                })
                .collect(),
        ),
        sightings: wire::Bounded(
            i.sightings
                .iter()
                .map(|s| wire::Sighting {
                    source: opt_text(&s.source),
                    caption: opt_text(&s.caption),
                    first_seen: opt_text(&s.first_seen),
                    archived_at: text(&s.archived_at),
                    file_name: opt_text(&s.file_name),
                    note: opt_text(&s.note),
                    corrections: wire::Bounded(
                        s.corrections
                            .iter()
                            .map(|c| wire::Correction {
                                action: text(&c.action),
                                field: opt_text(&c.field),
                                value: opt_text(&c.value),
                                reason: opt_text(&c.reason),
                                made_at: text(&c.made_at),
                            })
                            .collect(),
                    ),
                })
                .collect(),
        ),
        variant_of: wire::Bounded(
            i.links
                .iter()
                .map(|l| wire::Link {
                    sha256: wire::Hex(l.variant_of),
                    distance: l.distance,
                    transform: text(l.transform.name()),
                    detail: opt_text(&l.detail),
                })
                .collect(),
        ),
        features: i.features.as_ref().map(|f| {
            use base64::Engine as _;
            wire::Text(base64::engine::general_purpose::STANDARD.encode(f))
        }),
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    /// The import record (counts, file SHA-256, the manifest's head).
    pub record: ImportRecord,
    /// Near-duplicate links read (added unless already present).
    pub links: u64,
    /// The archive's chain head after the import.
    pub chain: ChainHead,
    /// Things that did not stop the import (hashes of another kind
    /// dropped, lines of other signal types skipped).
    pub warnings: Vec<String>,
}

/// Imports a manifest into the catalog in one transaction: items matched
/// by SHA-256 (new ones kept as hashes only), sightings added unless
/// identical to one the item has, each chained and linked to an import
/// record naming `name` (the manifest's file name) and the manifest's
/// chain head. Any error leaves the catalog as it was.
///
/// # Errors
/// [`Error::Invalid`] naming the line and field of the first problem in
/// the manifest; catalog errors.
pub fn import(catalog: &mut Catalog, input: impl BufRead, name: &str) -> Result<ImportOutcome> {
    let mut reader = ManifestReader::new(input)?;
    let header = reader.header().clone();
    let mut importer = catalog.begin_import(&NewImport {
        kind: ImportKind::Manifest,
        name: name.to_string(),
        file_name: Some(name.to_string()),
        chain_head: header.chain,
    })?;
    let mut links = 0;
    while let Some((line, item)) = reader.next_item()? {
        links += item.links.len() as u64;
        importer.add_item(&item, line)?;
    }
    if let Some((line, sha)) = importer.unresolved_link()? {
        return Err(read::line_error(
            line,
            Some("variant_of"),
            &format!("links to {sha}, which is in neither the manifest nor the archive"),
        ));
    }
    let (record, chain) = importer.finish(&reader.file_sha256())?;
    Ok(ImportOutcome {
        record,
        links,
        chain,
        warnings: header.warnings,
    })
}

/// Reads a whole manifest and checks every line, without any catalog:
/// returns the header and the number of items. (What `import` checks
/// before the database is involved; also the fuzz target's entry.)
///
/// # Errors
/// As [`import`].
pub fn validate(input: impl BufRead) -> Result<(ManifestHeader, u64)> {
    let mut reader = ManifestReader::new(input)?;
    let mut n = 0;
    while reader.next_item()?.is_some() {
        n += 1;
    }
    Ok((reader.header().clone(), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small valid manifest: a photo with two sightings and a link, and
    /// a video with frames.
    pub(crate) fn sample_manifest() -> String {
        let a = "11".repeat(32);
        let b = "22".repeat(32);
        let pdq = "5feb5321f01da156898e2bf629a5d3438412cdbd23f48942464526315db33ffd";
        format!(
            "{{\"format\":\"{FORMAT}\",\"tool\":\"t\",\"hashes\":{{\"pdq\":\"{PDQ_KIND}\",\
             \"phash\":\"{PHASH_KIND}\",\"dhash\":\"{DHASH_KIND}\"}},\"chain\":{{\"length\":3,\
             \"head\":\"{a}\"}},\"items\":2,\"sightings\":3,\"imports\":[]}}\n\
             {{\"sha256\":\"{a}\",\"media_type\":\"image\",\"format\":\"jpeg\",\"width\":640,\
             \"height\":427,\"byte_size\":1000,\"pdq\":{{\"hash\":\"{pdq}\",\"quality\":100}},\
             \"phash\":\"058a220000000000\",\"dhash\":\"2a281a59d5f2e5b1\",\"sightings\":[\
             {{\"source\":\"https://example.org/x\",\"caption\":\"Cap \\\"q\\\" é\",\
             \"first_seen\":\"2024-03-01\",\"archived_at\":\"2026-01-01T00:00:00Z\",\
             \"file_name\":\"a.jpg\",\"note\":\"n\"}},{{\"archived_at\":\"2026-01-02T00:00:00Z\"}}],\
             \"variant_of\":[{{\"sha256\":\"{b}\",\"distance\":10,\"transform\":\"flipy\",\
             \"detail\":\"d\"}}]}}\n\
             {{\"sha256\":\"{b}\",\"media_type\":\"video\",\"format\":\"mp4\",\"width\":640,\
             \"height\":272,\"byte_size\":94269,\"video\":{{\"container\":\"mp4\",\"codec\":\"h264\",\
             \"decoder\":\"openh264\",\"duration_secs\":3.0,\"frames_decoded\":75,\
             \"frames_sampled\":4,\"frames_kept\":2}},\"frames\":[{{\"frame\":0,\"start_secs\":0.0,\
             \"end_secs\":1.0,\"pdq\":\"{pdq}\",\"quality\":100,\"phash\":\"999a240428010400\",\
             \"dhash\":\"575f5c1e5ee3bb7e\"}},{{\"frame\":25,\"start_secs\":1.0,\"end_secs\":3.0,\
             \"pdq\":\"{pdq}\",\"quality\":90}}],\"sightings\":[{{\"archived_at\":\
             \"2026-01-01T00:00:00Z\"}}]}}\n"
        )
    }

    fn exported(c: &mut Catalog) -> String {
        let mut out = Vec::new();
        export(c, &mut out, Path::new("-")).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sample_round_trips_through_a_catalog() {
        let text = sample_manifest();
        let (h, n) = validate(text.as_bytes()).unwrap();
        assert_eq!((h.items, n), (2, 2));
        let mut c = Catalog::open_in_memory().unwrap();
        let o = import(&mut c, text.as_bytes(), "s.jsonl").unwrap();
        assert_eq!(o.record.counts.items_new, 2);
        assert_eq!(o.record.counts.sightings_new, 3);
        let out = exported(&mut c);
        let body = |s: &str| s.split_once('\n').map(|(_, b)| b.to_string());
        assert_eq!(body(&out), body(&text));
        assert_eq!(out, exported(&mut c));
    }

    /// Deterministic mutation testing of both parsers (the stable-Rust
    /// companion of the cargo-fuzz targets in `fuzz/`): many thousands of
    /// corrupted manifests and hash lists must each give `Ok` or `Err`,
    /// never a panic, and an import that fails must leave the catalog as
    /// it was.
    #[test]
    fn mutated_inputs_never_panic() {
        let seeds = [
            sample_manifest(),
            format!(
                "# list\nsignal_type,signal_value,quality\npdq,{},100\nmd5,00,\n\"pdq\",\"{}\",7\n",
                "ab".repeat(32),
                "cd".repeat(32)
            ),
            format!("{}\n{} 90 x.jpg\n", "ab".repeat(32), "CD".repeat(32)),
        ];
        const TOKENS: &[&str] = &[
            "null",
            "1e999",
            "-1",
            "\"\"",
            "[]",
            "{}",
            "18446744073709551616",
            "\"a\":1,",
            "[[[[[[[[",
            "\u{0}",
            "\\u0000",
            "\"../x\"",
            ",",
            "\n",
            "\"",
            "0.5",
            "true",
        ];
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            usize::try_from(rng % (n.max(1) as u64)).unwrap_or(0)
        };
        let (mut ok, mut err) = (0, 0);
        let mut catalog = Catalog::open_in_memory().unwrap();
        let before = exported(&mut catalog);
        let runs = 20_000;
        for run in 0..runs {
            let mut input = seeds[next(seeds.len())].clone().into_bytes();
            for _ in 0..=next(4) {
                let at = next(input.len() + 1);
                match next(5) {
                    0 if !input.is_empty() => {
                        let i = at.min(input.len() - 1);
                        input[i] ^= 1 << next(8);
                    }
                    1 => {
                        let end = (at + next(40)).min(input.len());
                        input.drain(at..end);
                    }
                    2 => {
                        let end = (at + next(60)).min(input.len());
                        let piece = input[at..end].to_vec();
                        let to = next(input.len() + 1);
                        input.splice(to..to, piece);
                    }
                    _ => {
                        let t = TOKENS[next(TOKENS.len())].as_bytes();
                        input.splice(at..at, t.iter().copied());
                    }
                }
            }
            let results = [
                validate(input.as_slice()).map(|_| ()),
                hashlist::validate(input.as_slice()).map(|_| ()),
            ];
            for r in results {
                if r.is_ok() {
                    ok += 1;
                } else {
                    err += 1;
                }
            }
            if run % 20 == 0 {
                // Through the database too: a failed import changes nothing.
                let mut scratch = Catalog::open_in_memory().unwrap();
                if import(&mut scratch, input.as_slice(), "m").is_err() {
                    assert_eq!(exported(&mut scratch), before);
                }
                let _ = hashlist::import(&mut catalog, input.as_slice(), "l", None);
            }
        }
        println!("{runs} mutated inputs, both parsers: {ok} accepted, {err} rejected, no panic");
        assert!(ok > 100 && err > 1000, "{ok} {err}");
    }
}
