//! The ffmpeg backend: every codec and container the embedded decoder does
//! not handle, by running the `ffmpeg` program.
//!
//! One subprocess per video. The bytes are written to a temporary file
//! (MP4/MOV needs seeking, which a pipe cannot give), ffmpeg writes raw
//! RGB24 frames to stdout, and its log on stderr says, for each frame,
//! when it was decoded and when it was selected: two `showinfo` filters,
//! one before and one after the `select` that does the sampling, give the
//! presentation time of every decoded frame and the size of every emitted
//! one. The log also gives the container's duration and the stream's
//! codec and size, which are checked against the limits before the first
//! frame is read.
//!
//! Three threads: this one decides, one parses stderr, one reads frames
//! from stdout (only after the log has announced their size, which has
//! been checked). Both send to one bounded channel, so a slow caller holds
//! ffmpeg back rather than filling memory. ffmpeg is killed when a limit
//! trips, when the callback fails, or when it makes no progress for
//! [`VideoLimits::stall_timeout_secs`].

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use image::RgbImage;

use super::{Container, Decoder, Frame, Pick, Sampler, Sampling, VideoInfo, VideoLimits, Warnings};
use crate::error::{Error, Result};

/// How to get ffmpeg, for error messages.
pub(super) const INSTALL_HINT: &str =
    "install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg)";

/// Environment variable naming the ffmpeg program to use.
const ENV_FFMPEG: &str = "FIRSTSEEN_FFMPEG";

/// Finds the `ffmpeg` program: the path (or program name) in the
/// environment variable `FIRSTSEEN_FFMPEG` if set, else `ffmpeg` on
/// `PATH`. Returns `None` when there is none, including when
/// `FIRSTSEEN_FFMPEG` names a file that does not exist (a way to hide
/// ffmpeg from firstseen).
pub fn find_ffmpeg() -> Option<PathBuf> {
    match std::env::var_os(ENV_FFMPEG) {
        Some(v) if !v.is_empty() => {
            let p = PathBuf::from(&v);
            if p.components().count() > 1 {
                p.is_file().then_some(p)
            } else {
                search_path(&v)
            }
        }
        _ => search_path(&OsString::from(if cfg!(windows) {
            "ffmpeg.exe"
        } else {
            "ffmpeg"
        })),
    }
}

fn search_path(name: &OsString) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Options that depend on the ffmpeg version.
#[derive(Debug, Clone, Copy)]
struct Features {
    /// `-fps_mode` (5.1+) rather than `-vsync`.
    fps_mode: bool,
    /// `showinfo=checksum=0` (5.0+).
    showinfo_checksum: bool,
}

fn features(ffmpeg: &Path, timeout: Duration) -> Features {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Features>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(f) = cache.lock().ok().and_then(|c| c.get(ffmpeg).copied()) {
        return f;
    }
    let version = version_output(ffmpeg, timeout).unwrap_or_default();
    let f = features_from_version(&version);
    if let Ok(mut c) = cache.lock() {
        c.insert(ffmpeg.to_path_buf(), f);
    }
    f
}

