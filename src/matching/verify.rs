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
    /// When the checked picture shows the archived one in perspective (a
    /// screen or print photographed at an angle): where the archived
    /// picture's corners (top left, top right, bottom right, bottom
    /// left) lie in the checked picture, in fractions of its width and
    /// height (they may lie outside it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perspective: Option<[(f64, f64); 4]>,
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
    /// Photographed at an angle: a screen or print showing the picture,
    /// seen in perspective.
    Perspective {
        /// The archived picture's corners in the checked picture (top
        /// left, top right, bottom right, bottom left; fractions).
        corners: [(f64, f64); 4],
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
        if let Some(corners) = self.perspective {
            out.push(Edit::Perspective { corners });
        }
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

/// A plane projective transform (homography) q ~ H·p, row-major with
/// the last entry 1: how a flat picture (a screen, a print) looks when
/// photographed at an angle.
#[derive(Debug, Clone, Copy)]
struct Homography([f64; 9]);

impl Homography {
    /// Where `p` lands; None behind the camera (or at infinity).
    fn apply(&self, (x, y): Point) -> Option<Point> {
        let h = &self.0;
        let w = h[6] * x + h[7] * y + h[8];
        (w > 1e-9).then(|| {
            (
                (h[0] * x + h[1] * y + h[2]) / w,
                (h[3] * x + h[4] * y + h[5]) / w,
            )
        })
    }

    /// The derivative at `p` (a local linear map: [a b; c d] row-major).
    fn jacobian(&self, (x, y): Point) -> Option<[f64; 4]> {
        let h = &self.0;
        let w = h[6] * x + h[7] * y + h[8];
        if w <= 1e-9 {
            return None;
        }
        let u = (h[0] * x + h[1] * y + h[2]) / w;
        let v = (h[3] * x + h[4] * y + h[5]) / w;
        Some([
            (h[0] - u * h[6]) / w,
            (h[1] - u * h[7]) / w,
            (h[3] - v * h[6]) / w,
            (h[4] - v * h[7]) / w,
        ])
    }

    fn inverse(&self) -> Option<Homography> {
        let h = &self.0;
        let adj = [
            h[4] * h[8] - h[5] * h[7],
            h[2] * h[7] - h[1] * h[8],
            h[1] * h[5] - h[2] * h[4],
            h[5] * h[6] - h[3] * h[8],
            h[0] * h[8] - h[2] * h[6],
            h[2] * h[3] - h[0] * h[5],
            h[3] * h[7] - h[4] * h[6],
            h[1] * h[6] - h[0] * h[7],
            h[0] * h[4] - h[1] * h[3],
        ];
        let det = h[0] * adj[0] + h[1] * adj[3] + h[2] * adj[6];
        if det.abs() < 1e-12 || adj[8].abs() < 1e-12 {
            return None;
        }
        Some(Homography(adj.map(|v| v / adj[8])))
    }

    /// Least squares (of the algebraic error, on coordinates centred and
    /// scaled for conditioning) over at least four pairs; exact for four.
    fn fit(pairs: &[(Point, Point)]) -> Option<Homography> {
        if pairs.len() < 4 {
            return None;
        }
        let norm = |pts: &mut dyn Iterator<Item = Point>| {
            let v: Vec<Point> = pts.collect();
            let n = v.len() as f64;
            let (cx, cy) = v
                .iter()
                .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
            let d = v.iter().map(|p| (p.0 - cx).hypot(p.1 - cy)).sum::<f64>() / n;
            (d > 1e-9).then(|| (cx, cy, std::f64::consts::SQRT_2 / d))
        };
        let (pcx, pcy, ps) = norm(&mut pairs.iter().map(|p| p.0))?;
        let (qcx, qcy, qs) = norm(&mut pairs.iter().map(|p| p.1))?;
        // Normal equations of the eight unknowns.
        let mut m = [[0.0f64; 9]; 8];
        for &(p, q) in pairs {
            let (x, y) = ((p.0 - pcx) * ps, (p.1 - pcy) * ps);
            let (u, v) = ((q.0 - qcx) * qs, (q.1 - qcy) * qs);
            for row in [
                [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u],
                [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v],
            ] {
                for i in 0..8 {
                    for j in 0..9 {
                        m[i][j] += row[i] * row[j];
                    }
                }
            }
        }
        let n = solve8(m)?;
        // Undo the normalisation: H = Tq⁻¹ · N · Tp.
        let tp = [ps, 0.0, -ps * pcx, 0.0, ps, -ps * pcy, 0.0, 0.0, 1.0];
        let tq_inv = [1.0 / qs, 0.0, qcx, 0.0, 1.0 / qs, qcy, 0.0, 0.0, 1.0];
        let h = mul3(&tq_inv, &mul3(&n, &tp));
        if h[8].abs() < 1e-12 {
            return None;
        }
        Some(Homography(h.map(|v| v / h[8])))
    }
}

/// The homography taking the four points `from` to `to` (row-major 3×3,
/// the last entry 1), or None when three of either lie in a line.
pub fn homography(from: [(f64, f64); 4], to: [(f64, f64); 4]) -> Option<[f64; 9]> {
    if !spread_out(&from) || !spread_out(&to) {
        return None;
    }
    Homography::fit(&std::array::from_fn::<_, 4, _>(|k| (from[k], to[k]))).map(|h| h.0)
}

/// Where the homography `h` ([`homography`]) takes `p`; None behind the
/// camera.
pub fn project(h: &[f64; 9], p: (f64, f64)) -> Option<(f64, f64)> {
    Homography(*h).apply(p)
}

fn mul3(a: &[f64; 9], b: &[f64; 9]) -> [f64; 9] {
    let mut out = [0.0; 9];
    for r in 0..3 {
        for c in 0..3 {
            out[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
        }
    }
    out
}

/// Solves eight linear equations (augmented rows) by elimination with
/// partial pivoting; the result as a homography with its last entry 1.
fn solve8(mut m: [[f64; 9]; 8]) -> Option<[f64; 9]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-10 {
            return None;
        }
        m.swap(col, pivot);
        let p = m[col][col];
        for v in &mut m[col][col..] {
            *v /= p;
        }
        let pivot_row = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            let f = row[col];
            if r != col && f != 0.0 {
                for (v, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *v -= f * p;
                }
            }
        }
    }
    let mut h = [1.0; 9];
    for (k, row) in m.iter().enumerate() {
        h[k] = row[8];
    }
    Some(h)
}

