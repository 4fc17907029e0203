//! The JSON API (documented in `docs/api.md`): the same actions as the
//! pages, answered in the shapes the CLI's `--json` prints
//! ([`firstseen::shapes`]). Errors are `{"error": "…"}` with a status.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use firstseen::matching::Thresholds;
use serde_json::Value;

use super::AppState;
use super::error::Failure;
use super::upload;
use super::work::{self, SearchParams, blocking};

type Answer = Result<Json<Value>, Failure>;

async fn read(state: &AppState, multipart: Multipart) -> Result<upload::Form, Failure> {
    upload::read(
        multipart,
        state.uploads.path(),
        state.max_files,
        state.limits.max_bytes,
    )
    .await
    .map_err(Failure::in_json)
}

/// `POST /api/check`: multipart `file` parts (and `max_distance`).
pub async fn check(State(state): State<Arc<AppState>>, multipart: Multipart) -> Answer {
    let form = read(&state, multipart).await?;
    let files = form.files.clone();
    // The form (and so the uploads) lives until the answer is ready, and
    // goes with it, also when the client leaves before.
    let result = async {
        if files.is_empty() {
            return Err(Failure::bad_request("send at least one file part"));
        }
        let mut thresholds = Thresholds::default();
        if let Some(d) = form.text("max_distance") {
            thresholds.max_distance = d
                .parse::<u32>()
                .ok()
                .filter(|d| *d <= 128)
                .ok_or_else(|| Failure::bad_request("max_distance: give 0 to 128"))?;
        }
        blocking(move || work::check_json(&state, &files, thresholds)).await
    }
    .await;
    drop(form);
    result.map(Json).map_err(Failure::in_json)
}

/// `POST /api/archive`: multipart `file` parts with `source`,
/// `caption`, `first_seen`, `note`.
pub async fn archive(State(state): State<Arc<AppState>>, multipart: Multipart) -> Answer {
    let form = read(&state, multipart).await?;
    let files = form.files.clone();
    let result = async {
        if files.is_empty() {
            return Err(Failure::bad_request("send at least one file part"));
        }
        let sighting = work::sighting(&form)?;
        blocking(move || {
            let (outcomes, summary) = work::archive(&state, &files, sighting)?;
            let outcomes = outcomes.iter().map(firstseen::shapes::value).collect();
            Ok(firstseen::shapes::archive(&state.dir, outcomes, &summary))
        })
        .await
    }
    .await;
    drop(form);
    result.map(Json).map_err(Failure::in_json)
}

/// `GET /api/search?q=&source=&caption=&since=&until=&kind=&order=&limit=&offset=`.
pub async fn search(
    State(state): State<Arc<AppState>>,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let Query(params) = params.map_err(|e| Failure::bad_request(e.body_text()).in_json())?;
    blocking(move || {
        let query = params.query()?;
        let archive = work::open(&state)?;
        let found = archive.catalog.search(&query)?;
        Ok(Json(firstseen::shapes::search(&found, query.offset)))
    })
    .await
    .map_err(Failure::in_json)
}

/// `GET /api/item/{id}`: as `show ID --json`.
pub async fn item(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Answer {
    blocking(move || {
        let archive = work::open(&state)?;
        let item = archive.catalog.resolve(&id)?;
        Ok(Json(firstseen::shapes::item(&archive, &item)?))
    })
    .await
    .map_err(Failure::in_json)
}

/// `GET /api/item/{id}/report`: as `report ID --format json` writes it
/// (by the same writer, so numbers print alike).
pub async fn report(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<axum::response::Response, Failure> {
    use axum::response::IntoResponse;
    let body = blocking(move || {
        let r = work::item_report(&state, &work::open(&state)?, &id, false)?;
        let mut out = Vec::new();
        firstseen::report::json::write(&r, &mut out)
            .map_err(|e| Failure::internal(format!("report: {e}")))?;
        Ok(out)
    })
    .await
    .map_err(Failure::in_json)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// `GET /api/status`: as `status --json`.
pub async fn status(State(state): State<Arc<AppState>>) -> Answer {
    blocking(move || Ok(Json(firstseen::shapes::status(&work::open(&state)?)?)))
        .await
        .map_err(Failure::in_json)
}