fn version_output(ffmpeg: &Path, timeout: Duration) -> Option<String> {
    let mut child = Command::new(ffmpeg)
        .args(["-hide_banner", "-version"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = child.stdout.take()?;
    let reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.by_ref().take(64 * 1024).read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < timeout => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    reader.join().ok()
}

/// Reads `ffmpeg version 5.1.9-0+deb12u1 …`, `ffmpeg version n7.1 …` or a
/// git build (`N-…`, taken as current).
fn features_from_version(output: &str) -> Features {
    let version = output
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("");
    let mut nums = version
        .trim_start_matches('n')
        .split(|c: char| !c.is_ascii_digit())
        .map(|s| s.parse::<u32>().ok());
    let (major, minor) = match (nums.next().flatten(), nums.next().flatten()) {
        (Some(major), minor) => (major, minor.unwrap_or(0)),
        _ => (u32::MAX, 0),
    };
    Features {
        fps_mode: (major, minor) >= (5, 1),
        showinfo_checksum: major >= 5,
    }
}

/// A temporary copy of the input, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn write(bytes: &[u8], extension: &str) -> Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut attempt = 0;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(
                "firstseen-video-{}-{n}-{nanos}.{extension}",
                std::process::id()
            ));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let tmp = TempFile(path);
                    f.write_all(bytes)
                        .and_then(|()| f.flush())
                        .map_err(|e| Error::io(&tmp.0, e))?;
                    return Ok(tmp);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(Error::io(path, e)),
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Kills and reaps ffmpeg unless it was waited for.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn kill(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
        }
    }

    fn wait(&mut self) -> Option<ExitStatus> {
        self.0.take().and_then(|mut c| c.wait().ok())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What the stderr and stdout threads report.
#[derive(Debug)]
enum Event {
    /// The container's duration (`Duration:` line; absent for `N/A`).
    Duration(f64),
    /// The input's video stream.
    Stream {
        codec: String,
        width: u32,
        height: u32,
    },
    /// The time base of frame timestamps (`showinfo` config line).
    TimeBase(i64, i64),
    /// A frame was decoded (before sampling).
    Decoded(FrameLog),
    /// A frame was selected; its pixels follow on stdout.
    Selected(FrameLog),
    /// The decoder refused a picture over `-max_pixels`.
    PictureTooLarge(u32, u32),
    /// A line worth reporting (decoder errors and the like).
    Diag(String),
    /// stderr closed: ffmpeg has exited or is about to.
    StderrEnd,
    /// One frame's RGB24 bytes.
    Pixels(Vec<u8>),
    /// stdout ended before all announced frames arrived.
    PixelsEnd,
}

/// One `showinfo` frame line.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FrameLog {
    pts: Option<i64>,
    pts_time: Option<f64>,
    size: Option<(u32, u32)>,
}

pub(super) fn decode(
    bytes: &[u8],
    container: Container,
    limits: &VideoLimits,
    sampling: &Sampling,
    on_frame: &mut dyn FnMut(Frame) -> Result<()>,
) -> Result<VideoInfo> {
    let name = container.name();
    let Some(ffmpeg) = find_ffmpeg() else {
        return Err(Error::Decode {
            format: name.to_string(),
            reason: format!(
                "needs ffmpeg for {}: {INSTALL_HINT}",
                container.description()
            ),
        });
    };
    let stall = Duration::from_secs_f64(limits.stall_timeout_secs.clamp(0.1, 1e6));
    let features = features(&ffmpeg, stall);
    let input = TempFile::write(bytes, container.extension())?;
    let mut child = ChildGuard(Some(
        Command::new(&ffmpeg)
            .args(arguments(&input.0, limits, sampling, features))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Decode {
                format: name.to_string(),
                reason: format!("cannot run {}: {e}", ffmpeg.display()),
            })?,
    ));
    let (stdout, stderr) = match child.0.as_mut() {
        Some(c) => (c.stdout.take(), c.stderr.take()),
        None => (None, None),
    };
    let (Some(stdout), Some(stderr)) = (stdout, stderr) else {
        return Err(Error::Decode {
            format: name.to_string(),
            reason: "ffmpeg pipes unavailable".to_string(),
        });
    };
    let (tx, rx) = mpsc::sync_channel::<Event>(64);
    let (size_tx, size_rx) = mpsc::channel::<usize>();
    let input_name = input.0.to_string_lossy().into_owned();
    let stderr_thread = {
        let tx = tx.clone();
        thread::spawn(move || parse_stderr(stderr, &input_name, &tx))
    };
    let stdout_thread = thread::spawn(move || read_frames(stdout, &size_rx, &tx));

    let mut run = Run::new(container, limits, sampling);
    let outcome = run.drive(&rx, &size_tx, stall, on_frame);
    if outcome.is_err() || run.stalled {
        child.kill();
    }
    drop(rx);
    drop(size_tx);
    let status = child.wait();
    let _ = stderr_thread.join();
    let _ = stdout_thread.join();
    drop(input);
    outcome?;
    run.finish(status)
}