/// The fitted transform from archived to query coordinates.
#[derive(Debug, Clone, Copy)]
enum Model {
    Similar(Similarity),
    /// A homography, its inverse, and the similarity nearest it over the
    /// consistent pairs (for the rotation and scale reported).
    Perspective(Homography, Homography, Similarity),
}

impl Model {
    fn apply(&self, p: Point) -> Option<Point> {
        match self {
            Model::Similar(s) => Some(s.apply(p)),
            Model::Perspective(h, _, _) => h.apply(p),
        }
    }

    fn apply_inverse(&self, p: Point) -> Option<Point> {
        match self {
            Model::Similar(s) => Some(s.inverse()?.apply(p)),
            Model::Perspective(_, inv, _) => inv.apply(p),
        }
    }

    fn similarity(&self) -> &Similarity {
        match self {
            Model::Similar(s) | Model::Perspective(_, _, s) => s,
        }
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
    let (best, model) = fit_similarity(archived, query, &pairs, params);
    if let Some(s) = model {
        let found = alignment(
            archived,
            query,
            &Model::Similar(s),
            &best,
            &pairs,
            mirrored,
            params,
        );
        if found.is_some() {
            // Refined to a homography when one explains clearly more
            // pairs (a screen seen a little from the side fits a
            // similarity in its middle only).
            if pairs.len() >= best.len() + 4
                && let Some((inliers, h)) =
                    fit_perspective(archived, query, &pairs, &best, params, true)
                && inliers.len() * 4 >= best.len() * 5 + 8
                && let Some(better) =
                    alignment(archived, query, &h, &inliers, &pairs, mirrored, params)
            {
                return Some(better);
            }
            return found;
        }
    }
    // A flat picture photographed at an angle is nearly a similarity in
    // places: where one explains part of the pairs, a homography may
    // explain them all.
    if best.len() * 2 >= params.min_inliers
        && pairs.len() >= PERSPECTIVE_MIN_INLIERS
        && let Some((inliers, h)) = fit_perspective(archived, query, &pairs, &best, params, true)
        && let Some(found) = alignment(archived, query, &h, &inliers, &pairs, mirrored, params)
    {
        return Some(found);
    }
    // Foreshortening changes the corners' descriptors: pairs again with
    // looser limits, held to a homography all the same.
    let loose = VerifyParams {
        max_descriptor_distance: PERSPECTIVE_DESCRIPTOR_DISTANCE,
        ratio: PERSPECTIVE_RATIO,
        ..*params
    };
    let pairs = tentative_pairs(archived, query, nearest, &loose);
    if pairs.len() < PERSPECTIVE_MIN_INLIERS {
        return None;
    }
    let (best, _) = fit_similarity(archived, query, &pairs, params);
    if best.len() * 2 < params.min_inliers {
        return None;
    }
    let (inliers, h) = fit_perspective(archived, query, &pairs, &best, params, false)?;
    alignment(archived, query, &h, &inliers, &pairs, mirrored, params)
}

/// Largest descriptor distance of a tentative pair when a match in
/// perspective is sought with looser limits.
const PERSPECTIVE_DESCRIPTOR_DISTANCE: u32 = 80;

/// The ratio test's limit then.
const PERSPECTIVE_RATIO: f32 = 0.9;

fn pt(f: &Features, i: usize) -> Point {
    (f64::from(f.points[i].x), f64::from(f.points[i].y))
}

/// How far a query corner may lie from where a transform puts it.
fn tolerance(query: &Features, j: usize) -> f64 {
    3.0 * f64::from(query.points[j].scale())
}

/// RANSAC over similarities (two pairs each), refined twice by least
/// squares: the largest consistent set of pairs, and the refined model
/// when that set is large enough to confirm.
fn fit_similarity(
    archived: &Features,
    query: &Features,
    pairs: &[Pair],
    params: &VerifyParams,
) -> (Vec<Pair>, Option<Similarity>) {
    let consistent = |s: &Similarity, &(i, j): &Pair| {
        let p = s.apply(pt(archived, i));
        let q = pt(query, j);
        let e2 = (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2);
        let t = tolerance(query, j);
        if e2 > t * t {
            return false;
        }
        let own = f64::from(query.points[j].angle) - f64::from(archived.points[i].angle);
        angle_diff(own, s.angle()) <= MAX_ANGLE_ERROR
            && level_fits(archived, query, (i, j), s.scale())
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
        return (best, None);
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
            return (again, None);
        }
        best = again;
    }
    // One query corner should explain one archived corner.
    if distinct_query_corners(&best) < params.min_inliers {
        return (best, None);
    }
    (best, model)
}

