//! Decoding: bytes in, upright pixels out.
//!
//! Media is recognised by its content (magic bytes), never by the file
//! name. Every decode runs behind [`Limits`]: the header's dimensions are
//! checked against the pixel cap before any pixel buffer is allocated, the
//! decoder's own allocation limit is set, and a decoder panic on malicious
//! input is caught here and turned into an error for that one file. The
//! EXIF orientation is applied here, so everything downstream sees the
//! picture the way a viewer shows it.

pub mod budget;
pub mod grey;
mod limits;
pub mod trim;
pub mod video;

pub use limits::Limits;

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, metadata::Orientation};

use crate::error::{Error, Result};

/// Image formats firstseen decodes, for error messages.
pub const SUPPORTED_IMAGES: &str = "JPEG, PNG, WebP, GIF, TIFF, BMP";

/// What the content of a file says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFormat {
    /// A still image (or the first frame of an animation) the `image`
    /// crate can decode.
    Image(ImageFormat),
}

impl MediaFormat {
    /// Short lowercase name: `jpeg`, `png`, ….
    pub fn name(&self) -> &'static str {
        match self {
            MediaFormat::Image(f) => image_format_name(*f),
        }
    }
}

fn image_format_name(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Png => "png",
        ImageFormat::WebP => "webp",
        ImageFormat::Gif => "gif",
        ImageFormat::Tiff => "tiff",
        ImageFormat::Bmp => "bmp",
        _ => "other",
    }
}

fn is_supported_image(f: ImageFormat) -> bool {
    matches!(
        f,
        ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::WebP
            | ImageFormat::Gif
            | ImageFormat::Tiff
            | ImageFormat::Bmp
    )
}

/// Recognises a supported medium from the first bytes of a file
/// (32 bytes suffice). Returns `None` for anything else.
pub fn sniff(head: &[u8]) -> Option<MediaFormat> {
    match image::guess_format(head) {
        Ok(f) if is_supported_image(f) => Some(MediaFormat::Image(f)),
        _ => None,
    }
}

/// A decoded still image, upright.
#[derive(Debug)]
pub struct DecodedImage {
    /// Pixels with the EXIF orientation already applied.
    pub image: DynamicImage,
    /// The container format.
    pub format: MediaFormat,
    /// EXIF orientation tag found in the file (1 = upright, 2..=8 otherwise).
    pub orientation: u8,
    /// The picture's share of the process's memory budget, held while
    /// it is in hand.
    pub memory: budget::Reservation,
    /// The picture's real size, upright: more than `image`'s when it was
    /// decoded at a reduced scale ([`decode_image_reduced`]).
    pub full_size: (u32, u32),
}

impl DecodedImage {
    /// Width after orientation.
    pub fn width(&self) -> u32 {
        self.image.width()
    }
    /// Height after orientation.
    pub fn height(&self) -> u32 {
        self.image.height()
    }
}

/// Decodes a still image from memory, behind `limits`.
///
/// # Errors
/// [`Error::Empty`] for no bytes, [`Error::UnsupportedFormat`] when the
/// content is not a supported image, [`Error::TooLarge`] when the header
/// announces more pixels than allowed, [`Error::Decode`] when the decoder
/// fails (including a decoder panic, which is caught).
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<DecodedImage> {
    decode_image_at(bytes, limits, None)
}

/// Shorter side the picture a JPEG's whole-picture hashes are computed
/// on keeps at least (PDQ filters a picture down to 64×64, pHash and
/// dHash to less): see [`hash_view`].
pub const HASH_MIN_SIDE: u32 = 512;

/// Shorter side a large JPEG is decoded to at least ([`decode_image_reduced`]):
/// twice the working size of local features, so they and the probes
/// inside a picture keep their detail.
pub const DETAIL_MIN_SIDE: u32 = 1280;

