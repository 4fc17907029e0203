//! Finding a uniform border (a screenshot's frame, letterbox bars, a
//! padded repost) so the picture inside it can be hashed as well.
//! Borders move whole-image hashes such as PDQ a long way; the picture
//! within them does not move.

use image::{DynamicImage, GenericImageView, GrayImage};

/// Side of the grey copy the border is searched on.
const PROBE_SIDE: u32 = 512;
/// Largest grey-level difference from the border colour still counted as
/// border (JPEG noise around a flat colour stays well within it).
const TOLERANCE: u8 = 14;
/// Share of a line's pixels that must be border-coloured.
const LINE_SHARE: f32 = 0.98;
/// A side is trimmed by at most this share of the picture.
const MAX_SIDE_SHARE: f32 = 0.3;
/// Trims smaller than this share of both dimensions are ignored.
const MIN_TRIM_SHARE: f32 = 0.015;

/// A rectangle in pixel coordinates of the full image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// The part of `img` inside a uniform border, or `None` when there is no
/// border worth removing.
pub fn content_rect(img: &DynamicImage) -> Option<Rect> {
    let (w, h) = img.dimensions();
    if w < 16 || h < 16 {
        return None;
    }
    let grey = super::grey::thumbnail(img, PROBE_SIDE);
    let (gw, gh) = grey.dimensions();
    let top = border_lines(&grey, Side::Top);
    let bottom = border_lines(&grey, Side::Bottom);
    let left = border_lines(&grey, Side::Left);
    let right = border_lines(&grey, Side::Right);
    let (tw, th) = (left + right, top + bottom);
    let small =
        (tw as f32) < MIN_TRIM_SHARE * gw as f32 && (th as f32) < MIN_TRIM_SHARE * gh as f32;
    if small || tw * 2 >= gw || th * 2 >= gh {
        return None;
    }
    // Map back to full-size coordinates, rounding inwards.
    let sx = w as f32 / gw as f32;
    let sy = h as f32 / gh as f32;
    let x = (left as f32 * sx).ceil() as u32;
    let y = (top as f32 * sy).ceil() as u32;
    let x2 = ((gw - right) as f32 * sx).floor() as u32;
    let y2 = ((gh - bottom) as f32 * sy).floor() as u32;
    (x2 > x && y2 > y).then_some(Rect {
        x,
        y,
        width: x2 - x,
        height: y2 - y,
    })
}

#[derive(Clone, Copy)]
enum Side {
    Top,
    Bottom,
    Left,
    Right,
}

/// How many lines from `side` inwards are uniformly the colour of the
/// outermost line.
fn border_lines(g: &GrayImage, side: Side) -> u32 {
    let (w, h) = g.dimensions();
    let (count, len) = match side {
        Side::Top | Side::Bottom => (h, w),
        Side::Left | Side::Right => (w, h),
    };
    let pixel = |line: u32, i: u32| -> u8 {
        let (x, y) = match side {
            Side::Top => (i, line),
            Side::Bottom => (i, h - 1 - line),
            Side::Left => (line, i),
            Side::Right => (w - 1 - line, i),
        };
        g.get_pixel(x, y).0[0]
    };
    let mut outer: Vec<u8> = (0..len).map(|i| pixel(0, i)).collect();
    outer.sort_unstable();
    let reference = outer[outer.len() / 2];
    let max_lines = (count as f32 * MAX_SIDE_SHARE) as u32;
    let needed = (len as f32 * LINE_SHARE).ceil() as u32;
    let mut lines = 0;
    while lines < max_lines {
        let close = (0..len)
            .filter(|&i| pixel(lines, i).abs_diff(reference) <= TOLERANCE)
            .count() as u32;
        if close < needed {
            break;
        }
        lines += 1;
    }
    lines
}

/// The dominant photograph inside a screenshot or a post: the tallest band
/// of rows that are mostly not the page's background colour, narrowed to
/// the columns that are, on a page whose other rows are mostly plain.
/// Text lines and icons cover too little of a row to count. `None` when
/// the picture fills (nearly) its whole frame, or is not a page.
pub fn photo_rect(img: &DynamicImage) -> Option<Rect> {
    let (w, h) = img.dimensions();
    photo_rect_in(&img.to_luma8(), w, h)
}

