//! Reading a manifest: bounded lines, strict parsing of each line into
//! the wire types, then checks of meaning, turning each item line into
//! the store's [`ExchangeItem`]. Every error names the line and, when it
//! concerns one, the field (`sightings[2].first_seen`).

use std::io::BufRead;

use serde::Serialize;

use super::limits::{MAX_LINE, MAX_SECONDS};
use super::lines::BoundedLines;
use super::wire;
use super::{FORMAT, FORMAT_1, PDQ_KIND};
use crate::error::{Error, Result};
use crate::hash::{DHASH_KIND, Dihedral, PHASH_KIND, Pdq, Sha256};
use crate::store::VideoFacts;
use crate::store::chain::ChainHead;
use crate::store::exchange::{
    ExchangeCorrection, ExchangeFrame, ExchangeItem, ExchangeLink, ExchangeSighting,
};

/// What a manifest's header says.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestHeader {
    /// The program that wrote it.
    pub tool: String,
    /// The exporting archive's chain head.
    pub chain: Option<ChainHead>,
    /// Item lines announced.
    pub items: u64,
    /// Sightings announced.
    pub sightings: u64,
    /// Hashes of another kind than this firstseen computes are not
    /// imported (they could not be compared); one warning per kind.
    pub warnings: Vec<String>,
}

/// Builds the error for `line` (and `field`).
pub(crate) fn line_error(line: u64, field: Option<&str>, reason: &str) -> Error {
    Error::Invalid {
        what: "manifest",
        reason: match field {
            Some(f) => format!("line {line}, field {f}: {reason}"),
            None => format!("line {line}: {reason}"),
        },
    }
}

/// Reads a manifest item by item. See [`super::import`].
pub struct ManifestReader<R> {
    lines: BoundedLines<R>,
    header: ManifestHeader,
    keep_phash: bool,
    keep_dhash: bool,
    last: Option<Sha256>,
    items: u64,
    sightings: u64,
    done: bool,
}

impl<R: BufRead> ManifestReader<R> {
    /// Reads and checks the header line.
    ///
    /// # Errors
    /// A missing, malformed or foreign header.
    pub fn new(input: R) -> Result<ManifestReader<R>> {
        let mut r = ManifestReader {
            lines: BoundedLines::new(input, MAX_LINE),
            header: ManifestHeader {
                tool: String::new(),
                chain: None,
                items: 0,
                sightings: 0,
                warnings: Vec::new(),
            },
            keep_phash: true,
            keep_dhash: true,
            last: None,
            items: 0,
            sightings: 0,
            done: false,
        };
        if !r.next_line()? {
            return Err(line_error(1, None, "empty file: not a firstseen manifest"));
        }
        let line = r.lines.number();
        // Say "not a manifest" rather than "unknown field" for a file of
        // another kind.
        #[derive(serde::Deserialize)]
        struct Format {
            format: Option<serde_json::Value>,
        }
        match serde_json::from_slice::<Format>(r.lines.buf()) {
            Ok(Format {
                format: Some(serde_json::Value::String(f)),
            }) if f == FORMAT || f == FORMAT_1 => {}
            Ok(Format { format: Some(f) }) => {
                return Err(line_error(
                    line,
                    Some("format"),
                    &format!("{f} is not {FORMAT:?}: not a manifest this firstseen reads"),
                ));
            }
            _ => {
                return Err(line_error(
                    line,
                    None,
                    &format!(
                        "not a firstseen manifest (line 1 must be a JSON object with \"format\": {FORMAT:?})"
                    ),
                ));
            }
        }
        let h: wire::Header = parse_line(r.lines.buf(), line)?;
        if h.hashes.pdq.0 != PDQ_KIND {
            return Err(line_error(
                line,
                Some("hashes.pdq"),
                &format!(
                    "unknown PDQ kind {:?} (expected {PDQ_KIND:?})",
                    h.hashes.pdq.0
                ),
            ));
        }
        let mut warnings = Vec::new();
        if h.hashes.phash.0 != PHASH_KIND {
            r.keep_phash = false;
            warnings.push(format!(
                "pHashes of kind {:?} not imported: this firstseen computes {PHASH_KIND:?}",
                h.hashes.phash.0
            ));
        }
        if h.hashes.dhash.0 != DHASH_KIND {
            r.keep_dhash = false;
            warnings.push(format!(
                "dHashes of kind {:?} not imported: this firstseen computes {DHASH_KIND:?}",
                h.hashes.dhash.0
            ));
        }
        r.header = ManifestHeader {
            tool: h.tool.0,
            chain: h.chain.map(|c| ChainHead {
                length: c.length,
                hash: c.head.0,
            }),
            items: h.items,
            sightings: h.sightings,
            warnings,
        };
        Ok(r)
    }

