//! Hash lists from other systems: PDQ hashes shared without the pictures
//! (ThreatExchange, hash-sharing programs, other PDQ tools). Accepted:
//!
//! - one hash per line: 64 hex digits, optionally followed by a quality
//!   (0–100) and more fields (`hash,quality,file` as PDQ's reference
//!   hasher prints, or separated by tabs or spaces), which are ignored;
//! - CSV (or tab-separated) with a header row naming the hash column
//!   (`pdq`, `pdq_hash`, `pdqhash`, `hash`, `hash_value`, `signal_value`,
//!   `raw_indicator` or `indicator`, any case) and optionally a quality
//!   column (`quality`, `pdq_quality`) and a type column (`signal_type`,
//!   `indicator_type`, `hash_type` or `type`): rows whose type does not
//!   mention PDQ are skipped and counted.
//!
//! Blank lines and lines starting with `#` are skipped. Every other line
//! must hold a valid hash: an error names the line and column, and the
//! import then changes nothing. Lines are at most
//! [`super::limits::MAX_LIST_LINE`] bytes.

use std::io::BufRead;

use serde::Serialize;

use super::ImportOutcome;
use super::limits::MAX_LIST_LINE;
use super::lines::BoundedLines;
use crate::error::{Error, Result};
use crate::hash::{Hash256, Sha256};
use crate::store::Catalog;
use crate::store::exchange::{ImportKind, NewImport};

const HASH_COLUMNS: &[&str] = &[
    "pdq",
    "pdq_hash",
    "pdqhash",
    "hash",
    "hash_value",
    "signal_value",
    "raw_indicator",
    "indicator",
];
const QUALITY_COLUMNS: &[&str] = &["quality", "pdq_quality"];
const TYPE_COLUMNS: &[&str] = &["signal_type", "indicator_type", "hash_type", "type"];
/// Most fields a line may have.
const MAX_FIELDS: usize = 1024;

/// One hash read from a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedEntry {
    /// Line number (1-based).
    pub line: u64,
    /// The hash.
    pub hash: Hash256,
    /// Its quality, when the list gives one.
    pub quality: Option<u8>,
}

/// How the list's lines are laid out, decided by its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// No header: hash first, then maybe a quality; each line may use
    /// its own separator.
    Bare,
    /// A header row named the columns.
    Columns {
        sep: Sep,
        hash: usize,
        quality: Option<usize>,
        kind: Option<usize>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Comma,
    Tab,
    Space,
}

/// Reads a hash list entry by entry.
pub struct HashListReader<R> {
    lines: BoundedLines<R>,
    layout: Option<Layout>,
    skipped: u64,
}

fn err(line: u64, column: Option<&str>, reason: &str) -> Error {
    Error::Invalid {
        what: "hash list",
        reason: match column {
            Some(c) => format!("line {line}, column {c}: {reason}"),
            None => format!("line {line}: {reason}"),
        },
    }
}

impl<R: BufRead> HashListReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> HashListReader<R> {
        HashListReader {
            lines: BoundedLines::new(input, MAX_LIST_LINE),
            layout: None,
            skipped: 0,
        }
    }

    /// Rows skipped because their type column named another kind of
    /// hash.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// SHA-256 of every byte read so far.
    pub fn file_sha256(&self) -> Sha256 {
        self.lines.sha256()
    }

    /// The next hash, `None` at the end.
    ///
    /// # Errors
    /// A malformed line, naming its number and column.
    pub fn next_entry(&mut self) -> Result<Option<ListedEntry>> {
        loop {
            let Some(text) = self.next_line()? else {
                return Ok(None);
            };
            let line = self.lines.number();
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let layout = match self.layout {
                Some(l) => l,
                None => {
                    let l = detect(text, line)?;
                    self.layout = Some(l);
                    if matches!(l, Layout::Columns { .. }) {
                        continue;
                    }
                    l
                }
            };
            match parse_row(text, layout, line)? {
                Some(e) => return Ok(Some(e)),
                None => self.skipped += 1,
            }
        }
    }

    fn next_line(&mut self) -> Result<Option<String>> {
        let line = self.lines.number() + 1;
        if !self
            .lines
            .next()
            .map_err(|reason| err(line, None, &reason))?
        {
            return Ok(None);
        }
        let mut bytes = self.lines.buf().as_slice();
        if line == 1 && bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes = &bytes[3..];
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Some(s.to_string())),
            Err(_) => Err(err(line, None, "not UTF-8 text")),
        }
    }
}

/// The separator a line uses: comma, else tab, else spaces; a single
/// field counts as comma-separated (so it may be quoted).
fn separator(text: &str) -> Sep {
    if text.contains(',') {
        Sep::Comma
    } else if text.contains('\t') {
        Sep::Tab
    } else if text.trim().contains(char::is_whitespace) {
        Sep::Space
    } else {
        Sep::Comma
    }
}

