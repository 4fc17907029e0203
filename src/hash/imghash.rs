//! pHash and dHash through `image_hasher` (the maintained continuation of
//! `img_hash`). Each kind string names every parameter that changes the
//! bits, so hashes of different kinds are never compared.

use std::fmt;
use std::str::FromStr;

use image::{DynamicImage, GrayImage, imageops};
use image_hasher::{FilterType, HashAlg, HasherConfig};
use serde::{Serialize, Serializer};

use crate::error::Error;
use crate::hash::Dihedral;

/// Parameters of [`phash`]: 8×8 bits, mean of a DCT of a 16×16 Lanczos3
/// resize, computed on a grey copy first shrunk to at most 256 px on its
/// long side (speed; the 16×16 resize loses that detail anyway).
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

/// The copy pHash and dHash are computed on: the picture's grey levels
/// (see [`luma`]), shrunk to at most [`THUMB`] pixels on its long side.
/// Grey first: a third of the work of shrinking the colour picture, and
/// the same picture to within rounding.
pub(crate) fn shrink(img: &DynamicImage) -> GrayImage {
    use std::borrow::Cow;
    let grey = match img {
        DynamicImage::ImageLuma8(g) => Cow::Borrowed(g),
        DynamicImage::ImageRgb8(rgb) => Cow::Owned(luma(rgb)),
        other => Cow::Owned(luma(&other.to_rgb8())),
    };
    if grey.width() > THUMB || grey.height() > THUMB {
        imageops::thumbnail(&*grey, THUMB, THUMB)
    } else {
        grey.into_owned()
    }
}

/// Grey levels with Rec. 709 weights in whole numbers, rounded
/// (`(2126 R + 7152 G + 722 B + 5000) / 10000`; `image`'s own luma has
/// changed between versions: fixed here, the bits do not follow it).
fn luma(rgb: &image::RgbImage) -> GrayImage {
    let px = rgb
        .as_raw()
        .chunks_exact(3)
        .map(|p| {
            ((2126 * u32::from(p[0]) + 7152 * u32::from(p[1]) + 722 * u32::from(p[2]) + 5000)
                / 10000) as u8
        })
        .collect();
    GrayImage::from_raw(rgb.width(), rgb.height(), px).unwrap_or_default()
}

fn hasher(config: HasherConfig) -> image_hasher::Hasher {
    config
        .hash_size(8, 8)
        .resize_filter(FilterType::Lanczos3)
        .to_hasher()
}

fn to_word(bytes: &[u8]) -> Hash64 {
    let mut word = [0u8; 8];
    for (dst, src) in word.iter_mut().zip(bytes) {
        *dst = *src;
    }
    Hash64(u64::from_be_bytes(word))
}

fn phasher() -> image_hasher::Hasher {
    hasher(HasherConfig::new().hash_alg(HashAlg::Mean).preproc_dct())
}

fn dhasher() -> image_hasher::Hasher {
    hasher(HasherConfig::new().hash_alg(HashAlg::Gradient))
}

/// pHash of an upright image; see [`PHASH_KIND`].
pub fn phash(img: &DynamicImage) -> Hash64 {
    to_word(phasher().hash_image(&shrink(img)).as_bytes())
}

/// dHash of an upright image; see [`DHASH_KIND`].
pub fn dhash(img: &DynamicImage) -> Hash64 {
    to_word(dhasher().hash_image(&shrink(img)).as_bytes())
}

/// pHash of a picture hashed as given (no shrink first), for tests.
#[cfg(test)]
pub(crate) fn phash_of_prepared(img: &DynamicImage) -> Hash64 {
    to_word(phasher().hash_image(img).as_bytes())
}

/// dHash of a picture hashed as given (no shrink first), for tests.
#[cfg(test)]
pub(crate) fn dhash_of_prepared(img: &DynamicImage) -> Hash64 {
    to_word(dhasher().hash_image(img).as_bytes())
}

/// pHash and dHash of a grey copy made by [`shrink`] under each of the
/// eight [`Dihedral`] transforms (indexed by `Dihedral as usize`).
///
/// Both hashes start by resizing the copy to a few pixels a side (16×16
/// for pHash, 9×8 for dHash); turning that tiny resize gives the resize
/// of the turned copy up to the floating-point rounding of the filter's
/// sums, so the copy is resized three times (16×16, 9×8 and 8×9 for the
/// turns that swap width and height), not sixteen. The upright hashes
/// are exactly [`phash`] and [`dhash`]; a turned one can differ from
/// hashing the turned picture where a resized pixel lands on a rounding
/// edge (at most a bit or two, rarely; tested).
pub(crate) fn turned_hashes(grey: &GrayImage) -> ([Hash64; 8], [Hash64; 8]) {
    let small = |w, h| DynamicImage::ImageLuma8(imageops::resize(grey, w, h, FilterType::Lanczos3));
    let (p16, d98, d89) = (small(16, 16), small(9, 8), small(8, 9));
    let (ph, dh) = (phasher(), dhasher());
    let mut phashes = [Hash64(0); 8];
    let mut dhashes = [Hash64(0); 8];
    for t in Dihedral::ALL {
        let d = if t.swaps_sides() { &d89 } else { &d98 };
        // Already at the hashers' working size: they resize no further.
        phashes[t as usize] = to_word(ph.hash_image(&t.apply(&p16)).as_bytes());
        dhashes[t as usize] = to_word(dh.hash_image(&t.apply(d)).as_bytes());
    }
    (phashes, dhashes)
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
