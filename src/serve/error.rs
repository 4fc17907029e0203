//! One error type for every handler: a status and a one-line message,
//! answered as an HTML page or, for the API, as `{"error": …}`. A
//! hostile file or request ends here, never in a crash of the server.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A request that could not be answered.
#[derive(Debug)]
pub struct Failure {
    /// HTTP status.
    pub status: StatusCode,
    /// One line for the user (uploads named as they were sent; an
    /// archive failure may name the archive's own files, as the status
    /// page does).
    pub message: String,
    /// Answer as JSON (the API) rather than a page.
    pub json: bool,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            json: false,
        }
    }

    /// 400.
    pub fn bad_request(m: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, m)
    }

    /// 403.
    pub fn forbidden(m: impl Into<String>) -> Failure {
        Failure::new(StatusCode::FORBIDDEN, m)
    }

    /// 404.
    pub fn not_found(m: impl Into<String>) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, m)
    }

    /// 413.
    pub fn too_large(m: impl Into<String>) -> Failure {
        Failure::new(StatusCode::PAYLOAD_TOO_LARGE, m)
    }

    /// 500.
    pub fn internal(m: impl Into<String>) -> Failure {
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, m)
    }

    /// A multipart body that could not be read: too large for the
    /// request limit, or malformed.
    pub fn multipart(e: axum::extract::multipart::MultipartError) -> Failure {
        Failure::new(e.status(), format!("upload: {}", e.body_text()))
    }

    /// The same failure, answered as JSON.
    pub fn in_json(mut self) -> Failure {
        self.json = true;
        self
    }
}

impl From<firstseen::Error> for Failure {
    fn from(e: firstseen::Error) -> Failure {
        use firstseen::Error as E;
        let status = match &e {
            E::UnknownItem(_) => StatusCode::NOT_FOUND,
            E::Invalid { .. } | E::File { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<tokio::task::JoinError> for Failure {
    fn from(e: tokio::task::JoinError) -> Failure {
        Failure::internal(format!("the work stopped unexpectedly: {e}"))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        if self.json {
            let body = serde_json::json!({ "error": self.message });
            return (self.status, axum::Json(body)).into_response();
        }
        (
            self.status,
            super::pages::error_page(self.status, &self.message),
        )
            .into_response()
    }
}
