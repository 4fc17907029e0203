//! The pages, as maud templates: every value is escaped unless it is
//! wrapped in `PreEscaped`, which only ever holds this file's own
//! literals. No inline script or style (the Content-Security-Policy
//! forbids both); every control has a label; forms work without
//! JavaScript (`/static/app.js` adds drag-and-drop and upload progress).

use axum::http::StatusCode;
use base64::Engine as _;
use firstseen::report::wording;
use firstseen::report::{self, Appearance, Report, Status, Thumbnail, Variant};
use firstseen::store::search::SearchResults;
use firstseen::store::{Item, Sighting, StoredFrame};
use maud::{DOCTYPE, Markup, html};

use super::guard::Csrf;
use super::work::{Archived, Checked, PostFields, SearchParams};

/// What a form field is called on the page, for errors about it.
pub fn field_label(name: &str) -> String {
    match name {
        "first_seen" => "first seen".to_string(),
        "csrf" => "security token".to_string(),
        other => other
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(40)
            .collect(),
    }
}

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — firstseen" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "firstseen" }
                    nav aria-label="Main" {
                        a href="/" { "Check" }
                        a href="/archive" { "Archive" }
                        a href="/search" { "Search" }
                        a href="/status" { "Status" }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// A short SHA-256 for display.
fn short(sha: &impl ToString) -> String {
    sha.to_string().chars().take(12).collect()
}

fn data_uri(t: &Thumbnail) -> String {
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&t.jpeg)
    )
}

fn thumb(t: Option<&Thumbnail>, alt: &str) -> Markup {
    html! {
        @match t {
            Some(t) => img src=(data_uri(t)) width=(t.width) height=(t.height) alt=(alt);,
            None => span.nothumb { "no picture" },
        }
    }
}

/// A source: a link when it is a plain http(s) URL, else text.
fn source(s: Option<&str>) -> Markup {
    html! {
        @match s {
            None => span.none { "no source recorded" },
            Some(s) => @match report::link_target(s) {
                Some(url) => a href=(url) rel="noopener noreferrer nofollow" { (s) },
                None => span { (s) },
            },
        }
    }
}

fn csrf_field(csrf: &Csrf) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf.0); }
}

/// The four sighting fields, each labelled; `prefix` keeps ids unique
/// when a page holds several forms.
fn sighting_fields(prefix: &str, given: &PostFields, note: bool) -> Markup {
    let id = |f: &str| format!("{prefix}-{f}");
    html! {
        div.field {
            label for=(id("source")) { "Source (URL or description)" }
            input #(id("source")) type="text" name="source" value=[given.source.as_deref()] maxlength="16384";
        }
        div.field {
            label for=(id("caption")) { "Caption or claim" }
            textarea #(id("caption")) name="caption" rows="2" { (given.caption.as_deref().unwrap_or_default()) }
        }
        div.field {
            label for=(id("first_seen")) { "First seen (date or date and time)" }
            input #(id("first_seen")) type="text" name="first_seen" placeholder="2026-01-27 or 2026-01-27T09:30:00Z" value=[given.first_seen.as_deref()];
        }
        @if note {
            div.field {
                label for=(id("note")) { "Note" }
                textarea #(id("note")) name="note" rows="2" {}
            }
        }
    }
}

fn sighting_summary(s: &Sighting) -> Markup {
    html! {
        span.date { (s.effective_date()) }
        @if s.first_seen.is_none() { " " span.muted { "(archived; no first-seen given)" } }
        " · " (source(s.source.as_deref()))
        @if let Some(c) = &s.caption { " · " q.caption { (c) } }
    }
}

