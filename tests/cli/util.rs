//! Test fixture: a fresh archive in a temp dir and a `firstseen` command
//! with a clean environment.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub struct TestArchive {
    pub tmp: TempDir,
}

impl TestArchive {
    pub fn new() -> TestArchive {
        TestArchive {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("archive")
    }

    /// A scratch folder for derived files.
    pub fn scratch(&self) -> PathBuf {
        let p = self.tmp.path().join("scratch");
        std::fs::create_dir_all(&p).expect("scratch dir");
        p
    }

    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = Command::cargo_bin("firstseen").expect("binary");
        for (k, _) in std::env::vars() {
            if k.starts_with("FIRSTSEEN_") {
                c.env_remove(k);
            }
        }
        c.arg("--archive").arg(self.dir()).args(args);
        c
    }

    /// Runs a command with `--json`, asserts its exit code, parses stdout.
    pub fn json<I, S>(&self, args: I, code: i32) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.cmd(args).arg("--json").assert().code(code);
        let stdout = &out.get_output().stdout;
        serde_json::from_slice(stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(stdout),
                String::from_utf8_lossy(&out.get_output().stderr)
            )
        })
    }

    /// Files in the object store.
    pub fn object_count(&self) -> usize {
        let objects = self.dir().join("objects");
        if !objects.exists() {
            return 0;
        }
        walkdir::WalkDir::new(objects)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .count()
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(name: &str) -> PathBuf {
    repo().join("samples/photos").join(name)
}

/// `../shared` (or `$FIRSTSEEN_SHARED`), when present.
pub fn shared() -> Option<PathBuf> {
    let p = std::env::var_os("FIRSTSEEN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"));
    p.is_dir().then_some(p)
}

/// Saves a derived image; JPEG at `quality` when the name ends in .jpg.
pub fn save(img: &image::DynamicImage, path: &Path, quality: u8) {
    if path.extension().is_some_and(|e| e == "jpg") {
        let f = std::fs::File::create(path).expect("create");
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(f, quality);
        enc.encode_image(&image::DynamicImage::ImageRgb8(img.to_rgb8()))
            .expect("encode");
    } else {
        img.save(path).expect("save");
    }
}

pub fn sha256_of(path: &Path) -> String {
    firstseen::hash::Sha256::of(&std::fs::read(path).expect("read")).to_hex()
}

/// Distinct photo-like pictures (noise over gradients), large enough
/// that writes overlap in time.
pub fn make_pictures(dir: &std::path::Path, n: usize) -> Vec<std::path::PathBuf> {
    (0..n)
        .map(|i| {
            let mut s = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let img = image::RgbImage::from_fn(900, 700, |x, y| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let n = (s & 63) as u32;
                image::Rgb([
                    ((x * (i as u32 + 3) / 7 + n) % 256) as u8,
                    ((y * 2 + n) % 256) as u8,
                    (((x + y) / (i as u32 % 5 + 1) + n) % 256) as u8,
                ])
            });
            let p = dir.join(format!("pic{i:02}.jpg"));
            img.save(&p).unwrap();
            p
        })
        .collect()
}
