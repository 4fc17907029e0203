//! Edited copies of a photo in the forms pictures circulate: resized,
//! recompressed, cropped, mirrored, rotated, bordered, bannered,
//! stickered, in a phone screenshot, in a collage, … Shared by the match
//! quality bench (`bench/match_quality.rs`) and the tests, so both measure
//! the same edits. Deterministic: the same input gives the same copy.

#![allow(dead_code)]

use firstseen::matching::verify::{homography, project};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, Rgb, RgbImage};

/// An edit: the photo, the other photos (for a collage), its index.
pub type EditFn = fn(&RgbImage, &[RgbImage], usize) -> RgbImage;

/// Every edit: name and function. The first 15 are the edits of issue
/// #8; the rest are further forms seen on social media.
pub fn all() -> Vec<(&'static str, EditFn)> {
    vec![
        ("resize 50%", |im, _, _| scale(im, 0.5)),
        ("resize 25%", |im, _, _| scale(im, 0.25)),
        ("JPEG q30", |im, _, _| jpeg_round_trip(im, 30)),
        ("JPEG q70", |im, _, _| jpeg_round_trip(im, 70)),
        ("centre crop 90% of area", |im, _, _| {
            centre_crop(im, 0.9f64.sqrt())
        }),
        ("centre crop 70% of area", |im, _, _| {
            centre_crop(im, 0.7f64.sqrt())
        }),
        ("mirror", |im, _, _| imageops::flip_horizontal(im)),
        ("rotate 90°", |im, _, _| imageops::rotate90(im)),
        ("rotate 5° (canvas kept)", |im, _, _| {
            rotate_degrees(im, 5.0)
        }),
        ("10% white border", |im, _, _| {
            border(im, 0.1, Rgb([255, 255, 255]))
        }),
        ("text banner, bottom 15%", |im, _, i| banner(im, 0.15, i)),
        ("grayscale", |im, _, _| {
            DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(im.clone()).to_luma8()).to_rgb8()
        }),
        ("Gaussian blur r=2", |im, _, _| imageops::blur(im, 2.0)),
        ("brightness +30%", |im, _, _| brighten(im, 1.3)),
        ("phone screenshot", |im, _, i| screenshot(im, i, false)),
        // Beyond the list: what circulates on social media.
        ("off-centre crop (top left 60%)", |im, _, _| {
            let (w, h) = im.dimensions();
            let s = 0.6f64.sqrt();
            imageops::crop_imm(
                im,
                w / 20,
                h / 20,
                (f64::from(w) * s) as u32,
                (f64::from(h) * s) as u32,
            )
            .to_image()
        }),
        ("4:5 portrait crop", |im, _, _| portrait_crop(im)),
        ("rotate -3°, cropped straight", |im, _, _| {
            centre_crop(&rotate_degrees(im, -3.0), 0.86)
        }),
        ("stickers over corners", |im, _, i| stickers(im, i)),
        ("meme captions top and bottom", |im, _, i| meme(im, i)),
        ("dark-mode screenshot, small", |im, _, i| {
            screenshot(im, i, true)
        }),
        ("side-by-side collage", |im, others, i| {
            collage(im, &others[(i + 7) % others.len()])
        }),
        ("watermark text", |im, _, i| watermark(im, i)),
        ("forwarded (30%, q20)", |im, _, _| {
            jpeg_round_trip(&scale(im, 0.3), 20)
        }),
        ("stretched 10% wider", |im, _, _| {
            let (w, h) = im.dimensions();
            imageops::resize(im, w * 11 / 10, h, FilterType::Triangle)
        }),
        ("warmer colours, more contrast", |im, _, _| colour_grade(im)),
        ("screenshot of a screenshot", |im, _, i| {
            jpeg_round_trip(&scale(&screenshot(im, i, false), 0.5), 60)
        }),
        // The harder forms of issue #23.
        ("rotate 45° (canvas expanded)", |im, _, _| {
            rotate_expanded(im, 45.0)
        }),
        ("rotate by any angle (canvas expanded)", |im, _, i| {
            rotate_expanded(im, any_angle(i))
        }),
        ("centre crop 30% of area", |im, _, _| {
            centre_crop(im, 0.3f64.sqrt())
        }),
        ("photo of a screen at an angle", |im, _, i| {
            screen_photo(im, i)
        }),
    ]
}