/// A query corner on one of the extra pyramid levels a query has
/// ([`features::QUERY_LEVELS`]) pairs with an archived one only where
/// the transform enlarges the archived picture (its `scale`, in working
/// pixels, at least one level step) by about the levels between them:
/// those levels are there for close-ups such as small crops, and give
/// no second chance to a corner of a picture shown at its own size.
fn level_fits(archived: &Features, query: &Features, (i, j): Pair, scale: f64) -> bool {
    let (a, q) = (archived.points[i].level, query.points[j].level);
    if usize::from(q) < features::LEVELS {
        return true;
    }
    let step = f64::from(features::LEVEL_SCALE).ln();
    scale >= f64::from(features::LEVEL_SCALE)
        && ((f64::from(q) - f64::from(a)) - scale.ln() / step).abs() <= 1.5
}

fn distinct_query_corners(pairs: &[Pair]) -> usize {
    let mut used: Vec<usize> = pairs.iter().map(|p| p.1).collect();
    used.sort_unstable();
    used.dedup();
    used.len()
}

/// Fewest consistent pairs that confirm a match in perspective (a
/// homography has eight degrees of freedom to a similarity's four).
const PERSPECTIVE_MIN_INLIERS: usize = 16;

/// Least share of the archived picture a match in perspective shows.
const PERSPECTIVE_MIN_VISIBLE: f64 = 0.8;

/// RANSAC iterations for a homography (four pairs each; fewer when the
/// consistent share found so far makes more needless).
const PERSPECTIVE_ITERATIONS: usize = 1500;

/// Largest ratio of a homography's stretch in one direction to the
/// other, anywhere on the archived picture: a screen seen at up to about
/// 65° from straight on.
const MAX_ANISOTROPY: f64 = 2.5;

/// Largest ratio between the scales a homography gives the archived
/// picture's corners (its near side to its far side).
const MAX_SCALE_SPREAD: f64 = 2.5;