    /// The header.
    pub fn header(&self) -> &ManifestHeader {
        &self.header
    }

    /// SHA-256 of every byte read so far (of the whole file once
    /// [`ManifestReader::next_item`] has returned `None`).
    pub fn file_sha256(&self) -> Sha256 {
        self.lines.sha256()
    }

    /// The next item and its line number, `None` at the end (after
    /// checking that the header's counts were met).
    ///
    /// # Errors
    /// The first problem, naming its line and field.
    pub fn next_item(&mut self) -> Result<Option<(u64, ExchangeItem)>> {
        if self.done {
            return Ok(None);
        }
        if !self.next_line()? {
            self.done = true;
            if self.items != self.header.items || self.sightings != self.header.sightings {
                return Err(line_error(
                    self.lines.number(),
                    None,
                    &format!(
                        "the manifest ends after {} item(s) and {} sighting(s), but its header \
                         announces {} and {} (truncated or edited?)",
                        self.items, self.sightings, self.header.items, self.header.sightings
                    ),
                ));
            }
            return Ok(None);
        }
        let line = self.lines.number();
        let w: wire::Item = parse_line(self.lines.buf(), line)?;
        let item = check_item(w, self.keep_phash, self.keep_dhash)
            .map_err(|(field, reason)| line_error(line, Some(&field), &reason))?;
        if let Some(last) = self.last
            && item.sha256 <= last
        {
            return Err(line_error(
                line,
                Some("sha256"),
                &format!(
                    "{} {} the previous item's: items must be in ascending SHA-256 order, each once",
                    item.sha256,
                    if item.sha256 == last {
                        "repeats"
                    } else {
                        "sorts before"
                    }
                ),
            ));
        }
        self.last = Some(item.sha256);
        self.items += 1;
        self.sightings += item.sightings.len() as u64;
        if self.items > self.header.items {
            return Err(line_error(
                line,
                None,
                &format!(
                    "more items than the header announces ({})",
                    self.header.items
                ),
            ));
        }
        Ok(Some((line, item)))
    }

    /// Reads the next non-blank line into `buf` (without its line end);
    /// false at the end of the input.
    fn next_line(&mut self) -> Result<bool> {
        loop {
            let line = self.lines.number() + 1;
            if !self
                .lines
                .next()
                .map_err(|reason| line_error(line, None, &reason))?
            {
                return Ok(false);
            }
            let buf = self.lines.buf();
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            if line == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
                buf.drain(..3);
            }
            if !buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(true);
            }
        }
    }
}

/// Parses one line strictly, naming the failing field.
fn parse_line<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8], line: u64) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let column = inner.column();
        let mut msg = inner.to_string();
        if let Some(i) = msg.rfind(" at line ") {
            msg.truncate(i);
        }
        let msg = if column > 0 {
            format!("{msg} (column {column})")
        } else {
            msg
        };
        line_error(line, (path != ".").then_some(path.as_str()), &msg)
    })?;
    de.end().map_err(|e| {
        line_error(
            line,
            None,
            &format!(
                "more after the JSON object (column {}): one object per line",
                e.column()
            ),
        )
    })?;
    Ok(value)
}

type FieldError = (String, String);

fn bad(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
    (field.into(), reason.into())
}