/// An angle for photo `i`, spread over the whole turn (none within 10°
/// of a quarter turn, which PDQ's eight orientations already cover).
pub fn any_angle(i: usize) -> f64 {
    let a = (17.0 + 67.0 * i as f64).rem_euclid(360.0);
    let off = a.rem_euclid(90.0);
    if off < 10.0 {
        a + 10.0
    } else if off > 80.0 {
        a - 10.0
    } else {
        a
    }
}

/// Rotates about the centre onto a canvas large enough for the whole
/// picture; the uncovered corners black.
pub fn rotate_expanded(im: &RgbImage, deg: f64) -> RgbImage {
    let (fw, fh) = (f64::from(im.width()), f64::from(im.height()));
    let (s, c) = deg.to_radians().sin_cos();
    let nw = (fw * c.abs() + fh * s.abs()).ceil() as u32;
    let nh = (fw * s.abs() + fh * c.abs()).ceil() as u32;
    rotate_onto(im, deg, nw, nh)
}

/// The picture on a monitor (dark bezel, washed-out colours, a glare
/// spot) photographed from the side and a little above with a phone
/// (perspective, a slight roll, soft focus, sensor noise), as a 1600×1200
/// photo of the room. The angle and glare change with `seed`.
pub fn screen_photo(im: &RgbImage, seed: usize) -> RgbImage {
    let mut rng = Rng(0x005c_7ee4 ^ (seed as u64).wrapping_mul(0x9e37_79b9));
    // The monitor: the picture fitted to 1200 px wide, a bezel around.
    let pw = 1200u32;
    let ph = (im.height() * pw / im.width()).clamp(1, 1200);
    let pic = imageops::resize(im, pw, ph, FilterType::Triangle);
    let bezel = 40u32;
    let (mw, mh) = (pw + 2 * bezel, ph + 2 * bezel);
    let mut screen = RgbImage::from_pixel(mw, mh, Rgb([22, 22, 24]));
    // A screen shows the picture lighter and flatter.
    let glare = (
        f64::from(bezel) + rng.below(u64::from(pw)) as f64,
        f64::from(bezel) + rng.below(u64::from(ph)) as f64,
    );
    let glare_r = f64::from(pw) * (0.15 + rng.below(15) as f64 / 100.0);
    for (x, y, p) in pic.enumerate_pixels() {
        let (sx, sy) = (x + bezel, y + bezel);
        let d2 = (f64::from(sx) - glare.0).powi(2) + (f64::from(sy) - glare.1).powi(2);
        let g = 70.0 * (-d2 / (glare_r * glare_r)).exp();
        let q =
            p.0.map(|v| (f64::from(v) * 0.85 + 25.0 + g).min(255.0) as u8);
        screen.put_pixel(sx, sy, Rgb(q));
    }
    // Where its corners land in the photo: one side nearer the camera
    // (taller), the top edge further than the bottom, a slight roll.
    let (w, h) = (1600.0f64, 1200.0f64);
    let near = 0.80 + rng.below(10) as f64 / 100.0; // near side's height share
    let far = near * (0.62 + rng.below(16) as f64 / 100.0); // 20–35° or so
    let width = 0.70 + rng.below(10) as f64 / 100.0;
    let aspect = f64::from(mh) / f64::from(mw);
    let (left_h, right_h) = if seed.is_multiple_of(2) {
        (near, far)
    } else {
        (far, near)
    };
    let scale_h = (width * w * aspect / ((left_h + right_h) / 2.0 * h)).min(1.0);
    let (lh, rh) = (left_h * h * scale_h, right_h * h * scale_h);
    let (x0, x1) = ((w - width * w) / 2.0, (w + width * w) / 2.0);
    let tilt = 0.06 * (lh.min(rh)); // seen a little from above
    let cy = h / 2.0;
    let roll = (rng.below(7) as f64 - 3.0).to_radians();
    let turn = |(x, y): (f64, f64)| {
        let (dx, dy) = (x - w / 2.0, y - cy);
        let (s, c) = roll.sin_cos();
        (w / 2.0 + c * dx - s * dy, cy + s * dx + c * dy)
    };
    let to = [
        turn((x0, cy - lh / 2.0 + tilt)),
        turn((x1, cy - rh / 2.0 + tilt)),
        turn((x1, cy + rh / 2.0)),
        turn((x0, cy + lh / 2.0)),
    ];
    let from = [
        (0.0, 0.0),
        (f64::from(mw), 0.0),
        (f64::from(mw), f64::from(mh)),
        (0.0, f64::from(mh)),
    ];
    let back = homography(to, from).expect("a monitor's corners make a quadrilateral");
    let wall = [
        rng.below(60) as f64 + 120.0,
        rng.below(60) as f64 + 110.0,
        rng.below(60) as f64 + 100.0,
    ];
    let mut out = RgbImage::from_fn(w as u32, h as u32, |x, y| {
        project(&back, (f64::from(x) + 0.5, f64::from(y) + 0.5))
            .and_then(|(sx, sy)| bilinear(&screen, sx - 0.5, sy - 0.5))
            .unwrap_or_else(|| {
                let shade = 1.0 - 0.25 * f64::from(y) / h;
                Rgb(wall.map(|c| (c * shade) as u8))
            })
    });
    out = imageops::blur(&out, 1.0);
    for p in out.pixels_mut() {
        let n = rng.below(13) as i32 - 6;
        p.0 = p.0.map(|v| (i32::from(v) + n).clamp(0, 255) as u8);
    }
    out
}

