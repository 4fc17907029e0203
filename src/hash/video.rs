//! Video fingerprints: the sampled frames of a video hashed one by one,
//! with runs of near-identical consecutive frames collapsed into one kept
//! frame (as vPDQ does), so a static shot costs one stored frame. Each
//! kept frame remembers the time span it stands for and carries a small
//! JPEG thumbnail for reports.
//!
//! A frame inside a uniform border (letterbox or pillarbox bars, a frame
//! added by a re-upload) is hashed without it: the stored hash is of the
//! picture inside the bars, so a re-upload that adds or removes bars
//! still matches. The hash of the whole frame is kept too, for matching a
//! query only.

use image::DynamicImage;
use image::codecs::jpeg::JpegEncoder;
use serde::Serialize;

use crate::decode::trim::content_rect;
use crate::decode::video::Frame;
use crate::hash::features::{self, Features};
use crate::hash::{Perceptual, perceptual};

/// Local features kept per kept frame (fewer than for a photo: a video
/// keeps many frames).
pub const FRAME_POINTS: usize = 120;

/// Consecutive sampled frames whose PDQ hashes are this close (of 256
/// bits) are one kept frame.
pub const COLLAPSE_DISTANCE: u32 = 12;
/// Long side of the stored frame thumbnails, in pixels.
pub const THUMB_SIDE: u32 = 160;

/// One kept frame.
#[derive(Debug, Clone, Serialize)]
pub struct FrameHash {
    /// Presentation-order number of the first frame of the run.
    pub frame_number: u64,
    /// Time of the first frame of the run, seconds.
    pub start_secs: f64,
    /// Time at which the next kept frame starts (or the video ends).
    pub end_secs: f64,
    /// Hashes of the first frame of the run, in all orientations, of the
    /// picture inside any uniform border.
    #[serde(skip)]
    pub hashes: Perceptual,
    /// Hashes of the whole frame, when a border was removed for `hashes`.
    #[serde(skip)]
    pub whole: Option<Perceptual>,
    /// JPEG thumbnail, at most [`THUMB_SIDE`] pixels on its long side.
    #[serde(skip)]
    pub thumb_jpeg: Vec<u8>,
    /// Local features of the frame inside any bars, so a still with an
    /// overlay (a lower third, a logo) or a crop of the frame is
    /// confirmed against it.
    #[serde(skip)]
    pub features: Option<Features>,
}

/// Collects decoded frames into kept frames.
#[derive(Debug, Default)]
pub struct FrameCollector {
    frames: Vec<FrameHash>,
    sampled: u64,
    /// Whether the first frame kept was a scene change.
    first_scene: bool,
}

impl crate::decode::video::FrameSink for FrameCollector {
    fn frame(&mut self, frame: Frame) -> crate::error::Result<()> {
        self.push(frame);
        Ok(())
    }
}

impl FrameCollector {
    /// An empty collector.
    pub fn new() -> FrameCollector {
        FrameCollector::default()
    }

    /// Hashes one sampled frame; keeps it unless it repeats the last kept
    /// frame (a scene change is always kept).
    pub fn push(&mut self, frame: Frame) {
        self.sampled += 1;
        if self.frames.is_empty() {
            self.first_scene = frame.scene_change;
        }
        let img = DynamicImage::ImageRgb8(frame.image);
        let (hashes, whole) = match content_rect(&img) {
            Some(r) => (
                perceptual(&img.crop_imm(r.x, r.y, r.width, r.height)),
                Some(perceptual(&img)),
            ),
            None => (perceptual(&img), None),
        };
        if let Some(last) = self.frames.last_mut() {
            let d = last.hashes.pdq.pdq.hash.distance(&hashes.pdq.pdq.hash);
            if d <= COLLAPSE_DISTANCE && !frame.scene_change {
                return;
            }
            last.end_secs = frame.timestamp_secs;
        }
        let inner = match content_rect(&img) {
            Some(r) => img.crop_imm(r.x, r.y, r.width, r.height),
            None => img.clone(),
        };
        let f = features::extract(&inner, FRAME_POINTS);
        self.frames.push(FrameHash {
            frame_number: frame.index,
            start_secs: frame.timestamp_secs,
            end_secs: frame.timestamp_secs,
            hashes,
            whole,
            thumb_jpeg: thumbnail_jpeg(&img),
            features: (!f.is_empty()).then_some(f),
        });
    }

    /// The frames of consecutive runs of one video, collected apart
    /// (see [`crate::decode::video::decode_video_runs`]), as one: a run's
    /// first frame that repeats the previous run's last kept frame (and is
    /// no scene change) is folded into it, as within a run.
    pub fn join(runs: Vec<FrameCollector>) -> FrameCollector {
        let mut all = FrameCollector::new();
        for mut run in runs {
            all.sampled += run.sampled;
            if let (Some(last), Some(first)) = (all.frames.last(), run.frames.first())
                && !run.first_scene
                && last
                    .hashes
                    .pdq
                    .pdq
                    .hash
                    .distance(&first.hashes.pdq.pdq.hash)
                    <= COLLAPSE_DISTANCE
            {
                run.frames.remove(0);
            }
            if let (Some(last), Some(first)) = (all.frames.last_mut(), run.frames.first()) {
                last.end_secs = first.start_secs;
            }
            if all.frames.is_empty() {
                all.first_scene = run.first_scene;
            }
            all.frames.append(&mut run.frames);
        }
        all
    }

