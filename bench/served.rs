//! `firstseen serve` driven as a browser drives it, for the benches: a
//! server started on a free loopback port, and the check page's time
//! from posting a file to the whole verdict page.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// A running `firstseen serve`; killed when dropped.
pub struct Served(pub std::process::Child, pub String);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start(firstseen: &Path, archive: &Path) -> Served {
    use std::io::BufRead;
    let mut child = Command::new(firstseen)
        .arg("--archive")
        .arg(archive)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("serve's address");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening on")
        .trim_end_matches('/')
        .to_string();
    Served(child, url)
}

/// Posts `photo` to the check page as the browser does (cookie and CSRF
/// token from the home page) and waits for the whole verdict page.
pub fn drop_to_verdict(url: &str, photo: &Path) -> (f64, String) {
    let client = reqwest::blocking::Client::new();
    let home = client.get(format!("{url}/")).send().expect("home");
    let cookie = home.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("cookie")
        .to_string();
    let page = home.text().expect("home page");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("csrf")
        .to_string();
    let form = reqwest::blocking::multipart::Form::new()
        .text("csrf", csrf)
        .file("file", photo)
        .expect("photo");
    let start = Instant::now();
    let r = client
        .post(format!("{url}/check"))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .expect("check");
    assert!(r.status().is_success(), "check page: {}", r.status());
    let body = r.text().expect("verdict page");
    let took = start.elapsed().as_secs_f64();
    assert!(body.contains("data-verdict="), "no verdict on the page");
    (took, String::new())
}
