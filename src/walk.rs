//! Turning command-line paths into the list of files to process.
//!
//! A file named explicitly is always processed (and gets an error if it is
//! not media). A folder is walked recursively; hidden entries (names
//! starting with `.`) are skipped unless asked for, and files whose
//! content is not a recognised image are skipped and counted, so a folder
//! of downloads with stray text files archives cleanly.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::decode;
use crate::error::Error;

/// The files found, in a stable order, and what was passed over.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Files to process, in command-line order, folders sorted by name.
    pub files: Vec<PathBuf>,
    /// Files inside folders that are not recognised media.
    pub skipped: Vec<PathBuf>,
    /// Paths that could not be read at all.
    pub errors: Vec<Error>,
}

/// Walks `paths`. `include_hidden` also takes dot-files and dot-folders.
pub fn collect(paths: &[PathBuf], include_hidden: bool) -> Inputs {
    let mut out = Inputs::default();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => out.errors.push(Error::io(path, e)),
            Ok(m) if m.is_dir() => walk_dir(path, include_hidden, &mut out),
            Ok(_) => out.files.push(path.clone()),
        }
    }
    out
}

fn walk_dir(root: &Path, include_hidden: bool, out: &mut Inputs) {
    let walker = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| include_hidden || e.depth() == 0 || !is_hidden(e.file_name()));
    for entry in walker {
        match entry {
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                out.errors.push(Error::io(path, std::io::Error::other(e)));
            }
            Ok(e) if e.file_type().is_file() => {
                if looks_like_media(e.path()) {
                    out.files.push(e.into_path());
                } else {
                    out.skipped.push(e.into_path());
                }
            }
            // FIFOs, devices, sockets and links inside a folder are
            // passed over and counted, never opened.
            Ok(e) if !e.file_type().is_dir() => out.skipped.push(e.into_path()),
            Ok(_) => {}
        }
    }
}

/// Reads a regular file of at most `max_bytes` bytes. Anything else (a
/// FIFO, a device, a socket) is refused without blocking on it, and the
/// limit holds while reading, whatever the file claims its size is.
///
/// # Errors
/// [`Error::Io`] for the open or read, [`Error::NotRegular`] and
/// [`Error::TooLarge`], each with the path.
pub fn read_regular(path: &Path, max_bytes: u64) -> Result<Vec<u8>, Error> {
    let file = open_without_blocking(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotRegular {
            kind: kind_of(&meta.file_type()),
        }
        .in_file(path));
    }
    let too_large = |actual: u64| too_large(actual, max_bytes).in_file(path);
    if meta.len() > max_bytes {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The error for a file over `--max-bytes`.
pub(crate) fn too_large(actual: u64, max_bytes: u64) -> Error {
    Error::TooLarge {
        what: "file size (bytes)",
        actual,
        limit: max_bytes,
        hint: " (raise it with --max-bytes)",
    }
}

/// Opens for reading without waiting for a FIFO's writer.
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        const O_NONBLOCK: i32 = 0o4000;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        const O_NONBLOCK: i32 = 0x0004;
        opts.custom_flags(O_NONBLOCK);
    }
    opts.open(path)
}

fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() { "a folder" } else { "not a file" }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|s| s.starts_with('.'))
}

/// Reads the first bytes of a file and asks the decoders whether they
/// recognise it.
fn looks_like_media(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(mut f) = open_without_blocking(path) else {
        // Let the processing stage report the error with its reason.
        return true;
    };
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return true,
        }
    }
    decode::sniff(&head[..n]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_hidden_and_non_media() {
        let dir = tempfile::tempdir().unwrap();
        let png = {
            let mut v = Vec::new();
            image::DynamicImage::new_rgb8(2, 2)
                .write_to(&mut std::io::Cursor::new(&mut v), image::ImageFormat::Png)
                .unwrap();
            v
        };
        std::fs::create_dir_all(dir.path().join("sub/.hidden")).unwrap();
        std::fs::write(dir.path().join("sub/b.png"), &png).unwrap();
        std::fs::write(dir.path().join("a.dat"), &png).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"text").unwrap();
        std::fs::write(dir.path().join(".x.png"), &png).unwrap();
        std::fs::write(dir.path().join("sub/.hidden/c.png"), &png).unwrap();
        let got = collect(&[dir.path().to_path_buf()], false);
        let names: Vec<_> = got
            .files
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![PathBuf::from("a.dat"), PathBuf::from("sub/b.png")]
        );
        assert_eq!(got.skipped.len(), 1);
        let all = collect(&[dir.path().to_path_buf()], true);
        assert_eq!(all.files.len(), 4);
    }
}
