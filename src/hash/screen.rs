//! A screen or print photographed at an angle: the quadrilateral its
//! straight edges enclose, found on the working copy, so its picture can
//! be looked at straight on (see [`super::features::add_rectified`]).
//!
//! Straight edges are found by a Hough transform of the gradient (each
//! edge pixel votes for the lines through it along its own edge
//! direction); a top and a bottom line and a left and a right line make a
//! candidate, kept when its four sides are edges along most of their
//! length, it is convex with no corner far from square, it is neither
//! tiny nor the whole picture, and it is not a plain upright rectangle
//! (a border, a screenshot's photograph: the whole-picture probes cover
//! those).

use image::GrayImage;

use crate::decode::grey;

/// A corner of the quadrilateral, in working-copy pixels.
pub type Corner = (f64, f64);

/// Longer side of the copy lines are looked for on.
const SIDE: u32 = 320;
/// Angular step of the transform, degrees.
const THETA_STEPS: usize = 180;
/// An edge pixel votes for lines within this many degrees of its own
/// edge direction.
const SPREAD_DEG: i64 = 3;
/// Lines kept, strongest first.
const MAX_LINES: usize = 14;
/// Least share of the picture the quadrilateral covers.
const MIN_AREA: f64 = 0.12;
/// Largest share: beyond it, it is the picture's own frame.
const MAX_AREA: f64 = 0.92;
/// Least share of each side that must lie on an edge.
const MIN_SIDE_SUPPORT: f64 = 0.6;
/// Corners must be within this many degrees of square.
const MAX_CORNER_SKEW: f64 = 30.0;
/// A quadrilateral whose sides are all within this many degrees of
/// upright is a plain rectangle (a small tilt needs no straightening:
/// the similarity fit takes it).
const UPRIGHT_DEG: f64 = 3.0;

struct Gradient {
    w: usize,
    h: usize,
    gx: Vec<f32>,
    gy: Vec<f32>,
    strong: f32,
}

impl Gradient {
    fn of(g: &GrayImage) -> Option<Gradient> {
        let (w, h) = (g.width() as usize, g.height() as usize);
        if w < 16 || h < 16 {
            return None;
        }
        let px = |x: usize, y: usize| f32::from(g.as_raw()[y * w + x]);
        let mut gx = vec![0.0f32; w * h];
        let mut gy = vec![0.0f32; w * h];
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                gx[y * w + x] = (px(x + 1, y - 1) + 2.0 * px(x + 1, y) + px(x + 1, y + 1))
                    - (px(x - 1, y - 1) + 2.0 * px(x - 1, y) + px(x - 1, y + 1));
                gy[y * w + x] = (px(x - 1, y + 1) + 2.0 * px(x, y + 1) + px(x + 1, y + 1))
                    - (px(x - 1, y - 1) + 2.0 * px(x, y - 1) + px(x + 1, y - 1));
            }
        }
        // Strong: among the top 15% of gradients, and not faint.
        let mut mags: Vec<f32> = gx.iter().zip(&gy).map(|(a, b)| a.hypot(*b)).collect();
        let k = mags.len() * 85 / 100;
        let (_, &mut at, _) = mags.select_nth_unstable_by(k, f32::total_cmp);
        Some(Gradient {
            w,
            h,
            gx,
            gy,
            strong: at.max(60.0),
        })
    }

    fn mag(&self, x: usize, y: usize) -> f32 {
        self.gx[y * self.w + x].hypot(self.gy[y * self.w + x])
    }

    /// An edge at (x, y) running across `normal` (radians): strong, with
    /// its gradient within 20° of the normal either way.
    fn edge_across(&self, x: f64, y: f64, normal: f64) -> bool {
        let (nx, ny) = (normal.cos(), normal.sin());
        (-1..=1).any(|d| {
            let (px, py) = (x + f64::from(d) * nx, y + f64::from(d) * ny);
            if px < 1.0 || py < 1.0 || px >= (self.w - 1) as f64 || py >= (self.h - 1) as f64 {
                return false;
            }
            let (ix, iy) = (px as usize, py as usize);
            let m = self.mag(ix, iy);
            if m < self.strong {
                return false;
            }
            let (gx, gy) = (self.gx[iy * self.w + ix], self.gy[iy * self.w + ix]);
            (f64::from(gx) * nx + f64::from(gy) * ny).abs() >= 0.94 * f64::from(m)
        })
    }
}