/// RANSAC over homographies (four pairs each; half the samples drawn
/// from `seed`, the pairs a similarity explains), each pair held to its
/// position and its own orientation turned by the homography's local
/// rotation, refined by least squares on the consistent pairs; kept only
/// when well conditioned (see [`well_conditioned`]). A homography that
/// is nearly a similarity gives that similarity when `or_similar` (pairs
/// under the usual limits), nothing otherwise (looser pairs confirm a
/// view in perspective only).
fn fit_perspective(
    archived: &Features,
    query: &Features,
    pairs: &[Pair],
    seed: &[Pair],
    params: &VerifyParams,
    or_similar: bool,
) -> Option<(Vec<Pair>, Model)> {
    let consistent = |h: &Homography, &(i, j): &Pair| {
        let p = pt(archived, i);
        let Some(m) = h.apply(p) else {
            return false;
        };
        let q = pt(query, j);
        let t = tolerance(query, j);
        if (m.0 - q.0).powi(2) + (m.1 - q.1).powi(2) > t * t {
            return false;
        }
        let Some(jac) = h.jacobian(p) else {
            return false;
        };
        let local = (jac[0] * jac[3] - jac[1] * jac[2]).abs().sqrt();
        if !level_fits(archived, query, (i, j), local) {
            return false;
        }
        let (sin, cos) = f64::from(archived.points[i].angle).sin_cos();
        let turned = (jac[2] * cos + jac[3] * sin).atan2(jac[0] * cos + jac[1] * sin);
        angle_diff(f64::from(query.points[j].angle), turned) <= MAX_ANGLE_ERROR
    };
    let min = params.min_inliers.max(PERSPECTIVE_MIN_INLIERS);
    let mut rng = SplitMix(0x000b_119e ^ pairs.len() as u64);
    let mut best: Vec<Pair> = Vec::new();
    let mut needed = PERSPECTIVE_ITERATIONS;
    let mut it = 0;
    while it < needed {
        it += 1;
        let mut sample = [(0usize, 0usize); 4];
        for (k, s) in sample.iter_mut().enumerate() {
            *s = if k < 2 && !seed.is_empty() {
                seed[rng.below(seed.len())]
            } else {
                pairs[rng.below(pairs.len())]
            };
        }
        if !spread_out(&sample.map(|(i, _)| pt(archived, i)))
            || !spread_out(&sample.map(|(_, j)| pt(query, j)))
        {
            continue;
        }
        let Some(h) = Homography::fit(&sample.map(|(i, j)| (pt(archived, i), pt(query, j)))) else {
            continue;
        };
        if !sample.iter().all(|p| consistent(&h, p)) {
            continue;
        }
        let inl: Vec<Pair> = pairs
            .iter()
            .copied()
            .filter(|p| consistent(&h, p))
            .collect();
        if inl.len() > best.len() {
            best = inl;
            // Enough samples to draw four consistent pairs at least once
            // with 99% confidence.
            let w = best.len() as f64 / pairs.len() as f64;
            let k = (0.01f64.ln() / (1.0 - w.powi(4)).max(1e-12).ln()).ceil();
            needed = needed.min(k.max(50.0) as usize);
        }
    }
    if best.len() < min {
        return None;
    }
    let mut model = None;
    for _ in 0..3 {
        let pts: Vec<_> = best
            .iter()
            .map(|&(i, j)| (pt(archived, i), pt(query, j)))
            .collect();
        let h = Homography::fit(&pts)?;
        let again: Vec<Pair> = pairs
            .iter()
            .copied()
            .filter(|p| consistent(&h, p))
            .collect();
        if again.len() < min {
            return None;
        }
        model = Some(h);
        best = again;
    }
    let h = model?;
    let (aw, ah) = (f64::from(archived.width), f64::from(archived.height));
    if distinct_query_corners(&best) < min || !well_conditioned(&h, aw, ah) {
        return None;
    }
    let inverse = h.inverse()?;
    let pts: Vec<_> = best
        .iter()
        .map(|&(i, j)| (pt(archived, i), pt(query, j)))
        .collect();
    let near = Similarity::fit(&pts)?;
    // A homography that is nearly a similarity says nothing more.
    let reach = f64::from(query.width).hypot(f64::from(query.height));
    let departs = [(0.0, 0.0), (aw, 0.0), (aw, ah), (0.0, ah)]
        .iter()
        .any(|&c| {
            h.apply(c).is_some_and(|m| {
                let s = near.apply(c);
                (m.0 - s.0).hypot(m.1 - s.1) > PERSPECTIVE_DEPARTS * reach
            })
        });
    if departs {
        return Some((best, Model::Perspective(h, inverse, near)));
    }
    if !or_similar {
        return None;
    }
    // Nearly a similarity: the pairs the nearest similarity explains,
    // held to it as any similarity match is.
    let kept: Vec<Pair> = best
        .iter()
        .copied()
        .filter(|&(i, j)| {
            let m = near.apply(pt(archived, i));
            let q = pt(query, j);
            let own = f64::from(query.points[j].angle) - f64::from(archived.points[i].angle);
            (m.0 - q.0).hypot(m.1 - q.1) <= tolerance(query, j)
                && angle_diff(own, near.angle()) <= MAX_ANGLE_ERROR
                && level_fits(archived, query, (i, j), near.scale())
        })
        .collect();
    (kept.len() >= min && distinct_query_corners(&kept) >= min)
        .then_some((kept, Model::Similar(near)))
}

