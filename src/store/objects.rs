//! Content-addressed object store: `objects/ab/cdef…`, each file named by
//! the SHA-256 of its bytes, written once (temp file, fsync, rename) and
//! never modified, so `sha256sum` can check it and a crash can never leave
//! a half-written object under a real name.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hash::Sha256;

/// The `objects/` directory of an archive.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl ObjectStore {
    /// Opens (creating if needed) the store under `archive_dir`.
    ///
    /// # Errors
    /// When the directories cannot be created.
    pub fn open(archive_dir: &Path) -> Result<ObjectStore> {
        let root = archive_dir.join("objects");
        let tmp = archive_dir.join("tmp");
        for dir in [&root, &tmp] {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Ok(ObjectStore { root, tmp })
    }

    /// The store under `archive_dir`, without creating anything.
    pub fn at(archive_dir: &Path) -> ObjectStore {
        ObjectStore {
            root: archive_dir.join("objects"),
            tmp: archive_dir.join("tmp"),
        }
    }

    /// Where the object named `sha` lives (whether or not it exists).
    pub fn path_of(&self, sha: &Sha256) -> PathBuf {
        let hex = sha.to_hex();
        self.root.join(&hex[..2]).join(&hex[2..])
    }

    /// True when the object is present.
    pub fn contains(&self, sha: &Sha256) -> bool {
        self.path_of(sha).is_file()
    }

    /// Stores `bytes` under `sha` (which must be their SHA-256). An object
    /// already present is left as it is (same name, same content).
    /// Returns whether a new object was written.
    ///
    /// # Errors
    /// Any I/O failure; the temporary file is removed and no object with a
    /// real name is left behind.
    pub fn put(&self, sha: &Sha256, bytes: &[u8]) -> Result<bool> {
        debug_assert_eq!(Sha256::of(bytes), *sha);
        let dest = self.path_of(sha);
        if dest.is_file() {
            return Ok(false);
        }
        let dir = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let tmp = self.tmp.join(format!(
            "{}.{}.{}",
            sha.to_hex(),
            std::process::id(),
            unique_suffix()
        ));
        let result = write_synced(&tmp, bytes).and_then(|()| {
            fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
            sync_dir(dir);
            Ok(true)
        });
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Removes an object (used to roll back an object written for a
    /// catalog transaction that then failed).
    ///
    /// # Errors
    /// Any I/O failure other than the object being absent.
    pub fn remove(&self, sha: &Sha256) -> Result<()> {
        let path = self.path_of(sha);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Reads an object back and checks that it still hashes to its name.
    ///
    /// # Errors
    /// [`Error::CorruptObject`] when missing or altered.
    pub fn read_verified(&self, sha: &Sha256) -> Result<Vec<u8>> {
        let path = self.path_of(sha);
        let bytes = fs::read(&path).map_err(|e| Error::CorruptObject {
            sha256: sha.to_hex(),
            problem: format!("cannot read {}: {e}", path.display()),
        })?;
        let actual = Sha256::of(&bytes);
        if actual != *sha {
            return Err(Error::CorruptObject {
                sha256: sha.to_hex(),
                problem: format!("content hashes to {actual}"),
            });
        }
        Ok(bytes)
    }

    /// The object `sha`, opened for reading once its content has been
    /// checked against its name (read in pieces: memory does not grow
    /// with the object). Objects are never modified once written, so what
    /// is read next is what was checked.
    ///
    /// # Errors
    /// [`Error::CorruptObject`] when missing or altered.
    pub fn open_verified(&self, sha: &Sha256) -> Result<(fs::File, u64)> {
        let path = self.path_of(sha);
        let corrupt = |problem: String| Error::CorruptObject {
            sha256: sha.to_hex(),
            problem,
        };
        let open = || {
            fs::File::open(&path)
                .map_err(|e| corrupt(format!("cannot read {}: {e}", path.display())))
        };
        let actual = Sha256::of_reader(std::io::BufReader::with_capacity(1 << 20, open()?))
            .map_err(|e| corrupt(format!("cannot read {}: {e}", path.display())))?;
        if actual != *sha {
            return Err(corrupt(format!("content hashes to {actual}")));
        }
        let file = open()?;
        let len = file
            .metadata()
            .map_err(|e| corrupt(format!("cannot read {}: {e}", path.display())))?
            .len();
        Ok((file, len))
    }

    /// Removes temporary files left by writers that are gone: a name
    /// carries its writer's process id, and a file is removed only when
    /// that process no longer exists (another firstseen writing to the
    /// same archive keeps its files). Where liveness cannot be checked,
    /// only files untouched for a day are removed.
    pub fn clean_tmp(&self) {
        let Ok(entries) = fs::read_dir(&self.tmp) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let writer = name.split('.').nth(1).and_then(|p| p.parse::<u32>().ok());
            let dead = match writer {
                Some(pid) if pid == std::process::id() => false,
                Some(pid) => !process_alive(pid).unwrap_or_else(|| older_than_a_day(&entry)),
                None => older_than_a_day(&entry),
            };
            if dead {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Whether a process exists, where the system says (`/proc` on Linux).
fn process_alive(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.join("self")
        .exists()
        .then(|| proc.join(pid.to_string()).exists())
}

fn older_than_a_day(entry: &fs::DirEntry) -> bool {
    entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 86_400)
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

/// Makes a rename durable. Best effort: not every platform can open a
/// directory for syncing.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dead_writers_temporary_files_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        // A live writer: this test's parent process. A dead one: a child
        // that has exited.
        let live = std::os::unix::process::parent_id();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let keep = store.tmp.join(format!("{}.{live}.0", "ab".repeat(32)));
        let mine = store
            .tmp
            .join(format!("{}.{}.0", "cd".repeat(32), std::process::id()));
        let gone = store.tmp.join(format!("{}.{dead}.0", "ef".repeat(32)));
        for p in [&keep, &mine, &gone] {
            std::fs::write(p, b"partial").unwrap();
        }
        store.clean_tmp();
        assert!(keep.exists(), "another live writer's file was removed");
        assert!(mine.exists(), "this process's own file was removed");
        assert!(!gone.exists(), "a dead writer's file was kept");
    }

    #[test]
    fn put_is_idempotent_and_verifiable() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let bytes = b"some picture bytes";
        let sha = Sha256::of(bytes);
        assert!(store.put(&sha, bytes).unwrap());
        assert!(!store.put(&sha, bytes).unwrap());
        let hex = sha.to_hex();
        let expected = dir.path().join("objects").join(&hex[..2]).join(&hex[2..]);
        assert!(expected.is_file());
        assert_eq!(store.read_verified(&sha).unwrap(), bytes);
        fs::write(&expected, b"tampered").unwrap();
        assert!(matches!(
            store.read_verified(&sha),
            Err(Error::CorruptObject { .. })
        ));
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
