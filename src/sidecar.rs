//! Metadata that downloaders write beside the file they fetched: yt-dlp's
//! `NAME.info.json` (beside `NAME.mp4`) and gallery-dl's
//! `photo.jpg.json` (`--write-metadata`). The post's address, its text,
//! when it was posted and who posted it become the sighting's source,
//! caption, first-seen and a note, unless the command line gives them.
//!
//! Sidecars are untrusted: read only when they are regular files of at
//! most [`MAX_SIDECAR_BYTES`], parsed as JSON with serde's nesting limit;
//! their values are text, checked against the same limits as the command
//! line's, and never used as paths or fetched.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::NewSighting;
use crate::text::{MAX_LONG_TEXT, MAX_SOURCE, check_len};

/// Largest sidecar read (yt-dlp's carry every format's details: a few MB).
pub const MAX_SIDECAR_BYTES: u64 = 16 << 20;

/// Which downloader wrote a sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Writer {
    /// yt-dlp (`--write-info-json`).
    YtDlp,
    /// gallery-dl (`--write-metadata`).
    GalleryDl,
}

/// What a sidecar says about the post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostMetadata {
    /// The post's address.
    pub source: Option<String>,
    /// Its text or title.
    pub caption: Option<String>,
    /// When it was posted (stored form).
    pub first_seen: Option<String>,
    /// Who posted it.
    pub uploader: Option<String>,
}

/// A sidecar found and read.
#[derive(Debug, Clone)]
pub struct Sidecar {
    /// Its path.
    pub path: PathBuf,
    /// Who wrote it.
    pub writer: Writer,
    /// What it says.
    pub post: PostMetadata,
}

/// Which fields of a sighting came from a sidecar (for the user).
#[derive(Debug, Clone, Serialize)]
pub struct SidecarUse {
    /// The sidecar's file name.
    pub file: String,
    /// Who wrote it.
    pub writer: Writer,
    /// `source`, `caption`, `first_seen`, `uploader`: those taken.
    pub fields: Vec<&'static str>,
}

/// The sidecar files a media file may have, in the order looked for.
fn candidates(media: &Path) -> Vec<(PathBuf, Writer)> {
    let mut out = Vec::new();
    let Some(name) = media.file_name() else {
        return out;
    };
    let mut gallery = name.to_os_string();
    gallery.push(".json");
    out.push((media.with_file_name(gallery), Writer::GalleryDl));
    if let Some(stem) = media.file_stem() {
        let mut info = stem.to_os_string();
        info.push(".info.json");
        out.push((media.with_file_name(info), Writer::YtDlp));
    }
    out
}

/// Reads the sidecar beside `media`, when there is one.
///
/// # Errors
/// A sidecar that is too large, not a regular file, not JSON, or has a
/// field of the wrong kind: [`Error::File`] naming the sidecar (and the
/// field).
pub fn find(media: &Path) -> Result<Option<Sidecar>> {
    for (path, writer) in candidates(media) {
        match std::fs::symlink_metadata(&path) {
            Err(_) => continue,
            Ok(_) => {
                let bytes = match crate::walk::read_regular(&path, MAX_SIDECAR_BYTES) {
                    Ok(b) => b,
                    Err(Error::File { source, .. })
                        if matches!(*source, Error::TooLarge { .. }) =>
                    {
                        return Err(Error::Invalid {
                            what: "sidecar",
                            reason: format!(
                                "too large: over {} MiB, the most read from a sidecar",
                                MAX_SIDECAR_BYTES >> 20
                            ),
                        }
                        .in_file(&path));
                    }
                    Err(e) => return Err(e),
                };
                let post = parse(&bytes, writer).map_err(|e| e.in_file(&path))?;
                return Ok(Some(Sidecar { path, writer, post }));
            }
        }
    }
    Ok(None)
}

fn invalid(field: &str, reason: impl Into<String>) -> Error {
    Error::Invalid {
        what: "sidecar",
        reason: format!("field {field}: {}", reason.into()),
    }
}

