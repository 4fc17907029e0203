//! `check` and `archive` against a large archive, against an empty one in
//! the same run.
//!
//! Run: `cargo bench --bench check_scale -- [--items N] [--rounds R] [--search-only]`
//! (default 1,000,000 items, best of 5). Needs the release binary
//! (`cargo build --release`) and the shared corpus.
//!
//! 1. A catalog of N photo items is written straight into SQLite (random
//!    SHA-256, PDQ, pHash and dHash, one sighting each; no stored bytes
//!    and no local features), then indexed once by a first `check` (the
//!    index is missing, so it is built and saved, as for an archive
//!    written by an older firstseen). Kept in `target/bench-scale/` and
//!    reused while N is unchanged.
//! 2. `firstseen --timings check` of one 12 MP JPEG (a corpus photo
//!    resized) against it and against an empty archive: wall time of the
//!    whole process, best of R, and the stage times of the last run.
//! 3. `firstseen archive` of the corpus photos into a copy of it and into
//!    an empty archive: photos per second.
//! 4. `firstseen search` of its million sightings (a word of one caption,
//!    a source substring, a word of every caption, a date range), against
//!    a LIKE scan of every caption in the same run. `--search-only` runs
//!    only this step.
//! 5. The web app: `firstseen serve` on the archive of `samples/` and on
//!    the big one, and the time from posting the 12 MP JPEG to the check
//!    page until its verdict page has arrived (the page a desk sees after
//!    dropping a file: the report with thumbnails), best of R, beside
//!    the CLI's `check` of the same file on the same archive.
//!    `--serve-only` runs only this step.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "rng.rs"]
mod rng;
use rng::Rng;

#[path = "served.rs"]
mod served;

fn hex(words: &[u64]) -> String {
    words.iter().map(|w| format!("{w:016x}")).collect()
}

fn firstseen() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/firstseen")
}

fn run(archive: &Path, args: &[&str]) -> (f64, String) {
    let start = Instant::now();
    let out = Command::new(firstseen())
        .arg("--archive")
        .arg(archive)
        .args(args)
        .output()
        .expect("run firstseen");
    let took = start.elapsed().as_secs_f64();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "firstseen {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn make_catalog(dir: &Path, n: usize) {
    let done = dir.join(format!("done-{n}"));
    if done.is_file() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    // An empty archive made by firstseen itself (schema, store), from a
    // picture beside it (an archive is only made in an empty folder).
    let empty = dir.with_extension("seed.png");
    image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 7]))
        .save(&empty)
        .expect("seed");
    run(dir, &["archive", empty.to_str().expect("path")]);
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).expect("catalog");
    conn.execute_batch("PRAGMA synchronous = OFF; BEGIN")
        .expect("begin");
    let mut rng = Rng(0x1234_5678_9abc_def1);
    {
        let mut item = conn
            .prepare(
                "INSERT INTO item (sha256, media_type, format, width, height, byte_size, pdq,
                 pdq_quality, phash, dhash, stored, added_at)
                 VALUES (?1, 'image', 'jpeg', 4000, 3000, 3000000, ?2, 90, ?3, ?4, 0,
                 '2025-01-01T00:00:00Z')",
            )
            .expect("prepare");
        let mut sighting = conn
            .prepare(
                "INSERT INTO sighting (item_id, source, caption, first_seen, archived_at, file_name)
                 VALUES (last_insert_rowid(), ?1, ?2, '2024-05-01', '2025-01-01T00:00:00Z', ?3)",
            )
            .expect("prepare");
        for i in 0..n {
            let sha = hex(&[rng.next(), rng.next(), rng.next(), rng.next()]);
            let pdq = hex(&[rng.next(), rng.next(), rng.next(), rng.next()]);
            item.execute(rusqlite::params![
                sha,
                pdq,
                hex(&[rng.next()]),
                hex(&[rng.next()])
            ])
            .expect("item");
            sighting
                .execute(rusqlite::params![
                    format!("https://example.org/post/{i}"),
                    format!("Photo number {i}"),
                    format!("photo-{i}.jpg")
                ])
                .expect("sighting");
        }
    }
    conn.execute_batch("COMMIT").expect("commit");
    drop(conn);
    let (took, _) = run(dir, &["check", empty.to_str().expect("path")]);
    println!("catalog of {n} items written; first check built the index in {took:.1} s");
    std::fs::write(done, b"").expect("mark");
}

