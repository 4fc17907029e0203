//! Where the time went: time spent per stage (read, decode, hashes,
//! features, index, verification …), summed over files and threads.
//! Collected only when switched on (`--timings`); otherwise a stage
//! costs one relaxed atomic load.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static ON: AtomicBool = AtomicBool::new(false);
static TOTALS: Mutex<Vec<Total>> = Mutex::new(Vec::new());

/// One stage's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    /// The stage's name.
    pub stage: &'static str,
    /// Time spent in it, summed over threads.
    pub time: Duration,
    /// How many times it ran.
    pub count: u64,
}

/// Starts collecting.
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// True when collecting.
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Times a stage until the returned guard is dropped.
#[must_use = "the stage is timed until the guard is dropped"]
pub fn stage(name: &'static str) -> Stage {
    Stage {
        name,
        start: enabled().then(Instant::now),
    }
}

/// Times `f` as the stage `name`.
pub fn time<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    let _s = stage(name);
    f()
}

/// A running stage; adds its time to the totals when dropped.
#[derive(Debug)]
pub struct Stage {
    name: &'static str,
    start: Option<Instant>,
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some(start) = self.start {
            add(self.name, start.elapsed());
        }
    }
}

fn add(stage: &'static str, time: Duration) {
    let mut totals = TOTALS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match totals.iter_mut().find(|t| t.stage == stage) {
        Some(t) => {
            t.time += time;
            t.count += 1;
        }
        None => totals.push(Total {
            stage,
            time,
            count: 1,
        }),
    }
}

/// The totals so far, in the order the stages first ran.
pub fn totals() -> Vec<Total> {
    TOTALS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_add_up_only_when_enabled() {
        // Off: nothing is recorded.
        drop(stage("timings-test-off"));
        assert!(!totals().iter().any(|t| t.stage == "timings-test-off"));
        enable();
        for _ in 0..3 {
            time("timings-test-on", || {
                std::thread::sleep(Duration::from_millis(2))
            });
        }
        let t = totals()
            .into_iter()
            .find(|t| t.stage == "timings-test-on")
            .expect("recorded");
        assert_eq!(t.count, 3);
        assert!(t.time >= Duration::from_millis(6));
    }
}
