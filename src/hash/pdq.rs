//! PDQ, written in-house and bit-exact to the reference.
//!
//! PDQ is Meta's 256-bit perceptual hash (ThreatExchange, BSD licence).
//! The reference this module reproduces is the C++ `pdqhash` code as the
//! Python `pdqhash` package runs it on Pillow pixels: fed the same RGB
//! bytes, [`hash`] returns the same 256 bits and the same quality score.
//! The conformance suite is `tests/pdq_reference.rs`.
//!
//! The pipeline, with the float types the reference uses at each step
//! (reproducing them is what makes the bits agree):
//!
//! 1. Luma per pixel, `0.299 R + 0.587 G + 0.114 B`, computed in `f64`
//!    and stored as `f32` (the Python binding computes it with NumPy in
//!    double precision before handing `float`s to the C++ code).
//! 2. Two passes of a Jarosz tent filter: a box filter along each row,
//!    then along each column, with a window of ⌈len / 128⌉ pixels, in
//!    `f32` with running sums exactly as the reference accumulates them.
//! 3. Decimation to 64×64 by sampling pixel `⌊(i + ½) · len / 64⌋`
//!    (no filter is applied when the input already is 64×64).
//! 4. Quality: the sum of quantised gradients of that 64×64 image.
//! 5. The 16×16 lowest non-constant frequencies of its 2-D DCT-II, as
//!    `D · A · Dᵀ` with an `f32` 16×64 basis matrix.
//! 6. One bit per coefficient: set iff it is greater than the median
//!    (the 128th smallest of the 256).
//!
//! The eight dihedral variants (rotations and mirror images) come from
//! the same 16×16 coefficients: mirroring an axis multiplies the
//! coefficient of (1-based) frequency `u` along it by `(-1)^u`, and
//! transposing the picture transposes the coefficient matrix. Each
//! variant is then thresholded at its own median, as upstream does.
//!
//! Images smaller than 5 pixels on a side get the all-zero hash and
//! quality 0, as in the reference.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use image::{DynamicImage, RgbImage};
use serde::{Serialize, Serializer};

use crate::error::Error;

/// A 256-bit PDQ hash.
///
/// Displays as 64 lowercase hex characters, the same string the
/// reference implementations print. Bit `k` is the DCT coefficient at
/// row `k / 16`, column `k % 16`; it lives in byte `31 - k / 8` at bit
/// position `k % 8`, so the first hex character holds bits 255..252.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash256(pub [u8; 32]);

impl Hash256 {
    /// The all-zero hash (what images too small to hash get).
    pub const ZERO: Hash256 = Hash256([0; 32]);

    /// Builds a hash from its bits, `bits[k]` being bit `k` (see the type
    /// documentation for the order).
    pub fn from_bits(bits: &[bool; 256]) -> Hash256 {
        let mut bytes = [0u8; 32];
        for (k, _) in bits.iter().enumerate().filter(|(_, b)| **b) {
            bytes[31 - k / 8] |= 1 << (k % 8);
        }
        Hash256(bytes)
    }

    /// Bit `k` (0..256). Returns `false` for `k >= 256`.
    pub fn bit(&self, k: usize) -> bool {
        k < 256 && self.0[31 - k / 8] & (1 << (k % 8)) != 0
    }

    /// Hamming distance (0..=256).
    pub fn distance(&self, other: &Hash256) -> u32 {
        let (a, b) = (self.words(), other.words());
        (0..4).map(|i| (a[i] ^ b[i]).count_ones()).sum()
    }

    /// Number of bits set (128 for a typical hash).
    pub fn count_ones(&self) -> u32 {
        self.words().iter().map(|w| w.count_ones()).sum()
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        crate::hash::hex_encode(&self.0)
    }

    /// The hash from four 64-bit words, as [`Hash256::words`] gives them.
    pub fn from_words(words: &[u64; 4]) -> Hash256 {
        let mut b = [0u8; 32];
        for (chunk, w) in b.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        Hash256(b)
    }

    /// The hash as four 64-bit words (big-endian bytes).
    pub fn words(&self) -> [u64; 4] {
        let mut w = [0u64; 4];
        for (word, chunk) in w.iter_mut().zip(self.0.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_be_bytes(b);
        }
        w
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({self})")
    }
}

impl FromStr for Hash256 {
    type Err = Error;
    /// Parses 64 hex digits (either case; surrounding whitespace ignored).
    fn from_str(s: &str) -> Result<Self, Error> {
        crate::hash::hex_decode::<32>(s, "PDQ hash").map(Hash256)
    }
}

impl Serialize for Hash256 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A PDQ hash with its quality score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pdq {
    /// The 256 bits.
    pub hash: Hash256,
    /// 0..=100: how much structure (gradient energy) the picture has.
    /// Upstream advises discarding hashes of quality below 50: flat or
    /// nearly blank pictures all hash alike.
    pub quality: u8,
}

