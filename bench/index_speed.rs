//! The PDQ index at scale, against FAISS in the same run.
//!
//! Run: `cargo bench --bench index_speed -- [--n N] [--queries Q] [--no-faiss]`
//! (default ten million hashes, 200 queries).
//!
//! Two sets of N hashes, each timed on one core:
//! - `random`: uniformly random 256-bit hashes;
//! - `real`: real PDQ hashes (ThreatExchange's index haystack, bundled, and
//!   the vPDQ sample hashes of real video frames when `../shared` is
//!   present) spliced word by word into N new hashes, so every 64-bit
//!   word keeps the skewed distribution real hashes have, and one in ten
//!   hashes is a near copy (up to 40 bits flipped) of another, as
//!   re-encoded, resized and mirrored copies are.
//!
//! Queries are half near copies of indexed hashes and half new hashes of
//! the same kind. For each set: build time, memory per hash, the mean time
//! of a radius-31 query and of a query in eight orientations (eight
//! hashes), a linear scan (the reference; results compared on every
//! query), and FAISS `IndexBinaryFlat.range_search` on the same hashes
//! (`bench/faiss_range.py`, one thread; installs faiss-cpu with pip
//! when missing).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use firstseen::hash::Hash256;
use firstseen::matching::hamming::MultiIndex;

#[path = "rng.rs"]
mod rng;
use rng::Rng;

fn real_hashes(root: &Path) -> Vec<[u64; 4]> {
    let mut files = vec![root.join("tests/fixtures/pdq/haystack.txt")];
    let vpdq = root.join("../shared/pdq-reference/ThreatExchange/vpdq/sample-hashes");
    if let Ok(d) = std::fs::read_dir(&vpdq) {
        files.extend(d.flatten().map(|e| e.path()));
    }
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for l in text.lines() {
            if let Some(h) = l
                .split(',')
                .find(|f| f.len() == 64)
                .and_then(|x| x.parse::<Hash256>().ok())
            {
                out.push(h.words());
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn make_set(kind: &str, n: usize, real: &[[u64; 4]], rng: &mut Rng) -> Vec<[u64; 4]> {
    let mut out: Vec<[u64; 4]> = Vec::with_capacity(n);
    for i in 0..n {
        let h = if kind == "random" {
            [rng.next(), rng.next(), rng.next(), rng.next()]
        } else if i > 0 && rng.below(10) == 0 {
            let of = out[rng.below(i)];
            rng.flip(&of, 40)
        } else {
            [0, 1, 2, 3].map(|w| real[rng.below(real.len())][w])
        };
        out.push(h);
    }
    out
}

fn queries(
    set: &[[u64; 4]],
    kind: &str,
    q: usize,
    real: &[[u64; 4]],
    rng: &mut Rng,
) -> Vec<[u64; 4]> {
    (0..q)
        .map(|i| {
            if i % 2 == 0 {
                let of = set[rng.below(set.len())];
                rng.flip(&of, 40)
            } else if kind == "random" {
                [rng.next(), rng.next(), rng.next(), rng.next()]
            } else {
                [0, 1, 2, 3].map(|w| real[rng.below(real.len())][w])
            }
        })
        .collect()
}

fn mean_ms(start: Instant, n: usize) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0 / n as f64
}

fn write_hashes(path: &Path, hashes: &[[u64; 4]]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("bench file"));
    for h in hashes {
        f.write_all(&Hash256::from_words(h).0).expect("write");
    }
}

fn main() {
    let mut n = 10_000_000;
    let mut nq = 200;
    let mut faiss = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--n" => n = args.next().and_then(|v| v.parse().ok()).expect("--n N"),
            "--queries" => {
                nq = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--queries Q")
            }
            "--no-faiss" => faiss = false,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/bench-index");
    std::fs::create_dir_all(&work).expect("work dir");
    let real = real_hashes(&root);
    println!(
        "PDQ index, {n} hashes, {nq} queries, one core (real hashes spliced from {} distinct real PDQ hashes)",
        real.len()
    );
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for kind in ["random", "real"] {
        let set = make_set(kind, n, &real, &mut rng);
        let qs = queries(&set, kind, nq, &real, &mut rng);
        let start = Instant::now();
        let idx = MultiIndex::build(set.clone());
        let build = start.elapsed().as_secs_f64();
        let bytes = idx.memory_bytes() as f64 / n as f64;

        let start = Instant::now();
        let mut found = 0usize;
        let mut results = Vec::with_capacity(nq);
        for q in &qs {
            let mut r = Vec::new();
            idx.within(q, 31, &mut |id, d| r.push((id, d)));
            found += r.len();
            results.push(r);
        }
        let one = mean_ms(start, nq);
        let start = Instant::now();
        for q in qs.chunks(8) {
            for h in q {
                idx.within(h, 31, &mut |_, _| {});
            }
        }
        let eight = mean_ms(start, nq.div_ceil(8));
        let start = Instant::now();
        for (q, mut want) in qs.iter().zip(results) {
            let mut got = Vec::new();
            idx.scan(q, 31, &mut |id, d| got.push((id, d)));
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "index and scan differ");
        }
        let scan = mean_ms(start, nq);
        let mut file = Vec::new();
        let start = Instant::now();
        idx.write(&mut file).expect("serialise");
        let back = MultiIndex::<4>::read(&mut file.as_slice()).expect("read back");
        let roundtrip = start.elapsed().as_secs_f64();
        assert!(back == idx);
        drop(back);
        drop(file);
        println!(
            "{kind:>6}: build {build:.1} s, {bytes:.1} bytes/hash, radius-31 query {one:.3} ms \
             (eight orientations {eight:.3} ms), linear scan {scan:.2} ms (same results, \
             {:.1} found per query), write+read {roundtrip:.1} s",
            found as f64 / nq as f64
        );
        drop(idx);
        if faiss {
            let hf = work.join(format!("{kind}-hashes.bin"));
            let qf = work.join(format!("{kind}-queries.bin"));
            write_hashes(&hf, &set);
            write_hashes(&qf, &qs);
            drop(set);
            let out = std::process::Command::new("python3")
                .arg(root.join("bench/faiss_range.py"))
                .arg(&hf)
                .arg(&qf)
                .output()
                .expect("python3");
            let text = String::from_utf8_lossy(&out.stdout);
            let ms: Option<f64> = text
                .lines()
                .find_map(|l| l.strip_prefix("ms_per_query "))
                .and_then(|v| v.trim().parse().ok());
            let per: Option<f64> = text
                .lines()
                .find_map(|l| l.strip_prefix("found_per_query "))
                .and_then(|v| v.trim().parse().ok());
            match ms {
                Some(ms) => println!(
                    "{kind:>6}: FAISS IndexBinaryFlat range_search {ms:.2} ms per query \
                     ({:.1} found); firstseen's index {:.0}× faster",
                    per.unwrap_or(f64::NAN),
                    ms / one
                ),
                None => println!(
                    "{kind:>6}: FAISS did not run: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            }
            let _ = std::fs::remove_file(hf);
            let _ = std::fs::remove_file(qf);
        }
    }
}
