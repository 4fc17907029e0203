//! `firstseen serve`: the web app, a front end like `cli/` over the same
//! library (no matching, archiving or reporting of its own). One router
//! of small handlers ([`routes`] for pages, [`api`] for JSON), state in
//! an `Arc`, every request through [`guard`], every error through
//! [`error::Failure`], library work on blocking threads ([`work`]).

mod api;
mod error;
mod guard;
mod pages;
mod routes;
mod upload;
mod work;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use firstseen::decode::Limits;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The archive (created when missing).
    pub dir: PathBuf,
    /// Decoder limits, as for the CLI.
    pub limits: Limits,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The access token, when one is required.
    pub token: Option<String>,
    /// Largest request body.
    pub max_request_bytes: u64,
    /// Most files in one upload.
    pub max_files: usize,
}

/// What every handler shares.
pub struct AppState {
    /// The archive directory.
    pub dir: PathBuf,
    /// Decoder limits.
    pub limits: Limits,
    /// The access token, when set.
    pub token: Option<String>,
    /// The port listened on (for the Host check).
    pub port: u16,
    /// The address listened on (also a valid Host).
    pub host: std::net::IpAddr,
    /// One writer at a time.
    pub writer: Mutex<()>,
    /// The matcher, opened when the server starts and kept for its life,
    /// following the archive as it changes (see [`work::matcher`]).
    pub matcher: std::sync::RwLock<firstseen::matching::Matcher>,
    /// Checked uploads kept for archiving from their result page.
    pub pending: upload::Pending,
    /// Where uploads are written (removed when the server stops).
    pub uploads: tempfile::TempDir,
    /// Most files in one upload.
    pub max_files: usize,
    /// Largest request body.
    pub max_request_bytes: u64,
}

/// Reads the access token from `path`: its first line, at least 16
/// characters.
///
/// # Errors
/// The file cannot be read, or the token is too short.
pub fn read_token(path: &std::path::Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("token file {}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.chars().count() < 16 {
        anyhow::bail!(
            "token file {}: the token must be at least 16 characters (e.g. `openssl rand -hex 16`)",
            path.display()
        );
    }
    Ok(token)
}

fn router(state: Arc<AppState>, max_request_bytes: u64) -> Router {
    let limit = usize::try_from(max_request_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/", get(routes::home))
        .route("/check", post(routes::check))
        .route("/archive", get(routes::archive_form).post(routes::archive))
        .route("/search", get(routes::search))
        .route("/item/{id}", get(routes::item))
        .route("/item/{id}/sighting", post(routes::add_sighting))
        .route("/item/{id}/report.{format}", get(routes::report))
        .route("/item/{id}/manifest.jsonl", get(routes::manifest_entry))
        .route("/object/{sha}", get(routes::object))
        .route("/frame/{sha}/{seq}", get(routes::frame))
        .route("/status", get(routes::status))
        .route("/verify", post(routes::verify))
        .route("/static/app.css", get(routes::css))
        .route("/static/app.js", get(routes::js))
        .route("/api/check", post(api::check))
        .route("/api/archive", post(api::archive))
        .route("/api/search", get(api::search))
        .route("/api/item/{id}", get(api::item))
        .route("/api/item/{id}/report", get(api::report))
        .route("/api/status", get(api::status))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
}

/// Ctrl-C, or SIGTERM (a service manager's stop).
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
///
/// # Errors
/// The archive cannot be opened or created, the address cannot be bound,
/// a non-loopback address without a token.
pub fn run(config: Config) -> anyhow::Result<()> {
    if !config.listen.ip().is_loopback() && config.token.is_none() {
        anyhow::bail!(
            "--listen {}: serving beyond loopback needs an access token (--token-file FILE)",
            config.listen
        );
    }
    // Creates the archive when missing, upgrades an older schema.
    let archive = firstseen::Archive::create(&config.dir)
        .with_context(|| format!("archive {}", config.dir.display()))?;
    // The matcher is opened once (its indexes built now if missing).
    let mut said = false;
    let matcher = firstseen::matching::Matcher::open(
        &archive.catalog,
        Some(archive.dir()),
        &mut |done, total| {
            if !said && done < total {
                eprintln!("firstseen: building the feature index of {total} items");
                said = true;
            }
        },
    )
    .with_context(|| format!("archive {}", config.dir.display()))?;
    drop(archive);
    upload::remove_stale_folders(&std::env::temp_dir());
    let uploads = tempfile::Builder::new()
        .prefix(&format!("{}{}-", upload::FOLDER_PREFIX, std::process::id()))
        .tempdir()
        .context("cannot make a folder for uploads")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState {
            dir: config.dir.clone(),
            limits: config.limits,
            token: config.token.clone(),
            port: addr.port(),
            host: addr.ip(),
            writer: Mutex::new(()),
            matcher: std::sync::RwLock::new(matcher),
            pending: upload::Pending::default(),
            uploads,
            max_files: config.max_files,
            max_request_bytes: config.max_request_bytes,
        });
        // The one line scripts and tests wait for, on stdout.
        println!("listening on http://{addr}/");
        eprintln!(
            "firstseen: serving archive {} on http://{addr}/{} (Ctrl-C stops)",
            config.dir.display(),
            if config.token.is_some() {
                " with an access token"
            } else {
                ""
            }
        );
        // Checked uploads past their time go even when nobody checks.
        let sweeper = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
            loop {
                every.tick().await;
                sweeper.pending.sweep();
            }
        });
        let app = router(state, config.max_request_bytes);
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped())
            .await
            .context("the server stopped")
    })
}
