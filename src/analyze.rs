//! Analysis: one file read, decoded and hashed — everything matching and
//! archiving need to know about it, computed once.
//!
//! A still picture is looked at in several ways (probes): as decoded, and
//! inside any uniform border; and its local features are found (see
//! [`crate::hash::features`]), so crops, screenshots and small
//! rotations can be confirmed where whole-picture hashes lose them.

use std::path::{Path, PathBuf};

use crate::decode::trim::{self, Rect};
use crate::decode::{self, Limits, video};
use crate::error::{Error, Result};
use crate::hash::features::{self, Features, LEVELS, QUERY_LEVELS, QUERY_POINTS, STORED_POINTS};
use crate::hash::video::{FrameCollector, FrameHash};
use crate::hash::{self, Fingerprint, Perceptual, Sha256};
use crate::store::VideoFacts;
use crate::timings;

/// One way of looking at a picture for matching: as decoded, or with a
/// uniform border (screenshot frame, letterbox) removed.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The hashes in all eight orientations.
    pub hashes: Perceptual,
    /// The part of the picture hashed, when a border was removed.
    pub trimmed: Option<Rect>,
}

/// One file read, decoded and hashed.
#[derive(Debug)]
pub struct Analysis {
    /// The file.
    pub path: PathBuf,
    /// Its bytes (kept for the store).
    pub bytes: Vec<u8>,
    /// Format name (`jpeg`, …).
    pub format: &'static str,
    /// Upright width.
    pub width: u32,
    /// Upright height.
    pub height: u32,
    /// EXIF orientation tag that was applied (1 = none).
    pub orientation: u8,
    /// SHA-256, PDQ, pHash, dHash of the picture as it is.
    pub fingerprint: Fingerprint,
    /// The picture as decoded (first) and, when it has a uniform border,
    /// without it. Empty for a video.
    pub probes: Vec<Probe>,
    /// For a still picture: its local features (up to
    /// [`QUERY_POINTS`], strongest first, spread over the picture).
    pub features: Option<Features>,
    /// For a video or animation: its facts and kept frames.
    pub video: Option<VideoAnalysis>,
    /// Problems that did not stop the analysis (a truncated video).
    pub warnings: Vec<String>,
}

/// What analysing a video found.
#[derive(Debug, Clone)]
pub struct VideoAnalysis {
    /// Container, codec, duration, frame counts.
    pub facts: VideoFacts,
    /// Kept frames in time order (at least one).
    pub frames: Vec<FrameHash>,
}

/// Reads, decodes and hashes one file.
///
/// # Errors
/// Any read, size-limit or decode error, with the file's path.
pub fn analyze_file(path: &Path, limits: &Limits) -> Result<Analysis> {
    read_and(path, limits, Depth::Matching)
}

/// Reads, decodes and hashes one file for its hashes alone (`hash`):
/// SHA-256 and the whole picture's PDQ, pHash and dHash (a video's kept
/// frames as usual); no border or screenshot probes, no local features.
///
/// # Errors
/// As [`analyze_file`].
pub fn hash_file(path: &Path, limits: &Limits) -> Result<Analysis> {
    read_and(path, limits, Depth::Hashes)
}

/// How much of a still picture is analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// The whole picture's hashes only.
    Hashes,
    /// Everything matching needs: probes and local features too.
    Matching,
}

/// The warning for a JPEG cut short.
fn truncation_warning(decoded: &decode::DecodedImage, bytes: &[u8]) -> Option<String> {
    (decoded.format == decode::MediaFormat::Image(image::ImageFormat::Jpeg)
        && decode::jpeg_is_truncated(bytes))
    .then(|| {
        "the JPEG is truncated (no end-of-image marker after its last scan): part of the picture is missing"
            .to_string()
    })
}

// The detail kept for features is at least twice their working size.
const _: () = assert!(decode::DETAIL_MIN_SIDE >= 2 * features::WORK_SHORT_SIDE);

fn read_and(path: &Path, limits: &Limits, depth: Depth) -> Result<Analysis> {
    let inner = || {
        let bytes = timings::time("read", || crate::walk::read_regular(path, limits.max_bytes))?;
        analyze_with(path.to_path_buf(), bytes, limits, depth)
    };
    inner().map_err(|e| e.in_file(path))
}

/// Decodes and hashes bytes already in memory.
///
/// # Errors
/// Size-limit or decode errors (without a path).
pub fn analyze_bytes(path: PathBuf, bytes: Vec<u8>, limits: &Limits) -> Result<Analysis> {
    analyze_with(path, bytes, limits, Depth::Matching)
}

