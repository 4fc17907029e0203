//! The page handlers: read the request, call [`super::work`] (or the
//! library) on a blocking thread, render [`super::pages`].

use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use firstseen::report;
use firstseen::store::Archive;
use maud::Markup;

use super::AppState;
use super::error::Failure;
use super::guard::{Csrf, check_form};
use super::pages;
use super::upload::{self, Form};
use super::work::{self, PostFields, SearchParams, blocking};

type Page = Result<Markup, Failure>;

/// Reads a multipart form and checks its CSRF field (the uploads go
/// with the form when it fails).
async fn form(state: &AppState, csrf: &Csrf, multipart: Multipart) -> Result<Form, Failure> {
    let form = upload::read(
        multipart,
        state.uploads.path(),
        state.max_files,
        state.limits.max_bytes,
    )
    .await?;
    check_form(csrf, form.fields.get("csrf").map(String::as_str))?;
    Ok(form)
}

/// `GET /`: the check form and the latest sightings.
pub async fn home(State(state): State<Arc<AppState>>, Extension(csrf): Extension<Csrf>) -> Page {
    let recent = blocking(move || Ok(work::open(&state)?.catalog.log(Some(12))?)).await?;
    Ok(pages::home(&csrf, &recent))
}

/// `POST /check`: reports on each uploaded file; each one checked is
/// kept for a while so its result can archive it. Post fields that
/// cannot be read do not cost the uploads: the files are checked without
/// the post, and the page says why.
pub async fn check(
    State(state): State<Arc<AppState>>,
    Extension(csrf): Extension<Csrf>,
    multipart: Multipart,
) -> Page {
    let mut form = form(&state, &csrf, multipart).await?;
    if form.files.is_empty() {
        return Err(Failure::bad_request(
            "pick at least one photo or video to check",
        ));
    }
    let given = PostFields {
        source: form.text("source"),
        caption: form.text("caption"),
        first_seen: form.text("first_seen"),
    };
    let (post, problem) = match given.post() {
        Ok(p) => (p, None),
        Err(e) => (None, Some(e.message)),
    };
    let files = form.files.clone();
    let st = state.clone();
    let checked = blocking(move || work::check_reports(&st, files, post)).await?;
    let results: Vec<_> = checked
        .into_iter()
        .map(|c| {
            let pending = match &c.report {
                Ok(_) => form.release(&c.file.path).map(|f| state.pending.keep(f)),
                Err(_) => None,
            };
            (c, pending)
        })
        .collect();
    Ok(pages::check_results(
        &csrf,
        &results,
        &given,
        problem.as_deref(),
    ))
}

/// `GET /archive`: the form.
pub async fn archive_form(Extension(csrf): Extension<Csrf>) -> Markup {
    pages::archive_form(&csrf)
}

/// `POST /archive`: archives the uploaded files, or the checked upload
/// named by `pending`, with the form's sighting. A checked upload that
/// could not be archived is kept again, to try once more.
pub async fn archive(
    State(state): State<Arc<AppState>>,
    Extension(csrf): Extension<Csrf>,
    multipart: Multipart,
) -> Page {
    let mut form = form(&state, &csrf, multipart).await?;
    let pending = match form.text("pending") {
        None => None,
        Some(id) => match state.pending.take(&id) {
            Some(f) => {
                let path = f.path.clone();
                form.files.push(f);
                Some((id, path))
            }
            None => {
                return Err(Failure::not_found(
                    "that checked file is no longer kept here (kept for two hours): upload it again",
                ));
            }
        },
    };
    let keep_again = |mut form: Form, e: Failure| {
        if let Some((id, path)) = &pending
            && let Some(f) = form.release(path)
        {
            state.pending.put_back(id.clone(), f);
        }
        e
    };
    if form.files.is_empty() {
        return Err(Failure::bad_request(
            "pick at least one photo or video to archive",
        ));
    }
    let sighting = match work::sighting(&form) {
        Ok(s) => s,
        Err(e) => return Err(keep_again(form, e)),
    };
    let files = form.files.clone();
    let st = state.clone();
    match blocking(move || work::archive(&st, &files, sighting)).await {
        Ok((outcomes, summary)) => Ok(pages::archived(&outcomes, &summary)),
        Err(e) => Err(keep_again(form, e)),
    }
}

