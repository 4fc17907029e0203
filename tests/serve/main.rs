//! End-to-end tests of `firstseen serve`: the real binary started on a
//! free loopback port over a fresh archive, driven over HTTP (reqwest)
//! and in Debian's Chromium through WebDriver (chromium-driver).

#![allow(clippy::unwrap_used)]

mod browser;
mod http;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// A running server over its own archive; killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub tmp: TempDir,
}

impl Server {
    /// Starts `firstseen serve` on a free port with `extra` arguments.
    pub fn start(extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        Server::start_in(tmp, extra)
    }

    pub fn start_in(tmp: TempDir, extra: &[&str]) -> Server {
        Server::start_at(tmp, "127.0.0.1:0", extra)
    }

    pub fn start_at(tmp: TempDir, listen: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_firstseen"))
            .arg("--archive")
            .arg(tmp.path().join("archive"))
            .args(["serve", "--listen", listen])
            .args(extra)
            .env_remove("FIRSTSEEN_ARCHIVE")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("server did not start: {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Server { child, url, tmp }
    }

    /// The server's upload folder (`firstseen-uploads-PID-…` in the
    /// temporary directory).
    pub fn uploads(&self) -> Option<PathBuf> {
        let prefix = format!("firstseen-uploads-{}-", self.child.id());
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
    }

    /// Files anywhere below the upload folder.
    pub fn uploaded_files(&self) -> usize {
        self.uploads().map_or(0, |d| {
            walkdir::WalkDir::new(d)
                .into_iter()
                .flatten()
                .filter(|e| e.file_type().is_file())
                .count()
        })
    }

    /// Stops the server with SIGTERM, as a service manager does, and
    /// waits for it.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }

    pub fn archive(&self) -> PathBuf {
        self.tmp.path().join("archive")
    }

    /// The CLI on the same archive, with `--json`.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_firstseen"))
            .arg("--archive")
            .arg(self.archive())
            .arg("--json")
            .args(args)
            .env_remove("FIRSTSEEN_ARCHIVE")
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Still answering.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
            && reqwest::blocking::get(format!("{}/api/status", self.url))
                .map(|r| r.status().is_success())
                .unwrap_or(false)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(name: &str) -> PathBuf {
    repo().join("samples").join(name)
}

/// A crop of a sample photo (its left 62% and top 80%), re-encoded: a
/// copy as it circulates.
pub fn cropped(from: &Path, to: &Path) {
    let img = image::open(from).unwrap();
    let (w, h) = (img.width(), img.height());
    img.crop_imm(0, 0, w * 62 / 100, h * 80 / 100)
        .to_rgb8()
        .save_with_format(to, image::ImageFormat::Jpeg)
        .unwrap();
}

/// Distinct photo-like pictures (noise over gradients), `n` of them in
/// `dir`, different for each `seed`.
pub fn pictures(dir: &Path, n: usize, seed: u64) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let k = seed * 1000 + i as u64;
            let mut s = (k + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let a = (k % 11 + 3) as u32;
            let b = (k % 5 + 1) as u32;
            let img = image::RgbImage::from_fn(320, 240, |x, y| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let n = (s & 63) as u32;
                image::Rgb([
                    ((x * a / 7 + n) % 256) as u8,
                    ((y * (b + 1) + n) % 256) as u8,
                    (((x + y) / b + n + a * 20) % 256) as u8,
                ])
            });
            let p = dir.join(format!("pic-{seed}-{i}.jpg"));
            img.save(&p).unwrap();
            p
        })
        .collect()
}