/// A line x·cos θ + y·sin θ = ρ.
#[derive(Debug, Clone, Copy)]
struct Line {
    theta: f64,
    rho: f64,
    votes: u32,
}

impl Line {
    fn meet(&self, o: &Line) -> Option<Corner> {
        let (a1, b1, c1) = (self.theta.cos(), self.theta.sin(), self.rho);
        let (a2, b2, c2) = (o.theta.cos(), o.theta.sin(), o.rho);
        let det = a1 * b2 - a2 * b1;
        if det.abs() < 1e-6 {
            return None;
        }
        Some(((c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det))
    }

    /// Near horizontal (its normal near vertical).
    fn horizontal(&self) -> bool {
        (self.theta.to_degrees() - 90.0).abs() < 40.0
    }

    fn vertical(&self) -> bool {
        let d = self.theta.to_degrees();
        !(40.0..=140.0).contains(&d)
    }
}

fn lines(g: &Gradient) -> Vec<Line> {
    let diag = (g.w as f64).hypot(g.h as f64).ceil() as usize;
    let rhos = 2 * diag + 1;
    let mut acc = vec![0u32; THETA_STEPS * rhos];
    let trig: Vec<(f64, f64)> = (0..THETA_STEPS)
        .map(|t| {
            let a = (t as f64).to_radians();
            (a.cos(), a.sin())
        })
        .collect();
    for y in 1..g.h - 1 {
        for x in 1..g.w - 1 {
            let i = y * g.w + x;
            let (gx, gy) = (g.gx[i], g.gy[i]);
            if gx.hypot(gy) < g.strong {
                continue;
            }
            let dir = f64::from(gy)
                .atan2(f64::from(gx))
                .to_degrees()
                .rem_euclid(180.0);
            let centre = dir.round() as i64;
            for dt in -SPREAD_DEG..=SPREAD_DEG {
                let t = (centre + dt).rem_euclid(THETA_STEPS as i64) as usize;
                let (c, s) = trig[t];
                let rho = (x as f64 * c + y as f64 * s).round() as i64 + diag as i64;
                acc[t * rhos + rho as usize] += 1;
            }
        }
    }
    // Peaks, strongest first, none within 4° and 6 px of a stronger one.
    let min_votes = (0.15 * g.w.min(g.h) as f64) as u32;
    let mut peaks: Vec<Line> = Vec::new();
    for t in 0..THETA_STEPS {
        for r in 0..rhos {
            let v = acc[t * rhos + r];
            if v >= min_votes {
                peaks.push(Line {
                    theta: (t as f64).to_radians(),
                    rho: r as f64 - diag as f64,
                    votes: v,
                });
            }
        }
    }
    peaks.sort_by_key(|p| std::cmp::Reverse(p.votes));
    let mut kept: Vec<Line> = Vec::new();
    for p in peaks {
        let near = kept.iter().any(|k| {
            let dt = (k.theta - p.theta).to_degrees().abs();
            // θ and θ+180° with −ρ are the same line.
            (dt < 4.0 && (k.rho - p.rho).abs() < 6.0) || (dt > 176.0 && (k.rho + p.rho).abs() < 6.0)
        });
        if !near {
            kept.push(p);
            if kept.len() == MAX_LINES {
                break;
            }
        }
    }
    kept
}

/// Share of the segment a→b (its middle 80%) that lies on an edge
/// across it.
fn support(g: &Gradient, a: Corner, b: Corner) -> f64 {
    const SAMPLES: usize = 40;
    let normal = (b.1 - a.1).atan2(b.0 - a.0) + std::f64::consts::FRAC_PI_2;
    let on = (0..SAMPLES)
        .filter(|&k| {
            let t = 0.1 + 0.8 * (k as f64 + 0.5) / SAMPLES as f64;
            g.edge_across(a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1), normal)
        })
        .count();
    on as f64 / SAMPLES as f64
}

