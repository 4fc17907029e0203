//! Finding items again by what was said about them: full-text search
//! over sightings' captions, sources, notes and file names (SQLite FTS5,
//! the `sighting_text` table), with filters on source, caption, date and
//! kind. One hit per item, with its earliest sighting.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::Value;

use super::catalog::{Catalog, Item, ItemId, Sighting};
use crate::error::{Error, Result};

/// What to look for. Every field given must hold (AND).
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Words anywhere in a caption, source, note or file name (each word
    /// must appear; a word ending in `*` matches as a prefix; case and
    /// accents are ignored).
    pub text: Option<String>,
    /// Text the source contains (a substring: `example.org`, `/status/`).
    pub source: Option<String>,
    /// Words the caption holds, as for `text`.
    pub caption: Option<String>,
    /// Sightings dated on or after this (first-seen, else archived).
    pub since: Option<String>,
    /// Sightings dated on or before this (a date includes the whole day).
    pub until: Option<String>,
    /// `image` or `video`.
    pub media_type: Option<String>,
    /// Oldest first, else newest first: items in the order of their
    /// matching sightings' dates (newest first: the item seen most
    /// recently comes first).
    pub oldest_first: bool,
    /// At most this many items.
    pub limit: usize,
    /// Skip this many items first (paging).
    pub offset: usize,
}

/// One item found.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The item.
    pub item: Item,
    /// Its earliest sighting of all (not only of those matching).
    pub earliest: Sighting,
    /// Its sightings that match the query.
    pub matching: u64,
    /// All its sightings.
    pub sightings: u64,
}

/// A page of items found.
#[derive(Debug, Clone)]
pub struct SearchResults {
    /// This page of items.
    pub hits: Vec<SearchHit>,
    /// More items match beyond this page.
    pub more: bool,
}

/// A date or RFC 3339 time, in the catalog's stored form.
///
/// # Errors
/// [`Error::Invalid`] naming the option.
pub fn parse_date(what: &'static str, s: &str) -> Result<String> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.format("%Y-%m-%d").to_string());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    Err(Error::Invalid {
        what,
        reason: format!("{s:?}: give a date (2026-01-27) or an RFC 3339 time"),
    })
}

