//! Metadata a file carries about itself: EXIF (date taken, camera,
//! software, GPS), XMP and IPTC (caption, credit, copyright, …).
//!
//! Every value here is a *claim made by the file*: anyone can write,
//! edit or strip it, and re-uploads to social networks usually strip it.
//! The report shows these claims as such and never uses them to date a
//! picture; only sightings do that.
//!
//! The raw blocks are taken from the `image` crate's decoders (headers
//! only, no pixels), EXIF is parsed by `kamadak-exif`, XMP (XML) by
//! `roxmltree` (no DTD, so no entity expansion), and IPTC-IIM by the
//! small parser below.

use std::io::Cursor;

use image::{ImageDecoder, ImageReader};
use serde::Serialize;

/// Longest value kept, in characters (the rest is cut with "…").
const MAX_VALUE_CHARS: usize = 2000;
/// Most claims kept.
const MAX_CLAIMS: usize = 100;

/// One thing the file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// Stable key (`date_taken`, `camera_make`, `caption`, …).
    pub field: &'static str,
    /// Label for people (`Date taken`).
    pub label: &'static str,
    /// The value as the file gives it (untrusted text).
    pub value: String,
    /// Where in the file it was read (`EXIF DateTimeOriginal`,
    /// `XMP dc:description`, `IPTC 2:120 Caption/Abstract`); several when
    /// blocks agree.
    pub sources: Vec<String>,
}

/// The claims found in a file, in a fixed field order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileMetadata {
    /// Which metadata blocks the file has (`exif`, `xmp`, `iptc`).
    pub blocks: Vec<&'static str>,
    /// The claims.
    pub claims: Vec<Claim>,
}

/// Fields in the order they are shown, with their labels.
const FIELDS: &[(&str, &str)] = &[
    ("date_taken", "Date taken"),
    ("date_digitized", "Date digitised"),
    ("date_created", "Date created"),
    ("date_modified", "Date modified"),
    ("camera_make", "Camera make"),
    ("camera_model", "Camera model"),
    ("lens", "Lens"),
    ("software", "Software"),
    ("gps", "GPS position"),
    ("creator", "Creator / by-line"),
    ("credit", "Credit"),
    ("copyright", "Copyright"),
    ("usage_terms", "Usage terms"),
    ("headline", "Headline"),
    ("title", "Title"),
    ("caption", "Caption / description"),
    ("source", "Source"),
    ("city", "City"),
    ("country", "Country"),
    ("keywords", "Keywords"),
];

fn label_of(field: &str) -> Option<(&'static str, &'static str)> {
    FIELDS.iter().copied().find(|(f, _)| *f == field)
}

/// Collects claims, merging equal values of the same field.
#[derive(Default)]
struct Claims {
    claims: Vec<Claim>,
}

impl Claims {
    fn add(&mut self, field: &str, value: &str, source: &str) {
        let value = tidy(value);
        if value.is_empty() || self.claims.len() >= MAX_CLAIMS {
            return;
        }
        let Some((field, label)) = label_of(field) else {
            return;
        };
        if let Some(c) = self
            .claims
            .iter_mut()
            .find(|c| c.field == field && c.value == value)
        {
            if !c.sources.iter().any(|s| s == source) {
                c.sources.push(source.to_string());
            }
            return;
        }
        self.claims.push(Claim {
            field,
            label,
            value,
            sources: vec![source.to_string()],
        });
    }

    fn finish(mut self) -> Vec<Claim> {
        let rank = |f: &str| {
            FIELDS
                .iter()
                .position(|(x, _)| *x == f)
                .unwrap_or(usize::MAX)
        };
        // Stable: within a field, the order the blocks were read.
        self.claims.sort_by_key(|c| rank(c.field));
        self.claims
    }
}

/// Trims whitespace and NULs and caps the length.
fn tidy(s: &str) -> String {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    if t.chars().count() > MAX_VALUE_CHARS {
        let mut cut: String = t.chars().take(MAX_VALUE_CHARS).collect();
        cut.push('…');
        cut
    } else {
        t.to_string()
    }
}

