//! Every sentence about a match, in one place: what kind of match it
//! is, how it was confirmed, what was done to the picture, which frames
//! agree. The matcher returns facts ([`Found`], [`MatchKind`],
//! [`Evidence`], [`Edit`], [`Dihedral`]); the terminal output, the
//! Markdown and HTML reports, the JSON's `*_text` fields and the web
//! pages all word them through these functions, so a kind or an edit is
//! called the same everywhere.

use crate::hash::Dihedral;
use crate::matching::verify::Alignment;
use crate::matching::verify::{Edit, Region};
use crate::matching::{Evidence, Found, FrameMatch, MatchKind, Overlap};

use super::{SizeChange, Variant};

/// What was done to the picture, as a mirror or quarter turn.
pub fn relation(d: Dihedral) -> &'static str {
    match d {
        Dihedral::Original => "unchanged",
        Dihedral::Rotate90 => "rotated 90° counter-clockwise",
        Dihedral::Rotate180 => "rotated 180° (upside down)",
        Dihedral::Rotate270 => "rotated 90° clockwise",
        Dihedral::FlipX => "mirrored top-bottom (flipped upside down)",
        Dihedral::FlipY => "mirrored left-right",
        Dihedral::FlipPlus1 => "transposed (mirrored across the main diagonal)",
        Dihedral::FlipMinus1 => "mirrored across the anti-diagonal",
    }
}

/// How a match was confirmed.
pub fn evidence(e: Evidence) -> &'static str {
    match e {
        Evidence::Sha256 => "identical bytes (SHA-256)",
        Evidence::Pdq => "PDQ hash within the threshold",
        Evidence::PdqWithoutBorder => "PDQ hash within the threshold once its border is removed",
        Evidence::Features => "local features in one consistent geometric arrangement",
    }
}

/// One edit, as the archived picture was changed.
pub fn edit(e: &Edit) -> String {
    match e {
        Edit::Mirrored => "mirrored left to right".to_string(),
        Edit::Rotated { degrees } => rotation_words(*degrees),
        Edit::Cropped { region } => crop_words(region),
        Edit::Scaled { factor } => format!("scaled to {:.0}%", factor * 100.0),
        Edit::Inside { fills, .. } => format!(
            "shown inside a larger picture (a screenshot, border or collage), filling {:.0}% of it",
            fills * 100.0
        ),
        Edit::Perspective { .. } => {
            "photographed at an angle (a screen or print seen in perspective)".to_string()
        }
        Edit::Covered { side, share } => {
            format!("covered along the {} {:.0}%", side.name(), share * 100.0)
        }
    }
}

/// All edits in one sentence: "cropped to …; rotated 4° clockwise".
pub fn edits(edits: &[Edit]) -> String {
    if edits.is_empty() {
        return "the same picture".to_string();
    }
    edits.iter().map(edit).collect::<Vec<_>>().join("; ")
}

/// What a file did to the archived picture it matches ("cropped to …;
/// mirrored left to right"), from the feature fit or, without one, from
/// the PDQ orientation.
pub fn change(f: &Found) -> String {
    match &f.alignment {
        Some(a) if !a.edits().is_empty() => edits(&a.edits()),
        _ => relation(f.relation).to_string(),
    }
}

/// What a variant link records: for videos the frames or shares
/// involved; for a photo confirmed by local features, what the new copy
/// did to the archived picture (cropped, inside a screenshot…) when its
/// transform and distance do not already say it.
pub fn link_detail(f: &Found) -> Option<String> {
    frames_detail(f).or_else(|| {
        let a = f.alignment.as_ref()?;
        let found = a.edits();
        let says_more = found.iter().any(|e| {
            matches!(
                e,
                Edit::Cropped { .. } | Edit::Inside { .. } | Edit::Covered { .. }
            ) || matches!(e, Edit::Rotated { degrees } if (degrees % 90.0).abs() > 1.0)
        });
        says_more.then(|| edits(&found))
    })
}

/// The frames or shares of a video match, in a few words.
pub fn frames_detail(f: &Found) -> Option<String> {
    if let Some(o) = &f.overlap {
        return Some(format!(
            "{:.0}% of the new video's frames found, {:.0}% of the archived video's; offset {:+.1} s",
            o.query_share * 100.0,
            o.archived_share * 100.0,
            o.offset_secs
        ));
    }
    let best = f.frames.iter().min_by_key(|f| f.distance)?;
    match (best.query_secs, best.archived) {
        (None, Some((a, b))) => Some(format!("frame of the archived video at {a:.1}–{b:.1} s")),
        (Some(q), None) => Some(format!("frame of the new video at {q:.1} s")),
        _ => None,
    }
}

