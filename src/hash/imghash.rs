//! pHash and dHash through `image_hasher` (the maintained continuation of
//! `img_hash`). Each kind string names every parameter that changes the
//! bits, so hashes of different kinds are never compared.

use std::fmt;
use std::str::FromStr;

use image::{DynamicImage, GrayImage};
use image_hasher::{FilterType, HashAlg, HasherConfig};
use serde::{Serialize, Serializer};

use crate::error::Error;
use crate::hash::Dihedral;

/// Parameters of [`phash`]: 8×8 bits, mean of a DCT of a 16×16 Lanczos3
/// resize, computed on a grey copy (Rec. 601 luma, rounded: see
/// [`grey`]) first brought to 256×256 by area averaging when larger
/// (speed; the 16×16 resize loses that detail anyway).
pub const PHASH_KIND: &str = "phash-8x8-mean-dct-lanczos3-luma601-thumb256-v2";
/// Parameters of [`dhash`]: 8×8 horizontal gradients of a 9×8 Lanczos3
/// resize of the same 256×256 grey copy.
pub const DHASH_KIND: &str = "dhash-8x8-gradient-lanczos3-luma601-thumb256-v2";

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

/// The grey levels pHash and dHash start from: PDQ's luma
/// (`0.299 R + 0.587 G + 0.114 B`, [`crate::hash::pdq::luma`]) rounded
/// to whole levels; a grey picture's own levels — so the Y plane of a
/// JPEG decoded grey is, up to the JPEG's own rounding, the grey of its
/// colour decode.
pub fn grey(img: &DynamicImage) -> std::borrow::Cow<'_, GrayImage> {
    use std::borrow::Cow;
    match img {
        DynamicImage::ImageLuma8(g) => Cow::Borrowed(g),
        other => Cow::Owned(grey_of_luma(
            &crate::hash::pdq::luma(other),
            other.width(),
            other.height(),
        )),
    }
}

/// [`grey`] from luma already made by [`crate::hash::pdq::luma`].
pub(crate) fn grey_of_luma(luma: &[f32], width: u32, height: u32) -> GrayImage {
    // Luma is within 0..=255 (weights summing to one): `as` only rounds.
    let px = luma.iter().map(|&l| (l + 0.5) as u8).collect();
    GrayImage::from_raw(width, height, px).unwrap_or_default()
}

/// The copy pHash and dHash are computed on: `grey` brought to
/// [`THUMB`]×[`THUMB`] when larger either way (squeezed: the hashes'
/// own resizes squeeze it again), by `image`'s `thumbnail` — bit for
/// bit, and quickly when it only shrinks (see [`thumbnail`]).
pub(crate) fn shrink(grey: &GrayImage) -> GrayImage {
    let (w, h) = grey.dimensions();
    if w <= THUMB && h <= THUMB {
        grey.clone()
    } else if w >= THUMB && h >= THUMB {
        thumbnail(grey, THUMB, THUMB)
    } else {
        image::imageops::thumbnail(grey, THUMB, THUMB)
    }
}

/// `image::imageops::thumbnail` of a grey picture to a smaller size, the
/// same bits in a fraction of the time (one channel, no per-pixel
/// dispatch): each output pixel the rounded mean of the whole input
/// pixels from ⌈i·ratio⌉ to ⌈i·ratio + ratio⌉ (in `f32`, as `image`
/// computes them) along each side. Shrinking only: every window then
/// holds a whole pixel each way.
fn thumbnail(g: &GrayImage, nw: u32, nh: u32) -> GrayImage {
    let (w, h) = g.dimensions();
    debug_assert!(nw <= w && nh <= h && nw > 0 && nh > 0);
    let spans = |len: u32, new: u32| -> Vec<(usize, usize)> {
        let ratio = len as f32 / new as f32;
        (0..new)
            .map(|i| {
                let from = i as f32 * ratio;
                let to = from + ratio;
                let a = (from.ceil() as u32).clamp(0, len - 1);
                let b = (to.ceil() as u32).clamp(a, len);
                (a as usize, b as usize)
            })
            .collect()
    };
    crate::decode::grey::area_means(g, &spans(w, nw), &spans(h, nh))
}

/// The Lanczos3 weights `image`'s resize gives output `i` of `new` along
/// a side of `len`: the first input and the normalised weights, computed
/// in the same `f32` steps.
fn lanczos3_taps(len: u32, new: u32) -> Vec<(usize, Vec<f32>)> {
    fn sinc(t: f32) -> f32 {
        let a = t * std::f32::consts::PI;
        if t == 0.0 { 1.0 } else { a.sin() / a }
    }
    let kernel = |x: f32| {
        if x.abs() < 3.0 {
            sinc(x) * sinc(x / 3.0)
        } else {
            0.0
        }
    };
    let ratio = len as f32 / new as f32;
    let sratio = if ratio < 1.0 { 1.0 } else { ratio };
    let support = 3.0 * sratio;
    (0..new)
        .map(|i| {
            let centre = (i as f32 + 0.5) * ratio;
            let left = ((centre - support).floor() as i64).clamp(0, i64::from(len) - 1);
            let right = ((centre + support).ceil() as i64).clamp(left + 1, i64::from(len));
            let centre = centre - 0.5;
            let mut ws: Vec<f32> = (left..right)
                .map(|j| kernel((j as f32 - centre) / sratio))
                .collect();
            let mut sum = 0.0;
            for w in &ws {
                sum += w;
            }
            for w in &mut ws {
                *w /= sum;
            }
            (left as usize, ws)
        })
        .collect()
}