/// The home page: the check form and the latest sightings.
pub fn home(csrf: &Csrf, recent: &[(Sighting, firstseen::hash::Sha256)]) -> Markup {
    layout(
        "Check",
        html! {
            h1 { "Have we seen this before?" }
            form #check-form .upload action="/check" method="post" enctype="multipart/form-data" data-progress="check" {
                (csrf_field(csrf))
                div.drop #drop {
                    label for="check-files" { "Photos or videos to check" }
                    input #check-files type="file" name="file" multiple required accept="image/*,video/*";
                    p.hint { "Pick files, or drop them here." }
                }
                details {
                    summary { "Describe the post being checked (optional)" }
                    p.hint { "The verdict is then said against this post: a warning when it is far later than the earliest known appearance." }
                    (sighting_fields("post", &PostFields::default(), false))
                }
                progress.bar hidden max="100" value="0" aria-label="Upload progress" { "uploading" }
                button type="submit" { "Check" }
            }
            section aria-labelledby="recent-h" {
                h2 #recent-h { "Latest sightings" }
                @if recent.is_empty() {
                    p { "Nothing archived yet. " a href="/archive" { "Archive a photo or video" } "." }
                }
                ul.list {
                    @for (s, sha) in recent {
                        li {
                            a href=(format!("/item/{sha}")) { code { (short(sha)) } }
                            " " (sighting_summary(s))
                        }
                    }
                }
            }
        },
    )
}

fn verdict_word(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Known => ("known", "Known"),
        Status::Possible => ("possible", "Possible match: confirm by eye"),
        Status::Unknown => ("unknown", "Not found"),
    }
}

fn appearance(a: &Appearance) -> Markup {
    html! {
        dl.facts {
            dt { "Date" } dd.date { (a.date) @if a.dated_by == report::DatedBy::Archived { " (archived; no first-seen given)" } }
            dt { "Source" } dd { (source(a.source.as_deref())) }
            dt { "Caption" } dd { @match &a.caption { Some(c) => q.caption { (c) }, None => span.none { "none recorded" } } }
            dt { "Item" } dd { a href=(format!("/item/{}", a.sha256)) { code { (short(&a.sha256)) } } " (" (a.variant) ")" }
        }
    }
}

fn variant_card(v: &Variant) -> Markup {
    let confirmed = if v.confirmed { "confirmed" } else { "possible" };
    html! {
        li.variant {
            figure {
                (thumb(v.thumbnail.as_ref(), &format!("archived version {}", v.label)))
                figcaption {
                    strong { (v.label) } " · " span class=(confirmed) { (confirmed) }
                }
            }
            dl.facts {
                dt { "Match" } dd { (wording::variant_kind_brief(v)) }
                dt { "Item" } dd { a href=(format!("/item/{}", v.sha256)) { code { (short(&v.sha256)) } } " " (v.format)
                    @if let (Some(w), Some(h)) = (v.width, v.height) { " " (w) "×" (h) } }
                @if let Some(e) = v.evidence { dt { "Confirmed by" } dd { (wording::evidence(e)) } }
                @if !v.edits.is_empty() { dt { "What changed" } dd { (wording::edits(&v.edits)) } }
                @else if !v.changes.is_empty() { dt { "What differs" } dd { (v.changes.join("; ")) } }
                @if let Some(d) = v.distance { dt { "PDQ distance" } dd { (d) " of 256" } }
                @if let Some(f) = &v.first_seen { dt { "First seen" } dd.date { (f) } }
                dt { "Sightings" } dd { (v.sightings) }
            }
            @if v.frames.iter().any(|f| f.thumbnail.is_some()) {
                ul.frames.matched aria-label="Matching frames" {
                    @for f in v.frames.iter().filter(|f| f.thumbnail.is_some()).take(6) {
                        li { figure {
                            (thumb(f.thumbnail.as_ref(), "a matching frame"))
                            figcaption {
                                @match (f.query_secs, f.archived) {
                                    (Some(q), Some((a, b))) => { (format!("here {q:.1} s = there {a:.1}–{b:.1} s")) },
                                    (Some(q), None) => { (format!("here at {q:.1} s")) },
                                    (None, Some((a, b))) => { (format!("at {a:.1}–{b:.1} s")) },
                                    (None, None) => {},
                                }
                                ", distance " (f.distance)
                            }
                        } }
                    }
                }
            }
        }
    }
}

