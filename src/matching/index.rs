//! The in-memory index matching searches: every PDQ hash of photos and
//! video frames, with their pHash/dHash, and the stored local features of
//! archived pictures.
//!
//! Hashes are searched by a linear scan of popcounts and features by a
//! linear vote over stored descriptors — the same radius queries an index
//! structure (multi-index hashing) answers faster, behind this interface.

use std::collections::HashMap;

use serde::Serialize;

use super::{SIMILAR_DHASH, SIMILAR_PHASH, Thresholds};
use crate::hash::features::{self, Features};
use crate::hash::{Dihedral, Hash64, Hash256};
use crate::store::{IndexedHash, ItemId};

/// A near match found in the index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candidate {
    /// The archived item.
    pub item: ItemId,
    /// PDQ Hamming distance under the best transform.
    pub distance: u32,
    /// How the query relates to the archived picture: the query is the
    /// archived picture under this transform (`Original` = same
    /// orientation).
    pub relation: Dihedral,
    /// Either hash has quality below the trusted minimum.
    pub low_quality: bool,
    /// When the indexed hash is a video frame: the span it stands for.
    pub span: Option<(f64, f64)>,
}

/// The PDQ hashes matching scans, with a linear scan of popcounts (fast
/// enough for hundreds of thousands of items; an index structure can
/// replace it behind the same interface).
#[derive(Debug, Clone, Default)]
pub struct Index {
    entries: Vec<IndexedHash>,
    features: Vec<FeatureEntry>,
    photo_features: HashMap<ItemId, usize>,
}

/// The stored local features of one archived picture or video frame.
#[derive(Debug, Clone)]
pub struct FeatureEntry {
    /// The item.
    pub item: ItemId,
    /// For a frame of a video: the time span it stands for.
    pub span: Option<(f64, f64)>,
    /// The features.
    pub features: Features,
}

/// Descriptor distance (of 256) at which a stored feature counts as
/// seen again in a query, for the first-stage vote.
pub const VOTE_DISTANCE: u32 = 40;
/// Votes that nominate an item for verification.
pub const MIN_VOTES: usize = 6;

impl Index {
    /// Builds an index from catalog rows.
    pub fn new(entries: Vec<IndexedHash>) -> Index {
        Index {
            entries,
            ..Index::default()
        }
    }

    /// Adds the stored local features of archived pictures.
    pub fn with_features(mut self, features: Vec<(ItemId, Features)>) -> Index {
        for (item, f) in features {
            self.push_features(item, f);
        }
        self
    }

    /// Adds the stored local features of archived video frames.
    pub fn with_frame_features(mut self, frames: Vec<crate::store::FrameFeatures>) -> Index {
        self.features.extend(
            frames
                .into_iter()
                .map(|(item, span, features)| FeatureEntry {
                    item,
                    span: Some(span),
                    features,
                }),
        );
        self
    }

    /// Adds the features of one picture (archived during this run).
    pub fn push_features(&mut self, item: ItemId, features: Features) {
        self.photo_features.insert(item, self.features.len());
        self.features.push(FeatureEntry {
            item,
            span: None,
            features,
        });
    }

    /// Adds the features of one video frame (archived during this run).
    pub fn push_frame_features(&mut self, item: ItemId, span: (f64, f64), features: Features) {
        self.features.push(FeatureEntry {
            item,
            span: Some(span),
            features,
        });
    }

    /// The hash entry of an item (and, for a frame, its span).
    pub fn entry(&self, item: ItemId, span: Option<(f64, f64)>) -> Option<&IndexedHash> {
        self.entries
            .iter()
            .find(|e| e.item == item && e.span == span)
    }

    /// The stored features of a picture, when it has any.
    pub fn features_of(&self, item: ItemId) -> Option<&Features> {
        self.photo_features
            .get(&item)
            .and_then(|&i| self.features.get(i))
            .map(|e| &e.features)
    }

