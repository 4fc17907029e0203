//! Second-stage confirmation: do two pictures show the same photograph,
//! and what was done to it?
//!
//! A candidate (nominated by a hash, a shared descriptor or a probe) is
//! confirmed only when many of the archived picture's features reappear
//! in the checked picture in one consistent geometric arrangement: a
//! similarity transform (scale, rotation, shift; mirrored copies through
//! [`Features::mirrored`]) fitted by RANSAC, with each corner's own
//! orientation agreeing with the fitted rotation, spread over the part of
//! the photograph both pictures show. Look-alikes (two photos of one
//! scene, two screenshots of one app) share corners only in places, so
//! they fail the spread test; unrelated pictures fail the count.
//!
//! The fitted transform then says, in the archived picture's terms,
//! which part of it is visible (a crop), how far it is turned, how much
//! of the checked picture it fills (a screenshot, a border, a collage)
//! and whether a band of it is covered (a banner, a caption bar).

use serde::Serialize;

use crate::hash::features::{self, Features, Keypoint, SplitMix};

/// Tuned limits of the confirmation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifyParams {
    /// Fewest geometrically consistent corners that confirm a match.
    pub min_inliers: usize,
    /// Largest descriptor distance (of 256) for a tentative pair.
    pub max_descriptor_distance: u32,
    /// A pair is kept only when its best distance is below this share of
    /// the second best (ambiguous corners are dropped).
    pub ratio: f32,
    /// Share of the textured cells of the shared area that must hold a
    /// consistent corner.
    pub min_spread: f32,
    /// RANSAC iterations.
    pub iterations: usize,
}

impl Default for VerifyParams {
    fn default() -> Self {
        VerifyParams {
            min_inliers: 12,
            max_descriptor_distance: 64,
            ratio: 0.8,
            min_spread: 0.4,
            iterations: 600,
        }
    }
}

/// A rectangle in fractions of a picture's width and height.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Region {
    /// Left edge, 0..1.
    pub left: f64,
    /// Top edge, 0..1.
    pub top: f64,
    /// Right edge, 0..1.
    pub right: f64,
    /// Bottom edge, 0..1.
    pub bottom: f64,
}

impl Region {
    /// The whole picture.
    pub const WHOLE: Region = Region {
        left: 0.0,
        top: 0.0,
        right: 1.0,
        bottom: 1.0,
    };

    /// Area as a share of the picture.
    pub fn area(&self) -> f64 {
        (self.right - self.left).max(0.0) * (self.bottom - self.top).max(0.0)
    }
}

/// A side of a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Top edge.
    Top,
    /// Bottom edge.
    Bottom,
    /// Left edge.
    Left,
    /// Right edge.
    Right,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Top => "top",
            Side::Bottom => "bottom",
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

/// How the checked picture shows the archived one, found by fitting
/// their features.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alignment {
    /// The checked picture shows the archived one mirrored left to right.
    pub mirrored: bool,
    /// Rotation in degrees as seen on screen, clockwise positive, in
    /// (-180, 180].
    pub rotation_degrees: f64,
    /// Checked-picture pixels per archived-picture pixel (full size).
    pub scale: f64,
    /// The part of the archived picture visible in the checked one.
    pub visible: Region,
    /// Where the archived picture lies in the checked one (clipped to it).
    pub placed: Region,
    /// Share of the checked picture's area the archived picture fills.
    pub fills: f64,
    /// A band of the visible part whose corners are all missing: covered
    /// by a banner, caption bar or sticker. Side and depth (share of the
    /// visible part).
    pub covered: Option<(Side, f64)>,
    /// Consistent corners found.
    pub inliers: usize,
    /// Tentative pairs tried.
    pub pairs: usize,
    /// Share of the shared area's textured cells holding a consistent
    /// corner.
    pub spread: f64,
}

/// One change the checked copy made to the archived picture.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "edit", rename_all = "kebab-case")]
pub enum Edit {
    /// Mirrored left to right.
    Mirrored,
    /// Turned by this many degrees, clockwise positive.
    Rotated {
        /// Degrees, clockwise positive.
        degrees: f64,
    },
    /// Only part of the archived picture is shown.
    Cropped {
        /// The part shown, in fractions of the archived picture.
        region: Region,
    },
    /// Scaled (only reported when nothing else changed the geometry).
    Scaled {
        /// Checked pixels per archived pixel.
        factor: f64,
    },
    /// Shown inside a larger picture: a screenshot, a border, a collage.
    Inside {
        /// Share of the checked picture it fills.
        fills: f64,
        /// Where it lies in the checked picture.
        region: Region,
    },
    /// A band along one side is covered (banner, caption bar, sticker).
    Covered {
        /// Which side.
        side: Side,
        /// Depth as a share of the visible picture.
        share: f64,
    },
}