/// Area of a simple quadrilateral (the shoelace formula).
pub fn area(q: &[Corner; 4]) -> f64 {
    (0..4)
        .map(|k| q[k].0 * q[(k + 1) % 4].1 - q[(k + 1) % 4].0 * q[k].1)
        .sum::<f64>()
        .abs()
        / 2.0
}

/// Convex, clockwise on screen (y down), every corner within
/// [`MAX_CORNER_SKEW`] of square.
fn well_shaped(q: &[Corner; 4]) -> bool {
    (0..4).all(|k| {
        let (p, c, n) = (q[(k + 3) % 4], q[k], q[(k + 1) % 4]);
        let (ax, ay) = (p.0 - c.0, p.1 - c.1);
        let (bx, by) = (n.0 - c.0, n.1 - c.1);
        let cross = ax * by - ay * bx;
        let angle = cross.abs().atan2(ax * bx + ay * by).to_degrees();
        cross < 0.0 && (angle - 90.0).abs() <= MAX_CORNER_SKEW
    })
}

fn upright(q: &[Corner; 4]) -> bool {
    (0..4).all(|k| {
        let (a, b) = (q[k], q[(k + 1) % 4]);
        let deg = (b.1 - a.1).atan2(b.0 - a.0).to_degrees().rem_euclid(90.0);
        deg.min(90.0 - deg) <= UPRIGHT_DEG
    })
}

/// A side along the picture's own edge (both its ends within 2% of the
/// same edge): the picture's frame, not a screen's.
fn on_border(q: &[Corner; 4], w: f64, h: f64) -> bool {
    let (mx, my) = (0.02 * w, 0.02 * h);
    (0..4).any(|k| {
        let (a, b) = (q[k], q[(k + 1) % 4]);
        (a.0 <= mx && b.0 <= mx)
            || (a.0 >= w - mx && b.0 >= w - mx)
            || (a.1 <= my && b.1 <= my)
            || (a.1 >= h - my && b.1 >= h - my)
    })
}

