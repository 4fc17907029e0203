//! Video and animated-image decoding: bytes in, sampled RGB frames out.
//!
//! Three backends, chosen by content, never by file name:
//!
//! * **Embedded H.264** ([`Decoder::OpenH264`]): MP4/MOV/M4V with an `avc1`
//!   track are demuxed with the `mp4` crate and decoded with OpenH264,
//!   which cargo compiles from bundled source. This path needs no system
//!   package, so the commonest video format works on a bare machine.
//! * **ffmpeg** ([`Decoder::Ffmpeg`]): everything else (WebM/VP8/VP9,
//!   HEVC, AV1, AVI, MPEG-TS, …) runs the `ffmpeg` program as a
//!   subprocess. It is found on `PATH`, or at the path in the environment
//!   variable `FIRSTSEEN_FFMPEG`. When it is absent, the error says which
//!   package provides it.
//! * **`image`** ([`Decoder::Image`]): animated GIF, WebP and APNG. A still
//!   (single-frame) GIF, WebP or PNG is not a video: [`sniff_video`]
//!   returns `None` for it and it goes through [`super::decode_image`].
//!
//! Every decode runs behind [`VideoLimits`] (duration, decoded frames,
//! pixels per frame), checked against the container's header before any
//! frame is decoded and again while decoding. A truncated or corrupt
//! stream yields the frames decoded so far plus a warning in
//! [`VideoInfo::warnings`], or a clear error when nothing could be
//! decoded; a panic inside the demuxer or decoder becomes an error, and
//! ffmpeg is killed when it stops making progress.
//!
//! Frames are handed to a callback one at a time, in presentation order,
//! so a two-hour video never sits in memory. [`Sampling`] chooses which
//! frames are converted to RGB and handed over: the first frame of every
//! `every_secs` slot (default: one per second), optionally every frame,
//! optionally also frames at scene changes.

mod animated;
mod embedded;
mod ffmpeg;
mod h264;
mod sniff;

pub use embedded::{FrameSink, RUN_SECS};
pub use ffmpeg::find_ffmpeg;
pub use sniff::{Container, is_animated, sniff_video};

use std::fmt;

use image::RgbImage;

use crate::error::{Error, Result};

/// Limits on what a video decode may cost. A value over a limit is refused
/// with [`Error::TooLarge`]; the header is checked before decoding, and
/// the decoded stream again while decoding (headers can lie).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoLimits {
    /// Longest video decoded, in seconds. Default: 2 hours.
    pub max_duration_secs: f64,
    /// Most frames decoded (not just emitted): bounds the decoding work.
    /// Default: 432,000 (2 hours at 60 frames/s).
    pub max_frames: u64,
    /// Largest frame, in pixels (width × height). Default: 8,847,360
    /// (4096×2160, DCI 4K; UHD 3840×2160 fits).
    pub max_frame_pixels: u64,
    /// The ffmpeg subprocess is killed when it makes no progress (no
    /// decoded frame, no output) for this many seconds. Default: 60.
    pub stall_timeout_secs: f64,
}

impl VideoLimits {
    /// Default [`VideoLimits::max_duration_secs`]: 2 hours.
    pub const DEFAULT_MAX_DURATION_SECS: f64 = 2.0 * 3600.0;
    /// Default [`VideoLimits::max_frames`]: 2 hours at 60 frames/s.
    pub const DEFAULT_MAX_FRAMES: u64 = 2 * 3600 * 60;
    /// Default [`VideoLimits::max_frame_pixels`]: 4096×2160.
    pub const DEFAULT_MAX_FRAME_PIXELS: u64 = 4096 * 2160;
    /// Default [`VideoLimits::stall_timeout_secs`].
    pub const DEFAULT_STALL_TIMEOUT_SECS: f64 = 60.0;

    fn check_duration(&self, secs: f64) -> Result<()> {
        if secs > self.max_duration_secs {
            return Err(Error::TooLarge {
                what: "video duration (seconds)",
                actual: secs.ceil() as u64,
                limit: self.max_duration_secs as u64,
                hint: " (raise it with --max-duration)",
            });
        }
        Ok(())
    }

