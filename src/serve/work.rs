//! The library calls behind both the pages and the API, run on blocking
//! threads: check, archive, search, an item, a report, status. Each
//! opens the archive for what it does (readers read-only, in parallel;
//! writers one at a time through the server's write lock, so uploaders
//! wait for each other instead of meeting "database is locked"), and
//! puts back the names files were sent with where the library saw the
//! upload folder.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use firstseen::matching::{Matcher, Thresholds};
use firstseen::pipeline::{self, ArchiveOptions, ArchiveOutcome, CheckOutcome, Options};
use firstseen::report::{self, Report, ReportOptions, Subject};
use firstseen::store::search::SearchQuery;
use firstseen::store::{Archive, NewSighting};
use serde_json::Value;

use super::AppState;
use super::error::Failure;
use super::upload::Uploaded;

/// Runs `f` on a blocking thread.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f).await?
}

/// The archive, for reading.
pub fn open(state: &AppState) -> Result<Archive, Failure> {
    Ok(Archive::open(&state.dir)?)
}

/// The server's matcher, brought up to date with the archive first
/// (items archived since, by this server or any other process).
///
/// # Errors
/// Catalog errors following the archive.
pub fn matcher<'a>(
    state: &'a AppState,
    archive: &Archive,
) -> Result<std::sync::RwLockReadGuard<'a, Matcher>, Failure> {
    state
        .matcher
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .follow(&archive.catalog)?;
    Ok(state.matcher.read().unwrap_or_else(|p| p.into_inner()))
}

/// What the library says about an upload, with the upload folder cut
/// out: `photo.jpg: not a picture` rather than a server path.
fn shown(files: &[Uploaded], text: &str) -> String {
    let mut out = text.to_string();
    for f in files {
        if let Some(folder) = f.path.parent() {
            out = out.replace(&format!("{}/", folder.display()), "");
            out = out.replace(&folder.display().to_string(), "");
        }
    }
    out
}

fn shown_path(files: &[Uploaded], path: &std::path::Path) -> PathBuf {
    files
        .iter()
        .find(|f| f.path == path)
        .map(|f| PathBuf::from(&f.name))
        .unwrap_or_else(|| PathBuf::from(shown(files, &path.display().to_string())))
}

/// One outcome's path and texts with the names the uploads were sent
/// with in place of where they are.
fn names_back(files: &[Uploaded], path: &mut PathBuf, texts: &mut [String]) {
    *path = shown_path(files, path);
    for t in texts {
        *t = shown(files, t);
    }
}

/// A `check` of the uploads, in the shape `check --json` prints.
///
/// # Errors
/// Catalog-wide failures (a file's own failure is in its outcome).
pub fn check_json(
    state: &AppState,
    files: &[Uploaded],
    thresholds: Thresholds,
) -> Result<Value, Failure> {
    let archive = open(state)?;
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let opts = Options {
        limits: state.limits,
        thresholds,
    };
    let mut outcomes = Vec::new();
    let matcher = matcher(state, &archive)?;
    let summary = pipeline::check(
        &archive,
        &matcher,
        &paths,
        &opts,
        &pipeline::NoProgress,
        &AtomicBool::new(false),
        &mut |o| {
            let mut o = o.clone();
            match &mut o {
                CheckOutcome::Checked { path, warnings, .. } => names_back(files, path, warnings),
                CheckOutcome::Failed { path, error } => {
                    names_back(files, path, std::slice::from_mut(error));
                }
            }
            outcomes.push(firstseen::shapes::value(&o));
        },
    )?;
    Ok(firstseen::shapes::check(
        outcomes,
        &summary,
        thresholds.max_distance,
        thresholds.min_quality,
    ))
}

/// The post a checked file was found in, as the check form describes it.
#[derive(Debug, Clone, Default)]
pub struct PostFields {
    /// Where it circulates now.
    pub source: Option<String>,
    /// What it claims.
    pub caption: Option<String>,
    /// When it was posted, as typed.
    pub first_seen: Option<String>,
}

impl PostFields {
    /// The report's post, checked like the CLI's `--source` etc.
    ///
    /// # Errors
    /// A date that cannot be read, text over its limit.
    pub fn post(&self) -> Result<Option<report::Post>, Failure> {
        if self.source.is_none() && self.caption.is_none() && self.first_seen.is_none() {
            return Ok(None);
        }
        let s = NewSighting::checked(
            self.source.clone(),
            self.caption.clone(),
            self.first_seen.as_deref(),
            None,
            FIELD_NAMES,
        )?;
        Ok(Some(report::Post {
            source: s.source,
            caption: s.caption,
            first_seen: s.first_seen,
            ..report::Post::default()
        }))
    }
}

/// What the forms call the four sighting fields, for errors.
pub const FIELD_NAMES: [&str; 4] = ["source", "caption", "first seen", "note"];

/// One checked upload: its report, or why it could not be checked.
pub struct Checked {
    /// The upload.
    pub file: Uploaded,
    /// The provenance report against the archive (thumbnails included).
    pub report: Result<Report, String>,
}

