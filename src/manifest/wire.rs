//! The manifest's lines as serde types, with every bound enforced while
//! parsing: strings longer than their limit, arrays with more entries
//! than theirs, unknown fields, wrong types and malformed hex are errors
//! that name the field (through `serde_path_to_error`). Values are
//! checked for meaning (dates, ranges, names) when they are turned into
//! the store's records in `read.rs`.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::limits::*;

/// A string of at most `MAX` bytes, without NUL characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text<const MAX: usize>(pub String);

impl<const MAX: usize> Serialize for Text<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MAX: usize>;
        impl<const MAX: usize> Visitor<'_> for V<MAX> {
            type Value = Text<MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a string of at most {MAX} bytes")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<MAX>, E> {
                if s.len() > MAX {
                    return Err(E::custom(format!(
                        "string of {} bytes exceeds the limit of {MAX}",
                        s.len()
                    )));
                }
                if s.contains('\0') {
                    return Err(E::custom("string contains a NUL character"));
                }
                Ok(Text(s.to_owned()))
            }
        }
        d.deserialize_str(V::<MAX>)
    }
}

/// A value written as a hex string and parsed with its `FromStr`
/// (SHA-256, PDQ, pHash, dHash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex<T>(pub T);

impl<T: fmt::Display> Serialize for Hex<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de, T> Deserialize<'de> for Hex<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T> Visitor<'_> for V<T>
        where
            T: FromStr,
            T::Err: fmt::Display,
        {
            type Value = Hex<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hex string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Hex<T>, E> {
                if s.len() > 128 {
                    return Err(E::custom(format!(
                        "hex string of {} bytes is too long",
                        s.len()
                    )));
                }
                s.parse().map(Hex).map_err(E::custom)
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// An array of at most `MAX` entries; one more is an error at once,
/// before it is parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounded<T, const MAX: usize>(pub Vec<T>);

impl<T, const MAX: usize> Default for Bounded<T, MAX> {
    fn default() -> Self {
        Bounded(Vec::new())
    }
}

impl<T, const MAX: usize> Bounded<T, MAX> {
    /// True when empty (for `skip_serializing_if`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Serialize, const MAX: usize> Serialize for Bounded<T, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for Bounded<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const MAX: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for V<T, MAX> {
            type Value = Bounded<T, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of at most {MAX} entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    if v.len() == MAX {
                        return Err(de::Error::custom(format!(
                            "more than {MAX} entries (the limit)"
                        )));
                    }
                    v.push(x);
                }
                Ok(Bounded(v))
            }
        }
        d.deserialize_seq(V::<T, MAX>(PhantomData))
    }
}

/// Line 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`super::FORMAT`].
    pub format: Text<64>,
    /// The program and version that wrote it.
    pub tool: Text<SHORT_TEXT>,
    /// The kind of each perceptual hash.
    pub hashes: HashKinds,
    /// The exporting archive's chain head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
    /// Number of item lines that follow.
    pub items: u64,
    /// Number of sightings in them.
    pub sightings: u64,
    /// The exporting archive's imports, oldest first.
    #[serde(default)]
    pub imports: Bounded<Import, MAX_IMPORTS>,
}

/// Kind names of the perceptual hashes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashKinds {
    /// [`super::PDQ_KIND`].
    pub pdq: Text<SHORT_TEXT>,
    /// `firstseen::hash::PHASH_KIND`.
    pub phash: Text<SHORT_TEXT>,
    /// `firstseen::hash::DHASH_KIND`.
    pub dhash: Text<SHORT_TEXT>,
}

/// A chain head.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// Number of entries.
    pub length: u64,
    /// Hash of the last entry.
    pub head: Hex<crate::hash::Sha256>,
}

