//! Crash safety: `archive` and `import` killed (SIGKILL) at random
//! moments. After every kill the archive opens, `verify` finds no problem
//! (an object left between its write and its item's commit is a harmless
//! leftover, removed by `verify --repair`), and every file `archive`
//! reported before the kill has its sighting. A few kills run in the
//! normal test run; `cargo test --release -- --ignored crash` runs 200,
//! with the seed printed (`FIRSTSEEN_CRASH_SEED` repeats a run).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::{TestArchive, make_pictures};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn firstseen(t: &TestArchive) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("firstseen"));
    c.arg("--archive").arg(t.dir());
    c
}

/// Kills one run of `args` after `delay`; returns the stdout lines it
/// printed before dying.
fn run_and_kill(t: &TestArchive, args: &[String], delay: Duration) -> Vec<String> {
    let mut child = firstseen(t)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
    reader.join().unwrap()
}

fn json(t: &TestArchive, args: &[&str]) -> (Option<i32>, Value) {
    let out = firstseen(t).args(args).arg("--json").output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v)
}

/// The invariants after a kill; returns the number of leftovers seen.
fn check_after_kill(t: &TestArchive, round: usize, source: &str, reported: &[String]) -> usize {
    let (code, v) = json(t, &["verify"]);
    assert_eq!(code, Some(0), "round {round}: verify failed: {v:#}");
    let leftovers = v["summary"]["leftovers"].as_array().map_or(0, Vec::len);
    let (_, log) = json(t, &["log", "-n", "1000000"]);
    let recorded: Vec<&str> = log["sightings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["source"] == source)
        .filter_map(|s| s["file_name"].as_str())
        .collect();
    for line in reported {
        // "new        ab12cd34ef56  /path/pic07.jpg"
        let Some(name) = line
            .split_whitespace()
            .last()
            .and_then(|p| p.rsplit('/').next())
        else {
            continue;
        };
        if line.starts_with("new") || line.starts_with("sighting") {
            assert!(
                recorded.contains(&name),
                "round {round}: {name} was reported archived but has no sighting from {source}"
            );
        }
    }
    leftovers
}

fn crash_rounds(rounds: usize, seed: u64) {
    println!("crash test: {rounds} rounds, seed {seed} (FIRSTSEEN_CRASH_SEED={seed} repeats it)");
    let t = TestArchive::new();
    let pics = make_pictures(&t.scratch(), 24);
    let names: Vec<String> = pics.iter().map(|p| p.display().to_string()).collect();
    // A manifest to import, from another archive of other pictures.
    let other = TestArchive::new();
    let more = make_pictures(&other.scratch(), 8);
    let mut args = vec!["archive".to_string()];
    args.extend(more.iter().map(|p| p.display().to_string()));
    let ok = firstseen(&other).args(&args).output().unwrap();
    assert!(ok.status.success());
    let manifest = other.scratch().join("m.jsonl");
    assert!(
        firstseen(&other)
            .args(["export", "-o"])
            .arg(&manifest)
            .output()
            .unwrap()
            .status
            .success()
    );

    // The archive exists before the first kill (a kill during its very
    // creation leaves no archive to verify, which is not this test's point).
    let seed_photo = crate::util::sample("pillow-hopper.jpg");
    assert!(
        firstseen(&t)
            .arg("archive")
            .arg(&seed_photo)
            .output()
            .unwrap()
            .status
            .success()
    );
    let mut rng = Rng(seed | 1);
    let (mut kills, mut leftovers, mut imports) = (0, 0, 0);
    for round in 0..rounds {
        if round % 5 == 4 {
            // Import, killed; then it either happened whole or not at all.
            let delay = Duration::from_millis(rng.below(150));
            run_and_kill(
                &t,
                &["import".into(), manifest.display().to_string()],
                delay,
            );
            let (code, v) = json(&t, &["verify"]);
            assert_eq!(
                code,
                Some(0),
                "round {round}: verify after import kill: {v:#}"
            );
            imports += 1;
            kills += 1;
            continue;
        }
        let source = format!("https://round{round}.example/");
        let mut args = vec!["archive".to_string(), "--source".into(), source.clone()];
        args.extend(names.iter().cloned());
        let delay = Duration::from_millis(50 + rng.below(1200));
        let reported = run_and_kill(&t, &args, delay);
        leftovers += check_after_kill(&t, round, &source, &reported);
        kills += 1;
    }
    // What the kills left is repaired, and the archive stays clean.
    let (code, v) = json(&t, &["verify", "--repair"]);
    assert_eq!(code, Some(0), "{v:#}");
    let (code, v) = json(&t, &["verify"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["summary"]["leftovers"], serde_json::json!([]), "{v:#}");
    println!(
        "crash test: {kills} kills ({imports} of import), 0 lost sightings, 0 failed verifies, \
         {leftovers} leftover object(s) seen and repaired"
    );
}

fn seed() -> u64 {
    std::env::var("FIRSTSEEN_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

#[test]
fn kills_at_random_moments_lose_nothing() {
    crash_rounds(5, seed());
}

#[test]
#[ignore = "long mode: 200 kills, a few minutes"]
fn crash_long() {
    crash_rounds(200, seed());
}
