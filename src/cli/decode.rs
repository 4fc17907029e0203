//! The limits and sampling of commands that decode pictures and videos
//! (`archive`, `check`, `hash`, `report`). They are given after the
//! command (`firstseen hash --max-bytes 1000 F`) or, as before, ahead of
//! it (`firstseen --max-bytes 1000 hash F`); after the command wins.

use firstseen::decode::Limits;
use firstseen::decode::video::{Sampling, VideoLimits};

/// Scene-change score above which a video frame is hashed even between
/// sampling points (ffmpeg's customary value for cuts).
const SCENE_THRESHOLD: f32 = 0.3;

/// Default of `--max-memory`.
const DEFAULT_MAX_MEMORY: u64 = 2 << 30;

/// Decoding limits and video sampling; each unset option takes its
/// default.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Decoding options")]
pub struct DecodeArgs {
    /// Refuse images with more pixels than this (decompression-bomb
    /// guard) [default: 100000000].
    #[arg(long, value_name = "N")]
    max_pixels: Option<u64>,

    /// Refuse files larger than this many bytes (a suffix K, M or G is
    /// allowed) [default: 1G].
    #[arg(long, value_name = "N", value_parser = super::parse_bytes)]
    max_bytes: Option<u64>,

    /// Memory for pictures being decoded and hashed at once, over all
    /// threads, in bytes (a suffix K, M or G is allowed). A picture that
    /// alone needs more runs alone [default: 2G].
    #[arg(long, value_name = "BYTES", value_parser = super::parse_bytes)]
    max_memory: Option<u64>,

    /// Video: hash one frame every SECS seconds (0 = every frame), plus
    /// frames at scene changes [default: 1].
    #[arg(long, value_name = "SECS", value_parser = non_negative)]
    frame_every: Option<f64>,

    /// Video: refuse videos longer than SECS seconds [default: 7200].
    #[arg(long, value_name = "SECS", value_parser = non_negative)]
    max_duration: Option<f64>,

    /// Video: stop after decoding N frames [default: 432000].
    #[arg(long, value_name = "N")]
    max_frames: Option<u64>,

    /// Video: refuse frames larger than N pixels [default: 8847360].
    #[arg(long, value_name = "N")]
    max_frame_pixels: Option<u64>,
}

impl DecodeArgs {
    /// These options, each unset one taken from `outer` (the options
    /// given ahead of the command).
    pub fn or(&self, outer: &DecodeArgs) -> DecodeArgs {
        DecodeArgs {
            max_pixels: self.max_pixels.or(outer.max_pixels),
            max_bytes: self.max_bytes.or(outer.max_bytes),
            max_memory: self.max_memory.or(outer.max_memory),
            frame_every: self.frame_every.or(outer.frame_every),
            max_duration: self.max_duration.or(outer.max_duration),
            max_frames: self.max_frames.or(outer.max_frames),
            max_frame_pixels: self.max_frame_pixels.or(outer.max_frame_pixels),
        }
    }

    /// The memory budget for pictures in hand.
    pub fn max_memory(&self) -> u64 {
        self.max_memory.unwrap_or(DEFAULT_MAX_MEMORY)
    }

    /// The library's limits.
    pub fn limits(&self) -> Limits {
        let video = VideoLimits::default();
        Limits {
            max_pixels: self.max_pixels.unwrap_or(Limits::DEFAULT_MAX_PIXELS),
            max_bytes: self.max_bytes.unwrap_or(Limits::DEFAULT_MAX_BYTES),
            video: VideoLimits {
                max_duration_secs: self.max_duration.unwrap_or(video.max_duration_secs),
                max_frames: self.max_frames.unwrap_or(video.max_frames),
                max_frame_pixels: self.max_frame_pixels.unwrap_or(video.max_frame_pixels),
                ..video
            },
            sampling: Sampling::every(self.frame_every.unwrap_or(1.0))
                .with_scene_threshold(SCENE_THRESHOLD),
        }
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("not a number of seconds (0 or more): '{s}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_librarys() {
        let l = DecodeArgs::default().limits();
        assert_eq!(l.max_pixels, Limits::DEFAULT_MAX_PIXELS);
        assert_eq!(l.max_bytes, Limits::DEFAULT_MAX_BYTES);
        assert_eq!(
            l.video.max_frames,
            VideoLimits::DEFAULT_MAX_FRAMES,
            "help text states the default"
        );
        assert_eq!(l.video.max_frame_pixels, 8_847_360);
        assert_eq!(DecodeArgs::default().max_memory(), DEFAULT_MAX_MEMORY);
    }

    #[test]
    fn after_the_command_wins() {
        let inner = DecodeArgs {
            max_bytes: Some(10),
            ..DecodeArgs::default()
        };
        let outer = DecodeArgs {
            max_bytes: Some(20),
            max_pixels: Some(30),
            ..DecodeArgs::default()
        };
        let l = inner.or(&outer).limits();
        assert_eq!((l.max_bytes, l.max_pixels), (10, 30));
    }
}
