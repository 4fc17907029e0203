//! Recognising video containers and animated images by their content.

use std::fmt;

/// A video container (or animated image format), recognised by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Container {
    /// ISO base media (`ftyp`) or QuickTime: MP4, MOV, M4V, 3GP.
    Mp4,
    /// EBML: WebM or Matroska.
    WebM,
    /// RIFF AVI.
    Avi,
    /// MPEG transport stream (TS, M2TS).
    MpegTs,
    /// MPEG program stream (VOB, MPG).
    MpegPs,
    /// Flash video.
    Flv,
    /// ASF: WMV.
    Asf,
    /// GIF with more than one frame.
    AnimatedGif,
    /// WebP with more than one frame.
    AnimatedWebp,
    /// PNG with an animation of more than one frame.
    Apng,
}

impl Container {
    /// Short lowercase name: `mp4`, `webm`, `avi`, `mpegts`, `mpegps`,
    /// `flv`, `asf`, `gif`, `webp`, `apng`.
    pub fn name(&self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::WebM => "webm",
            Container::Avi => "avi",
            Container::MpegTs => "mpegts",
            Container::MpegPs => "mpegps",
            Container::Flv => "flv",
            Container::Asf => "asf",
            Container::AnimatedGif => "gif",
            Container::AnimatedWebp => "webp",
            Container::Apng => "apng",
        }
    }

    /// How error messages name it: `MP4/MOV`, `WebM/Matroska`, ….
    pub fn description(&self) -> &'static str {
        match self {
            Container::Mp4 => "MP4/MOV",
            Container::WebM => "WebM/Matroska",
            Container::Avi => "AVI",
            Container::MpegTs => "MPEG-TS",
            Container::MpegPs => "MPEG-PS",
            Container::Flv => "FLV",
            Container::Asf => "ASF/WMV",
            Container::AnimatedGif => "animated GIF",
            Container::AnimatedWebp => "animated WebP",
            Container::Apng => "APNG",
        }
    }

    /// A file extension that helps ffmpeg's probing.
    pub(super) fn extension(&self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::WebM => "mkv",
            Container::Avi => "avi",
            Container::MpegTs => "ts",
            Container::MpegPs => "mpg",
            Container::Flv => "flv",
            Container::Asf => "asf",
            Container::AnimatedGif => "gif",
            Container::AnimatedWebp => "webp",
            Container::Apng => "png",
        }
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Recognises a video container from a file's content.
///
/// Pass the whole file (or as much as is at hand): containers are
/// recognised from the first 400 bytes, but GIF, WebP and PNG count as
/// video only when animated with more than one frame, and telling needs
/// their block structure (no pixels are decoded; see [`is_animated`]).
/// A still GIF/WebP/PNG, a HEIF/AVIF still and an audio-only M4A return
/// `None`.
pub fn sniff_video(bytes: &[u8]) -> Option<Container> {
    if let Some(c) = sniff_iso_bmff(bytes) {
        return c;
    }
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(Container::WebM);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"AVI " {
        return Some(Container::Avi);
    }
    if is_ts(bytes, 0, 188) || is_ts(bytes, 4, 192) {
        return Some(Container::MpegTs);
    }
    if bytes.starts_with(&[0, 0, 1, 0xBA]) {
        return Some(Container::MpegPs);
    }
    if bytes.starts_with(b"FLV\x01") {
        return Some(Container::Flv);
    }
    const ASF: [u8; 16] = [
        0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE,
        0x6C,
    ];
    if bytes.starts_with(&ASF) {
        return Some(Container::Asf);
    }
    if bytes.starts_with(b"GIF8") && gif_frames(bytes, 2) >= 2 {
        return Some(Container::AnimatedGif);
    }
    if bytes.starts_with(PNG_SIGNATURE) && apng_frames(bytes) >= 2 {
        return Some(Container::Apng);
    }
    if is_webp(bytes) && webp_frames(bytes, 2) >= 2 {
        return Some(Container::AnimatedWebp);
    }
    None
}