/// The eight symmetries of a rectangle (the dihedral group D4), named as
/// upstream names them.
///
/// The hash of variant `t` of a picture is (up to a few bits, see
/// [`PdqWithDihedrals`]) the hash of the picture with the pixel transform
/// documented on `t` applied. For a `W`×`H` picture `p` indexed
/// `p(row, col)`, each variant's pixels `q(row, col)` are given below.
/// Serialises as its upstream name ([`Dihedral::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Dihedral {
    /// Unchanged: `q(r, c) = p(r, c)`.
    #[serde(rename = "orig")]
    Original,
    /// Rotated 90° counter-clockwise (anticlockwise):
    /// `q(r, c) = p(c, W-1-r)`, an `H`×`W` picture. This is what Pillow's
    /// `rotate(90, expand=True)` and `image::imageops::rotate270` produce;
    /// upstream's `bridge-2-rotate-90.jpg` is rotated this way too.
    #[serde(rename = "rot90")]
    Rotate90,
    /// Rotated 180°: `q(r, c) = p(H-1-r, W-1-c)`.
    #[serde(rename = "rot180")]
    Rotate180,
    /// Rotated 90° clockwise (270° counter-clockwise):
    /// `q(r, c) = p(H-1-c, r)`; `image::imageops::rotate90`.
    #[serde(rename = "rot270")]
    Rotate270,
    /// Mirrored top-bottom (flipped about the horizontal, x, axis):
    /// `q(r, c) = p(H-1-r, c)`; `image::imageops::flip_vertical`.
    #[serde(rename = "flipx")]
    FlipX,
    /// Mirrored left-right (flipped about the vertical, y, axis):
    /// `q(r, c) = p(r, W-1-c)`; `image::imageops::flip_horizontal`.
    #[serde(rename = "flipy")]
    FlipY,
    /// Transposed, mirrored across the main diagonal (top-left to
    /// bottom-right): `q(r, c) = p(c, r)`.
    #[serde(rename = "flipp")]
    FlipPlus1,
    /// Mirrored across the anti-diagonal (top-right to bottom-left):
    /// `q(r, c) = p(H-1-c, W-1-r)`.
    #[serde(rename = "flipm")]
    FlipMinus1,
}

impl Dihedral {
    /// All eight, in upstream order (the order of
    /// [`PdqWithDihedrals::dihedrals`]).
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// Upstream's short name: `orig`, `rot90`, `rot180`, `rot270`,
    /// `flipx`, `flipy`, `flipp`, `flipm`.
    pub fn name(self) -> &'static str {
        match self {
            Dihedral::Original => "orig",
            Dihedral::Rotate90 => "rot90",
            Dihedral::Rotate180 => "rot180",
            Dihedral::Rotate270 => "rot270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipPlus1 => "flipp",
            Dihedral::FlipMinus1 => "flipm",
        }
    }

    /// The variant named `name` (as returned by [`Dihedral::name`]).
    pub fn from_name(name: &str) -> Option<Dihedral> {
        Dihedral::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The transform that undoes this one: `t.inverse().apply(&t.apply(p)) == p`.
    pub fn inverse(self) -> Dihedral {
        match self {
            Dihedral::Rotate90 => Dihedral::Rotate270,
            Dihedral::Rotate270 => Dihedral::Rotate90,
            other => other,
        }
    }

    /// Whether the transform swaps width and height (the quarter turns
    /// and the diagonal mirrors).
    pub fn swaps_sides(self) -> bool {
        self.dct_map().0
    }

    /// Applies this transform to a picture's pixels.
    pub fn apply(self, img: &DynamicImage) -> DynamicImage {
        match self {
            Dihedral::Original => img.clone(),
            Dihedral::Rotate90 => img.rotate270(),
            Dihedral::Rotate180 => img.rotate180(),
            Dihedral::Rotate270 => img.rotate90(),
            Dihedral::FlipX => img.flipv(),
            Dihedral::FlipY => img.fliph(),
            Dihedral::FlipPlus1 => img.rotate90().fliph(),
            Dihedral::FlipMinus1 => img.rotate270().fliph(),
        }
    }

    /// [`Dihedral::apply`] for an RGB buffer.
    pub fn apply_rgb(self, img: &RgbImage) -> RgbImage {
        use image::imageops::{flip_horizontal, flip_vertical, rotate90, rotate180, rotate270};
        match self {
            Dihedral::Original => img.clone(),
            Dihedral::Rotate90 => rotate270(img),
            Dihedral::Rotate180 => rotate180(img),
            Dihedral::Rotate270 => rotate90(img),
            Dihedral::FlipX => flip_vertical(img),
            Dihedral::FlipY => flip_horizontal(img),
            Dihedral::FlipPlus1 => flip_horizontal(&rotate90(img)),
            Dihedral::FlipMinus1 => flip_horizontal(&rotate270(img)),
        }
    }

    /// How the 16×16 DCT coefficients of the original map to those of the
    /// transformed picture: `(transpose, negate where row index is even,
    /// negate where column index is even)`, indices of the original.
    ///
    /// Mirroring the rows (top-bottom) multiplies the coefficient of
    /// vertical frequency `i + 1` by `(-1)^(i+1)`: it negates even `i`.
    /// Rotations and diagonal mirrors are a mirror followed by a
    /// transpose (e.g. counter-clockwise = mirror left-right, then
    /// transpose).
    fn dct_map(self) -> (bool, bool, bool) {
        match self {
            Dihedral::Original => (false, false, false),
            Dihedral::Rotate90 => (true, false, true),
            Dihedral::Rotate180 => (false, true, true),
            Dihedral::Rotate270 => (true, true, false),
            Dihedral::FlipX => (false, true, false),
            Dihedral::FlipY => (false, false, true),
            Dihedral::FlipPlus1 => (true, false, false),
            Dihedral::FlipMinus1 => (true, true, true),
        }
    }
}