/// Splits a line into fields; comma- and tab-separated fields may be
/// double-quoted (`""` inside quotes is a quote).
fn fields(text: &str, sep: Sep, line: u64) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if sep == Sep::Space {
        out.extend(text.split_whitespace().map(str::to_string));
    } else {
        let delim = if sep == Sep::Comma { ',' } else { '\t' };
        let mut field = String::new();
        let mut chars = text.chars().peekable();
        let mut quoted = false;
        let mut was_quoted = false;
        while let Some(c) = chars.next() {
            if quoted {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                } else {
                    field.push(c);
                }
            } else if c == '"' && field.trim().is_empty() && !was_quoted {
                field.clear();
                quoted = true;
                was_quoted = true;
            } else if c == delim {
                out.push(std::mem::take(&mut field).trim().to_string());
                was_quoted = false;
            } else {
                field.push(c);
            }
            if out.len() > MAX_FIELDS {
                return Err(err(line, None, &format!("more than {MAX_FIELDS} fields")));
            }
        }
        if quoted {
            return Err(err(line, None, "unterminated quoted field"));
        }
        out.push(field.trim().to_string());
    }
    if out.len() > MAX_FIELDS {
        return Err(err(line, None, &format!("more than {MAX_FIELDS} fields")));
    }
    Ok(out)
}

fn is_pdq_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Decides the layout from the first meaningful line.
fn detect(text: &str, line: u64) -> Result<Layout> {
    let sep = separator(text);
    let cols = fields(text, sep, line)?;
    if cols.first().is_some_and(|c| is_pdq_hex(c)) {
        return Ok(Layout::Bare);
    }
    let names: Vec<String> = cols.iter().map(|c| c.to_ascii_lowercase()).collect();
    let find = |wanted: &[&str]| {
        wanted
            .iter()
            .find_map(|w| names.iter().position(|n| n == w))
    };
    let Some(hash) = find(HASH_COLUMNS) else {
        return Err(err(
            line,
            None,
            &format!(
                "neither a PDQ hash (64 hex digits) nor a header naming the hash column ({})",
                HASH_COLUMNS.join(", ")
            ),
        ));
    };
    Ok(Layout::Columns {
        sep,
        hash,
        quality: find(QUALITY_COLUMNS),
        kind: find(TYPE_COLUMNS),
    })
}

/// One data row: its entry, or `None` when its type column names
/// another kind of hash.
fn parse_row(text: &str, layout: Layout, line: u64) -> Result<Option<ListedEntry>> {
    let (sep, hash_col, quality_col, kind_col, names) = match layout {
        Layout::Bare => (separator(text), 0, Some(1), None, false),
        Layout::Columns {
            sep,
            hash,
            quality,
            kind,
        } => (sep, hash, quality, kind, true),
    };
    let cols = fields(text, sep, line)?;
    let col_name = |i: usize, fallback: &'static str| {
        if names {
            format!("{}", i + 1)
        } else {
            fallback.to_string()
        }
    };
    if let Some(k) = kind_col {
        let kind = cols.get(k).map(String::as_str).unwrap_or("");
        if !kind.to_ascii_lowercase().contains("pdq") {
            return Ok(None);
        }
    }
    let Some(hex) = cols.get(hash_col) else {
        return Err(err(
            line,
            Some(&col_name(hash_col, "1")),
            "missing: the row has too few fields",
        ));
    };
    if !is_pdq_hex(hex) {
        let shown: String = hex.chars().take(80).collect();
        return Err(err(
            line,
            Some(&col_name(hash_col, "1")),
            &format!("{shown:?} is not a PDQ hash (64 hex digits)"),
        ));
    }
    let hash: Hash256 = hex
        .parse()
        .map_err(|e: Error| err(line, Some(&col_name(hash_col, "1")), &e.to_string()))?;
    let quality = match quality_col.and_then(|q| cols.get(q)).map(String::as_str) {
        None | Some("") => None,
        Some(q) => match q.parse::<u8>() {
            Ok(q) if q <= 100 => Some(q),
            // Without a header, a second field that is not a quality
            // (a file name, say) is ignored.
            _ if !names => None,
            _ => {
                return Err(err(
                    line,
                    quality_col.map(|c| col_name(c, "2")).as_deref(),
                    &format!("{q:?} is not a PDQ quality (0 to 100)"),
                ));
            }
        },
    };
    Ok(Some(ListedEntry {
        line,
        hash,
        quality,
    }))
}