    /// The stored features of a picture or of every frame of a video.
    pub fn feature_entries_of(&self, item: ItemId) -> impl Iterator<Item = &FeatureEntry> {
        self.features.iter().filter(move |e| e.item == item)
    }

    /// Stored pictures and frames with at least [`MIN_VOTES`] features
    /// that reappear in the query (straight or mirrored) within
    /// [`VOTE_DISTANCE`], most votes first, then in index order.
    /// `mirrored` is `query.mirrored()`, made once by the caller.
    pub fn feature_votes(
        &self,
        query: &Features,
        mirrored: &Features,
    ) -> Vec<(&FeatureEntry, usize)> {
        use rayon::prelude::*;
        let mut out: Vec<(usize, usize)> = self
            .features
            .par_iter()
            .enumerate()
            .filter_map(|(k, stored)| {
                let votes = stored
                    .features
                    .descriptors
                    .iter()
                    .filter(|d| {
                        query
                            .descriptors
                            .iter()
                            .chain(&mirrored.descriptors)
                            .any(|e| features::within(d, e, VOTE_DISTANCE))
                    })
                    .count();
                (votes >= MIN_VOTES).then_some((k, votes))
            })
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.into_iter()
            .map(|(k, v)| (&self.features[k], v))
            .collect()
    }

    /// Adds one hash (an item archived during this run).
    pub fn push(&mut self, entry: IndexedHash) {
        self.entries.push(entry);
    }

    /// Number of hashes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Finds every indexed item within `thresholds.max_distance` of the query
/// under any of its eight dihedral transforms, keeping per item the
/// transform with the smallest distance (the untransformed hash wins
/// ties). `dihedrals` are the query's hashes indexed by
/// `Dihedral as usize`. Results are sorted by distance, then item.
pub fn find_matches(
    dihedrals: &[Hash256; 8],
    quality: u8,
    index: &Index,
    thresholds: &Thresholds,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for entry in &index.entries {
        let mut best: Option<(u32, Dihedral)> = None;
        for t in Dihedral::ALL {
            let d = dihedrals[t as usize].distance(&entry.hash);
            if d <= thresholds.max_distance && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, t));
            }
        }
        if let Some((distance, t)) = best {
            out.push(Candidate {
                item: entry.item,
                distance,
                // t(query) ≈ archived, so query ≈ t⁻¹(archived).
                relation: t.inverse(),
                low_quality: quality < thresholds.min_quality
                    || entry.quality < thresholds.min_quality,
                span: entry.span,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.distance, a.item)
            .cmp(&(b.distance, b.item))
            .then(span_start(a.span).total_cmp(&span_start(b.span)))
    });
    out
}

fn span_start(span: Option<(f64, f64)>) -> f64 {
    span.map_or(-1.0, |s| s.0)
}

/// A possible match found by pHash and dHash together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Similar {
    /// The archived item.
    pub item: ItemId,
    /// pHash distance (of 64) in the best orientation.
    pub phash_distance: u32,
    /// dHash distance (of 64) in that orientation.
    pub dhash_distance: u32,
    /// The query is the archived picture under this transform.
    pub relation: Dihedral,
    /// When the indexed hash is a video frame: the span it stands for.
    pub span: Option<(f64, f64)>,
}