impl Alignment {
    /// The edits this alignment shows, most telling first.
    pub fn edits(&self) -> Vec<Edit> {
        let mut out = Vec::new();
        if self.fills < 0.9 {
            out.push(Edit::Inside {
                fills: self.fills,
                region: self.placed,
            });
        }
        if self.visible.area() < 0.96 {
            out.push(Edit::Cropped {
                region: self.visible,
            });
        }
        if let Some((side, share)) = self.covered {
            out.push(Edit::Covered { side, share });
        }
        if self.mirrored {
            out.push(Edit::Mirrored);
        }
        if self.rotation_degrees.abs() >= 1.5 {
            out.push(Edit::Rotated {
                degrees: self.rotation_degrees,
            });
        }
        if out.is_empty() && (self.scale - 1.0).abs() > 0.05 {
            out.push(Edit::Scaled { factor: self.scale });
        }
        out
    }
}

/// A point on a working copy.
type Point = (f64, f64);

/// A similarity transform q = a·p + b on complex numbers (x + iy).
#[derive(Debug, Clone, Copy)]
struct Similarity {
    a: (f64, f64),
    b: (f64, f64),
}

impl Similarity {
    fn apply(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let (ar, ai) = self.a;
        (ar * x - ai * y + self.b.0, ai * x + ar * y + self.b.1)
    }

    fn inverse(&self) -> Option<Similarity> {
        let (ar, ai) = self.a;
        let n = ar * ar + ai * ai;
        if n < 1e-12 {
            return None;
        }
        let inv = (ar / n, -ai / n);
        let b = (
            -(inv.0 * self.b.0 - inv.1 * self.b.1),
            -(inv.1 * self.b.0 + inv.0 * self.b.1),
        );
        Some(Similarity { a: inv, b })
    }

    fn scale(&self) -> f64 {
        self.a.0.hypot(self.a.1)
    }

    fn angle(&self) -> f64 {
        self.a.1.atan2(self.a.0)
    }

    /// From two point pairs.
    fn from_two(p: [(f64, f64); 2], q: [(f64, f64); 2]) -> Option<Similarity> {
        let dp = (p[0].0 - p[1].0, p[0].1 - p[1].1);
        let dq = (q[0].0 - q[1].0, q[0].1 - q[1].1);
        let n = dp.0 * dp.0 + dp.1 * dp.1;
        if n < 4.0 {
            return None;
        }
        // a = dq / dp
        let a = (
            (dq.0 * dp.0 + dq.1 * dp.1) / n,
            (dq.1 * dp.0 - dq.0 * dp.1) / n,
        );
        let b = (
            q[0].0 - (a.0 * p[0].0 - a.1 * p[0].1),
            q[0].1 - (a.1 * p[0].0 + a.0 * p[0].1),
        );
        Some(Similarity { a, b })
    }

    /// Least squares over many pairs.
    fn fit(pairs: &[(Point, Point)]) -> Option<Similarity> {
        let n = pairs.len() as f64;
        if pairs.len() < 2 {
            return None;
        }
        let (mut px, mut py, mut qx, mut qy) = (0.0, 0.0, 0.0, 0.0);
        for &(p, q) in pairs {
            px += p.0;
            py += p.1;
            qx += q.0;
            qy += q.1;
        }
        let (px, py, qx, qy) = (px / n, py / n, qx / n, qy / n);
        let (mut num_r, mut num_i, mut den) = (0.0, 0.0, 0.0);
        for &(p, q) in pairs {
            let (ux, uy) = (p.0 - px, p.1 - py);
            let (vx, vy) = (q.0 - qx, q.1 - qy);
            // Σ v · conj(u)
            num_r += vx * ux + vy * uy;
            num_i += vy * ux - vx * uy;
            den += ux * ux + uy * uy;
        }
        if den < 1e-9 {
            return None;
        }
        let a = (num_r / den, num_i / den);
        let b = (qx - (a.0 * px - a.1 * py), qy - (a.1 * px + a.0 * py));
        Some(Similarity { a, b })
    }
}