fn arguments(
    input: &Path,
    limits: &VideoLimits,
    sampling: &Sampling,
    f: Features,
) -> Vec<OsString> {
    let info = |label: &str| {
        if f.showinfo_checksum {
            format!("showinfo@{label}=checksum=0")
        } else {
            format!("showinfo@{label}")
        }
    };
    let mut chain = format!("setpts=PTS-STARTPTS,{}", info("pre"));
    if !sampling.is_every_frame() {
        let e = sampling.every_secs;
        chain.push_str(&format!(
            ",select='isnan(prev_selected_t)+gte(floor(t/{e})\\,floor(prev_selected_t/{e})+1)"
        ));
        if let Some(s) = sampling.scene_threshold {
            chain.push_str(&format!("+gt(scene\\,{s})"));
        }
        chain.push('\'');
    }
    chain.push(',');
    chain.push_str(&info("out"));
    // The decoder refuses larger pictures itself, before allocating them.
    let max_pixels = limits
        .max_frame_pixels
        .clamp(1, i32::MAX as u64)
        .to_string();
    let mut args: Vec<OsString> = [
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "info",
        "-max_pixels",
        &max_pixels,
        "-i",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(input.as_os_str().to_owned());
    for a in [
        "-map",
        "0:V:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        &chain,
        if f.fps_mode { "-fps_mode" } else { "-vsync" },
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ] {
        args.push(OsString::from(a));
    }
    args
}

/// The decision loop's state.
struct Run<'a> {
    container: Container,
    limits: &'a VideoLimits,
    sampler: Sampler,
    duration: Option<f64>,
    codec: String,
    stream_size: Option<(u32, u32)>,
    time_base: Option<(i64, i64)>,
    decoded: u64,
    emitted: u64,
    last_t: f64,
    first_size: Option<(u32, u32)>,
    /// Selected frames whose pixels have not arrived yet.
    pending: VecDeque<(u64, f64, u32, u32)>,
    diags: Vec<String>,
    warnings: Warnings,
    stalled: bool,
    lost: bool,
}

impl<'a> Run<'a> {
    fn new(container: Container, limits: &'a VideoLimits, sampling: &Sampling) -> Self {
        Run {
            container,
            limits,
            sampler: Sampler::new(sampling),
            duration: None,
            codec: String::new(),
            stream_size: None,
            time_base: None,
            decoded: 0,
            emitted: 0,
            last_t: 0.0,
            first_size: None,
            pending: VecDeque::new(),
            diags: Vec::new(),
            warnings: Warnings::default(),
            stalled: false,
            lost: false,
        }
    }

    fn seconds(&self, f: &FrameLog) -> Option<f64> {
        match (f.pts, self.time_base) {
            (Some(pts), Some((num, den))) if den != 0 => Some(pts as f64 * num as f64 / den as f64),
            _ => f.pts_time,
        }
    }

