//! The embedded backend: MP4/MOV with H.264, demuxed with the `mp4` crate
//! and decoded with OpenH264 (compiled from bundled source), so the
//! commonest video format needs no system package.
//!
//! The `mp4` crate parses the box tree only; the sample table (offset,
//! size and presentation time of every sample) is built here in one pass,
//! because the crate's per-sample lookups rescan its tables (quadratic on
//! long variable-rate videos), allocate whatever size a box claims, and
//! get fragmented files wrong. Every size is checked against the file
//! before it is used. Box sizes the crate reads are bounded by the file
//! size (it checks each child against its parent), so a corrupt header
//! cannot make it allocate more than the file holds.
//!
//! OpenH264 is run with flushing disabled and drained once at the end
//! (with the default flush-after-each-sample, B-frame streams fail after a
//! few frames). It emits frames in presentation order but carries no
//! timestamps through this API, so each output frame takes the smallest
//! presentation time among the samples fed and not yet output. YUV → RGB,
//! the expensive part after decoding itself, is done only for the frames
//! the sampling selects.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::RgbImage;
use mp4::{Mp4Reader, Mp4Track};
use openh264::OpenH264API;
use openh264::decoder::{DecodedYUV, Decoder as H264Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;

use super::h264::{self, Sps};
use super::{
    Container, Decoder, Frame, Pick, Sampler, Sampling, Thumb, VideoInfo, VideoLimits, Warnings,
    panic_message,
};
use crate::error::{Error, Result};

/// Why the embedded backend gave up.
#[derive(Debug)]
pub(super) enum Failure {
    /// A limit, or the caller's callback: return as is.
    Final(Error),
    /// The file is valid but not for this decoder (another codec, a
    /// fragmented MP4, High 10, interlaced…): ffmpeg is needed.
    NeedsFfmpeg(String),
    /// The file is damaged or not parseable by the `mp4` crate; ffmpeg may
    /// still do better.
    Broken(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Final(e)
    }
}

/// One sample of the video track, in decode order.
#[derive(Debug, Clone, Copy)]
struct Sample {
    offset: u64,
    size: u32,
    /// Presentation time in track timescale units.
    pts: i64,
}

/// Rotation the track header asks for, clockwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rotation {
    None,
    Cw90,
    Cw180,
    Cw270,
}

/// Everything the demuxer found that the decode loop needs.
struct Track {
    samples: Vec<Sample>,
    timescale: u32,
    /// Parameter sets from `avcC`, in Annex B form.
    parameter_sets: Vec<u8>,
    length_size: usize,
    sps: Sps,
    rotation: Rotation,
    duration_secs: f64,
    /// Nominal frame duration in timescale units (for extrapolation).
    frame_ticks: i64,
}

pub(super) fn decode(
    bytes: &[u8],
    limits: &VideoLimits,
    sampling: &Sampling,
    on_frame: &mut dyn FnMut(Frame) -> Result<()>,
) -> std::result::Result<VideoInfo, Failure> {
    let mut warnings = Warnings::default();
    let track = demux(bytes, limits, &mut warnings)?;
    let shared = Shared::default();
    let run = Run {
        number: 0,
        samples: 0..track.samples.len(),
    };
    let outcome = decode_run(bytes, &track, &run, limits, sampling, &shared, on_frame)?;
    finish(&track, warnings, vec![outcome])
}

/// Seconds of video a run covers at least before the next IDR picture
/// may start another: runs are decoded side by side.
pub const RUN_SECS: f64 = 8.0;