    fn check_frames(&self, frames: u64) -> Result<()> {
        if frames > self.max_frames {
            return Err(Error::TooLarge {
                what: "video frames",
                actual: frames,
                limit: self.max_frames,
                hint: " (raise it with --max-frames)",
            });
        }
        Ok(())
    }

    fn check_pixels(&self, width: u32, height: u32) -> Result<()> {
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_frame_pixels {
            return Err(Error::TooLarge {
                what: "video frame size (pixels)",
                actual: pixels,
                limit: self.max_frame_pixels,
                hint: " (raise it with --max-pixels)",
            });
        }
        Ok(())
    }
}

impl Default for VideoLimits {
    fn default() -> Self {
        VideoLimits {
            max_duration_secs: Self::DEFAULT_MAX_DURATION_SECS,
            max_frames: Self::DEFAULT_MAX_FRAMES,
            max_frame_pixels: Self::DEFAULT_MAX_FRAME_PIXELS,
            stall_timeout_secs: Self::DEFAULT_STALL_TIMEOUT_SECS,
        }
    }
}

/// Which decoded frames are converted to RGB and handed to the caller.
///
/// A frame is emitted when it is the first frame of its `every_secs` slot
/// (slots are `[k·every_secs, (k+1)·every_secs)` on the presentation
/// timeline, which starts at 0), or, with `scene_threshold`, when it
/// differs sharply from the frame decoded just before it. Frame 0 is
/// always emitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Slot length in seconds; `0.0` emits every decoded frame.
    /// Default: 1.0 (one frame per second).
    pub every_secs: f64,
    /// Also emit frames at scene changes (cuts) when set, in `(0, 1]`.
    ///
    /// The score is ffmpeg's `select` scene score:
    /// `min(mafd, |mafd − previous mafd|) / 100`, where `mafd` is the mean
    /// absolute luma difference (0–255) to the previous decoded frame. The
    /// embedded and `image` backends compute it on a 32×32 grey thumbnail
    /// (sampled from the luma plane, so it costs no RGB conversion), the
    /// ffmpeg backend on the full frame; both are on the same scale, and
    /// 0.3 is ffmpeg's customary value for cuts. Default: `None`.
    pub scene_threshold: Option<f32>,
}

impl Sampling {
    /// Emits every decoded frame (for frame-exact comparisons like vPDQ's).
    pub fn every_frame() -> Sampling {
        Sampling {
            every_secs: 0.0,
            scene_threshold: None,
        }
    }

    /// Emits the first frame of every `secs`-second slot.
    pub fn every(secs: f64) -> Sampling {
        Sampling {
            every_secs: secs,
            scene_threshold: None,
        }
    }

    /// Also emits frames whose scene score exceeds `threshold`.
    pub fn with_scene_threshold(self, threshold: f32) -> Sampling {
        Sampling {
            scene_threshold: Some(threshold),
            ..self
        }
    }

    fn is_every_frame(&self) -> bool {
        self.every_secs == 0.0
    }

    fn validate(&self) -> Result<()> {
        if !self.every_secs.is_finite() || self.every_secs < 0.0 {
            return Err(Error::Invalid {
                what: "sampling interval",
                reason: format!("{} is not a number of seconds ≥ 0", self.every_secs),
            });
        }
        if let Some(t) = self.scene_threshold
            && !(t > 0.0 && t <= 1.0)
        {
            return Err(Error::Invalid {
                what: "scene threshold",
                reason: format!("{t} is not in (0, 1]"),
            });
        }
        Ok(())
    }
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling::every(1.0)
    }
}

/// The backend that decoded a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// The embedded OpenH264 decoder (MP4/MOV with H.264); no ffmpeg used.
    OpenH264,
    /// The `ffmpeg` program.
    Ffmpeg,
    /// The `image` crate (animated GIF, WebP, APNG).
    Image,
}

impl Decoder {
    /// `"openh264"`, `"ffmpeg"` or `"image"`.
    pub fn name(&self) -> &'static str {
        match self {
            Decoder::OpenH264 => "openh264",
            Decoder::Ffmpeg => "ffmpeg",
            Decoder::Image => "image",
        }
    }
}