/// The picture a JPEG's whole-picture hashes (PDQ, pHash, dHash) are
/// computed on: `decoded` halved once, twice or three times by 2×2
/// averaging — the most keeping the shorter side at [`HASH_MIN_SIDE`]
/// or more — or
/// `decoded` itself when it is smaller than twice that, or not a JPEG.
/// A function of the decoded pixels only, so `hash`, `archive` and
/// `check` hash the same picture.
pub fn hash_view(decoded: &DecodedImage) -> std::borrow::Cow<'_, DynamicImage> {
    use std::borrow::Cow;
    let img = &decoded.image;
    let (w, h) = (img.width(), img.height());
    let Some(times) = [3, 2, 1]
        .into_iter()
        .find(|&t| w.min(h) >> t >= HASH_MIN_SIDE)
    else {
        return Cow::Borrowed(img);
    };
    match (decoded.format, img) {
        (MediaFormat::Image(ImageFormat::Jpeg), DynamicImage::ImageRgb8(rgb)) => {
            let (px, nw, nh) = grey::halve(rgb.as_raw(), w, h, 3, times);
            image::RgbImage::from_raw(nw, nh, px).map_or(Cow::Borrowed(img), |i| {
                Cow::Owned(DynamicImage::ImageRgb8(i))
            })
        }
        (MediaFormat::Image(ImageFormat::Jpeg), DynamicImage::ImageLuma8(g)) => {
            let (px, nw, nh) = grey::halve(g.as_raw(), w, h, 1, times);
            image::GrayImage::from_raw(nw, nh, px).map_or(Cow::Borrowed(img), |i| {
                Cow::Owned(DynamicImage::ImageLuma8(i))
            })
        }
        _ => Cow::Borrowed(img),
    }
}

/// How a JPEG is decoded, from its size alone (the same for every
/// command, so `hash`, `archive` and `check` hash the same picture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegPlan {
    /// Not a JPEG, or too small to reduce: decoded in full, hashed as is.
    Full,
    /// Shorter side 1,024–2,559: local features need the full decode;
    /// the hashes come from a second decode at a reduced DCT scale
    /// keeping [`HASH_MIN_SIDE`].
    HashScaled,
    /// Shorter side 2,560 or more: one decode at a reduced DCT scale
    /// keeping [`DETAIL_MIN_SIDE`]; the hashes come from it halved
    /// ([`hash_view`]).
    DetailScaled,
}

/// The [`JpegPlan`] for a file's bytes (its header only is read).
pub fn jpeg_plan(bytes: &[u8]) -> JpegPlan {
    let short = match sniff(bytes) {
        Some(MediaFormat::Image(ImageFormat::Jpeg)) => {
            ImageReader::with_format(Cursor::new(bytes), ImageFormat::Jpeg)
                .into_dimensions()
                .ok()
                .map(|(w, h)| w.min(h))
        }
        _ => None,
    };
    match short {
        Some(s) if s >= 2 * DETAIL_MIN_SIDE => JpegPlan::DetailScaled,
        Some(s) if s >= 2 * HASH_MIN_SIDE => JpegPlan::HashScaled,
        _ => JpegPlan::Full,
    }
}

/// The picture whose whole-picture hashes firstseen stores for a file,
/// decoded by its [`JpegPlan`] (what `analyze` hashes, alone, for
/// `hash`).
///
/// # Errors
/// As [`decode_image`].
pub fn decode_for_hashes(bytes: &[u8], limits: &Limits) -> Result<DecodedImage> {
    match jpeg_plan(bytes) {
        JpegPlan::Full => decode_image(bytes, limits),
        JpegPlan::HashScaled => decode_hash_scaled(bytes, limits),
        JpegPlan::DetailScaled => {
            let d = decode_image_reduced(bytes, limits, DETAIL_MIN_SIDE)?;
            let image = hash_view(&d).into_owned();
            Ok(DecodedImage { image, ..d })
        }
    }
}

/// [`decode_image`], but a JPEG whose shorter side is at least twice
/// `min_side` (firstseen uses [`DETAIL_MIN_SIDE`]) is decoded at a reduced DCT scale (1/2, 1/4 or 1/8: the
/// smallest keeping the shorter side at `min_side` or more), which
/// decodes a fraction of the coefficients and none of the discarded
/// pixels. Other formats, small JPEGs, truncated ones, and any JPEG the
/// scaling decoder cannot read are decoded in full, exactly as
/// [`decode_image`] does. The size checks are the same; `full_size` is
/// the real size.
///
/// # Errors
/// As [`decode_image`].
pub fn decode_image_reduced(bytes: &[u8], limits: &Limits, min_side: u32) -> Result<DecodedImage> {
    decode_image_at(
        bytes,
        limits,
        Some(Reduce {
            min_side,
            grey: false,
        }),
    )
}

/// The picture a [`JpegPlan::HashScaled`] JPEG's whole-picture hashes
/// are computed on: [`decode_image_reduced`] to [`HASH_MIN_SIDE`], but
/// a JPEG decoded at a reduced scale comes out grey — its luma (Y)
/// plane alone, which is what every whole-picture hash looks at: the
/// colour planes are entropy-decoded (they must be, to reach the next
/// block) but never transformed, upsampled or converted. A JPEG the
/// scaling decoder cannot read is decoded in full, in colour, as
/// [`decode_image`] does.
///
/// # Errors
/// As [`decode_image`].
pub fn decode_hash_scaled(bytes: &[u8], limits: &Limits) -> Result<DecodedImage> {
    decode_image_at(
        bytes,
        limits,
        Some(Reduce {
            min_side: HASH_MIN_SIDE,
            grey: true,
        }),
    )
}