/// The facts a `check` line words: a match of a checked file.
#[derive(Debug, Clone, Copy)]
pub struct MatchLine<'a> {
    /// The kind of match.
    pub kind: MatchKind,
    /// The file is the archived picture under this transform.
    pub relation: Dihedral,
    /// PDQ distance.
    pub distance: u32,
    /// How it was confirmed.
    pub evidence: Evidence,
    /// What was done to the picture ([`change`]).
    pub change: &'a str,
    /// The archived item is a video.
    pub archived_video: bool,
    /// Between two videos: shares and offset.
    pub overlap: Option<&'a Overlap>,
}

/// The kind of a checked file's match in a few words, as `check` prints
/// it: "near-duplicate, PDQ distance 4", "altered copy: cropped to …".
pub fn match_line(m: &MatchLine<'_>) -> String {
    let turned = if m.relation == Dihedral::Original {
        String::new()
    } else {
        format!(", {}", relation(m.relation))
    };
    let kind = match m.kind {
        MatchKind::Exact => "exact copy".to_string(),
        MatchKind::NearDuplicate => format!("near-duplicate, PDQ distance {}", m.distance),
        MatchKind::MirroredOrRotated => {
            format!("{} copy, PDQ distance {}", relation(m.relation), m.distance)
        }
        MatchKind::Altered => format!("altered copy: {}", m.change),
        MatchKind::VideoFrame => {
            let what = if m.archived_video {
                "a frame of archived video"
            } else {
                "a frame of this video matches archived photo"
            };
            format!("{what}{turned}, PDQ distance {}", m.distance)
        }
        MatchKind::VideoOverlap => match m.overlap {
            Some(o) => format!(
                "shares frames with archived video{turned}: {:.0}% of this video's frames found in it, \
                 {:.0}% of its frames found here, offset {:+.1} s",
                o.query_share * 100.0,
                o.archived_share * 100.0,
                o.offset_secs
            ),
            None => "shares frames with archived video".to_string(),
        },
    };
    if m.evidence == Evidence::PdqWithoutBorder {
        format!("{kind}, once its border is removed")
    } else {
        kind
    }
}

/// The feature fit behind a match: "61 of 68 corner pairs agree,
/// covering 100% of the shared area".
pub fn fit(a: &Alignment) -> String {
    format!(
        "{} of {} corner pairs agree, covering {:.0}% of the shared area",
        a.inliers,
        a.pairs,
        a.spread * 100.0
    )
}

/// "at 3.0–4.0 s (distance 6), …" for the first few matching frames.
pub fn frame_list(frames: &[FrameMatch]) -> String {
    const SHOWN: usize = 6;
    let mut parts: Vec<String> = frames
        .iter()
        .take(SHOWN)
        .map(|f| match (f.query_secs, f.archived) {
            (Some(q), Some((a, b))) => {
                format!(
                    "here {q:.1} s = there {a:.1}–{b:.1} s (distance {})",
                    f.distance
                )
            }
            (Some(q), None) => format!("here at {q:.1} s (distance {})", f.distance),
            (None, Some((a, b))) => format!("at {a:.1}–{b:.1} s (distance {})", f.distance),
            (None, None) => format!("distance {}", f.distance),
        })
        .collect();
    if frames.len() > SHOWN {
        parts.push(format!("and {} more", frames.len() - SHOWN));
    }
    parts.join("; ")
}

/// [`variant_kind`] where the edits are listed beside it (the web
/// pages' "What changed"): an altered copy is just that.
pub fn variant_kind_brief(v: &Variant) -> String {
    if v.kind == MatchKind::Altered && !v.edits.is_empty() {
        "altered copy".to_string()
    } else {
        variant_kind(v)
    }
}