/// Checks an item line's values and converts it.
fn check_item(
    w: wire::Item,
    keep_phash: bool,
    keep_dhash: bool,
) -> std::result::Result<ExchangeItem, FieldError> {
    let media = w.media_type.0;
    if media != "image" && media != "video" {
        return Err(bad(
            "media_type",
            format!("{media:?} is not \"image\" or \"video\""),
        ));
    }
    check_name("format", &w.format.0)?;
    let features = match &w.features {
        None => None,
        Some(_) if media != "image" => {
            return Err(bad("features", "only a still image has features"));
        }
        Some(t) => {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(t.0.as_bytes())
                .map_err(|e| bad("features", format!("not base64: {e}")))?;
            crate::hash::features::Features::from_bytes(&bytes)
                .map_err(|e| bad("features", e.to_string()))?;
            Some(bytes)
        }
    };
    if let Some(p) = &w.pdq {
        check_quality("pdq.quality", p.quality)?;
    }
    let is_video = media == "video";
    if w.video.is_some() && !is_video {
        return Err(bad("video", "only a video item has video facts"));
    }
    if !w.frames.is_empty() && !is_video {
        return Err(bad("frames", "only a video item has frames"));
    }
    let video = match w.video {
        None => None,
        Some(v) => {
            check_name("video.container", &v.container.0)?;
            check_name("video.codec", &v.codec.0)?;
            check_name("video.decoder", &v.decoder.0)?;
            check_secs("video.duration_secs", v.duration_secs)?;
            Some(VideoFacts {
                container: v.container.0,
                codec: v.codec.0,
                decoder: v.decoder.0,
                duration_secs: v.duration_secs,
                frames_decoded: v.frames_decoded,
                frames_sampled: v.frames_sampled,
                frames_kept: v.frames_kept,
                warnings: v.warnings.map(|t| t.0),
            })
        }
    };
    let mut frames = Vec::with_capacity(w.frames.0.len());
    for (i, f) in w.frames.0.into_iter().enumerate() {
        let at = |k: &str| format!("frames[{i}].{k}");
        check_secs(&at("start_secs"), f.start_secs)?;
        check_secs(&at("end_secs"), f.end_secs)?;
        if f.end_secs < f.start_secs {
            return Err(bad(at("end_secs"), "ends before it starts"));
        }
        check_quality(&at("quality"), f.quality)?;
        frames.push(ExchangeFrame {
            frame_number: f.frame,
            start_secs: f.start_secs,
            end_secs: f.end_secs,
            pdq: Pdq {
                hash: f.pdq.0,
                quality: f.quality,
            },
            phash: f.phash.filter(|_| keep_phash).map(|h| h.0),
            dhash: f.dhash.filter(|_| keep_dhash).map(|h| h.0),
        });
    }
    let mut sightings = Vec::with_capacity(w.sightings.0.len());
    for (i, s) in w.sightings.0.into_iter().enumerate() {
        let at = |k: &str| format!("sightings[{i}].{k}");
        if let Some(t) = &s.first_seen {
            check_time(&at("first_seen"), &t.0)?;
        }
        check_time(&at("archived_at"), &s.archived_at.0)?;
        if let Some(f) = &s.file_name {
            let f = &f.0;
            if f.contains('/') || f == "." || f == ".." || f.is_empty() {
                return Err(bad(
                    at("file_name"),
                    format!("{f:?} is not a plain file name (it is kept for display only)"),
                ));
            }
        }
        let mut corrections = Vec::with_capacity(s.corrections.0.len());
        for (k, c) in s.corrections.0.into_iter().enumerate() {
            let at = |f: &str| format!("sightings[{i}].corrections[{k}].{f}");
            check_time(&at("made_at"), &c.made_at.0)?;
            let field = c.field.map(|t| t.0);
            let value = c.value.map(|t| t.0);
            match (c.action.0.as_str(), field.as_deref()) {
                ("amend", Some("source")) => {
                    let max = super::limits::SOURCE_TEXT;
                    if let Some(v) = value.as_deref().filter(|v| v.len() > max) {
                        return Err(bad(
                            at("value"),
                            format!("a source of {} bytes exceeds the limit of {max}", v.len()),
                        ));
                    }
                }
                ("amend", Some("caption")) => {}
                ("amend", Some("first_seen")) => {
                    if let Some(v) = &value {
                        check_time(&at("value"), v)?;
                    }
                }
                ("retract", None) if value.is_none() => {}
                (action, field) => {
                    return Err(bad(
                        at("action"),
                        format!(
                            "{action:?} of {field:?} is not a correction (amend source, caption or \
                             first_seen; or retract)"
                        ),
                    ));
                }
            }
            corrections.push(ExchangeCorrection {
                action: c.action.0,
                field,
                value,
                reason: c.reason.map(|t| t.0),
                made_at: c.made_at.0,
            });
        }
        sightings.push(ExchangeSighting {
            source: s.source.map(|t| t.0),
            caption: s.caption.map(|t| t.0),
            first_seen: s.first_seen.map(|t| t.0),
            archived_at: s.archived_at.0,
            file_name: s.file_name.map(|t| t.0),
            note: s.note.map(|t| t.0),
            corrections,
        });
    }
    let sha256 = w.sha256.0;
    let mut links = Vec::with_capacity(w.variant_of.0.len());
    for (i, l) in w.variant_of.0.into_iter().enumerate() {
        let at = |k: &str| format!("variant_of[{i}].{k}");
        if l.sha256.0 == sha256 {
            return Err(bad(at("sha256"), "an item cannot be a variant of itself"));
        }
        if l.distance > 256 {
            return Err(bad(
                at("distance"),
                format!("{} is more than 256 bits", l.distance),
            ));
        }
        let transform = Dihedral::from_name(&l.transform.0).ok_or_else(|| {
            bad(
                at("transform"),
                format!(
                    "{:?} is not one of orig, rot90, rot180, rot270, flipx, flipy, flipp, flipm",
                    l.transform.0
                ),
            )
        })?;
        links.push(ExchangeLink {
            variant_of: l.sha256.0,
            distance: l.distance,
            transform,
            detail: l.detail.map(|t| t.0),
        });
    }
    Ok(ExchangeItem {
        sha256,
        media_type: media,
        format: w.format.0,
        width: w.width,
        height: w.height,
        byte_size: w.byte_size,
        pdq: w.pdq.map(|p| Pdq {
            hash: p.hash.0,
            quality: p.quality,
        }),
        phash: w.phash.filter(|_| keep_phash).map(|h| h.0),
        dhash: w.dhash.filter(|_| keep_dhash).map(|h| h.0),
        video,
        frames,
        sightings,
        links,
        features,
    })
}