/// The verdict, the post's warning, the earliest appearance and the
/// variants of a report: the check result's body, and the item page's
/// report section.
fn report_body(r: &Report, own: Option<&Thumbnail>) -> Markup {
    let (class, word) = verdict_word(r.verdict.status);
    html! {
        @let recycled_post = r.post.as_ref().is_some_and(|p| p.recycled);
        p.verdict-line {
            span class=(format!("verdict {class}")) data-verdict=(class) { (word) }
            @if !recycled_post { " " (r.verdict.summary) }
        }
        @if recycled_post {
            // The summary says it: recycled media, against the post.
            p.warning role="alert" { (r.verdict.summary) }
        }
        @if let Some(d) = r.post.as_ref().filter(|p| !p.recycled).and_then(|p| p.days_after_earliest).filter(|d| *d > 0) {
            p.hint { "This post is " (wording::days(d)) " after the earliest known appearance." }
        }
        @for w in &r.recycled {
            p.warning { (w.message) }
        }
        @if let Some(e) = &r.earliest {
            h3 { "Earliest known appearance" }
            (appearance(e))
        }
        @if let Some(e) = &r.earlier_possible {
            h3 { "Earlier possible match (not confirmed)" }
            (appearance(e))
        }
        @let others: Vec<&Variant> = r.variants.iter().filter(|v| Some(v.sha256) != r.target.archived_item || r.target.kind == report::TargetKind::File).collect();
        @if !others.is_empty() {
            div.compare {
                figure.own {
                    (thumb(own, "the checked picture"))
                    figcaption { "This file" }
                }
                ul.variants { @for v in others { (variant_card(v)) } }
            }
        }
        @for n in &r.notes { p.note { (n) } }
    }
}

