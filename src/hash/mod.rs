//! Hashing: exact identity (SHA-256) and perceptual fingerprints (PDQ,
//! pHash, dHash) of decoded pixels. Pure functions, no I/O.

pub mod features;
mod imghash;
pub mod pdq;
pub mod screen;
mod sha256;
pub mod video;

pub use imghash::{DHASH_KIND, Hash64, PHASH_KIND, dhash, grey, phash};
pub use pdq::{Dihedral, Hash256, Pdq, PdqWithDihedrals};
pub use sha256::Sha256;

use serde::Serialize;

use image::DynamicImage;

use crate::decode::DecodedImage;
use crate::error::Error;

/// Everything firstseen computes for one still image.
#[derive(Debug, Clone, Serialize)]
pub struct Fingerprint {
    /// SHA-256 of the file's exact bytes.
    pub sha256: Sha256,
    /// PDQ hash and quality of the upright picture.
    pub pdq: Pdq,
    /// pHash (64-bit, see [`PHASH_KIND`]).
    pub phash: Hash64,
    /// dHash (64-bit, see [`DHASH_KIND`]).
    pub dhash: Hash64,
}

/// A picture's perceptual hashes in all eight orientations: PDQ from one
/// DCT, pHash and dHash from a small copy turned each way.
#[derive(Debug, Clone, Copy)]
pub struct Perceptual {
    /// PDQ and its dihedral variants.
    pub pdq: PdqWithDihedrals,
    /// `phashes[t as usize]` is the pHash of the picture under transform `t`.
    pub phashes: [Hash64; 8],
    /// Likewise for dHash.
    pub dhashes: [Hash64; 8],
}

impl Perceptual {
    /// The hashes of the picture as it is.
    pub fn fingerprint(&self, sha256: Sha256) -> Fingerprint {
        Fingerprint {
            sha256,
            pdq: self.pdq.pdq,
            phash: self.phashes[0],
            dhash: self.dhashes[0],
        }
    }
}

/// Computes every perceptual hash of an upright picture.
pub fn perceptual(img: &DynamicImage) -> Perceptual {
    // One luma for all three: PDQ's, and pHash's and dHash's grey copy
    // its rounding (a grey picture is its own), shrunk once and turned
    // each way at the hashes' working size.
    let (w, h) = (img.width(), img.height());
    let luma = pdq::luma(img);
    let small = match img {
        DynamicImage::ImageLuma8(g) => imghash::shrink(g),
        _ => imghash::shrink(&imghash::grey_of_luma(&luma, w, h)),
    };
    let pdq = pdq::hash_luma_owned(luma, w as usize, h as usize);
    let (phashes, dhashes) = imghash::turned_hashes(&small);
    Perceptual {
        pdq,
        phashes,
        dhashes,
    }
}

/// Computes the hashes of a decoded image.
pub fn fingerprint(sha256: Sha256, decoded: &DecodedImage) -> Fingerprint {
    perceptual(&decoded.image).fingerprint(sha256)
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// Parses exactly `2 * N` hex digits (either case) into bytes.
pub(crate) fn hex_decode<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], Error> {
    let s = s.trim();
    if s.len() != 2 * N {
        return Err(Error::Invalid {
            what,
            reason: format!("expected {} hex digits, got {}", 2 * N, s.len()),
        });
    }
    let mut out = [0u8; N];
    let digits = s.as_bytes();
    for (i, byte) in out.iter_mut().enumerate() {
        let hi = hex_val(digits[2 * i]);
        let lo = hex_val(digits[2 * i + 1]);
        match (hi, lo) {
            (Some(h), Some(l)) => *byte = h << 4 | l,
            _ => {
                return Err(Error::Invalid {
                    what,
                    reason: format!("{s:?} is not hexadecimal"),
                });
            }
        }
    }
    Ok(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The sample photos, and the shared corpus' when present.
    pub(crate) fn photos() -> Vec<(std::path::PathBuf, DynamicImage)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("samples/photos")];
        let shared = root.join("../shared/corpus/photos");
        if shared.is_dir() {
            dirs.push(shared);
        } else {
            eprintln!("SKIPPED (part): ../shared/corpus/photos not found, samples only");
        }
        let mut out = Vec::new();
        for dir in dirs {
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            paths.sort();
            for path in paths {
                if let Ok(img) = image::open(&path) {
                    out.push((path, img));
                }
            }
        }
        out
    }

    /// The upright hashes are exactly `phash` and `dhash`; a turned one,
    /// made by turning the tiny resize, is the hash of the turned grey
    /// copy but for rounding: on real photos of several shapes, nearly
    /// always the same bits and never more than two apart.
    #[test]
    fn every_orientation_hashes_as_the_turned_picture() {
        let (mut same, mut all, mut worst) = (0, 0, 0);
        let pictures = photos();
        for (path, img) in &pictures {
            let p = perceptual(img);
            assert_eq!(p.phashes[0], phash(img), "{path:?}");
            assert_eq!(p.dhashes[0], dhash(img), "{path:?}");
            let small = DynamicImage::ImageLuma8(imghash::shrink(&grey(img)));
            for t in Dihedral::ALL {
                let turned = t.apply(&small);
                for (got, want) in [
                    (p.phashes[t as usize], imghash::phash_of_prepared(&turned)),
                    (p.dhashes[t as usize], imghash::dhash_of_prepared(&turned)),
                ] {
                    let d = got.distance(&want);
                    worst = worst.max(d);
                    same += usize::from(d == 0);
                    all += 1;
                }
            }
        }
        eprintln!(
            "{} pictures: {same} of {all} turned hashes the same bits as hashing the turned copy, at most {worst} apart",
            pictures.len()
        );
        assert!(pictures.len() >= 5);
        assert!(worst <= 2, "{worst}");
        assert!(same * 10 >= all * 9, "{same} of {all}");
    }

    /// Shrinking the grey copy instead of the colour picture moves the
    /// hashes by rounding only: three bits at most on real photos, most
    /// not at all.
    #[test]
    fn grey_first_moves_few_bits_from_colour_first() {
        let (mut same, mut all, mut worst) = (0, 0, 0);
        for (path, img) in photos() {
            let colour_first = if img.width() > 256 || img.height() > 256 {
                img.thumbnail(256, 256)
            } else {
                img.clone()
            };
            let colour_first = DynamicImage::ImageLuma8(grey(&colour_first).into_owned());
            for (got, want) in [
                (phash(&img), imghash::phash_of_prepared(&colour_first)),
                (dhash(&img), imghash::dhash_of_prepared(&colour_first)),
            ] {
                let d = got.distance(&want);
                assert!(d <= 3, "{path:?}: {d} bits");
                worst = worst.max(d);
                same += usize::from(d == 0);
                all += 1;
            }
        }
        eprintln!("grey first: {same} of {all} hashes unchanged, at most {worst} bits apart");
    }
}