/// Decodes the track in runs (from an IDR picture, which needs nothing
/// before it, at least [`RUN_SECS`] long) on up to `threads` threads,
/// each run with a decoder, a sampler and a sink (`make()`) of its own.
/// Returns the sinks in the video's order. Where the runs are cut depends
/// only on the file, so the frames sampled do not depend on `threads`.
pub(super) fn decode_runs<S: FrameSink>(
    bytes: &[u8],
    limits: &VideoLimits,
    sampling: &Sampling,
    threads: usize,
    make: &(dyn Fn() -> S + Sync),
) -> std::result::Result<(VideoInfo, Vec<S>), Failure> {
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;
    let mut warnings = Warnings::default();
    let track = demux(bytes, limits, &mut warnings)?;
    let runs = runs(bytes, &track);
    let shared = Shared::default();
    let results: Vec<Mutex<Option<RunResult<S>>>> = runs.iter().map(|_| Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= runs.len() || shared.stopped(i) {
                break;
            }
            let mut sink = make();
            let r = decode_run(
                bytes,
                &track,
                &runs[i],
                limits,
                sampling,
                &shared,
                &mut |f| sink.frame(f),
            );
            match &r {
                Err(_) => shared.stop.store(true, Ordering::Relaxed),
                Ok(o) if o.crashed => {
                    shared.crashed_at.fetch_min(i, Ordering::Relaxed);
                }
                Ok(_) => {}
            }
            *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r.map(|o| (o, sink)));
        }
    };
    let threads = threads.clamp(1, runs.len().max(1));
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
    }
    let mut outcomes = Vec::new();
    let mut sinks = Vec::new();
    for slot in results {
        match slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(Ok((outcome, sink))) => {
                let crashed = outcome.crashed;
                outcomes.push(outcome);
                sinks.push(sink);
                if crashed {
                    break; // decoded no further, as one decoder would
                }
            }
            Some(Err(e)) => return Err(e),
            // Not started: stopped by a crash before it.
            None => break,
        }
    }
    let info = finish(&track, warnings, outcomes)?;
    Ok((info, sinks))
}

/// Where a run of the track starts and ends.
struct Run {
    number: usize,
    samples: std::ops::Range<usize>,
}

type RunResult<S> = std::result::Result<(RunOutcome, S), Failure>;

/// Receives the sampled frames of one run.
pub trait FrameSink: Send {
    /// Takes one frame.
    ///
    /// # Errors
    /// The sink's own errors, which end the decoding.
    fn frame(&mut self, frame: Frame) -> Result<()>;
}

/// State the runs of one video share.
struct Shared {
    /// Frames decoded in all runs (for the frame limit).
    frames: std::sync::atomic::AtomicU64,
    /// A run failed: the others stop.
    stop: std::sync::atomic::AtomicBool,
    /// The first run whose decoder crashed (later runs are dropped).
    crashed_at: std::sync::atomic::AtomicUsize,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            frames: Default::default(),
            stop: Default::default(),
            crashed_at: std::sync::atomic::AtomicUsize::new(usize::MAX),
        }
    }
}

impl Shared {
    fn stopped(&self, run: usize) -> bool {
        use std::sync::atomic::Ordering;
        self.stop.load(Ordering::Relaxed) || run > self.crashed_at.load(Ordering::Relaxed)
    }
}

/// Cuts the track into runs: each starts at an IDR picture at least
/// [`RUN_SECS`] after the previous run's start (the first at sample 0).
fn runs(bytes: &[u8], track: &Track) -> Vec<Run> {
    let ticks = RUN_SECS * f64::from(track.timescale);
    let mut starts = vec![0usize];
    let mut from = track.samples.first().map_or(0, |s| s.pts);
    for (i, s) in track.samples.iter().enumerate().skip(1) {
        if (s.pts - from) as f64 >= ticks
            && let Some(data) =
                bytes.get(s.offset as usize..(s.offset as usize).saturating_add(s.size as usize))
            && h264::is_idr(data, track.length_size)
        {
            starts.push(i);
            from = s.pts;
        }
    }
    starts.push(track.samples.len());
    starts
        .windows(2)
        .enumerate()
        .map(|(number, w)| Run {
            number,
            samples: w[0]..w[1],
        })
        .collect()
}

/// Walks the top-level boxes: returns how many bytes the `mp4` crate
/// should parse (stopping before an `mdat` cut short, so that a truncated
/// file with its index in front still opens) and whether the file is cut
/// short.
fn top_level_extent(bytes: &[u8]) -> (u64, bool) {
    let len = bytes.len() as u64;
    let mut pos = 0u64;
    while pos + 8 <= len {
        let p = pos as usize;
        let size32 = u32::from_be_bytes([bytes[p], bytes[p + 1], bytes[p + 2], bytes[p + 3]]);
        let kind = &bytes[p + 4..p + 8];
        let size = match size32 {
            0 => len - pos,
            1 => match bytes.get(p + 8..p + 16) {
                Some(b) => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                None => return (len, true),
            },
            s => u64::from(s),
        };
        if size < 8 {
            break;
        }
        match pos.checked_add(size) {
            Some(end) if end <= len => pos = end,
            _ => return (if kind == b"mdat" { pos } else { len }, true),
        }
    }
    // A few bytes left over: a box header cut short.
    (len, pos < len)
}