/// [`photo_rect`] found on any grey copy `grey` of a `w`×`h` picture (a
/// smaller working copy will do), in the picture's pixels.
pub fn photo_rect_in(grey: &GrayImage, w: u32, h: u32) -> Option<Rect> {
    const SIDE: u32 = 360;
    const DIFF: u8 = 16;
    if w < 32 || h < 32 || grey.width() < 32 || grey.height() < 32 {
        return None;
    }
    let (tw, th) = grey.dimensions();
    let k = (f64::from(SIDE) / f64::from(tw.max(th))).min(1.0);
    let g = image::imageops::thumbnail(
        grey,
        ((f64::from(tw) * k).round() as u32).max(1),
        ((f64::from(th) * k).round() as u32).max(1),
    );
    let (gw, gh) = g.dimensions();
    // The page colour: the commonest grey level along the outer edge.
    let mut hist = [0u32; 256];
    for x in 0..gw {
        hist[usize::from(g.get_pixel(x, 0).0[0])] += 1;
        hist[usize::from(g.get_pixel(x, gh - 1).0[0])] += 1;
    }
    for y in 0..gh {
        hist[usize::from(g.get_pixel(0, y).0[0])] += 1;
        hist[usize::from(g.get_pixel(gw - 1, y).0[0])] += 1;
    }
    let bg = (0..256).max_by_key(|&v| hist[v]).unwrap_or(0) as u8;
    let off = |x: u32, y: u32| g.get_pixel(x, y).0[0].abs_diff(bg) > DIFF;
    let row_full: Vec<bool> = (0..gh)
        .map(|y| (0..gw).filter(|&x| off(x, y)).count() * 2 >= gw as usize)
        .collect();
    // Tallest run of full rows, bridging gaps of up to 2 rows.
    let (mut best, mut start, mut last_full) = ((0u32, 0u32), None::<u32>, 0u32);
    for y in 0..gh {
        if row_full[y as usize] {
            if start.is_none() || y > last_full + 3 {
                start = Some(y);
            }
            last_full = y;
            let s = start.unwrap_or(y);
            if y + 1 - s > best.1 - best.0 {
                best = (s, y + 1);
            }
        }
    }
    let (top, bottom) = best;
    if (bottom - top) * 8 < gh {
        return None;
    }
    let col_full =
        |x: u32| (top..bottom).filter(|&y| off(x, y)).count() * 2 >= (bottom - top) as usize;
    let left = (0..gw).find(|&x| col_full(x))?;
    let right = (0..gw).rev().find(|&x| col_full(x))? + 1;
    if right <= left || (right - left) * 5 < gw {
        return None;
    }
    let area = f64::from((right - left) * (bottom - top)) / f64::from(gw * gh);
    if area > 0.85 {
        return None;
    }
    // A page: most rows outside the photograph are plain page colour
    // (text lines and icons between them). In an ordinary photo they are
    // more picture.
    let outside: Vec<u32> = (0..gh).filter(|&y| y < top || y >= bottom).collect();
    let plain = outside
        .iter()
        .filter(|&&y| (0..gw).filter(|&x| off(x, y)).count() * 10 <= gw as usize)
        .count();
    if outside.len() * 20 < gh as usize || plain * 2 < outside.len() {
        return None;
    }
    let sx = f64::from(w) / f64::from(gw);
    let sy = f64::from(h) / f64::from(gh);
    let x = (f64::from(left) * sx).round() as u32;
    let y = (f64::from(top) * sy).round() as u32;
    let x2 = ((f64::from(right) * sx).round() as u32).min(w);
    let y2 = ((f64::from(bottom) * sy).round() as u32).min(h);
    (x2 > x + 16 && y2 > y + 16).then_some(Rect {
        x,
        y,
        width: x2 - x,
        height: y2 - y,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn textured(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = ((x * 7 + y * 13) % 200 + 30) as u8;
            Rgb([v, v / 2, 255 - v])
        })
    }

    #[test]
    fn finds_the_photo_in_a_page_with_text() {
        let inner = textured(600, 400);
        let mut page = RgbImage::from_pixel(700, 1500, Rgb([255, 255, 255]));
        image::imageops::overlay(&mut page, &inner, 50, 300);
        // Lines of "text": short dark marks well under half a row.
        for line in 0..6u32 {
            for k in 0..20u32 {
                for y in 0..14 {
                    for x in 0..12 {
                        page.put_pixel(40 + k * 30 + x, 800 + line * 40 + y, Rgb([20, 20, 20]));
                        page.put_pixel(40 + k * 30 + x, 80 + line * 30 + y / 2, Rgb([20, 20, 20]));
                    }
                }
            }
        }
        let r = photo_rect(&DynamicImage::ImageRgb8(page)).unwrap();
        assert!(r.x.abs_diff(50) <= 4 && r.y.abs_diff(300) <= 6, "{r:?}");
        assert!(
            r.width.abs_diff(600) <= 8 && r.height.abs_diff(400) <= 8,
            "{r:?}"
        );
        assert_eq!(photo_rect(&DynamicImage::ImageRgb8(inner)), None);
    }

    #[test]
    fn finds_a_border_and_ignores_none() {
        let inner = textured(300, 200);
        let mut framed = RgbImage::from_pixel(340, 260, Rgb([250, 250, 250]));
        image::imageops::overlay(&mut framed, &inner, 20, 30);
        let r = content_rect(&DynamicImage::ImageRgb8(framed)).unwrap();
        assert_eq!((r.x, r.y, r.width, r.height), (20, 30, 300, 200));
        assert_eq!(content_rect(&DynamicImage::ImageRgb8(inner)), None);
        let flat = RgbImage::from_pixel(100, 100, Rgb([0, 0, 0]));
        assert_eq!(content_rect(&DynamicImage::ImageRgb8(flat)), None);
    }
}