fn analyze_with(path: PathBuf, bytes: Vec<u8>, limits: &Limits, depth: Depth) -> Result<Analysis> {
    let sha = timings::time("sha256", || Sha256::of(&bytes));
    if video::sniff_video(&bytes).is_some() {
        return analyze_video(path, bytes, sha, limits);
    }
    // A large JPEG is decoded at a reduced DCT scale (see
    // `decode::JpegPlan`): its whole-picture hashes need little detail,
    // local features more; the choice depends on the file's size only,
    // so every command hashes the same picture.
    let plan = decode::jpeg_plan(&bytes);
    let decode_at = |min_side: u32| {
        timings::time("decode", || {
            decode::decode_image_reduced(&bytes, limits, min_side)
        })
    };
    let decoded = match depth {
        Depth::Hashes => timings::time("decode", || decode::decode_for_hashes(&bytes, limits))?,
        Depth::Matching => decode_at(decode::DETAIL_MIN_SIDE)?,
    };
    let (width, height) = decoded.full_size;
    let second;
    let hash_image: std::borrow::Cow<'_, image::DynamicImage> = match (depth, plan) {
        (Depth::Matching, decode::JpegPlan::DetailScaled) => decode::hash_view(&decoded),
        (Depth::Matching, decode::JpegPlan::HashScaled) => {
            second = timings::time("decode", || decode::decode_hash_scaled(&bytes, limits))?;
            std::borrow::Cow::Borrowed(&second.image)
        }
        _ => std::borrow::Cow::Borrowed(&decoded.image),
    };
    let (probes, features) = match depth {
        Depth::Hashes => {
            let whole = timings::time("perceptual hashes", || hash::perceptual(&hash_image));
            let probe = Probe {
                hashes: whole,
                trimmed: None,
            };
            (vec![probe], None)
        }
        Depth::Matching => {
            let (probes, features) = probes_and_features(&decoded, Some(&hash_image));
            (probes, Some(features))
        }
    };
    drop(hash_image);
    let warnings: Vec<String> = truncation_warning(&decoded, &bytes).into_iter().collect();
    Ok(Analysis {
        path,
        format: decoded.format.name(),
        width,
        height,
        orientation: decoded.orientation,
        fingerprint: probes[0].hashes.fingerprint(sha),
        probes,
        features,
        video: None,
        warnings,
        bytes,
    })
}

/// A still picture's probes (the first is the whole picture, hashed from
/// `hash_image` when given: the picture decoded at a reduced scale) and
/// its local features.
fn probes_and_features(
    decoded: &decode::DecodedImage,
    hash_image: Option<&image::DynamicImage>,
) -> (Vec<Probe>, Features) {
    // The whole-picture hashes and the local features are independent:
    // found side by side, the features on a helper thread of their own
    // (not a rayon task: a thread holding a picture's memory must not
    // pick up another file while it waits, see `decode::budget`).
    let (w, h) = (decoded.width(), decoded.height());
    let image = &decoded.image;
    let ((whole, border), (photo, found)) = std::thread::scope(|s| {
        let local = s.spawn(|| {
            let work = timings::time("features", || features::working_copy(image));
            let photo = timings::time("find photo", || trim::photo_rect_in(&work, w, h));
            let mut found = timings::time("features", || {
                features::extract_gray_levels(&work, QUERY_POINTS, QUERY_LEVELS)
            });
            if let Some(quad) = timings::time("find screen", || crate::hash::screen::find(&work)) {
                timings::time("features", || {
                    add_screen_view(&mut found, &work, image, quad)
                });
            }
            (photo, found)
        });
        let whole = timings::time("perceptual hashes", || {
            hash::perceptual(hash_image.unwrap_or(image))
        });
        let border = trim::content_rect(image);
        let local = local
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        ((whole, border), local)
    });
    let mut probes = vec![Probe {
        hashes: whole,
        trimmed: None,
    }];
    // The picture inside a uniform border, and the photograph inside a
    // screenshot or post: each a probe of its own.
    let mut rects: Vec<Rect> = border.into_iter().collect();
    if let Some(r) = photo.filter(|r| !rects.iter().any(|q| close(q, r))) {
        rects.push(r);
    }
    // Features give scales in the picture's real pixels; rectangles are
    // in the decoded picture's, `k` real pixels each.
    let (full_w, full_h) = decoded.full_size;
    let k = f64::from(full_w) / f64::from(w.max(1));
    let real = |v: u32| (f64::from(v) * k).round() as u32;
    let mut features = Features {
        source_width: full_w,
        source_height: full_h,
        ..found
    };
    for r in &rects {
        let inner = decoded.image.crop_imm(r.x, r.y, r.width, r.height);
        probes.push(Probe {
            hashes: timings::time("perceptual hashes", || hash::perceptual(&inner)),
            trimmed: Some(*r),
        });
    }
    // The photograph inside a screenshot is small on the working copy:
    // its own features, found at full detail, join the picture's.
    if let Some(r) = rects.last().filter(|r| is_small_part(r, decoded)) {
        let inner = decoded.image.crop_imm(r.x, r.y, r.width, r.height);
        let part = timings::time("features", || {
            features::extract_levels(&inner, QUERY_POINTS, QUERY_LEVELS)
        });
        let part = Features {
            source_width: real(r.width),
            source_height: real(r.height),
            ..part
        };
        features.absorb(&part, (real(r.x), real(r.y)));
    }
    (probes, features)
}