/// How far (a share of the query's diagonal) a homography must move one
/// of the archived picture's corners from where the nearest similarity
/// puts it to count as a view in perspective.
const PERSPECTIVE_DEPARTS: f64 = 0.02;

/// Four points no three of which are nearly in line (each triangle they
/// make at least 1% of their bounding box's area, and 16 px²).
fn spread_out(p: &[Point; 4]) -> bool {
    let (min_x, max_x) = p.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, q| {
        (a.0.min(q.0), a.1.max(q.0))
    });
    let (min_y, max_y) = p.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, q| {
        (a.0.min(q.1), a.1.max(q.1))
    });
    let least = ((max_x - min_x) * (max_y - min_y) * 0.01).max(16.0);
    let tri = |a: Point, b: Point, c: Point| {
        ((b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)).abs() / 2.0
    };
    [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]
        .iter()
        .all(|&(a, b, c)| tri(p[a], p[b], p[c]) >= least)
}

/// A homography a flat picture photographed at an angle could have: the
/// whole archived picture in front of the camera, not folded over (its
/// corners keep their order), and nowhere stretched in one direction
/// more than [`MAX_ANISOTROPY`] times the other or scaled more than
/// [`MAX_SCALE_SPREAD`] times another corner.
fn well_conditioned(h: &Homography, w: f64, ht: f64) -> bool {
    let corners = [(0.0, 0.0), (w, 0.0), (w, ht), (0.0, ht)];
    let mut mapped = [(0.0, 0.0); 4];
    let mut scales = [0.0; 5];
    for (k, &c) in corners.iter().chain(&[(w / 2.0, ht / 2.0)]).enumerate() {
        let (Some(m), Some(j)) = (h.apply(c), h.jacobian(c)) else {
            return false;
        };
        if k < 4 {
            mapped[k] = m;
        }
        let det = j[0] * j[3] - j[1] * j[2];
        if det <= 0.0 {
            return false;
        }
        // Singular values of the local linear map.
        let sum = j.iter().map(|v| v * v).sum::<f64>();
        let root = (sum * sum - 4.0 * det * det).max(0.0).sqrt();
        let (big, small) = (((sum + root) / 2.0).sqrt(), ((sum - root) / 2.0).sqrt());
        if small <= 0.0 || big / small > MAX_ANISOTROPY {
            return false;
        }
        scales[k] = det.sqrt();
    }
    let (lo, hi) = scales
        .iter()
        .fold((f64::INFINITY, 0.0f64), |a, &s| (a.0.min(s), a.1.max(s)));
    if hi / lo > MAX_SCALE_SPREAD {
        return false;
    }
    // Convex, turning the same way as the original corners (y down).
    (0..4).all(|k| {
        let (a, b, c) = (mapped[k], mapped[(k + 1) % 4], mapped[(k + 2) % 4]);
        (b.0 - a.0) * (c.1 - b.1) - (b.1 - a.1) * (c.0 - b.0) > 0.0
    })
}

