//! Local features: corners found at several scales, each with an
//! orientation and a 256-bit binary descriptor of the patch around it.
//!
//! Whole-picture hashes (PDQ, pHash) describe the picture as one block,
//! so a crop, a screenshot frame, a banner or a small rotation moves them
//! a long way. Corners and the patches around them survive all of these:
//! enough of them in the same geometric arrangement prove that two
//! pictures show the same photograph, and the arrangement says what was
//! done to it (see `matching::verify`).
//!
//! The method is the well-known oriented-FAST / rotated-binary-test
//! family, written here so its output is stable and documented:
//!
//! - the picture is scaled so its shorter side is at most
//!   [`WORK_SHORT_SIDE`] and its longer at most [`WORK_SIDE`] pixels
//!   (small pictures are enlarged to [`MIN_WORK_SIDE`]), its contrast
//!   stretched (so dull, dark or brightened copies look alike), then a
//!   pyramid of [`LEVELS`] levels each [`LEVEL_SCALE`] times smaller is
//!   built;
//! - corners are FAST-9 segment tests, ranked by the Harris response and
//!   thinned by 3×3 non-maximum suppression;
//! - the orientation is the patch's intensity centroid;
//! - the descriptor compares pairs of pixels of the smoothed patch,
//!   turned by the orientation. Its second 128 tests are the first 128
//!   reflected top to bottom, so the descriptor of a mirrored picture is
//!   this one with its halves swapped ([`Features::mirrored`]): mirrored
//!   copies are matched without a second extraction.
//!
//! Pure functions over pixels; no I/O.

use std::sync::OnceLock;

use crate::decode::grey;
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage};

/// The kind of the stored features (extractor and stored form), which
/// the feature index is keyed by: a change to either is a new kind.
pub const KIND: &str = "fast9-harris-brief256-x140-fsf1";

/// Shorter side of the working copy features are found on, at most.
pub const WORK_SHORT_SIDE: u32 = 640;
/// Longer side of the working copy, at most (a tall screenshot keeps its
/// width's detail up to this height).
pub const WORK_SIDE: u32 = 1600;
/// Pictures smaller than this are enlarged to it first, so patches fit.
pub const MIN_WORK_SIDE: u32 = 480;
/// Pyramid levels.
pub const LEVELS: usize = 6;
/// Pyramid levels of a picture being checked: two more than a stored
/// picture's, so a crop shown larger than the archived picture (its
/// working copy is a close-up) still has corners at the scales of the
/// archived picture's coarse ones. Stored features keep [`LEVELS`].
pub const QUERY_LEVELS: usize = LEVELS + 2;
/// Scale step between pyramid levels.
pub const LEVEL_SCALE: f32 = 1.3;
/// Features kept for an archived picture (38 bytes each when stored).
pub const STORED_POINTS: usize = 140;
/// Features kept for a picture being checked.
pub const QUERY_POINTS: usize = 1000;

/// FAST brightness threshold (of 255).
const FAST_THRESHOLD: i16 = 12;
/// Pixels kept clear of each level's edges so every patch fits.
const EDGE: usize = 17;
/// Radius of the orientation patch.
const ORIENT_RADIUS: i32 = 15;
/// Angle bins the test pattern is turned into.
const ANGLE_BINS: usize = 30;
/// Spatial grid used to spread the kept features over the picture.
const GRID: usize = 8;

/// A 256-bit binary descriptor.
pub type Descriptor = [u64; 4];

/// A corner on the working copy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keypoint {
    /// Column on the working copy (level-0 pixels).
    pub x: f32,
    /// Row on the working copy.
    pub y: f32,
    /// Orientation in radians, image axes (y down), in [0, 2π).
    pub angle: f32,
    /// Pyramid level it was found on (its scale is `LEVEL_SCALE^level`).
    pub level: u8,
    /// Harris response (for ranking; not stored).
    pub score: f32,
}

impl Keypoint {
    /// Patch scale relative to level 0.
    pub fn scale(&self) -> f32 {
        LEVEL_SCALE.powi(i32::from(self.level))
    }
}

/// The features of one picture.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Width of the working copy the coordinates refer to.
    pub width: u16,
    /// Height of the working copy.
    pub height: u16,
    /// Width of the picture itself (its full size), so a fitted scale can
    /// be given in its pixels.
    pub source_width: u32,
    /// Height of the picture itself.
    pub source_height: u32,
    /// Corners, strongest first.
    pub points: Vec<Keypoint>,
    /// `descriptors[i]` describes `points[i]`.
    pub descriptors: Vec<Descriptor>,
}

/// Hamming distance of two descriptors.
#[inline]
pub fn distance(a: &Descriptor, b: &Descriptor) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// True when two descriptors are within `radius` bits: the second half
/// is compared only when the first half leaves room (it seldom does
/// for unrelated corners).
#[inline]
pub fn within(a: &Descriptor, b: &Descriptor, radius: u32) -> bool {
    let half = (a[0] ^ b[0]).count_ones() + (a[1] ^ b[1]).count_ones();
    half <= radius && half + (a[2] ^ b[2]).count_ones() + (a[3] ^ b[3]).count_ones() <= radius
}

/// Bytes per stored feature: x, y (u16, 1/16 px), angle (u8), level
/// (u8), descriptor (32).
const RECORD: usize = 38;
/// Header: tag, working width and height (u16), source width and height
/// (u32), count (u16).
const HEADER: usize = 18;
/// Format tag of the stored form.
const TAG: &[u8; 4] = b"FSF1";

