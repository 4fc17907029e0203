//! Grey copies of pictures, made quickly: the luma of a decoded picture
//! and area-averaging shrinks, for the stages that look at structure
//! rather than colour (border and screenshot finding, local features).

use image::{DynamicImage, GrayImage};

/// Grey levels (Rec. 601 weights), quickly for 8-bit RGB.
pub fn luma(img: &DynamicImage) -> GrayImage {
    match img {
        DynamicImage::ImageRgb8(rgb) => {
            let px: Vec<u8> = rgb
                .as_raw()
                .chunks_exact(3)
                .map(|p| {
                    ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128)
                        >> 8) as u8
                })
                .collect();
            GrayImage::from_raw(rgb.width(), rgb.height(), px).unwrap_or_default()
        }
        DynamicImage::ImageLuma8(g) => g.clone(),
        other => other.to_luma8(),
    }
}

/// Area-averaging shrink of a grey picture (each output pixel the mean
/// of the input pixels it covers, whole pixels only): fast and alias-free
/// for large factors.
pub fn shrink(g: &GrayImage, nw: u32, nh: u32) -> GrayImage {
    let (w, h) = (g.width() as usize, g.height() as usize);
    let (nw, nh) = (nw.max(1) as usize, nh.max(1) as usize);
    let spans = |len: usize, new: usize| -> Vec<(usize, usize)> {
        (0..new)
            .map(|i| {
                let a = i * len / new;
                (a, ((i + 1) * len / new).max(a + 1).min(len))
            })
            .collect()
    };
    area_means(g, &spans(w, nw), &spans(h, nh))
}

/// The picture whose pixel `(i, j)` is the rounded mean of `g`'s pixels
/// in columns `xs[i].0..xs[i].1` and rows `ys[j].0..ys[j].1` (every
/// window non-empty and inside `g`): the one loop of area-averaging
/// shrinks, whatever decides their windows.
pub fn area_means(g: &GrayImage, xs: &[(usize, usize)], ys: &[(usize, usize)]) -> GrayImage {
    let w = g.width() as usize;
    let src = g.as_raw();
    let mut out = Vec::with_capacity(xs.len() * ys.len());
    // Each output row: its window's rows summed column by column (whole
    // rows at a time, which vectorises), then each column window's sums.
    let mut columns = vec![0u32; w];
    for &(y0, y1) in ys {
        columns.iter_mut().for_each(|c| *c = 0);
        for row in src[y0 * w..y1 * w].chunks_exact(w) {
            for (c, &v) in columns.iter_mut().zip(row) {
                *c += u32::from(v);
            }
        }
        for &(x0, x1) in xs {
            let a: u32 = columns[x0..x1].iter().sum();
            let n = ((x1 - x0) * (y1 - y0)) as u32;
            out.push(((a + n / 2) / n) as u8);
        }
    }
    GrayImage::from_raw(xs.len() as u32, ys.len() as u32, out).unwrap_or_default()
}

/// Halves a picture of `c` interleaved channels `times` times, each
/// output sample the rounded mean of a 2×2 block (a last odd row or
/// column is dropped): the exact, fast special case of [`shrink`] by a
/// power of two. Returns the samples and the new size.
pub fn halve(src: &[u8], w: u32, h: u32, c: usize, times: u32) -> (Vec<u8>, u32, u32) {
    // The first pass reads `src` itself: no copy of the large picture.
    let mut buf = std::borrow::Cow::Borrowed(src);
    let (mut w, mut h) = (w as usize, h as usize);
    for _ in 0..times {
        let (nw, nh) = ((w / 2).max(1), (h / 2).max(1));
        if w < 2 || h < 2 {
            break;
        }
        let mut out = vec![0u8; nw * nh * c];
        for (j, row) in out.chunks_exact_mut(nw * c).enumerate() {
            let a = &buf[2 * j * w * c..(2 * j + 1) * w * c];
            let b = &buf[(2 * j + 1) * w * c..(2 * j + 2) * w * c];
            for (i, px) in row.chunks_exact_mut(c).enumerate() {
                let x = 2 * i * c;
                for k in 0..c {
                    let sum = u16::from(a[x + k])
                        + u16::from(a[x + c + k])
                        + u16::from(b[x + k])
                        + u16::from(b[x + c + k]);
                    px[k] = ((sum + 2) / 4) as u8;
                }
            }
        }
        (buf, w, h) = (std::borrow::Cow::Owned(out), nw, nh);
    }
    (buf.into_owned(), w as u32, h as u32)
}

/// A grey copy fitting in `max_side` × `max_side` (aspect kept; never
/// enlarged): the luma, area-averaged down.
pub fn thumbnail(img: &DynamicImage, max_side: u32) -> GrayImage {
    let (w, h) = (img.width().max(1), img.height().max(1));
    let grey = luma(img);
    if w <= max_side && h <= max_side {
        return grey;
    }
    let k = (f64::from(max_side) / f64::from(w)).min(f64::from(max_side) / f64::from(h));
    let nw = ((f64::from(w) * k).round() as u32).clamp(1, max_side);
    let nh = ((f64::from(h) * k).round() as u32).clamp(1, max_side);
    shrink(&grey, nw, nh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnail_keeps_the_aspect_and_averages() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(1000, 500, |x, _| {
            if x < 500 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        }));
        let t = thumbnail(&img, 100);
        assert_eq!(t.dimensions(), (100, 50));
        assert_eq!(t.get_pixel(10, 10).0[0], 0);
        assert_eq!(t.get_pixel(90, 40).0[0], 255);
        let small = thumbnail(&img, 2000);
        assert_eq!(small.dimensions(), (1000, 500));
    }

    /// Each output pixel is the rounded mean of the whole input pixels
    /// its window covers, windows `i·len/new` to `(i+1)·len/new` (at
    /// least one pixel): checked pixel by pixel on a real photo, at
    /// sizes that divide it evenly, unevenly, and not at all.
    #[test]
    fn shrink_is_the_mean_of_each_window() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let g = image::open(root.join("samples/photos/pillow-hopper.jpg"))
            .unwrap()
            .to_luma8();
        let (w, h) = (g.width() as usize, g.height() as usize);
        for (nw, nh) in [
            (w / 2, h / 2),
            (w / 3, h / 7),
            (w - 1, h - 1),
            (1, 1),
            (w, h),
            (w * 2, 3),
        ] {
            let small = shrink(&g, nw as u32, nh as u32);
            assert_eq!(small.dimensions(), (nw as u32, nh as u32));
            let window = |i: usize, len: usize, new: usize| {
                let a = i * len / new;
                a..((i + 1) * len / new).max(a + 1).min(len)
            };
            for (i, j, p) in small.enumerate_pixels() {
                let (xs, ys) = (window(i as usize, w, nw), window(j as usize, h, nh));
                let n = (xs.len() * ys.len()) as u32;
                let sum: u32 = ys
                    .flat_map(|y| xs.clone().map(move |x| (x, y)))
                    .map(|(x, y)| u32::from(g.get_pixel(x as u32, y as u32).0[0]))
                    .sum();
                assert_eq!(p.0[0], ((sum + n / 2) / n) as u8, "{nw}x{nh} at {i},{j}");
            }
        }
    }
}