/// Finds indexed items whose pHash is within [`SIMILAR_PHASH`] and dHash
/// within [`SIMILAR_DHASH`] of the query in one of its eight orientations
/// (`phashes[t as usize]` is the pHash of the query under transform
/// `t`), skipping `exclude`. Sorted by combined distance, then item.
pub fn find_similar(
    phashes: &[Hash64; 8],
    dhashes: &[Hash64; 8],
    index: &Index,
    exclude: &[ItemId],
) -> Vec<Similar> {
    let mut out = Vec::new();
    for entry in &index.entries {
        let (Some(p), Some(d)) = (entry.phash, entry.dhash) else {
            continue;
        };
        if exclude.contains(&entry.item) {
            continue;
        }
        let best = Dihedral::ALL
            .into_iter()
            .map(|t| {
                (
                    phashes[t as usize].distance(&p),
                    dhashes[t as usize].distance(&d),
                    t,
                )
            })
            .filter(|&(pd, dd, _)| pd <= SIMILAR_PHASH && dd <= SIMILAR_DHASH)
            .min_by_key(|&(pd, dd, _)| pd + dd);
        if let Some((phash_distance, dhash_distance, t)) = best {
            out.push(Similar {
                item: entry.item,
                phash_distance,
                dhash_distance,
                relation: t.inverse(),
                span: entry.span,
            });
        }
    }
    out.sort_by_key(|s| (s.phash_distance + s.dhash_distance, s.item));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_with_bits(bits: &[usize]) -> Hash256 {
        let mut b = [0u8; 32];
        for &k in bits {
            b[31 - k / 8] |= 1 << (k % 8);
        }
        Hash256(b)
    }

    fn query(h: Hash256) -> [Hash256; 8] {
        // Unrelated hashes for the other seven transforms.
        let mut q = [hash_with_bits(&(0..128).collect::<Vec<_>>()); 8];
        q[0] = h;
        q
    }

    #[test]
    fn threshold_is_inclusive_at_31() {
        let base = hash_with_bits(&[]);
        let index = Index::new(vec![
            IndexedHash {
                item: ItemId(1),
                hash: hash_with_bits(&(0..31).collect::<Vec<_>>()),
                quality: 100,
                phash: None,
                dhash: None,
                span: None,
            },
            IndexedHash {
                item: ItemId(2),
                hash: hash_with_bits(&(0..32).collect::<Vec<_>>()),
                quality: 100,
                phash: None,
                dhash: None,
                span: None,
            },
            IndexedHash {
                item: ItemId(3),
                hash: base,
                quality: 100,
                phash: None,
                dhash: None,
                span: None,
            },
        ]);
        let m = find_matches(&query(base), 100, &index, &Thresholds::default());
        let found: Vec<_> = m.iter().map(|c| (c.item.0, c.distance)).collect();
        assert_eq!(found, vec![(3, 0), (1, 31)]);
        assert!(m.iter().all(|c| c.relation == Dihedral::Original));
    }

    #[test]
    fn best_transform_wins_and_low_quality_is_flagged() {
        let target = hash_with_bits(&[1, 2, 3, 200]);
        let mut q = query(hash_with_bits(&(100..140).collect::<Vec<_>>()));
        q[Dihedral::Rotate90 as usize] = hash_with_bits(&[1, 2, 3]);
        let index = Index::new(vec![IndexedHash {
            item: ItemId(7),
            hash: target,
            quality: 30,
            phash: None,
            dhash: None,
            span: None,
        }]);
        let m = find_matches(&q, 100, &index, &Thresholds::default());
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].distance, 1);
        assert_eq!(m[0].relation, Dihedral::Rotate90.inverse());
        assert!(m[0].low_quality);
    }

    #[test]
    fn similar_needs_both_phash_and_dhash() {
        let entry = |id, p, d| IndexedHash {
            item: ItemId(id),
            hash: hash_with_bits(&[]),
            quality: 100,
            phash: Some(Hash64(p)),
            dhash: Some(Hash64(d)),
            span: None,
        };
        let index = Index::new(vec![
            entry(1, 0b11_1111, 0xff), // 6 and 8 bits away: similar
            entry(2, 0b111_1111, 0),   // pHash 7 away: not
            entry(3, 0, 0x1ff),        // dHash 9 away: not
            entry(4, 0, 0),            // excluded
        ]);
        let far = Hash64(u64::MAX);
        let mut p = [far; 8];
        let mut d = [far; 8];
        p[Dihedral::FlipY as usize] = Hash64(0);
        d[Dihedral::FlipY as usize] = Hash64(0);
        let got = find_similar(&p, &d, &index, &[ItemId(4)]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].item, ItemId(1));
        assert_eq!((got[0].phash_distance, got[0].dhash_distance), (6, 8));
        assert_eq!(got[0].relation, Dihedral::FlipY);
    }
}