/// Why stored features could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored features are malformed: {0}")]
pub struct FeaturesFormatError(&'static str);

impl Features {
    /// Number of features.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The features of the picture mirrored left to right, derived from
    /// these without touching pixels.
    pub fn mirrored(&self) -> Features {
        let w = f32::from(self.width) - 1.0;
        Features {
            points: self
                .points
                .iter()
                .map(|p| Keypoint {
                    x: w - p.x,
                    angle: wrap_angle(std::f32::consts::PI - p.angle),
                    ..*p
                })
                .collect(),
            descriptors: self
                .descriptors
                .iter()
                .map(|d| [d[2], d[3], d[0], d[1]])
                .collect(),
            ..self.header()
        }
    }

    /// Adds the features of a part of the same picture (found on its own
    /// working copy) whose top-left corner is at `origin` in the
    /// picture's pixels, converted to this working copy's coordinates.
    pub fn absorb(&mut self, part: &Features, origin: (u32, u32)) {
        let k = f32::from(self.width) / self.source_width.max(1) as f32;
        let kp = part.source_width as f32 / f32::from(part.width.max(1));
        for (p, d) in part.points.iter().zip(&part.descriptors) {
            let x = (origin.0 as f32 + (p.x + 0.5) * kp) * k - 0.5;
            let y = (origin.1 as f32 + (p.y + 0.5) * kp) * k - 0.5;
            // The level that best matches the patch's size here.
            let size = p.scale() * kp * k;
            let level = (size.max(1.0).ln() / LEVEL_SCALE.ln()).round() as u8;
            self.points.push(Keypoint {
                x: x.clamp(0.0, f32::from(self.width)),
                y: y.clamp(0.0, f32::from(self.height)),
                level: level.min(LEVELS as u8 - 1),
                ..*p
            });
            self.descriptors.push(*d);
        }
    }

    /// The features found on the first `levels` pyramid levels.
    pub fn within_levels(&self, levels: usize) -> Features {
        let keep: Vec<usize> = (0..self.points.len())
            .filter(|&i| usize::from(self.points[i].level) < levels)
            .collect();
        Features {
            points: keep.iter().map(|&i| self.points[i]).collect(),
            descriptors: keep.iter().map(|&i| self.descriptors[i]).collect(),
            ..self.header()
        }
    }

    /// The `n` strongest features, spread over the picture: each cell of
    /// an 8×8 grid first gets its share, the rest go by strength.
    pub fn strongest_spread(&self, n: usize) -> Features {
        let order = spread_order(&self.points, self.width, self.height, n);
        Features {
            points: order.iter().map(|&i| self.points[i]).collect(),
            descriptors: order.iter().map(|&i| self.descriptors[i]).collect(),
            ..self.header()
        }
    }

    /// The sizes alone, with no features.
    fn header(&self) -> Features {
        Features {
            width: self.width,
            height: self.height,
            source_width: self.source_width,
            source_height: self.source_height,
            points: Vec::new(),
            descriptors: Vec::new(),
        }
    }

    /// The stored form: a tag, the working size, then 38 bytes per
    /// feature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.len().min(usize::from(u16::MAX));
        let mut out = Vec::with_capacity(HEADER + RECORD * n);
        out.extend_from_slice(TAG);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.source_width.to_le_bytes());
        out.extend_from_slice(&self.source_height.to_le_bytes());
        out.extend_from_slice(&(n as u16).to_le_bytes());
        for (p, d) in self.points.iter().zip(&self.descriptors).take(n) {
            let fx = (p.x * 16.0).round().clamp(0.0, 65535.0) as u16;
            let fy = (p.y * 16.0).round().clamp(0.0, 65535.0) as u16;
            out.extend_from_slice(&fx.to_le_bytes());
            out.extend_from_slice(&fy.to_le_bytes());
            let a = (p.angle / std::f32::consts::TAU * 256.0).round() as i32;
            out.push(a.rem_euclid(256) as u8);
            out.push(p.level);
            for w in d {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out
    }

    /// Reads the stored form.
    ///
    /// # Errors
    /// A wrong tag, a length that does not fit the count, a level beyond
    /// the pyramid or a coordinate outside the working copy.
    pub fn from_bytes(b: &[u8]) -> Result<Features, FeaturesFormatError> {
        if b.len() < HEADER || &b[..4] != TAG {
            return Err(FeaturesFormatError("unknown format tag"));
        }
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let (width, height) = (u16_at(4), u16_at(6));
        let (source_width, source_height) = (u32_at(8), u32_at(12));
        let n = usize::from(u16_at(16));
        if b.len() != HEADER + n * RECORD {
            return Err(FeaturesFormatError("length does not match the count"));
        }
        let mut f = Features {
            width,
            height,
            source_width,
            source_height,
            points: Vec::with_capacity(n),
            descriptors: Vec::with_capacity(n),
        };
        for r in b[HEADER..].chunks_exact(RECORD) {
            let x = f32::from(u16::from_le_bytes([r[0], r[1]])) / 16.0;
            let y = f32::from(u16::from_le_bytes([r[2], r[3]])) / 16.0;
            if x > f32::from(width) || y > f32::from(height) {
                return Err(FeaturesFormatError("a feature lies outside the picture"));
            }
            if usize::from(r[5]) >= LEVELS {
                return Err(FeaturesFormatError("a feature's level is out of range"));
            }
            let mut d = [0u64; 4];
            for (k, w) in d.iter_mut().enumerate() {
                let s = 6 + 8 * k;
                let mut word = [0u8; 8];
                word.copy_from_slice(&r[s..s + 8]);
                *w = u64::from_le_bytes(word);
            }
            f.points.push(Keypoint {
                x,
                y,
                angle: f32::from(r[4]) / 256.0 * std::f32::consts::TAU,
                level: r[5],
                score: 0.0,
            });
            f.descriptors.push(d);
        }
        Ok(f)
    }
}

fn wrap_angle(a: f32) -> f32 {
    a.rem_euclid(std::f32::consts::TAU)
}

/// The scale (at most 1) that brings a `w`×`h` picture within a working
/// copy's sides: shorter side at most [`WORK_SHORT_SIDE`], longer at most
/// [`WORK_SIDE`].
pub fn shrink_to_work(w: f64, h: f64) -> f64 {
    (f64::from(WORK_SHORT_SIDE) / w.min(h))
        .min(f64::from(WORK_SIDE) / w.max(h))
        .min(1.0)
}

/// The working copy features are found on: grey, shorter side at most
/// [`WORK_SHORT_SIDE`], longer side at most [`WORK_SIDE`] (small pictures
/// enlarged to [`MIN_WORK_SIDE`]), contrast stretched.
pub fn working_copy(img: &DynamicImage) -> GrayImage {
    let (w, h) = (img.width().max(1), img.height().max(1));
    let long = f64::from(w.max(h));
    let mut k = shrink_to_work(f64::from(w), f64::from(h));
    if long * k < f64::from(MIN_WORK_SIDE) {
        k = f64::from(MIN_WORK_SIDE) / long;
    }
    let nw = ((f64::from(w) * k).round() as u32).max(1);
    let nh = ((f64::from(h) * k).round() as u32).max(1);
    let grey = grey::luma(img);
    let mut g = if (nw, nh) == (w, h) {
        grey
    } else if k < 1.0 {
        grey::shrink(&grey, nw, nh)
    } else {
        imageops::resize(&grey, nw, nh, FilterType::Triangle)
    };
    stretch_contrast(&mut g);
    g
}

/// Adds to `f` (found on the working copy `work`) the corners of a flat
/// picture seen at an angle in it (a screen, a print), found on that
/// picture looked at straight on: a `width`×`height` view whose points
/// `to_work` takes to `work`'s (a homography, see
/// [`super::screen::find`]). Each corner is given back in `work`'s
/// coordinates, its orientation and level turned and scaled by the view
/// there, so a fit sees them where they lie; their descriptors are those
/// of the picture seen straight on, as it was archived.
pub fn add_rectified(
    f: &mut Features,
    source: &GrayImage,
    per_work: f64,
    (width, height): (u32, u32),
    to_work: &dyn Fn((f64, f64)) -> Option<(f64, f64)>,
    max_points: usize,
    depth: usize,
) {
    let (ww, wh) = source.dimensions();
    if width < 32 || height < 32 || ww < 2 || wh < 2 {
        return;
    }
    let sample = |x: f64, y: f64| -> u8 {
        let x = x.clamp(0.0, f64::from(ww - 1) - 1e-6);
        let y = y.clamp(0.0, f64::from(wh - 1) - 1e-6);
        let (x0, y0) = (x.floor() as u32, y.floor() as u32);
        let (fx, fy) = (x - f64::from(x0), y - f64::from(y0));
        let p = |dx: u32, dy: u32| f64::from(source.get_pixel(x0 + dx, y0 + dy).0[0]);
        let v = (p(0, 0) * (1.0 - fx) + p(1, 0) * fx) * (1.0 - fy)
            + (p(0, 1) * (1.0 - fx) + p(1, 1) * fx) * fy;
        v.round().clamp(0.0, 255.0) as u8
    };
    let mut view = GrayImage::new(width, height);
    for (x, y, px) in view.enumerate_pixels_mut() {
        let at = to_work((f64::from(x) + 0.5, f64::from(y) + 0.5));
        px.0[0] = at.map_or(0, |(u, v)| sample(u * per_work - 0.5, v * per_work - 0.5));
    }
    stretch_contrast(&mut view);
    let seen = extract_gray_levels(&view, max_points, depth);
    let step = LEVEL_SCALE.ln();
    for (p, d) in seen.points.iter().zip(&seen.descriptors) {
        let (x, y) = (f64::from(p.x) + 0.5, f64::from(p.y) + 0.5);
        let (Some(c), Some(cx), Some(cy)) = (
            to_work((x, y)),
            to_work((x + 1.0, y)),
            to_work((x, y + 1.0)),
        ) else {
            continue;
        };
        // The view's local linear map: its columns are where a step
        // right and a step down go.
        let (a, b) = ((cx.0 - c.0, cx.1 - c.1), (cy.0 - c.0, cy.1 - c.1));
        let (ux, uy) = (f64::from(p.angle.cos()), f64::from(p.angle.sin()));
        let turned = (a.0 * ux + b.0 * uy, a.1 * ux + b.1 * uy);
        let det = (a.0 * b.1 - a.1 * b.0).abs();
        if det < 1e-9 {
            continue;
        }
        let shift = (0.5 * det.ln() / f64::from(step)).round() as i32;
        let level = (i32::from(p.level) + shift).clamp(0, depth as i32 - 1) as u8;
        let (x, y) = ((c.0 - 0.5) as f32, (c.1 - 0.5) as f32);
        if x < 0.0 || y < 0.0 || x > f32::from(f.width) || y > f32::from(f.height) {
            continue;
        }
        f.points.push(Keypoint {
            x,
            y,
            angle: wrap_angle(turned.1.atan2(turned.0) as f32),
            level,
            score: p.score,
        });
        f.descriptors.push(*d);
    }
}

/// Maps the 1st..99th percentile of grey levels onto 0..255 (when that
/// range is not already wide).
fn stretch_contrast(g: &mut GrayImage) {
    let mut hist = [0usize; 256];
    for &v in g.as_raw() {
        hist[usize::from(v)] += 1;
    }
    let n = g.as_raw().len();
    let cut = n / 100;
    let (mut lo, mut acc) = (0usize, 0usize);
    while lo < 255 && acc + hist[lo] <= cut {
        acc += hist[lo];
        lo += 1;
    }
    let (mut hi, mut acc) = (255usize, 0usize);
    while hi > 0 && acc + hist[hi] <= cut {
        acc += hist[hi];
        hi -= 1;
    }
    if hi <= lo + 8 || (lo < 8 && hi > 247) {
        return;
    }
    let span = (hi - lo) as f32;
    let lut: Vec<u8> = (0..256)
        .map(|v| {
            (((v as f32 - lo as f32) / span) * 255.0)
                .clamp(0.0, 255.0)
                .round() as u8
        })
        .collect();
    for v in g.iter_mut() {
        *v = lut[usize::from(*v)];
    }
}

/// Finds up to `max_points` features of a picture.
pub fn extract(img: &DynamicImage, max_points: usize) -> Features {
    extract_levels(img, max_points, LEVELS)
}

/// [`extract`] on `levels` pyramid levels.
pub fn extract_levels(img: &DynamicImage, max_points: usize, levels: usize) -> Features {
    Features {
        source_width: img.width(),
        source_height: img.height(),
        ..extract_gray_levels(&working_copy(img), max_points, levels)
    }
}

/// Finds up to `max_points` features on a grey working copy. Corners are
/// found and ranked on every level first; only the kept ones are given
/// an orientation and a descriptor.
pub fn extract_gray(work: &GrayImage, max_points: usize) -> Features {
    extract_gray_levels(work, max_points, LEVELS)
}

/// [`extract_gray`] on `levels` pyramid levels.
pub fn extract_gray_levels(work: &GrayImage, max_points: usize, depth: usize) -> Features {
    let (w0, h0) = work.dimensions();
    let mut levels: Vec<(GrayImage, GrayImage)> = Vec::new();
    let mut candidates: Vec<Keypoint> = Vec::new();
    let mut at: Vec<(usize, usize)> = Vec::new();
    let mut level_img = work.clone();
    for level in 0..depth {
        let (w, h) = level_img.dimensions();
        if (w as usize) < 2 * EDGE + 8 || (h as usize) < 2 * EDGE + 8 {
            break;
        }
        let scale = LEVEL_SCALE.powi(level as i32);
        let mut corners = fast_corners(&level_img, FAST_THRESHOLD);
        if corners.len() < max_points / (4 * LEVELS) {
            // A soft or dull picture: look for fainter corners.
            corners = fast_corners(&level_img, FAST_THRESHOLD / 2);
        }
        for (x, y, score) in corners {
            candidates.push(Keypoint {
                x: (x as f32 + 0.5) * scale - 0.5,
                y: (y as f32 + 0.5) * scale - 0.5,
                angle: 0.0,
                level: level as u8,
                score,
            });
            at.push((x, y));
        }
        let next = LEVEL_SCALE.powi(level as i32 + 1);
        let nw = (w0 as f32 / next).round() as u32;
        let nh = (h0 as f32 / next).round() as u32;
        let smaller = (nw >= 1 && nh >= 1).then(|| bilinear_down(&level_img, nw, nh));
        let smooth = box_blur_twice(&level_img);
        levels.push((level_img, smooth));
        match smaller {
            Some(s) => level_img = s,
            None => break,
        }
    }
    let width = w0.min(u32::from(u16::MAX)) as u16;
    let height = h0.min(u32::from(u16::MAX)) as u16;
    // Corners of the levels beyond a stored picture's are kept besides
    // the others (up to a quarter as many more), not instead of any.
    let (standard, extra): (Vec<usize>, Vec<usize>) =
        (0..candidates.len()).partition(|&i| usize::from(candidates[i].level) < LEVELS);
    let chosen = |among: &[usize], n: usize| -> Vec<usize> {
        let points: Vec<Keypoint> = among.iter().map(|&i| candidates[i]).collect();
        spread_order(&points, width, height, n)
            .into_iter()
            .map(|k| among[k])
            .collect()
    };
    let mut keep = chosen(&standard, max_points);
    keep.extend(chosen(&extra, max_points / 4));
    let mut points = Vec::with_capacity(keep.len());
    let mut descriptors = Vec::with_capacity(keep.len());
    for i in keep {
        let mut p = candidates[i];
        let (x, y) = at[i];
        let (img, smooth) = &levels[usize::from(p.level)];
        p.angle = orientation(img, x, y);
        descriptors.push(describe(smooth, x, y, p.angle));
        points.push(p);
    }
    Features {
        width,
        height,
        source_width: w0,
        source_height: h0,
        points,
        descriptors,
    }
}

/// Indices of up to `n` points: per grid cell its share of the strongest,
/// then the strongest of the rest; strongest first within each pass.
fn spread_order(points: &[Keypoint], width: u16, height: u16, n: usize) -> Vec<usize> {
    let mut by_score: Vec<usize> = (0..points.len()).collect();
    by_score.sort_by(|&a, &b| points[b].score.total_cmp(&points[a].score).then(a.cmp(&b)));
    if points.len() <= n {
        return by_score;
    }
    let per_cell = n.div_ceil(GRID * GRID * 2).max(1);
    let cell = |p: &Keypoint| {
        let cx = ((p.x / f32::from(width.max(1))) * GRID as f32).clamp(0.0, GRID as f32 - 1.0);
        let cy = ((p.y / f32::from(height.max(1))) * GRID as f32).clamp(0.0, GRID as f32 - 1.0);
        cy as usize * GRID + cx as usize
    };
    let mut counts = [0usize; GRID * GRID];
    let mut taken = vec![false; points.len()];
    let mut out = Vec::with_capacity(n);
    for &i in &by_score {
        let c = cell(&points[i]);
        if counts[c] < per_cell {
            counts[c] += 1;
            taken[i] = true;
            out.push(i);
            if out.len() == n {
                return out;
            }
        }
    }
    for &i in &by_score {
        if !taken[i] {
            out.push(i);
            if out.len() == n {
                break;
            }
        }
    }
    out
}

/// The 16 pixels of the radius-3 Bresenham circle, in order.
const CIRCLE: [(i32, i32); 16] = [
    (0, -3),
    (1, -3),
    (2, -2),
    (3, -1),
    (3, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 3),
    (-1, 3),
    (-2, 2),
    (-3, 1),
    (-3, 0),
    (-3, -1),
    (-2, -2),
    (-1, -3),
];

/// True when the 16-bit circular mask has a run of 9 set bits.
#[inline]
fn has_arc9(mask: u32) -> bool {
    let m = mask | (mask << 16);
    let mut r = m;
    for k in 1..9 {
        r &= m >> k;
    }
    r & 0xffff != 0
}

/// True when the 8-bit circular mask has a run of 4 set bits.
#[inline]
fn has_run4(m: u8) -> bool {
    m & m.rotate_right(1) & m.rotate_right(2) & m.rotate_right(3) != 0
}

/// FAST-9 corners with their Harris response, after 3×3 non-maximum
/// suppression, away from the edges.
fn fast_corners(img: &GrayImage, threshold: i16) -> Vec<(usize, usize, f32)> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px = img.as_raw();
    let offs: Vec<isize> = CIRCLE
        .iter()
        .map(|&(dx, dy)| dy as isize * w as isize + dx as isize)
        .collect();
    let structure = Structure::new(px, w, h);
    let mut scores = vec![0f32; w * h];
    let mut found = Vec::new();
    let span = w - 2 * EDGE;
    let mut maybe = vec![false; span];
    for y in EDGE..h - EDGE {
        // Every arc of 9 of the 16 circle pixels holds 4 consecutive of
        // its 8 even-numbered ones: that test runs over the whole row at
        // once (vectorised), the full one only where it passes.
        let even: [&[u8]; 8] = std::array::from_fn(|n| {
            let (dx, dy) = CIRCLE[2 * n];
            let start =
                ((y as isize + dy as isize) * w as isize + EDGE as isize + dx as isize) as usize;
            &px[start..start + span]
        });
        let row = &px[y * w + EDGE..y * w + EDGE + span];
        for (k, m) in maybe.iter_mut().enumerate() {
            let p = i16::from(row[k]);
            let (hi, lo) = (p + threshold, p - threshold);
            let (mut b, mut d) = (0u8, 0u8);
            for (n, ring) in even.iter().enumerate() {
                let v = i16::from(ring[k]);
                b |= u8::from(v > hi) << n;
                d |= u8::from(v < lo) << n;
            }
            *m = has_run4(b) || has_run4(d);
        }
        for x in (EDGE..w - EDGE).filter(|&x| maybe[x - EDGE]) {
            let i = y * w + x;
            let p = i16::from(px[i]);
            let hi = p + threshold;
            let lo = p - threshold;
            let at = |k: usize| i16::from(px[(i as isize + offs[k]) as usize]);
            let mut bm = 0u32;
            let mut dm = 0u32;
            for k in 0..16 {
                let v = at(k);
                bm |= u32::from(v > hi) << k;
                dm |= u32::from(v < lo) << k;
            }
            if !(has_arc9(bm) || has_arc9(dm)) {
                continue;
            }
            let s = structure.harris(x, y);
            if s > 0.0 {
                scores[i] = s;
                found.push((x, y));
            }
        }
    }
    found
        .into_iter()
        .filter_map(|(x, y)| {
            let s = scores[y * w + x];
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    if dx == 0 && dy == 0 {
                        continue;
                    }
                    let j = (y as isize + dy) as usize * w + (x as isize + dx) as usize;
                    let t = scores[j];
                    // Ties go to the earlier pixel in raster order.
                    if t > s || (t == s && (dy < 0 || (dy == 0 && dx < 0))) {
                        return None;
                    }
                }
            }
            Some((x, y, s))
        })
        .collect()
}

