//! What every request passes before a handler: the access token when one
//! is set (always, when the server listens beyond loopback), the Host
//! check that keeps a loopback server from being reached through a
//! rebound DNS name, the cross-site check on every POST, the CSRF cookie,
//! and the security headers on every answer (a strict
//! Content-Security-Policy: no inline script, nothing from elsewhere).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::AppState;
use super::upload::random_id;

/// The CSRF cookie's name.
pub const CSRF_COOKIE: &str = "firstseen_csrf";
/// The header an API POST must carry (any value): a browser sends a
/// custom header cross-site only after a CORS preflight, which this
/// server never grants.
pub const API_HEADER: &str = "x-firstseen";

/// The policy for pages: scripts and styles only from this server,
/// pictures also as data URIs (thumbnails), forms only to this server.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The request's CSRF token (from its cookie, or new), for forms.
#[derive(Debug, Clone)]
pub struct Csrf(pub String);

/// Byte-wise comparison whose time does not depend on where the inputs
/// first differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorised(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return same(rest.trim().as_bytes(), token.as_bytes());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let b = rest;
        // The browser's own login box: any user name, the token as the
        // password.
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b.trim()) else {
            return false;
        };
        let password = match decoded.iter().position(|&c| c == b':') {
            Some(i) => &decoded[i + 1..],
            None => return false,
        };
        return same(password, token.as_bytes());
    }
    false
}

/// Host names a loopback server answers to: 127.0.0.1, localhost, [::1]
/// or the loopback address it listens on, on its own port (or none
/// given).
fn loopback_host(host: &str, port: u16, bound: std::net::IpAddr) -> bool {
    let (name, given) = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((n, tail)) => (format!("[{n}]"), tail.strip_prefix(':')),
            None => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) => (n.to_string(), Some(p)),
            None => (host.to_string(), None),
        }
    };
    let name = name.to_ascii_lowercase();
    let bound = match bound {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    };
    given.is_none_or(|p| p.parse::<u16>() == Ok(port))
        && (matches!(name.as_str(), "127.0.0.1" | "localhost" | "[::1]") || name == bound)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 32 && v.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// A POST from another site: its `Origin` names another host, or the
/// browser says it is cross-site.
fn cross_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => false,
        Some(origin) => {
            let named = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            named != host
        }
    }
}

/// A refusal: JSON for the API, a page otherwise.
fn refuse(status: StatusCode, message: &str, api: bool) -> Response {
    super::error::Failure {
        status,
        message: message.to_string(),
        json: api,
    }
    .into_response()
}

/// The middleware: see the module doc.
pub async fn guard(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let api = req.uri().path().starts_with("/api/");
    let mut answer = if let Some(token) = &state.token {
        if authorised(headers, token) {
            None
        } else {
            let mut r = refuse(
                StatusCode::UNAUTHORIZED,
                "this server needs its access token: log in with any user name and the token as the password, or send Authorization: Bearer TOKEN",
                api,
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"firstseen\", charset=\"UTF-8\""),
            );
            Some(r)
        }
    } else {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        (!loopback_host(host, state.port, state.host)).then(|| {
            refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "this server answers only to 127.0.0.1, localhost and [::1]",
                api,
            )
        })
    };
    let post = req.method() == Method::POST;
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if answer.is_none() && announced.is_some_and(|n| n > state.max_request_bytes) {
        // Refused before a byte of the body is read.
        answer = Some(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the request is larger than this server's {} MiB limit",
                state.max_request_bytes >> 20
            ),
            api,
        ));
    }
    if answer.is_none() && post && cross_site(headers) {
        answer = Some(refuse(
            StatusCode::FORBIDDEN,
            "a form from another site cannot post here",
            api,
        ));
    }
    if answer.is_none()
        && post
        && req.uri().path().starts_with("/api/")
        && !headers.contains_key(API_HEADER)
    {
        answer = Some(
            super::error::Failure::forbidden(format!(
                "an API POST must carry the {API_HEADER} header (any value)"
            ))
            .in_json()
            .into_response(),
        );
    }
    let existing = cookie(headers, CSRF_COOKIE);
    let mut response = match answer {
        Some(r) => r,
        None => {
            let token = existing.clone().unwrap_or_else(random_id);
            req.extensions_mut().insert(Csrf(token.clone()));
            let mut r = next.run(req).await;
            if existing.is_none()
                && let Ok(v) = HeaderValue::from_str(&format!(
                    "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
                ))
            {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
    };
    let h = response.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Checks a form's CSRF field against the request's cookie.
///
/// # Errors
/// 403 when they differ or either is missing.
pub fn check_form(csrf: &Csrf, field: Option<&str>) -> Result<(), super::error::Failure> {
    match field {
        Some(f) if same(f.as_bytes(), csrf.0.as_bytes()) => Ok(()),
        _ => Err(super::error::Failure::forbidden(
            "the form's security token is missing or stale: reload the page and send it again",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_only() {
        let lo: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        assert!(loopback_host("127.0.0.1:8080", 8080, lo));
        assert!(loopback_host("localhost:8080", 8080, lo));
        assert!(loopback_host("[::1]:8080", 8080, lo));
        assert!(loopback_host("LOCALHOST", 8080, lo));
        assert!(!loopback_host("127.0.0.1:9090", 8080, lo));
        assert!(!loopback_host("evil.example:8080", 8080, lo));
        assert!(!loopback_host("127.0.0.1.evil.example:8080", 8080, lo));
        assert!(!loopback_host("", 8080, lo));
        let other: std::net::IpAddr = "127.0.0.2".parse().unwrap();
        assert!(loopback_host("127.0.0.2:8080", 8080, other));
        assert!(!loopback_host("127.0.0.2:8080", 8080, lo));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(authorised(&h, "s3cret"));
        assert!(!authorised(&h, "s3cre"));
        // user "desk", password "s3cret"
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic ZGVzazpzM2NyZXQ="),
        );
        assert!(authorised(&h, "s3cret"));
        assert!(!authorised(&HeaderMap::new(), "s3cret"));
    }

    #[test]
    fn cross_site_posts_are_seen() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site(&h));
    }
}