/// A tentative pair: index into the archived features, into the query's.
type Pair = (usize, usize);

/// Nearest query descriptors kept per archived one: the runner-up for
/// the ratio test is almost always among them.
const KEEP: usize = 4;

/// Per archived descriptor, its [`KEEP`] nearest query descriptors
/// (distance, index; nearest first, the earlier one on a tie; index
/// `usize::MAX` where the query has fewer).
type Nearest = Vec<[(u32, usize); KEEP]>;

fn nearest(archived: &Features, query: &Features) -> Nearest {
    archived
        .descriptors
        .iter()
        .map(|d| {
            let mut near = [(u32::MAX, usize::MAX); KEEP];
            for (j, e) in query.descriptors.iter().enumerate() {
                let dist = features::distance(d, e);
                if dist < near[KEEP - 1].0 {
                    let mut k = KEEP - 1;
                    while k > 0 && near[k - 1].0 > dist {
                        near[k] = near[k - 1];
                        k -= 1;
                    }
                    near[k] = (dist, j);
                }
            }
            near
        })
        .collect()
}

/// Tentative pairs: for each archived feature, its nearest query feature
/// when it is close and clearly nearer than the nearest one elsewhere
/// (the same corner found twice, at two scales, is not a rival).
fn tentative_pairs(
    archived: &Features,
    query: &Features,
    nearest: &Nearest,
    params: &VerifyParams,
) -> Vec<Pair> {
    let mut out = Vec::new();
    let far = |b: &Keypoint, q: &Keypoint| (q.x - b.x).abs() > 6.0 || (q.y - b.y).abs() > 6.0;
    for (i, (d, near)) in archived.descriptors.iter().zip(nearest).enumerate() {
        let (best, at) = near[0];
        if at == usize::MAX || best > params.max_descriptor_distance {
            continue;
        }
        let b = query.points[at];
        // The nearest descriptor of a corner elsewhere (not the same
        // place at another scale): among the kept ones when any is
        // elsewhere, since every other is at least as far as they are.
        let second = match near[1..]
            .iter()
            .filter(|&&(_, j)| j != usize::MAX)
            .find(|&&(_, j)| far(&b, &query.points[j]))
        {
            Some(&(dist, _)) => dist,
            None if near[KEEP - 1].1 == usize::MAX => u32::MAX,
            None => query
                .descriptors
                .iter()
                .zip(&query.points)
                .filter(|(_, q)| far(&b, q))
                .map(|(e, _)| features::distance(d, e))
                .min()
                .unwrap_or(u32::MAX),
        };
        if second == u32::MAX || (best as f32) < params.ratio * second as f32 {
            out.push((i, at));
        }
    }
    out
}

fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(std::f64::consts::TAU);
    d.min(std::f64::consts::TAU - d)
}

/// Largest angle between a pair's own orientations and the fitted
/// rotation.
const MAX_ANGLE_ERROR: f64 = 0.45;

/// Tries to confirm that `query` shows the picture `archived` describes.
/// `query` is tried as it is and mirrored.
pub fn verify(archived: &Features, query: &Features, params: &VerifyParams) -> Option<Alignment> {
    verify_both(archived, query, &query.mirrored(), params)
}

/// [`verify`] with the query's mirrored features given
/// ([`Features::mirrored`]), for a query checked against many pictures.
pub fn verify_both(
    archived: &Features,
    query: &Features,
    mirrored_query: &Features,
    params: &VerifyParams,
) -> Option<Alignment> {
    verify_voted(archived, query, mirrored_query, params, 0)
}