    fn drive(
        &mut self,
        rx: &Receiver<Event>,
        size_tx: &mpsc::Sender<usize>,
        stall: Duration,
        on_frame: &mut dyn FnMut(Frame) -> Result<()>,
    ) -> Result<()> {
        let mut stderr_done = false;
        let mut last_progress = Instant::now();
        while !(stderr_done && self.pending.is_empty()) {
            let wait = stall.saturating_sub(last_progress.elapsed());
            let ev = match rx.recv_timeout(wait) {
                Ok(ev) => ev,
                Err(RecvTimeoutError::Timeout) => {
                    self.stalled = true;
                    return Ok(());
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            };
            match ev {
                Event::Duration(d) => {
                    self.duration = Some(d);
                    self.limits.check_duration(d)?;
                }
                Event::Stream {
                    codec,
                    width,
                    height,
                } => {
                    self.limits.check_pixels(width, height)?;
                    self.codec = codec;
                    self.stream_size = Some((width, height));
                }
                Event::TimeBase(num, den) => self.time_base = Some((num, den)),
                Event::PictureTooLarge(width, height) => {
                    self.limits.check_pixels(width, height)?;
                }
                Event::Decoded(f) => {
                    last_progress = Instant::now();
                    self.decoded += 1;
                    self.limits.check_frames(self.decoded)?;
                    if let Some(t) = self.seconds(&f) {
                        self.limits.check_duration(t)?;
                        self.last_t = self.last_t.max(t);
                    }
                }
                Event::Selected(f) => {
                    last_progress = Instant::now();
                    let Some((w, h)) = f.size.or(self.stream_size) else {
                        self.warnings
                            .push("ffmpeg did not report a frame size; stopped");
                        return Ok(());
                    };
                    self.limits.check_pixels(w, h)?;
                    let t = self.seconds(&f).unwrap_or(self.last_t);
                    let index = self.decoded.saturating_sub(1);
                    self.pending.push_back((index, t, w, h));
                    let len = w as usize * h as usize * 3;
                    if size_tx.send(len).is_err() {
                        return Ok(());
                    }
                }
                Event::Pixels(buf) => {
                    last_progress = Instant::now();
                    let Some((index, t, w, h)) = self.pending.pop_front() else {
                        continue;
                    };
                    let Some(image) = RgbImage::from_raw(w, h, buf) else {
                        continue;
                    };
                    let pick = self.sampler.accept(t);
                    self.first_size.get_or_insert((w, h));
                    self.emitted += 1;
                    on_frame(Frame {
                        index,
                        timestamp_secs: t,
                        scene_change: pick == Pick::Scene,
                        image,
                    })?;
                    // The caller's time is not ffmpeg's stall.
                    last_progress = Instant::now();
                }
                Event::PixelsEnd => {
                    if !self.pending.is_empty() {
                        self.lost = true;
                        self.pending.clear();
                    }
                }
                Event::Diag(line) => {
                    if self.diags.len() < 200 {
                        self.diags.push(line);
                    }
                }
                Event::StderrEnd => stderr_done = true,
            }
        }
        Ok(())
    }

    fn finish(mut self, status: Option<ExitStatus>) -> Result<VideoInfo> {
        let name = self.container.name();
        let ok = status.is_some_and(|s| s.success());
        if self.emitted == 0 {
            let reason = if self.stalled {
                format!(
                    "ffmpeg made no progress for {} s and was stopped",
                    self.limits.stall_timeout_secs
                )
            } else if self.diags.iter().any(|d| d.contains("matches no streams")) {
                "no video stream".to_string()
            } else if let Some(last) = self.diags.last() {
                let mut r = last.clone();
                if !ok && self.diags.len() > 1 {
                    r = format!("{} ({})", self.diags[0], r);
                }
                r
            } else if !ok {
                format!("ffmpeg failed ({})", describe(status))
            } else {
                "no frame could be decoded".to_string()
            };
            return Err(Error::Decode {
                format: name.to_string(),
                reason,
            });
        }
        if self.stalled {
            self.warnings.push(format!(
                "ffmpeg made no progress for {} s and was stopped; kept the frames decoded so far",
                self.limits.stall_timeout_secs
            ));
        } else if !ok {
            self.warnings.push(format!(
                "ffmpeg ended with an error ({}); kept the frames decoded so far",
                describe(status)
            ));
        }
        if self.lost {
            self.warnings.push("ffmpeg's output ended early");
        }
        let diags = std::mem::take(&mut self.diags);
        for d in diags {
            self.warnings.push(d);
        }
        let (width, height) = self.first_size.or(self.stream_size).unwrap_or((0, 0));
        let frame_time = if self.decoded > 1 {
            self.last_t / (self.decoded - 1) as f64
        } else {
            0.0
        };
        Ok(VideoInfo {
            container: self.container,
            codec: if self.codec.is_empty() {
                "unknown".to_string()
            } else {
                self.codec
            },
            width,
            height,
            duration_secs: self.duration.unwrap_or(self.last_t + frame_time),
            frames_decoded: self.decoded,
            frames_emitted: self.emitted,
            decoder: Decoder::Ffmpeg,
            warnings: self.warnings.into_vec(),
        })
    }
}

fn describe(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) => s.to_string(),
        None => "no exit status".to_string(),
    }
}

/// Reads frames from stdout, one per size received on `sizes`.
fn read_frames(mut stdout: ChildStdout, sizes: &Receiver<usize>, tx: &SyncSender<Event>) {
    while let Ok(len) = sizes.recv() {
        let mut buf = vec![0u8; len];
        if stdout.read_exact(&mut buf).is_err() {
            let _ = tx.send(Event::PixelsEnd);
            return;
        }
        if tx.send(Event::Pixels(buf)).is_err() {
            return;
        }
    }
}

/// Parses ffmpeg's log into events.
fn parse_stderr(stderr: ChildStderr, input: &str, tx: &SyncSender<Event>) {
    let mut reader = BufReader::new(stderr);
    let mut parser = LogParser::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if let Some(ev) = parser.line(text.trim_end_matches(['\r', '\n']))
            && tx.send(ev).is_err()
        {
            return;
        }
    }
    let _ = tx.send(Event::StderrEnd);
}

/// Turns log lines into events; knows which section of the log it is in.
struct LogParser {
    input: String,
    in_input: bool,
    seen_stream: bool,
}