    /// Frames sampled so far.
    pub fn sampled(&self) -> u64 {
        self.sampled
    }

    /// The kept frames; the last one's span runs to `duration_secs`.
    pub fn finish(mut self, duration_secs: f64) -> Vec<FrameHash> {
        if let Some(last) = self.frames.last_mut() {
            last.end_secs = last.end_secs.max(duration_secs);
        }
        self.frames
    }
}

/// A small JPEG of a picture for reports (empty if encoding fails).
pub fn thumbnail_jpeg(img: &DynamicImage) -> Vec<u8> {
    let small = img.thumbnail(THUMB_SIDE, THUMB_SIDE).to_rgb8();
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 75);
    if enc.encode_image(&small).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn frame(index: u64, t: f64, seed: u32, scene_change: bool) -> Frame {
        let image = RgbImage::from_fn(64, 48, |x, y| {
            let v = ((x * seed + y * (seed + 3)) % 251) as u8;
            Rgb([v, v.wrapping_mul(3), 255 - v])
        });
        Frame {
            index,
            timestamp_secs: t,
            scene_change,
            image,
        }
    }

    #[test]
    fn static_runs_collapse_and_spans_cover_the_video() {
        let mut c = FrameCollector::new();
        c.push(frame(0, 0.0, 7, false));
        c.push(frame(25, 1.0, 7, false));
        c.push(frame(50, 2.0, 7, false));
        c.push(frame(75, 3.0, 11, false));
        c.push(frame(100, 4.0, 11, true));
        assert_eq!(c.sampled(), 5);
        let kept = c.finish(5.0);
        let spans: Vec<_> = kept
            .iter()
            .map(|f| (f.frame_number, f.start_secs, f.end_secs))
            .collect();
        assert_eq!(spans, vec![(0, 0.0, 3.0), (75, 3.0, 4.0), (100, 4.0, 5.0)]);
        assert!(kept.iter().all(|f| f.thumb_jpeg.starts_with(&[0xff, 0xd8])));
        assert!(kept.iter().all(|f| f.whole.is_none()));
    }

    #[test]
    fn runs_join_as_one_collector_would_collect_them() {
        let spans = |c: FrameCollector| -> Vec<(u64, f64, f64)> {
            c.finish(6.0)
                .iter()
                .map(|f| (f.frame_number, f.start_secs, f.end_secs))
                .collect()
        };
        // The second run starts with a repeat of the first run's last
        // kept frame: folded into it. The third opens with a cut: kept.
        let mut a = FrameCollector::new();
        a.push(frame(0, 0.0, 7, false));
        a.push(frame(25, 1.0, 11, false));
        let mut b = FrameCollector::new();
        b.push(frame(40, 1.6, 11, false));
        b.push(frame(50, 2.0, 13, false));
        let mut c = FrameCollector::new();
        c.push(frame(75, 3.0, 13, true));
        c.push(frame(100, 4.0, 13, false));
        let joined = FrameCollector::join(vec![a, b, c]);
        assert_eq!(joined.sampled(), 6);
        assert_eq!(
            spans(joined),
            vec![
                (0, 0.0, 1.0),
                (25, 1.0, 2.0),
                (50, 2.0, 3.0),
                (75, 3.0, 6.0)
            ]
        );
        // One run: as collected.
        let mut one = FrameCollector::new();
        one.push(frame(0, 0.0, 7, false));
        one.push(frame(25, 1.0, 11, false));
        assert_eq!(
            spans(FrameCollector::join(vec![one])),
            vec![(0, 0.0, 1.0), (25, 1.0, 6.0)]
        );
        assert!(FrameCollector::join(Vec::new()).finish(1.0).is_empty());
    }

    #[test]
    fn bars_are_removed_before_hashing() {
        let plain = frame(0, 0.0, 7, false);
        let mut barred = RgbImage::from_pixel(64 + 40, 48, Rgb([0, 0, 0]));
        image::imageops::overlay(&mut barred, &plain.image, 20, 0);
        let mut a = FrameCollector::new();
        a.push(plain);
        let mut b = FrameCollector::new();
        b.push(Frame {
            index: 0,
            timestamp_secs: 0.0,
            scene_change: false,
            image: barred,
        });
        let (a, b) = (a.finish(1.0), b.finish(1.0));
        assert_eq!(a[0].hashes.pdq.pdq.hash, b[0].hashes.pdq.pdq.hash);
        assert!(b[0].whole.is_some());
    }
}