/// Row sums of the structure tensor over 7 pixels (central
/// differences), for the Harris response of corners away from the
/// edges: a corner's response is then seven additions per sum.
struct Structure {
    w: usize,
    /// Per pixel: Σ ix², Σ ix·iy, Σ iy² over the 7 pixels of its row
    /// centred on it (exact integers).
    rows: Vec<[i32; 3]>,
}

impl Structure {
    fn new(px: &[u8], w: usize, h: usize) -> Structure {
        let mut rows = vec![[0i32; 3]; w * h];
        if w < 2 * EDGE + 1 || h < 2 * EDGE + 1 {
            return Structure { w, rows };
        }
        let (x0, x1) = (EDGE - 3, w - EDGE + 3);
        let mut products = vec![[0i32; 3]; x1 - x0];
        for y in EDGE - 3..h - EDGE + 3 {
            let (above, row, below) = (
                &px[(y - 1) * w..y * w],
                &px[y * w..(y + 1) * w],
                &px[(y + 1) * w..(y + 2) * w],
            );
            for (k, p) in products.iter_mut().enumerate() {
                let x = x0 + k;
                let ix = i32::from(row[x + 1]) - i32::from(row[x - 1]);
                let iy = i32::from(below[x]) - i32::from(above[x]);
                *p = [ix * ix, ix * iy, iy * iy];
            }
            let out = &mut rows[y * w..(y + 1) * w];
            for x in EDGE..w - EDGE {
                let window = &products[x - 3 - x0..=x + 3 - x0];
                let mut sum = [0i32; 3];
                for p in window {
                    sum[0] += p[0];
                    sum[1] += p[1];
                    sum[2] += p[2];
                }
                out[x] = sum;
            }
        }
        Structure { w, rows }
    }