/// A picture's PDQ hash and quality plus the hashes of its eight dihedral
/// variants, all from one DCT.
///
/// `dihedrals[t as usize]` stands for the hash of [`Dihedral`] `t` applied
/// to the picture, and `dihedrals[0] == pdq.hash`. The variants are
/// derived from the original's coefficients by sign flips and transposes,
/// exactly as upstream's `pdqDihedralHash256esFromFloatLuma` does (and
/// bit-identical to it), not by re-hashing transformed pixels.
///
/// The two agree only as far as the reference's blur and sampling are
/// mirror-symmetric. Along a side of `n` pixels they are when the box
/// window ⌈n/128⌉ is odd and `n` is not a multiple of 128; otherwise a
/// mirrored picture is blurred and sampled up to 3 pixels (2 for an even
/// window, 1 more when 128 divides `n`) away from the mirror image of the
/// original's 64×64 grid, out of a cell of `n / 64` pixels. On large
/// photographs that moves a few bits (at most 8 on upstream's 1600×1004
/// test photo, 2 on 4032×3024); on small pictures it can move many (26 to
/// 98 bits on 256×256 photos, where the shift is ¾ of a cell). The
/// transpose (`FlipPlus1`) of a square picture is always exact.
#[derive(Debug, Clone, Copy)]
pub struct PdqWithDihedrals {
    /// Hash and quality of the picture as given.
    pub pdq: Pdq,
    /// Hashes of the eight transforms, indexed by `Dihedral as usize`.
    pub dihedrals: [Hash256; 8],
}

impl PdqWithDihedrals {
    /// The hash of variant `t`.
    pub fn get(&self, t: Dihedral) -> Hash256 {
        self.dihedrals[t as usize]
    }

    /// Result for pictures too small to hash: all zero, quality 0.
    fn degenerate() -> PdqWithDihedrals {
        PdqWithDihedrals {
            pdq: Pdq {
                hash: Hash256::ZERO,
                quality: 0,
            },
            dihedrals: [Hash256::ZERO; 8],
        }
    }
}

/// Smallest side the reference hashes; smaller pictures get the zero hash.
const MIN_HASHABLE_DIM: usize = 5;

/// PDQ hash and quality of an RGB picture.
pub fn hash(rgb: &RgbImage) -> Pdq {
    let (w, h) = dims(rgb);
    match dct_of_luma(luma_from_rgb(rgb), w, h) {
        Some((coeffs, quality)) => Pdq {
            hash: bits_over_median(&coeffs),
            quality,
        },
        None => PdqWithDihedrals::degenerate().pdq,
    }
}

/// PDQ hash and quality of an RGB picture, and of its eight dihedral
/// variants.
pub fn hash_with_dihedrals(rgb: &RgbImage) -> PdqWithDihedrals {
    let (w, h) = dims(rgb);
    with_dihedrals(dct_of_luma(luma_from_rgb(rgb), w, h))
}

/// [`hash_with_dihedrals`] of a picture given as luma (row-major,
/// `width × height` values on the 0..=255 scale), e.g. a video frame's
/// Y plane.
///
/// [`hash`] computes luma from RGB the way the Python binding does (in
/// `f64`, rounded to `f32`); upstream's C++ tools (`pdq-photo-hasher`,
/// `vpdq`) compute `0.299f * R + 0.587f * G + 0.114f * B` in `f32`, which
/// differs in the last bit of some values and, rarely, in a hash bit.
///
/// # Panics
/// If `luma.len() != width * height`.
pub fn hash_luma(luma: &[f32], width: usize, height: usize) -> PdqWithDihedrals {
    hash_luma_owned(luma.to_vec(), width, height)
}

/// The luma PDQ hashes a picture by: [`hash_with_dihedrals`]' of its
/// RGB (a grey picture's levels themselves, exactly: those are the luma
/// of the same grey in RGB), row-major.
pub fn luma(img: &DynamicImage) -> Vec<f32> {
    match img {
        DynamicImage::ImageRgb8(rgb) => luma_from_rgb(rgb),
        DynamicImage::ImageLuma8(g) => g.as_raw().iter().map(|&v| f32::from(v)).collect(),
        other => luma_from_rgb(&other.to_rgb8()),
    }
}

