//! H.264 bitstream helpers: AVCC → Annex B, and the few sequence parameter
//! set (SPS) fields needed to decide whether OpenH264 can decode a stream
//! and how large its frames are before any frame buffer is allocated.

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Appends the NAL units of one AVCC sample (each prefixed by its length
/// in `length_size` bytes) to `out` in Annex B form (each prefixed by a
/// start code).
///
/// # Errors
/// A message when a length runs past the end of the sample.
pub(super) fn avcc_to_annexb(
    sample: &[u8],
    length_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let mut pos = 0;
    while pos < sample.len() {
        let Some(len_bytes) = sample.get(pos..pos + length_size) else {
            return Err(format!("NAL length cut off at byte {pos}"));
        };
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        pos += length_size;
        let Some(nal) = sample.get(pos..pos + len) else {
            return Err(format!(
                "NAL unit of {len} bytes at byte {pos} runs past the sample ({} bytes)",
                sample.len()
            ));
        };
        if !nal.is_empty() {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(nal);
        }
        pos += len;
    }
    Ok(())
}

/// The header byte of every NAL unit of a length-prefixed sample; `None`
/// when a length runs past the sample or a unit is empty.
fn nal_headers(sample: &[u8], length_size: usize) -> Option<Vec<u8>> {
    let mut pos = 0;
    let mut headers = Vec::new();
    while pos < sample.len() {
        let len = sample
            .get(pos..pos + length_size)?
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        pos += length_size;
        let &header = sample.get(pos)?;
        if len == 0 || pos + len > sample.len() {
            return None;
        }
        headers.push(header);
        pos += len;
    }
    Some(headers)
}

/// True when a length-prefixed sample holds picture data (slices) and
/// every slice is marked as never referenced by another picture
/// (`nal_ref_idc` 0): decoding it can be skipped without changing any
/// other frame. False when unsure (no slice, a parse problem).
pub(super) fn is_disposable(sample: &[u8], length_size: usize) -> bool {
    let Some(headers) = nal_headers(sample, length_size) else {
        return false;
    };
    let mut slices = 0;
    for header in headers {
        let (ref_idc, kind) = ((header >> 5) & 3, header & 0x1f);
        // Types 1-5 are slices (5: an IDR picture, always referenced).
        if (1..=5).contains(&kind) {
            if ref_idc != 0 || kind == 5 {
                return false;
            }
            slices += 1;
        }
    }
    slices > 0
}

/// True when a length-prefixed sample is an IDR picture (NAL type 5):
/// decoding can start there with nothing before it but the parameter
/// sets. False when unsure.
pub(super) fn is_idr(sample: &[u8], length_size: usize) -> bool {
    nal_headers(sample, length_size).is_some_and(|h| h.iter().any(|&b| b & 0x1f == 5))
}

/// Appends one raw NAL unit (SPS or PPS from `avcC`) in Annex B form.
pub(super) fn push_nal(nal: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&START_CODE);
    out.extend_from_slice(nal);
}

/// What firstseen needs from a sequence parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sps {
    pub profile_idc: u8,
    /// 0 = monochrome, 1 = 4:2:0, 2 = 4:2:2, 3 = 4:4:4.
    pub chroma_format_idc: u32,
    pub bit_depth_luma: u32,
    pub bit_depth_chroma: u32,
    /// False for interlaced (field or MBAFF) coding.
    pub frame_mbs_only: bool,
    /// Coded size in pixels, before cropping (what the decoder allocates).
    pub coded_width: u32,
    pub coded_height: u32,
    /// Size after the SPS cropping window.
    pub width: u32,
    pub height: u32,
}

impl Sps {
    /// Why OpenH264 cannot decode this stream, or `None` when it can:
    /// it decodes 8-bit 4:2:0 progressive video only.
    pub fn unsupported_by_openh264(&self) -> Option<String> {
        if self.chroma_format_idc != 1 {
            let name = match self.chroma_format_idc {
                0 => "monochrome",
                2 => "4:2:2",
                _ => "4:4:4",
            };
            return Some(format!("H.264 {name} chroma"));
        }
        if self.bit_depth_luma != 8 || self.bit_depth_chroma != 8 {
            return Some(format!("H.264 {}-bit", self.bit_depth_luma));
        }
        if !self.frame_mbs_only {
            return Some("interlaced H.264".to_string());
        }
        None
    }
}

