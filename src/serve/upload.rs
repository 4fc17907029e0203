//! Uploads: a multipart request read into files on disk under the
//! server's own upload folder, within the CLI's byte limit per file and a
//! count of files and fields, and the uploads a check keeps for a while
//! so its page can archive them without sending them again.
//!
//! A file's name from the browser is never used as a path: it is cut to
//! its last component, cleaned, and placed in a folder of a random name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::Multipart;
use tokio::io::AsyncWriteExt;

use super::error::Failure;

/// Most text fields in one request, and the longest one (the caption
/// and note limit, with room for a multi-byte margin).
const MAX_FIELDS: usize = 32;
const MAX_FIELD_BYTES: usize = firstseen::text::MAX_LONG_TEXT + 1024;

/// One uploaded file, on disk.
#[derive(Debug, Clone)]
pub struct Uploaded {
    /// The cleaned name it was sent with (shown, and recorded as the
    /// sighting's file name).
    pub name: String,
    /// Where it is: `<upload dir>/<random>/<name>`.
    pub path: PathBuf,
}

/// A multipart request's files and text fields. The form owns its files:
/// they are removed when it is dropped — when the request is answered,
/// fails, or is cancelled by a client that went away — unless taken out
/// first ([`Form::release`]) to be kept.
#[derive(Debug, Default)]
pub struct Form {
    /// Files, in the order sent.
    pub files: Vec<Uploaded>,
    /// Text fields by name (the last value of a repeated name wins).
    pub fields: HashMap<String, String>,
}

impl Drop for Form {
    fn drop(&mut self) {
        remove(&self.files);
    }
}

impl Form {
    /// Takes the file at `path` out of the form, so that dropping the
    /// form leaves it on disk.
    pub fn release(&mut self, path: &Path) -> Option<Uploaded> {
        let i = self.files.iter().position(|f| f.path == path)?;
        Some(self.files.remove(i))
    }

    /// A text field, trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }
}

/// A random hex name (128 bits), for upload folders, pending uploads and
/// CSRF tokens.
pub fn random_id() -> String {
    let mut b = [0u8; 16];
    // The operating system's generator; if it fails there is no safe
    // fallback, and the server cannot run.
    getrandom::fill(&mut b).expect("the operating system's random number generator failed");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The last component of a name from the browser, with control
/// characters and path separators removed, no leading dot, at most 120
/// characters; `upload` when nothing is left.
pub fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !firstseen::text::is_invisible_control(*c))
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "upload".to_string()
    } else {
        cleaned
    }
}

/// Reads `multipart` into `dir`: every part with a file name is a file
/// (at most `max_files`, each at most `max_bytes`), every other part a
/// text field. A part over a limit fails the whole request, and what
/// was written of it is removed.
///
/// # Errors
/// A limit passed, a malformed body, a disk error.
pub async fn read(
    mut multipart: Multipart,
    dir: &Path,
    max_files: usize,
    max_bytes: u64,
) -> Result<Form, Failure> {
    let mut form = Form::default();
    let result = read_into(&mut multipart, dir, max_files, max_bytes, &mut form).await;
    if let Err(e) = result {
        drop(form);
        // Read the rest (the request limit bounds it) so that the client,
        // still sending, gets the answer rather than a reset connection.
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
        return Err(e);
    }
    Ok(form)
}

async fn read_into(
    multipart: &mut Multipart,
    dir: &Path,
    max_files: usize,
    max_bytes: u64,
    form: &mut Form,
) -> Result<(), Failure> {
    let mut fields = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(Failure::multipart)? {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            // A file input left empty sends a part with an empty name.
            Some(f) if f.is_empty() => {
                while field.chunk().await.map_err(Failure::multipart)?.is_some() {}
            }
            Some(file_name) => {
                if form.files.len() >= max_files {
                    return Err(Failure::bad_request(format!(
                        "too many files in one request: at most {max_files}"
                    )));
                }
                let shown = clean_name(&file_name);
                let folder = dir.join(random_id());
                tokio::fs::create_dir(&folder)
                    .await
                    .map_err(|e| Failure::internal(format!("upload folder: {e}")))?;
                let path = folder.join(&shown);
                form.files.push(Uploaded {
                    name: shown.clone(),
                    path: path.clone(),
                });
                let mut out = tokio::fs::File::create(&path)
                    .await
                    .map_err(|e| Failure::internal(format!("{shown}: {e}")))?;
                let mut written = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(Failure::multipart)? {
                    written += chunk.len() as u64;
                    if written > max_bytes {
                        return Err(Failure::too_large(format!(
                            "{shown}: larger than the {max_bytes}-byte limit"
                        )));
                    }
                    out.write_all(&chunk)
                        .await
                        .map_err(|e| Failure::internal(format!("{shown}: {e}")))?;
                }
                out.flush()
                    .await
                    .map_err(|e| Failure::internal(format!("{shown}: {e}")))?;
            }
            None => {
                fields += 1;
                if fields > MAX_FIELDS {
                    return Err(Failure::bad_request(format!(
                        "too many form fields: at most {MAX_FIELDS}"
                    )));
                }
                let mut value = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(Failure::multipart)? {
                    if value.len() + chunk.len() > MAX_FIELD_BYTES {
                        return Err(Failure::too_large(format!(
                            "field {}: longer than {MAX_FIELD_BYTES} bytes",
                            super::pages::field_label(&name)
                        )));
                    }
                    value.extend_from_slice(&chunk);
                }
                let value = String::from_utf8(value).map_err(|_| {
                    Failure::bad_request(format!(
                        "field {}: not UTF-8 text",
                        super::pages::field_label(&name)
                    ))
                })?;
                form.fields.insert(name, value);
            }
        }
    }
    Ok(())
}