/// [`hash_luma`] of luma made by [`luma`], consumed as the filter's
/// work buffer (no copy).
///
/// # Panics
/// If `luma.len() != width * height`.
pub fn hash_luma_owned(luma: Vec<f32>, width: usize, height: usize) -> PdqWithDihedrals {
    assert_eq!(
        Some(luma.len()),
        width.checked_mul(height),
        "hash_luma: {width}x{height} picture needs width*height luma values"
    );
    with_dihedrals(dct_of_luma(luma, width, height))
}

fn dims(rgb: &RgbImage) -> (usize, usize) {
    // u32 always fits usize on the platforms image supports (≥ 32 bits).
    let w = usize::try_from(rgb.width()).unwrap_or(usize::MAX);
    let h = usize::try_from(rgb.height()).unwrap_or(usize::MAX);
    (w, h)
}

fn with_dihedrals(dct: Option<([[f32; 16]; 16], u8)>) -> PdqWithDihedrals {
    let Some((coeffs, quality)) = dct else {
        return PdqWithDihedrals::degenerate();
    };
    let dihedrals = Dihedral::ALL.map(|t| bits_over_median(&transform_dct(&coeffs, t)));
    PdqWithDihedrals {
        pdq: Pdq {
            hash: dihedrals[0],
            quality,
        },
        dihedrals,
    }
}

/// Per-pixel luma, row-major.
///
/// The reference binding computes `R*0.299 + G*0.587 + B*0.114` in `f64`
/// (NumPy) and converts the result to `f32`; doing the arithmetic in `f32`
/// instead changes the last bit of some values and, through the median
/// threshold, the occasional hash bit.
///
/// Each channel's products are looked up (256 values each, the same
/// `f64` products), leaving two additions and a rounding per pixel.
fn luma_from_rgb(rgb: &RgbImage) -> Vec<f32> {
    let table = |k: f64| -> [f64; 256] { std::array::from_fn(|v| v as f64 * k) };
    let (r, g, b) = (table(0.299), table(0.587), table(0.114));
    let raw = rgb.as_raw();
    let mut out = vec![0f32; raw.len() / 3];
    for (o, p) in out.iter_mut().zip(raw.chunks_exact(3)) {
        *o = (r[usize::from(p[0])] + g[usize::from(p[1])] + b[usize::from(p[2])]) as f32;
    }
    out
}

/// Blurs, decimates and transforms `luma` (`w × h`, row-major, consumed as
/// the first work buffer). Returns the 16×16 coefficients and the quality,
/// or `None` when the picture is too small to hash.
fn dct_of_luma(mut luma: Vec<f32>, w: usize, h: usize) -> Option<([[f32; 16]; 16], u8)> {
    if w < MIN_HASHABLE_DIM || h < MIN_HASHABLE_DIM {
        return None;
    }
    let mut small = [[0f32; 64]; 64];
    if w == 64 && h == 64 {
        // Upstream's shortcut for frames already scaled to 64×64, in its
        // single-hash entry point. Its dihedral entry point filters even
        // these (window 1, which only rounds); here every entry point takes
        // the shortcut, so that `dihedrals[0] == hash().hash` always.
        for (row, src) in small.iter_mut().zip(luma.chunks_exact(64)) {
            row.copy_from_slice(src);
        }
    } else {
        let mut scratch = vec![0f32; luma.len()];
        jarosz_filter(&mut luma, &mut scratch, w, h);
        drop(scratch);
        decimate(&luma, w, h, &mut small);
    }
    let quality = quality_of(&small);
    Some((dct64_to_16(&small), quality))
}

/// Window of the box filter: ⌈old / (2 · new)⌉ with `new = 64` (two passes
/// of a box this wide approximate a tent of one output pixel's footprint).
fn jarosz_window(old: usize) -> usize {
    old.div_ceil(128)
}

/// Two passes of (box along rows, then box along columns), in place in
/// `buf` (`scratch` is same-size working memory).
fn jarosz_filter(buf: &mut [f32], scratch: &mut [f32], w: usize, h: usize) {
    let window_along_rows = jarosz_window(w);
    let window_along_cols = jarosz_window(h);
    for _ in 0..2 {
        for (src, dst) in buf.chunks_exact(w).zip(scratch.chunks_exact_mut(w)) {
            box_row(src, dst, window_along_rows);
        }
        box_cols(scratch, buf, w, h, window_along_cols);
    }
}

/// Phase lengths of the reference's one-dimensional box filter for a line
/// of `len` values: (adds before the first write, writes while the window
/// grows, writes at full window, writes while it shrinks).
///
/// Output `i` averages inputs `i - (window - half)..=i + half - 1` clipped
/// to the line, where `half = (window + 2) / 2`: centred for odd windows,
/// one more below (right) than above (left) for even ones. PDQ's window
/// ⌈len / 128⌉ never exceeds the line; the clamp only keeps other inputs
/// in bounds.
fn box_phases(len: usize, window: usize) -> (usize, usize, usize, usize) {
    let window = window.clamp(1, len.max(1));
    let half = (window + 2) / 2;
    (half - 1, window - half + 1, len - window, half - 1)
}