    /// Harris response over the 7×7 window centred on (x, y). The sums
    /// are exact integers (as they were summed in `f32`, being below
    /// 2^24), so the response is the same however they are added.
    fn harris(&self, x: usize, y: usize) -> f32 {
        let (mut a, mut b, mut c) = (0i32, 0i32, 0i32);
        for yy in y - 3..=y + 3 {
            let [p, q, r] = self.rows[yy * self.w + x];
            a += p;
            b += q;
            c += r;
        }
        let (a, b, c) = (a as f32, b as f32, c as f32);
        a * c - b * b - 0.04 * (a + c) * (a + c)
    }
}

/// Half-widths of the circular orientation patch, row by row.
fn circle_spans() -> &'static [i32; ORIENT_RADIUS as usize + 1] {
    static SPANS: OnceLock<[i32; ORIENT_RADIUS as usize + 1]> = OnceLock::new();
    SPANS.get_or_init(|| {
        let mut s = [0i32; ORIENT_RADIUS as usize + 1];
        let r2 = (ORIENT_RADIUS * ORIENT_RADIUS) as f32 + 0.5;
        for (v, span) in s.iter_mut().enumerate() {
            *span = (r2 - (v * v) as f32).max(0.0).sqrt().floor() as i32;
        }
        s
    })
}