fn alignment(
    archived: &Features,
    query: &Features,
    model: &Model,
    inliers: &[Pair],
    pairs: &[Pair],
    mirrored: bool,
    params: &VerifyParams,
) -> Option<Alignment> {
    let (aw, ah) = (f64::from(archived.width), f64::from(archived.height));
    let (qw, qh) = (f64::from(query.width), f64::from(query.height));
    let corners = [(0.0, 0.0), (aw, 0.0), (aw, ah), (0.0, ah)];
    let (visible, placed, fills, quad) = match model {
        Model::Similar(_) => {
            // The query's corners in archived coordinates: the visible
            // part.
            let seen = [(0.0, 0.0), (qw, 0.0), (0.0, qh), (qw, qh)]
                .map(|c| model.apply_inverse(c).unwrap_or(c));
            let visible = clip_points(&seen, aw, ah)?;
            // The archived picture's corners in query coordinates: where
            // it lies.
            let placed = clip_points(&corners.map(|c| model.apply(c).unwrap_or(c)), qw, qh)?;
            (visible, placed, placed.area().min(1.0), None)
        }
        Model::Perspective(..) => {
            // The points of a grid over the archived picture that land
            // inside the query: the visible part.
            const GRID: usize = 16;
            let mut seen = Vec::new();
            for gy in 0..=GRID {
                for gx in 0..=GRID {
                    let p = (aw * gx as f64 / GRID as f64, ah * gy as f64 / GRID as f64);
                    if model
                        .apply(p)
                        .is_some_and(|m| (0.0..=qw).contains(&m.0) && (0.0..=qh).contains(&m.1))
                    {
                        seen.push(p);
                    }
                }
            }
            let visible = clip_points(&seen, aw, ah)?;
            let quad = corners.map(|c| model.apply(c));
            let quad = [quad[0]?, quad[1]?, quad[2]?, quad[3]?];
            let placed = clip_points(&quad, qw, qh)?;
            let area = crate::hash::screen::area(&quad);
            let quad = quad.map(|(x, y)| {
                let x = x / qw;
                (if mirrored { 1.0 - x } else { x }, y / qh)
            });
            (visible, placed, (area / (qw * qh)).min(1.0), Some(quad))
        }
    };
    let s = model.similarity();

    // Spread: cells of the visible part (4×4) that hold archived corners
    // must mostly hold a consistent one. Where the visible part holds few
    // stored corners (a small crop), the cells are fewer, so each holds
    // several (at least four on average) and one that misses says more
    // than chance.
    let inside = |x: f64, y: f64| {
        let fx = (x / aw - visible.left) / (visible.right - visible.left);
        let fy = (y / ah - visible.top) / (visible.bottom - visible.top);
        ((0.0..1.0).contains(&fx) && (0.0..1.0).contains(&fy)).then_some((fx, fy))
    };
    let seen = archived
        .points
        .iter()
        .filter(|p| inside(f64::from(p.x), f64::from(p.y)).is_some())
        .count();
    let cells: usize = match seen {
        64.. => 4,
        36..=63 => 3,
        _ => 2,
    };
    let cell_of = |x: f64, y: f64| -> Option<usize> {
        let (fx, fy) = inside(x, y)?;
        Some((fy * cells as f64) as usize * cells + (fx * cells as f64) as usize)
    };
    let mut textured = [false; 16];
    let mut hit = [false; 16];
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
    // A screen or print photographed at an angle shows all or nearly all
    // of the picture, consistent all over; two shots of one flat scene
    // from two places (a facade, a square) agree only where their views
    // overlap.
    if quad.is_some() && visible.area() < PERSPECTIVE_MIN_VISIBLE {
        return None;
    }

    // Two photos of one scene (a stereo pair, a burst from a hand-held
    // camera, a room where someone moved) agree over much of the
    // picture, but elsewhere their corners move together another way:
    // an edited copy has one geometry.
    let needed = SECOND_MOTION_MIN.max(inliers.len().div_ceil(SECOND_MOTION_SHARE));
    if second_motion(archived, query, model, pairs, inliers, params, needed) >= needed {
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
        pairs: pairs.len(),
        spread,
        perspective: quad,
    })
}

/// Fewest pairs moving together another way than the fit that make
/// it two photos of one scene rather than one picture.
const SECOND_MOTION_MIN: usize = 6;

/// ... and at least one such pair for every this many consistent ones
/// (a copy's few stray pairs that happen to agree are not a motion).
const SECOND_MOTION_SHARE: usize = 4;

/// How far, as a share of the query's diagonal, a corner of the scene
/// may have moved between two shots to count.
const SECOND_MOTION_REACH: f64 = 0.2;

/// The largest set of pairs left out by `model` that another similarity
/// explains, among those whose archived corner the model puts inside
/// the query and near its query corner: corners that moved between two
/// shots. 0 when fewer than `needed` could agree, or when one homography
/// explains nearly all of them and the fit's pairs together.
fn second_motion(
    archived: &Features,
    query: &Features,
    model: &Model,
    pairs: &[Pair],
    inliers: &[Pair],
    params: &VerifyParams,
    needed: usize,
) -> usize {
    let (w, h) = (f64::from(query.width), f64::from(query.height));
    let reach = SECOND_MOTION_REACH * w.hypot(h);
    let moved: Vec<Pair> = pairs
        .iter()
        .filter(|p| !inliers.contains(p))
        .filter(|&&(i, j)| {
            model.apply(pt(archived, i)).is_some_and(|p| {
                let q = pt(query, j);
                (0.0..w).contains(&p.0)
                    && (0.0..h).contains(&p.1)
                    && (p.0 - q.0).hypot(p.1 - q.1) <= reach
            })
        })
        .copied()
        .collect();
    if moved.len() < needed {
        return 0;
    }
    let any = VerifyParams {
        min_inliers: 3,
        ..*params
    };
    let (own, _) = fit_similarity(archived, query, &moved, &any);
    if own.len() < needed {
        return own.len();
    }
    // One picture whose geometry the fit only nearly caught (stretched a
    // little, seen a little from the side) leaves its far side "moved":
    // one homography then explains nearly all of both sets. Two shots of
    // a scene in depth, or with something moved, it does not.
    let both: Vec<Pair> = inliers.iter().chain(&own).copied().collect();
    match fit_perspective(archived, query, &both, inliers, params, true) {
        Some((explained, _)) if explained.len() * 10 >= both.len() * 9 => 0,
        _ => own.len(),
    }
}