/// Reads the claims of an image file. Files without metadata, formats
/// the decoders do not read metadata from, and malformed blocks give
/// fewer claims, never an error.
pub fn extract(bytes: &[u8]) -> FileMetadata {
    let Ok(reader) = ImageReader::new(Cursor::new(bytes)).with_guessed_format() else {
        return FileMetadata::default();
    };
    let Ok(mut decoder) = reader.into_decoder() else {
        return FileMetadata::default();
    };
    let exif = decoder.exif_metadata().ok().flatten();
    let xmp = decoder.xmp_metadata().ok().flatten();
    let iptc = decoder.iptc_metadata().ok().flatten();
    from_blocks(exif.as_deref(), xmp.as_deref(), iptc.as_deref())
}

/// Claims from raw blocks: EXIF (a TIFF structure, with or without the
/// `Exif\0\0` prefix), an XMP packet, and IPTC (a Photoshop resource
/// block or bare IIM datasets).
pub fn from_blocks(exif: Option<&[u8]>, xmp: Option<&[u8]>, iptc: Option<&[u8]>) -> FileMetadata {
    let mut claims = Claims::default();
    let mut blocks = Vec::new();
    if let Some(e) = exif {
        blocks.push("exif");
        read_exif(e, &mut claims);
    }
    if let Some(x) = xmp {
        blocks.push("xmp");
        read_xmp(x, &mut claims);
    }
    if let Some(i) = iptc {
        blocks.push("iptc");
        read_iptc(i, &mut claims);
    }
    FileMetadata {
        blocks,
        claims: claims.finish(),
    }
}

// ---------------------------------------------------------------- EXIF

fn read_exif(raw: &[u8], claims: &mut Claims) {
    use exif::{In, Tag};
    let raw = raw.strip_prefix(b"Exif\0\0").unwrap_or(raw);
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let parsed = match reader.read_raw(raw.to_vec()) {
        Ok(e) => e,
        Err(exif::Error::PartialResult(p)) => p.into_inner().0,
        Err(_) => return,
    };
    let ascii = |tag: Tag| -> Option<String> {
        let f = parsed.get_field(tag, In::PRIMARY)?;
        match &f.value {
            exif::Value::Ascii(parts) => {
                let s = parts
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ");
                Some(s)
            }
            _ => None,
        }
    };
    let date = |tag: Tag, offset: Tag| -> Option<String> {
        let s = ascii(tag)?;
        let s = s.trim();
        // "YYYY:MM:DD HH:MM:SS" → "YYYY-MM-DD HH:MM:SS"
        let shown = match exif::DateTime::from_ascii(s.as_bytes()) {
            Ok(d) => format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                d.year, d.month, d.day, d.hour, d.minute, d.second
            ),
            Err(_) => s.to_string(),
        };
        Some(match ascii(offset) {
            Some(o) if !o.trim().is_empty() => format!("{shown} {}", o.trim()),
            _ => shown,
        })
    };
    if let Some(d) = date(Tag::DateTimeOriginal, Tag::OffsetTimeOriginal) {
        claims.add("date_taken", &d, "EXIF DateTimeOriginal");
    }
    if let Some(d) = date(Tag::DateTimeDigitized, Tag::OffsetTimeDigitized) {
        claims.add("date_digitized", &d, "EXIF DateTimeDigitized");
    }
    if let Some(d) = date(Tag::DateTime, Tag::OffsetTime) {
        claims.add("date_modified", &d, "EXIF DateTime");
    }
    for (tag, field, source) in [
        (Tag::Make, "camera_make", "EXIF Make"),
        (Tag::Model, "camera_model", "EXIF Model"),
        (Tag::LensModel, "lens", "EXIF LensModel"),
        (Tag::Software, "software", "EXIF Software"),
        (Tag::Artist, "creator", "EXIF Artist"),
        (Tag::Copyright, "copyright", "EXIF Copyright"),
        (Tag::ImageDescription, "caption", "EXIF ImageDescription"),
    ] {
        if let Some(v) = ascii(tag) {
            claims.add(field, &v, source);
        }
    }
    if let Some(gps) = exif_gps(&parsed) {
        claims.add("gps", &gps, "EXIF GPS");
    }
}