/// Orientation of the patch: the direction of its intensity centroid.
fn orientation(img: &GrayImage, x: usize, y: usize) -> f32 {
    let w = img.width() as isize;
    let px = img.as_raw();
    let centre = y as isize * w + x as isize;
    let (mut m10, mut m01) = (0i64, 0i64);
    for (v, &span) in circle_spans().iter().enumerate() {
        let v = v as isize;
        for u in -span as isize..=span as isize {
            let below = i64::from(px[(centre + v * w + u) as usize]);
            m10 += u as i64 * below;
            if v != 0 {
                let above = i64::from(px[(centre - v * w + u) as usize]);
                m10 += u as i64 * above;
                m01 += v as i64 * (below - above);
            }
        }
    }
    wrap_angle((m01 as f32).atan2(m10 as f32))
}

/// Two box blurs of radius 2: close to a Gaussian of σ ≈ 2.
fn box_blur_twice(img: &GrayImage) -> GrayImage {
    box_blur(&box_blur(img))
}

fn box_blur(img: &GrayImage) -> GrayImage {
    const R: usize = 2;
    // The whole-window sum below adds five shifted rows.
    const _: () = assert!(R == 2);
    const WINDOW: u32 = 2 * R as u32 + 1;
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return img.clone();
    }
    let src = img.as_raw();
    // Horizontal pass: running sums, edges averaged over what exists.
    let mut tmp = vec![0u16; w * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        let out = &mut tmp[y * w..(y + 1) * w];
        let edge = |x: usize| {
            let (lo, hi) = (x.saturating_sub(R), (x + R).min(w - 1));
            let sum: u32 = row[lo..=hi].iter().map(|&v| u32::from(v)).sum();
            (sum * 16 / (hi - lo + 1) as u32) as u16
        };
        if w <= 2 * R {
            for (x, o) in out.iter_mut().enumerate() {
                *o = edge(x);
            }
            continue;
        }
        // Whole windows: five shifted rows added, divided by a constant.
        let n = w - 2 * R;
        let (a, b, c, d, e) = (
            &row[..n],
            &row[1..=n],
            &row[2..n + 2],
            &row[3..n + 3],
            &row[4..n + 4],
        );
        for (i, o) in out[R..w - R].iter_mut().enumerate() {
            let sum = u32::from(a[i])
                + u32::from(b[i])
                + u32::from(c[i])
                + u32::from(d[i])
                + u32::from(e[i]);
            *o = (sum * 16 / WINDOW) as u16;
        }
        for x in (0..R).chain(w - R..w) {
            out[x] = edge(x);
        }
    }
    // Vertical pass, row by row so memory is read in order.
    let mut out = vec![0u8; w * h];
    let mut sum = vec![0u32; w];
    for yy in 0..=R.min(h - 1) {
        for (s, &v) in sum.iter_mut().zip(&tmp[yy * w..(yy + 1) * w]) {
            *s += u32::from(v);
        }
    }
    for y in 0..h {
        let lo = y.saturating_sub(R);
        let hi = (y + R).min(h - 1);
        let n = 16 * (hi - lo + 1) as u32;
        let row = &mut out[y * w..(y + 1) * w];
        if n == 16 * WINDOW {
            for (o, &s) in row.iter_mut().zip(&sum) {
                *o = (s / (16 * WINDOW)).min(255) as u8;
            }
        } else {
            for (o, &s) in row.iter_mut().zip(&sum) {
                *o = (s / n).min(255) as u8;
            }
        }
        if y + R + 1 < h {
            let add = &tmp[(y + R + 1) * w..(y + R + 2) * w];
            for (s, &v) in sum.iter_mut().zip(add) {
                *s += u32::from(v);
            }
        }
        if y >= R {
            let sub = &tmp[(y - R) * w..(y - R + 1) * w];
            for (s, &v) in sum.iter_mut().zip(sub) {
                *s -= u32::from(v);
            }
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).unwrap_or_default()
}