/// `GET /search`: the form, and results when anything was asked (else
/// the newest items).
pub async fn search(
    State(state): State<Arc<AppState>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Page {
    let Query(params) = params.map_err(|e| Failure::bad_request(e.body_text()))?;
    let p = params.clone();
    // Nothing asked is browsing: every item, by its sightings' dates.
    let found = blocking(move || Ok(work::open(&state)?.catalog.search(&p.query()?)?)).await?;
    Ok(pages::search(&params, &found, "/search"))
}

/// `GET /item/{id}`: pictures, sightings, report, downloads.
pub async fn item(
    State(state): State<Arc<AppState>>,
    Extension(csrf): Extension<Csrf>,
    Path(id): Path<String>,
) -> Page {
    blocking(move || {
        let archive = work::open(&state)?;
        let item = archive.catalog.resolve(&id)?;
        let sightings = archive.catalog.all_sightings(item.id)?;
        let frames = archive.catalog.frames(item.id)?;
        let redacted = archive.catalog.redaction(item.id)?.is_some();
        let report = work::item_report(&state, &archive, &item.sha256.to_string(), true)?;
        Ok(pages::item(
            &csrf,
            &pages::ItemPage {
                item: &item,
                sightings: &sightings,
                report: &report,
                frames: &frames,
                downloadable: item.stored && !redacted,
            },
        ))
    })
    .await
}

/// `POST /item/{id}/sighting`: records a sighting without the file.
pub async fn add_sighting(
    State(state): State<Arc<AppState>>,
    Extension(csrf): Extension<Csrf>,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, Failure> {
    let form = form(&state, &csrf, multipart).await?;
    let sighting = work::sighting(&form)?;
    if sighting.says_nothing() {
        return Err(Failure::bad_request(
            "give a source, caption, first-seen date or note for the sighting",
        ));
    }
    let sha = blocking(move || {
        let _writer = state.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut archive = Archive::open_for_writing(&state.dir)?;
        let item = archive.catalog.resolve(&id)?;
        archive.add_sighting(item.id, &sighting)?;
        Ok(item.sha256)
    })
    .await?;
    Ok(Redirect::to(&format!("/item/{sha}#sightings-h")).into_response())
}

/// The report's own policy: a standalone document with its styles
/// inline and pictures as data URIs, and no script at all.
const REPORT_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox";

#[derive(serde::Deserialize)]
pub struct Download {
    download: Option<String>,
}

fn attachment(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// `GET /item/{id}/report.{html,json,md}`: the report as the CLI writes
/// it; `?download=1` as an attachment.
pub async fn report(
    State(state): State<Arc<AppState>>,
    Path((id, format)): Path<(String, String)>,
    d: Result<Query<Download>, QueryRejection>,
) -> Result<Response, Failure> {
    let Query(d) = d.map_err(|e| Failure::bad_request(e.body_text()))?;
    let (kind, ext) = match format.as_str() {
        "html" => ("text/html; charset=utf-8", "html"),
        "json" => ("application/json", "json"),
        "md" => ("text/markdown; charset=utf-8", "md"),
        _ => return Err(Failure::not_found("reports are .html, .json or .md")),
    };
    let (body, sha) = blocking(move || {
        let r = work::item_report(&state, &work::open(&state)?, &id, ext == "html")?;
        let mut out = Vec::new();
        let written = match ext {
            "html" => report::html::write(&r, &mut out),
            "json" => report::json::write(&r, &mut out),
            _ => report::markdown::write(&r, &mut out),
        };
        written.map_err(|e| Failure::internal(format!("report: {e}")))?;
        Ok((out, r.media.sha256))
    })
    .await?;
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(REPORT_CSP),
    );
    if d.download.is_some() {
        let name = format!("firstseen-report-{}.{ext}", &sha.to_string()[..12]);
        h.insert(header::CONTENT_DISPOSITION, attachment(&name));
    }
    Ok(resp)
}

/// `GET /item/{id}/manifest.jsonl`: a manifest holding this item alone,
/// importable like any export.
pub async fn manifest_entry(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let (body, sha) = blocking(move || {
        let mut archive = work::open(&state)?;
        let item = archive.catalog.resolve(&id)?;
        let mut out = Vec::new();
        firstseen::manifest::export_item(
            &mut archive.catalog,
            &item.sha256,
            &mut out,
            std::path::Path::new("manifest entry"),
        )?;
        Ok((out, item.sha256))
    })
    .await?;
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        attachment(&format!("firstseen-{}.jsonl", &sha.to_string()[..12])),
    );
    Ok(resp)
}

fn sha_of(s: &str) -> Result<firstseen::hash::Sha256, Failure> {
    if s.len() != 64 {
        return Err(Failure::not_found(
            "objects are named by their full SHA-256",
        ));
    }
    s.parse()
        .map_err(|_| Failure::not_found("objects are named by their full SHA-256"))
}

/// `GET /object/{sha}`: the original bytes, by SHA-256 only (never a
/// path from the request), as an attachment; nothing for a redacted or
/// hashes-only item.
pub async fn object(
    State(state): State<Arc<AppState>>,
    Path(sha): Path<String>,
) -> Result<Response, Failure> {
    let sha = sha_of(&sha)?;
    let (file, len, format) = blocking(move || {
        let archive = work::open(&state)?;
        let item = archive
            .catalog
            .item_by_sha(&sha)?
            .ok_or_else(|| Failure::not_found("no such item"))?;
        if !item.stored || archive.catalog.redaction(item.id)?.is_some() {
            return Err(Failure::not_found("this item's bytes are not stored"));
        }
        let (file, len) = archive.objects.open_verified(&sha)?;
        Ok((file, len, item.format))
    })
    .await?;
    let name = format!(
        "{}.{}",
        &sha.to_string()[..16],
        format
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    );
    // Sent from the file in pieces, never held whole in memory.
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CONTENT_DISPOSITION, attachment(&name));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(resp)
}

