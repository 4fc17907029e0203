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
    let src = g.as_raw();
    let xs: Vec<(usize, usize)> = (0..nw)
        .map(|i| {
            let a = i * w / nw;
            (a, ((i + 1) * w / nw).max(a + 1).min(w))
        })
        .collect();
    let mut out = vec![0u8; nw * nh];
    let mut acc = vec![0u32; nw];
    for j in 0..nh {
        let y0 = j * h / nh;
        let y1 = ((j + 1) * h / nh).max(y0 + 1).min(h);
        acc.iter_mut().for_each(|a| *a = 0);
        for y in y0..y1 {
            let row = &src[y * w..(y + 1) * w];
            for (a, &(x0, x1)) in acc.iter_mut().zip(&xs) {
                *a += row[x0..x1].iter().map(|&v| u32::from(v)).sum::<u32>();
            }
        }
        for (i, (&a, &(x0, x1))) in acc.iter().zip(&xs).enumerate() {
            let n = ((x1 - x0) * (y1 - y0)) as u32;
            out[j * nw + i] = ((a + n / 2) / n) as u8;
        }
    }
    GrayImage::from_raw(nw as u32, nh as u32, out).unwrap_or_default()
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
}
