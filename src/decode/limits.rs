//! Resource limits applied before and during decoding, so a hostile file
//! (a decompression bomb, a header claiming a gigapixel image) is refused
//! before it can exhaust memory.

use super::video::{Sampling, VideoLimits};

/// Limits on what firstseen agrees to decode, and how videos are sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest image (width × height, after any EXIF rotation) decoded.
    /// Default: 100 million pixels.
    pub max_pixels: u64,
    /// Largest file read, in bytes. Default: 1 GiB.
    pub max_bytes: u64,
    /// Duration, frame and frame-size limits for videos.
    pub video: VideoLimits,
    /// Which frames of a video are hashed.
    pub sampling: Sampling,
}

impl Limits {
    /// Default pixel cap: 100 megapixels (a 12000×8000 frame fits).
    pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;
    /// Default byte cap: 1 GiB.
    pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

    /// Bytes the decoder may allocate: room for the pixels at up to
    /// 16 bytes each (RGBA 32-bit float) plus slack for decoder tables.
    pub(crate) fn max_alloc(&self) -> u64 {
        self.max_pixels.saturating_mul(16).saturating_add(64 << 20)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            video: VideoLimits::default(),
            sampling: Sampling::default().with_scene_threshold(0.3),
        }
    }
}