impl fmt::Display for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a decode found out about a video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// The container, recognised by content.
    pub container: Container,
    /// Video codec, lowercase as ffmpeg names it: `h264`, `vp9`, `hevc`,
    /// `gif`, …
    pub codec: String,
    /// Width of the emitted frames (after any rotation the container asks
    /// for).
    pub width: u32,
    /// Height of the emitted frames.
    pub height: u32,
    /// Duration in seconds, from the container where it says, else from
    /// the decoded frames.
    pub duration_secs: f64,
    /// Frames decoded (every frame, not just the emitted ones).
    pub frames_decoded: u64,
    /// Frames handed to the callback.
    pub frames_emitted: u64,
    /// The backend used.
    pub decoder: Decoder,
    /// Problems that did not stop the decode: a truncated stream, frames
    /// the decoder rejected, a fallback from one backend to another.
    pub warnings: Vec<String>,
}

/// One decoded frame handed to the caller.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Presentation-order frame number among all decoded frames (0-based),
    /// so with [`Sampling::every_frame`] it counts 0, 1, 2, ….
    pub index: u64,
    /// Presentation time in seconds; the first frame is at 0.
    pub timestamp_secs: f64,
    /// True when the frame was emitted for its scene score rather than
    /// for its slot.
    pub scene_change: bool,
    /// The pixels, upright.
    pub image: RgbImage,
}

/// Decodes a video (or animated image) from memory and calls `on_frame`
/// for each frame the `sampling` selects, in presentation order.
///
/// The backend is chosen by content (see the module docs). H.264 in MP4
/// never needs ffmpeg; when the embedded decoder cannot handle a file
/// (another codec, a fragmented MP4, a High 10 or interlaced stream, a
/// container it cannot parse) ffmpeg is used if present, and a warning
/// records the fallback.
///
/// Returning an error from `on_frame` stops the decode and returns that
/// error.
///
/// # Errors
/// [`Error::Empty`] for no bytes; [`Error::UnsupportedFormat`] when the
/// content is not a recognised video container or animated image;
/// [`Error::Invalid`] for a malformed `sampling`; [`Error::TooLarge`] when
/// a limit is exceeded; [`Error::Decode`] when nothing could be decoded,
/// when ffmpeg is needed but absent (the message says how to install it),
/// or when a decoder crashed (a caught panic).
pub fn decode_video(
    bytes: &[u8],
    limits: &VideoLimits,
    sampling: &Sampling,
    on_frame: &mut dyn FnMut(Frame) -> Result<()>,
) -> Result<VideoInfo> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    sampling.validate()?;
    let container = sniff_video(bytes).ok_or(Error::UnsupportedFormat {
        supported: SUPPORTED_VIDEO,
    })?;
    match container {
        Container::AnimatedGif | Container::AnimatedWebp | Container::Apng => {
            animated::decode(bytes, container, limits, sampling, on_frame)
        }
        Container::Mp4 => {
            let mut emitted = 0u64;
            let result = {
                let mut counting = |f: Frame| {
                    emitted += 1;
                    on_frame(f)
                };
                embedded::decode(bytes, limits, sampling, &mut counting)
            };
            let (reason, needs_ffmpeg) = match result {
                Ok(info) => return Ok(info),
                // Limits and the caller's own errors are final.
                Err(embedded::Failure::Final(e)) => return Err(e),
                Err(embedded::Failure::NeedsFfmpeg(r)) => (r, true),
                Err(embedded::Failure::Broken(r)) => (r, false),
            };
            if emitted > 0 {
                // Frames already handed over cannot be taken back.
                return Err(Error::Decode {
                    format: container.name().to_string(),
                    reason,
                });
            }
            instead_of_embedded(bytes, limits, sampling, (reason, needs_ffmpeg), on_frame)
        }
        _ => ffmpeg::decode(bytes, container, limits, sampling, on_frame),
    }
}

