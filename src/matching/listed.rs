//! Hashes of imported hash lists (`import --hash-list`): a PDQ hash and
//! a list's name, with no file, features or sightings behind it. They
//! match by PDQ alone, in any orientation, and are kept apart from the
//! items' index (their own position type, [`ListedId`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Index, Thresholds, find_matches};
use crate::analyze::Analysis;
use crate::error::Result;
use crate::hash::{Dihedral, Hash256, PdqWithDihedrals};
use crate::store::exchange::ListedHash;
use crate::store::{Catalog, IndexedHash, ItemId};

/// A match of a checked file against a hash from an imported hash list
/// (`import --hash-list`): there is no file behind it, only the list's
/// name and the hash.
#[derive(Debug, Clone, Serialize)]
pub struct ListedMatch {
    /// Always `listed`.
    pub kind: &'static str,
    /// The list's name (its `--source`).
    pub list: String,
    /// The listed PDQ hash.
    pub pdq: Hash256,
    /// Its quality, when the list gave one.
    pub quality: Option<u8>,
    /// PDQ Hamming distance in the best orientation.
    pub distance: u32,
    /// How the checked file relates to the listed picture.
    pub relation: Dihedral,
    /// Plain-English form of `relation`, filled in by the stage that
    /// presents the match (see [`crate::report::wording::relation`]).
    pub relation_text: &'static str,
    /// For a video: the time of the best-matching frame, seconds.
    pub query_secs: Option<f64>,
    /// The file the list was imported from.
    pub file_name: Option<String>,
    /// When the list was imported.
    pub imported_at: String,
}

/// The hashes of every imported hash list, apart from the items' index
/// (in its entries the `item` slot holds a position in `hashes`, not an
/// item).
pub struct ListedIndex {
    hashes: Vec<ListedHash>,
    index: Index,
}

impl ListedIndex {
    /// Loads every listed hash of the catalog.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn new(catalog: &Catalog) -> Result<ListedIndex> {
        let hashes = catalog.listed_hashes()?;
        let index = Index::new(
            (0_i64..)
                .zip(&hashes)
                .map(|(i, h)| IndexedHash {
                    item: ItemId(i),
                    hash: h.hash,
                    // A list without qualities vouches for its hashes.
                    quality: h.quality.unwrap_or(100),
                    phash: None,
                    dhash: None,
                    span: None,
                })
                .collect(),
        );
        Ok(ListedIndex { hashes, index })
    }

    /// Listed hashes within the threshold of the file (each probe of a
    /// photo; each trusted frame of a video), closest first. A match
    /// involving a low-quality hash is left out: a list gives no pHash or
    /// dHash to corroborate it.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn find(
        &self,
        catalog: &Catalog,
        a: &Analysis,
        thresholds: &Thresholds,
    ) -> Result<Vec<ListedMatch>> {
        if self.index.is_empty() {
            return Ok(Vec::new());
        }
        let mut queries: Vec<(&PdqWithDihedrals, Option<f64>)> = Vec::new();
        match &a.video {
            None => queries.extend(a.probes.iter().map(|p| (&p.hashes.pdq, None))),
            Some(v) => {
                for f in &v.frames {
                    for h in std::iter::once(&f.hashes).chain(&f.whole) {
                        queries.push((&h.pdq, Some(f.start_secs)));
                    }
                }
            }
        }
        let mut best: BTreeMap<i64, (u32, Dihedral, Option<f64>)> = BTreeMap::new();
        for (q, secs) in queries {
            for c in find_matches(&q.dihedrals, q.pdq.quality, &self.index, thresholds) {
                if c.low_quality {
                    continue;
                }
                let e = best
                    .entry(c.item.0)
                    .or_insert((c.distance, c.relation, secs));
                if c.distance < e.0 {
                    *e = (c.distance, c.relation, secs);
                }
            }
        }
        let mut out = Vec::new();
        for (i, (distance, relation, query_secs)) in best {
            let Some(h) = usize::try_from(i).ok().and_then(|i| self.hashes.get(i)) else {
                continue;
            };
            let record = catalog.import_record(h.import)?;
            out.push(ListedMatch {
                kind: "listed",
                list: h.list.clone(),
                pdq: h.hash,
                quality: h.quality,
                distance,
                relation,
                relation_text: "",
                query_secs,
                file_name: record.as_ref().and_then(|r| r.file_name.clone()),
                imported_at: record.map(|r| r.imported_at).unwrap_or_default(),
            });
        }
        out.sort_by(|a, b| (a.distance, &a.list, a.pdq.0).cmp(&(b.distance, &b.list, b.pdq.0)));
        Ok(out)
    }
}