/// Box filter along one line (contiguous values).
fn box_row(input: &[f32], out: &mut [f32], window: usize) {
    let (p1, p2, p3, p4) = box_phases(input.len(), window);
    let mut sum = 0f32;
    let mut count = 0u32;
    let (mut li, mut ri, mut oi) = (0, 0, 0);
    for _ in 0..p1 {
        sum += input[ri];
        count += 1;
        ri += 1;
    }
    for _ in 0..p2 {
        sum += input[ri];
        count += 1;
        out[oi] = sum / count as f32;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p3 {
        sum += input[ri];
        sum -= input[li];
        out[oi] = sum / count as f32;
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p4 {
        sum -= input[li];
        count -= 1;
        out[oi] = sum / count as f32;
        li += 1;
        oi += 1;
    }
}

/// Box filter along every column of a `w × h` row-major buffer.
///
/// The reference walks one column at a time with a stride of `w`; this
/// sweeps all columns together, row by row, with one running sum per
/// column. Each column sees exactly the same sequence of float operations,
/// so the result is identical, and memory is read in order.
fn box_cols(input: &[f32], out: &mut [f32], w: usize, h: usize, window: usize) {
    let (p1, p2, p3, p4) = box_phases(h, window);
    let row = |i: usize| &input[i * w..(i + 1) * w];
    let mut sums = vec![0f32; w];
    let mut count = 0u32;
    let (mut li, mut ri, mut oi) = (0, 0, 0);
    for _ in 0..p1 {
        for (s, x) in sums.iter_mut().zip(row(ri)) {
            *s += x;
        }
        count += 1;
        ri += 1;
    }
    for _ in 0..p2 {
        count += 1;
        let n = count as f32;
        let dst = &mut out[oi * w..(oi + 1) * w];
        for ((s, x), o) in sums.iter_mut().zip(row(ri)).zip(dst) {
            *s += x;
            *o = *s / n;
        }
        ri += 1;
        oi += 1;
    }
    let n = count as f32;
    for _ in 0..p3 {
        let dst = &mut out[oi * w..(oi + 1) * w];
        for (((s, x), l), o) in sums.iter_mut().zip(row(ri)).zip(row(li)).zip(dst) {
            *s += x;
            *s -= l;
            *o = *s / n;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p4 {
        count -= 1;
        let n = count as f32;
        let dst = &mut out[oi * w..(oi + 1) * w];
        for ((s, l), o) in sums.iter_mut().zip(row(li)).zip(dst) {
            *s -= l;
            *o = *s / n;
        }
        li += 1;
        oi += 1;
    }
}

/// Index sampled for output `i` of 64 along a side of `len` pixels: the
/// pixel under the output cell's centre, computed in `f64` as upstream.
fn sample_index(i: usize, len: usize) -> usize {
    let x = ((i as f64 + 0.5) * len as f64) / 64.0;
    (x as usize).min(len - 1)
}

fn decimate(buf: &[f32], w: usize, h: usize, out: &mut [[f32; 64]; 64]) {
    let cols: [usize; 64] = std::array::from_fn(|j| sample_index(j, w));
    for (i, out_row) in out.iter_mut().enumerate() {
        let row = &buf[sample_index(i, h) * w..][..w];
        for (o, &c) in out_row.iter_mut().zip(&cols) {
            *o = row[c];
        }
    }
}

/// Upstream's heuristic quality: the sum of absolute neighbour differences
/// of the 64×64 image, each scaled to percent of full range and truncated
/// toward zero, divided by 90 and capped at 100.
fn quality_of(a: &[[f32; 64]; 64]) -> u8 {
    let step = |u: f32, v: f32| ((((u - v) * 100.0) / 255.0) as i32).abs();
    let mut sum: i32 = 0;
    // Vertical neighbours first, then horizontal (the order is immaterial
    // for integers, but it is upstream's).
    for pair in a.windows(2) {
        sum += pair[0]
            .iter()
            .zip(&pair[1])
            .map(|(&u, &v)| step(u, v))
            .sum::<i32>();
    }
    for row in a {
        sum += row.windows(2).map(|p| step(p[0], p[1])).sum::<i32>();
    }
    u8::try_from((sum / 90).min(100)).unwrap_or(100)
}

/// The 16×64 DCT-II basis (rows 1..=16 of the 64-point transform), scaled
/// by √(2/64). The scale is an `f32`, multiplied by the `f64` cosine, and
/// the product rounded to `f32`, as in the reference.
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static MATRIX: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        std::array::from_fn(|i| {
            std::array::from_fn(|j| {
                let angle =
                    (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                (f64::from(scale) * angle.cos()) as f32
            })
        })
    })
}

/// `B = D · A · Dᵀ` in `f32`, summing in ascending `k` as upstream.
fn dct64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for (t_row, d_row) in t.iter_mut().zip(d) {
        for (j, t_ij) in t_row.iter_mut().enumerate() {
            let mut sum = 0f32;
            for (d_ik, a_row) in d_row.iter().zip(a) {
                sum += d_ik * a_row[j];
            }
            *t_ij = sum;
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (b_row, t_row) in b.iter_mut().zip(&t) {
        for (b_ij, d_row) in b_row.iter_mut().zip(d) {
            let mut sum = 0f32;
            for (t_ik, d_jk) in t_row.iter().zip(d_row) {
                sum += t_ik * d_jk;
            }
            *b_ij = sum;
        }
    }
    b
}

/// The coefficients of the picture transformed by `t`, from those of the
/// original (see [`Dihedral::dct_map`]).
fn transform_dct(a: &[[f32; 16]; 16], t: Dihedral) -> [[f32; 16]; 16] {
    let (transpose, negate_even_rows, negate_even_cols) = t.dct_map();
    let mut b = [[0f32; 16]; 16];
    for (i, row) in a.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let negate = (negate_even_rows && i % 2 == 0) != (negate_even_cols && j % 2 == 0);
            let v = if negate { -v } else { v };
            if transpose {
                b[j][i] = v;
            } else {
                b[i][j] = v;
            }
        }
    }
    b
}

/// Bit `i*16 + j` is set iff coefficient `(i, j)` exceeds the median, the
/// 128th smallest of the 256 (what upstream's Torben median returns).
fn bits_over_median(c: &[[f32; 16]; 16]) -> Hash256 {
    let mut sorted: Vec<f32> = c.iter().flatten().copied().collect();
    sorted.sort_unstable_by(f32::total_cmp);
    let median = sorted[127];
    let mut bits = [false; 256];
    for (bit, &v) in bits.iter_mut().zip(c.iter().flatten()) {
        *bit = v > median;
    }
    Hash256::from_bits(&bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic(w: u32, h: u32, f: impl Fn(u32, u32) -> [u32; 3]) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y).map(|v| (v & 255) as u8)))
    }

    /// Three integer-formula pictures; the expected values below were
    /// computed with Python `pdqhash` 0.2.8 (`compute` and
    /// `compute_dihedral`) on the same arrays.
    fn picture_a() -> RgbImage {
        synthetic(100, 37, |x, y| [3 * x + 5 * y, x * y, 255 - 2 * x + y])
    }
    fn picture_b() -> RgbImage {
        synthetic(64, 64, |x, y| [(x * x + 3 * y * y) >> 2; 3])
    }
    fn picture_c() -> RgbImage {
        synthetic(330, 290, |x, y| {
            let (dx, dy) = (x.abs_diff(100), y.abs_diff(200));
            [(dx * dx + dy * dy) / 97, x * y / 50, (x + 2 * y) / 4]
        })
    }

    fn hashes(hex: &[&str; 8]) -> [Hash256; 8] {
        hex.map(|h| h.parse().unwrap())
    }

    /// The looked-up luma is the reference's `f64` formula, bit for bit.
    #[test]
    fn luma_lookup_equals_the_formula() {
        let rgb = RgbImage::from_fn(256, 256, |x, y| {
            image::Rgb([x as u8, y as u8, (x * 7 + y * 13) as u8])
        });
        let luma = luma_from_rgb(&rgb);
        for (p, l) in rgb.pixels().zip(&luma) {
            let [r, g, b] = p.0;
            let want = (f64::from(r) * 0.299 + f64::from(g) * 0.587 + f64::from(b) * 0.114) as f32;
            assert_eq!(l.to_bits(), want.to_bits(), "{:?}", p.0);
        }
    }

    #[test]
    fn matches_reference_on_synthetic_pictures() {
        let a = hash_with_dihedrals(&picture_a());
        assert_eq!(a.pdq.quality, 100);
        assert_eq!(
            a.dihedrals,
            hashes(&[
                "e4c999899b992333e633cc733c6361e7c1c3030f170efc5ee09e02b21be6fe0c",
                "ec9972669b198ccc661371ce38678e1de1ce38691f0643c3e079fe841ffe002f",
                "b18c3363cecc9999b36666d96936db4d9c96a925424b56f4b5cba8184eb35486",
                "b9ccd8ccce4c266633c6db646d3224b7b49b92c74a53e969b52c542e4aabaa85",
                "e4d966369b99cccce633338c3c638e18c9c3fc70171e03a0e09efd4d1be601f3",
                "b18ccc9ccecc6666b3669926693624b2949656da424ba90ab5cb57a74eb3ab59",
                "ec998d999b19623366138e31386771e2e18e87921f063c1ce079017b1ffeffc0",
                "b9cc2733ce4cd99933c6249b6d32db48b49b6d384a521696b52cabd14aab556a",
            ])
        );
        assert_eq!(hash(&picture_a()), a.pdq);

        // 64×64 takes the no-filter shortcut.
        let b = hash(&picture_b());
        assert_eq!(
            b.hash.to_hex(),
            "ad8fe91f4b3c5a30d6709661b4c7accfad8f299ca99c2bb83b302b387b300b30"
        );
        assert_eq!(b.quality, 100);
        assert_eq!(hash_with_dihedrals(&picture_b()).pdq, b);

        let c = hash_with_dihedrals(&picture_c());
        assert_eq!(c.pdq.quality, 100);
        assert_eq!(
            c.dihedrals,
            hashes(&[
                "889a50aa35566a5596b5ad255a4966c9c999331bce73b8e7c74e3c3ee07c0bd0",
                "8cbaac55355695ab96b5d2d31b69db26c991ccc44e364718c3cec3e1e07ce00f",
                "ddcffa006003c0ffc3e0878f0f3ccc639ccc99b19b2e134d921b9694b52bb17a",
                "d9ef06ff60033f0183e078794e3c718c8cc4666e1b63edb2969b694bb5294aa5",
                "889aa7553556952a96b552da5a699936c999cce4ce734618c74ec3c1e07cf42f",
                "ddcf05ff60033f00c3e0f8700f3c339c9ccc664e9b26ecb2921b696bb5295e85",
                "8cba53aa35566a5496b52d2c1b6924c9c991333b4c36b8e7c3ce3c1ee07c1ff0",
                "ddeff9006003c0ffc3e087864e3c8e739cc499911b63124d96bb96b4b52bb55a",
            ])
        );
    }

    /// Distances of each DCT-derived variant to the hash of the actually
    /// transformed pixels.
    fn dihedral_errors(rgb: &RgbImage) -> [u32; 8] {
        let derived = hash_with_dihedrals(rgb);
        let errors = Dihedral::ALL
            .map(|t| derived.dihedrals[t as usize].distance(&hash(&t.apply_rgb(rgb)).hash));
        println!("{}x{}: {errors:?}", rgb.width(), rgb.height());
        errors
    }

    #[test]
    fn dihedrals_match_transformed_pixels() {
        // 330×290: both filter windows odd (3), neither side a multiple of
        // 128, so blur and sample grid are mirror-symmetric and only float
        // rounding could tell the two apart.
        assert_eq!(dihedral_errors(&picture_c()), [0; 8]);
        // 100×37: windows 1 and 1, symmetric too.
        assert_eq!(dihedral_errors(&picture_a()), [0; 8]);
        // 256×256: window 2 (even) and samples at 4i+2, which mirror to
        // 4i+1: every mirror is ¾ of a cell off, and this smooth, low-
        // contrast picture (quality 33) keeps little more than its lowest
        // frequencies above the noise, so the variants are far apart (as
        // upstream's are). Only the transpose of a square is exact.
        let smooth = synthetic(256, 256, |x, y| {
            let (dx, dy) = (x.abs_diff(90), y.abs_diff(170));
            [(dx * dx + dy * dy) / 300, (x * 3 + y) / 4, x * y / 256]
        });
        let errors = dihedral_errors(&smooth);
        assert_eq!((errors[0], errors[Dihedral::FlipPlus1 as usize]), (0, 0));
        assert!(errors.iter().any(|&d| d > 31), "{errors:?}");
    }

    #[test]
    fn transforms_compose_and_invert() {
        let img = synthetic(7, 4, |x, y| [x, y, x * 16 + y]);
        for t in Dihedral::ALL {
            assert_eq!(t.inverse().apply_rgb(&t.apply_rgb(&img)), img, "{t:?}");
            assert_eq!(t.inverse().inverse(), t);
            assert_eq!(Dihedral::from_name(t.name()), Some(t));
            assert_eq!(
                t.apply(&DynamicImage::ImageRgb8(img.clone())).to_rgb8(),
                t.apply_rgb(&img),
                "{t:?}"
            );
        }
        let (w, h) = (img.width(), img.height());
        let p = |x: u32, y: u32| *img.get_pixel(x, y);
        // q(r, c) as documented on each variant (x = column, y = row).
        let q = |t: Dihedral, x: u32, y: u32| *t.apply_rgb(&img).get_pixel(x, y);
        assert_eq!(q(Dihedral::Rotate90, 0, 0), p(w - 1, 0));
        assert_eq!(q(Dihedral::Rotate90, 2, 1), p(w - 1 - 1, 2));
        assert_eq!(q(Dihedral::Rotate270, 2, 1), p(1, h - 1 - 2));
        assert_eq!(q(Dihedral::Rotate180, 2, 1), p(w - 1 - 2, h - 1 - 1));
        assert_eq!(q(Dihedral::FlipX, 2, 1), p(2, h - 1 - 1));
        assert_eq!(q(Dihedral::FlipY, 2, 1), p(w - 1 - 2, 1));
        assert_eq!(q(Dihedral::FlipPlus1, 2, 1), p(1, 2));
        assert_eq!(q(Dihedral::FlipMinus1, 2, 1), p(w - 1 - 1, h - 1 - 2));
        assert_eq!(Dihedral::from_name("rot45"), None);
    }

    #[test]
    fn tiny_and_thin_pictures_do_not_panic() {
        for (w, h) in [
            (0, 0),
            (1, 1),
            (2, 3),
            (4, 100),
            (1, 1000),
            (1000, 1),
            (5, 5),
            (5, 1000),
            (1000, 5),
        ] {
            let img = synthetic(w, h, |x, y| [x * 7 + y, y * 3, x ^ y]);
            let p = hash_with_dihedrals(&img);
            assert_eq!(hash(&img), p.pdq);
            if w < 5 || h < 5 {
                assert_eq!(
                    p.pdq,
                    Pdq {
                        hash: Hash256::ZERO,
                        quality: 0
                    },
                    "{w}x{h}"
                );
                assert_eq!(p.dihedrals, [Hash256::ZERO; 8]);
            } else {
                assert_ne!(p.pdq.hash, Hash256::ZERO, "{w}x{h}");
            }
        }
        let luma = vec![10.0f32; 6 * 7];
        let flat = hash_luma(&luma, 6, 7);
        assert_eq!(flat.pdq.quality, 0);
    }

    #[test]
    fn hash_luma_matches_rgb_path() {
        let img = picture_a();
        let luma: Vec<f32> = img
            .pixels()
            .map(|p| {
                (f64::from(p[0]) * 0.299 + f64::from(p[1]) * 0.587 + f64::from(p[2]) * 0.114) as f32
            })
            .collect();
        let from_luma = hash_luma(&luma, 100, 37);
        let from_rgb = hash_with_dihedrals(&img);
        assert_eq!(from_luma.pdq, from_rgb.pdq);
        assert_eq!(from_luma.dihedrals, from_rgb.dihedrals);
    }

    /// A grey picture's luma is its levels, the same values as the luma
    /// of that grey in RGB: hashing a grey decode is hashing it in colour.
    #[test]
    fn grey_luma_is_the_luma_of_the_grey_in_rgb() {
        let g = image::GrayImage::from_fn(256, 3, |x, y| image::Luma([(x as u8) ^ (y as u8)]));
        let grey = DynamicImage::ImageLuma8(g);
        assert_eq!(luma(&grey), luma_from_rgb(&grey.to_rgb8()));
        assert_eq!(
            hash_with_dihedrals(&grey.to_rgb8()).dihedrals,
            hash_luma_owned(luma(&grey), 256, 3).dihedrals
        );
    }

    #[test]
    #[should_panic(expected = "needs width*height")]
    fn hash_luma_rejects_wrong_length() {
        hash_luma(&[0.0; 10], 4, 4);
    }

    #[test]
    fn hex_round_trip_and_bit_order() {
        let hex = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22";
        let h: Hash256 = hex.parse().unwrap();
        assert_eq!(h.to_hex(), hex);
        assert_eq!(h.to_string(), hex);
        assert_eq!(format!("{h:?}"), format!("Hash256({hex})"));
        assert_eq!(hex.to_uppercase().parse::<Hash256>().unwrap(), h);
        assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{hex}\""));
        assert!("f8f8".parse::<Hash256>().is_err());
        assert!(hex.replace('f', "g").parse::<Hash256>().is_err());

        // Upstream: bit k is bit k%16 of 16-bit word k/16, words printed
        // from 15 down to 0 as %04x. So bit 255 is the top bit of the first
        // hex digit, bit 0 the bottom bit of the last, and bit 16 (word 1,
        // bit 0) the bottom bit of the 60th digit.
        let one = |k: usize| {
            let mut bits = [false; 256];
            bits[k] = true;
            Hash256::from_bits(&bits)
        };
        assert!(one(255).to_hex().starts_with("8000"));
        assert!(one(0).to_hex().ends_with("0001"));
        assert!(one(16).to_hex().ends_with("00010000"));
        assert!(one(12).to_hex().ends_with("1000"));
        for k in [0, 7, 8, 100, 255] {
            assert!(one(k).bit(k));
            assert_eq!(one(k).count_ones(), 1);
            assert_eq!(one(k).distance(&Hash256::ZERO), 1);
        }
        assert!(!one(3).bit(256));
        let bits: [bool; 256] = std::array::from_fn(|k| h.bit(k));
        assert_eq!(Hash256::from_bits(&bits), h);
        let other: Hash256 = "a5f05ba8a4896a17c106a3da5aaaab07b61b5b42f8fc07fc83c3d0740bfcb0fa"
            .parse()
            .unwrap();
        let naive = (0..256).filter(|&k| h.bit(k) != other.bit(k)).count();
        assert_eq!(h.distance(&other) as usize, naive);
    }

    #[test]
    fn serialises_names() {
        assert_eq!(
            serde_json::to_string(&Dihedral::FlipY).unwrap(),
            "\"flipy\""
        );
        assert_eq!(
            serde_json::to_string(&Dihedral::Rotate90).unwrap(),
            "\"rot90\""
        );
        let pdq = Pdq {
            hash: Hash256::ZERO,
            quality: 7,
        };
        assert_eq!(
            serde_json::to_string(&pdq).unwrap(),
            format!("{{\"hash\":\"{}\",\"quality\":7}}", "0".repeat(64))
        );
    }
}