fn demux(
    bytes: &[u8],
    limits: &VideoLimits,
    warnings: &mut Warnings,
) -> std::result::Result<Track, Failure> {
    let (parse_len, truncated) = top_level_extent(bytes);
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        Mp4Reader::read_header(Cursor::new(bytes), parse_len)
    }));
    let reader = match parsed {
        Ok(Ok(r)) => r,
        Ok(Err(mp4::Error::BoxNotFound(mp4::BoxType::MoovBox))) => {
            return Err(Failure::Broken(if truncated {
                "the file is truncated and its index (moov box) is missing".to_string()
            } else {
                "no index (moov box)".to_string()
            }));
        }
        Ok(Err(e)) => {
            let cut = if truncated {
                " (the file looks truncated)"
            } else {
                ""
            };
            return Err(Failure::Broken(format!("MP4 structure: {e}{cut}")));
        }
        Err(panic) => {
            return Err(Failure::Broken(format!(
                "MP4 parser crashed ({})",
                panic_message(&*panic)
            )));
        }
    };
    if truncated {
        warnings.push("the file is truncated");
    }
    if reader.is_fragmented() {
        return Err(Failure::NeedsFfmpeg("fragmented MP4".to_string()));
    }
    let track = reader
        .tracks()
        .values()
        .filter(|t| t.trak.mdia.hdlr.handler_type.value == *b"vide")
        .min_by_key(|t| t.track_id())
        .ok_or_else(|| Failure::Broken("no video track".to_string()))?;
    let trak = &track.trak;
    let stsd = &trak.mdia.minf.stbl.stsd;
    let Some(avc1) = &stsd.avc1 else {
        return Err(Failure::NeedsFfmpeg(format!(
            "{} in MP4",
            describe_codec(bytes, parse_len)
        )));
    };
    let avcc = &avc1.avcc;
    let sps_nal = avcc
        .sequence_parameter_sets
        .first()
        .ok_or_else(|| Failure::Broken("no H.264 SPS in avcC".to_string()))?;
    let sps = h264::parse_sps(&sps_nal.bytes).map_err(Failure::Broken)?;
    if let Some(why) = sps.unsupported_by_openh264() {
        return Err(Failure::NeedsFfmpeg(why));
    }
    limits.check_pixels(sps.coded_width, sps.coded_height)?;
    if sps.width == 0 || sps.height == 0 {
        return Err(Failure::Broken(format!(
            "H.264 frame size {}x{}",
            sps.width, sps.height
        )));
    }
    let length_size = match avcc.length_size_minus_one & 3 {
        0 => 1,
        1 => 2,
        3 => 4,
        _ => return Err(Failure::Broken("NAL length size of 3 bytes".to_string())),
    };
    let mut parameter_sets = Vec::new();
    for nal in avcc
        .sequence_parameter_sets
        .iter()
        .chain(&avcc.picture_parameter_sets)
    {
        h264::push_nal(&nal.bytes, &mut parameter_sets);
    }
    let timescale = trak.mdia.mdhd.timescale;
    if timescale == 0 {
        return Err(Failure::Broken("track timescale is 0".to_string()));
    }
    let (samples, frame_ticks) = sample_table(track, bytes.len() as u64, limits, warnings)?;
    if samples.is_empty() {
        return Err(Failure::Broken(
            "the video track has no samples".to_string(),
        ));
    }
    let min_pts = samples.iter().map(|s| s.pts).min().unwrap_or(0);
    let max_pts = samples.iter().map(|s| s.pts).max().unwrap_or(0);
    let ticks = max_pts.saturating_sub(min_pts).saturating_add(frame_ticks);
    let duration_secs = ticks as f64 / f64::from(timescale);
    limits.check_duration(duration_secs)?;
    Ok(Track {
        samples,
        timescale,
        parameter_sets,
        length_size,
        sps,
        rotation: rotation(track),
        duration_secs,
        frame_ticks: frame_ticks.max(1),
    })
}