/// Parses an SPS NAL unit (starting with its one-byte NAL header).
///
/// # Errors
/// A message when the unit is not an SPS or is cut short.
pub(super) fn parse_sps(nal: &[u8]) -> Result<Sps, String> {
    let Some((&header, _)) = nal.split_first() else {
        return Err("empty SPS".to_string());
    };
    if header & 0x1F != 7 {
        return Err(format!("NAL unit type {} is not an SPS", header & 0x1F));
    }
    let rbsp = unescape(&nal[1..]);
    let mut r = BitReader::new(&rbsp);
    let short = |_| "SPS cut short".to_string();
    let profile_idc = r.bits(8).map_err(short)? as u8;
    r.bits(16).map_err(short)?; // constraint flags, level_idc
    r.ue().map_err(short)?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    let mut bit_depth_luma = 8;
    let mut bit_depth_chroma = 8;
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = r.ue().map_err(short)?;
        if chroma_format_idc > 3 {
            return Err(format!("invalid chroma_format_idc {chroma_format_idc}"));
        }
        if chroma_format_idc == 3 {
            r.bits(1).map_err(short)?; // separate_colour_plane_flag
        }
        bit_depth_luma = 8 + r.ue().map_err(short)?;
        bit_depth_chroma = 8 + r.ue().map_err(short)?;
        r.bits(1).map_err(short)?; // qpprime_y_zero_transform_bypass_flag
        if r.bits(1).map_err(short)? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bits(1).map_err(short)? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 }).map_err(short)?;
                }
            }
        }
    }
    r.ue().map_err(short)?; // log2_max_frame_num_minus4
    match r.ue().map_err(short)? {
        0 => {
            r.ue().map_err(short)?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bits(1).map_err(short)?; // delta_pic_order_always_zero_flag
            r.se().map_err(short)?; // offset_for_non_ref_pic
            r.se().map_err(short)?; // offset_for_top_to_bottom_field
            let n = r.ue().map_err(short)?;
            if n > 255 {
                return Err(format!("invalid num_ref_frames_in_pic_order_cnt_cycle {n}"));
            }
            for _ in 0..n {
                r.se().map_err(short)?;
            }
        }
        _ => {}
    }
    r.ue().map_err(short)?; // max_num_ref_frames
    r.bits(1).map_err(short)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(r.ue().map_err(short)?) + 1;
    let height_map_units = u64::from(r.ue().map_err(short)?) + 1;
    let frame_mbs_only = r.bits(1).map_err(short)? == 1;
    if !frame_mbs_only {
        r.bits(1).map_err(short)?; // mb_adaptive_frame_field_flag
    }
    r.bits(1).map_err(short)?; // direct_8x8_inference_flag
    let field_factor = if frame_mbs_only { 1 } else { 2 };
    let coded_width = width_mbs * 16;
    let coded_height = height_map_units * 16 * field_factor;
    let (mut width, mut height) = (coded_width, coded_height);
    if r.bits(1).map_err(short)? == 1 {
        let (left, right, top, bottom) = (
            u64::from(r.ue().map_err(short)?),
            u64::from(r.ue().map_err(short)?),
            u64::from(r.ue().map_err(short)?),
            u64::from(r.ue().map_err(short)?),
        );
        let (unit_x, unit_y) = match chroma_format_idc {
            1 => (2, 2 * field_factor),
            2 => (2, field_factor),
            _ => (1, field_factor),
        };
        width = width.saturating_sub(unit_x * (left + right));
        height = height.saturating_sub(unit_y * (top + bottom));
    }
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(Sps {
        profile_idc,
        chroma_format_idc,
        bit_depth_luma,
        bit_depth_chroma,
        frame_mbs_only,
        coded_width: clamp(coded_width),
        coded_height: clamp(coded_height),
        width: clamp(width),
        height: clamp(height),
    })
}

fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), ()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            let delta = i64::from(r.se()?);
            next = (last + delta + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// Removes emulation-prevention bytes (`00 00 03` → `00 00`).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Reads bits most significant first; reading past the end is an error.
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    fn bit(&mut self) -> Result<u32, ()> {
        let byte = *self.data.get(self.pos / 8).ok_or(())?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(bit))
    }

    fn bits(&mut self, n: u32) -> Result<u32, ()> {
        (0..n).try_fold(0u32, |acc, _| Ok((acc << 1) | self.bit()?))
    }

    /// Unsigned Exp-Golomb.
    fn ue(&mut self) -> Result<u32, ()> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(());
            }
        }
        let rest = self.bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }

    /// Signed Exp-Golomb.
    fn se(&mut self) -> Result<i32, ()> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposable_samples_are_unreferenced_slices_only() {
        // 4-byte lengths; header byte: nal_ref_idc in bits 5-6, type in 0-4.
        let sample = |nals: &[&[u8]]| -> Vec<u8> {
            let mut out = Vec::new();
            for n in nals {
                out.extend_from_slice(&(n.len() as u32).to_be_bytes());
                out.extend_from_slice(n);
            }
            out
        };
        let b_slice: &[u8] = &[0x01, 0x9a, 0x00];
        let p_slice: &[u8] = &[0x41, 0x9a, 0x00];
        let idr: &[u8] = &[0x65, 0x88, 0x80];
        let sei: &[u8] = &[0x06, 0x05, 0x01];
        assert!(is_disposable(&sample(&[b_slice]), 4));
        assert!(is_disposable(&sample(&[sei, b_slice, b_slice]), 4));
        assert!(!is_disposable(&sample(&[p_slice]), 4));
        assert!(!is_disposable(&sample(&[b_slice, p_slice]), 4));
        assert!(!is_disposable(&sample(&[idr]), 4));
        assert!(!is_disposable(&sample(&[sei]), 4), "no picture in it");
        let mut cut = sample(&[b_slice]);
        cut.truncate(5);
        assert!(!is_disposable(&cut, 4), "unsure: decode it");
        assert!(!is_disposable(&[], 4));
    }

    #[test]
    fn avcc_becomes_annexb() {
        let sample = [0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 1, 0x41];
        let mut out = Vec::new();
        avcc_to_annexb(&sample, 4, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0xAA, 0, 0, 0, 1, 0x41]);
        let mut out = Vec::new();
        assert!(avcc_to_annexb(&[0, 0, 0, 9, 1, 2], 4, &mut out).is_err());
        assert!(avcc_to_annexb(&[0, 0], 4, &mut out).is_err());
        let mut out = Vec::new();
        avcc_to_annexb(&[1, 0x09, 2, 0x41, 0x42], 1, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x09, 0, 0, 0, 1, 0x41, 0x42]);
    }

    #[test]
    fn sps_of_a_padded_stream() {
        // From vPDQ's test-padded-dimensions.mp4 (avcC): x264 High,
        // 1080x1080 coded as 1088x1088.
        let sps = [
            0x67, 0x64, 0x00, 0x20, 0xAC, 0xD9, 0x40, 0x44, 0x02, 0x27, 0x96, 0x5C, 0x04, 0x40,
            0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0F, 0x03, 0xC6, 0x0C, 0x65, 0x80,
        ];
        let s = parse_sps(&sps).unwrap();
        assert_eq!(s.profile_idc, 100);
        assert_eq!((s.coded_width, s.coded_height), (1088, 1088));
        assert_eq!((s.width, s.height), (1080, 1080));
        assert!(s.frame_mbs_only);
        assert_eq!(s.unsupported_by_openh264(), None);
    }

    #[test]
    fn sps_with_a_cropping_window() {
        // From tests/fixtures/video/carphone-170x98.mp4 (avcC): x264 High,
        // 11 x 7 macroblocks cropped to 170x98.
        let sps = [
            0x67, 0x64, 0x00, 0x0B, 0xAC, 0xD9, 0x42, 0xCF, 0xE4, 0x88, 0xFF, 0xC2, 0xEB, 0x83,
            0xC9, 0xC4, 0x00, 0x00, 0x0F, 0xA4, 0x00, 0x03, 0xA9, 0x80, 0x3C, 0x50, 0xA6, 0x58,
        ];
        let s = parse_sps(&sps).unwrap();
        assert_eq!((s.coded_width, s.coded_height), (176, 112));
        assert_eq!((s.width, s.height), (170, 98));
        // From tests/fixtures/video/bikes-3s.mp4: 640x272, no cropping.
        let sps = [
            0x67, 0x64, 0x00, 0x15, 0xAC, 0xD9, 0x40, 0xA0, 0x23, 0xB0, 0x11, 0x00, 0x00, 0x03,
            0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0F, 0x16, 0x2D, 0x96,
        ];
        let s = parse_sps(&sps).unwrap();
        assert_eq!((s.width, s.height), (640, 272));
        assert_eq!((s.chroma_format_idc, s.bit_depth_luma), (1, 8));
    }

    #[test]
    fn sps_garbage_is_an_error() {
        assert!(parse_sps(&[]).is_err());
        assert!(parse_sps(&[0x68, 0x00]).is_err());
        assert!(parse_sps(&[0x67, 0x64]).is_err());
        assert!(parse_sps(&[0x67, 0x42, 0x00, 0x1E, 0x00, 0x00]).is_err());
    }

    #[test]
    fn exp_golomb() {
        // 1 | 010 | 011 | 00100 → 0, 1, 2, 3
        let data = [0b1010_0110, 0b0100_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(
            (r.ue(), r.ue(), r.ue(), r.ue()),
            (Ok(0), Ok(1), Ok(2), Ok(3))
        );
        let data = [0b0100_1100, 0b1000_0000];
        let mut r = BitReader::new(&data);
        assert_eq!((r.se(), r.se(), r.se()), (Ok(1), Ok(-1), Ok(2)));
    }
}
