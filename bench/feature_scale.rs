//! `check` of crops and screenshots against archives of 1,000 to
//! 1,000,000 photos with local features, through the feature index and,
//! as the peer in the same run, through the linear vote it replaced.
//!
//! Run: `cargo bench --bench feature_scale -- [--sizes 1000,10000,100000,1000000]
//! [--linear 10000,100000] [--rounds 3] [--queries 4] [--prepare-only]
//! [--no-import] [--no-serve] [--archive-only]`
//! (`--prepare-only` makes the archives and stops; needs the release
//! binary, `cargo build --release`, and the shared corpus).
//!
//! 1. Real items: the corpus photos and tiles and crops of them (as the
//!    false-match bench makes them), archived by `firstseen archive`:
//!    about 1,000 pictures with their real local features.
//! 2. Added items up to each size, written straight into a copy of that
//!    catalog: each one's features are real stored features (positions
//!    and scales of a random real picture), every descriptor drawn from
//!    a random real picture and changed in 64 of its 256 bits at random
//!    positions — beyond the vote radius, so no added item can be
//!    confirmed as a copy of a real one. The same generator serves the
//!    index and the linear peer (both read the same catalog).
//! 3. The first command on each archive builds its feature index (an
//!    archive of an earlier version does the same): timed.
//! 4. Queries: 70% crops and phone screenshots (1–2 MP) and re-encoded
//!    whole copies of archived photos, one `firstseen --timings --json
//!    check` process per file: median wall time of `--rounds`, peak
//!    resident memory, whether the original was found, and whether any
//!    added item was reported. With idle cores, then with the other core
//!    busy.
//! 5. The index on disk: bytes per stored feature.
//! 6. Archiving into a copy of the largest archive and into an empty
//!    one, photos per second: 24 new pictures unrelated to any archived one, then 12
//!    near copies of archived photos (matched and linked as variants).
//! 7. The web app (`--no-serve` skips it): a 70% crop posted to the
//!    check page of `firstseen serve` over the smallest and the largest
//!    archive, timed until the whole verdict page has arrived (median),
//!    beside the CLI's check of the same files.
//! 8. The largest archive exported as a manifest (format 2, with local
//!    features) and imported into a new archive: the import's time, its
//!    feature index included.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "edits.rs"]
mod edits;
#[path = "served.rs"]
mod served;
use edits::{Rng, centre_crop, derived, jpeg_bytes, screenshot};

use firstseen::hash::features::Features;

fn firstseen() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/firstseen")
}

/// Marker in the `format` column of added items.
const ADDED: &str = "bench-added";

struct Run {
    wall: f64,
    peak_mb: f64,
    found: bool,
    added_matched: bool,
}