fn best(rounds: usize, mut f: impl FnMut() -> (f64, String)) -> (f64, String) {
    let mut out = (f64::INFINITY, String::new());
    for _ in 0..rounds {
        let r = f();
        if r.0 < out.0 {
            out = r;
        }
    }
    out
}

fn main() {
    let mut n = 1_000_000;
    let mut rounds = 5;
    let mut search_only = false;
    let mut serve_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--items" => n = args.next().and_then(|v| v.parse().ok()).expect("--items N"),
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds R")
            }
            "--search-only" => search_only = true,
            "--serve-only" => serve_only = true,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("FIRSTSEEN_SHARED")
        .map_or_else(|| root.join("../shared"), PathBuf::from)
        .join("corpus/photos");
    let work = root.join("target/bench-scale");
    std::fs::create_dir_all(&work).expect("work");
    let big = work.join("big");
    make_catalog(&big, n);
    let photo = twelve_mp(&corpus, &work);
    if !search_only && !serve_only {
        check_and_archive(&root, &corpus, &work, &big, n, rounds);
    }
    if !serve_only {
        search(&big, n, rounds);
    }
    if !search_only {
        serve(&root, &work, &big, &photo, n, rounds);
    }
}

/// One 12 MP JPEG (a corpus photo resized), made once.
fn twelve_mp(corpus: &Path, work: &Path) -> PathBuf {
    let photo = work.join("12mp.jpg");
    if !photo.is_file() {
        let src =
            image::open(corpus.join("lomiri-Kleiber_by_Lukas_Baubkus.jpg")).expect("corpus photo");
        let scaled = src.resize_exact(4618, 2598, image::imageops::FilterType::Triangle);
        scaled.to_rgb8().save(&photo).expect("write 12 MP");
    }
    photo
}

/// The web app's check page against the samples' archive and the big
/// one, beside the CLI's check of the same file.
fn serve(root: &Path, work: &Path, big: &Path, photo: &Path, n: usize, rounds: usize) {
    let samples = work.join("samples-archive");
    let _ = std::fs::remove_dir_all(&samples);
    run(
        &samples,
        &["archive", root.join("samples").to_str().expect("path")],
    );
    let p = photo.to_str().expect("path");
    for (name, archive) in [
        ("the samples' archive", samples.as_path()),
        ("the big archive", big),
    ] {
        let server = served::start(&firstseen(), archive);
        let (web, _) = best(rounds, || served::drop_to_verdict(&server.1, photo));
        drop(server);
        let (cli, _) = best(rounds, || run(archive, &["check", p]));
        println!(
            "web check page, 12 MP JPEG, drop to verdict against {name}{}: {:.0} ms; CLI check of the same file: {:.0} ms ({:.2}×)",
            if archive == big {
                format!(" ({n} items)")
            } else {
                String::new()
            },
            web * 1000.0,
            cli * 1000.0,
            web / cli
        );
    }
}