/// Removes uploaded files and their folders (errors ignored: the
/// upload folder is removed whole when the server stops).
pub fn remove(files: &[Uploaded]) {
    for f in files {
        if let Some(folder) = f.path.parent() {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

/// Checked uploads kept so that their result page can archive them:
/// at most [`Pending::MAX`], each for at most [`Pending::TTL`]; the
/// oldest go first.
#[derive(Debug, Default)]
pub struct Pending {
    kept: Mutex<HashMap<String, (Uploaded, Instant)>>,
}

impl Pending {
    /// Most uploads kept.
    pub const MAX: usize = 64;
    /// How long one is kept.
    pub const TTL: Duration = Duration::from_secs(2 * 3600);

    /// Removes the uploads kept longer than [`Pending::TTL`] (also run
    /// every few minutes by the server).
    pub fn sweep(&self) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        Self::sweep_locked(&mut kept);
    }

    fn sweep_locked(kept: &mut HashMap<String, (Uploaded, Instant)>) {
        let now = Instant::now();
        let expired: Vec<String> = kept
            .iter()
            .filter(|(_, (_, at))| now.duration_since(*at) > Self::TTL)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            if let Some((f, _)) = kept.remove(&k) {
                remove(&[f]);
            }
        }
    }

    /// Keeps `file`; returns its id.
    pub fn keep(&self, file: Uploaded) -> String {
        let id = random_id();
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        Self::sweep_locked(&mut kept);
        while kept.len() >= Self::MAX {
            let oldest = kept
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone());
            match oldest.and_then(|k| kept.remove(&k)) {
                Some((f, _)) => remove(&[f]),
                None => break,
            }
        }
        kept.insert(id.clone(), (file, Instant::now()));
        id
    }

    /// Takes the upload kept under `id`, if it is still there.
    pub fn take(&self, id: &str) -> Option<Uploaded> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.remove(id)
            .filter(|(_, at)| at.elapsed() <= Self::TTL)
            .map(|(f, _)| f)
    }

    /// Puts back an upload taken (archiving it failed).
    pub fn put_back(&self, id: String, file: Uploaded) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.insert(id, (file, Instant::now()));
    }
}

/// The prefix of a server's upload folder in the temporary directory:
/// `firstseen-uploads-PID-` then random characters.
pub const FOLDER_PREFIX: &str = "firstseen-uploads-";

/// Removes the upload folders of servers that are no longer running (a
/// server stopped by SIGKILL or a crash cannot remove its own).
pub fn remove_stale_folders(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(FOLDER_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Where liveness cannot be told (no /proc), nothing is removed.
        let gone = Path::new("/proc").is_dir() && !Path::new(&format!("/proc/{pid}")).exists();
        if pid != std::process::id() && gone {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_browser_cannot_name_a_path() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\x\\photo.jpg"), "photo.jpg");
        assert_eq!(clean_name(".hidden.jpg"), "hidden.jpg");
        assert_eq!(clean_name("a\u{202e}b\n.jpg"), "ab.jpg");
        assert_eq!(clean_name(".."), "upload");
        assert_eq!(clean_name(""), "upload");
        assert_eq!(clean_name(&"x".repeat(500)).len(), 120);
    }

    #[test]
    fn a_dropped_form_removes_its_files_unless_released() {
        let dir = tempfile::tempdir().unwrap();
        let mut made = Vec::new();
        for n in ["a.jpg", "b.jpg"] {
            let folder = dir.path().join(random_id());
            std::fs::create_dir(&folder).unwrap();
            let path = folder.join(n);
            std::fs::write(&path, b"x").unwrap();
            made.push(Uploaded {
                name: n.to_string(),
                path,
            });
        }
        let mut form = Form {
            files: made.clone(),
            fields: HashMap::new(),
        };
        let kept = form.release(&made[1].path).unwrap();
        drop(form);
        assert!(!made[0].path.exists(), "dropped with its form");
        assert!(kept.path.exists(), "released before the drop");
    }

    #[test]
    fn stale_upload_folders_of_dead_servers_go() {
        let tmp = tempfile::tempdir().unwrap();
        // No process has pid 4294967; this process is alive.
        let dead = tmp.path().join(format!("{FOLDER_PREFIX}4294967-abc"));
        let mine = tmp
            .path()
            .join(format!("{FOLDER_PREFIX}{}-abc", std::process::id()));
        let other = tmp.path().join("unrelated-4294967");
        for d in [&dead, &mine, &other] {
            std::fs::create_dir(d).unwrap();
        }
        remove_stale_folders(tmp.path());
        if Path::new("/proc").is_dir() {
            assert!(!dead.exists());
        }
        assert!(mine.exists() && other.exists());
    }

    #[test]
    fn random_ids_differ() {
        let a = random_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_id());
    }
}