fn analyze_video(path: PathBuf, bytes: Vec<u8>, sha: Sha256, limits: &Limits) -> Result<Analysis> {
    let (info, runs) = timings::time("video decode and hashes", || {
        video::decode_video_runs(
            &bytes,
            &limits.video,
            &limits.sampling,
            rayon::current_num_threads(),
            &FrameCollector::new,
        )
    })?;
    let collector = FrameCollector::join(runs);
    let sampled = collector.sampled();
    let frames = collector.finish(info.duration_secs);
    let Some(first) = frames.first() else {
        return Err(Error::Decode {
            format: info.container.name().to_string(),
            reason: "no frame could be decoded".to_string(),
        });
    };
    let fingerprint = first.hashes.fingerprint(sha);
    let facts = VideoFacts {
        container: info.container.name().to_string(),
        codec: info.codec.clone(),
        decoder: info.decoder.name().to_string(),
        duration_secs: info.duration_secs,
        frames_decoded: info.frames_decoded,
        frames_sampled: sampled,
        frames_kept: frames.len() as u64,
        warnings: (!info.warnings.is_empty()).then(|| info.warnings.join("\n")),
    };
    Ok(Analysis {
        path,
        format: info.container.name(),
        width: info.width,
        height: info.height,
        orientation: 1,
        fingerprint,
        probes: Vec::new(),
        features: None,
        video: Some(VideoAnalysis { facts, frames }),
        warnings: info.warnings,
        bytes,
    })
}

/// Two rectangles within a few pixels of each other.
fn close(a: &Rect, b: &Rect) -> bool {
    a.x.abs_diff(b.x) + a.y.abs_diff(b.y) + a.width.abs_diff(b.width) + a.height.abs_diff(b.height)
        < 16
}

/// The corners of a screen or print seen at an angle (`quad`, on the
/// working copy), as found on its picture looked at straight on, join the
/// picture's (see [`features::add_rectified`]).
fn add_screen_view(
    found: &mut Features,
    work: &image::GrayImage,
    image: &image::DynamicImage,
    quad: [(f64, f64); 4],
) {
    // The view is sampled from the picture at full size, at most the
    // size of a working copy.
    let per_work = f64::from(image.width()) / f64::from(work.width().max(1));
    let side = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).hypot(a.1 - b.1);
    let width = (side(quad[0], quad[1]) + side(quad[3], quad[2])) / 2.0;
    let height = (side(quad[0], quad[3]) + side(quad[1], quad[2])) / 2.0;
    let (fw, fh) = (width * per_work, height * per_work);
    let k = features::shrink_to_work(fw, fh);
    let (vw, vh) = (fw * k, fh * k);
    let view = [(0.0, 0.0), (vw, 0.0), (vw, vh), (0.0, vh)];
    let Some(h) = crate::matching::verify::homography(view, quad) else {
        return;
    };
    let grey = crate::decode::grey::luma(image);
    features::add_rectified(
        found,
        &grey,
        per_work,
        (vw.round() as u32, vh.round() as u32),
        &|p| crate::matching::verify::project(&h, p),
        QUERY_POINTS / 2,
        QUERY_LEVELS,
    );
}

/// A part covering under two thirds of the picture.
fn is_small_part(r: &Rect, d: &decode::DecodedImage) -> bool {
    u64::from(r.width) * u64::from(r.height) * 3 < u64::from(d.width()) * u64::from(d.height()) * 2
}

impl Analysis {
    /// The features kept in the catalog for this picture when it is
    /// archived: the [`STORED_POINTS`] strongest, spread out, of those on
    /// the [`LEVELS`] pyramid levels stored pictures have (a query also
    /// looks on coarser ones).
    pub fn stored_features(&self) -> Option<Features> {
        self.features
            .as_ref()
            .filter(|f| !f.is_empty())
            .map(|f| f.within_levels(LEVELS).strongest_spread(STORED_POINTS))
    }
}