/// Names the video codec of an MP4 the `mp4` crate does not decode, from
/// the sample entry of the first video-like `stsd` in the `moov` box
/// (the crate parses `avc1`, `hev1` and `vp09` entries only).
fn describe_codec(bytes: &[u8], parse_len: u64) -> String {
    let moov = find_top_level(bytes, parse_len, b"moov").unwrap_or(&[]);
    let fourccs = moov
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"stsd")
        // "stsd", version and flags, entry count, entry size, entry type.
        .filter_map(|(i, _)| moov.get(i + 16..i + 20));
    for cc in fourccs {
        let name = match cc {
            b"avc1" | b"avc2" => "H.264",
            b"avc3" | b"avc4" => "H.264 with in-band parameter sets (avc3)",
            b"hvc1" | b"hev1" => "HEVC",
            b"dvh1" | b"dvhe" => "Dolby Vision HEVC",
            b"av01" => "AV1",
            b"vp09" => "VP9",
            b"vp08" => "VP8",
            b"mp4v" => "MPEG-4 Part 2",
            b"s263" | b"h263" => "H.263",
            b"jpeg" | b"mjpa" | b"mjpb" => "Motion JPEG",
            b"apch" | b"apcn" | b"apcs" | b"apco" | b"ap4h" | b"ap4x" => "ProRes",
            _ => continue,
        };
        return name.to_string();
    }
    "a codec other than H.264".to_string()
}

/// The payload of the first top-level box of `kind` within `limit` bytes.
fn find_top_level<'a>(bytes: &'a [u8], limit: u64, kind: &[u8; 4]) -> Option<&'a [u8]> {
    let limit = (limit as usize).min(bytes.len());
    let mut pos = 0usize;
    while pos + 8 <= limit {
        let size32 =
            u32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]);
        let (size, header) = match size32 {
            0 => ((limit - pos) as u64, 8),
            1 => {
                let b = bytes.get(pos + 8..pos + 16)?;
                let large = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                (large, 16)
            }
            s => (u64::from(s), 8),
        };
        if size < header as u64 {
            return None;
        }
        let end = usize::try_from(size)
            .ok()
            .and_then(|s| pos.checked_add(s))?;
        if &bytes[pos + 4..pos + 8] == kind {
            return bytes.get(pos + header..end.min(limit));
        }
        pos = end;
    }
    None
}

fn rotation(track: &Mp4Track) -> Rotation {
    let m = &track.trak.tkhd.matrix;
    match (m.a.signum(), m.b.signum(), m.c.signum(), m.d.signum()) {
        (0, 1, -1, 0) => Rotation::Cw90,
        (-1, 0, 0, -1) => Rotation::Cw180,
        (0, -1, 1, 0) => Rotation::Cw270,
        _ => Rotation::None,
    }
}