/// One import in the exporting archive's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Import {
    /// `manifest` or `hash-list`.
    pub kind: Text<16>,
    /// Manifest file name or list name.
    pub name: Text<SHORT_TEXT>,
    /// File name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<Text<SHORT_TEXT>>,
    /// SHA-256 of the file.
    pub file_sha256: Hex<crate::hash::Sha256>,
    /// The imported manifest's chain head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
    /// When.
    pub imported_at: Text<64>,
    /// Items added.
    pub items_new: u64,
    /// Items already known.
    pub items_known: u64,
    /// Sightings added.
    pub sightings_new: u64,
    /// Sightings already known.
    pub sightings_known: u64,
    /// Listed hashes added.
    pub hashes_new: u64,
    /// Listed hashes already known.
    pub hashes_known: u64,
}

/// Lines 2 and on: one item each.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// SHA-256 of the file.
    pub sha256: Hex<crate::hash::Sha256>,
    /// `image` or `video`.
    pub media_type: Text<16>,
    /// Container format.
    pub format: Text<32>,
    /// Width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// File size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_size: Option<u64>,
    /// PDQ and quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<Pdq>,
    /// pHash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<Hex<crate::hash::Hash64>>,
    /// dHash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhash: Option<Hex<crate::hash::Hash64>>,
    /// Video facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<Video>,
    /// Kept frames of a video, in time order.
    #[serde(default, skip_serializing_if = "Bounded::is_empty")]
    pub frames: Bounded<Frame, MAX_FRAMES>,
    /// Sightings.
    pub sightings: Bounded<Sighting, MAX_SIGHTINGS>,
    /// Near-duplicate links.
    #[serde(default, skip_serializing_if = "Bounded::is_empty")]
    pub variant_of: Bounded<Link, MAX_LINKS>,
    /// Local features of a still picture, base64 of their stored form
    /// (format 2 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Text<FEATURES_TEXT>>,
}

/// PDQ hash and quality.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pdq {
    /// 64 hex digits.
    pub hash: Hex<crate::hash::Hash256>,
    /// 0..=100.
    pub quality: u8,
}

/// Video facts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Video {
    /// Container.
    pub container: Text<NAME_TEXT>,
    /// Codec.
    pub codec: Text<NAME_TEXT>,
    /// Decoder.
    pub decoder: Text<NAME_TEXT>,
    /// Duration, seconds.
    pub duration_secs: f64,
    /// Frames decoded.
    pub frames_decoded: u64,
    /// Frames sampled.
    pub frames_sampled: u64,
    /// Frames kept.
    pub frames_kept: u64,
    /// Decoder warnings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Text<LONG_TEXT>>,
}

/// A kept frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    /// Frame number.
    pub frame: u64,
    /// Span start, seconds.
    pub start_secs: f64,
    /// Span end, seconds.
    pub end_secs: f64,
    /// PDQ.
    pub pdq: Hex<crate::hash::Hash256>,
    /// PDQ quality.
    pub quality: u8,
    /// pHash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<Hex<crate::hash::Hash64>>,
    /// dHash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhash: Option<Hex<crate::hash::Hash64>>,
}

/// A sighting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sighting {
    /// Source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Text<SOURCE_TEXT>>,
    /// Caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<Text<LONG_TEXT>>,
    /// First seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Text<64>>,
    /// Archived at.
    pub archived_at: Text<64>,
    /// Original file name (display only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<Text<SHORT_TEXT>>,
    /// Note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Text<LONG_TEXT>>,
    /// Corrections, oldest first (the fields above are as first
    /// recorded).
    #[serde(default, skip_serializing_if = "Bounded::is_empty")]
    pub corrections: Bounded<Correction, 256>,
}

/// A correction of a sighting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// `amend` or `retract`.
    pub action: Text<16>,
    /// For `amend`: `source`, `caption` or `first_seen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Text<16>>,
    /// For `amend`: the new value (absent: cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Text<LONG_TEXT>>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text<LONG_TEXT>>,
    /// When it was made.
    pub made_at: Text<64>,
}

/// A near-duplicate link.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The other item.
    pub sha256: Hex<crate::hash::Sha256>,
    /// PDQ distance.
    pub distance: u32,
    /// Transform name (`orig`, `flipy`, …).
    pub transform: Text<16>,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Text<SHORT_TEXT>>,
}
