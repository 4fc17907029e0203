//! The report as Markdown, readable as plain text and in any Markdown
//! viewer.
//!
//! Captions, sources, notes and metadata are untrusted: every ASCII
//! punctuation character in them that Markdown or HTML could act on is
//! backslash-escaped (so a caption cannot open a link, an image, raw
//! HTML, emphasis or a table cell, nor be auto-linked), line breaks are
//! flattened, and only `http`/`https` sources become links, as
//! `<…>` autolinks.

use std::io::{self, Write};

use super::{Appearance, DatedBy, Report, Status, TimelineEntry, link_target, wording};

/// Escapes untrusted text for inline Markdown (also safe in a table
/// cell, never placed at the start of a line): control characters and
/// line breaks become spaces; characters that open code, emphasis,
/// links, images, raw HTML, entities, strikethrough, math or table
/// cells get a backslash; and so do the `:` of `://`, the `.` of `www.`
/// and every `@`, so GFM does not turn bare URLs or e-mail addresses
/// into links.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next_two_slashes = chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/');
        let after_www = i >= 3 && chars[i - 3..i].iter().all(|c| c.eq_ignore_ascii_case(&'w'));
        if c.is_control() {
            out.push(' ');
            continue;
        }
        if crate::text::is_invisible_control(c) {
            // "[U+202E]", its brackets escaped like any others.
            out.push_str(
                &crate::text::marker(c)
                    .replace('[', "\\[")
                    .replace(']', "\\]"),
            );
            continue;
        }
        let special = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$' | '@'
        ) || (c == ':' && next_two_slashes)
            || (c == '.' && after_www);
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A source: an autolink when it is an http(s) URL, escaped text
/// otherwise.
fn source(s: Option<&str>) -> String {
    match s {
        None => "—".to_string(),
        Some(s) => match link_target(s) {
            Some(url) => format!("<{url}>"),
            None => escape(s),
        },
    }
}

fn caption(c: Option<&str>) -> String {
    match c {
        None => "—".to_string(),
        Some(c) => format!("“{}”", escape(c)),
    }
}

fn date(d: &str, by: DatedBy) -> String {
    match by {
        DatedBy::FirstSeen => escape(d),
        DatedBy::Archived => format!("{} (archived; no first-seen date)", escape(d)),
    }
}

fn appearance(out: &mut impl Write, a: &Appearance, r: &Report) -> io::Result<()> {
    writeln!(out, "- **Date:** {}", date(&a.date, a.dated_by))?;
    writeln!(out, "- **Source:** {}", source(a.source.as_deref()))?;
    writeln!(out, "- **Caption:** {}", caption(a.caption.as_deref()))?;
    let kind = r
        .variants
        .iter()
        .find(|v| v.label == a.variant)
        .map(wording::variant_kind)
        .unwrap_or_default();
    writeln!(
        out,
        "- **Version:** {} ({}), SHA-256 `{}`",
        a.variant,
        escape(&kind),
        a.sha256
    )
}

