//! The process-wide memory budget for pictures in hand, in a test process
//! of its own (the library's other tests decode pictures and reserve
//! from the same budget while they run).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use firstseen::decode::budget::{DEFAULT_BUDGET, reserve, set_budget, usage};

// The budget is process-wide: one test drives it.
#[test]
fn threads_wait_for_the_budget_and_a_large_picture_runs_alone() {
    set_budget(100);
    // Four threads each wanting 40: at most two at a time.
    let most = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..5 {
                    let r = reserve(40);
                    most.fetch_max(usage().0, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(2));
                    drop(r);
                }
            });
        }
    });
    assert!(most.load(Ordering::Relaxed) <= 100, "{most:?}");
    assert!(most.load(Ordering::Relaxed) >= 40);
    assert_eq!(usage().0, 0);

    // Larger than the budget: granted, but only alone.
    let small = reserve(10);
    let started = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        s.spawn(|| {
            let big = reserve(500);
            *started.lock().expect("lock") = Some(usage().0);
            drop(big);
        });
        std::thread::sleep(Duration::from_millis(30));
        assert!(started.lock().expect("lock").is_none(), "must wait");
        drop(small);
    });
    assert_eq!(*started.lock().expect("lock"), Some(500));

    // A thread holding a reservation is not made to wait.
    let outer = reserve(90);
    let inner = reserve(90);
    assert_eq!(usage().0, 180);
    drop((outer, inner));
    assert_eq!(usage().0, 0);
    set_budget(DEFAULT_BUDGET);
}