/// How [`decode_image_at`] may reduce a JPEG: to a shorter side of
/// `min_side` at least, grey or in colour.
#[derive(Debug, Clone, Copy)]
struct Reduce {
    min_side: u32,
    grey: bool,
}

fn decode_image_at(bytes: &[u8], limits: &Limits, reduce: Option<Reduce>) -> Result<DecodedImage> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    if bytes.len() as u64 > limits.max_bytes {
        return Err(too_large_bytes(bytes.len() as u64, limits));
    }
    let format = match sniff(bytes) {
        Some(MediaFormat::Image(f)) => f,
        None => {
            return Err(Error::UnsupportedFormat {
                supported: SUPPORTED_IMAGES,
            });
        }
    };
    let name = image_format_name(format);
    match catch_unwind(AssertUnwindSafe(|| {
        decode_checked(bytes, format, limits, reduce)
    })) {
        Ok(result) => result,
        Err(panic) => Err(Error::Decode {
            format: name.to_string(),
            reason: format!("decoder crashed ({})", panic_message(&*panic)),
        }),
    }
}

pub(crate) fn too_large_bytes(actual: u64, limits: &Limits) -> Error {
    crate::walk::too_large(actual, limits.max_bytes)
}

fn decode_checked(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
    reduce: Option<Reduce>,
) -> Result<DecodedImage> {
    let name = image_format_name(format);
    let decode_err = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => Error::TooLarge {
            what: "decoder memory (bytes)",
            actual: limits.max_alloc().saturating_add(1),
            limit: limits.max_alloc(),
            hint: " (raise --max-pixels)",
        },
        other => Error::Decode {
            format: name.to_string(),
            reason: describe_decode_error(&other),
        },
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_alloc());
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if w == 0 || h == 0 {
        return Err(Error::Decode {
            format: name.to_string(),
            reason: format!("image has no pixels ({w}x{h})"),
        });
    }
    if pixels > limits.max_pixels {
        return Err(Error::TooLarge {
            what: "image size (pixels)",
            actual: pixels,
            limit: limits.max_pixels,
            hint: " (raise it with --max-pixels)",
        });
    }
    if let Some(most) = most_pixels(format, bytes.len())
        && pixels > most
    {
        return Err(Error::Decode {
            format: name.to_string(),
            reason: format!(
                "the header claims {w}x{h} pixels, more than {} bytes of {name} can hold: a lying or truncated header",
                bytes.len()
            ),
        });
    }
    // A broken EXIF block must not cost the picture: treat it as upright.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let upright = |(w, h): (u32, u32)| {
        let turned = matches!(
            orientation,
            Orientation::Rotate90
                | Orientation::Rotate270
                | Orientation::Rotate90FlipH
                | Orientation::Rotate270FlipH
        );
        if turned { (h, w) } else { (w, h) }
    };
    let scale = match reduce {
        Some(r) if format == ImageFormat::Jpeg && !jpeg_is_truncated(bytes) => [8, 4, 2]
            .into_iter()
            .find(|&s| w.min(h) / s >= r.min_side)
            .map(|s| (s, r.grey)),
        _ => None,
    };
    if let Some((s, grey)) = scale
        && let Some((mut image, memory)) = decode_jpeg_scaled(bytes, w, h, s, grey)
    {
        image.apply_orientation(orientation);
        return Ok(DecodedImage {
            image,
            format: MediaFormat::Image(format),
            orientation: orientation_tag(orientation),
            memory,
            full_size: upright((w, h)),
        });
    }
    // Wait for room in the memory budget before any pixel is allocated.
    let bytes_per_pixel = u64::from(decoder.color_type().bytes_per_pixel());
    let memory = budget::reserve(budget::picture_cost(pixels, bytes_per_pixel));
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_err)?;
    image.apply_orientation(orientation);
    Ok(DecodedImage {
        full_size: (image.width(), image.height()),
        image,
        format: MediaFormat::Image(format),
        orientation: orientation_tag(orientation),
        memory,
    })
}