/// Reads a whole list and checks every line, without any catalog:
/// returns the number of entries and of skipped rows. (The fuzz
/// target's entry.)
///
/// # Errors
/// As [`import`].
pub fn validate(input: impl BufRead) -> Result<(u64, u64)> {
    let mut r = HashListReader::new(input);
    let mut n = 0;
    while r.next_entry()?.is_some() {
        n += 1;
    }
    Ok((n, r.skipped()))
}

/// What a hash-list import read besides what it added.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ListStats {
    /// Entries read.
    pub entries: u64,
    /// Rows skipped (another signal type).
    pub skipped: u64,
}

/// Imports a hash list under the name `list` in one transaction: each
/// hash is added unless the list already has it; the import is recorded
/// (list name, file name, the file's SHA-256) and chained. Any error
/// leaves the catalog as it was.
///
/// # Errors
/// [`Error::Invalid`] naming the line and column; an empty list; a bad
/// list name; catalog errors.
pub fn import(
    catalog: &mut Catalog,
    input: impl BufRead,
    list: &str,
    file_name: Option<&str>,
) -> Result<(ImportOutcome, ListStats)> {
    check_list_name(list)?;
    let mut reader = HashListReader::new(input);
    let mut importer = catalog.begin_import(&NewImport {
        kind: ImportKind::HashList,
        name: list.to_string(),
        file_name: file_name.map(str::to_string),
        chain_head: None,
    })?;
    let mut entries = 0;
    while let Some(e) = reader.next_entry()? {
        entries += 1;
        importer.add_listed(list, &e.hash, e.quality)?;
    }
    if entries == 0 {
        return Err(Error::Invalid {
            what: "hash list",
            reason: "no PDQ hash found in it".to_string(),
        });
    }
    let (record, chain) = importer.finish(&reader.file_sha256())?;
    let skipped = reader.skipped();
    let warnings = if skipped > 0 {
        vec![format!(
            "{skipped} row(s) of another signal type skipped (only PDQ hashes are imported)"
        )]
    } else {
        Vec::new()
    };
    Ok((
        ImportOutcome {
            record,
            links: 0,
            chain,
            warnings,
        },
        ListStats { entries, skipped },
    ))
}

/// A list name: 1 to 256 characters, no control characters.
///
/// # Errors
/// [`Error::Invalid`] otherwise.
pub fn check_list_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if n == 0 || n > 256 || name.chars().any(char::is_control) || name.trim() != name {
        return Err(Error::Invalid {
            what: "hash list name",
            reason: format!(
                "{name:?}: give 1 to 256 characters, no control characters or surrounding spaces"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "98736629670cc19fc9f23862f66cce1f599e32c78e236c78619d202e9e66c157";
    const H2: &str = "e162474a56babaadce4ccfe2231f4abdcac5342e31032bdd2eaca68bca87d516";

    fn read(s: &str) -> Result<Vec<(u64, String, Option<u8>)>> {
        let mut r = HashListReader::new(s.as_bytes());
        let mut out = Vec::new();
        while let Some(e) = r.next_entry()? {
            out.push((e.line, e.hash.to_hex(), e.quality));
        }
        Ok(out)
    }

    #[test]
    fn bare_lines_with_optional_quality() {
        let got = read(&format!(
            "# comment\n{H1}\n\n{}, 90, a.jpg\r\n",
            H2.to_uppercase()
        ))
        .unwrap();
        assert_eq!(
            got,
            vec![(2, H1.to_string(), None), (4, H2.to_string(), Some(90))]
        );
    }

    #[test]
    fn csv_with_named_columns_and_types() {
        let csv = format!(
            "id,signal_type,\"Signal_Value\",quality\n1,pdq,{H1},100\n2,md5,abc,\n3,PDQ,\"{H2}\",\n"
        );
        let mut r = HashListReader::new(csv.as_bytes());
        let a = r.next_entry().unwrap().unwrap();
        assert_eq!((a.line, a.quality), (2, Some(100)));
        let b = r.next_entry().unwrap().unwrap();
        assert_eq!(
            (b.line, b.hash.to_hex(), b.quality),
            (4, H2.to_string(), None)
        );
        assert!(r.next_entry().unwrap().is_none());
        assert_eq!(r.skipped(), 1);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = read(&format!("pdq,quality\n{H1},100\n{}x,1\n", &H1[..63]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3, column 1"), "{e}");
        let e = read(&format!("pdq,quality\n{H1},101\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, column 2"), "{e}");
        let e = read("filename,size\na,1\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("header"), "{e}");
        let e = read(&format!("pdq\n\"{H1}\n")).unwrap_err().to_string();
        assert!(e.contains("unterminated"), "{e}");
        let long = "a".repeat(MAX_LIST_LINE + 10);
        assert!(read(&long).unwrap_err().to_string().contains("longer"));
    }
}
