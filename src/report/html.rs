//! The report as one self-contained HTML page: inline CSS, thumbnails as
//! `data:` URIs, no script, nothing loaded from the network (a Content
//! Security Policy in the page forbids it too), laid out to print.
//!
//! Captions, sources, notes and metadata are untrusted. Everything from
//! the report goes through [`escape`]; only `http`/`https` sources that
//! pass [`link_target`](super::link_target) become links, with
//! `rel="noopener noreferrer"`.

use std::io::{self, Write};

use base64::Engine as _;

use super::{
    Appearance, DatedBy, Report, Status, TargetKind, Thumbnail, TimelineEntry, Variant,
    link_target, wording,
};
use crate::matching::MatchKind;

/// Escapes text for HTML element content and quoted attribute values:
/// `& < > " '` become character references, and control characters
/// other than tab and newline are dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => {}
            c if crate::text::is_invisible_control(c) => out.push_str(&crate::text::marker(c)),
            c => out.push(c),
        }
    }
    out
}

/// A source as a link when it is an http(s) URL, as text otherwise.
pub fn source(s: Option<&str>) -> String {
    match s {
        None => "<span class=\"none\">no source given</span>".to_string(),
        Some(s) => match link_target(s) {
            Some(url) => format!(
                "<a href=\"{u}\" rel=\"noopener noreferrer\">{u}</a>",
                u = escape(url)
            ),
            None => format!("<span class=\"text-source\">{}</span>", escape(s)),
        },
    }
}

fn caption(c: Option<&str>) -> String {
    match c {
        None => "<span class=\"none\">no caption</span>".to_string(),
        Some(c) => format!("<q>{}</q>", escape(c)),
    }
}

fn day(d: &str) -> String {
    escape(crate::time::day(d))
}

fn date(d: &str, by: DatedBy) -> String {
    match by {
        DatedBy::FirstSeen => format!("<time>{}</time>", escape(d)),
        DatedBy::Archived => format!(
            "<time>{}</time> <span class=\"muted\">(archived; no first-seen date)</span>",
            escape(d)
        ),
    }
}

fn img(t: &Thumbnail, alt: &str, class: &str) -> String {
    format!(
        "<img class=\"{class}\" src=\"data:image/jpeg;base64,{}\" width=\"{}\" height=\"{}\" alt=\"{}\">",
        base64::engine::general_purpose::STANDARD.encode(&t.jpeg),
        t.width,
        t.height,
        escape(alt)
    )
}

