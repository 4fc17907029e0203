//! The archive on disk: a directory holding the SQLite catalog
//! (`catalog.sqlite`) and the content-addressed object store (`objects/`).
//!
//! Writes go object first, catalog second: the object is fsynced and
//! renamed into place, then the item, sighting and links are committed in
//! one transaction. If the transaction fails, an object written for it is
//! removed again, so a failure leaves neither a partial record nor a stray
//! object.

pub mod catalog;
pub mod chain;
pub mod corrections;
pub mod exchange;
mod migrations;
pub mod objects;
pub mod search;
pub mod verify;

use std::path::{Path, PathBuf};

pub use catalog::{
    Catalog, Counts, FeatureKey, FeatureRow, FeatureState, HashState, IndexedHash, Item, ItemId,
    LinkSide, NewItem, NewLink, NewSighting, NewVideo, Sighting, StoredFrame, VariantLink,
    VideoFacts,
};
pub use objects::ObjectStore;

use crate::error::{Error, Result};

/// File name of the catalog inside the archive directory.
pub const CATALOG_FILE: &str = "catalog.sqlite";

/// An open archive.
#[derive(Debug)]
pub struct Archive {
    dir: PathBuf,
    /// The catalog.
    pub catalog: Catalog,
    /// The object store.
    pub objects: ObjectStore,
}

/// One file to record: the item (used only if its SHA-256 is new), its
/// bytes (copied unless `None`), the sighting and near-duplicate links.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The item.
    pub item: NewItem,
    /// The original bytes to keep, or `None` for `--no-copy`.
    pub bytes: Option<&'a [u8]>,
    /// Where and when it was seen.
    pub sighting: NewSighting,
    /// Existing items this one is a near duplicate of.
    pub links: Vec<NewLink>,
    /// For a video: its facts and kept frames.
    pub video: Option<NewVideo>,
}

/// What recording a file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new item (and its first sighting) was added.
    NewItem(ItemId),
    /// The content was known; a new sighting was added to it.
    NewSighting(ItemId),
    /// The content and this exact sighting were both already recorded.
    AlreadyRecorded(ItemId),
}

impl Recorded {
    /// The item concerned.
    pub fn item(&self) -> ItemId {
        match *self {
            Recorded::NewItem(i) | Recorded::NewSighting(i) | Recorded::AlreadyRecorded(i) => i,
        }
    }
}

impl Archive {
    /// Opens the archive at `dir`, creating it if needed.
    ///
    /// A new archive is made only in a folder that does not exist or is
    /// empty, so a mistyped `--archive` never scatters an archive into an
    /// unrelated folder.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a folder that holds other things and no
    /// archive; I/O or catalog errors.
    pub fn create(dir: &Path) -> Result<Archive> {
        refuse_foreign_folder(dir)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let objects = ObjectStore::open(dir)?;
        objects.clean_tmp();
        let catalog = Catalog::open(&dir.join(CATALOG_FILE))?;
        Ok(Archive {
            dir: dir.to_path_buf(),
            catalog,
            objects,
        })
    }

    /// Opens an existing archive for reading only: nothing on disk is
    /// created or changed, except that the schema of an archive written by
    /// an older firstseen is upgraded first.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `dir` holds no archive.
    pub fn open(dir: &Path) -> Result<Archive> {
        let catalog_path = dir.join(CATALOG_FILE);
        if !catalog_path.is_file() {
            return Err(no_archive(dir));
        }
        let catalog = match Catalog::open_read_only(&catalog_path) {
            // An archive written by an older firstseen: bring its schema up
            // to date once (its records are untouched), then read it.
            Err(Error::Invalid { .. }) if Catalog::schema_is_older(&catalog_path)? => {
                drop(Catalog::open(&catalog_path)?);
                Catalog::open_read_only(&catalog_path)?
            }
            other => other?,
        };
        Ok(Archive {
            dir: dir.to_path_buf(),
            catalog,
            objects: ObjectStore::at(dir),
        })
    }

    /// Opens an existing archive for writing (never creates one).
    ///
    /// # Errors
    /// [`Error::Invalid`] when `dir` holds no archive; I/O or catalog
    /// errors.
    pub fn open_for_writing(dir: &Path) -> Result<Archive> {
        if !dir.join(CATALOG_FILE).is_file() {
            return Err(no_archive(dir));
        }
        Self::create(dir)
    }