/// Decodes a video as [`decode_video`] does, handing the sampled frames to
/// sinks made by `make` and returning them in the video's order. The
/// embedded H.264 decoder decodes independent runs of the video (each
/// from an IDR picture, at least [`embedded::RUN_SECS`] long) on up to
/// `threads` threads, each into a sink of its own; where runs are cut
/// depends only on the file, so the frames do not depend on `threads`.
/// Other decoders fill one sink. A run's sampler starts afresh, so it may
/// emit the first frame of a run in a slot the previous run already
/// filled (the caller folds repeats, see `FrameCollector::join`).
///
/// # Errors
/// As [`decode_video`], and the sinks' own errors.
pub fn decode_video_runs<S: FrameSink>(
    bytes: &[u8],
    limits: &VideoLimits,
    sampling: &Sampling,
    threads: usize,
    make: &(dyn Fn() -> S + Sync),
) -> Result<(VideoInfo, Vec<S>)> {
    if sniff_video(bytes) != Some(Container::Mp4) {
        let mut sink = make();
        let info = decode_video(bytes, limits, sampling, &mut |f| sink.frame(f))?;
        return Ok((info, vec![sink]));
    }
    sampling.validate()?;
    let why = match embedded::decode_runs(bytes, limits, sampling, threads, make) {
        Ok(done) => return Ok(done),
        Err(embedded::Failure::Final(e)) => return Err(e),
        Err(embedded::Failure::NeedsFfmpeg(r)) => (r, true),
        Err(embedded::Failure::Broken(r)) => (r, false),
    };
    // What the embedded decoder gave up on goes to ffmpeg, as in
    // `decode_video` (the runs' sinks are dropped: nothing is kept twice).
    let mut sink = make();
    let info = instead_of_embedded(bytes, limits, sampling, why, &mut |f| sink.frame(f))?;
    Ok((info, vec![sink]))
}

/// An MP4 the embedded decoder gave up on (`why`: the reason, and whether
/// the file needs ffmpeg rather than being damaged): decoded by ffmpeg
/// when it is installed, with a warning saying so.
fn instead_of_embedded(
    bytes: &[u8],
    limits: &VideoLimits,
    sampling: &Sampling,
    (reason, needs_ffmpeg): (String, bool),
    on_frame: &mut dyn FnMut(Frame) -> Result<()>,
) -> Result<VideoInfo> {
    let container = Container::Mp4;
    let decode_error = |reason: String| Error::Decode {
        format: container.name().to_string(),
        reason,
    };
    if find_ffmpeg().is_none() {
        return Err(decode_error(if needs_ffmpeg {
            format!("{reason} needs ffmpeg: {}", ffmpeg::INSTALL_HINT)
        } else {
            reason
        }));
    }
    match ffmpeg::decode(bytes, container, limits, sampling, on_frame) {
        Ok(mut info) => {
            info.warnings.insert(
                0,
                format!("not decoded by the embedded decoder ({reason}); used ffmpeg"),
            );
            Ok(info)
        }
        Err(Error::Decode { reason: theirs, .. }) if !needs_ffmpeg => {
            Err(decode_error(format!("{reason}; ffmpeg: {theirs}")))
        }
        Err(e) => Err(e),
    }
}

/// Video formats firstseen recognises, for error messages.
pub const SUPPORTED_VIDEO: &str = "MP4/MOV/M4V (H.264 built in; other codecs with ffmpeg), \
     WebM/Matroska, AVI, MPEG-TS/PS, FLV, ASF/WMV (with ffmpeg), animated GIF/WebP/PNG";

/// Chooses which decoded frames to emit; shared by all backends so that
/// they sample alike.
#[derive(Debug)]
struct Sampler {
    every_secs: f64,
    scene_threshold: Option<f32>,
    /// Slot of the last emitted frame.
    last_slot: Option<i64>,
    prev_thumb: Option<Thumb>,
    prev_mafd: f64,
}

/// What the sampler decided for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    Skip,
    Slot,
    Scene,
}

impl Sampler {
    fn new(s: &Sampling) -> Sampler {
        Sampler {
            every_secs: s.every_secs,
            scene_threshold: s.scene_threshold,
            last_slot: None,
            prev_thumb: None,
            prev_mafd: 0.0,
        }
    }