pub fn scale(im: &RgbImage, f: f64) -> RgbImage {
    let (w, h) = im.dimensions();
    let nw = ((f64::from(w) * f).round() as u32).max(8);
    let nh = ((f64::from(h) * f).round() as u32).max(8);
    imageops::resize(im, nw, nh, FilterType::Lanczos3)
}

pub fn jpeg_bytes(im: &RgbImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, q)
        .encode_image(im)
        .expect("JPEG encoding in memory");
    out
}

pub fn jpeg_round_trip(im: &RgbImage, q: u8) -> RgbImage {
    image::load_from_memory(&jpeg_bytes(im, q))
        .expect("own JPEG decodes")
        .to_rgb8()
}

pub fn centre_crop(im: &RgbImage, linear: f64) -> RgbImage {
    let (w, h) = im.dimensions();
    let cw = (f64::from(w) * linear).round() as u32;
    let ch = (f64::from(h) * linear).round() as u32;
    imageops::crop_imm(im, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

pub fn portrait_crop(im: &RgbImage) -> RgbImage {
    let (w, h) = im.dimensions();
    let target_w = (h * 4 / 5).min(w);
    let target_h = (target_w * 5 / 4).min(h);
    imageops::crop_imm(
        im,
        (w - target_w) / 2,
        (h - target_h) / 2,
        target_w,
        target_h,
    )
    .to_image()
}

/// Rotates about the centre, keeping the canvas; uncovered corners black.
pub fn rotate_degrees(im: &RgbImage, deg: f64) -> RgbImage {
    rotate_onto(im, deg, im.width(), im.height())
}

/// Rotates about the centre onto a `w`×`h` canvas centred on the
/// picture's centre; uncovered parts black.
fn rotate_onto(im: &RgbImage, deg: f64, w: u32, h: u32) -> RgbImage {
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (f64::from(im.width()) / 2.0, f64::from(im.height()) / 2.0);
    let (ncx, ncy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let dx = f64::from(x) + 0.5 - ncx;
        let dy = f64::from(y) + 0.5 - ncy;
        // Inverse rotation: where this output pixel comes from.
        let sx = c * dx + s * dy + cx - 0.5;
        let sy = -s * dx + c * dy + cy - 0.5;
        bilinear(im, sx, sy).unwrap_or(Rgb([0, 0, 0]))
    })
}

pub fn bilinear(im: &RgbImage, x: f64, y: f64) -> Option<Rgb<u8>> {
    let (w, h) = im.dimensions();
    if x < 0.0 || y < 0.0 || x > f64::from(w - 1) || y > f64::from(h - 1) {
        return None;
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - f64::from(x0), y - f64::from(y0));
    let mut out = [0u8; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let p = |xx, yy| f64::from(im.get_pixel(xx, yy).0[k]);
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bot = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        *o = (top * (1.0 - fy) + bot * fy).round() as u8;
    }
    Some(Rgb(out))
}

pub fn border(im: &RgbImage, share: f64, colour: Rgb<u8>) -> RgbImage {
    let (w, h) = im.dimensions();
    let b = (f64::from(w) * share).round() as u32;
    let mut out = RgbImage::from_pixel(w + 2 * b, h + 2 * b, colour);
    imageops::overlay(&mut out, im, i64::from(b), i64::from(b));
    out
}

pub fn brighten(im: &RgbImage, f: f64) -> RgbImage {
    let mut out = im.clone();
    for p in out.pixels_mut() {
        for c in &mut p.0 {
            *c = (f64::from(*c) * f).min(255.0) as u8;
        }
    }
    out
}

pub fn colour_grade(im: &RgbImage) -> RgbImage {
    let mut out = im.clone();
    for p in out.pixels_mut() {
        let [r, g, b] = p.0.map(f64::from);
        let con = |v: f64| ((v - 128.0) * 1.25 + 128.0).clamp(0.0, 255.0);
        p.0 = [
            con(r * 1.08 + 10.0) as u8,
            con(g) as u8,
            con(b * 0.88) as u8,
        ];
    }
    out
}

/// A tiny generator so edits are the same on every run.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Draws a line of text-like glyphs (5×7 cells, random but fixed
/// shapes, spaces between words) `px` pixels high.
pub fn text(img: &mut RgbImage, x: u32, y: u32, px: u32, chars: usize, colour: Rgb<u8>, seed: u64) {
    let mut rng = Rng(seed);
    let cell = (px / 7).max(1);
    let mut cx = x;
    for i in 0..chars {
        if i % (3 + (seed as usize + i) % 6) == 5 || rng.below(7) == 0 {
            cx += cell * 4;
            continue;
        }
        let glyph = rng.next();
        for gy in 0..7 {
            for gx in 0..5 {
                if glyph >> (gy * 5 + gx) & 1 == 1 || (gx == 0 && gy > 1) {
                    fill(img, cx + gx * cell, y + gy * cell, cell, cell, colour);
                }
            }
        }
        cx += cell * 6;
        if cx + cell * 6 >= img.width() {
            break;
        }
    }
}

pub fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, colour: Rgb<u8>) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, colour);
        }
    }
}