impl LogParser {
    fn new(input: &str) -> Self {
        LogParser {
            input: input.to_string(),
            in_input: false,
            seen_stream: false,
        }
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if let Some(rest) = line.strip_prefix("[showinfo@") {
            let out = rest.starts_with("out ");
            if !out && !rest.starts_with("pre ") {
                return None;
            }
            if !out && let Some((num, den)) = parse_time_base(rest) {
                return Some(Event::TimeBase(num, den));
            }
            let f = parse_frame_log(rest)?;
            return Some(if out {
                Event::Selected(f)
            } else {
                Event::Decoded(f)
            });
        }
        if line.starts_with("Input #") {
            self.in_input = true;
            return None;
        }
        if line.starts_with("Output #") || line.starts_with("Stream mapping:") {
            self.in_input = false;
            return None;
        }
        let trimmed = line.trim_start();
        if self.in_input {
            if let Some(rest) = trimmed.strip_prefix("Duration: ") {
                return parse_duration(rest).map(Event::Duration);
            }
            if trimmed.starts_with("Stream #")
                && !self.seen_stream
                && let Some((codec, width, height)) = parse_stream(trimmed)
            {
                self.seen_stream = true;
                return Some(Event::Stream {
                    codec,
                    width,
                    height,
                });
            }
        }
        if trimmed.len() != line.len() || line.is_empty() {
            return None; // indented: header details
        }
        if let Some(i) = line.find("Picture size ")
            && line.contains("exceeds specified max pixel count")
            && let Some((w, h)) = line[i + 13..]
                .split_whitespace()
                .next()
                .and_then(parse_size)
        {
            return Some(Event::PictureTooLarge(w, h));
        }
        const NOISE: [&str; 4] = ["Press [q]", "video:", "frame=", "[out#"];
        if NOISE.iter().any(|n| line.starts_with(n)) {
            return None;
        }
        Some(Event::Diag(self.clean(line)))
    }

    /// Replaces the temporary file name with `<input>` and drops the
    /// `@ 0x…` context address.
    fn clean(&self, line: &str) -> String {
        let mut s = line.replace(&self.input, "<input>");
        if let (Some(at), Some(close)) = (s.find(" @ 0x"), s.find(']'))
            && at < close
        {
            s.replace_range(at..close, "");
        }
        s
    }
}

/// `showinfo` frame line: `… n:   3 pts:   1536 pts_time:0.12 … s:640x272 …`.
fn parse_frame_log(line: &str) -> Option<FrameLog> {
    let mut tokens = line.split_whitespace();
    let mut f = FrameLog {
        pts: None,
        pts_time: None,
        size: None,
    };
    let mut is_frame = false;
    while let Some(tok) = tokens.next() {
        if tok == "pts:" {
            f.pts = tokens.next().and_then(|v| v.parse().ok());
            is_frame = true;
        } else if let Some(v) = tok.strip_prefix("pts:") {
            f.pts = v.parse().ok();
            is_frame = true;
        } else if let Some(v) = tok.strip_prefix("pts_time:") {
            f.pts_time = v.parse().ok().filter(|t: &f64| t.is_finite());
        } else if let Some(v) = tok.strip_prefix("s:") {
            f.size = parse_size(v);
        }
    }
    is_frame.then_some(f)
}

/// `showinfo` config line: `… config in time_base: 1/12800, frame_rate: …`.
fn parse_time_base(line: &str) -> Option<(i64, i64)> {
    let rest = line.split("config in time_base: ").nth(1)?;
    let tb = rest.split([',', ' ']).next()?;
    let (num, den) = tb.split_once('/')?;
    let (num, den) = (num.parse().ok()?, den.parse().ok()?);
    (den != 0).then_some((num, den))
}