/// Bilinear shrink by a small factor (one pyramid step).
fn bilinear_down(g: &GrayImage, nw: u32, nh: u32) -> GrayImage {
    let (w, h) = (g.width() as usize, g.height() as usize);
    let (nw, nh) = (nw.max(1) as usize, nh.max(1) as usize);
    let src = g.as_raw();
    let (sx, sy) = (w as f32 / nw as f32, h as f32 / nh as f32);
    let cols: Vec<(usize, usize, u32)> = (0..nw)
        .map(|i| {
            let x = ((i as f32 + 0.5) * sx - 0.5).max(0.0);
            let x0 = (x as usize).min(w - 1);
            let f = ((x - x0 as f32) * 256.0) as u32;
            (x0, (x0 + 1).min(w - 1), f.min(256))
        })
        .collect();
    let mut out = vec![0u8; nw * nh];
    for j in 0..nh {
        let y = ((j as f32 + 0.5) * sy - 0.5).max(0.0);
        let y0 = (y as usize).min(h - 1);
        let y1 = (y0 + 1).min(h - 1);
        let fy = (((y - y0 as f32) * 256.0) as u32).min(256);
        let (r0, r1) = (&src[y0 * w..(y0 + 1) * w], &src[y1 * w..(y1 + 1) * w]);
        for (o, &(x0, x1, fx)) in out[j * nw..(j + 1) * nw].iter_mut().zip(&cols) {
            let top = u32::from(r0[x0]) * (256 - fx) + u32::from(r0[x1]) * fx;
            let bot = u32::from(r1[x0]) * (256 - fx) + u32::from(r1[x1]) * fx;
            *o = ((top * (256 - fy) + bot * fy + (1 << 15)) >> 16) as u8;
        }
    }
    GrayImage::from_raw(nw as u32, nh as u32, out).unwrap_or_default()
}