    /// Records that an archived item was seen again, without its file:
    /// the sighting is chained like any other. `None` when this exact
    /// sighting is already recorded.
    ///
    /// # Errors
    /// Catalog errors; nothing is written then.
    pub fn add_sighting(&mut self, item: ItemId, sighting: &NewSighting) -> Result<Option<i64>> {
        let now = crate::time::now();
        let tx = self.catalog.begin()?;
        let id = catalog::insert_sighting(&tx, item, sighting, &now)?;
        tx.commit()?;
        Ok(id)
    }

    /// Checks, before any work, that objects and the catalog can be
    /// written (a read-only archive fails once, not once per file).
    ///
    /// # Errors
    /// [`Error::Io`] naming what cannot be written.
    pub fn check_writable(&self) -> Result<()> {
        let probe = self
            .dir
            .join("tmp")
            .join(format!("write-check.{}.0", std::process::id()));
        std::fs::write(&probe, b"").map_err(|e| Error::io(&probe, e))?;
        let _ = std::fs::remove_file(&probe);
        let catalog = self.dir.join(CATALOG_FILE);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&catalog)
            .map(drop)
            .map_err(|e| Error::io(&catalog, e))
    }

    /// The archive directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records one file in one catalog transaction, the object written
    /// inside it: the catalog's write lock is held from before the object
    /// appears until its item is committed, so an object without an item
    /// is always the leftover of a run that died (see
    /// [`verify::repair`]), never a write in progress.
    ///
    /// # Errors
    /// I/O or catalog errors; nothing is left half-written.
    pub fn record(&mut self, rec: &Record<'_>) -> Result<Recorded> {
        let sha = rec.item.sha256;
        let now = crate::time::now();
        let tx = self.catalog.begin()?;
        // A redacted item's bytes are never stored again.
        let wrote_object = match rec.bytes {
            Some(bytes) if !corrections::is_redacted(&tx, &sha)? => {
                self.objects.put(&sha, bytes)?
            }
            _ => false,
        };
        let result = Self::record_rows(&tx, rec, &now).and_then(|o| {
            tx.commit()?;
            Ok(o)
        });
        if result.is_err() && wrote_object {
            let _ = self.objects.remove(&sha);
        }
        result
    }

    fn record_rows(
        tx: &rusqlite::Transaction<'_>,
        rec: &Record<'_>,
        now: &str,
    ) -> Result<Recorded> {
        let stored = rec.bytes.is_some() && !corrections::is_redacted(tx, &rec.item.sha256)?;
        let outcome = match catalog::item_by_sha(tx, &rec.item.sha256)? {
            Some(existing) => {
                if stored && !existing.stored {
                    catalog::mark_stored(tx, existing.id)?;
                }
                if rec.sighting.says_nothing() {
                    // Another copy of known bytes with no source, caption,
                    // date or note adds nothing worth a sighting.
                    return Ok(Recorded::AlreadyRecorded(existing.id));
                }
                match catalog::insert_sighting(tx, existing.id, &rec.sighting, now)? {
                    Some(_) => Recorded::NewSighting(existing.id),
                    None => Recorded::AlreadyRecorded(existing.id),
                }
            }
            None => {
                let item = NewItem {
                    stored,
                    ..rec.item.clone()
                };
                let id = catalog::insert_item(tx, &item, now)?;
                catalog::insert_sighting(tx, id, &rec.sighting, now)?;
                if let Some(video) = &rec.video {
                    catalog::insert_video(tx, id, video)?;
                }
                for link in &rec.links {
                    catalog::insert_link(tx, id, link)?;
                }
                Recorded::NewItem(id)
            }
        };
        Ok(outcome)
    }
}

fn no_archive(dir: &Path) -> Error {
    Error::Invalid {
        what: "archive",
        reason: format!(
            "no archive at {} (create one with `firstseen archive`, or pass --archive DIR)",
            dir.display()
        ),
    }
}

/// Names an archive folder holds (`tmp/` and `objects/` are made before
/// the catalog, so a creation cut short leaves only these).
const ARCHIVE_ENTRIES: &[&str] = &["objects", "tmp", "index", "catalog.sqlite"];

/// Refuses to create an archive in a folder that holds anything but an
/// archive (or the start of one).
fn refuse_foreign_folder(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    if dir.join(CATALOG_FILE).is_file() {
        return Ok(());
    }
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = ARCHIVE_ENTRIES
            .iter()
            .any(|ours| name == *ours || name.starts_with(&format!("{CATALOG_FILE}-")));
        if !ours {
            return Err(Error::Invalid {
                what: "archive",
                reason: format!(
                    "{} is not a firstseen archive and is not empty (it holds {name:?}); \
                     refusing to create an archive there: pass --archive a new or empty folder",
                    dir.display()
                ),
            });
        }
    }
    Ok(())
}