/// A JPEG of `w`×`h` decoded at 1/`scale` by libjpeg-turbo's scaled
/// inverse DCT (through `turbojpeg`), before orientation, grey (the Y
/// plane of a colour JPEG) when `grey` is set; `None` when it
/// cannot (an error or a warning — corrupt data, CMYK, 12-bit or
/// lossless samples — or a size other than expected): the caller then
/// decodes in full.
fn decode_jpeg_scaled(
    bytes: &[u8],
    w: u32,
    h: u32,
    scale: u32,
    grey: bool,
) -> Option<(DynamicImage, budget::Reservation)> {
    use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};
    let mut d = Decompressor::new().ok()?;
    let header = d.read_header(bytes).ok()?;
    let format = match header.colorspace {
        Colorspace::Gray => PixelFormat::GRAY,
        Colorspace::YCbCr if grey => PixelFormat::GRAY,
        Colorspace::YCbCr | Colorspace::RGB => PixelFormat::RGB,
        _ => return None,
    };
    if header.is_lossless || (header.width, header.height) != (w as usize, h as usize) {
        return None;
    }
    let factor = ScalingFactor::new(1, scale as usize);
    d.set_scaling_factor(factor).ok()?;
    // Progressive files repeat scans to no limit otherwise (a known
    // denial of service); real encoders write a few dozen.
    d.set_scan_limit(500).ok()?;
    let scaled = header.scaled(factor);
    let want = (w.div_ceil(scale), h.div_ceil(scale));
    if (scaled.width, scaled.height) != (want.0 as usize, want.1 as usize) {
        return None;
    }
    let channels = format.size();
    let memory = budget::reserve(budget::picture_cost(
        u64::from(want.0) * u64::from(want.1),
        channels as u64,
    ));
    let mut out = Image {
        pixels: vec![0u8; channels * scaled.width * scaled.height],
        width: scaled.width,
        pitch: channels * scaled.width,
        height: scaled.height,
        format,
    };
    d.decompress(bytes, out.as_deref_mut()).ok()?;
    let (sw, sh) = want;
    let image = match format {
        PixelFormat::GRAY => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(sw, sh, out.pixels)?)
        }
        _ => DynamicImage::ImageRgb8(image::RgbImage::from_raw(sw, sh, out.pixels)?),
    };
    Some((image, memory))
}

/// Pixels a file of `len` bytes can plausibly hold, for formats whose
/// compression has a known ceiling (JPEG: a few bits per 8×8 block; PNG:
/// deflate's ~1000:1 on 1-bit rows), with a floor so small pictures are
/// never refused. Checked before any pixel buffer is allocated, so a
/// 633-byte file claiming 9999×9999 costs nothing.
fn most_pixels(format: ImageFormat, len: usize) -> Option<u64> {
    const PER_BYTE: u64 = 8192;
    const FLOOR: u64 = 16_000_000;
    matches!(format, ImageFormat::Jpeg | ImageFormat::Png)
        .then(|| (len as u64).saturating_mul(PER_BYTE).max(FLOOR))
}

/// True when a JPEG's last scan is not followed by its end-of-image
/// marker: the file was cut short (the decoder fills the rest with grey).
pub fn jpeg_is_truncated(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    // The last end-of-image marker, looked for from the end (where it
    // normally is); then a scan after it, or none at all, means truncated.
    // Equal to looking for an end-of-image after the last scan, without
    // reading the whole file twice.
    let marker = |at: usize, m: u8| bytes.get(at + 1) == Some(&m);
    let Some(eoi) = memchr::memrchr_iter(0xFF, bytes).find(|&i| marker(i, 0xD9)) else {
        return true;
    };
    let scan_in = |from: usize, to: usize| {
        memchr::memchr_iter(0xFF, &bytes[from..to]).any(|i| marker(from + i, 0xDA))
    };
    scan_in(eoi, bytes.len()) || !scan_in(0, eoi)
}

/// The decoder's message on one line, with an end-of-data read named
/// for what it is.
fn describe_decode_error(e: &image::ImageError) -> String {
    let msg = e.to_string().replace(['\n', '\r'], " ");
    let truncated = matches!(e, image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof)
        || msg.contains("failed to fill whole buffer");
    if truncated && !msg.contains("truncated") {
        format!("file is truncated ({msg})")
    } else {
        msg
    }
}

fn orientation_tag(o: Orientation) -> u8 {
    match o {
        Orientation::NoTransforms => 1,
        Orientation::FlipHorizontal => 2,
        Orientation::Rotate180 => 3,
        Orientation::FlipVertical => 4,
        Orientation::Rotate90FlipH => 5,
        Orientation::Rotate90 => 6,
        Orientation::Rotate270FlipH => 7,
        Orientation::Rotate270 => 8,
    }
}