/// The page after a check: one section per file.
pub fn check_results(
    csrf: &Csrf,
    results: &[(Checked, Option<String>)],
    post: &PostFields,
    problem: Option<&str>,
) -> Markup {
    layout(
        "Check results",
        html! {
            h1 { "Check results" }
            @if let Some(p) = problem {
                p.warning role="alert" { "The post's details could not be used (" (p) "): the files were checked without them." }
            }
            @for (n, (c, pending)) in results.iter().enumerate() {
                section.result #(format!("result-{n}")) aria-labelledby=(format!("result-{n}-h")) {
                    h2 #(format!("result-{n}-h")) { (c.file.name) }
                    @match &c.report {
                        Err(e) => p.error role="alert" { "Could not check this file: " (e) },
                        Ok(r) => {
                            (report_body(r, r.media.thumbnail.as_ref()))
                            @if let Some(id) = pending {
                                form.archive-this action="/archive" method="post" enctype="multipart/form-data" {
                                    (csrf_field(csrf))
                                    input type="hidden" name="pending" value=(id);
                                    fieldset {
                                        legend { "Archive this file as a new sighting" }
                                        (sighting_fields(&format!("a{n}"), post, true))
                                        button type="submit" { "Archive" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { a href="/" { "Check more files" } }
        },
    )
}

/// The archive form.
pub fn archive_form(csrf: &Csrf) -> Markup {
    layout(
        "Archive",
        html! {
            h1 { "Archive photos or videos" }
            p.hint { "Each file is stored with its hashes and one sighting: where it was found, what it claimed, when it was first seen." }
            form #archive-form .upload action="/archive" method="post" enctype="multipart/form-data" data-progress="archive" {
                (csrf_field(csrf))
                div.drop {
                    label for="archive-files" { "Files" }
                    input #archive-files type="file" name="file" multiple required accept="image/*,video/*";
                    p.hint { "Pick files, or drop them here." }
                }
                (sighting_fields("archive", &PostFields::default(), true))
                progress.bar hidden max="100" value="0" aria-label="Upload progress" { "uploading" }
                button type="submit" { "Archive" }
            }
        },
    )
}

/// The page after archiving.
pub fn archived(outcomes: &[Archived], summary: &firstseen::pipeline::Summary) -> Markup {
    use firstseen::pipeline::ArchiveOutcome;
    layout(
        "Archived",
        html! {
            h1 { "Archived" }
            p.summary { (summary.new_items) " new item(s), " (summary.new_sightings) " new sighting(s) of known items, "
                (summary.already_recorded) " already recorded, " (summary.failed) " failed" }
            ul.list.outcomes {
                @for o in outcomes {
                    @match o {
                        ArchiveOutcome::Archived { path, sha256, result, variant_of, sightings, warnings, .. } => li data-result=(result) {
                            a href=(format!("/item/{sha256}")) { (path.display().to_string()) }
                            " — " (match *result { "new_item" => "new item".to_string(), "new_sighting" => format!("seen again ({sightings} sightings)"), _ => "already recorded".to_string() })
                            @for l in variant_of { br; "near-duplicate of " a href=(format!("/item/{}", l.sha256)) { code { (short(&l.sha256)) } } ": " (wording::relation(l.relation)) ", PDQ distance " (l.distance) }
                            @for w in warnings { br; span.warning { (w) } }
                        },
                        ArchiveOutcome::Failed { error, .. } => li.error role="alert" { (error) },
                    }
                }
            }
            p { a href="/archive" { "Archive more" } " · " a href="/" { "Check a file" } }
        },
    )
}

/// The search form and a page of results.
pub fn search(p: &SearchParams, found: &SearchResults, base: &str) -> Markup {
    let offset = p.offset.unwrap_or(0).min(super::work::MAX_OFFSET);
    let size = p.page_size();
    let oldest = p.order.as_deref() == Some("oldest");
    let page_link = |offset: usize| {
        let mut q = url_query(p);
        q.push(("offset".to_string(), offset.to_string()));
        format!("{base}?{}", encode_query(&q))
    };
    layout(
        "Search",
        html! {
            h1 { "Search the archive" }
            form.search action="/search" method="get" role="search" {
                div.field { label for="q" { "Words (captions, sources, notes, file names)" }
                    input #q type="search" name="q" value=[p.q.as_deref()]; }
                div.row {
                    div.field { label for="s-source" { "Source contains" } input #s-source type="text" name="source" value=[p.source.as_deref()]; }
                    div.field { label for="s-caption" { "Caption words" } input #s-caption type="text" name="caption" value=[p.caption.as_deref()]; }
                }
                div.row {
                    div.field { label for="since" { "Seen on or after" } input #since type="date" name="since" value=[p.since.as_deref()]; }
                    div.field { label for="until" { "Seen on or before" } input #until type="date" name="until" value=[p.until.as_deref()]; }
                    div.field { label for="kind" { "Kind" }
                        select #kind name="kind" {
                            option value="any" selected[p.kind.as_deref().is_none_or(|k| k == "any")] { "Photos and videos" }
                            option value="image" selected[p.kind.as_deref() == Some("image")] { "Photos" }
                            option value="video" selected[p.kind.as_deref() == Some("video")] { "Videos" }
                        }
                    }
                    div.field { label for="order" { "Order" }
                        select #order name="order" {
                            option value="newest" selected[!oldest] { "Newest first" }
                            option value="oldest" selected[oldest] { "Oldest first" }
                        }
                    }
                }
                button type="submit" { "Search" }
            }
            @if found.hits.is_empty() { p #no-results { "Nothing found." } }
            ol.list.hits start=(offset + 1) {
                @for h in &found.hits {
                    li {
                        a href=(format!("/item/{}", h.item.sha256)) { code { (short(&h.item.sha256)) } }
                        " " (h.item.media_type) " " (h.item.format) " · "
                        (sighting_summary(&h.earliest))
                        " · " (h.matching) " of " (h.sightings) " sighting(s) match"
                    }
                }
            }
            nav.pages aria-label="Pages" {
                @if offset > 0 { a rel="prev" href=(page_link(offset.saturating_sub(size))) { "← Previous" } }
                @if found.more { a rel="next" href=(page_link(offset + size)) { "Next →" } }
            }
        },
    )
}

fn url_query(p: &SearchParams) -> Vec<(String, String)> {
    let mut q = Vec::new();
    for (k, v) in [
        ("q", &p.q),
        ("source", &p.source),
        ("caption", &p.caption),
        ("since", &p.since),
        ("until", &p.until),
        ("kind", &p.kind),
        ("order", &p.order),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            q.push((k.to_string(), v.to_string()));
        }
    }
    if let Some(l) = p.limit {
        q.push(("limit".to_string(), l.to_string()));
    }
    q
}

fn encode_query(q: &[(String, String)]) -> String {
    q.iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters.
fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the item page shows.
pub struct ItemPage<'a> {
    /// The item.
    pub item: &'a Item,
    /// Its sightings, oldest first, corrections applied.
    pub sightings: &'a [Sighting],
    /// Its report (thumbnails included).
    pub report: &'a Report,
    /// Its kept video frames (shown as pictures from `/frame/…`).
    pub frames: &'a [StoredFrame],
    /// Whether its bytes can be downloaded.
    pub downloadable: bool,
}

/// An item: pictures, sightings with corrections, report, downloads.
pub fn item(csrf: &Csrf, page: &ItemPage<'_>) -> Markup {
    let item = page.item;
    let sha = item.sha256.to_string();
    html! {
        (layout(&format!("Item {}", short(&sha)), html! {
            h1 { "Item " code { (short(&sha)) } }
            div.item-head {
                figure.own {
                    (thumb(page.report.media.thumbnail.as_ref(), "the archived picture"))
                    figcaption { (item.media_type) " " (item.format)
                        @if let (Some(w), Some(h)) = (item.width, item.height) { " " (w) "×" (h) }
                        @if let Some(b) = item.byte_size { ", " (b) " bytes" } }
                }
                dl.facts {
                    dt { "SHA-256" } dd { code.wrap { (sha) } }
                    @if let Some(p) = &item.pdq { dt { "PDQ" } dd { code.wrap { (p.hash.to_string()) } " (quality " (p.quality) ")" } }
                    dt { "Added" } dd { (item.added_at) }
                    dt { "Downloads" } dd.downloads {
                        a href=(format!("/item/{sha}/report.html?download=1")) download { "Report (HTML)" } " "
                        a href=(format!("/item/{sha}/report.json?download=1")) download { "Report (JSON)" } " "
                        a href=(format!("/item/{sha}/report.md?download=1")) download { "Report (Markdown)" } " "
                        a href=(format!("/item/{sha}/manifest.jsonl")) download { "Manifest entry" } " "
                        @if page.downloadable { a href=(format!("/object/{sha}")) download { "Original file" } }
                        " " a href=(format!("/item/{sha}/report.html")) { "Open the report" }
                    }
                }
            }
            @if !page.frames.is_empty() {
                section aria-labelledby="frames-h" {
                    h2 #frames-h { "Frames (" (page.frames.len()) ")" }
                    ul.frames {
                        @for f in page.frames.iter().take(48) {
                            li { figure {
                                img src=(format!("/frame/{sha}/{}", f.seq)) alt=(format!("frame at {:.1} s", f.start_secs)) loading="lazy" width="160";
                                figcaption { (format!("{:.1}–{:.1} s", f.start_secs, f.end_secs)) }
                            } }
                        }
                    }
                }
            }
            section aria-labelledby="sightings-h" {
                h2 #sightings-h { "Sightings, oldest first (" (page.sightings.len()) ")" }
                ol.list.sightings {
                    @for s in page.sightings {
                        li.sighting data-retracted=[s.retracted.as_ref().map(|_| "yes")] {
                            (sighting_summary(s))
                            @if let Some(f) = &s.file_name { " · file " span.file { (f) } }
                            @if let Some(n) = &s.note { br; span.note { "Note: " (n) } }
                            br; span.muted { "archived " (s.archived_at) }
                            @for c in &s.corrections {
                                br; span.correction { "Corrected " (c.field.name().replace('_', "-")) " on " (c.made_at) ": was "
                                    @match &c.was { Some(w) => q { (w) }, None => "empty" }
                                    @if let Some(r) = &c.reason { " (" (r) ")" } }
                            }
                            @if let Some(r) = &s.retracted {
                                br; span.warning { "Retracted on " (r.made_at) @if let Some(w) = &r.reason { ": " (w) } }
                            }
                        }
                    }
                }
                form.sight action=(format!("/item/{sha}/sighting")) method="post" enctype="multipart/form-data" {
                    (csrf_field(csrf))
                    fieldset {
                        legend { "Record another sighting (without the file)" }
                        (sighting_fields("sight", &PostFields::default(), true))
                        button type="submit" { "Record sighting" }
                    }
                }
            }
            section aria-labelledby="report-h" {
                h2 #report-h { "Provenance report" }
                (report_body(page.report, page.report.media.thumbnail.as_ref()))
                @if !page.report.timeline.is_empty() {
                    h3 { "Timeline of every version" }
                    ol.list.timeline {
                        @for t in &page.report.timeline {
                            li {
                                span.date { (t.date) } " · " (t.variant) " · " (source(t.source.as_deref()))
                                @if let Some(c) = &t.caption { " · " q.caption { (c) } }
                                @if t.recycled { " " span.warning { "recycled" } }
                            }
                        }
                    }
                }
            }
        }))
    }
}

/// Counts, chain head, last verify.
pub fn status(
    csrf: &Csrf,
    dir: &std::path::Path,
    s: &firstseen::store::exchange::Status,
    last: Option<&firstseen::store::verify::LastVerify>,
) -> Markup {
    layout(
        "Status",
        html! {
            h1 { "Archive status" }
            dl.facts #status {
                dt { "Archive" } dd { code.wrap { (dir.display().to_string()) } }
                dt { "Items" } dd #items { (s.items) " (" (s.items_stored) " stored; " (s.videos) " video(s))" }
                dt { "Sightings" } dd #sightings { (s.sightings) " (" (s.sightings_imported) " imported)" }
                dt { "Variant links" } dd { (s.variant_links) }
                dt { "Hash lists" } dd { (s.listed_hashes) " hashes in " (s.hash_lists) " list(s)" }
                dt { "Chain head" } dd #chain { @match &s.chain {
                    Some(h) => { code.wrap { (h.hash.to_string()) } " (" (h.length) " entries)" },
                    None => "empty: nothing recorded yet",
                } }
                dt { "Last verify" } dd #last-verify { @match last {
                    Some(v) => { (v.at) ": " @if v.problems == 0 { "no problems" } @else { span.warning { (v.problems) " problem(s)" } }
                        " (" (v.items) " items, " (v.chain_entries) " chain entries)" },
                    None => "never verified",
                } }
            }
            form action="/verify" method="post" {
                (csrf_field(csrf))
                button type="submit" { "Verify now" }
                p.hint { "Checks every object against its SHA-256, the catalog and the hash chain (reads everything: minutes on a large archive)." }
            }
        },
    )
}

/// The page for a failed request.
pub fn error_page(status: StatusCode, message: &str) -> Markup {
    layout(
        "Error",
        html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
            p.error role="alert" { (message) }
            p { a href="/" { "Back to the check page" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_is_escaped() {
        let page = error_page(StatusCode::BAD_REQUEST, "<script>alert(1)</script>").into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let link = source(Some("javascript:alert(1)")).into_string();
        assert!(!link.contains("href"));
        let link = source(Some("https://example.org/a?b=\"c\"")).into_string();
        assert!(!link.contains("href"), "a quote makes it text: {link}");
    }

    #[test]
    fn page_links_encode_every_value() {
        let p = SearchParams {
            q: Some("a&b=c d".into()),
            ..SearchParams::default()
        };
        assert_eq!(encode_query(&url_query(&p)), "q=a%26b%3Dc%20d");
    }
}