/// True when `bytes` is a GIF, WebP or PNG with more than one frame.
///
/// Reads only the block structure (GIF blocks, WebP `ANMF` chunks, the
/// APNG `acTL` chunk), never pixels, so it is cheap on any size. A
/// truncated file counts the frames that are present.
pub fn is_animated(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"GIF8") {
        gif_frames(bytes, 2) >= 2
    } else if bytes.starts_with(PNG_SIGNATURE) {
        apng_frames(bytes) >= 2
    } else if is_webp(bytes) {
        webp_frames(bytes, 2) >= 2
    } else {
        false
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// `Some(Some(Mp4))` for an ISO BMFF/QuickTime video, `Some(None)` for an
/// ISO BMFF file that is not a video (HEIF/AVIF still, audio), `None` when
/// it is not ISO BMFF at all.
fn sniff_iso_bmff(b: &[u8]) -> Option<Option<Container>> {
    if b.len() < 12 {
        return None;
    }
    let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let kind = &b[4..8];
    if kind == b"ftyp" {
        const NOT_VIDEO: [&[u8; 4]; 14] = [
            b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif",
            b"avis", b"M4A ", b"M4B ", b"M4P ", b"crx ",
        ];
        let major = &b[8..12];
        return Some(if NOT_VIDEO.iter().any(|n| &n[..] == major) {
            None
        } else {
            Some(Container::Mp4)
        });
    }
    // QuickTime files from before `ftyp` start with one of these atoms.
    // A plausible atom size keeps random bytes from matching.
    const QT_ATOMS: [&[u8; 4]; 6] = [b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"];
    if (size == 1 || size >= 8) && QT_ATOMS.iter().any(|a| &a[..] == kind) {
        return Some(Some(Container::Mp4));
    }
    None
}

fn is_ts(b: &[u8], first: usize, packet: usize) -> bool {
    (0..3).all(|i| b.get(first + i * packet) == Some(&0x47))
}

fn is_webp(b: &[u8]) -> bool {
    b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP"
}

/// Counts GIF image descriptors, stopping at `stop_at`.
fn gif_frames(b: &[u8], stop_at: usize) -> usize {
    // Header (6) and logical screen descriptor (7).
    let Some(&flags) = b.get(10) else { return 0 };
    let mut pos = 13;
    if flags & 0x80 != 0 {
        pos += 3 << ((flags & 7) + 1);
    }
    let mut frames = 0;
    while let Some(&block) = b.get(pos) {
        match block {
            0x2C => {
                // Image descriptor: position and size (8), flags (1).
                let Some(&f) = b.get(pos + 9) else { break };
                pos += 10;
                if f & 0x80 != 0 {
                    pos += 3 << ((f & 7) + 1);
                }
                pos += 1; // LZW minimum code size
                let Some(next) = skip_sub_blocks(b, pos) else {
                    break;
                };
                frames += 1;
                if frames >= stop_at {
                    break;
                }
                pos = next;
            }
            0x21 => match skip_sub_blocks(b, pos + 2) {
                Some(next) => pos = next,
                None => break,
            },
            _ => break, // 0x3B trailer, or garbage
        }
    }
    frames
}

/// Skips GIF data sub-blocks starting at `pos`; returns the position after
/// the block terminator, or `None` when the data ends first.
fn skip_sub_blocks(b: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = usize::from(*b.get(pos)?);
        pos += 1;
        if len == 0 {
            return Some(pos);
        }
        pos += len;
    }
}

/// Frames in an APNG's `acTL` chunk (0 when there is none before the image
/// data).
fn apng_frames(b: &[u8]) -> u32 {
    let mut pos = PNG_SIGNATURE.len();
    while pos + 8 <= b.len() {
        let len = u32::from_be_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]) as usize;
        let kind = &b[pos + 4..pos + 8];
        if kind == b"acTL" {
            return match b.get(pos + 8..pos + 12) {
                Some(n) => u32::from_be_bytes([n[0], n[1], n[2], n[3]]),
                None => 0,
            };
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return 0;
        }
        pos = match pos.checked_add(len).and_then(|p| p.checked_add(12)) {
            Some(p) => p,
            None => return 0,
        };
    }
    0
}

/// Counts WebP `ANMF` chunks, stopping at `stop_at`.
fn webp_frames(b: &[u8], stop_at: usize) -> usize {
    let mut pos = 12;
    let mut frames = 0;
    while pos + 8 <= b.len() {
        let kind = &b[pos..pos + 4];
        let len = u32::from_le_bytes([b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]]) as usize;
        if kind == b"ANMF" {
            frames += 1;
            if frames >= stop_at {
                break;
            }
        }
        pos = match pos.checked_add(8 + len + (len & 1)) {
            Some(p) => p,
            None => break,
        };
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_by_magic() {
        let mut mp4 = vec![0, 0, 0, 24];
        mp4.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
        assert_eq!(sniff_video(&mp4), Some(Container::Mp4));
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert_eq!(sniff_video(&heic), None);
        let mut m4a = vec![0, 0, 0, 24];
        m4a.extend_from_slice(b"ftypM4A \0\0\0\0M4A mp42");
        assert_eq!(sniff_video(&m4a), None);
        assert_eq!(
            sniff_video(b"\0\0\0\x08wide\0\0\0\0mdat"),
            Some(Container::Mp4)
        );
        assert_eq!(
            sniff_video(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81]),
            Some(Container::WebM)
        );
        assert_eq!(sniff_video(b"RIFF\x10\0\0\0AVI LIST"), Some(Container::Avi));
        let mut ts = vec![0u8; 188 * 3];
        for i in 0..3 {
            ts[i * 188] = 0x47;
        }
        assert_eq!(sniff_video(&ts), Some(Container::MpegTs));
        assert_eq!(
            sniff_video(b"\0\0\x01\xBA\x44\0\x04"),
            Some(Container::MpegPs)
        );
        assert_eq!(sniff_video(b"FLV\x01\x05\0\0\0\x09"), Some(Container::Flv));
        assert_eq!(sniff_video(b"hello world, not a video"), None);
        assert_eq!(sniff_video(b""), None);
    }

    fn gif(frames: usize) -> Vec<u8> {
        let mut g = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff".to_vec();
        for _ in 0..frames {
            g.extend_from_slice(b"\x21\xF9\x04\x00\x0A\x00\x00\x00");
            g.extend_from_slice(b"\x2C\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
        }
        g.push(0x3B);
        g
    }

    #[test]
    fn gif_is_video_only_when_animated() {
        assert!(!is_animated(&gif(1)));
        assert!(is_animated(&gif(3)));
        assert_eq!(sniff_video(&gif(1)), None);
        assert_eq!(sniff_video(&gif(2)), Some(Container::AnimatedGif));
        // Truncated inside the second frame: one complete frame.
        let g = gif(2);
        assert!(!is_animated(&g[..g.len() - 4]));
    }

    #[test]
    fn apng_and_webp_frame_counts() {
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(b"\0\0\0\x0DIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\0\0\0\0");
        png.extend_from_slice(b"\0\0\0\x08acTL\0\0\0\x03\0\0\0\0\0\0\0\0");
        assert!(is_animated(&png));
        assert_eq!(sniff_video(&png), Some(Container::Apng));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0A\0\0\0\x02\0\0\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(b"ANMF\x02\0\0\0\0\0ANMF\x01\0\0\0\0\0");
        assert!(is_animated(&webp));
        assert!(!is_animated(&webp[..webp.len() - 10]));
    }
}