/// `GET /frame/{sha}/{seq}`: a kept video frame's stored thumbnail.
pub async fn frame(
    State(state): State<Arc<AppState>>,
    Path((sha, seq)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let sha = sha_of(&sha)?;
    let seq: u32 = seq
        .parse()
        .map_err(|_| Failure::not_found("frames are numbered 0, 1, 2, …"))?;
    let jpeg = blocking(move || {
        let archive = work::open(&state)?;
        let item = archive
            .catalog
            .item_by_sha(&sha)?
            .ok_or_else(|| Failure::not_found("no such item"))?;
        if archive.catalog.redaction(item.id)?.is_some() {
            return Err(Failure::not_found("this item is redacted"));
        }
        archive
            .catalog
            .frame_thumbnail(item.id, seq)?
            .ok_or_else(|| Failure::not_found("no such frame"))
    })
    .await?;
    let mut resp = (StatusCode::OK, jpeg).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    Ok(resp)
}

/// `GET /status`: counts, chain head, last verify.
pub async fn status(State(state): State<Arc<AppState>>, Extension(csrf): Extension<Csrf>) -> Page {
    blocking(move || {
        let archive = work::open(&state)?;
        let s = archive.catalog.status()?;
        let last = firstseen::store::verify::LastVerify::read(&state.dir);
        Ok(pages::status(&csrf, &state.dir, &s, last.as_ref()))
    })
    .await
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /verify`: a full verify (read only), then back to status.
pub async fn verify(
    State(state): State<Arc<AppState>>,
    Extension(csrf): Extension<Csrf>,
    f: Result<axum::Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, Failure> {
    let axum::Form(f) = f.map_err(|e| Failure::bad_request(e.body_text()))?;
    check_form(&csrf, f.csrf.as_deref())?;
    blocking(move || {
        let archive = work::open(&state)?;
        firstseen::matching::verify_archive(&archive, None, &mut |_| {})?;
        Ok(())
    })
    .await?;
    Ok(Redirect::to("/status").into_response())
}

/// `GET /static/app.css`.
pub async fn css() -> Response {
    static_file("text/css; charset=utf-8", include_str!("static/app.css"))
}

/// `GET /static/app.js`.
pub async fn js() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("static/app.js"),
    )
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    resp
}

fn for_path(uri: &axum::http::Uri, f: Failure) -> Failure {
    if uri.path().starts_with("/api/") {
        f.in_json()
    } else {
        f
    }
}

/// Anything else.
pub async fn not_found(uri: axum::http::Uri) -> Failure {
    for_path(&uri, Failure::not_found("no such page"))
}

/// A known path with another method.
pub async fn method_not_allowed(uri: axum::http::Uri) -> Failure {
    for_path(
        &uri,
        Failure {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: "this path does not take that method".to_string(),
            json: false,
        },
    )
}