    /// Whether [`Sampler::pick`] needs a thumbnail of every frame.
    fn wants_thumb(&self) -> bool {
        self.scene_threshold.is_some()
    }

    fn slot(&self, t: f64) -> i64 {
        if self.every_secs == 0.0 || !t.is_finite() {
            return 0;
        }
        (t / self.every_secs).floor() as i64
    }

    /// True when a frame at `t` opens a slot no emitted frame is in yet.
    fn slot_due(&self, t: f64) -> bool {
        self.every_secs == 0.0 || self.last_slot.is_none_or(|s| self.slot(t) > s)
    }

    /// Decides for the next decoded frame, at presentation time `t`, with
    /// its thumbnail when [`Sampler::wants_thumb`].
    fn pick(&mut self, t: f64, thumb: Option<Thumb>) -> Pick {
        let scene = match (self.scene_threshold, &thumb) {
            (Some(threshold), Some(cur)) => {
                let score = match &self.prev_thumb {
                    Some(prev) => {
                        let mafd = cur.mafd(prev);
                        let score = mafd.min((mafd - self.prev_mafd).abs()) / 100.0;
                        self.prev_mafd = mafd;
                        score.clamp(0.0, 1.0)
                    }
                    None => 0.0,
                };
                score > f64::from(threshold)
            }
            _ => false,
        };
        if thumb.is_some() {
            self.prev_thumb = thumb;
        }
        let pick = if self.slot_due(t) {
            Pick::Slot
        } else if scene {
            Pick::Scene
        } else {
            Pick::Skip
        };
        if pick != Pick::Skip {
            self.last_slot = Some(self.slot(t));
        }
        pick
    }

    /// Records a frame the backend (ffmpeg) already selected; says whether
    /// it was chosen for its slot or, failing that, as a scene change.
    fn accept(&mut self, t: f64) -> Pick {
        let pick = if self.slot_due(t) {
            Pick::Slot
        } else {
            Pick::Scene
        };
        self.last_slot = Some(self.slot(t));
        pick
    }
}

/// Side of the grey thumbnail used for scene scores.
const THUMB: usize = 32;

/// A 32×32 grey thumbnail for scene scores.
#[derive(Debug, Clone)]
struct Thumb([u8; THUMB * THUMB]);

impl Thumb {
    /// Samples a grey plane of `width × height` with row `stride`: each
    /// cell is the mean of a 4×4 grid of points inside it, so the cost does
    /// not grow with the frame size.
    fn from_plane(plane: &[u8], width: usize, height: usize, stride: usize) -> Option<Thumb> {
        Self::from_fn(width, height, |x, y| {
            plane.get(y * stride + x).copied().unwrap_or(0)
        })
    }

    /// Same, from RGB pixels (Rec. 601 luma).
    fn from_rgb(img: &RgbImage) -> Option<Thumb> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let raw = img.as_raw();
        Self::from_fn(w, h, |x, y| {
            let i = (y * w + x) * 3;
            let (r, g, b) = (
                u32::from(raw[i]),
                u32::from(raw[i + 1]),
                u32::from(raw[i + 2]),
            );
            ((299 * r + 587 * g + 114 * b) / 1000) as u8
        })
    }

    fn from_fn(width: usize, height: usize, luma: impl Fn(usize, usize) -> u8) -> Option<Thumb> {
        if width == 0 || height == 0 {
            return None;
        }
        const PTS: usize = 4;
        let mut t = [0u8; THUMB * THUMB];
        for cy in 0..THUMB {
            for cx in 0..THUMB {
                let mut sum = 0u32;
                for py in 0..PTS {
                    let y = ((cy * PTS + py) * 2 + 1) * height / (THUMB * PTS * 2);
                    for px in 0..PTS {
                        let x = ((cx * PTS + px) * 2 + 1) * width / (THUMB * PTS * 2);
                        sum += u32::from(luma(x.min(width - 1), y.min(height - 1)));
                    }
                }
                t[cy * THUMB + cx] = (sum / (PTS * PTS) as u32) as u8;
            }
        }
        Some(Thumb(t))
    }

    /// Mean absolute difference, 0–255.
    fn mafd(&self, other: &Thumb) -> f64 {
        let sad: u32 = self
            .0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| u32::from(a.abs_diff(*b)))
            .sum();
        f64::from(sad) / (THUMB * THUMB) as f64
    }
}