/// "lat, lon" in decimal degrees (and altitude), when both are present
/// and in range.
fn exif_gps(e: &exif::Exif) -> Option<String> {
    use exif::{In, Tag, Value};
    let coord = |tag: Tag, reference: Tag, neg: u8| -> Option<f64> {
        let f = e.get_field(tag, In::PRIMARY)?;
        let Value::Rational(r) = &f.value else {
            return None;
        };
        if r.len() < 3 || r.iter().take(3).any(|x| x.denom == 0) {
            return None;
        }
        let deg = r[0].to_f64() + r[1].to_f64() / 60.0 + r[2].to_f64() / 3600.0;
        let negative = match e.get_field(reference, In::PRIMARY).map(|f| &f.value) {
            Some(Value::Ascii(v)) => v.first().and_then(|s| s.first()) == Some(&neg),
            _ => false,
        };
        Some(if negative { -deg } else { deg })
    };
    let lat = coord(Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let lon = coord(Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
        return None;
    }
    let mut s = format!("{lat:.6}, {lon:.6}");
    if let Some(f) = e.get_field(Tag::GPSAltitude, In::PRIMARY)
        && let Value::Rational(r) = &f.value
        && let Some(a) = r.first().filter(|a| a.denom != 0)
    {
        let below = matches!(
            e.get_field(Tag::GPSAltitudeRef, In::PRIMARY).map(|f| &f.value),
            Some(Value::Byte(b)) if b.first() == Some(&1)
        );
        let alt = if below { -a.to_f64() } else { a.to_f64() };
        s.push_str(&format!(" (altitude {alt:.0} m)"));
    }
    Some(s)
}

// ----------------------------------------------------------------- XMP

const NS_DC: &str = "http://purl.org/dc/elements/1.1/";
const NS_PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";
const NS_XMP: &str = "http://ns.adobe.com/xap/1.0/";
const NS_EXIF: &str = "http://ns.adobe.com/exif/1.0/";
const NS_EXIF_AUX: &str = "http://ns.adobe.com/exif/1.0/aux/";
const NS_TIFF: &str = "http://ns.adobe.com/tiff/1.0/";
const NS_RIGHTS: &str = "http://ns.adobe.com/xap/1.0/rights/";
const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// XMP properties read: (namespace, name, field, source label).
const XMP_PROPS: &[(&str, &str, &str, &str)] = &[
    (
        NS_EXIF,
        "DateTimeOriginal",
        "date_taken",
        "XMP exif:DateTimeOriginal",
    ),
    (
        NS_PHOTOSHOP,
        "DateCreated",
        "date_created",
        "XMP photoshop:DateCreated",
    ),
    (NS_XMP, "CreateDate", "date_created", "XMP xmp:CreateDate"),
    (NS_XMP, "ModifyDate", "date_modified", "XMP xmp:ModifyDate"),
    (NS_TIFF, "Make", "camera_make", "XMP tiff:Make"),
    (NS_TIFF, "Model", "camera_model", "XMP tiff:Model"),
    (NS_EXIF_AUX, "Lens", "lens", "XMP aux:Lens"),
    (NS_XMP, "CreatorTool", "software", "XMP xmp:CreatorTool"),
    (NS_DC, "creator", "creator", "XMP dc:creator"),
    (NS_PHOTOSHOP, "Credit", "credit", "XMP photoshop:Credit"),
    (NS_DC, "rights", "copyright", "XMP dc:rights"),
    (
        NS_RIGHTS,
        "UsageTerms",
        "usage_terms",
        "XMP xmpRights:UsageTerms",
    ),
    (
        NS_PHOTOSHOP,
        "Headline",
        "headline",
        "XMP photoshop:Headline",
    ),
    (NS_DC, "title", "title", "XMP dc:title"),
    (NS_DC, "description", "caption", "XMP dc:description"),
    (NS_PHOTOSHOP, "Source", "source", "XMP photoshop:Source"),
    (NS_PHOTOSHOP, "City", "city", "XMP photoshop:City"),
    (NS_PHOTOSHOP, "Country", "country", "XMP photoshop:Country"),
    (NS_DC, "subject", "keywords", "XMP dc:subject"),
];

fn read_xmp(raw: &[u8], claims: &mut Claims) {
    let text = String::from_utf8_lossy(raw);
    let text = text
        .trim_start_matches('\u{feff}')
        .trim_end_matches(|c: char| c == '\0' || c.is_whitespace());
    let Ok(doc) = roxmltree::Document::parse(text) else {
        return;
    };
    for node in doc.descendants().filter(|n| n.is_element()) {
        // Properties written as attributes of rdf:Description.
        if node.has_tag_name((NS_RDF, "Description")) {
            for a in node.attributes() {
                if let Some(&(_, _, field, source)) = XMP_PROPS
                    .iter()
                    .find(|(ns, name, _, _)| a.namespace() == Some(*ns) && a.name() == *name)
                {
                    claims.add(field, a.value(), source);
                }
            }
            continue;
        }
        let tag = node.tag_name();
        if let Some(&(_, _, field, source)) = XMP_PROPS
            .iter()
            .find(|(ns, name, _, _)| tag.namespace() == Some(*ns) && tag.name() == *name)
        {
            claims.add(field, &xmp_value(node), source);
        }
    }
}

/// A property's value: its text, or its rdf:li items (an Alt's default
/// language first; a Seq's or Bag's items joined with "; ").
fn xmp_value(node: roxmltree::Node<'_, '_>) -> String {
    let items: Vec<roxmltree::Node<'_, '_>> = node
        .descendants()
        .filter(|n| n.has_tag_name((NS_RDF, "li")))
        .collect();
    if items.is_empty() {
        return node.text().unwrap_or_default().to_string();
    }
    let is_alt = node.children().any(|n| n.has_tag_name((NS_RDF, "Alt")));
    let text = |n: &roxmltree::Node<'_, '_>| n.text().unwrap_or_default().trim().to_string();
    if is_alt {
        let xml_lang = ("http://www.w3.org/XML/1998/namespace", "lang");
        return items
            .iter()
            .find(|n| n.attribute(xml_lang) == Some("x-default"))
            .or(items.first())
            .map(text)
            .unwrap_or_default();
    }
    items
        .iter()
        .map(text)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------- IPTC

/// IIM record 2 datasets read: (dataset, field, source label).
const IPTC_DATASETS: &[(u8, &str, &str)] = &[
    (55, "date_created", "IPTC 2:55 Date Created"),
    (80, "creator", "IPTC 2:80 By-line"),
    (110, "credit", "IPTC 2:110 Credit"),
    (116, "copyright", "IPTC 2:116 Copyright Notice"),
    (105, "headline", "IPTC 2:105 Headline"),
    (5, "title", "IPTC 2:05 Object Name"),
    (120, "caption", "IPTC 2:120 Caption/Abstract"),
    (115, "source", "IPTC 2:115 Source"),
    (90, "city", "IPTC 2:90 City"),
    (101, "country", "IPTC 2:101 Country"),
    (25, "keywords", "IPTC 2:25 Keywords"),
];

fn read_iptc(raw: &[u8], claims: &mut Claims) {
    let iim = if raw.first() == Some(&0x1c) {
        raw
    } else {
        let raw = raw.strip_prefix(b"Photoshop 3.0\0").unwrap_or(raw);
        match photoshop_resource(raw, 0x0404) {
            Some(r) => r,
            None => return,
        }
    };
    let datasets = iim_datasets(iim);
    // Record 1:90 says which character set record 2 uses; ESC % G is
    // UTF-8. Without it, text is read as UTF-8 when valid, else Latin-1.
    let utf8_declared = datasets
        .iter()
        .any(|&(r, d, v)| r == 1 && d == 90 && v == b"\x1b%G");
    let decode = |v: &[u8]| -> String {
        match std::str::from_utf8(v) {
            Ok(s) => s.to_string(),
            Err(_) if utf8_declared => String::from_utf8_lossy(v).into_owned(),
            Err(_) => v.iter().map(|&b| char::from(b)).collect(),
        }
    };
    for &(dataset, field, source) in IPTC_DATASETS {
        let values: Vec<String> = datasets
            .iter()
            .filter(|&&(r, d, _)| r == 2 && d == dataset)
            .map(|&(_, _, v)| decode(v))
            .collect();
        if values.is_empty() {
            continue;
        }
        let value = if dataset == 55 {
            iptc_date(&values[0])
        } else {
            values.join("; ")
        };
        claims.add(field, &value, source);
    }
}

/// "CCYYMMDD" → "CCYY-MM-DD"; anything else unchanged.
fn iptc_date(s: &str) -> String {
    let s = s.trim();
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..])
    } else {
        s.to_string()
    }
}