/// `image::imageops::resize(g, nw, nh, Lanczos3)` of a grey picture, the
/// same bits (columns first, each sum taken in `image`'s order, kept in
/// `f32` between the passes, rounded once at the end) without its
/// four-channel float detour.
fn lanczos3(g: &GrayImage, nw: u32, nh: u32) -> GrayImage {
    let (w, h) = g.dimensions();
    if (w, h) == (nw, nh) || w == 0 || h == 0 {
        return g.clone();
    }
    let src = g.as_raw();
    let wu = w as usize;
    // Down the columns: every column of an output row at once, each
    // summing its taps in order from 0.0, as `image` sums one pixel.
    let mut tall = vec![0f32; wu * nh as usize];
    for (row, (top, ws)) in tall.chunks_exact_mut(wu).zip(lanczos3_taps(h, nh)) {
        for (k, &wt) in ws.iter().enumerate() {
            let line = &src[(top + k) * wu..][..wu];
            for (t, &p) in row.iter_mut().zip(line) {
                *t += f32::from(p) * wt;
            }
        }
    }
    let across = lanczos3_taps(w, nw);
    let mut out = Vec::with_capacity(nw as usize * nh as usize);
    for row in tall.chunks_exact(wu) {
        for (left, ws) in &across {
            let mut t = 0f32;
            for (&p, &wt) in row[*left..].iter().zip(ws) {
                t += p * wt;
            }
            out.push(t.clamp(0.0, 255.0).round() as u8);
        }
    }
    GrayImage::from_raw(nw, nh, out).unwrap_or_default()
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
    to_word(phasher().hash_image(&shrink(&grey(img))).as_bytes())
}

/// dHash of an upright image; see [`DHASH_KIND`].
pub fn dhash(img: &DynamicImage) -> Hash64 {
    to_word(dhasher().hash_image(&shrink(&grey(img))).as_bytes())
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
    let small = |w, h| DynamicImage::ImageLuma8(lanczos3(grey, w, h));
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
    use image::imageops;

    /// Grey copies of the real photos the hashing tests use.
    fn greys() -> Vec<GrayImage> {
        let out: Vec<GrayImage> = crate::hash::tests::photos()
            .into_iter()
            .map(|(_, img)| img.to_luma8())
            .collect();
        assert!(out.len() >= 3);
        out
    }

    #[test]
    fn thumbnail_is_images_bit_for_bit() {
        let mut n = 0;
        for g in greys() {
            let (w, h) = g.dimensions();
            for (nw, nh) in [(256, 171), (w / 3, h / 7), (w - 1, h - 1), (1, 1), (w, 1)] {
                let (nw, nh) = (nw.clamp(1, w), nh.clamp(1, h));
                let want = imageops::thumbnail(&g, nw, nh);
                assert_eq!(thumbnail(&g, nw, nh), want, "{w}x{h} to {nw}x{nh}");
                n += 1;
            }
            if w > THUMB || h > THUMB {
                let want = imageops::thumbnail(&g, THUMB, THUMB);
                assert_eq!(shrink(&g), want, "{w}x{h}");
                let strip = imageops::crop_imm(&g, 0, 0, w, 100).to_image();
                assert_eq!(shrink(&strip), imageops::thumbnail(&strip, THUMB, THUMB));
                n += 2;
            } else {
                assert_eq!(shrink(&g), g);
            }
        }
        eprintln!("{n} thumbnails the same as image's");
    }

    #[test]
    fn lanczos3_is_images_bit_for_bit() {
        let mut n = 0;
        for g in greys() {
            let small = shrink(&g);
            let (w, h) = small.dimensions();
            for (nw, nh) in [
                (16, 16),
                (9, 8),
                (8, 9),
                (w / 2, h / 3),
                (w + 7, h * 2),
                (1, h),
            ] {
                let want = imageops::resize(&small, nw, nh, FilterType::Lanczos3);
                assert_eq!(lanczos3(&small, nw, nh), want, "{w}x{h} to {nw}x{nh}");
                n += 1;
            }
            let strip = imageops::crop_imm(&g, 0, 0, g.width(), 1).to_image();
            let want = imageops::resize(&strip, 16, 16, FilterType::Lanczos3);
            assert_eq!(lanczos3(&strip, 16, 16), want);
        }
        eprintln!("{n} resizes the same as image's");
    }

    #[test]
    fn hex_round_trip() {
        let h = Hash64(0x0123_4567_89ab_cdef);
        assert_eq!(h.to_string(), "0123456789abcdef");
        assert_eq!("0123456789abcdef".parse::<Hash64>().unwrap(), h);
        assert_eq!(h.distance(&Hash64(0x0123_4567_89ab_cdee)), 1);
    }
}