/// The test pattern turned into each angle bin: per bin, 256 pairs of
/// (dx, dy) offsets.
type Pattern = Vec<[(i8, i8); 2]>;

fn patterns() -> &'static Vec<Pattern> {
    static PATTERNS: OnceLock<Vec<Pattern>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let base = base_pattern();
        (0..ANGLE_BINS)
            .map(|bin| {
                let a = bin as f32 * std::f32::consts::TAU / ANGLE_BINS as f32;
                let (s, c) = a.sin_cos();
                base.iter()
                    .map(|pair| {
                        pair.map(|(x, y)| {
                            let rx = c * x - s * y;
                            let ry = s * x + c * y;
                            (round_half_away(rx) as i8, round_half_away(ry) as i8)
                        })
                    })
                    .collect()
            })
            .collect()
    })
}

/// Rounds halves away from zero, so round(-v) = -round(v) and mirrored
/// patches sample mirrored pixels.
fn round_half_away(v: f32) -> f32 {
    v.signum() * (v.abs() + 0.5).floor()
}

/// 128 point pairs drawn from an isotropic Gaussian (σ = 6 px, within a
/// radius of 13) by a fixed generator, then the same pairs reflected top
/// to bottom: 256 tests.
fn base_pattern() -> Vec<[(f32, f32); 2]> {
    let mut rng = SplitMix(0x5eed_f1a5_7c0d_e5a1);
    let mut point = || loop {
        let (u1, u2) = (rng.unit().max(1e-12), rng.unit());
        let r = (-2.0 * u1.ln()).sqrt() * 6.0;
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        let (x, y) = ((r * c) as f32, (r * s) as f32);
        if x * x + y * y <= 13.0 * 13.0 {
            return (x, y);
        }
    };
    let mut first = Vec::with_capacity(128);
    while first.len() < 128 {
        let (p, q) = (point(), point());
        let d2 = (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2);
        if d2 >= 4.0 {
            first.push([p, q]);
        }
    }
    let flipped: Vec<_> = first
        .iter()
        .map(|pair| pair.map(|(x, y)| (x, -y)))
        .collect();
    first.into_iter().chain(flipped).collect()
}

/// The descriptor of the smoothed patch at (x, y), turned by `angle`.
fn describe(smooth: &GrayImage, x: usize, y: usize, angle: f32) -> Descriptor {
    let bin = ((angle / std::f32::consts::TAU * ANGLE_BINS as f32).round() as usize) % ANGLE_BINS;
    let pattern = &patterns()[bin];
    let w = smooth.width() as isize;
    let px = smooth.as_raw();
    let centre = y as isize * w + x as isize;
    let at = |(dx, dy): (i8, i8)| px[(centre + isize::from(dy) * w + isize::from(dx)) as usize];
    let mut d = [0u64; 4];
    for (k, pair) in pattern.iter().enumerate() {
        if at(pair[0]) < at(pair[1]) {
            d[k / 64] |= 1 << (k % 64);
        }
    }
    d
}

