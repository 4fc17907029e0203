//! The report as JSON: the [`SCHEMA`](super::SCHEMA) documented in
//! `docs/report-schema.md`. Thumbnails are left out.

use std::io::{self, Write};

use super::Report;

/// Writes `report` as pretty-printed JSON and a final newline.
///
/// # Errors
/// Write errors.
pub fn write(report: &Report, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    writeln!(out)
}