/// `check` and `archive` against the big archive and an empty one.
fn check_and_archive(root: &Path, corpus: &Path, work: &Path, big: &Path, n: usize, rounds: usize) {
    let photo = twelve_mp(corpus, work);
    let empty = work.join("empty");
    let _ = std::fs::remove_dir_all(&empty);
    run(
        &empty,
        &[
            "archive",
            root.join("samples/photos/skimage-camera.png")
                .to_str()
                .expect("path"),
        ],
    );
    let p = photo.to_str().expect("path");
    let (e, _) = best(rounds, || run(&empty, &["--timings", "check", p]));
    let (b, timings) = best(rounds, || run(big, &["--timings", "check", p]));
    println!(
        "check of one 12 MP JPEG: {:.0} ms against {n} items, {:.0} ms against an empty archive ({:.2}×)",
        b * 1000.0,
        e * 1000.0,
        b / e
    );
    println!(
        "stages of the fastest run against {n} items:\n{}",
        timings.trim_end()
    );

    // Archive the corpus photos into a copy of the big archive and into an
    // empty one.
    let files: Vec<String> = std::fs::read_dir(corpus)
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jpg" || x == "png"))
        .map(|p| p.display().to_string())
        .collect();
    let rate = |into: &Path, copy_of: Option<&Path>| {
        best(rounds.min(3), || {
            let _ = std::fs::remove_dir_all(into);
            match copy_of {
                Some(from) => {
                    let ok = Command::new("cp")
                        .arg("-a")
                        .arg(from)
                        .arg(into)
                        .status()
                        .expect("cp");
                    assert!(ok.success());
                    // Flush the copy, so the run does not pay for it
                    // (SQLite's first fsync of the catalog would).
                    let ok = Command::new("sync").status().expect("sync");
                    assert!(ok.success());
                }
                None => std::fs::create_dir_all(into).expect("dir"),
            }
            let mut args = vec!["archive", "--no-copy"];
            args.extend(files.iter().map(String::as_str));
            run(into, &args)
        })
        .0
    };
    let into_empty = rate(&work.join("a-empty"), None);
    let into_big = rate(&work.join("a-big"), Some(big));
    let k = files.len() as f64;
    println!(
        "archive of {} corpus photos: {:.1} photos/s into {n} items, {:.1} into an empty archive ({:.0}%)",
        files.len(),
        k / into_big,
        k / into_empty,
        100.0 * into_empty / into_big
    );
    let _ = std::fs::remove_dir_all(work.join("a-big"));
}

/// `search` against the big archive, and a LIKE scan as the peer.
fn search(big: &Path, n: usize, rounds: usize) {
    // Search a million sightings: `firstseen search` (whole process,
    // FTS5) against a LIKE scan of every caption in the same catalog (in
    // process, so the peer pays no process start).
    let (migrate, _) = run(big, &["status"]);
    println!(
        "status: {migrate:.1} s (the first run after an upgrade builds the search index of {n} sightings)"
    );
    let word = format!("{}", n / 2 + 17);
    let searches: [(&str, Vec<&str>); 5] = [
        ("a word of one caption", vec!["search", "number", &word]),
        (
            "a source substring",
            vec!["search", "--source", "/post/99999", "-n", "5"],
        ),
        (
            "a source substring found nowhere (reads every sighting)",
            vec!["search", "--source", "nowhere.example"],
        ),
        (
            "a word of every caption, newest 50",
            vec!["search", "photo"],
        ),
        (
            "a date range, newest 50",
            vec!["search", "--since", "2024-01-01", "--until", "2024-12-31"],
        ),
    ];
    for (what, args) in &searches {
        let (t, _) = best(rounds, || run(big, args));
        println!("search, {what}: {:.0} ms", t * 1000.0);
    }
    let conn = rusqlite::Connection::open(big.join("catalog.sqlite")).expect("catalog");
    let (like, _) = best(rounds, || {
        let started = std::time::Instant::now();
        let hits: i64 = conn
            .query_row(
                "SELECT count(*) FROM sighting WHERE caption LIKE ?1",
                [format!("%number {word}%")],
                |r| r.get(0),
            )
            .expect("like");
        assert!(hits >= 1);
        (started.elapsed().as_secs_f64(), String::new())
    });
    println!(
        "peer: a LIKE scan of every caption for the same word: {:.0} ms",
        like * 1000.0
    );
}