/// Writes `report` as Markdown.
///
/// # Errors
/// Write errors.
pub fn write(r: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "# Provenance report: {}", escape(&r.target.name))?;
    writeln!(out)?;
    let what = match r.target.kind {
        super::TargetKind::File => "file checked against the archive (not archived by this report)",
        super::TargetKind::Item => "archived item",
    };
    writeln!(
        out,
        "*{what}; generated {} by firstseen {}*",
        r.generated_at, r.method.version
    )?;
    writeln!(out)?;
    let status = match (r.verdict.status, r.verdict.recycled) {
        (Status::Known, true) => "RECYCLED MEDIA",
        (Status::Known, false) => "KNOWN",
        (Status::Possible, _) => "POSSIBLY KNOWN",
        (Status::Unknown, _) => "NOT FOUND",
    };
    writeln!(out, "> **{status}** — {}", escape(&r.verdict.summary))?;
    writeln!(out)?;
    if let Some(p) = &r.post {
        writeln!(out, "## The post checked")?;
        writeln!(out)?;
        if let Some(d) = &p.first_seen {
            writeln!(out, "- **Date:** {}", escape(crate::time::day(d)))?;
        }
        if p.source.is_some() {
            writeln!(out, "- **Source:** {}", source(p.source.as_deref()))?;
        }
        if p.caption.is_some() {
            writeln!(out, "- **Caption:** {}", caption(p.caption.as_deref()))?;
        }
        if let Some(days) = p.days_after_earliest {
            writeln!(
                out,
                "- **After the earliest known appearance:** {}{}",
                wording::days(days),
                if p.recycled { " ⚠" } else { "" }
            )?;
        }
        writeln!(out)?;
    }

    if !r.recycled.is_empty() {
        writeln!(out, "## ⚠ Recycled-media warning")?;
        writeln!(out)?;
        if let (Some(first), Some(w)) = (&r.earliest, r.recycled.first()) {
            let at = first
                .source
                .as_deref()
                .map(|s| format!(" at {}", source(Some(s))))
                .unwrap_or_default();
            let with = first
                .caption
                .as_deref()
                .map(|c| format!(" with caption “{}”", escape(c)))
                .unwrap_or_default();
            writeln!(
                out,
                "**This {} circulated at least {} days earlier: first seen {}{at}{with}.**",
                if r.media.media_type == "video" {
                    "video"
                } else {
                    "image"
                },
                w.days_later,
                escape(crate::time::day(&first.date)),
            )?;
            writeln!(out)?;
            writeln!(out, "Seen again later:")?;
            writeln!(out)?;
        }
        for w in &r.recycled {
            let with = match &w.caption {
                Some(c) => format!("with caption “{}”", escape(c)),
                None => "without a caption".to_string(),
            };
            writeln!(
                out,
                "- {}, {} later, at {} {with} ({})",
                escape(crate::time::day(&w.date)),
                wording::days(w.days_later),
                source(w.source.as_deref()),
                w.variant,
            )?;
        }
        writeln!(out)?;
    }

    writeln!(out, "## Earliest known appearance")?;
    writeln!(out)?;
    match &r.earliest {
        Some(a) => appearance(out, a, r)?,
        None => writeln!(out, "No confirmed sighting in this archive.")?,
    }
    writeln!(out)?;
    if let Some(p) = &r.earlier_possible {
        writeln!(
            out,
            "**Unconfirmed:** a *possible* match (pHash and dHash agree, PDQ does not) was seen {}. \
             It does not count as the earliest appearance until a person confirms it is the same picture:",
            if r.earliest.is_some() {
                "before it"
            } else {
                "in this archive"
            }
        )?;
        writeln!(out)?;
        appearance(out, p, r)?;
        writeln!(out)?;
    }

    writeln!(out, "## Timeline, oldest first")?;
    writeln!(out)?;
    if r.timeline.is_empty() {
        writeln!(out, "No sightings.")?;
    } else {
        writeln!(
            out,
            "| # | Date | Source | Caption | Version | Match | PDQ distance | Later by |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
        for (n, e) in r.timeline.iter().enumerate() {
            timeline_row(out, n + 1, e, r)?;
        }
    }
    writeln!(out)?;

    writeln!(out, "## Captions")?;
    writeln!(out)?;
    for (n, g) in r.captions.iter().enumerate() {
        let text = match &g.caption {
            Some(c) => format!("“{}”", escape(c)),
            None => "*(no caption)*".to_string(),
        };
        let span = if g.first_date == g.last_date {
            escape(crate::time::day(&g.first_date))
        } else {
            format!(
                "{} to {}",
                escape(crate::time::day(&g.first_date)),
                escape(crate::time::day(&g.last_date))
            )
        };
        let unconfirmed = if g.confirmed {
            ""
        } else {
            " — unconfirmed (possible match only)"
        };
        writeln!(
            out,
            "{}. {text} — {} sighting{}, {span}, on {}{unconfirmed}",
            n + 1,
            g.sightings.len(),
            if g.sightings.len() == 1 { "" } else { "s" },
            g.variants.join(", ")
        )?;
        for id in &g.sightings {
            if let Some(e) = r.timeline.iter().find(|e| e.sighting == *id) {
                writeln!(
                    out,
                    "   - {} at {}",
                    escape(crate::time::day(&e.date)),
                    source(e.source.as_deref())
                )?;
            }
        }
    }
    if r.captions.is_empty() {
        writeln!(out, "No sightings, so no captions.")?;
    }
    writeln!(out)?;

    writeln!(out, "## Versions")?;
    writeln!(out)?;
    if r.variants.is_empty() {
        writeln!(out, "None in this archive.")?;
    } else {
        writeln!(
            out,
            "| Version | SHA-256 | Match | What differs | PDQ distance | Format | Sightings | First seen |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
        for v in &r.variants {
            let dims = match (v.width, v.height) {
                (Some(w), Some(h)) => format!(" {w}×{h}"),
                _ => String::new(),
            };
            let via = v
                .via
                .map(|s| format!(" (via {})", &s.to_hex()[..12]))
                .unwrap_or_default();
            writeln!(
                out,
                "| {} | `{}` | {}{} | {} | {}{via} | {}{dims} | {} | {} |",
                v.label,
                &v.sha256.to_hex()[..16],
                escape(&wording::variant_kind(v)),
                if v.confirmed { "" } else { " ⚠" },
                escape(&v.changes.join("; ")),
                v.distance.map_or("—".to_string(), |d| d.to_string()),
                escape(&v.format),
                v.sightings,
                v.first_seen
                    .as_deref()
                    .map_or("—".to_string(), |d| escape(crate::time::day(d)))
            )?;
        }
    }
    writeln!(out)?;

    let with_frames: Vec<_> = r.variants.iter().filter(|v| !v.frames.is_empty()).collect();
    if !with_frames.is_empty() {
        writeln!(out, "### Matching frames")?;
        writeln!(out)?;
        for v in with_frames {
            let times: Vec<String> = v
                .frames
                .iter()
                .map(|f| {
                    let when = match (f.query_secs, f.archived) {
                        (Some(q), Some((a, b))) => format!("here {q:.1} s = there {a:.1}–{b:.1} s"),
                        (Some(q), None) => format!("at {q:.1} s here"),
                        (None, Some((a, b))) => format!("at {a:.1}–{b:.1} s"),
                        (None, None) => String::new(),
                    };
                    format!("{when} (distance {})", f.distance)
                })
                .collect();
            writeln!(out, "- {}: {}", v.label, times.join("; "))?;
        }
        writeln!(out)?;
    }

    writeln!(out, "## The media")?;
    writeln!(out)?;
    let m = &r.media;
    writeln!(out, "| | |")?;
    writeln!(out, "|---|---|")?;
    writeln!(out, "| SHA-256 | `{}` |", m.sha256)?;
    if let Some(p) = &m.pdq {
        writeln!(out, "| PDQ | `{}` (quality {}) |", p.hash, p.quality)?;
    }
    if let (Some(p), Some(d)) = (&m.phash, &m.dhash) {
        writeln!(out, "| pHash / dHash | `{p}` / `{d}` |")?;
    }
    writeln!(
        out,
        "| Type | {} {} |",
        escape(&m.media_type),
        escape(&m.format)
    )?;
    if let (Some(w), Some(h)) = (m.width, m.height) {
        writeln!(out, "| Dimensions | {w}×{h} pixels |")?;
    }
    if let Some(v) = &m.video {
        writeln!(
            out,
            "| Video | {} {}, {:.1} s, {} frames kept |",
            escape(&v.container),
            escape(&v.codec),
            v.duration_secs,
            v.frames_kept
        )?;
    }
    if let Some(b) = m.byte_size {
        writeln!(out, "| Size | {b} bytes |")?;
    }
    writeln!(out)?;

    writeln!(out, "## Metadata carried by the file")?;
    writeln!(out)?;
    writeln!(
        out,
        "> These are **claims made by the file itself**. Anyone can write, edit or strip them, and most \
         platforms strip them on upload: they are not evidence of when, where or by whom the picture was taken."
    )?;
    writeln!(out)?;
    match &r.metadata {
        None => writeln!(
            out,
            "Not read (the file's bytes are not at hand, or it is a video)."
        )?,
        Some(md) if md.claims.is_empty() => writeln!(
            out,
            "No date, camera, location, caption, credit or copyright claims found{}.",
            if md.blocks.is_empty() {
                " (no EXIF, XMP or IPTC block)".to_string()
            } else {
                format!(" (blocks present: {})", md.blocks.join(", "))
            }
        )?,
        Some(md) => {
            writeln!(out, "| Claim | Value | Read from |")?;
            writeln!(out, "|---|---|---|")?;
            for c in &md.claims {
                writeln!(
                    out,
                    "| {} | {} | {} |",
                    c.label,
                    escape(&c.value),
                    escape(&c.sources.join(", "))
                )?;
            }
        }
    }
    writeln!(out)?;

    writeln!(out, "## Method")?;
    writeln!(out)?;
    let me = &r.method;
    writeln!(out, "- **Tool:** firstseen {}", me.version)?;
    for h in &me.hashes {
        writeln!(out, "- **{}:** {}", h.name, escape(&h.description))?;
    }
    let t = &me.thresholds;
    writeln!(
        out,
        "- **Thresholds:** PDQ match at distance ≤ {} of 256; PDQ quality below {} needs pHash or dHash ≤ {} of 64; \
         any other candidate (shared local features, or pHash ≤ {} and dHash ≤ {} of 64) is confirmed only by at least {} corners \
         in one geometric arrangement spread over {:.0}% of the shared area; recycled when first seen more than {} days after the earliest appearance.",
        t.pdq_max_distance,
        t.pdq_min_quality,
        t.corroborating_distance,
        t.nominate_phash,
        t.nominate_dhash,
        t.feature_min_inliers,
        t.feature_min_spread * 100.0,
        t.recycled_days
    )?;
    let a = &me.archive;
    let head = match (a.chain_length, &a.chain_head) {
        (Some(n), Some(h)) => format!("; log head `{h}` ({n} entries)"),
        _ => String::new(),
    };
    writeln!(
        out,
        "- **Archive:** {} items, {} sightings, {} variant links{head}",
        a.items, a.sightings, a.variant_links
    )?;
    writeln!(
        out,
        "- **Rules:** versions are the target and everything linked to it by near-duplicate links \
         (made when archiving from confirmed matches), followed transitively; nothing unconfirmed is reported; a sighting is dated by its first-seen date, else by when it was archived."
    )?;
    if !r.notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Notes")?;
        writeln!(out)?;
        for n in &r.notes {
            writeln!(out, "- {}", escape(n))?;
        }
    }
    Ok(())
}