/// The quadrilateral of a screen or print seen at an angle on the
/// working copy `work`: its corners top left, top right, bottom right,
/// bottom left, in `work`'s pixels; None when there is none to be sure
/// of.
pub fn find(work: &GrayImage) -> Option<[Corner; 4]> {
    let (w, h) = work.dimensions();
    let k = (f64::from(SIDE) / f64::from(w.max(h))).min(1.0);
    let small = if k < 1.0 {
        let nw = ((f64::from(w) * k).round() as u32).max(1);
        let nh = ((f64::from(h) * k).round() as u32).max(1);
        grey::shrink(work, nw, nh)
    } else {
        work.clone()
    };
    let g = Gradient::of(&small)?;
    let found = lines(&g);
    let (cx, cy) = (g.w as f64 / 2.0, g.h as f64 / 2.0);
    // Horizontal lines by their height at the middle, vertical ones by
    // their place across it.
    let at_x = |l: &Line| (l.rho - cx * l.theta.cos()) / l.theta.sin();
    let at_y = |l: &Line| (l.rho - cy * l.theta.sin()) / l.theta.cos();
    let mut hs: Vec<(f64, Line)> = found
        .iter()
        .filter(|l| l.horizontal())
        .map(|l| (at_x(l), *l))
        .collect();
    let mut vs: Vec<(f64, Line)> = found
        .iter()
        .filter(|l| l.vertical())
        .map(|l| (at_y(l), *l))
        .collect();
    hs.sort_by(|a, b| a.0.total_cmp(&b.0));
    vs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let whole = g.w as f64 * g.h as f64;
    let (mx, my) = (0.02 * g.w as f64, 0.02 * g.h as f64);
    let inside = |c: &Corner| {
        (-mx..=g.w as f64 + mx).contains(&c.0) && (-my..=g.h as f64 + my).contains(&c.1)
    };
    let mut best: Option<(f64, [Corner; 4])> = None;
    for (i, (_, top)) in hs.iter().enumerate() {
        for (_, bottom) in &hs[i + 1..] {
            for (j, (_, left)) in vs.iter().enumerate() {
                for (_, right) in &vs[j + 1..] {
                    let q = [
                        top.meet(left),
                        top.meet(right),
                        bottom.meet(right),
                        bottom.meet(left),
                    ];
                    let [Some(a), Some(b), Some(c), Some(d)] = q else {
                        continue;
                    };
                    let q = [a, b, c, d];
                    if !q.iter().all(inside)
                        || !well_shaped(&q)
                        || upright(&q)
                        || on_border(&q, g.w as f64, g.h as f64)
                    {
                        continue;
                    }
                    let share = area(&q) / whole;
                    if !(MIN_AREA..=MAX_AREA).contains(&share) {
                        continue;
                    }
                    let sides: Vec<f64> =
                        (0..4).map(|s| support(&g, q[s], q[(s + 1) % 4])).collect();
                    let least = sides.iter().copied().fold(1.0, f64::min);
                    if least < MIN_SIDE_SUPPORT {
                        continue;
                    }
                    let score = sides.iter().sum::<f64>() / 4.0 * share.sqrt();
                    if best.is_none_or(|(s, _)| score > s) {
                        best = Some((score, q));
                    }
                }
            }
        }
    }
    best.map(|(_, q)| q.map(|(x, y)| (x / k, y / k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// Inside the convex quadrilateral `q` (clockwise on screen).
    fn inside(q: &[Corner; 4], p: Corner) -> bool {
        (0..4).all(|k| {
            let (a, b) = (q[k], q[(k + 1) % 4]);
            (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0) >= 0.0
        })
    }

    /// A textured picture on a dark bezel, seen at an angle, on a soft
    /// wall: `q` is the bezel's outline.
    fn monitor(q: [Corner; 4]) -> GrayImage {
        let c = ((q[0].0 + q[2].0) / 2.0, (q[0].1 + q[2].1) / 2.0);
        let inner = q.map(|(x, y)| (c.0 + 0.9 * (x - c.0), c.1 + 0.9 * (y - c.1)));
        GrayImage::from_fn(900, 700, |x, y| {
            let p = (f64::from(x), f64::from(y));
            let v = if inside(&inner, p) {
                // Soft texture, no straight edges of its own.
                (140.0 + 60.0 * (p.0 / 11.0).sin() * (p.1 / 9.0).cos()) as u8
            } else if inside(&q, p) {
                20
            } else {
                150 + (x / 60) as u8
            };
            Luma([v])
        })
    }

    #[test]
    fn a_screen_seen_from_the_side_is_found_with_its_corners() {
        let q = [
            (140.0, 120.0),
            (760.0, 190.0),
            (740.0, 560.0),
            (160.0, 640.0),
        ];
        let found = find(&monitor(q)).expect("found");
        for (f, t) in found.iter().zip(&q) {
            assert!((f.0 - t.0).hypot(f.1 - t.1) < 8.0, "{found:?} vs {q:?}");
        }
    }

    #[test]
    fn an_upright_frame_or_a_plain_picture_is_not_a_screen() {
        // Upright: nothing to straighten (the photo probes take those).
        let upright = [
            (150.0, 100.0),
            (750.0, 100.0),
            (750.0, 600.0),
            (150.0, 600.0),
        ];
        assert_eq!(find(&monitor(upright)), None);
        // A picture of blocks and no frame.
        let plain = GrayImage::from_fn(900, 700, |x, y| {
            Luma([((x / 23 * 7 + y / 17 * 13) % 9 * 25) as u8])
        });
        assert_eq!(find(&plain), None);
        // A frame filling the whole picture is the picture's edge.
        let whole = [(2.0, 1.0), (897.0, 4.0), (896.0, 698.0), (3.0, 695.0)];
        assert_eq!(find(&monitor(whole)), None);
    }
}