/// A version's thumbnail with the part the target shows outlined, when
/// the target shows only part of it (a crop, a covered band).
fn outlined(pic: String, v: &Variant) -> String {
    let Some(a) = &v.alignment else {
        return pic;
    };
    let r = &a.visible;
    if r.area() > 0.96 {
        return pic;
    }
    format!(
        "<span class=\"outlined\">{pic}<span class=\"region\" title=\"the part the checked copy shows\" \
         style=\"left:{:.1}%;top:{:.1}%;width:{:.1}%;height:{:.1}%\"></span></span>",
        r.left * 100.0,
        r.top * 100.0,
        (r.right - r.left) * 100.0,
        (r.bottom - r.top) * 100.0
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

const CSS: &str = r#"
:root{--ink:#17202b;--muted:#5a6573;--line:#d9dee5;--soft:#f4f6f9;--navy:#14304f;
--red:#b42318;--red-bg:#fef3f2;--amber:#b54708;--amber-bg:#fffaeb;--green:#067647;--green-bg:#ecfdf3;
--grey:#475467;--grey-bg:#f2f4f7}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",sans-serif;color:var(--ink);background:#fff}
code,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"Liberation Mono",monospace;font-size:.86em;overflow-wrap:anywhere}
a{color:#1849a9;overflow-wrap:anywhere}
.wrap{max-width:1100px;margin:0 auto;padding:0 32px}
header.top{background:var(--navy);color:#fff;padding:22px 0 20px}
header.top .kicker{text-transform:uppercase;letter-spacing:.12em;font-size:12px;opacity:.8}
header.top h1{margin:4px 0 4px;font-size:26px;font-weight:650;overflow-wrap:anywhere}
header.top .sub{font-size:13px;opacity:.85}
header.top code{color:#fff}
main.wrap{padding-top:24px;padding-bottom:8px}
section{margin:0 0 28px}
h2{font-size:17px;text-transform:uppercase;letter-spacing:.06em;color:var(--navy);border-bottom:2px solid var(--navy);padding-bottom:4px;margin:0 0 14px}
.verdict{display:grid;grid-template-columns:auto 1fr;gap:24px;align-items:start;border:1px solid var(--line);border-left:8px solid var(--grey);background:var(--grey-bg);padding:20px;border-radius:6px}
.verdict.known{border-left-color:var(--green);background:var(--green-bg)}
.verdict.recycled{border-left-color:var(--red);background:var(--red-bg)}
.verdict.possible{border-left-color:var(--amber);background:var(--amber-bg)}
.verdict .hero{max-width:260px;max-height:260px;width:auto;height:auto;display:block;border:1px solid var(--line);background:#fff}
.pill{display:inline-block;font-weight:700;font-size:12px;letter-spacing:.1em;text-transform:uppercase;color:#fff;background:var(--grey);padding:3px 10px;border-radius:999px}
.known .pill{background:var(--green)}.recycled .pill{background:var(--red)}.possible .pill{background:var(--amber)}
.summary{font-size:19px;font-weight:600;margin:10px 0 14px;line-height:1.35}
.stats{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:10px}
.stat{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.stat .num{display:block;font-size:20px;font-weight:700}
.stat .lbl{display:block;font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.alert{border:1px solid #fecdca;background:var(--red-bg);border-radius:6px;padding:14px 18px}
.alert h2{color:var(--red);border-color:var(--red)}
.alert p{margin:0 0 6px}.alert .lead{font-size:16px}.alert ul{margin:0;padding-left:20px}.alert li{margin:4px 0}
.notice{border:1px solid #fedf89;background:var(--amber-bg);border-radius:6px;padding:10px 14px;margin-top:12px}
.claims-note{border-left:4px solid var(--amber);background:var(--amber-bg);padding:8px 12px;margin:0 0 12px;font-size:14px}
.card{border:1px solid var(--line);border-radius:6px;padding:14px;background:#fff}
.appearance{display:grid;grid-template-columns:auto 1fr;gap:18px;align-items:start}
.appearance img{max-width:200px;height:auto;border:1px solid var(--line)}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.kv dt{color:var(--muted);font-weight:600}
dl.kv dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:14px}
th{text-align:left;background:var(--soft);color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
th,td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
td{overflow-wrap:anywhere}
td time,.flag,.badge{white-space:nowrap}
tr.recycled td{background:var(--red-bg)}
tr.earliest td{background:var(--green-bg)}
tr.unconfirmed td{color:var(--muted);font-style:italic}
.badge{display:inline-block;min-width:30px;text-align:center;font-weight:700;font-size:12px;color:#fff;background:var(--navy);border-radius:4px;padding:1px 6px;text-decoration:none}
.badge.possible{background:var(--amber)}
.flag{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;border-radius:4px;padding:0 6px;margin-left:4px}
.flag.red{color:var(--red);border:1px solid var(--red)}
.flag.amber{color:var(--amber);border:1px solid var(--amber)}
.flag.green{color:var(--green);border:1px solid var(--green)}
.muted,.none{color:var(--muted)}.none{font-style:italic}
q{quotes:"\201C" "\201D"}
.captions{list-style:none;margin:0;padding:0;display:grid;gap:10px}
.captions li.card{padding:12px 14px}
.captions .text{font-size:16px;font-weight:600}
.captions .meta{font-size:13px;color:var(--muted);margin:2px 0 6px}
.captions ul{margin:0;padding-left:18px;font-size:14px}
.gallery{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:14px}
.gallery .card{display:flex;flex-direction:column;gap:6px}
.gallery .pic{height:170px;display:flex;align-items:center;justify-content:center;background:var(--soft);border-radius:4px}
.gallery .pic img{max-width:100%;max-height:170px;width:auto;height:auto}
.gallery .pic .none{font-size:13px}
.outlined{position:relative;display:inline-block;line-height:0}
.outlined .region{position:absolute;border:2px solid #e8590c;box-shadow:0 0 0 1px #fff;box-sizing:border-box}
.gallery .title{font-weight:600}
.gallery ul{margin:0;padding-left:18px;font-size:13px}
.gallery .facts{font-size:13px;color:var(--muted)}
.frames{display:flex;flex-wrap:wrap;gap:6px}
.frames figure{margin:0;width:112px}
.frames img{width:112px;height:auto;display:block;border:1px solid var(--line)}
.frames figcaption{font-size:11px;color:var(--muted);line-height:1.3}
.two{display:grid;grid-template-columns:1fr 1fr;gap:24px}
footer{border-top:1px solid var(--line);color:var(--muted);font-size:12px;padding:12px 0 28px}
@media screen and (max-width:800px){.two,.verdict,.appearance{grid-template-columns:1fr}.gallery{grid-template-columns:1fr 1fr}.stats{grid-template-columns:1fr 1fr}}
@media screen and (max-width:600px){.wrap{padding:0 14px}td{overflow-wrap:break-word}
table.timeline,table.timeline tbody,table.timeline tr,table.timeline td{display:block;width:auto}
table.timeline thead{display:none}
table.timeline tr{border:1px solid var(--line);border-radius:6px;margin:0 0 10px;padding:4px 0}
table.timeline td{border:0;padding:3px 10px 3px calc(8em + 10px);position:relative;min-height:1.4em}
table.timeline td::before{content:attr(data-label);position:absolute;left:10px;width:7.5em;color:var(--muted);font-size:12px;line-height:1.9;text-transform:uppercase;letter-spacing:.04em}
.gallery{grid-template-columns:1fr}.verdict .hero{max-width:100%}.summary{font-size:17px}}
@media print{body{font-size:11px}.wrap{max-width:none;padding:0 8mm}header.top{padding:10px 0}
.verdict,.alert,.card,tr,dl.kv>*{break-inside:avoid}.stats{grid-template-columns:repeat(4,1fr)}.stat .num{font-size:15px}.summary{font-size:16px}h2{break-after:avoid}.gallery{grid-template-columns:repeat(3,1fr)}
.verdict .hero{max-width:180px;max-height:180px}}
@page{margin:12mm}
"#;

/// Writes `report` as a self-contained HTML page.
///
/// # Errors
/// Write errors.
pub fn write(r: &Report, out: &mut impl Write) -> io::Result<()> {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Provenance report: {}", r.target.name);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; \
         style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n",
    );
    h.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(&format!(
        "<meta name=\"generator\" content=\"firstseen {}\">\n",
        escape(r.method.version)
    ));
    h.push_str(&format!("<title>{}</title>\n", escape(&title)));
    h.push_str("<style>");
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n");

    // Masthead.
    let what = match r.target.kind {
        TargetKind::File => "File checked against the archive",
        TargetKind::Item => "Archived item",
    };
    h.push_str(&format!(
        "<header class=\"top\"><div class=\"wrap\">\
         <div class=\"kicker\">firstseen · Provenance report</div>\
         <h1>{}</h1>\
         <div class=\"sub\">{what} · SHA-256 <code>{}</code> · generated {}</div>\
         </div></header>\n<main class=\"wrap\">\n",
        escape(&r.target.name),
        r.media.sha256,
        escape(&r.generated_at)
    ));

    verdict(&mut h, r);
    if !r.recycled.is_empty() {
        recycled(&mut h, r);
    }
    earliest(&mut h, r);
    timeline(&mut h, r);
    captions(&mut h, r);
    gallery(&mut h, r);
    media_and_metadata(&mut h, r);
    method(&mut h, r);
    if !r.notes.is_empty() {
        h.push_str("<section><h2>Notes</h2><ul>");
        for n in &r.notes {
            h.push_str(&format!("<li>{}</li>", escape(n)));
        }
        h.push_str("</ul></section>\n");
    }
    h.push_str(&format!(
        "</main>\n<footer><div class=\"wrap\">Generated by firstseen {} on {} · schema {} · \
         This page contains no scripts and loads nothing from the network.</div></footer>\n\
         </body>\n</html>\n",
        escape(r.method.version),
        escape(&r.generated_at),
        escape(r.schema)
    ));
    out.write_all(h.as_bytes())
}

fn variant<'a>(r: &'a Report, label: &str) -> Option<&'a Variant> {
    r.variants.iter().find(|v| v.label == label)
}

fn badge(r: &Report, label: &str) -> String {
    let possible = variant(r, label).is_some_and(|v| !v.confirmed);
    format!(
        "<a class=\"badge{}\" href=\"#{}\">{}</a>",
        if possible { " possible" } else { "" },
        escape(&label.to_ascii_lowercase()),
        escape(label)
    )
}

fn verdict(h: &mut String, r: &Report) {
    let v = &r.verdict;
    let (class, pill) = match (v.status, v.recycled) {
        (Status::Known, true) => ("recycled", "Recycled media"),
        (Status::Known, false) => ("known", "Known"),
        (Status::Possible, _) => ("possible", "Possibly known"),
        (Status::Unknown, _) => ("unknown", "Not found"),
    };
    h.push_str(&format!("<section class=\"verdict {class}\">"));
    match &r.media.thumbnail {
        Some(t) => h.push_str(&img(t, "The picture this report is about", "hero")),
        None => h.push_str("<div></div>"),
    }
    h.push_str(&format!(
        "<div><span class=\"pill\">{pill}</span><p class=\"summary\">{}</p><div class=\"stats\">",
        escape(&v.summary)
    ));
    let earliest = r
        .earliest
        .as_ref()
        .map_or("—".to_string(), |e| day(&e.date));
    let stat = |num: String, lbl: &str| {
        format!(
            "<div class=\"stat\"><span class=\"num\">{num}</span><span class=\"lbl\">{lbl}</span></div>"
        )
    };
    h.push_str(&stat(earliest, "earliest known appearance"));
    h.push_str(&stat(v.sightings.to_string(), "sightings"));
    h.push_str(&stat(v.confirmed_variants.to_string(), "versions"));
    h.push_str(&stat(v.distinct_captions.to_string(), "distinct captions"));
    h.push_str("</div>");
    if v.possible_variants > 0 {
        h.push_str(&format!(
            "<p class=\"notice\"><strong>Unconfirmed:</strong> {} found only by pHash and dHash \
             (PDQ does not confirm {}); {} not counted above. Compare by eye.</p>",
            plural(v.possible_variants, "possible match", "possible matches"),
            if v.possible_variants == 1 {
                "it"
            } else {
                "them"
            },
            if v.possible_variants == 1 {
                "it is"
            } else {
                "they are"
            },
        ));
    }
    if let Some(p) = &r.post {
        let mut parts = Vec::new();
        if let Some(d) = &p.first_seen {
            parts.push(format!("dated {}", day(d)));
        }
        if p.source.is_some() {
            parts.push(format!("at {}", source(p.source.as_deref())));
        }
        if p.caption.is_some() {
            parts.push(format!("claiming {}", caption(p.caption.as_deref())));
        }
        let later = p
            .days_after_earliest
            .map(|d| {
                format!(
                    " — {} after the earliest known appearance",
                    escape(&wording::days(d))
                )
            })
            .unwrap_or_default();
        h.push_str(&format!(
            "<p class=\"post\"><strong>The post checked:</strong> {}{later}</p>",
            parts.join(", ")
        ));
    }
    h.push_str("</div></section>\n");
}

fn recycled(h: &mut String, r: &Report) {
    let Some(first) = &r.earliest else {
        return;
    };
    let with = first
        .caption
        .as_deref()
        .map(|c| format!(" with caption {}", caption(Some(c))))
        .unwrap_or_default();
    let at = first
        .source
        .as_deref()
        .map(|s| format!(" at {}", source(Some(s))))
        .unwrap_or_default();
    let least = r.recycled.first().map_or(0, |w| w.days_later);
    h.push_str(&format!(
        "<section class=\"alert\"><h2>⚠ Recycled-media warning</h2>\
         <p class=\"lead\"><strong>This {} circulated at least {} earlier:</strong> first seen \
         <time>{}</time>{at}{with}.</p><p>Seen again later:</p><ul>",
        if r.media.media_type == "video" {
            "video"
        } else {
            "image"
        },
        escape(&wording::days(least)),
        day(&first.date),
    ));
    for w in &r.recycled {
        h.push_str(&format!(
            "<li><time>{}</time>, {} later, at {} with {} {}</li>",
            day(&w.date),
            escape(&wording::days(w.days_later)),
            source(w.source.as_deref()),
            caption(w.caption.as_deref()),
            badge(r, &w.variant)
        ));
    }
    h.push_str("</ul></section>\n");
}

fn appearance_card(h: &mut String, r: &Report, a: &Appearance) {
    let v = variant(r, &a.variant);
    h.push_str("<div class=\"card appearance\">");
    match v.and_then(|v| v.thumbnail.as_ref()) {
        Some(t) => h.push_str(&img(t, &format!("Version {}", a.variant), "")),
        None => h.push_str("<div></div>"),
    }
    h.push_str(&format!(
        "<dl class=\"kv\"><dt>Date</dt><dd>{}</dd><dt>Source</dt><dd>{}</dd>\
         <dt>Caption</dt><dd>{}</dd><dt>Version</dt><dd>{} {}</dd>\
         <dt>SHA-256</dt><dd><code>{}</code></dd></dl></div>",
        date(&a.date, a.dated_by),
        source(a.source.as_deref()),
        caption(a.caption.as_deref()),
        badge(r, &a.variant),
        escape(&v.map(wording::variant_kind).unwrap_or_default()),
        a.sha256
    ));
}

fn earliest(h: &mut String, r: &Report) {
    h.push_str("<section><h2>Earliest known appearance</h2>");
    match &r.earliest {
        Some(a) => appearance_card(h, r, a),
        None => h.push_str("<p class=\"none\">No confirmed sighting in this archive.</p>"),
    }
    if let Some(p) = &r.earlier_possible {
        h.push_str(&format!(
            "<div class=\"notice\"><strong>Unconfirmed:</strong> a <em>possible</em> match \
             (pHash and dHash agree, PDQ does not) was seen{}. It does not count as the earliest \
             appearance until a person confirms it shows the same picture.</div>",
            if r.earliest.is_some() { " earlier" } else { "" }
        ));
        appearance_card(h, r, p);
    }
    h.push_str("</section>\n");
}

fn timeline(h: &mut String, r: &Report) {
    h.push_str("<section><h2>Timeline of sightings, oldest first</h2>");
    if r.timeline.is_empty() {
        h.push_str("<p class=\"none\">No sightings.</p></section>\n");
        return;
    }
    h.push_str(
        "<table class=\"timeline\"><thead><tr><th>Date</th><th>Version</th><th>Source</th>\
         <th>Caption</th><th>Match</th><th>Later than earliest</th></tr></thead><tbody>",
    );
    let first = r.earliest.as_ref().map(|e| e.sighting);
    for e in &r.timeline {
        row(h, r, e, first);
    }
    h.push_str("</tbody></table></section>\n");
}

fn row(h: &mut String, r: &Report, e: &TimelineEntry, first: Option<i64>) {
    let class = if !e.confirmed {
        "unconfirmed"
    } else if e.recycled {
        "recycled"
    } else if Some(e.sighting) == first {
        "earliest"
    } else {
        ""
    };
    let kind = variant(r, &e.variant)
        .map(wording::variant_kind)
        .unwrap_or_default();
    let mut flags = String::new();
    if Some(e.sighting) == first {
        flags.push_str("<span class=\"flag green\">earliest</span>");
    }
    if !e.confirmed {
        flags.push_str("<span class=\"flag amber\">unconfirmed</span>");
    }
    let later = match e.days_after_earliest {
        Some(d) if d > 0 => {
            let mut s = escape(&wording::days(d));
            if e.recycled {
                s.push_str("<span class=\"flag red\">recycled</span>");
            }
            s
        }
        _ => "<span class=\"muted\">—</span>".to_string(),
    };
    let mut cap = caption(e.caption.as_deref());
    if let Some(n) = &e.note {
        cap.push_str(&format!(
            "<br><span class=\"muted\">Note: {}</span>",
            escape(n)
        ));
    }
    if let Some(i) = &e.imported_from {
        cap.push_str(&format!(
            "<br><span class=\"muted\">Imported from {}</span>",
            escape(i)
        ));
    }
    for c in &e.corrections {
        cap.push_str(&format!(
            "<br><span class=\"muted\">Corrected {}: {} was {}{}</span>",
            escape(crate::time::day(&c.made_at)),
            escape(&c.field.name().replace('_', "-")),
            c.was.as_deref().map_or("empty".to_string(), |w| format!(
                "&ldquo;{}&rdquo;",
                escape(w)
            )),
            c.reason
                .as_deref()
                .map(|r| format!(" ({})", escape(r)))
                .unwrap_or_default()
        ));
    }
    let distance = e
        .distance
        .filter(|_| e.kind != MatchKind::Exact)
        .map(|d| format!("<br><span class=\"muted\">PDQ distance {d}</span>"))
        .unwrap_or_default();
    h.push_str(&format!(
        "<tr class=\"{class}\"><td data-label=\"Date\">{}{flags}</td>\
         <td data-label=\"Version\">{}</td><td data-label=\"Source\">{}</td>\
         <td data-label=\"Caption\">{cap}</td><td data-label=\"Match\">{}{distance}</td>\
         <td data-label=\"Later than earliest\">{later}</td></tr>",
        date(&e.date, e.dated_by),
        badge(r, &e.variant),
        source(e.source.as_deref()),
        escape(&kind)
    ));
}

fn captions(h: &mut String, r: &Report) {
    h.push_str("<section><h2>Caption variants</h2>");
    if r.captions.is_empty() {
        h.push_str("<p class=\"none\">No sightings, so no captions.</p></section>\n");
        return;
    }
    h.push_str("<ul class=\"captions\">");
    for g in &r.captions {
        let text = match &g.caption {
            Some(c) => format!("<q>{}</q>", escape(c)),
            None => "<span class=\"none\">Without a caption</span>".to_string(),
        };
        let span = if crate::time::day(&g.first_date) == crate::time::day(&g.last_date) {
            day(&g.first_date)
        } else {
            format!("{} – {}", day(&g.first_date), day(&g.last_date))
        };
        let badges: Vec<String> = g.variants.iter().map(|l| badge(r, l)).collect();
        h.push_str(&format!(
            "<li class=\"card\"><div class=\"text\">{text}{}</div>\
             <div class=\"meta\">{} · {span} · {}</div><ul>",
            if g.confirmed {
                ""
            } else {
                "<span class=\"flag amber\">unconfirmed</span>"
            },
            plural(g.sightings.len(), "sighting", "sightings"),
            badges.join(" ")
        ));
        for id in &g.sightings {
            if let Some(e) = r.timeline.iter().find(|e| e.sighting == *id) {
                h.push_str(&format!(
                    "<li><time>{}</time> at {}</li>",
                    day(&e.date),
                    source(e.source.as_deref())
                ));
            }
        }
        h.push_str("</ul></li>");
    }
    h.push_str("</ul></section>\n");
}

fn gallery(h: &mut String, r: &Report) {
    h.push_str("<section><h2>Versions in the archive</h2>");
    if r.variants.is_empty() {
        h.push_str("<p class=\"none\">None: nothing in this archive matches.</p></section>\n");
        return;
    }
    h.push_str("<div class=\"gallery\">");
    for v in &r.variants {
        let pic = match &v.thumbnail {
            Some(t) => outlined(img(t, &format!("Version {}", v.label), ""), v),
            None => "<span class=\"none\">no picture kept</span>".to_string(),
        };
        let dims = match (v.width, v.height) {
            (Some(w), Some(h)) => format!(" {w}×{h}"),
            _ => String::new(),
        };
        let distance = v
            .distance
            .map(|d| format!(" · PDQ distance {d}"))
            .unwrap_or_default();
        let via = v
            .via
            .map(|s| format!(" (via {})", &s.to_hex()[..12]))
            .unwrap_or_default();
        let mut changes = String::new();
        for c in &v.changes {
            changes.push_str(&format!("<li>{}</li>", escape(c)));
        }
        let frames = frames_strip(v);
        h.push_str(&format!(
            "<div class=\"card\" id=\"{}\"><div class=\"pic\">{pic}</div>\
             <div class=\"title\">{} {}{}</div><ul>{changes}</ul>{frames}\
             <div class=\"facts\">{}{dims}{distance}{via}<br>{} · first seen {}<br>\
             <code>{}</code></div></div>",
            escape(&v.label.to_ascii_lowercase()),
            badge(r, &v.label),
            escape(&wording::variant_kind(v)),
            if v.confirmed {
                ""
            } else {
                "<span class=\"flag amber\">unconfirmed</span>"
            },
            escape(&v.format),
            plural(v.sightings, "sighting", "sightings"),
            v.first_seen.as_deref().map_or("—".to_string(), day),
            v.sha256
        ));
    }
    h.push_str("</div></section>\n");
}

/// Seconds as `6.0 s` and spans as `6.0–7.0 s`.
fn secs(s: f64) -> String {
    format!("{s:.1} s")
}

/// The matching frames of a variant, with their times.
fn frames_strip(v: &Variant) -> String {
    if v.frames.is_empty() {
        return String::new();
    }
    let mut out = String::from("<div class=\"frames\">");
    for f in &v.frames {
        let when = match (f.query_secs, f.archived) {
            (Some(q), Some((a, b))) => format!("here {} = there {:.1}–{}", secs(q), a, secs(b)),
            (Some(q), None) => format!("at {} here", secs(q)),
            (None, Some((a, b))) => format!("at {:.1}–{}", a, secs(b)),
            (None, None) => String::new(),
        };
        let pic = f
            .thumbnail
            .as_ref()
            .map(|t| img(t, &format!("Matching frame {when}"), ""))
            .unwrap_or_default();
        out.push_str(&format!(
            "<figure>{pic}<figcaption>{} · d {}</figcaption></figure>",
            escape(&when),
            f.distance
        ));
    }
    out.push_str("</div>");
    out
}

fn media_and_metadata(h: &mut String, r: &Report) {
    let m = &r.media;
    h.push_str("<section class=\"two\"><div><h2>The media</h2><dl class=\"kv\">");
    h.push_str(&format!(
        "<dt>SHA-256</dt><dd><code>{}</code></dd>",
        m.sha256
    ));
    if let Some(p) = &m.pdq {
        h.push_str(&format!(
            "<dt>PDQ</dt><dd><code>{}</code><br>quality {}</dd>",
            p.hash, p.quality
        ));
    }
    if let (Some(p), Some(d)) = (&m.phash, &m.dhash) {
        h.push_str(&format!(
            "<dt>pHash</dt><dd><code>{p}</code></dd><dt>dHash</dt><dd><code>{d}</code></dd>"
        ));
    }
    h.push_str(&format!(
        "<dt>Type</dt><dd>{} {}</dd>",
        escape(&m.media_type),
        escape(&m.format)
    ));
    if let (Some(w), Some(hh)) = (m.width, m.height) {
        h.push_str(&format!("<dt>Dimensions</dt><dd>{w} × {hh} pixels</dd>"));
    }
    if let Some(v) = &m.video {
        h.push_str(&format!(
            "<dt>Video</dt><dd>{} {}, {:.1} s, {} frames kept</dd>",
            escape(&v.container),
            escape(&v.codec),
            v.duration_secs,
            v.frames_kept
        ));
    }
    if let Some(b) = m.byte_size {
        h.push_str(&format!("<dt>Size</dt><dd>{b} bytes</dd>"));
    }
    if let Some(o) = m.exif_orientation.filter(|&o| o > 1) {
        h.push_str(&format!(
            "<dt>Orientation</dt><dd>EXIF orientation {o} applied before hashing</dd>"
        ));
    }
    h.push_str("</dl></div><div><h2>Metadata carried by the file</h2>");
    h.push_str(
        "<p class=\"claims-note\"><strong>Claims made by the file itself.</strong> Anyone can write, \
         edit or strip metadata, and most platforms strip it on upload: it is not evidence of when, \
         where or by whom the picture was taken.</p>",
    );
    match &r.metadata {
        None => h.push_str(
            "<p class=\"none\">Not read: the file's bytes are not at hand, or it is a video.</p>",
        ),
        Some(md) if md.claims.is_empty() => h.push_str(&format!(
            "<p class=\"none\">No date, camera, location, caption, credit or copyright claims \
             found{}.</p>",
            if md.blocks.is_empty() {
                " (no EXIF, XMP or IPTC block)".to_string()
            } else {
                format!(" (blocks present: {})", escape(&md.blocks.join(", ")))
            }
        )),
        Some(md) => {
            h.push_str("<table><thead><tr><th>Claim</th><th>Value</th><th>Read from</th></tr></thead><tbody>");
            for c in &md.claims {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
                    escape(c.label),
                    escape(&c.value),
                    escape(&c.sources.join(", "))
                ));
            }
            h.push_str("</tbody></table>");
        }
    }
    h.push_str("</div></section>\n");
}

fn method(h: &mut String, r: &Report) {
    let me = &r.method;
    let t = &me.thresholds;
    let a = &me.archive;
    h.push_str("<section><h2>Method</h2><dl class=\"kv\">");
    h.push_str(&format!(
        "<dt>Tool</dt><dd>firstseen {} (report schema {})</dd>",
        escape(me.version),
        escape(r.schema)
    ));
    for hm in &me.hashes {
        h.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>",
            escape(hm.name),
            escape(&hm.description)
        ));
    }
    h.push_str(&format!(
        "<dt>Thresholds</dt><dd>PDQ match at Hamming distance ≤ {} of 256 bits; PDQ quality below {} \
         needs pHash or dHash ≤ {} of 64; any other candidate (shared local features, or pHash ≤ {} \
         and dHash ≤ {} of 64) is confirmed only by at least {} corners in one geometric \
         arrangement spread over {:.0}% of the shared area; recycled when first seen more than {} \
         days after the earliest appearance.</dd>",
        t.pdq_max_distance,
        t.pdq_min_quality,
        t.corroborating_distance,
        t.nominate_phash,
        t.nominate_dhash,
        t.feature_min_inliers,
        t.feature_min_spread * 100.0,
        t.recycled_days
    ));
    let head = match (a.chain_length, &a.chain_head) {
        (Some(n), Some(hash)) => format!("<br>log head <code>{hash}</code> ({n} entries)"),
        _ => String::new(),
    };
    h.push_str(&format!(
        "<dt>Archive</dt><dd>{} items, {} sightings, {} variant links{head}</dd>",
        a.items, a.sightings, a.variant_links
    ));
    h.push_str(
        "<dt>Rules</dt><dd>Versions are the target and every item linked to it by near-duplicate \
         links (made when archiving from confirmed matches), followed transitively. Nothing \
         unconfirmed is reported: a candidate that fails the feature check is left out. A sighting is dated by its first-seen \
         date, or else by when it was archived; only first-seen dates raise the warning. File \
         metadata is never used for dating.</dd>",
    );
    h.push_str("</dl></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(escape("it's a & b"), "it&#39;s a &amp; b");
        assert_eq!(escape("a\u{0}b\u{1b}[31m"), "ab[31m");
    }

    #[test]
    fn only_http_sources_are_links() {
        assert_eq!(
            source(Some("javascript:alert(1)")),
            "<span class=\"text-source\">javascript:alert(1)</span>"
        );
        assert_eq!(
            source(Some("https://example.org/?a=1&b=<2>")),
            "<span class=\"text-source\">https://example.org/?a=1&amp;b=&lt;2&gt;</span>"
        );
        assert_eq!(
            source(Some("https://example.org/?a=1&b=2")),
            "<a href=\"https://example.org/?a=1&amp;b=2\" rel=\"noopener noreferrer\">\
             https://example.org/?a=1&amp;b=2</a>"
        );
    }
}