/// A format, container, codec or decoder name: lowercase letters,
/// digits and `._+-`, starting with a letter or digit.
fn check_name(field: &str, s: &str) -> std::result::Result<(), FieldError> {
    let ok = s.len() <= 32
        && s.bytes()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.bytes().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'+' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(bad(
            field,
            format!("{s:?} is not a name (lowercase letters, digits and ._+-, at most 32)"),
        ))
    }
}

fn check_quality(field: &str, q: u8) -> std::result::Result<(), FieldError> {
    if q <= 100 {
        Ok(())
    } else {
        Err(bad(field, format!("{q} is more than 100")))
    }
}

fn check_secs(field: &str, x: f64) -> std::result::Result<(), FieldError> {
    if x.is_finite() && (0.0..=MAX_SECONDS).contains(&x) {
        Ok(())
    } else {
        Err(bad(
            field,
            format!("{x} is not between 0 and {MAX_SECONDS} seconds"),
        ))
    }
}

/// A date or timestamp in the form the catalog stores
/// (`2026-01-27`, `2026-01-27T09:30:00Z`).
fn check_time(field: &str, s: &str) -> std::result::Result<(), FieldError> {
    match crate::time::parse_first_seen(s) {
        Ok(canonical) if canonical == s => Ok(()),
        Ok(canonical) => Err(bad(
            field,
            format!("{s:?} is not in stored form (UTC): write {canonical:?}"),
        )),
        Err(_) => Err(bad(
            field,
            format!("{s:?} is not a date (2026-01-27) or UTC timestamp (2026-01-27T09:30:00Z)"),
        )),
    }
}
