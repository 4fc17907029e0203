//! The web app in a real browser: Debian's Chromium, headless, driven
//! through WebDriver (chromium-driver) by fantoccini, against a server
//! this test starts. Skipped, saying so, where chromedriver is missing,
//! unless CI is set (then it fails).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::{Server, cropped, sample};

fn chromedriver() -> Option<PathBuf> {
    let found = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is missing (apt-get install chromium chromium-driver); CI must run the browser tests"
        );
        eprintln!("SKIPPED: browser tests need chromium and chromium-driver");
    }
    found
}

/// A chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
}

impl Driver {
    fn start(path: &PathBuf) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::blocking::get(format!("{url}/status")).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url,
            profile: tempfile::tempdir().unwrap(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1100,900",
                format!("--user-data-dir={}", driver.profile.path().display()),
            ]
        }
    });
    let caps = caps.as_object().unwrap().clone();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("cannot start Chromium through chromedriver")
}

/// The text of the first element matching `css`, waiting for it; read
/// again when the page was replaced between finding and reading it (a
/// form's answer arriving).
async fn text_of(c: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = c
            .wait()
            .at_most(Duration::from_secs(60))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(e) => match e.text().await {
                Ok(t) => return t,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("{css}: {e}"),
            },
            Err(e) => {
                let page = c.source().await.unwrap_or_default();
                let url = c.current_url().await.map(|u| u.to_string());
                panic!("{css}: {e} at {url:?}; the page:\n{page}")
            }
        }
    }
}