/// A small, fixed pseudo-random generator (SplitMix64), so patterns and
/// sampling are the same on every machine.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, RgbImage};

    /// A picture with blobs and edges at many scales.
    fn scene(w: u32, h: u32) -> GrayImage {
        let mut rng = SplitMix(7);
        let mut img = GrayImage::from_pixel(w, h, Luma([90]));
        for _ in 0..160 {
            let cx = rng.below(w as usize) as i32;
            let cy = rng.below(h as usize) as i32;
            let r = 3 + rng.below(25) as i32;
            let v = rng.below(256) as u8;
            for y in (cy - r).max(0)..(cy + r).min(h as i32) {
                for x in (cx - r).max(0)..(cx + r).min(w as i32) {
                    if (x - cx).pow(2) + (y - cy).pow(2) <= r * r || rng.below(9) == 0 && r < 6 {
                        img.put_pixel(x as u32, y as u32, Luma([v]));
                    }
                }
            }
        }
        img
    }

    #[test]
    fn a_query_looks_on_coarser_levels_and_a_stored_picture_does_not() {
        let img = scene(900, 640);
        let query = extract_gray_levels(&img, QUERY_POINTS, QUERY_LEVELS);
        assert!(
            query.points.iter().any(|p| usize::from(p.level) >= LEVELS),
            "no corner on the query's extra levels"
        );
        let kept = query.within_levels(LEVELS);
        assert!(!kept.is_empty() && kept.points.iter().all(|p| usize::from(p.level) < LEVELS));
        assert_eq!(kept.points.len(), kept.descriptors.len());
        assert!(
            extract_gray(&img, QUERY_POINTS)
                .points
                .iter()
                .all(|p| usize::from(p.level) < LEVELS)
        );
    }

    #[test]
    fn finds_spread_features_on_a_textured_picture() {
        let f = extract_gray(&scene(640, 480), STORED_POINTS);
        assert_eq!(f.len(), STORED_POINTS);
        let left = f.points.iter().filter(|p| p.x < 320.0).count();
        assert!(left > 40 && left < 120, "left half has {left}");
        assert!(f.points.iter().any(|p| p.level > 0));
    }

    #[test]
    fn flat_picture_has_none() {
        let flat = DynamicImage::ImageRgb8(RgbImage::from_pixel(500, 400, image::Rgb([9, 9, 9])));
        assert!(extract(&flat, 100).is_empty());
        let tiny = DynamicImage::ImageRgb8(RgbImage::new(3, 2));
        assert!(extract(&tiny, 100).is_empty());
    }

    #[test]
    fn mirrored_features_equal_features_of_the_mirrored_picture() {
        let img = scene(600, 400);
        let flipped = imageops::flip_horizontal(&img);
        let a = extract_gray(&img, 400).mirrored();
        let b = extract_gray(&flipped, 400);
        // Most mirrored corners have a twin with a near-equal descriptor.
        let mut close = 0;
        for (p, d) in a.points.iter().zip(&a.descriptors) {
            if b.points.iter().zip(&b.descriptors).any(|(q, e)| {
                (p.x - q.x).abs() < 1.0 && (p.y - q.y).abs() < 1.0 && distance(d, e) <= 24
            }) {
                close += 1;
            }
        }
        assert!(close * 10 >= a.len() * 8, "{close} of {}", a.len());
    }

    #[test]
    fn stored_form_round_trips_and_rejects_garbage() {
        let f = extract_gray(&scene(300, 500), 50);
        let bytes = f.to_bytes();
        assert_eq!(bytes.len(), HEADER + 38 * f.len());
        let back = Features::from_bytes(&bytes).unwrap();
        assert_eq!(back.len(), f.len());
        assert_eq!(back.descriptors, f.descriptors);
        for (a, b) in back.points.iter().zip(&f.points) {
            assert!((a.x - b.x).abs() <= 1.0 / 32.0 && (a.y - b.y).abs() <= 1.0 / 32.0);
            assert_eq!(a.level, b.level);
            let da = (a.angle - b.angle).abs();
            assert!(da.min(std::f32::consts::TAU - da) < 0.02);
        }
        assert!(Features::from_bytes(b"nope").is_err());
        assert!(Features::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut bad = bytes.clone();
        bad[HEADER + 5] = 200; // level
        assert!(Features::from_bytes(&bad).is_err());
    }

    #[test]
    fn arc_test() {
        assert!(has_arc9(0b1_1111_1111));
        assert!(has_arc9(0b1111_0000_0000_0001_1111 & 0xffff | 0xf000));
        assert!(!has_arc9(0b1111_1111));
        assert!(!has_arc9(0b0101_0101_0101_0101));
    }

    #[test]
    fn within_agrees_with_the_distance() {
        let mut rng = SplitMix(7);
        for _ in 0..20_000 {
            let a: Descriptor = std::array::from_fn(|_| rng.next_u64());
            // Flip a random number of random bits.
            let mut b = a;
            for _ in 0..rng.below(200) {
                let bit = rng.below(256);
                b[bit / 64] ^= 1 << (bit % 64);
            }
            let r = rng.below(257) as u32;
            assert_eq!(within(&a, &b, r), distance(&a, &b) <= r);
        }
    }

    #[test]
    fn every_arc_of_nine_passes_the_even_pixel_pre_test() {
        // The pre-test may only skip pixels that cannot be corners.
        let mut skipped = 0;
        for mask in 0..=u16::MAX {
            let even = (0..8).fold(0u8, |e, n| e | (((mask >> (2 * n)) & 1) as u8) << n);
            if has_arc9(u32::from(mask)) {
                assert!(has_run4(even), "{mask:016b}");
            } else if !has_run4(even) {
                skipped += 1;
            }
        }
        assert!(
            skipped > 30_000,
            "the pre-test should reject most masks: {skipped}"
        );
    }
}