/// An FTS5 query for the user's words: each word a quoted string (so no
/// word is read as FTS syntax), all required; `word*` a prefix.
fn fts_words(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .filter_map(|w| {
            let (w, prefix) = match w.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (w, false),
            };
            // Words are split on what the tokenizer splits on anyway;
            // a word of punctuation alone would match nothing.
            if !w.chars().any(char::is_alphanumeric) {
                return None;
            }
            let quoted = format!("\"{}\"", w.replace('"', "\"\""));
            Some(if prefix { format!("{quoted}*") } else { quoted })
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// `%text%` for LIKE, with `\` escaping LIKE's wildcards.
fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Above this many matching sightings, a word search walks sightings in
/// date order instead of sorting all the matches.
const COMMON_WORDS: usize = 5_000;

impl Catalog {
    /// Whether the FTS query matches more than `n` sightings (reads at
    /// most `n + 1` of them).
    fn matches_more_than(&self, fts: &str, n: usize) -> Result<bool> {
        let found: i64 = self.conn().query_row(
            "SELECT count(*) FROM (SELECT rowid FROM sighting_text WHERE sighting_text MATCH ?1 LIMIT ?2)",
            rusqlite::params![fts, i64::try_from(n + 1).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(found).unwrap_or(usize::MAX) > n)
    }

    /// Items with a sighting matching `q`, one hit per item, in the
    /// order of their matching sightings' dates.
    ///
    /// # Errors
    /// [`Error::Invalid`] for text with no searchable word; SQLite errors.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        let mut filters: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        // The placeholder of a new parameter.
        let mut param = |v: String| {
            params.push(Value::Text(v));
            format!("?{}", params.len())
        };
        let mut fts = Vec::new();
        for (what, text, column) in [
            ("search text", &q.text, None),
            ("--caption", &q.caption, Some("caption")),
        ] {
            if let Some(text) = text {
                let words = fts_words(text).ok_or_else(|| Error::Invalid {
                    what,
                    reason: format!("{text:?} has no word to search for"),
                })?;
                fts.push(match column {
                    Some(c) => format!("{{{c}}} : ({words})"),
                    None => format!("({words})"),
                });
            }
        }
        let mut fts_filter = None;
        if !fts.is_empty() {
            let words = fts.join(" AND ");
            // Rare words: list their sightings, then sort those. Common
            // words: walk sightings in date order, looking each one up,
            // and stop at the page's end.
            let common = self.matches_more_than(&words, COMMON_WORDS)?;
            let p = param(words);
            // Looked up sighting by sighting (also how one item's
            // matching sightings are counted below).
            let each = format!(
                "EXISTS (SELECT 1 FROM sighting_text WHERE sighting_text MATCH {p} AND rowid = s.id)"
            );
            filters.push(if common {
                each.clone()
            } else {
                format!("s.id IN (SELECT rowid FROM sighting_text WHERE sighting_text MATCH {p})")
            });
            fts_filter = Some((filters.len() - 1, each));
        }
        if let Some(source) = &q.source {
            // The source as corrected: the row's own, unless amended; the
            // few amended ones from the search index's corrected copy.
            let p = param(like_pattern(source));
            filters.push(format!(
                "((s.source LIKE {p} ESCAPE '\\' AND NOT EXISTS (SELECT 1 FROM correction c \
                   WHERE c.sighting_id = s.id AND c.field = 'source')) \
                 OR s.id IN (SELECT rowid FROM sighting_text WHERE rowid IN \
                   (SELECT sighting_id FROM correction WHERE field = 'source') \
                   AND source LIKE {p} ESCAPE '\\'))"
            ));
        }
        let date = "coalesce(s.first_seen, s.archived_at)";
        if let Some(since) = &q.since {
            let p = param(since.clone());
            filters.push(format!("{date} >= {p}"));
        }
        if let Some(until) = &q.until {
            // A day includes its times: "2026-01-27T09:00Z" is on or
            // before "2026-01-27".
            let p = param(until.clone());
            filters.push(format!(
                "({date} <= {p} OR substr({date}, 1, length({p})) = {p})"
            ));
        }
        if let Some(kind) = &q.media_type {
            let p = param(kind.clone());
            filters.push(format!("i.media_type = {p}"));
        }
        // A retracted sighting no longer counts.
        filters.push(
            "NOT EXISTS (SELECT 1 FROM correction c WHERE c.sighting_id = s.id \
             AND c.action = 'retract')"
                .to_string(),
        );
        let conditions = filters.join(" AND ");
        // Walk matching sightings in date order (the `sighting_date`
        // index) and stop once the page and one more item are found, so
        // a word in every caption costs no more than a rare one.
        let order = if q.oldest_first { "ASC" } else { "DESC" };
        let walk = format!(
            "SELECT s.item_id FROM sighting s JOIN item i ON i.id = s.item_id \
             WHERE {conditions} ORDER BY {date} {order}, s.id {order}"
        );
        let conn = self.conn();
        let wanted = q.offset.saturating_add(q.limit);
        let mut items: Vec<ItemId> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut more = false;
        {
            let mut stmt = conn.prepare(&walk)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
            while let Some(row) = rows.next()? {
                let id = ItemId(row.get(0)?);
                if seen.insert(id) {
                    if items.len() == wanted {
                        more = true;
                        break;
                    }
                    items.push(id);
                }
            }
        }
        // Each item's matching sightings, looked up one by one.
        let per_item = match &fts_filter {
            Some((at, each)) => {
                let mut per_item = filters.clone();
                per_item[*at].clone_from(each);
                per_item.join(" AND ")
            }
            None => conditions.clone(),
        };
        let count_sql = format!(
            "SELECT count(*) FROM sighting s JOIN item i ON i.id = s.item_id \
             WHERE s.item_id = ?{} AND {per_item}",
            params.len() + 1
        );
        let mut count = conn.prepare(&count_sql)?;
        let mut hits = Vec::new();
        for id in items.into_iter().skip(q.offset) {
            let sightings = self.sightings(id)?;
            let Some(earliest) = sightings.first().cloned() else {
                continue;
            };
            let mut with_item = params.clone();
            with_item.push(Value::Integer(id.0));
            let matching: i64 =
                count.query_row(rusqlite::params_from_iter(with_item.iter()), |r| r.get(0))?;
            hits.push(SearchHit {
                item: self.item(id)?,
                earliest,
                matching: matching.unsigned_abs(),
                sightings: sightings.len() as u64,
            });
        }
        Ok(SearchResults { hits, more })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_never_read_as_syntax() {
        assert_eq!(fts_words("flood  Texas").unwrap(), "\"flood\" \"Texas\"");
        assert_eq!(
            fts_words("NEAR(a b) OR").unwrap(),
            "\"NEAR(a\" \"b)\" \"OR\""
        );
        assert_eq!(fts_words("say \"hi\"").unwrap(), "\"say\" \"\"\"hi\"\"\"");
        assert_eq!(fts_words("consul*").unwrap(), "\"consul\"*");
        assert_eq!(fts_words(" -- * ").as_deref(), None);
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }

    #[test]
    fn dates_are_read_in_the_stored_form() {
        assert_eq!(parse_date("--since", "2026-01-27").unwrap(), "2026-01-27");
        assert_eq!(
            parse_date("--since", "2026-01-27T10:00:00+02:00").unwrap(),
            "2026-01-27T08:00:00Z"
        );
        assert!(parse_date("--since", "yesterday").is_err());
    }
}
