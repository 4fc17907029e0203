//! `archive --from-csv`: a list of files to archive, one row each with
//! its own sighting: `path,source,caption,first_seen,note`. The first row
//! may name the columns (in any order, `path` among them); otherwise the
//! columns are in that order. Relative paths are taken from the CSV
//! file's folder. Every field is checked as the command line's are; a bad
//! row is an error for that row only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::NewSighting;
use crate::text::{MAX_LONG_TEXT, MAX_SOURCE, check_len};

/// Largest CSV list read.
pub const MAX_CSV_BYTES: u64 = 64 << 20;

const COLUMNS: [&str; 5] = ["path", "source", "caption", "first_seen", "note"];

/// The rows read, and the rows that could not be used.
#[derive(Debug, Default)]
pub struct CsvList {
    /// Files in row order, with their sightings.
    pub rows: Vec<(PathBuf, NewSighting)>,
    /// One error per bad row, naming the CSV file, the line and the field.
    pub errors: Vec<Error>,
}

impl CsvList {
    /// The files, in row order.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.rows.iter().map(|(p, _)| p.clone()).collect()
    }

    /// Each file's sighting (a file listed twice keeps its last row).
    pub fn sightings(&self) -> HashMap<PathBuf, NewSighting> {
        self.rows.iter().cloned().collect()
    }
}

fn row_error(csv: &Path, line: u64, reason: String) -> Error {
    Error::File {
        path: csv.to_path_buf(),
        source: Box::new(Error::Invalid {
            what: "row",
            reason: format!("line {line}: {reason}"),
        }),
    }
}

/// Reads the list at `csv`.
///
/// # Errors
/// The file cannot be read, is too large, or is not CSV at all; bad rows
/// are listed in [`CsvList::errors`] instead.
pub fn read(csv: &Path) -> Result<CsvList> {
    let bytes = crate::walk::read_regular(csv, MAX_CSV_BYTES)?;
    let base = csv.parent().unwrap_or(Path::new("."));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let mut out = CsvList::default();
    let mut order: Vec<usize> = (0..COLUMNS.len()).collect();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            Error::Invalid {
                what: "CSV",
                reason: e.to_string(),
            }
            .in_file(csv)
        })?;
        let line = record.position().map_or(i as u64 + 1, csv::Position::line);
        // A first row with a `path` field names the columns (a file
        // named "path" would have to be given with its folder).
        let names_columns = record.iter().any(|f| f.eq_ignore_ascii_case("path"));
        if i == 0 && names_columns {
            order.clear();
            for name in &record {
                match COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) {
                    Some(k) if !order.contains(&k) => order.push(k),
                    _ => {
                        return Err(row_error(
                            csv,
                            line,
                            format!(
                                "unknown or repeated column {name:?} (columns: {})",
                                COLUMNS.join(", ")
                            ),
                        ));
                    }
                }
            }
            continue;
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() > order.len() {
            out.errors.push(row_error(
                csv,
                line,
                format!("{} fields, expected at most {}", record.len(), order.len()),
            ));
            continue;
        }
        let mut fields: [Option<String>; 5] = Default::default();
        for (value, &k) in record.iter().zip(&order) {
            if !value.is_empty() {
                fields[k] = Some(value.to_string());
            }
        }
        match row(base, fields) {
            Ok(r) => out.rows.push(r),
            Err(reason) => out.errors.push(row_error(csv, line, reason)),
        }
    }
    Ok(out)
}

fn row(
    base: &Path,
    fields: [Option<String>; 5],
) -> std::result::Result<(PathBuf, NewSighting), String> {
    let [path, source, caption, first_seen, note] = fields;
    let path = path.ok_or("path: empty")?;
    let path = PathBuf::from(path);
    let path = if path.is_absolute() {
        path
    } else {
        base.join(path)
    };
    if path.is_dir() {
        return Err(format!(
            "path: {} is a folder; a row names one file (its sighting is that file's)",
            path.display()
        ));
    }
    let first_seen = first_seen
        .as_deref()
        .map(crate::time::parse_first_seen)
        .transpose()
        .map_err(|e| format!("first_seen: {e}"))?;
    for (name, value, max) in [
        ("source", &source, MAX_SOURCE),
        ("caption", &caption, MAX_LONG_TEXT),
        ("note", &note, MAX_LONG_TEXT),
    ] {
        if let Some(v) = value {
            check_len("field", v, max).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    Ok((
        path,
        NewSighting {
            source,
            caption,
            first_seen,
            file_name: None,
            note,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> (tempfile::TempDir, CsvList) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("list.csv");
        std::fs::write(&p, text).unwrap();
        let l = read(&p).unwrap();
        (dir, l)
    }

    #[test]
    fn rows_with_and_without_a_header() {
        let (dir, l) =
            list("path,caption,first_seen\na.jpg,\"Flood, 2026\",2026-01-27\n\n/abs/b.jpg,,\n");
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.rows.len(), 2);
        assert_eq!(l.rows[0].0, dir.path().join("a.jpg"));
        assert_eq!(l.rows[0].1.caption.as_deref(), Some("Flood, 2026"));
        assert_eq!(l.rows[0].1.first_seen.as_deref(), Some("2026-01-27"));
        assert_eq!(l.rows[1].0, PathBuf::from("/abs/b.jpg"));
        assert_eq!(l.rows[1].1.caption, None);
        let (_d, l) = list("a.jpg,https://s.example,cap,,a note\n");
        assert_eq!(l.rows[0].1.source.as_deref(), Some("https://s.example"));
        assert_eq!(l.rows[0].1.note.as_deref(), Some("a note"));
    }

    #[test]
    fn a_header_may_put_path_anywhere_and_rows_name_files() {
        let (dir, l) = list("caption,path\nFlood,a.jpg\n");
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.rows[0].0, dir.path().join("a.jpg"));
        assert_eq!(l.rows[0].1.caption.as_deref(), Some("Flood"));
        std::fs::create_dir(dir.path().join("downloads")).unwrap();
        let p = dir.path().join("l2.csv");
        std::fs::write(&p, "downloads,https://x.example,Flood\n").unwrap();
        let l = read(&p).unwrap();
        assert!(l.rows.is_empty());
        assert!(
            l.errors[0].to_string().contains("is a folder"),
            "{:?}",
            l.errors
        );
    }

    #[test]
    fn bad_rows_name_line_and_field() {
        let (_d, l) =
            list("path,first_seen\na.jpg,2999-01-01\nb.jpg,2020-01-01\n,2020-01-01\nc.jpg,1,2\n");
        assert_eq!(l.rows.len(), 1);
        let errors: Vec<String> = l.errors.iter().map(ToString::to_string).collect();
        assert!(errors[0].contains("line 2: first_seen"), "{errors:?}");
        assert!(errors[1].contains("line 4: path: empty"), "{errors:?}");
        assert!(errors[2].contains("line 5"), "{errors:?}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.csv");
        std::fs::write(&p, "path,colour\n").unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("colour"));
    }
}