fn check(archive: &Path, file: &Path, linear: bool, expect: &str) -> Run {
    let start = Instant::now();
    let mut cmd = Command::new(firstseen());
    cmd.arg("--archive")
        .arg(archive)
        .args(["--timings", "--json", "check"])
        .arg(file);
    if linear {
        cmd.env("FIRSTSEEN_FEATURE_INDEX", "linear");
    }
    let out = cmd.output().expect("run firstseen");
    let wall = start.elapsed().as_secs_f64();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "check {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak_mb = stderr
        .lines()
        .find_map(|l| l.strip_prefix("memory: peak resident "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN);
    let stdout = String::from_utf8_lossy(&out.stdout);
    Run {
        wall,
        peak_mb,
        found: stdout.contains(expect),
        added_matched: stdout.contains(ADDED),
    }
}

/// `firstseen archive` of the folder `dir` into `archive`, which must
/// succeed.
fn archive_into(archive: &Path, args: &[&str], dir: &Path) {
    let out = Command::new(firstseen())
        .arg("--archive")
        .arg(archive)
        .arg("archive")
        .args(args)
        .arg(dir)
        .output()
        .expect("archive");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sql(archive: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(archive.join("catalog.sqlite")).expect("catalog")
}

/// Adds items up to `size` to the archive at `dir`, with features made
/// from the real ones.
fn add_items(dir: &Path, size: usize) {
    let conn = sql(dir);
    let have: i64 = conn
        .query_row("SELECT count(*) FROM item", [], |r| r.get(0))
        .expect("count");
    let real: Vec<Features> = {
        let mut stmt = conn
            .prepare("SELECT f.data FROM item_features f JOIN item i ON i.id = f.item_id WHERE i.format != ?1")
            .expect("prepare");
        stmt.query_map([ADDED], |r| r.get::<_, Vec<u8>>(0))
            .expect("query")
            .map(|b| Features::from_bytes(&b.expect("row")).expect("features"))
            .collect()
    };
    let descriptors: Vec<[u64; 4]> = real.iter().flat_map(|f| f.descriptors.clone()).collect();
    // Committed in chunks, with a large page cache: one transaction of a
    // million rows under the default cache spends its time re-reading
    // index pages.
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000; BEGIN")
        .expect("begin");
    // Seeded by where it starts, so an archive grown from a smaller one
    // gets new items.
    let mut rng = Rng(0x0ADD_ED17_E355 ^ (have as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let hex = |w: &[u64]| w.iter().map(|x| format!("{x:016x}")).collect::<String>();
    {
        let mut item = conn
            .prepare(
                "INSERT INTO item (sha256, media_type, format, width, height, byte_size, pdq,
                 pdq_quality, phash, dhash, stored, added_at)
                 VALUES (?1, 'image', ?2, 1600, 1200, 400000, ?3, 90, ?4, ?5, 0,
                 '2025-01-01T00:00:00Z')",
            )
            .expect("prepare");
        let mut feat = conn
            .prepare("INSERT INTO item_features (item_id, data) VALUES (last_insert_rowid(), ?1)")
            .expect("prepare");
        let mut sighting = conn
            .prepare(
                "INSERT INTO sighting (item_id, source, caption, first_seen, archived_at, file_name)
                 VALUES (?1, ?2, 'Added photo', '2024-05-01', '2025-01-01T00:00:00Z', 'added.jpg')",
            )
            .expect("prepare");
        let t = Instant::now();
        for i in have as usize..size {
            let mut f = real[rng.below(real.len() as u64) as usize].clone();
            for d in &mut f.descriptors {
                *d = descriptors[rng.below(descriptors.len() as u64) as usize];
                let mut flipped = 0;
                let mut seen = [0u64; 4];
                while flipped < 64 {
                    let bit = rng.below(256) as usize;
                    if seen[bit / 64] & (1 << (bit % 64)) == 0 {
                        seen[bit / 64] |= 1 << (bit % 64);
                        d[bit / 64] ^= 1 << (bit % 64);
                        flipped += 1;
                    }
                }
            }
            item.execute(rusqlite::params![
                hex(&[rng.next(), rng.next(), rng.next(), rng.next()]),
                ADDED,
                hex(&[rng.next(), rng.next(), rng.next(), rng.next()]),
                hex(&[rng.next()]),
                hex(&[rng.next()]),
            ])
            .expect("item");
            let id = conn.last_insert_rowid();
            feat.execute([f.to_bytes()]).expect("features");
            sighting
                .execute(rusqlite::params![
                    id,
                    format!("https://example.org/added/{i}")
                ])
                .expect("sighting");
            if i % 100_000 == 0 && i > 0 {
                conn.execute_batch("COMMIT; BEGIN").expect("commit");
                eprintln!("  {i} items ({:.0} s)", t.elapsed().as_secs_f64());
            }
        }
    }
    conn.execute_batch("COMMIT").expect("commit");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Query {
    file: PathBuf,
    kind: &'static str,
    expect: String,
}

fn parse_list(v: Option<String>) -> Vec<usize> {
    v.expect("a list")
        .split(',')
        .map(|n| n.trim().replace('_', "").parse().expect("a number"))
        .collect()
}

fn busy() -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<()>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let h = std::thread::spawn(move || {
        let mut x = 1u64;
        while !s.load(std::sync::atomic::Ordering::Relaxed) {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
        }
    });
    (stop, h)
}

fn main() {
    let mut sizes = vec![1_000, 10_000, 100_000, 1_000_000];
    let mut linear = vec![10_000, 100_000];
    let mut rounds = 3;
    let mut queries = 4;
    let mut prepare_only = false;
    let mut import = true;
    let mut serve = true;
    let mut checks = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--sizes" => sizes = parse_list(args.next()),
            "--linear" => linear = parse_list(args.next()),
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds R")
            }
            "--queries" => {
                queries = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--queries Q")
            }
            "--prepare-only" => prepare_only = true,
            "--no-import" => import = false,
            "--no-serve" => serve = false,
            "--archive-only" => {
                (checks, serve, import) = (false, false, false);
            }
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("FIRSTSEEN_SHARED")
        .map_or_else(|| root.join("../shared"), PathBuf::from)
        .join("corpus/photos");
    let work = root.join("target/bench-features");
    std::fs::create_dir_all(&work).expect("work");
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    photos.sort();
    let images: Vec<image::RgbImage> = photos
        .iter()
        .map(|p| image::open(p).expect("photo").to_rgb8())
        .collect();

    // 1. The real items.
    let real_dir = work.join("real");
    let base = work.join("base");
    if !base.join("done").is_file() {
        let _ = std::fs::remove_dir_all(&real_dir);
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&real_dir).expect("real");
        for (i, im) in images.iter().enumerate() {
            for (k, d) in derived(im, i as u64, 7).iter().enumerate() {
                std::fs::write(
                    real_dir.join(format!("p{i:03}-{k:02}.jpg")),
                    jpeg_bytes(d, 90),
                )
                .expect("write");
            }
        }
        archive_into(
            &base,
            &["--no-copy", "--source", "https://example.org/real"],
            &real_dir,
        );
        std::fs::write(base.join("done"), b"").expect("mark");
    }
    let real_items: i64 = sql(&base)
        .query_row("SELECT count(*) FROM item", [], |r| r.get(0))
        .expect("count");
    println!(
        "{real_items} real pictures with their local features (corpus photos, tiles and crops)"
    );

    // 4. Queries: of the first photos of the corpus that are archived whole.
    let qdir = work.join("queries");
    std::fs::create_dir_all(&qdir).expect("queries");
    let mut qs = Vec::new();
    let step = (images.len() / queries.max(1)).max(1);
    for (n, i) in (0..images.len()).step_by(step).take(queries).enumerate() {
        let im = &images[i];
        let sha = {
            let bytes = jpeg_bytes(im, 90);
            firstseen::hash::Sha256::of(&bytes).to_string()
        };
        // A 1–2 MP copy: scaled so its longer side is at most 1,600 px.
        let fit = |c: image::RgbImage| {
            let (w, h) = c.dimensions();
            let s = (1600.0 / f64::from(w.max(h))).min(1.0);
            edits::scale(&c, s)
        };
        for (kind, copy) in [
            ("70% crop", fit(centre_crop(im, 0.7f64.sqrt()))),
            ("phone screenshot", screenshot(im, n, false)),
            ("whole copy", fit(im.clone())),
        ] {
            let file = qdir.join(format!("q{i:03}-{}.jpg", kind.replace(['%', ' '], "")));
            std::fs::write(&file, jpeg_bytes(&copy, 85)).expect("write query");
            qs.push(Query {
                file,
                kind,
                expect: sha.clone(),
            });
        }
    }

    println!(
        "\n| archived photos | matcher | cores | query | median wall (s) | peak RSS (MB) | found | added items matched |"
    );
    println!("|---:|---|---|---|---:|---:|---:|---:|");
    let mut at_small: std::collections::HashMap<(&str, bool), f64> = Default::default();
    let mut all_sizes = vec![real_items as usize];
    all_sizes.extend(sizes.iter().copied().filter(|&s| s > real_items as usize));
    let mut largest = base.clone();
    for &size in &all_sizes {
        let dir = if size == real_items as usize {
            base.clone()
        } else {
            work.join(format!("n{size}"))
        };
        let marker = dir.join(format!("done-{size}"));
        if dir != base && !marker.is_file() {
            let _ = std::fs::remove_dir_all(&dir);
            // Grown from the largest smaller archive already made (the
            // same generator continues), else from the real items.
            let from = all_sizes
                .iter()
                .filter(|&&s| s < size && s > real_items as usize)
                .rfind(|&&s| work.join(format!("n{s}/done-{s}")).is_file())
                .map_or_else(|| base.clone(), |s| work.join(format!("n{s}")));
            let st = Command::new("cp")
                .arg("-a")
                .arg(&from)
                .arg(&dir)
                .status()
                .expect("cp");
            for f in std::fs::read_dir(&dir).expect("copy").flatten() {
                if f.file_name().to_string_lossy().starts_with("done") {
                    let _ = std::fs::remove_file(f.path());
                }
            }
            assert!(st.success());
            let t = Instant::now();
            add_items(&dir, size);
            eprintln!(
                "{size}: catalog written in {:.0} s",
                t.elapsed().as_secs_f64()
            );
            // The first command builds the feature index, as for an
            // archive written by an earlier version.
            let _ = std::fs::remove_dir_all(dir.join("index"));
            let t = Instant::now();
            let r = check(&dir, &qs[0].file, false, &qs[0].expect);
            println!(
                "\n{size}: the first check built the indexes in {:.1} s (wall {:.1} s, peak {:.0} MB)",
                t.elapsed().as_secs_f64(),
                r.wall,
                r.peak_mb
            );
            std::fs::write(&marker, b"").expect("mark");
        }
        largest = dir.clone();
        if prepare_only || !checks {
            continue;
        }
        for use_linear in [false, true] {
            if use_linear && !linear.contains(&size) {
                continue;
            }
            // The linear peer takes tens of seconds a check at 100,000:
            // one query of each kind, once, idle.
            for loaded in [false, true] {
                if use_linear && loaded {
                    continue;
                }
                let load = loaded.then(busy);
                for kind in ["70% crop", "phone screenshot", "whole copy"] {
                    let mut walls = Vec::new();
                    let mut peak: f64 = 0.0;
                    let (mut found, mut total, mut added) = (0, 0, 0);
                    let per_kind = if use_linear { 1 } else { usize::MAX };
                    for q in qs.iter().filter(|q| q.kind == kind).take(per_kind) {
                        for _ in 0..if use_linear { 1 } else { rounds } {
                            let r = check(&dir, &q.file, use_linear, &q.expect);
                            walls.push(r.wall);
                            peak = peak.max(r.peak_mb);
                            found += usize::from(r.found);
                            added += usize::from(r.added_matched);
                            total += 1;
                        }
                    }
                    let m = median(walls);
                    // Ratios against the same check at 1,000 pictures (the
                    // issue's reference), else the real items alone.
                    let reference = if all_sizes.contains(&1_000) {
                        1_000
                    } else {
                        real_items as usize
                    };
                    if size == reference && !use_linear {
                        at_small.insert((kind, loaded), m);
                    }
                    let ratio = at_small
                        .get(&(kind, loaded))
                        .filter(|_| !use_linear)
                        .map_or(String::new(), |b| format!(" ({:.2}×)", m / b));
                    println!(
                        "| {size} | {} | {} | {kind} | {m:.3}{ratio} | {peak:.0} | {found}/{total} | {added} |",
                        if use_linear { "linear vote" } else { "index" },
                        if loaded { "other busy" } else { "idle" },
                    );
                }
                if let Some((stop, h)) = load {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    let _ = h.join();
                }
            }
        }
        // 5. The index on disk.
        let state: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("index/features/state.json")).expect("state"),
        )
        .expect("state json");
        let segs = state["segments"].as_array().cloned().unwrap_or_default();
        let features: u64 = segs
            .iter()
            .map(|s| s["features"].as_u64().unwrap_or(0))
            .sum();
        let bytes: u64 = segs
            .iter()
            .filter_map(|s| s["file"].as_str())
            .map(|f| std::fs::metadata(dir.join("index/features").join(f)).map_or(0, |m| m.len()))
            .sum();
        println!(
            "{size}: feature index {} segments, {features} features, {:.1} MB, {:.1} bytes per feature",
            segs.len(),
            bytes as f64 / 1e6,
            bytes as f64 / features.max(1) as f64
        );
    }

    if prepare_only {
        return;
    }
    // 6b. The web app: a crop dropped on the check page of a server over
    // the smallest and the largest archive, until the whole verdict page
    // has arrived, beside the CLI's check of the same file.
    if serve {
        let crops: Vec<&Query> = qs.iter().filter(|q| q.kind == "70% crop").collect();
        for dir in [&base, &largest] {
            let server = served::start(&firstseen(), dir);
            let mut web = Vec::new();
            let mut cli = Vec::new();
            for q in &crops {
                for _ in 0..rounds {
                    web.push(served::drop_to_verdict(&server.1, &q.file).0);
                    cli.push(check(dir, &q.file, false, &q.expect).wall);
                }
            }
            drop(server);
            let (w, c) = (median(web), median(cli));
            println!(
                "web check page, a 70% crop dropped, verdict page in: {:.0} ms against {} (CLI check {:.0} ms, {:.2}×)",
                w * 1000.0,
                dir.display(),
                c * 1000.0,
                w / c
            );
        }
    }
    // 6. Archiving into the largest archive and into an empty one: new
    // pictures unrelated to any archived one (drawn for this run, so a
    // second run archives new ones too), then near copies of archived
    // photos (matched, verified and linked as variants).
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    let new_pictures = work.join("new-pictures");
    let copies = work.join("copies");
    for d in [&new_pictures, &copies] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).expect("folder");
    }
    // Enough for a dozen chunks, so the rate is that of a long batch.
    const NEW: usize = 96;
    for i in 0..NEW {
        let im = unrelated(seed.wrapping_add(i as u64 * 7919));
        std::fs::write(
            new_pictures.join(format!("n{i:02}.jpg")),
            jpeg_bytes(&im, 85),
        )
        .expect("write");
    }
    for (i, im) in images.iter().take(12).enumerate() {
        let copy = edits::scale(im, 0.9);
        std::fs::write(copies.join(format!("f{i:02}.jpg")), jpeg_bytes(&copy, 80)).expect("write");
    }
    let rate = |archive: &Path, dir: &Path, n: usize| {
        let t = Instant::now();
        archive_into(archive, &["--no-copy"], dir);
        n as f64 / t.elapsed().as_secs_f64()
    };
    let empty = work.join("empty-archive");
    let scratch = work.join("scratch-archive");
    for (what, dir, n) in [
        ("new, unrelated pictures", &new_pictures, NEW),
        ("near copies of archived photos", &copies, 12),
    ] {
        let _ = std::fs::remove_dir_all(&empty);
        let into_empty = rate(&empty, dir, n);
        // Into a copy of the largest archive (its catalog copied, its
        // immutable index files linked), so runs do not pile their
        // pictures into the archive later runs measure.
        clone_archive(&largest, &scratch);
        // The copy's gigabytes written out before the clock starts, and
        // its index read as a working archive's is (the copy pushed it out
        // of the page cache): the queries of step 5 checked once.
        let _ = Command::new("sync").status();
        for q in &qs {
            check(&scratch, &q.file, false, &q.expect);
        }
        let into_big = rate(&scratch, dir, n);
        let _ = std::fs::remove_dir_all(&scratch);
        println!(
            "archiving {n} {what}: {into_big:.2} photos/s into a copy of {} vs {into_empty:.2} into an empty archive ({:.0}%)",
            largest.display(),
            100.0 * into_big / into_empty
        );
    }

    // 7. The largest archive's manifest (format 2, features included),
    // imported into a new archive, feature index included.
    if import {
        let manifest = work.join("largest.jsonl");
        let t = Instant::now();
        let st = Command::new(firstseen())
            .arg("--archive")
            .arg(&largest)
            .args(["--quiet", "export", "-o"])
            .arg(&manifest)
            .status()
            .expect("export");
        assert!(st.success());
        let exported = t.elapsed().as_secs_f64();
        let into = work.join("imported");
        let _ = std::fs::remove_dir_all(&into);
        let t = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(firstseen())
            .arg("--archive")
            .arg(&into)
            .args(["--quiet", "import"])
            .arg(&manifest)
            .output()
            .expect("import");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let imported = t.elapsed().as_secs_f64();
        let peak_kb: f64 = String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0.0);
        let indexed = into.join("index/features/state.json").is_file();
        println!(
            "import of the manifest of {} ({:.1} GB, written in {exported:.0} s): {imported:.0} s{}, peak {:.0} MB",
            largest.display(),
            std::fs::metadata(&manifest).map_or(0.0, |m| m.len() as f64 / 1e9),
            if indexed {
                ", feature index included"
            } else {
                " (no feature index!)"
            },
            peak_kb / 1024.0
        );
        let _ = std::fs::remove_file(&manifest);
        let _ = std::fs::remove_dir_all(&into);
    }
}