/// Waits until the browser's address contains `part` (a form's answer
/// has replaced the page that sent it).
async fn wait_for_url(c: &Client, part: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let url = c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        if url.contains(part) {
            return;
        }
        assert!(Instant::now() < deadline, "still at {url}, not {part}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn type_into(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.unwrap()
}

/// No script from a caption ran: the title is untouched and no element
/// the caption wrote exists.
async fn nothing_injected(c: &Client) {
    assert_eq!(
        js(c, "return window.pwned === undefined").await,
        json!(true)
    );
    assert_eq!(
        js(
            c,
            "return document.querySelectorAll('main img[src=\"x\"], main script').length"
        )
        .await,
        json!(0)
    );
}

/// Every control has a label, and can be reached from the keyboard.
async fn labelled(c: &Client, what: &str) {
    let bare = js(
        c,
        "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
           .filter(e => !e.labels || e.labels.length === 0 || e.tabIndex < 0)
           .map(e => e.name || e.id)",
    )
    .await;
    assert_eq!(bare, json!([]), "{what}: controls without a label");
}

async fn fits_390(c: &Client, what: &str) {
    labelled(c, what).await;
    c.set_window_size(390, 844).await.unwrap();
    let (inner, scroll) = (
        js(c, "return window.innerWidth").await,
        js(c, "return document.documentElement.scrollWidth").await,
    );
    assert!(
        scroll.as_u64().unwrap() <= inner.as_u64().unwrap(),
        "{what} overflows at phone width: {scroll} > {inner}"
    );
    c.set_window_size(1100, 900).await.unwrap();
}

const CAPTION: &str = "Commodore lecturing the fleet <img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>";

#[test]
fn a_desk_archives_searches_checks_and_reads_the_report_in_chromium() {
    let Some(path) = chromedriver() else {
        return;
    };
    let driver = Driver::start(&path);
    let server = Server::start(&[]);
    let photo = sample("photos/pillow-hopper.jpg");
    let tmp = tempfile::tempdir().unwrap();
    let crop = tmp.path().join("repost-crop.jpg");
    cropped(&photo, &crop);
    let url = server.url.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let item_url = rt.block_on(async {
        let c = browser(&driver).await;

        // Archive a photo with a (hostile) caption through the form.
        c.goto(&format!("{url}/status")).await.unwrap();
        fits_390(&c, "status").await;
        c.goto(&format!("{url}/archive")).await.unwrap();
        fits_390(&c, "archive form").await;
        type_into(&c, "#archive-files", photo.to_str().unwrap()).await;
        type_into(&c, "#archive-caption", CAPTION).await;
        type_into(&c, "#archive-source", "https://example.org/first-post").await;
        type_into(&c, "#archive-first_seen", "2023-04-05").await;
        click(&c, "#archive-form button[type=submit]").await;
        let done = text_of(&c, "ul.outcomes li[data-result=new_item]").await;
        assert!(done.contains("pillow-hopper.jpg"), "{done}");

        // Find it by a word of its caption.
        c.goto(&format!("{url}/search")).await.unwrap();
        type_into(&c, "#q", "lecturing").await;
        click(&c, "form.search button").await;
        wait_for_url(&c, "q=lecturing").await;
        let hit = text_of(&c, "ol.hits li").await;
        assert!(hit.contains("Commodore lecturing the fleet <img src=x"), "{hit}");
        nothing_injected(&c).await;
        fits_390(&c, "search").await;

        // Its item page: the caption as text, the report inline.
        click(&c, "ol.hits li a").await;
        let sightings = text_of(&c, "ol.sightings").await;
        assert!(sightings.contains("<script>window.pwned=2</script>"), "{sightings}");
        let verdict = text_of(&c, "#report-h ~ .verdict-line").await;
        assert!(!verdict.is_empty());
        nothing_injected(&c).await;
        fits_390(&c, "item").await;
        let item_url = c.current_url().await.unwrap().to_string();
        let downloads = js(
            &c,
            "return [...document.querySelectorAll('.downloads a[download]')].map(a => a.getAttribute('href'))",
        )
        .await;
        assert_eq!(downloads.as_array().unwrap().len(), 5, "{downloads}");

        // Open its report.
        c.find(Locator::LinkText("Open the report")).await.unwrap().click().await.unwrap();
        let report = text_of(&c, "body").await;
        assert!(report.contains("Commodore lecturing the fleet"), "{report}");
        assert_eq!(js(&c, "return window.pwned === undefined").await, json!(true));

        // Check a cropped copy by upload: known, with the earliest
        // appearance, against the post it came in.
        c.goto(&format!("{url}/")).await.unwrap();
        fits_390(&c, "check form").await;
        type_into(&c, "#check-files", crop.to_str().unwrap()).await;
        click(&c, "#check-form summary").await;
        type_into(&c, "#post-first_seen", "2026-11-30").await;
        click(&c, "#check-form button[type=submit]").await;
        let line = text_of(&c, "#result-0 .verdict-line").await;
        assert!(line.starts_with("Known"), "{line}");
        let earliest = text_of(&c, "#result-0 dl.facts").await;
        assert!(earliest.contains("2023-04-05"), "{earliest}");
        assert!(earliest.contains("https://example.org/first-post"), "{earliest}");
        let warning = text_of(&c, "#result-0 p.warning").await;
        assert!(warning.contains("Recycled media"), "{warning}");
        let changed = text_of(&c, "#result-0 li.variant").await;
        assert!(changed.contains("cropped"), "{changed}");
        assert_eq!(
            js(&c, "return document.querySelectorAll('#result-0 .compare img').length >= 2").await,
            json!(true),
            "the checked picture and the archived one side by side"
        );
        nothing_injected(&c).await;
        fits_390(&c, "check result").await;

        // Drop a file on the check page: the script sends it.
        c.goto(&format!("{url}/")).await.unwrap();
        let dropped = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const sha = arguments[0];
                 fetch('/object/' + sha).then(r => r.blob()).then(b => {
                   const dt = new DataTransfer();
                   dt.items.add(new File([b], 'dropped.jpg', {type: 'image/jpeg'}));
                   document.getElementById('drop').dispatchEvent(
                     new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
                   done(true);
                 }).catch(e => done(String(e)));",
                vec![json!(item_url.rsplit('/').next().unwrap())],
            )
            .await
            .unwrap();
        assert_eq!(dropped, json!(true));
        let line = text_of(&c, "#result-0 .verdict-line").await;
        assert!(line.starts_with("Known"), "{line}");
        let name = text_of(&c, "#result-0 h2").await;
        assert_eq!(name, "dropped.jpg");

        c.close().await.unwrap();
        item_url
    });
    // The download links answer with attachments.
    let sha = item_url.rsplit('/').next().unwrap();
    let r = reqwest::blocking::get(format!("{url}/item/{sha}/report.html?download=1")).unwrap();
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
}

#[test]
fn chromium_is_refused_without_the_token() {
    let Some(path) = chromedriver() else {
        return;
    };
    let driver = Driver::start(&path);
    let tmp = tempfile::tempdir().unwrap();
    let token = tmp.path().join("token");
    std::fs::write(&token, "a-token-for-the-desk-0123\n").unwrap();
    let server = Server::start(&["--token-file", token.to_str().unwrap()]);
    let url = server.url.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = browser(&driver).await;
        // Without the token: nothing of the archive (Chromium is left at
        // the login prompt, over the refusal).
        for path in ["/", "/search?q=x", "/status"] {
            c.goto(&format!("{url}{path}")).await.unwrap();
            let shown = js(
                &c,
                "return document.title + '|' + (document.body ? document.body.innerText : '')",
            )
            .await;
            let shown = shown.as_str().unwrap().to_string();
            assert!(!shown.contains("— firstseen|"), "{path}: {shown}");
            assert!(!shown.contains("Latest sightings"), "{path}: {shown}");
            assert!(!shown.contains("Chain head"), "{path}: {shown}");
        }
        // With it (any user name, the token as the password), the pages.
        let with = url.replacen("http://", "http://desk:a-token-for-the-desk-0123@", 1);
        c.goto(&format!("{with}/")).await.unwrap();
        let title = js(&c, "return document.title").await;
        assert_eq!(title, json!("Check — firstseen"));
        c.close().await.unwrap();
    });
}

