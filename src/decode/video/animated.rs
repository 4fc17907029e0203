//! Animated GIF, WebP and APNG through the `image` crate's animation
//! decoders. Frames come out composited onto the full canvas; their delays
//! give the timestamps. Alpha is dropped (not composited), as for stills.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, DynamicImage, Frames, ImageDecoder};

use super::{
    Container, Decoder, Frame, Pick, Sampler, Sampling, Thumb, VideoInfo, VideoLimits, Warnings,
    panic_message,
};
use crate::error::{Error, Result};

/// Browsers show frames with a delay of 10 ms or less for 100 ms; so do we,
/// or a GIF with zero delays would have every frame at time 0.
const MIN_DELAY: Duration = Duration::from_millis(10);
const DEFAULT_DELAY: Duration = Duration::from_millis(100);

pub(super) fn decode(
    bytes: &[u8],
    container: Container,
    limits: &VideoLimits,
    sampling: &Sampling,
    on_frame: &mut dyn FnMut(Frame) -> Result<()>,
) -> Result<VideoInfo> {
    let name = container.name();
    let decode_error = |reason: String| Error::Decode {
        format: name.to_string(),
        reason,
    };
    let opened = catch_unwind(AssertUnwindSafe(|| open(bytes, container, limits)));
    let (frames, (width, height)) = match opened {
        Ok(r) => r?,
        Err(panic) => {
            return Err(decode_error(format!(
                "decoder crashed ({})",
                panic_message(&*panic)
            )));
        }
    };
    let mut frames = frames;
    let mut sampler = Sampler::new(sampling);
    let mut warnings = Warnings::default();
    let (mut decoded, mut emitted) = (0u64, 0u64);
    let mut t = Duration::ZERO;
    loop {
        let next = match catch_unwind(AssertUnwindSafe(|| frames.next())) {
            Ok(None) => break,
            Ok(Some(Ok(f))) => f,
            Ok(Some(Err(e))) if decoded > 0 => {
                warnings.push(format!("frame {decoded}: {e}; kept the frames before it"));
                break;
            }
            Ok(Some(Err(e))) => return Err(image_error(e, name, limits)),
            Err(panic) if decoded > 0 => {
                warnings.push(format!(
                    "the decoder crashed at frame {decoded} ({}); kept the frames before it",
                    panic_message(&*panic)
                ));
                break;
            }
            Err(panic) => {
                return Err(decode_error(format!(
                    "decoder crashed ({})",
                    panic_message(&*panic)
                )));
            }
        };
        decoded += 1;
        limits.check_frames(decoded)?;
        let ts = t.as_secs_f64();
        limits.check_duration(ts)?;
        let (num, den) = next.delay().numer_denom_ms();
        let delay = Duration::from_secs_f64(f64::from(num) / f64::from(den.max(1)) / 1000.0);
        t += if delay <= MIN_DELAY {
            DEFAULT_DELAY
        } else {
            delay
        };
        let buffer = next.into_buffer();
        limits.check_pixels(buffer.width(), buffer.height())?;
        let rgb = DynamicImage::ImageRgba8(buffer).into_rgb8();
        let thumb = if sampler.wants_thumb() {
            Thumb::from_rgb(&rgb)
        } else {
            None
        };
        let pick = sampler.pick(ts, thumb);
        if pick == Pick::Skip {
            continue;
        }
        emitted += 1;
        on_frame(Frame {
            index: decoded - 1,
            timestamp_secs: ts,
            scene_change: pick == Pick::Scene,
            image: rgb,
        })?;
    }
    if decoded == 0 {
        return Err(decode_error("no frame could be decoded".to_string()));
    }
    Ok(VideoInfo {
        container,
        codec: match container {
            Container::AnimatedWebp => "webp",
            Container::Apng => "apng",
            _ => "gif",
        }
        .to_string(),
        width,
        height,
        duration_secs: t.as_secs_f64(),
        frames_decoded: decoded,
        frames_emitted: emitted,
        decoder: Decoder::Image,
        warnings: warnings.into_vec(),
    })
}

/// Opens the animation after checking the canvas size against the limits.
fn open<'a>(
    bytes: &'a [u8],
    container: Container,
    limits: &VideoLimits,
) -> Result<(Frames<'a>, (u32, u32))> {
    let name = container.name();
    let err = |e| image_error(e, name, limits);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(max_alloc(limits));
    let cursor = Cursor::new(bytes);
    match container {
        Container::AnimatedGif => {
            let mut d = GifDecoder::new(cursor).map_err(err)?;
            d.set_limits(decoder_limits).map_err(err)?;
            let dims = checked_dims(d.dimensions(), limits, name)?;
            Ok((d.into_frames(), dims))
        }
        Container::AnimatedWebp => {
            let mut d = WebPDecoder::new(cursor).map_err(err)?;
            d.set_limits(decoder_limits).map_err(err)?;
            let dims = checked_dims(d.dimensions(), limits, name)?;
            Ok((d.into_frames(), dims))
        }
        _ => {
            let d = PngDecoder::with_limits(cursor, decoder_limits).map_err(err)?;
            let dims = checked_dims(d.dimensions(), limits, name)?;
            Ok((d.apng().map_err(err)?.into_frames(), dims))
        }
    }
}

fn checked_dims(dims: (u32, u32), limits: &VideoLimits, name: &str) -> Result<(u32, u32)> {
    if dims.0 == 0 || dims.1 == 0 {
        return Err(Error::Decode {
            format: name.to_string(),
            reason: format!("animation has no pixels ({}x{})", dims.0, dims.1),
        });
    }
    limits.check_pixels(dims.0, dims.1)?;
    Ok(dims)
}

/// Room for a few RGBA canvases plus decoder tables.
fn max_alloc(limits: &VideoLimits) -> u64 {
    limits
        .max_frame_pixels
        .saturating_mul(16)
        .saturating_add(64 << 20)
}

fn image_error(e: image::ImageError, name: &str, limits: &VideoLimits) -> Error {
    match e {
        image::ImageError::Limits(_) => Error::TooLarge {
            what: "decoder memory (bytes)",
            actual: max_alloc(limits).saturating_add(1),
            limit: max_alloc(limits),
            hint: " (raise --max-pixels)",
        },
        other => Error::Decode {
            format: name.to_string(),
            reason: other.to_string(),
        },
    }
}