/// `640x272` → (640, 272).
fn parse_size(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.split_once('x')?;
    if w.is_empty()
        || h.is_empty()
        || !(w.bytes().all(|b| b.is_ascii_digit()) && h.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some((w.parse().ok()?, h.parse().ok()?))
}

/// `00:00:10.00, start: 0.000000, bitrate: 407 kb/s` → 10.0.
fn parse_duration(s: &str) -> Option<f64> {
    let hms = s.split(',').next()?.trim();
    let mut parts = hms.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    let secs = h.parse::<f64>().ok()? * 3600.0
        + m.parse::<f64>().ok()? * 60.0
        + sec.parse::<f64>().ok()?;
    secs.is_finite().then_some(secs)
}

/// `Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661),
/// yuv420p(progressive), 640x272 [SAR 1:1 DAR 40:17], …` →
/// (`h264`, 640, 272). Attached pictures (cover art) are skipped.
fn parse_stream(line: &str) -> Option<(String, u32, u32)> {
    if line.contains("(attached pic)") {
        return None;
    }
    let rest = line.split(": Video: ").nth(1)?;
    let codec = rest
        .split_whitespace()
        .next()?
        .trim_end_matches(',')
        .to_string();
    let (w, h) = rest
        .split(", ")
        .skip(1)
        .find_map(|field| parse_size(field.split_whitespace().next()?))?;
    Some((codec, w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let f = features_from_version("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000");
        assert!(f.fps_mode && f.showinfo_checksum);
        let f = features_from_version("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright");
        assert!(!f.fps_mode && !f.showinfo_checksum);
        let f = features_from_version("ffmpeg version 5.0.1 Copyright");
        assert!(!f.fps_mode && f.showinfo_checksum);
        assert!(features_from_version("ffmpeg version n7.1 Copyright").fps_mode);
        assert!(features_from_version("ffmpeg version N-113000-gabc Copyright").fps_mode);
        assert!(features_from_version("").fps_mode);
    }

    #[test]
    fn header_lines() {
        let mut p = LogParser::new("/tmp/x.mp4");
        assert!(
            p.line("Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/tmp/x.mp4':")
                .is_none()
        );
        assert!(matches!(
            p.line("  Duration: 00:01:10.50, start: 0.000000, bitrate: 407 kb/s"),
            Some(Event::Duration(d)) if (d - 70.5).abs() < 1e-9
        ));
        assert!(
            p.line("  Duration: N/A, start: 0.000000, bitrate: N/A")
                .is_none()
        );
        match p.line("  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 640x272 [SAR 1:1 DAR 40:17], 404 kb/s, 25 fps") {
            Some(Event::Stream { codec, width, height }) => {
                assert_eq!((codec.as_str(), width, height), ("h264", 640, 272));
            }
            other => panic!("{other:?}"),
        }
        assert!(p.line("Stream mapping:").is_none());
        match p.line("[h264 @ 0x55d0c] error while decoding MB 3 2") {
            Some(Event::Diag(d)) => assert_eq!(d, "[h264] error while decoding MB 3 2"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p.line("[vp9 @ 0x5] [IMGUTILS @ 0x7f] Picture size 640x272 exceeds specified max pixel count 5000, see the documentation"),
            Some(Event::PictureTooLarge(640, 272))
        ));
        match p.line("/tmp/x.mp4: Invalid data found when processing input") {
            Some(Event::Diag(d)) => {
                assert_eq!(d, "<input>: Invalid data found when processing input")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn showinfo_lines() {
        let mut p = LogParser::new("x");
        assert!(matches!(
            p.line("[showinfo@pre @ 0x55e] config in time_base: 1/12800, frame_rate: 25/1"),
            Some(Event::TimeBase(1, 12800))
        ));
        assert!(
            p.line("[showinfo@out @ 0x55e] config in time_base: 1/12800, frame_rate: 25/1")
                .is_none()
        );
        match p.line("[showinfo@out @ 0x55e] n:   7 pts:  35840 pts_time:2.8     pos:   503137 fmt:yuv420p sar:1/1 s:640x272 i:P iskey:0 type:P ") {
            Some(Event::Selected(f)) => {
                assert_eq!(f.pts, Some(35840));
                assert_eq!(f.pts_time, Some(2.8));
                assert_eq!(f.size, Some((640, 272)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p.line("[showinfo@pre @ 0x55e] n:   0 pts:      0 pts_time:0 s:640x272"),
            Some(Event::Decoded(_))
        ));
        assert!(
            p.line("[showinfo@pre @ 0x55e]   side data - User Data Unregistered:")
                .is_none()
        );
        assert!(
            p.line("[showinfo@pre @ 0x55e] color_range:unknown color_space:unknown")
                .is_none()
        );
    }

    #[test]
    fn sampling_filter() {
        let f = Features {
            fps_mode: true,
            showinfo_checksum: true,
        };
        let args = arguments(
            Path::new("in.mp4"),
            &VideoLimits::default(),
            &Sampling::default().with_scene_threshold(0.3),
            f,
        );
        let vf = args.iter().position(|a| a == "-vf").unwrap();
        assert_eq!(
            args[vf + 1],
            "setpts=PTS-STARTPTS,showinfo@pre=checksum=0,select='isnan(prev_selected_t)+gte(floor(t/1)\\,floor(prev_selected_t/1)+1)+gt(scene\\,0.3)',showinfo@out=checksum=0"
        );
        let args = arguments(
            Path::new("in.mp4"),
            &VideoLimits::default(),
            &Sampling::every_frame(),
            f,
        );
        assert!(!args.iter().any(|a| a.to_string_lossy().contains("select")));
    }
}