/// The text of `field`, if present and not empty; an error when it is
/// there but not text.
fn text(v: &Value, field: &str) -> Result<Option<String>> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(other) => Err(invalid(
            field,
            format!("expected text, found {}", kind(other)),
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The first of `fields` that holds text.
fn first_text(v: &Value, fields: &[&str]) -> Result<Option<String>> {
    for f in fields {
        if let Some(t) = text(v, f)? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// A Unix time in seconds as the stored form.
fn from_timestamp(field: &str, v: &Value) -> Result<Option<String>> {
    let Some(n) = v.get(field) else {
        return Ok(None);
    };
    if n.is_null() {
        return Ok(None);
    }
    let secs = n
        .as_f64()
        .filter(|s| s.is_finite())
        .ok_or_else(|| invalid(field, format!("expected a Unix time, found {}", kind(n))))?;
    #[allow(clippy::cast_possible_truncation)]
    let t = DateTime::from_timestamp(secs.trunc() as i64, 0)
        .ok_or_else(|| invalid(field, format!("{secs} is out of range")))?;
    Ok(Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
}

/// Checks a date read from a sidecar as the command line's are checked
/// (not before 1826, not in the future).
fn plausible(field: &str, stored: String) -> Result<String> {
    crate::time::parse_first_seen(&stored).map_err(|e| invalid(field, e.to_string()))
}

fn parse(bytes: &[u8], writer: Writer) -> Result<PostMetadata> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::Invalid {
        what: "sidecar",
        reason: format!("not JSON: {e}"),
    })?;
    if !v.is_object() {
        return Err(Error::Invalid {
            what: "sidecar",
            reason: format!("expected a JSON object, found {}", kind(&v)),
        });
    }
    let post = match writer {
        Writer::YtDlp => yt_dlp(&v)?,
        Writer::GalleryDl => gallery_dl(&v)?,
    };
    for (field, value, max) in [
        ("source", &post.source, MAX_SOURCE),
        ("caption", &post.caption, MAX_LONG_TEXT),
        ("uploader", &post.uploader, MAX_SOURCE),
    ] {
        if let Some(t) = value {
            check_len("sidecar", t, max).map_err(|e| invalid(field, e.to_string()))?;
        }
    }
    Ok(post)
}

/// yt-dlp: `webpage_url`, `title` (else `description`), `timestamp`
/// (else `upload_date` as YYYYMMDD), `uploader` (else `channel`).
fn yt_dlp(v: &Value) -> Result<PostMetadata> {
    let first_seen = match from_timestamp("timestamp", v)? {
        Some(t) => Some(plausible("timestamp", t)?),
        None => match text(v, "upload_date")? {
            Some(d) => {
                let day = NaiveDate::parse_from_str(&d, "%Y%m%d")
                    .map_err(|_| invalid("upload_date", format!("{d:?} is not a YYYYMMDD date")))?;
                Some(plausible(
                    "upload_date",
                    day.format("%Y-%m-%d").to_string(),
                )?)
            }
            None => None,
        },
    };
    Ok(PostMetadata {
        source: first_text(v, &["webpage_url", "original_url"])?,
        caption: first_text(v, &["title", "fulltitle", "description"])?,
        first_seen,
        uploader: first_text(v, &["uploader", "channel", "uploader_id"])?,
    })
}

/// Who posted it, in gallery-dl's shapes: a name, or an object with a
/// name (`author`, `user`, `owner`).
fn person(v: &Value) -> Result<Option<String>> {
    for field in ["author", "user", "owner", "uploader"] {
        match v.get(field) {
            Some(Value::Object(_)) => {
                let o = &v[field];
                let nick = first_text(o, &["nick", "name", "username", "screen_name"])?;
                if nick.is_some() {
                    return Ok(nick);
                }
            }
            Some(Value::String(_)) => return text(v, field),
            _ => {}
        }
    }
    first_text(v, &["username", "uploader_name"])
}

/// gallery-dl: the post's address (`post_url`, else `url`), its text
/// (`content`, `description`, `caption`, `title`), `date` ("YYYY-MM-DD
/// HH:MM:SS", UTC) or `timestamp`, and the author.
fn gallery_dl(v: &Value) -> Result<PostMetadata> {
    let first_seen = match text(v, "date")? {
        Some(d) => {
            let t = NaiveDateTime::parse_from_str(&d, "%Y-%m-%d %H:%M:%S")
                .map(|t| t.and_utc())
                .or_else(|_| DateTime::parse_from_rfc3339(&d).map(|t| t.with_timezone(&Utc)))
                .map_err(|_| invalid("date", format!("{d:?} is not a date and time")))?;
            Some(plausible(
                "date",
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            )?)
        }
        None => match from_timestamp("timestamp", v)? {
            Some(t) => Some(plausible("timestamp", t)?),
            None => None,
        },
    };
    Ok(PostMetadata {
        source: first_text(v, &["post_url", "webpage_url", "url"])?,
        caption: first_text(v, &["content", "description", "caption", "title"])?,
        first_seen,
        uploader: person(v)?,
    })
}

/// The sighting to record: what the user gave (`given`) wins field by
/// field; the sidecar fills the rest, its uploader added to the note.
/// Returns the fields taken from the sidecar.
pub fn merge(given: &NewSighting, sidecar: &Sidecar) -> (NewSighting, SidecarUse) {
    let post = &sidecar.post;
    let mut fields = Vec::new();
    let mut take =
        |name: &'static str, given: &Option<String>, found: &Option<String>| match (given, found) {
            (Some(g), _) => Some(g.clone()),
            (None, Some(f)) => {
                fields.push(name);
                Some(f.clone())
            }
            (None, None) => None,
        };
    let source = take("source", &given.source, &post.source);
    let caption = take("caption", &given.caption, &post.caption);
    let first_seen = take("first_seen", &given.first_seen, &post.first_seen);
    let note = match (&given.note, &post.uploader) {
        (note, Some(u)) => {
            fields.push("uploader");
            let by = format!("uploaded by {u}");
            Some(match note {
                Some(n) => format!("{n}; {by}"),
                None => by,
            })
        }
        (note, None) => note.clone(),
    };
    let name = sidecar
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (
        NewSighting {
            source,
            caption,
            first_seen,
            file_name: given.file_name.clone(),
            note,
        },
        SidecarUse {
            file: name,
            writer: sidecar.writer,
            fields,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yt_dlp_fields() {
        let post = parse(
            br#"{"id":"x1","title":"Agents at the consulate door","webpage_url":"https://video.example/watch?v=x1",
                "upload_date":"20260127","timestamp":1769506200,"uploader":"Local News","formats":[{"url":"https://cdn/x"}]}"#,
            Writer::YtDlp,
        )
        .unwrap();
        assert_eq!(
            post.source.as_deref(),
            Some("https://video.example/watch?v=x1")
        );
        assert_eq!(
            post.caption.as_deref(),
            Some("Agents at the consulate door")
        );
        assert_eq!(post.first_seen.as_deref(), Some("2026-01-27T09:30:00Z"));
        assert_eq!(post.uploader.as_deref(), Some("Local News"));
        let post = parse(br#"{"upload_date":"20190502","title":" "}"#, Writer::YtDlp).unwrap();
        assert_eq!(post.first_seen.as_deref(), Some("2019-05-02"));
        assert_eq!(post.caption, None);
    }

    #[test]
    fn gallery_dl_fields() {
        let post = parse(
            br#"{"category":"twitter","tweet_id":1,"content":"Boy led away by his backpack",
                "date":"2026-01-27 09:30:00","author":{"name":"reporter_x","nick":"A Reporter"},
                "post_url":"https://social.example/status/1"}"#,
            Writer::GalleryDl,
        )
        .unwrap();
        assert_eq!(
            post.caption.as_deref(),
            Some("Boy led away by his backpack")
        );
        assert_eq!(post.first_seen.as_deref(), Some("2026-01-27T09:30:00Z"));
        assert_eq!(post.uploader.as_deref(), Some("A Reporter"));
        assert_eq!(
            post.source.as_deref(),
            Some("https://social.example/status/1")
        );
    }

    #[test]
    fn bad_sidecars_name_the_field() {
        for (json, field) in [
            (&br#"{"upload_date":"yesterday"}"#[..], "upload_date"),
            (br#"{"title":["a"]}"#, "title"),
            (br#"{"timestamp":"soon"}"#, "timestamp"),
            (br#"{"timestamp":32503680000}"#, "timestamp"),
        ] {
            let e = parse(json, Writer::YtDlp).unwrap_err().to_string();
            assert!(e.contains(&format!("field {field}")), "{e}");
        }
        let e = parse(br#"{"date":"2026-13-40 00:00:00"}"#, Writer::GalleryDl)
            .unwrap_err()
            .to_string();
        assert!(e.contains("field date"), "{e}");
        assert!(parse(b"[1,2]", Writer::GalleryDl).is_err());
        assert!(parse(b"{not json", Writer::GalleryDl).is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(deep.as_bytes(), Writer::GalleryDl).is_err());
    }

    #[test]
    fn the_command_line_wins() {
        let sidecar = Sidecar {
            path: PathBuf::from("/x/v.info.json"),
            writer: Writer::YtDlp,
            post: PostMetadata {
                source: Some("https://s".into()),
                caption: Some("from sidecar".into()),
                first_seen: Some("2026-01-27".into()),
                uploader: Some("U".into()),
            },
        };
        let given = NewSighting {
            caption: Some("mine".into()),
            note: Some("tip".into()),
            ..NewSighting::default()
        };
        let (s, used) = merge(&given, &sidecar);
        assert_eq!(s.caption.as_deref(), Some("mine"));
        assert_eq!(s.source.as_deref(), Some("https://s"));
        assert_eq!(s.note.as_deref(), Some("tip; uploaded by U"));
        assert_eq!(used.fields, ["source", "first_seen", "uploader"]);
        assert_eq!(used.file, "v.info.json");
    }
}