/// Turns a caught panic into a message.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_garbage_are_errors() {
        let l = Limits::default();
        assert!(matches!(decode_image(b"", &l), Err(Error::Empty)));
        assert!(matches!(
            decode_image(b"hello, world, not an image", &l),
            Err(Error::UnsupportedFormat { .. })
        ));
    }

    #[test]
    fn pixel_cap_refuses_before_decoding() {
        let img = DynamicImage::new_rgb8(40, 30);
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let small = Limits {
            max_pixels: 1000,
            ..Limits::default()
        };
        match decode_image(&png, &small) {
            Err(Error::TooLarge { actual, limit, .. }) => {
                assert_eq!((actual, limit), (1200, 1000));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert_eq!(decode_image(&png, &Limits::default()).unwrap().width(), 40);
    }

    /// A colour JPEG's hash decode is grey: its Y plane at the reduced
    /// scale, the luma of the same decode in colour up to the rounding
    /// of the colour conversion (more only where the conversion clips a
    /// saturated colour: under 1% of pixels); a truncated one falls back to the full
    /// decode, in colour.
    #[test]
    fn hash_decode_of_a_colour_jpeg_is_its_luma() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(root.join("samples/photos/mate-FreshFlower.jpg")).unwrap();
        let l = Limits::default();
        assert_eq!(jpeg_plan(&bytes), JpegPlan::HashScaled);
        let grey = decode_hash_scaled(&bytes, &l).unwrap();
        let colour = decode_image_reduced(&bytes, &l, HASH_MIN_SIDE).unwrap();
        assert_eq!((grey.width(), grey.height()), (800, 602));
        assert_eq!(grey.full_size, (1600, 1203));
        let DynamicImage::ImageLuma8(y) = &grey.image else {
            panic!("hash decode not grey: {:?}", grey.image.color());
        };
        let rgb = colour.image.as_rgb8().expect("colour decode in RGB");
        let (mut far, mut total) = (0usize, 0i64);
        for (&v, p) in y.as_raw().iter().zip(rgb.as_raw().chunks_exact(3)) {
            let luma =
                (299 * i32::from(p[0]) + 587 * i32::from(p[1]) + 114 * i32::from(p[2]) + 500)
                    / 1000;
            let d = (i32::from(v) - luma).abs();
            far += usize::from(d > 1);
            total += i64::from(d);
        }
        let n = y.as_raw().len();
        let mean = total as f64 / n as f64;
        assert!(
            far * 100 < n && mean < 0.1,
            "{far} of {n} apart, mean {mean}"
        );
        assert_eq!(decode_for_hashes(&bytes, &l).unwrap().image, grey.image);
        let cut = decode_hash_scaled(&bytes[..bytes.len() / 2], &l).unwrap();
        assert!(cut.image.as_rgb8().is_some());
        assert_eq!(cut.width(), 1600);
    }

    /// The quick truncation check says what reading the whole file for
    /// the last scan and an end-of-image after it says: on real JPEGs
    /// cut at many places, with data after their end, and on short byte
    /// strings of markers.
    #[test]
    fn truncation_check_agrees_with_the_plain_definition() {
        fn plain(bytes: &[u8]) -> bool {
            if !bytes.starts_with(&[0xFF, 0xD8]) {
                return false;
            }
            match bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) {
                Some(at) => !bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9]),
                None => true,
            }
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/photos");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            if !bytes.starts_with(&[0xFF, 0xD8]) {
                continue;
            }
            assert!(!jpeg_is_truncated(&bytes));
            let step = (bytes.len() / 97).max(1);
            for cut in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
                assert_eq!(
                    jpeg_is_truncated(&bytes[..cut]),
                    plain(&bytes[..cut]),
                    "cut {cut}"
                );
            }
            let mut tail = bytes.clone();
            tail.extend_from_slice(&[0xFF, 0xDA, 0, 1, 0xFF, 0xD9, 7, 0xFF]);
            for extra in 0..=8 {
                let b = &tail[..bytes.len() + extra];
                assert_eq!(jpeg_is_truncated(b), plain(b), "extra {extra}");
            }
            checked += 1;
        }
        assert!(checked >= 3);
        // Every string of up to six bytes after the start-of-image marker
        // drawn from the bytes that matter.
        let alphabet = [0xFF, 0xD8, 0xD9, 0xDA, 0x00];
        let mut b = vec![0xFF, 0xD8];
        for n in 0..=6u32 {
            for code in 0..alphabet.len().pow(n) {
                b.truncate(2);
                let mut c = code;
                for _ in 0..n {
                    b.push(alphabet[c % alphabet.len()]);
                    c /= alphabet.len();
                }
                assert_eq!(jpeg_is_truncated(&b), plain(&b), "{b:02x?}");
            }
        }
    }
}