use super::panic_message;

/// Collects warnings, keeping the first few of each kind and counting the
/// rest, so a badly damaged stream does not produce thousands of lines.
#[derive(Debug, Default)]
struct Warnings {
    list: Vec<String>,
    dropped: u64,
}

impl Warnings {
    const MAX: usize = 8;

    fn push(&mut self, w: impl Into<String>) {
        let w = w.into();
        if self.list.contains(&w) {
            return;
        }
        if self.list.len() < Self::MAX {
            self.list.push(w);
        } else {
            self.dropped += 1;
        }
    }

    /// Adds another list's warnings after these.
    fn absorb(&mut self, other: Warnings) {
        for w in other.list {
            self.push(w);
        }
        self.dropped += other.dropped;
    }

    fn into_vec(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list
                .push(format!("… and {} more warnings", self.dropped));
        }
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(v: u8) -> Thumb {
        Thumb([v; THUMB * THUMB])
    }

    #[test]
    fn slots_pick_first_frame_of_each_second() {
        let mut s = Sampler::new(&Sampling::default());
        let picks: Vec<f64> = (0..100)
            .map(|i| f64::from(i) * 0.04)
            .filter(|&t| s.pick(t, None) != Pick::Skip)
            .collect();
        assert_eq!(picks.len(), 4);
        assert_eq!(picks[0], 0.0);
        assert!((picks[1] - 1.0).abs() < 1e-9);
        assert!((picks[3] - 3.0).abs() < 1e-9);
    }

    #[test]
    fn every_frame_picks_all() {
        let mut s = Sampler::new(&Sampling::every_frame());
        assert!((0..10).all(|i| s.pick(f64::from(i) * 0.5, None) == Pick::Slot));
    }

    #[test]
    fn scene_change_is_picked_between_slots() {
        let mut s = Sampler::new(&Sampling::default().with_scene_threshold(0.3));
        assert_eq!(s.pick(0.0, Some(flat(10))), Pick::Slot);
        assert_eq!(s.pick(0.1, Some(flat(12))), Pick::Skip);
        assert_eq!(s.pick(0.2, Some(flat(200))), Pick::Scene);
        assert_eq!(s.pick(0.3, Some(flat(201))), Pick::Skip);
        assert_eq!(s.pick(1.0, Some(flat(201))), Pick::Slot);
    }

    #[test]
    fn ffmpeg_selected_frames_are_classified() {
        let mut s = Sampler::new(&Sampling::default());
        assert_eq!(s.accept(0.0), Pick::Slot);
        assert_eq!(s.accept(0.5), Pick::Scene);
        assert_eq!(s.accept(1.2), Pick::Slot);
    }

    #[test]
    fn bad_sampling_is_invalid() {
        for s in [
            Sampling::every(-1.0),
            Sampling::every(f64::NAN),
            Sampling::default().with_scene_threshold(0.0),
            Sampling::default().with_scene_threshold(1.5),
        ] {
            assert!(matches!(s.validate(), Err(Error::Invalid { .. })), "{s:?}");
        }
        assert!(Sampling::every_frame().validate().is_ok());
    }

    #[test]
    fn thumb_of_a_gradient() {
        let (w, h) = (100usize, 50usize);
        let plane: Vec<u8> = (0..w * h).map(|i| (i % w) as u8).collect();
        let t = Thumb::from_plane(&plane, w, h, w).unwrap();
        assert!(t.0[0] < 5 && t.0[THUMB - 1] > 90);
        assert!(Thumb::from_plane(&[], 0, 0, 0).is_none());
    }

    #[test]
    fn warnings_are_capped() {
        let mut w = Warnings::default();
        for i in 0..20 {
            w.push(format!("w{i}"));
            w.push(format!("w{}", i % 3));
        }
        let v = w.into_vec();
        assert_eq!(v.len(), Warnings::MAX + 1);
        assert!(v.last().unwrap().contains("12 more"));
    }
}