/// A copy of the archive at `from` in `to`: its index files hard-linked
/// (firstseen never writes one in place: a new one is renamed over it),
/// everything else copied.
fn clone_archive(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(from).expect("inside");
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("folder");
        } else if rel.starts_with("index") && rel.extension().is_some_and(|e| e != "json") {
            std::fs::hard_link(entry.path(), &target).expect("link");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A photo-sized picture of shapes, lettering and grain, different for
/// each seed and like none archived: new material to archive.
fn unrelated(seed: u64) -> image::RgbImage {
    let (w, h) = (1600u32, 1200u32);
    let mut rng = Rng(seed | 1);
    let base = [
        rng.below(200) as u8,
        rng.below(200) as u8,
        rng.below(200) as u8,
    ];
    let mut im = image::RgbImage::from_fn(w, h, |x, y| {
        let g = ((x + y) * 55 / (w + h)) as u8;
        image::Rgb([base[0] / 2 + g, base[1] / 2 + g, base[2] / 2 + g])
    });
    let colour = |rng: &mut Rng| {
        image::Rgb([
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        ])
    };
    for _ in 0..40 {
        let (x, y) = (
            rng.below(u64::from(w)) as u32,
            rng.below(u64::from(h)) as u32,
        );
        let c = colour(&mut rng);
        let (rw, rh) = (40 + rng.below(300) as u32, 40 + rng.below(300) as u32);
        edits::fill(&mut im, x, y, rw.min(w - x), rh.min(h - y), c);
        let c = colour(&mut rng);
        edits::disc(
            &mut im,
            rng.below(u64::from(w)) as i64,
            rng.below(u64::from(h)) as i64,
            10 + rng.below(120) as i64,
            c,
        );
    }
    for k in 0..12 {
        let c = colour(&mut rng);
        let (x, y) = (
            rng.below(u64::from(w - 400)) as u32,
            rng.below(u64::from(h - 60)) as u32,
        );
        edits::text(&mut im, x, y, 16 + rng.below(30) as u32, 12, c, seed ^ k);
    }
    for p in im.pixels_mut() {
        let n = rng.below(17) as i32 - 8;
        for ch in p.0.iter_mut() {
            *ch = (i32::from(*ch) + n).clamp(0, 255) as u8;
        }
    }
    im
}
