//! pHash and dHash through `image_hasher` (the maintained continuation of
//! `img_hash`). Each kind string names every parameter that changes the
//! bits, so hashes of different kinds are never compared.

use std::fmt;
use std::str::FromStr;

use image::DynamicImage;
use image_hasher::{FilterType, HashAlg, HasherConfig};
use serde::{Serialize, Serializer};

use crate::error::Error;

/// Parameters of [`phash`]: 8×8 bits, mean of a DCT of a 16×16 Lanczos3
/// resize, computed on a copy first shrunk to at most 256 px on its long
/// side (speed; the 16×16 resize loses that detail anyway).
pub const PHASH_KIND: &str = "phash-8x8-mean-dct-lanczos3-thumb256-v1";
/// Parameters of [`dhash`]: 8×8 horizontal gradients of a 9×8 Lanczos3
/// resize of the same ≤256 px copy.
pub const DHASH_KIND: &str = "dhash-8x8-gradient-lanczos3-thumb256-v1";

/// Side beyond which the image is shrunk before hashing.
const THUMB: u32 = 256;

/// A 64-bit perceptual hash. Displays as 16 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash64(pub u64);

impl Hash64 {
    /// Hamming distance (0..=64).
    pub fn distance(&self, other: &Hash64) -> u32 {
        (self.0 ^ other.0).count_ones()
    }
}

impl fmt::Display for Hash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for Hash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash64({self})")
    }
}

impl FromStr for Hash64 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        crate::hash::hex_decode::<8>(s, "64-bit hash").map(|b| Hash64(u64::from_be_bytes(b)))
    }
}

impl Serialize for Hash64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The copy pHash and dHash are computed on: at most [`THUMB`] pixels on
/// its long side.
pub(crate) fn shrink(img: &DynamicImage) -> DynamicImage {
    if img.width() > THUMB || img.height() > THUMB {
        img.thumbnail(THUMB, THUMB)
    } else {
        img.clone()
    }
}

fn hash_with(img: &DynamicImage, config: HasherConfig) -> Hash64 {
    let hasher = config
        .hash_size(8, 8)
        .resize_filter(FilterType::Lanczos3)
        .to_hasher();
    let bytes = if img.width() > THUMB || img.height() > THUMB {
        hasher.hash_image(&shrink(img))
    } else {
        hasher.hash_image(img)
    };
    let mut word = [0u8; 8];
    for (dst, src) in word.iter_mut().zip(bytes.as_bytes()) {
        *dst = *src;
    }
    Hash64(u64::from_be_bytes(word))
}

/// pHash of an upright image; see [`PHASH_KIND`].
pub fn phash(img: &DynamicImage) -> Hash64 {
    hash_with(
        img,
        HasherConfig::new().hash_alg(HashAlg::Mean).preproc_dct(),
    )
}

/// dHash of an upright image; see [`DHASH_KIND`].
pub fn dhash(img: &DynamicImage) -> Hash64 {
    hash_with(img, HasherConfig::new().hash_alg(HashAlg::Gradient))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = Hash64(0x0123_4567_89ab_cdef);
        assert_eq!(h.to_string(), "0123456789abcdef");
        assert_eq!("0123456789abcdef".parse::<Hash64>().unwrap(), h);
        assert_eq!(h.distance(&Hash64(0x0123_4567_89ab_cdee)), 1);
    }
}
