//! Makes an altered copy of a photo, the way images get altered as they
//! circulate: crop, mirror, rotate, resize, border, JPEG recompression.
//! Used to make `samples/circulating/` and to try firstseen by hand.
//!
//! ```text
//! cargo run --release --example derive -- IN OUT [--crop F] [--mirror]
//!     [--rotate90] [--resize F] [--border PX] [--quality Q]
//! ```
//! Steps apply in that order. OUT's extension picks the format; JPEG uses
//! `--quality` (default 75).

use std::process::ExitCode;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("derive: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (input, output) = match (args.next(), args.next()) {
        (Some(i), Some(o)) => (i, o),
        _ => return Err("usage: derive IN OUT [options]".into()),
    };
    let mut img = image::open(&input)?;
    let mut quality = 75u8;
    let mut rest: Vec<String> = args.collect();
    rest.reverse();
    let next_num = |rest: &mut Vec<String>, flag: &str| -> Result<f64, String> {
        rest.pop()
            .and_then(|v| v.parse().ok())
            .ok_or(format!("{flag} needs a number"))
    };
    while let Some(flag) = rest.pop() {
        match flag.as_str() {
            "--crop" => {
                let f = next_num(&mut rest, "--crop")?.clamp(0.1, 1.0);
                let (w, h) = (img.width(), img.height());
                let (cw, ch) = ((f64::from(w) * f) as u32, (f64::from(h) * f) as u32);
                img = img.crop_imm((w - cw) / 2, (h - ch) / 2, cw.max(1), ch.max(1));
            }
            "--mirror" => img = img.fliph(),
            "--rotate90" => img = img.rotate90(),
            "--resize" => {
                let f = next_num(&mut rest, "--resize")?;
                let w = ((f64::from(img.width()) * f) as u32).max(1);
                let h = ((f64::from(img.height()) * f) as u32).max(1);
                img = img.resize_exact(w, h, FilterType::Triangle);
            }
            "--border" => {
                let px = next_num(&mut rest, "--border")? as u32;
                let rgb = img.to_rgb8();
                let mut out = RgbImage::from_pixel(
                    rgb.width() + 2 * px,
                    rgb.height() + 2 * px,
                    Rgb([245, 245, 245]),
                );
                image::imageops::overlay(&mut out, &rgb, i64::from(px), i64::from(px));
                img = DynamicImage::ImageRgb8(out);
            }
            "--quality" => quality = next_num(&mut rest, "--quality")?.clamp(1.0, 100.0) as u8,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    if output.ends_with(".jpg") || output.ends_with(".jpeg") {
        let file = std::fs::File::create(&output)?;
        let mut enc = JpegEncoder::new_with_quality(std::io::BufWriter::new(file), quality);
        enc.encode_image(&DynamicImage::ImageRgb8(img.to_rgb8()))?;
    } else {
        img.save(&output)?;
    }
    Ok(())
}