/// The data of Photoshop image resource `id` in a sequence of `8BIM`
/// blocks.
fn photoshop_resource(mut data: &[u8], id: u16) -> Option<&[u8]> {
    while data.len() >= 12 && &data[..4] == b"8BIM" {
        let rid = u16::from_be_bytes([data[4], data[5]]);
        // Pascal-string name, padded so that length byte + name is even.
        let name_len = usize::from(data[6]);
        let name_total = (1 + name_len).next_multiple_of(2);
        let size_at = 6 + name_total;
        let size_bytes: [u8; 4] = data.get(size_at..size_at + 4)?.try_into().ok()?;
        let size = usize::try_from(u32::from_be_bytes(size_bytes)).ok()?;
        let start = size_at + 4;
        let body = data.get(start..start.checked_add(size)?)?;
        if rid == id {
            return Some(body);
        }
        data = data.get(start + size.next_multiple_of(2)..)?;
    }
    None
}

/// IIM datasets `(record, dataset, value)`; stops at the first malformed
/// or extended-length one.
fn iim_datasets(mut data: &[u8]) -> Vec<(u8, u8, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 5 && data[0] == 0x1c {
        let (record, dataset) = (data[1], data[2]);
        let len = u16::from_be_bytes([data[3], data[4]]);
        if len & 0x8000 != 0 {
            break;
        }
        let Some(value) = data.get(5..5 + usize::from(len)) else {
            break;
        };
        out.push((record, dataset, value));
        data = &data[5 + usize::from(len)..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iim(record: u8, dataset: u8, value: &[u8]) -> Vec<u8> {
        let mut v = vec![0x1c, record, dataset];
        v.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn iptc_inside_photoshop_resources() {
        let mut iptc = iim(1, 90, b"\x1b%G");
        iptc.extend(iim(2, 120, "Légende <b>".as_bytes()));
        iptc.extend(iim(2, 110, b"Agency"));
        iptc.extend(iim(2, 25, b"one"));
        iptc.extend(iim(2, 25, b"two"));
        iptc.extend(iim(2, 55, b"20240301"));
        let mut block = b"8BIM\x04\x0c\x00\x00".to_vec(); // another resource first
        block.extend_from_slice(&2u32.to_be_bytes());
        block.extend_from_slice(b"xx");
        block.extend_from_slice(b"8BIM\x04\x04\x00\x00");
        block.extend_from_slice(&u32::try_from(iptc.len()).unwrap().to_be_bytes());
        block.extend_from_slice(&iptc);
        let m = from_blocks(None, None, Some(&block));
        let got: Vec<(&str, &str)> = m
            .claims
            .iter()
            .map(|c| (c.field, c.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("date_created", "2024-03-01"),
                ("credit", "Agency"),
                ("caption", "Légende <b>"),
                ("keywords", "one; two"),
            ]
        );
        assert_eq!(m.blocks, vec!["iptc"]);
    }

    #[test]
    fn xmp_attributes_elements_and_alternatives() {
        let xmp = br#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/" photoshop:Credit="Wire &amp; Co">
 <dc:description><rdf:Alt><rdf:li xml:lang="fr">non</rdf:li>
   <rdf:li xml:lang="x-default">Caption</rdf:li></rdf:Alt></dc:description>
 <dc:creator><rdf:Seq><rdf:li>A</rdf:li><rdf:li>B</rdf:li></rdf:Seq></dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"#;
        let m = from_blocks(None, Some(xmp), None);
        let got: Vec<(&str, &str)> = m
            .claims
            .iter()
            .map(|c| (c.field, c.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("creator", "A; B"),
                ("credit", "Wire & Co"),
                ("caption", "Caption")
            ]
        );
    }

    #[test]
    fn malformed_blocks_give_no_claims() {
        let m = from_blocks(
            Some(b"Exif\0\0garbage"),
            Some(b"<not xml"),
            Some(b"8BIM\x04\x04\x00\x00\xff\xff\xff\xff"),
        );
        assert!(m.claims.is_empty());
        assert_eq!(m.blocks, vec!["exif", "xmp", "iptc"]);
        // A DTD (entity expansion) is refused outright.
        let bomb = br#"<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#;
        assert!(from_blocks(None, Some(bomb), None).claims.is_empty());
    }

    #[test]
    fn equal_values_from_several_blocks_merge() {
        let mut c = Claims::default();
        c.add("copyright", "ACME", "EXIF Copyright");
        c.add("copyright", " ACME\0", "XMP dc:rights");
        c.add("copyright", "Other", "IPTC 2:116 Copyright Notice");
        c.add("date_taken", "2020-01-01 00:00:00", "EXIF DateTimeOriginal");
        let got = c.finish();
        assert_eq!(got[0].field, "date_taken");
        assert_eq!(got[1].sources, vec!["EXIF Copyright", "XMP dc:rights"]);
        assert_eq!(got[2].value, "Other");
    }
}