/// Builds the sample table in decode order; returns it with the nominal
/// frame duration (the most recent `stts` delta).
fn sample_table(
    track: &Mp4Track,
    file_len: u64,
    limits: &VideoLimits,
    warnings: &mut Warnings,
) -> std::result::Result<(Vec<Sample>, i64), Failure> {
    let stbl = &track.trak.mdia.minf.stbl;
    let declared = u64::from(stbl.stsz.sample_count);
    limits.check_frames(declared)?;
    let fixed = stbl.stsz.sample_size;
    let mut count = declared as usize;
    if fixed == 0 && stbl.stsz.sample_sizes.len() < count {
        warnings.push(format!(
            "sample size table lists {} of {count} samples",
            stbl.stsz.sample_sizes.len()
        ));
        count = stbl.stsz.sample_sizes.len();
    }
    let size_of = |i: usize| {
        if fixed != 0 {
            fixed
        } else {
            stbl.stsz.sample_sizes[i]
        }
    };
    let chunk_offsets: Vec<u64> = match (&stbl.co64, &stbl.stco) {
        (Some(co64), _) => co64.entries.clone(),
        (None, Some(stco)) => stco.entries.iter().map(|&o| u64::from(o)).collect(),
        (None, None) => return Err(Failure::Broken("no chunk offsets".to_string())),
    };
    let stsc = &stbl.stsc.entries;
    let mut samples = Vec::with_capacity(count.min(chunk_offsets.len().saturating_mul(64)));
    let mut entry = 0usize;
    'chunks: for (ci, &chunk_offset) in chunk_offsets.iter().enumerate() {
        let chunk_number = ci as u64 + 1;
        while entry + 1 < stsc.len() && u64::from(stsc[entry + 1].first_chunk) <= chunk_number {
            entry += 1;
        }
        let Some(e) = stsc.get(entry) else { break };
        if u64::from(e.first_chunk) > chunk_number {
            continue;
        }
        let mut offset = chunk_offset;
        for _ in 0..e.samples_per_chunk {
            if samples.len() >= count {
                break 'chunks;
            }
            let size = size_of(samples.len());
            samples.push(Sample {
                offset,
                size,
                pts: 0,
            });
            offset = offset.saturating_add(u64::from(size));
        }
    }
    if samples.len() < count {
        warnings.push(format!(
            "the chunk tables place {} of {count} samples",
            samples.len()
        ));
    }
    if samples.iter().any(|s| u64::from(s.size) > file_len) {
        return Err(Failure::Broken(
            "a sample is larger than the file".to_string(),
        ));
    }
    // Decode times from stts, presentation offsets from ctts.
    let mut dts = 0i64;
    let mut delta = 0i64;
    let mut i = 0usize;
    for e in &stbl.stts.entries {
        delta = i64::from(e.sample_delta);
        for _ in 0..e.sample_count {
            let Some(s) = samples.get_mut(i) else { break };
            s.pts = dts;
            dts = dts.saturating_add(delta);
            i += 1;
        }
    }
    if i < samples.len() {
        warnings.push("the time table is shorter than the sample table");
        for s in &mut samples[i..] {
            s.pts = dts;
            dts = dts.saturating_add(delta.max(1));
        }
    }
    if let Some(ctts) = &stbl.ctts {
        let mut i = 0usize;
        for e in &ctts.entries {
            for _ in 0..e.sample_count {
                let Some(s) = samples.get_mut(i) else { break };
                s.pts = s.pts.saturating_add(i64::from(e.sample_offset));
                i += 1;
            }
        }
    }
    Ok((samples, delta))
}

/// Decode-loop state shared by the per-frame handler.
struct State<'a> {
    limits: &'a VideoLimits,
    shared: &'a Shared,
    /// This run starts the video (frame numbers count from its frames).
    first_run: bool,
    sampler: Sampler,
    /// Presentation times of samples fed and not yet output.
    pending: BinaryHeap<Reverse<i64>>,
    origin: i64,
    last_pts: i64,
    track: &'a Track,
    decoded: u64,
    /// Unreferenced pictures not decoded (not needed for sampling).
    skipped: u64,
    /// Every sample's presentation time, in order.
    presentation: &'a [i64],
    emitted: u64,
    size: Option<(u32, u32)>,
    warnings: Warnings,
}

