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
    let grey = if w > PROBE_SIDE || h > PROBE_SIDE {
        img.thumbnail(PROBE_SIDE, PROBE_SIDE).to_luma8()
    } else {
        img.to_luma8()
    };
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