fn timeline_row(out: &mut impl Write, n: usize, e: &TimelineEntry, r: &Report) -> io::Result<()> {
    let kind = r
        .variants
        .iter()
        .find(|v| v.label == e.variant)
        .map(wording::variant_kind)
        .unwrap_or_default();
    let later = match e.days_after_earliest {
        Some(0) | None => "—".to_string(),
        Some(d) if e.recycled => format!("**⚠ {}**", wording::days(d)),
        Some(d) => wording::days(d),
    };
    let mut cap = caption(e.caption.as_deref());
    if let Some(note) = &e.note {
        cap.push_str(&format!(" (note: {})", escape(note)));
    }
    for c in &e.corrections {
        cap.push_str(&format!(
            " (corrected {}: {} was {})",
            crate::time::day(&c.made_at),
            c.field.name().replace('_', "-"),
            c.was
                .as_deref()
                .map_or("empty".to_string(), |w| format!("\"{}\"", escape(w)))
        ));
    }
    writeln!(
        out,
        "| {n} | {} | {} | {cap} | {}{} | {} | {} | {later} |",
        date(&e.date, e.dated_by),
        source(e.source.as_deref()),
        e.variant,
        if e.confirmed { "" } else { " ⚠" },
        escape(&kind),
        e.distance.map_or("—".to_string(), |d| d.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_text() {
        assert_eq!(
            escape("[click](javascript:alert(1))"),
            "\\[click\\](javascript:alert(1))"
        );
        assert_eq!(escape("<script>x</script>"), "\\<script\\>x\\</script\\>");
        assert_eq!(escape("a|b\nc"), "a\\|b c");
        assert_eq!(escape("see WWW.example.org"), "see WWW\\.example.org");
        assert_eq!(escape("https://x.org a@b.c"), "https\\://x.org a\\@b.c");
        assert_eq!(
            escape("Known: 10:30, 2024-03-01."),
            "Known: 10:30, 2024-03-01."
        );
        assert_eq!(source(Some("javascript:alert(1)")), "javascript:alert(1)");
        assert_eq!(
            source(Some("https://example.org/a_b")),
            "<https://example.org/a_b>"
        );
    }
}
