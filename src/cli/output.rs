//! Shared printing helpers: short ids, quoting untrusted text for the
//! terminal, JSON on stdout.

use std::io::Write;

/// `println!` for results on stdout. When stdout is a closed pipe (the
/// reader, e.g. `head`, has had enough) the process ends quietly with
/// success, as other command-line tools do: every file already reported
/// is fully recorded, and nothing is half-written.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}
pub(crate) use outln;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use firstseen::store::Sighting;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

static COLOR: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

/// Decides once whether stdout gets colour.
pub fn set_color(choice: ColorChoice) {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color && std::io::stdout().is_terminal(),
    };
    COLOR.store(on, Ordering::Relaxed);
}

/// `--quiet`: no progress, summaries or warnings on stderr.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// What a word in the output means, for its colour.
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    /// Known already: the answer a desk is looking for.
    Known,
    /// New to the archive, or not found.
    New,
}

/// `text` in its tone's colour when colour is on.
pub fn paint(tone: Tone, text: &str) -> String {
    if !COLOR.load(Ordering::Relaxed) {
        return text.to_string();
    }
    use anstyle::{AnsiColor, Style};
    let style = match tone {
        Tone::Known => Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
        Tone::New => Style::new().fg_color(Some(AnsiColor::Green.into())),
    };
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// A warning on stderr, unless `--quiet`.
pub fn warn(path: &std::path::Path, what: &str) {
    if !quiet() {
        eprintln!("firstseen: warning: {}: {what}", path.display());
    }
}

/// A file's warnings, one line each, unless `--quiet`.
pub fn warn_all(path: &std::path::Path, warnings: &[String]) {
    for w in warnings {
        warn(path, w);
    }
}

/// The paths given, with `-` replaced by the paths read from standard
/// input, one per line (blank lines skipped).
///
/// # Errors
/// Standard input cannot be read.
pub fn with_stdin_paths(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if p.as_os_str() == "-" {
            for line in std::io::stdin().lines() {
                let line = line.map_err(|e| anyhow::anyhow!("standard input: {e}"))?;
                let line = line.trim_end_matches('\r');
                if !line.trim().is_empty() {
                    out.push(PathBuf::from(line));
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// First 12 hex characters of a hash, enough to pass to `show`.
pub fn short(hex: &impl ToString) -> String {
    let s = hex.to_string();
    s.get(..12).unwrap_or(&s).to_string()
}

/// Makes untrusted text (captions, sources) safe for a terminal: control
/// characters (escape sequences, newlines) are shown escaped.
pub fn clean(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else if firstseen::text::is_invisible_control(c) {
                firstseen::text::marker(c).chars().collect()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Paths that could not even be listed (missing, unreadable), as failed
/// files in the shape every command's `--json` uses for a failure.
pub fn input_failures(errors: &[firstseen::Error]) -> Vec<serde_json::Value> {
    errors
        .iter()
        .map(|e| {
            let path = match e {
                firstseen::Error::Io { path, .. } | firstseen::Error::File { path, .. } => {
                    path.display().to_string()
                }
                _ => String::new(),
            };
            serde_json::json!({"status": "failed", "path": path, "error": e.to_string()})
        })
        .collect()
}

/// Fails when the paths given hold no media at all (only skipped
/// files, or empty folders): a batch that did nothing must not look like
/// one that succeeded.
///
/// # Errors
/// "no photos or videos found in …", with what was skipped.
pub fn require_media(
    inputs: &firstseen::walk::Inputs,
    paths: &[std::path::PathBuf],
) -> anyhow::Result<()> {
    if !inputs.files.is_empty() || !inputs.errors.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = paths
        .iter()
        .map(|p| clean(&p.display().to_string()))
        .collect();
    let skipped = match inputs.skipped.len() {
        0 => String::new(),
        n => format!(" ({n} other file(s) skipped: not photos or videos)"),
    };
    anyhow::bail!("no photos or videos found in {}{skipped}", names.join(", "))
}

/// A sighting from the command line's `--source`, `--caption`,
/// `--first-seen` and `--note`, checked as `import` checks them.
///
/// # Errors
/// A date that cannot be read, or is in the future or before 1826; text
/// over its length limit.
pub fn new_sighting(
    source: Option<String>,
    caption: Option<String>,
    first_seen: Option<&str>,
    note: Option<String>,
) -> anyhow::Result<firstseen::store::NewSighting> {
    Ok(firstseen::store::NewSighting::checked(
        source,
        caption,
        first_seen,
        note,
        ["--source", "--caption", "--first-seen", "--note"],
    )?)
}

/// The item a SHA-256 or prefix names; `None` (the error printed) when
/// there is none, so the command exits 1 like `grep`.
///
/// # Errors
/// A malformed or ambiguous id; catalog errors.
pub fn find_item(
    catalog: &firstseen::store::Catalog,
    id: &str,
) -> anyhow::Result<Option<firstseen::store::Item>> {
    match catalog.resolve(id) {
        Ok(i) => Ok(Some(i)),
        Err(e @ firstseen::Error::UnknownItem(_)) => {
            eprintln!("firstseen: {e}");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// One-line description of a sighting: date, source, caption.
pub fn sighting_line(s: &Sighting) -> String {
    let when = match &s.first_seen {
        Some(d) => format!("first seen {d}"),
        None => format!("archived {} (no first-seen date given)", s.archived_at),
    };
    let mut line = when;
    if let Some(src) = &s.source {
        line.push_str(&format!(" at {}", clean(src)));
    }
    if let Some(c) = &s.caption {
        line.push_str(&format!(" — \"{}\"", clean(c)));
    }
    if !s.corrections.is_empty() {
        let fields: Vec<&str> = s.corrections.iter().map(|c| c.field.name()).collect();
        line.push_str(&format!(
            " [corrected: {}]",
            fields.join(", ").replace('_', "-")
        ));
    }
    if s.retracted.is_some() {
        line.push_str(" [RETRACTED]");
    }
    line
}

/// What each correction of a sighting replaced, and the retraction, one
/// line each, for `show`.
pub fn correction_lines(s: &Sighting) -> Vec<String> {
    let shown = |v: &Option<String>| match v {
        Some(v) => format!("\"{}\"", clean(v)),
        None => "(none)".to_string(),
    };
    let why = |r: &Option<String>| {
        r.as_deref()
            .map(|r| format!(": {}", clean(r)))
            .unwrap_or_default()
    };
    let mut out: Vec<String> = s
        .corrections
        .iter()
        .map(|c| {
            format!(
                "{} corrected {} from {} to {}{}",
                c.field.name().replace('_', "-"),
                c.made_at,
                shown(&c.was),
                shown(&c.now),
                why(&c.reason)
            )
        })
        .collect();
    if let Some(r) = &s.retracted {
        out.push(format!("retracted {}{}", r.made_at, why(&r.reason)));
    }
    out
}

/// Writes `value` as pretty JSON plus a newline on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) surfaces as the io::Error it is, so main
    // can end quietly.
    serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}
