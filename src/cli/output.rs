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

use firstseen::store::Sighting;

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
    line
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