impl State<'_> {
    fn frame(
        &mut self,
        yuv: &DecodedYUV<'_>,
        on_frame: &mut dyn FnMut(Frame) -> Result<()>,
    ) -> std::result::Result<(), Failure> {
        let (w, h) = yuv.dimensions();
        let (w32, h32) = (
            u32::try_from(w).unwrap_or(u32::MAX),
            u32::try_from(h).unwrap_or(u32::MAX),
        );
        self.limits.check_pixels(w32, h32)?;
        self.decoded += 1;
        let all = 1 + self
            .shared
            .frames
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.limits.check_frames(all)?;
        let pts = match self.pending.pop() {
            Some(Reverse(pts)) => pts,
            None => {
                self.warnings
                    .push("the decoder returned more frames than the file has samples");
                self.last_pts.saturating_add(self.track.frame_ticks)
            }
        };
        self.last_pts = pts;
        let t = pts.saturating_sub(self.origin) as f64 / f64::from(self.track.timescale);
        let thumb = if self.sampler.wants_thumb() {
            Thumb::from_plane(yuv.y(), w, h, yuv.strides().0)
        } else {
            None
        };
        let pick = self.sampler.pick(t, thumb);
        if pick == Pick::Skip {
            return Ok(());
        }
        let converted = catch_unwind(AssertUnwindSafe(|| {
            let mut rgb = vec![0u8; w * h * 3];
            yuv.write_rgb8(&mut rgb);
            RgbImage::from_raw(w32, h32, rgb)
        }));
        let image = match converted {
            Ok(Some(img)) => rotate(img, self.track.rotation),
            Ok(None) => return Err(Failure::Broken("frame buffer size mismatch".to_string())),
            Err(panic) => {
                return Err(Failure::Broken(format!(
                    "YUV conversion crashed ({})",
                    panic_message(&*panic)
                )));
            }
        };
        self.size.get_or_insert((image.width(), image.height()));
        self.emitted += 1;
        on_frame(Frame {
            // Its place among all the video's frames, skipped ones too.
            index: match (self.skipped, self.first_run) {
                (0, true) => self.decoded - 1,
                _ => self.presentation.partition_point(|&p| p < pts) as u64,
            },
            timestamp_secs: t,
            scene_change: pick == Pick::Scene,
            image,
        })?;
        Ok(())
    }
}

fn rotate(img: RgbImage, r: Rotation) -> RgbImage {
    match r {
        Rotation::None => img,
        Rotation::Cw90 => image::imageops::rotate90(&img),
        Rotation::Cw180 => image::imageops::rotate180(&img),
        Rotation::Cw270 => image::imageops::rotate270(&img),
    }
}

/// What decoding one run found.
struct RunOutcome {
    decoded: u64,
    emitted: u64,
    failed: u64,
    /// The decoder crashed: nothing after it was decoded.
    crashed: bool,
    size: Option<(u32, u32)>,
    warnings: Warnings,
}

fn new_decoder() -> std::result::Result<H264Decoder, Failure> {
    let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
    match catch_unwind(|| H264Decoder::with_api_config(OpenH264API::from_source(), config)) {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(Failure::Broken(format!("OpenH264 init: {e}"))),
        Err(panic) => Err(Failure::Broken(format!(
            "OpenH264 init crashed ({})",
            panic_message(&*panic)
        ))),
    }
}