/// How a variant relates to the report's target, in a few words.
pub fn variant_kind(v: &Variant) -> String {
    let size = match v.size_change {
        Some(SizeChange::Reshaped) => "cropped or padded",
        Some(SizeChange::Smaller) => "smaller",
        Some(SizeChange::Larger) => "larger",
        Some(SizeChange::Same) | None => "",
    };
    // Said from the circulating copy's side: a direct match of a file
    // says what the file did to this version; a linked one what the
    // later of the two did to the other.
    let whose = if v.evidence.is_some() {
        "the checked file"
    } else {
        "the later copy"
    };
    match v.kind {
        MatchKind::Exact => "exact copy".to_string(),
        MatchKind::NearDuplicate if v.detail.is_some() => format!(
            "same picture; {whose}: {}",
            v.detail.as_deref().unwrap_or_default()
        ),
        MatchKind::NearDuplicate if size.is_empty() => "re-encoded or edited copy".to_string(),
        MatchKind::NearDuplicate if size == "cropped or padded" => {
            "same picture, framed differently (cropped or padded)".to_string()
        }
        MatchKind::NearDuplicate => format!("{size} version"),
        MatchKind::MirroredOrRotated if size.is_empty() => v.relation_text.to_string(),
        MatchKind::MirroredOrRotated => format!("{}, {size}", v.relation_text),
        MatchKind::VideoFrame => match v.frames.first().map(|f| (f.query_secs, f.archived)) {
            Some((_, Some((a, b)))) => format!("frame of the video at {a:.1}–{b:.1} s"),
            Some((Some(q), None)) => format!("frame of this video at {q:.1} s"),
            _ => "a frame of a video".to_string(),
        },
        MatchKind::VideoOverlap => "shares frames (video)".to_string(),
        MatchKind::Altered => match &v.detail {
            Some(d) => format!("altered copy: {d}"),
            None => "altered copy (cropped, turned, in a screenshot or covered)".to_string(),
        },
    }
}

/// Whole days as a rough duration (`731 days (about 2 years)`).
pub fn days(days: i64) -> String {
    let unit = if days == 1 { "day" } else { "days" };
    // Rounded to the nearest year or month.
    let about = if days >= 548 {
        format!(" (about {} years)", (days + 182) / 365)
    } else if days >= 320 {
        " (about a year)".to_string()
    } else if days >= 45 {
        format!(" (about {} months)", (days + 15) / 30)
    } else {
        String::new()
    };
    format!("{days} {unit}{about}")
}

fn rotation_words(degrees: f64) -> String {
    let snapped = (degrees / 90.0).round() * 90.0;
    let d = if (degrees - snapped).abs() < 1.5 {
        snapped
    } else {
        degrees
    };
    if d.abs() >= 179.0 {
        return "rotated 180°".to_string();
    }
    let dir = if d > 0.0 {
        "clockwise"
    } else {
        "anticlockwise"
    };
    format!("rotated {:.0}° {dir}", d.abs())
}

fn crop_words(r: &Region) -> String {
    // "left 62%" or "the middle 70% of its width"; None when whole.
    let axis = |lo: f64, hi: f64, low: &str, high: &str, whole: &str| -> Option<(bool, String)> {
        let keep = (hi - lo) * 100.0;
        match (lo < 0.02, hi > 0.98) {
            (true, true) => None,
            (true, false) => Some((true, format!("{low} {keep:.0}%"))),
            (false, true) => Some((true, format!("{high} {keep:.0}%"))),
            (false, false) => Some((false, format!("the middle {keep:.0}% of its {whole}"))),
        }
    };
    let parts: Vec<(bool, String)> = [
        axis(r.left, r.right, "left", "right", "width"),
        axis(r.top, r.bottom, "top", "bottom", "height"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let words: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(k, (side, w))| {
            if *side && k == 0 {
                format!("its {w}")
            } else {
                w.clone()
            }
        })
        .collect();
    let what = if words.is_empty() {
        "most of it".to_string()
    } else {
        words.join(" and ")
    };
    format!("cropped to {what} ({:.0}% of its area)", r.area() * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_and_crops() {
        assert_eq!(rotation_words(4.2), "rotated 4° clockwise");
        assert_eq!(rotation_words(-89.3), "rotated 90° anticlockwise");
        assert_eq!(rotation_words(179.5), "rotated 180°");
        let r = Region {
            left: 0.15,
            top: 0.15,
            right: 0.85,
            bottom: 0.85,
        };
        assert_eq!(
            crop_words(&r),
            "cropped to the middle 70% of its width and the middle 70% of its height (49% of its area)"
        );
        assert_eq!(edits(&[]), "the same picture");
        assert_eq!(
            edits(&[Edit::Mirrored, Edit::Rotated { degrees: -3.2 }]),
            "mirrored left to right; rotated 3° anticlockwise"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(days(1), "1 day");
        assert_eq!(days(60), "60 days (about 2 months)");
        assert_eq!(days(731), "731 days (about 2 years)");
    }
}