/// Bounding box of `pts` clipped to a w×h picture, in fractions.
fn clip_points(pts: &[(f64, f64)], w: f64, h: f64) -> Option<Region> {
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
    fn two_shots_of_one_scene_are_not_one_picture() {
        // The right half of the scene is nearer the camera: seen from a
        // little higher, it moves down 40 px while the left half stays
        // (a stereo pair, a hand-held burst, parallax).
        let a = scene(900, 600, 7);
        let shot = GrayImage::from_fn(900, 600, |x, y| {
            if x < 450 {
                *a.get_pixel(x, y)
            } else if y >= 40 {
                *a.get_pixel(x, y - 40)
            } else {
                Luma([128])
            }
        });
        assert!(check(&a, &shot).is_none(), "{:?}", check(&a, &shot));
        // Covering the right half instead is an edit: one geometry.
        let covered = GrayImage::from_fn(900, 600, |x, y| {
            if x < 450 {
                *a.get_pixel(x, y)
            } else {
                Luma([230])
            }
        });
        assert!(check(&a, &covered).is_some());
        // So is a copy where a few stray pairs happen to agree elsewhere:
        // the second motion must be a share of the first.
        let mut fa = extract_gray(&a, STORED_POINTS);
        let fq = extract_gray(&a, QUERY_POINTS);
        let m = verify(&fa, &fq, &VerifyParams::default()).expect("the same picture");
        for p in fa.points.iter_mut().take(5) {
            p.y += 40.0;
        }
        let again = verify(&fa, &fq, &VerifyParams::default()).expect("still the same picture");
        assert!(again.inliers + 5 >= m.inliers);
    }

    /// A known perspective: the unit square's corners to `to`.
    fn known(to: [Point; 4]) -> Homography {
        let from = [(0.0, 0.0), (1000.0, 0.0), (1000.0, 700.0), (0.0, 700.0)];
        Homography::fit(&std::array::from_fn::<_, 4, _>(|k| (from[k], to[k]))).unwrap()
    }

    #[test]
    fn a_homography_is_fitted_exactly_from_four_pairs_and_closely_from_many() {
        let h = known([
            (120.0, 80.0),
            (900.0, 160.0),
            (860.0, 600.0),
            (150.0, 680.0),
        ]);
        let corners = [(0.0, 0.0), (1000.0, 0.0), (1000.0, 700.0), (0.0, 700.0)];
        let to = [
            (120.0, 80.0),
            (900.0, 160.0),
            (860.0, 600.0),
            (150.0, 680.0),
        ];
        for (c, t) in corners.iter().zip(&to) {
            let m = h.apply(*c).unwrap();
            assert!((m.0 - t.0).hypot(m.1 - t.1) < 1e-6, "{m:?} vs {t:?}");
        }
        // Many pairs, half a pixel of noise: least squares lands close.
        let mut rng = SplitMix(9);
        let pairs: Vec<(Point, Point)> = (0..60)
            .map(|_| {
                let p = (rng.below(1000) as f64, rng.below(700) as f64);
                let q = h.apply(p).unwrap();
                let n = |r: &mut SplitMix| r.below(1000) as f64 / 1000.0 - 0.5;
                (p, (q.0 + n(&mut rng), q.1 + n(&mut rng)))
            })
            .collect();
        let fitted = Homography::fit(&pairs).unwrap();
        for c in corners {
            let (a, b) = (h.apply(c).unwrap(), fitted.apply(c).unwrap());
            assert!((a.0 - b.0).hypot(a.1 - b.1) < 2.0, "{a:?} vs {b:?}");
        }
        // The inverse undoes it.
        let back = fitted
            .inverse()
            .unwrap()
            .apply(fitted.apply((300.0, 200.0)).unwrap());
        assert!((back.unwrap().0 - 300.0).abs() < 1e-6);
    }

    #[test]
    fn degenerate_and_impossible_homographies_are_refused() {
        // Three of four sample points in line.
        assert!(!spread_out(&[
            (0.0, 0.0),
            (100.0, 100.0),
            (200.0, 200.0),
            (0.0, 300.0)
        ]));
        assert!(spread_out(&[
            (0.0, 0.0),
            (300.0, 10.0),
            (280.0, 260.0),
            (10.0, 300.0)
        ]));
        assert!(Homography::fit(&[((0.0, 0.0), (0.0, 0.0)); 4]).is_none());
        // A plausible view of a screen from the side.
        assert!(well_conditioned(
            &known([
                (120.0, 80.0),
                (900.0, 160.0),
                (860.0, 600.0),
                (150.0, 680.0)
            ]),
            1000.0,
            700.0
        ));
        // Folded over (corners out of order), mirrored, far too steep, and
        // stretched five times one way.
        for to in [
            [
                (120.0, 80.0),
                (860.0, 600.0),
                (900.0, 160.0),
                (150.0, 680.0),
            ],
            [(900.0, 80.0), (100.0, 80.0), (100.0, 680.0), (900.0, 680.0)],
            [
                (100.0, 100.0),
                (900.0, 330.0),
                (900.0, 370.0),
                (100.0, 600.0),
            ],
            [(0.0, 0.0), (5000.0, 0.0), (5000.0, 700.0), (0.0, 700.0)],
        ] {
            let refused = Homography::fit(&std::array::from_fn::<_, 4, _>(|k| {
                (
                    [(0.0, 0.0), (1000.0, 0.0), (1000.0, 700.0), (0.0, 700.0)][k],
                    to[k],
                )
            }))
            .is_none_or(|h| !well_conditioned(&h, 1000.0, 700.0));
            assert!(refused, "{to:?}");
        }
    }

    /// `img` as a camera sees it when its corners land on `to`, on a
    /// grey canvas of `w`×`h`.
    fn photographed(img: &GrayImage, to: [Point; 4], w: u32, h: u32) -> GrayImage {
        let (iw, ih) = (f64::from(img.width()), f64::from(img.height()));
        let from = [(0.0, 0.0), (iw, 0.0), (iw, ih), (0.0, ih)];
        let back = Homography::fit(&std::array::from_fn::<_, 4, _>(|k| (to[k], from[k]))).unwrap();
        GrayImage::from_fn(w, h, |x, y| {
            let Some((sx, sy)) = back.apply((f64::from(x) + 0.5, f64::from(y) + 0.5)) else {
                return Luma([90]);
            };
            let (x0, y0) = (sx - 0.5, sy - 0.5);
            if x0 < 0.0 || y0 < 0.0 || x0 >= iw - 1.0 || y0 >= ih - 1.0 {
                return Luma([90]);
            }
            let (fx, fy) = (x0.fract(), y0.fract());
            let p =
                |dx: u32, dy: u32| f64::from(img.get_pixel(x0 as u32 + dx, y0 as u32 + dy).0[0]);
            let v = (p(0, 0) * (1.0 - fx) + p(1, 0) * fx) * (1.0 - fy)
                + (p(0, 1) * (1.0 - fx) + p(1, 1) * fx) * fy;
            Luma([v.round() as u8])
        })
    }

    #[test]
    fn a_picture_photographed_at_an_angle_is_confirmed_with_its_corners() {
        let a = scene(900, 600, 4);
        // The left side nearer the camera, a little from above.
        let to = [
            (140.0, 150.0),
            (880.0, 230.0),
            (880.0, 650.0),
            (140.0, 800.0),
        ];
        let q = photographed(&a, to, 1000, 950);
        let m = check(&a, &q).expect("confirmed in perspective");
        let corners = m.perspective.expect("a perspective match");
        for (c, t) in corners.iter().zip(&to) {
            let (x, y) = (c.0 * 1000.0, c.1 * 950.0);
            assert!((x - t.0).hypot(y - t.1) < 25.0, "{corners:?} vs {to:?}");
        }
        assert!(
            m.edits()
                .iter()
                .any(|e| matches!(e, Edit::Perspective { .. }))
        );
        let words = crate::report::wording::edits(&m.edits());
        assert!(words.contains("photographed at an angle"), "{words}");
        // Another picture seen the same way is not.
        assert!(check(&scene(900, 600, 44), &q).is_none());
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