/// [`verify_both`] of an archived picture that must first have `votes`
/// features within `vote_distance` of the query's or its mirrored
/// features (the linear vote, [`super::features::vote_count`]), counted
/// from the same nearest-neighbour pass the verification pairs come
/// from, so a shortlisted picture's descriptors are compared once.
pub fn verify_voted(
    archived: &Features,
    query: &Features,
    mirrored_query: &Features,
    params: &VerifyParams,
    votes: usize,
) -> Option<Alignment> {
    let straight = nearest(archived, query);
    let mirrored = nearest(archived, mirrored_query);
    if votes > 0 {
        let voted = straight
            .iter()
            .zip(&mirrored)
            .filter(|(a, b)| a[0].0.min(b[0].0) <= super::VOTE_DISTANCE)
            .count();
        if voted < votes {
            return None;
        }
    }
    let a = verify_one(archived, query, &straight, false, params);
    let b = verify_one(archived, mirrored_query, &mirrored, true, params);
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.inliers > a.inliers { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn verify_one(
    archived: &Features,
    query: &Features,
    nearest: &Nearest,
    mirrored: bool,
    params: &VerifyParams,
) -> Option<Alignment> {
    let pairs = tentative_pairs(archived, query, nearest, params);
    if pairs.len() < params.min_inliers {
        return None;
    }
    let pt = |f: &Features, i: usize| (f64::from(f.points[i].x), f64::from(f.points[i].y));
    let tol = |j: usize| 3.0 * f64::from(query.points[j].scale());
    let consistent = |s: &Similarity, &(i, j): &Pair| {
        let p = s.apply(pt(archived, i));
        let q = pt(query, j);
        let e2 = (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2);
        let t = tol(j);
        if e2 > t * t {
            return false;
        }
        let own = f64::from(query.points[j].angle) - f64::from(archived.points[i].angle);
        angle_diff(own, s.angle()) <= MAX_ANGLE_ERROR
    };
    let mut rng = SplitMix(0x00dd_ba11 ^ pairs.len() as u64);
    let mut best: Vec<Pair> = Vec::new();
    for _ in 0..params.iterations {
        let x = pairs[rng.below(pairs.len())];
        let y = pairs[rng.below(pairs.len())];
        if x.0 == y.0 || x.1 == y.1 {
            continue;
        }
        let Some(s) = Similarity::from_two(
            [pt(archived, x.0), pt(archived, y.0)],
            [pt(query, x.1), pt(query, y.1)],
        ) else {
            continue;
        };
        let sc = s.scale();
        if !(0.02..=50.0).contains(&sc) {
            continue;
        }
        // Both samples must agree with their own orientations.
        if !consistent(&s, &x) || !consistent(&s, &y) {
            continue;
        }
        let inl: Vec<Pair> = pairs
            .iter()
            .copied()
            .filter(|p| consistent(&s, p))
            .collect();
        if inl.len() > best.len() {
            best = inl;
            if best.len() * 10 >= pairs.len() * 8 {
                break;
            }
        }
    }
    if best.len() < params.min_inliers {
        return None;
    }
    // Refine on the inliers, twice.
    let mut model = None;
    for _ in 0..2 {
        let pts: Vec<_> = best
            .iter()
            .map(|&(i, j)| (pt(archived, i), pt(query, j)))
            .collect();
        let Some(s) = Similarity::fit(&pts) else {
            break;
        };
        let again: Vec<Pair> = pairs
            .iter()
            .copied()
            .filter(|p| consistent(&s, p))
            .collect();
        model = Some(s);
        if again.len() < params.min_inliers {
            return None;
        }
        best = again;
    }
    let s = model?;
    // One query corner should explain one archived corner.
    let mut used_q: Vec<usize> = best.iter().map(|p| p.1).collect();
    used_q.sort_unstable();
    used_q.dedup();
    if used_q.len() < params.min_inliers {
        return None;
    }
    alignment(archived, query, &s, &best, pairs.len(), mirrored, params)
}

fn alignment(
    archived: &Features,
    query: &Features,
    s: &Similarity,
    inliers: &[Pair],
    pairs: usize,
    mirrored: bool,
    params: &VerifyParams,
) -> Option<Alignment> {
    let (aw, ah) = (f64::from(archived.width), f64::from(archived.height));
    let (qw, qh) = (f64::from(query.width), f64::from(query.height));
    let inv = s.inverse()?;
    // The query's corners in archived coordinates: the visible part.
    let corners = [(0.0, 0.0), (qw, 0.0), (0.0, qh), (qw, qh)].map(|c| inv.apply(c));
    let visible = clip_box(&corners, aw, ah)?;
    // The archived picture's corners in query coordinates: where it lies.
    let placed_pts = [(0.0, 0.0), (aw, 0.0), (0.0, ah), (aw, ah)].map(|c| s.apply(c));
    let placed = clip_box(&placed_pts, qw, qh)?;
    let fills = placed.area().min(1.0);

    // Spread: cells of the visible part (4×4) that hold archived corners
    // must mostly hold a consistent one.
    const CELLS: usize = 4;
    let cell_of = |x: f64, y: f64| -> Option<usize> {
        let fx = (x / aw - visible.left) / (visible.right - visible.left);
        let fy = (y / ah - visible.top) / (visible.bottom - visible.top);
        if !(0.0..1.0).contains(&fx) || !(0.0..1.0).contains(&fy) {
            return None;
        }
        Some((fy * CELLS as f64) as usize * CELLS + (fx * CELLS as f64) as usize)
    };
    let mut textured = [false; CELLS * CELLS];
    let mut hit = [false; CELLS * CELLS];
    for p in &archived.points {
        if let Some(c) = cell_of(f64::from(p.x), f64::from(p.y)) {
            textured[c] = true;
        }
    }
    for &(i, _) in inliers {
        let p = archived.points[i];
        if let Some(c) = cell_of(f64::from(p.x), f64::from(p.y)) {
            hit[c] = true;
        }
    }
    let n_textured = textured.iter().filter(|&&t| t).count();
    let n_hit = hit
        .iter()
        .zip(&textured)
        .filter(|(h, t)| **h && **t)
        .count();
    let spread = n_hit as f64 / n_textured.max(1) as f64;
    if spread < f64::from(params.min_spread) || n_hit < 3 {
        return None;
    }

    let covered = covered_band(archived, inliers, &visible, aw, ah);

    // Full-size scale: query full px per archived full px.
    let ka = aw / f64::from(archived.source_width.max(1));
    let kq = qw / f64::from(query.source_width.max(1));
    let scale = s.scale() * ka / kq;
    // Image axes have y down, so a positive angle turns clockwise on
    // screen. A mirrored match was fitted against the mirrored query, so
    // the query itself is turned the other way.
    let mut deg = s.angle().to_degrees();
    if mirrored {
        deg = -deg;
    }
    if deg <= -180.0 {
        deg += 360.0;
    }
    let (visible, placed) = if mirrored {
        (
            visible,
            Region {
                left: 1.0 - placed.right,
                right: 1.0 - placed.left,
                ..placed
            },
        )
    } else {
        (visible, placed)
    };
    Some(Alignment {
        mirrored,
        rotation_degrees: deg,
        scale,
        visible,
        placed,
        fills,
        covered,
        inliers: inliers.len(),
        pairs,
        spread,
    })
}

/// Bounding box of `pts` clipped to a w×h picture, in fractions.
fn clip_box(pts: &[(f64, f64); 4], w: f64, h: f64) -> Option<Region> {
    let min_x = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let max_x = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let min_y = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let max_y = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let r = Region {
        left: (min_x / w).clamp(0.0, 1.0),
        top: (min_y / h).clamp(0.0, 1.0),
        right: (max_x / w).clamp(0.0, 1.0),
        bottom: (max_y / h).clamp(0.0, 1.0),
    };
    (r.right - r.left > 0.01 && r.bottom - r.top > 0.01).then_some(r)
}

/// A band along one side of the visible part where the archived picture
/// has corners but none reappears, while elsewhere many do: so unlikely
/// by chance (probability under one in a million) that the band must be
/// covered.
fn covered_band(
    archived: &Features,
    inliers: &[Pair],
    visible: &Region,
    aw: f64,
    ah: f64,
) -> Option<(Side, f64)> {
    let mut is_inlier = vec![false; archived.len()];
    for &(i, _) in inliers {
        is_inlier[i] = true;
    }
    // Each visible archived corner: its position from each side (0..1).
    // Each visible archived corner: its position from each side (0..1),
    // whether it reappears, and its patch radius in those units (a corner
    // whose patch reaches under the cover is lost too).
    let (vw, vh) = (
        (visible.right - visible.left) * aw,
        (visible.bottom - visible.top) * ah,
    );
    let mut pos: Vec<([f64; 4], bool, [f64; 4])> = Vec::new();
    for (i, p) in archived.points.iter().enumerate() {
        let fx = (f64::from(p.x) / aw - visible.left) / (visible.right - visible.left);
        let fy = (f64::from(p.y) / ah - visible.top) / (visible.bottom - visible.top);
        if (0.0..=1.0).contains(&fx) && (0.0..=1.0).contains(&fy) {
            let r = 15.0 * f64::from(p.scale());
            let (ry, rx) = (r / vh.max(1.0), r / vw.max(1.0));
            pos.push(([fy, 1.0 - fy, fx, 1.0 - fx], is_inlier[i], [ry, ry, rx, rx]));
        }
    }
    let total_in = pos.iter().filter(|p| p.1).count();
    let mut best: Option<(Side, f64, f64)> = None;
    for (k, side) in [Side::Top, Side::Bottom, Side::Left, Side::Right]
        .into_iter()
        .enumerate()
    {
        // The band reaches to the nearest consistent corner.
        let (depth, reach) = pos
            .iter()
            .filter(|p| p.1)
            .map(|p| (p.0[k], p.2[k]))
            .fold((1.0_f64, 0.0), |a, b| if b.0 < a.0 { b } else { a });
        if !(0.06..=0.6).contains(&depth) {
            continue;
        }
        let in_band = pos.iter().filter(|p| p.0[k] < depth).count();
        let outside = pos.len() - in_band;
        if outside == 0 || in_band < 10 {
            continue;
        }
        let rate = total_in as f64 / outside as f64;
        let chance = (1.0 - rate.min(0.95)).powi(in_band as i32);
        // The cover ends about a patch radius short of the nearest
        // consistent corner (whose patch it does not touch).
        let edge = depth - reach;
        if chance < 1e-6 && edge >= 0.05 && best.is_none_or(|b| chance < b.2) {
            best = Some((side, edge, chance));
        }
    }
    best.map(|(s, d, _)| (s, (d * 100.0).round() / 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::features::{QUERY_POINTS, STORED_POINTS, extract_gray};
    use image::{GrayImage, Luma, imageops};

    fn scene(w: u32, h: u32, seed: u64) -> GrayImage {
        let mut rng = SplitMix(seed);
        let mut img = GrayImage::from_fn(w, h, |x, y| Luma([((x / 7 + y / 5) % 40 + 80) as u8]));
        for _ in 0..220 {
            let cx = rng.below(w as usize) as i32;
            let cy = rng.below(h as usize) as i32;
            let r = 3 + rng.below(22) as i32;
            let v = rng.below(256) as u8;
            for y in (cy - r).max(0)..(cy + r).min(h as i32) {
                for x in (cx - r).max(0)..(cx + r).min(w as i32) {
                    if (x - cx).abs() + (y - cy).abs() <= r {
                        img.put_pixel(x as u32, y as u32, Luma([v]));
                    }
                }
            }
        }
        img
    }

    fn check(a: &GrayImage, q: &GrayImage) -> Option<Alignment> {
        let fa = extract_gray(a, STORED_POINTS);
        let fq = extract_gray(q, QUERY_POINTS);
        verify(&fa, &fq, &VerifyParams::default())
    }

    #[test]
    fn same_picture_and_mirror_are_confirmed() {
        let a = scene(800, 600, 1);
        let m = check(&a, &a).unwrap();
        assert!(!m.mirrored && m.rotation_degrees.abs() < 1.0 && m.fills > 0.95);
        let flipped = imageops::flip_horizontal(&a);
        let m = check(&a, &flipped).unwrap();
        assert!(m.mirrored, "{m:?}");
    }

    #[test]
    fn crop_is_confirmed_and_described() {
        let a = scene(900, 600, 2);
        let crop = imageops::crop_imm(&a, 0, 0, 560, 480).to_image();
        let m = check(&a, &crop).unwrap();
        assert!((m.visible.right - 560.0 / 900.0).abs() < 0.03, "{m:?}");
        assert!((m.visible.bottom - 0.8).abs() < 0.03, "{m:?}");
        let words = crate::report::wording::edits(&m.edits());
        assert!(
            words.contains("cropped to its left 62% and top 80%"),
            "{words}"
        );
    }

    #[test]
    fn unrelated_pictures_are_not_confirmed() {
        for seed in 10..16 {
            let a = scene(700, 500, seed);
            let b = scene(700, 500, seed + 100);
            assert!(check(&a, &b).is_none(), "seed {seed}");
        }
    }

    #[test]
    fn placed_inside_a_larger_canvas() {
        let a = scene(600, 400, 3);
        let mut canvas = GrayImage::from_pixel(700, 1400, Luma([250]));
        let small = imageops::resize(&a, 540, 360, imageops::FilterType::Triangle);
        imageops::overlay(&mut canvas, &small, 80, 500);
        let m = check(&a, &canvas).unwrap();
        assert!(
            (m.fills - 540.0 * 360.0 / (700.0 * 1400.0)).abs() < 0.03,
            "{m:?}"
        );
        assert!((m.scale - 0.9).abs() < 0.05, "{m:?}");
        assert!(
            crate::report::wording::edits(&m.edits()).contains("shown inside a larger picture")
        );
    }
}