pub fn disc(img: &mut RgbImage, cx: i64, cy: i64, r: i64, colour: Rgb<u8>) {
    for y in (cy - r).max(0)..(cy + r).min(i64::from(img.height())) {
        for x in (cx - r).max(0)..(cx + r).min(i64::from(img.width())) {
            if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                img.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}

pub fn banner(im: &RgbImage, share: f64, seed: usize) -> RgbImage {
    let mut out = im.clone();
    let (w, h) = im.dimensions();
    let bh = (f64::from(h) * share).round() as u32;
    fill(&mut out, 0, h - bh, w, bh, Rgb([180, 20, 30]));
    let line = (bh / 3).max(7);
    text(
        &mut out,
        w / 30,
        h - bh + bh / 2 - line / 2,
        line,
        40,
        Rgb([255, 255, 255]),
        seed as u64,
    );
    out
}

pub fn meme(im: &RgbImage, seed: usize) -> RgbImage {
    let mut out = im.clone();
    let (w, h) = im.dimensions();
    let line = (h / 14).max(7);
    text(
        &mut out,
        w / 12,
        h / 40,
        line,
        18,
        Rgb([255, 255, 255]),
        seed as u64 + 1,
    );
    text(
        &mut out,
        w / 10,
        h - line - h / 40,
        line,
        18,
        Rgb([255, 255, 255]),
        seed as u64 + 2,
    );
    out
}

pub fn watermark(im: &RgbImage, seed: usize) -> RgbImage {
    let (w, h) = im.dimensions();
    let mut layer = RgbImage::from_pixel(w, h, Rgb([0, 0, 0]));
    let line = (h / 12).max(7);
    text(
        &mut layer,
        w / 8,
        h / 2 - line / 2,
        line,
        14,
        Rgb([255, 255, 255]),
        seed as u64 + 9,
    );
    let mut out = im.clone();
    for (o, m) in out.pixels_mut().zip(layer.pixels()) {
        if m.0[0] > 0 {
            for c in &mut o.0 {
                *c = ((u16::from(*c) + 2 * 255) / 3) as u8;
            }
        }
    }
    out
}

pub fn stickers(im: &RgbImage, seed: usize) -> RgbImage {
    let mut out = im.clone();
    let (w, h) = im.dimensions();
    let r = i64::from(w.min(h) / 9);
    let (w, h) = (i64::from(w), i64::from(h));
    disc(&mut out, w - r * 3 / 2, r * 3 / 2, r, Rgb([255, 210, 0]));
    disc(&mut out, w - r * 2, r * 5 / 4, r / 6, Rgb([40, 20, 0]));
    disc(&mut out, w - r, r * 5 / 4, r / 6, Rgb([40, 20, 0]));
    disc(
        &mut out,
        r * 3 / 2,
        h - r * 3 / 2,
        r * 4 / 5,
        Rgb([230, 30, 90]),
    );
    let line = (r / 2).max(7) as u32;
    text(
        &mut out,
        (r / 2) as u32,
        (h - r / 2 - i64::from(line)) as u32,
        line,
        6,
        Rgb([255, 255, 255]),
        seed as u64,
    );
    out
}

pub fn collage(im: &RgbImage, other: &RgbImage) -> RgbImage {
    let h = 800;
    let a = imageops::resize(
        im,
        (im.width() * h / im.height()).max(1),
        h,
        FilterType::Triangle,
    );
    let b = imageops::resize(
        other,
        (other.width() * h / other.height()).max(1),
        h,
        FilterType::Triangle,
    );
    let mut out = RgbImage::from_pixel(a.width() + b.width() + 12, h, Rgb([255, 255, 255]));
    imageops::overlay(&mut out, &a, 0, 0);
    imageops::overlay(&mut out, &b, i64::from(a.width()) + 12, 0);
    out
}

/// A phone screenshot of a post: 1080×2340, status bar, app header,
/// the photo across the width (or inside margins), caption and buttons.
pub fn screenshot(im: &RgbImage, seed: usize, dark: bool) -> RgbImage {
    let (bg, fg, sub) = if dark {
        (
            Rgb([16, 18, 22]),
            Rgb([235, 235, 235]),
            Rgb([130, 130, 140]),
        )
    } else {
        (
            Rgb([255, 255, 255]),
            Rgb([20, 20, 20]),
            Rgb([120, 120, 120]),
        )
    };
    let mut out = RgbImage::from_pixel(1080, 2340, bg);
    let s = seed as u64 * 31;
    // Status bar: time, signal, battery.
    text(&mut out, 50, 30, 35, 5, fg, s);
    fill(&mut out, 900, 34, 60, 28, fg);
    fill(&mut out, 830, 44, 12, 18, fg);
    fill(&mut out, 850, 38, 12, 24, fg);
    // App header: avatar, name, handle, menu.
    disc(&mut out, 90, 190, 50, Rgb([70, 120, 200]));
    text(&mut out, 170, 150, 35, 14, fg, s + 1);
    text(&mut out, 170, 200, 28, 18, sub, s + 2);
    fill(&mut out, 990, 180, 12, 12, fg);
    fill(&mut out, 1010, 180, 12, 12, fg);
    // The photo.
    let margin = if dark { 140 } else { 0 };
    let pw = 1080 - 2 * margin;
    let ph = (im.height() * pw / im.width()).clamp(1, 1500);
    let pic = imageops::resize(im, pw, ph, FilterType::Triangle);
    let top = 270;
    imageops::overlay(&mut out, &pic, i64::from(margin), top);
    // Buttons and caption.
    let below = top as u32 + ph + 30;
    for k in 0..4 {
        disc(&mut out, 70 + k * 110, i64::from(below) + 30, 26, sub);
    }
    for line in 0..3 {
        text(
            &mut out,
            40,
            below + 100 + line * 60,
            34,
            28,
            fg,
            s + 10 + u64::from(line),
        );
    }
    text(&mut out, 40, below + 300, 26, 12, sub, s + 20);
    out
}

/// A picture and tiles and crops of it, for the negative set.
pub fn derived(im: &RgbImage, seed: u64, crops: usize) -> Vec<RgbImage> {
    let (w, h) = im.dimensions();
    let mut out = vec![im.clone()];
    if w < 64 || h < 64 {
        return out;
    }
    let crop = |x: u32, y: u32, cw: u32, ch: u32| imageops::crop_imm(im, x, y, cw, ch).to_image();
    // 2×2 tiles.
    for ty in 0..2 {
        for tx in 0..2 {
            out.push(crop(tx * w / 2, ty * h / 2, w / 2, h / 2));
        }
    }
    // Centre crop and fixed random crops.
    out.push(centre_crop(im, 0.6));
    let mut rng = Rng(seed ^ 0xabc);
    for _ in 0..crops {
        let cw = w / 3 + rng.below(u64::from(w / 2)) as u32;
        let ch = h / 3 + rng.below(u64::from(h / 2)) as u32;
        let x = rng.below(u64::from(w - cw + 1)) as u32;
        let y = rng.below(u64::from(h - ch + 1)) as u32;
        out.push(crop(x, y, cw, ch));
    }
    // 3×3 tiles.
    for ty in 0..3 {
        for tx in 0..3 {
            out.push(crop(tx * w / 3, ty * h / 3, w / 3, h / 3));
        }
    }
    out
}