/// Reports on each upload (the page's check: verdict, earliest
/// appearance, variants with thumbnails, the post's warning).
///
/// # Errors
/// The archive cannot be opened.
pub fn check_reports(
    state: &AppState,
    files: Vec<Uploaded>,
    post: Option<report::Post>,
) -> Result<Vec<Checked>, Failure> {
    let archive = open(state)?;
    let opts = ReportOptions {
        limits: state.limits,
        thumbnails: true,
        post,
        ..ReportOptions::default()
    };
    let all = files.clone();
    let matcher = matcher(state, &archive)?;
    Ok(files
        .into_iter()
        .map(|file| {
            let report = report::report(&archive, &matcher, Subject::File(&file.path), &opts)
                .map_err(|e| shown(&all, &e.to_string()));
            Checked { file, report }
        })
        .collect())
}

/// One archived upload's outcome, its path the name it was sent with.
pub type Archived = ArchiveOutcome;

/// Archives uploads with one sighting, one writer at a time.
///
/// # Errors
/// The archive cannot be written (a file's own failure is in its
/// outcome).
pub fn archive(
    state: &AppState,
    files: &[Uploaded],
    sighting: NewSighting,
) -> Result<(Vec<Archived>, pipeline::Summary), Failure> {
    let _writer = state.writer.lock().unwrap_or_else(|p| p.into_inner());
    let mut archive = Archive::open_for_writing(&state.dir)?;
    archive.check_writable()?;
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let opts = ArchiveOptions {
        common: Options {
            limits: state.limits,
            ..Options::default()
        },
        copy: true,
        sighting,
        rows: Default::default(),
        sidecars: false,
    };
    let mut outcomes = Vec::new();
    // The writer works on a copy of the server's matcher (checks go on
    // meanwhile) and puts it back with what it archived.
    let mut matcher = state
        .matcher
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let summary = pipeline::archive(
        &mut archive,
        &mut matcher,
        &paths,
        &opts,
        &pipeline::NoProgress,
        &AtomicBool::new(false),
        &mut |o| {
            let mut o = o.clone();
            match &mut o {
                ArchiveOutcome::Archived { path, warnings, .. } => {
                    names_back(files, path, warnings);
                }
                ArchiveOutcome::Failed { path, error } => {
                    names_back(files, path, std::slice::from_mut(error));
                }
            }
            outcomes.push(o);
        },
    )?;
    *state.matcher.write().unwrap_or_else(|p| p.into_inner()) = matcher;
    Ok((outcomes, summary))
}

/// A sighting from a form's fields.
///
/// # Errors
/// A date that cannot be read, text over its limit.
pub fn sighting(form: &super::upload::Form) -> Result<NewSighting, Failure> {
    Ok(NewSighting::checked(
        form.text("source"),
        form.text("caption"),
        form.text("first_seen").as_deref(),
        form.text("note"),
        FIELD_NAMES,
    )?)
}

/// The furthest page a search goes (items skipped).
pub const MAX_OFFSET: usize = 1_000_000;

/// Search parameters, as the page's and the API's query strings give
/// them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SearchParams {
    /// Words anywhere.
    pub q: Option<String>,
    /// Text in the source.
    pub source: Option<String>,
    /// Words in the caption.
    pub caption: Option<String>,
    /// On or after (date).
    pub since: Option<String>,
    /// On or before (date).
    pub until: Option<String>,
    /// `image` or `video`.
    pub kind: Option<String>,
    /// `oldest` or `newest` (default).
    pub order: Option<String>,
    /// Items per page (1–200, default 20).
    pub limit: Option<usize>,
    /// Items to skip.
    pub offset: Option<usize>,
}

impl SearchParams {
    fn blank(s: &Option<String>) -> Option<String> {
        s.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Items per page.
    pub fn page_size(&self) -> usize {
        self.limit.unwrap_or(20).clamp(1, 200)
    }

    /// The library's query.
    ///
    /// # Errors
    /// A date that cannot be read, an unknown kind or order.
    pub fn query(&self) -> Result<SearchQuery, Failure> {
        use firstseen::store::search::parse_date;
        let media_type = match Self::blank(&self.kind).as_deref() {
            None | Some("any") => None,
            Some(k @ ("image" | "video")) => Some(k.to_string()),
            Some(_) => return Err(Failure::bad_request("kind: give image, video or any")),
        };
        let oldest_first = match Self::blank(&self.order).as_deref() {
            None | Some("newest") => false,
            Some("oldest") => true,
            Some(_) => return Err(Failure::bad_request("order: give newest or oldest")),
        };
        Ok(SearchQuery {
            text: Self::blank(&self.q),
            source: Self::blank(&self.source),
            caption: Self::blank(&self.caption),
            since: Self::blank(&self.since)
                .map(|d| parse_date("since", &d))
                .transpose()?,
            until: Self::blank(&self.until)
                .map(|d| parse_date("until", &d))
                .transpose()?,
            media_type,
            oldest_first,
            limit: self.page_size(),
            offset: self.offset.unwrap_or(0).min(MAX_OFFSET),
        })
    }
}

/// The report on an archived item.
///
/// # Errors
/// Unknown or ambiguous id, catalog errors.
pub fn item_report(
    state: &AppState,
    archive: &Archive,
    id: &str,
    thumbnails: bool,
) -> Result<Report, Failure> {
    let opts = ReportOptions {
        limits: state.limits,
        thumbnails,
        ..ReportOptions::default()
    };
    let matcher = matcher(state, archive)?;
    Ok(report::report(archive, &matcher, Subject::Item(id), &opts)?)
}