/// Remakes `docs/web-check.png`, the README's screenshot of the check
/// page: the samples archived with a source, caption and date, then the
/// cropped, mirrored repost checked against a post that claims it is new.
/// Run: `cargo test --release --test serve -- --ignored readme_screenshot`.
#[test]
#[ignore = "writes docs/web-check.png; run by hand"]
fn readme_screenshot() {
    let Some(path) = chromedriver() else {
        return;
    };
    let driver = Driver::start(&path);
    let server = Server::start(&[]);
    let mut form = reqwest::blocking::multipart::Form::new()
        .text("source", "https://example.org/wire/2024-03-01")
        .text("caption", "Wire photos, March 2024")
        .text("first_seen", "2024-03-01");
    for e in std::fs::read_dir(sample("photos")).unwrap() {
        form = form.file("file", e.unwrap().path()).unwrap();
    }
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/archive", server.url))
        .header("x-firstseen", "1")
        .multipart(form)
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let url = server.url.clone();
    let repost = sample("circulating/rocket-repost.jpg");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = browser(&driver).await;
        c.set_window_size(1000, 1250).await.unwrap();
        c.goto(&format!("{url}/")).await.unwrap();
        type_into(&c, "#check-files", repost.to_str().unwrap()).await;
        click(&c, "#check-form summary").await;
        for (id, v) in [
            ("post-source", "https://social.example/@someone/1234"),
            ("post-caption", "Launch this morning!"),
            ("post-first_seen", "2026-11-30"),
        ] {
            type_into(&c, &format!("#{id}"), v).await;
        }
        click(&c, "#check-form button[type=submit]").await;
        text_of(&c, "#result-0 .verdict-line").await;
        let png = c.screenshot().await.unwrap();
        std::fs::write(super::repo().join("docs/web-check.png"), png).unwrap();
        c.close().await.unwrap();
    });
}