/// Decodes the samples of `run` with a decoder of its own, handing the
/// frames its sampler picks to `on_frame`.
fn decode_run(
    bytes: &[u8],
    track: &Track,
    run: &Run,
    limits: &VideoLimits,
    sampling: &Sampling,
    shared: &Shared,
    on_frame: &mut dyn FnMut(Frame) -> Result<()>,
) -> std::result::Result<RunOutcome, Failure> {
    let mut decoder = new_decoder()?;
    let samples = &track.samples[run.samples.clone()];
    let presentation = {
        let mut p: Vec<i64> = track.samples.iter().map(|s| s.pts).collect();
        p.sort_unstable();
        p
    };
    let mut st = State {
        limits,
        shared,
        first_run: run.number == 0,
        sampler: Sampler::new(sampling),
        pending: BinaryHeap::new(),
        origin: track.samples.iter().map(|s| s.pts).min().unwrap_or(0),
        last_pts: 0,
        track,
        decoded: 0,
        skipped: 0,
        presentation: &presentation,
        emitted: 0,
        size: None,
        warnings: Warnings::default(),
    };
    let total = track.samples.len();
    let mut failed = 0u64;
    let mut crashed = false;
    let mut buf = Vec::new();
    for (i, sample) in std::iter::once(None)
        .chain(samples.iter().map(Some))
        .enumerate()
    {
        // Numbered from 1 among all the track's samples.
        let n = run.samples.start + i;
        if shared.stopped(run.number) {
            break;
        }
        buf.clear();
        let pts = match sample {
            // The parameter sets go first, on their own.
            None => {
                buf.extend_from_slice(&track.parameter_sets);
                None
            }
            Some(s) => {
                let start = s.offset as usize;
                let Some(data) = bytes.get(start..start.saturating_add(s.size as usize)) else {
                    st.warnings.push(format!(
                        "the file ends inside sample {n} of {total}; decoded what came before"
                    ));
                    break;
                };
                // A picture nothing refers to, in a slot already taken:
                // not decoded at all (it could only have added a
                // scene-change check).
                let t = s.pts.saturating_sub(st.origin) as f64 / f64::from(track.timescale);
                if !st.sampler.slot_due(t) && h264::is_disposable(data, track.length_size) {
                    st.skipped += 1;
                    continue;
                }
                if let Err(e) = h264::avcc_to_annexb(data, track.length_size, &mut buf) {
                    failed += 1;
                    st.warnings.push(format!("sample {n}: {e}"));
                    continue;
                }
                Some(s.pts)
            }
        };
        let d = &mut decoder;
        let b = &buf;
        match catch_unwind(AssertUnwindSafe(move || {
            let d = d;
            d.decode(b)
        })) {
            Ok(Ok(out)) => {
                if let Some(p) = pts {
                    st.pending.push(Reverse(p));
                }
                if let Some(yuv) = out {
                    st.frame(&yuv, on_frame)?;
                }
            }
            Ok(Err(e)) => {
                if pts.is_none() {
                    return Err(Failure::Broken(format!(
                        "H.264 parameter sets rejected: {e}"
                    )));
                }
                failed += 1;
                st.warnings
                    .push(format!("sample {n}: the decoder rejected it ({e})"));
            }
            Err(panic) => {
                st.warnings.push(format!(
                    "the decoder crashed at sample {n} ({}); stopped there",
                    panic_message(&*panic)
                ));
                crashed = true;
                break;
            }
        }
    }
    if !crashed {
        let d = &mut decoder;
        match catch_unwind(AssertUnwindSafe(move || {
            let d = d;
            d.flush_remaining()
        })) {
            Ok(Ok(frames)) => {
                for yuv in &frames {
                    st.frame(yuv, on_frame)?;
                }
            }
            Ok(Err(e)) => st.warnings.push(format!("flushing the decoder: {e}")),
            Err(panic) => st.warnings.push(format!(
                "the decoder crashed while flushing ({})",
                panic_message(&*panic)
            )),
        }
    }
    Ok(RunOutcome {
        decoded: st.decoded,
        emitted: st.emitted,
        failed,
        crashed,
        size: st.size,
        warnings: st.warnings,
    })
}

/// The video's facts from the outcomes of its runs, in order.
fn finish(
    track: &Track,
    mut warnings: Warnings,
    outcomes: Vec<RunOutcome>,
) -> std::result::Result<VideoInfo, Failure> {
    let total = track.samples.len();
    let (mut decoded, mut emitted, mut failed, mut size) = (0, 0, 0, None);
    for o in outcomes {
        decoded += o.decoded;
        emitted += o.emitted;
        failed += o.failed;
        size = size.or(o.size);
        warnings.absorb(o.warnings);
    }
    if failed > 0 {
        warnings.push(format!(
            "{failed} of {total} samples could not be decoded; timestamps after them may be off"
        ));
    }
    if decoded == 0 {
        let mut why = String::from("no frame could be decoded");
        if let Some(w) = warnings.list.first() {
            why.push_str(&format!(" ({w})"));
        }
        return Err(Failure::Broken(why));
    }
    let (width, height) = size.unwrap_or(match track.rotation {
        Rotation::Cw90 | Rotation::Cw270 => (track.sps.height, track.sps.width),
        _ => (track.sps.width, track.sps.height),
    });
    Ok(VideoInfo {
        container: Container::Mp4,
        codec: "h264".to_string(),
        width,
        height,
        duration_secs: track.duration_secs,
        frames_decoded: decoded,
        frames_emitted: emitted,
        decoder: Decoder::OpenH264,
        warnings: warnings.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_stops_before_a_cut_mdat() {
        let mut f = Vec::new();
        f.extend_from_slice(b"\0\0\0\x10ftypisom\0\0\0\0");
        f.extend_from_slice(b"\0\0\0\x0Cmoov\0\0\0\0");
        f.extend_from_slice(b"\0\0\x01\0mdat\0\0\0\0");
        assert_eq!(top_level_extent(&f), (28, true));
        assert_eq!(top_level_extent(&f[..28]), (28, false));
        // A cut moov: let the parser see everything and fail.
        assert_eq!(top_level_extent(&f[..20]), (20, true));
    }
}
