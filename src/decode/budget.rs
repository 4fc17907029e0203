//! One memory budget for every picture being decoded and hashed in the
//! process, whatever the number of threads.
//!
//! A decode first reserves what the picture will cost (its pixels, the
//! copies hashing makes of them), from the header, before any pixel
//! buffer exists; it waits while the pictures already in hand would
//! take the total over the budget, and gives the reservation back when
//! the decoded picture is dropped. A picture that alone needs more than
//! the whole budget waits until it can run alone (the pixel limit
//! bounds it). A thread that already holds a reservation is never made
//! to wait (it may be running a second file while it waits for work it
//! shared out): that can overshoot by one picture per thread, but can
//! never deadlock.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Default budget: 2 GiB for pictures in flight.
pub const DEFAULT_BUDGET: u64 = 2 << 30;

static LIMIT: AtomicU64 = AtomicU64::new(DEFAULT_BUDGET);
static STATE: Mutex<State> = Mutex::new(State { in_use: 0, peak: 0 });
static FREED: Condvar = Condvar::new();

#[derive(Debug)]
struct State {
    in_use: u64,
    peak: u64,
}

thread_local! {
    static HELD: Cell<u32> = const { Cell::new(0) };
}

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sets the budget in bytes (`--max-memory`); at least 1.
pub fn set_budget(bytes: u64) {
    LIMIT.store(bytes.max(1), Ordering::Relaxed);
}

/// The budget in bytes.
pub fn budget() -> u64 {
    LIMIT.load(Ordering::Relaxed)
}

/// Bytes reserved now, and the most reserved at any one time so far.
pub fn usage() -> (u64, u64) {
    let s = state();
    (s.in_use, s.peak)
}

/// Bytes a still picture of `pixels` pixels at `bytes_per_pixel` costs
/// while it is decoded and hashed: the decoded buffer, about as much
/// again in converted copies (grey, crops), and the hashes' working
/// buffers (measured: 14.5 bytes a pixel for an 8-bit RGB photo).
pub fn picture_cost(pixels: u64, bytes_per_pixel: u64) -> u64 {
    pixels
        .saturating_mul(2 * bytes_per_pixel + 8)
        .saturating_add(16 << 20)
}

/// Reserves `bytes`, waiting while the budget is taken (see the module
/// documentation). Given back when the reservation is dropped, on the
/// thread that made it (it cannot be sent to another thread).
pub fn reserve(bytes: u64) -> Reservation {
    let mut s = state();
    if HELD.get() == 0 {
        let limit = budget();
        while s.in_use > 0 && s.in_use.saturating_add(bytes) > limit {
            s = FREED.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }
    s.in_use = s.in_use.saturating_add(bytes);
    s.peak = s.peak.max(s.in_use);
    HELD.set(HELD.get() + 1);
    Reservation {
        bytes,
        _same_thread: PhantomData,
    }
}

/// Memory taken from the budget; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    bytes: u64,
    /// Shared by reference across threads, never sent: dropped on the
    /// thread whose count it is in.
    _same_thread: PhantomData<MutexGuard<'static, ()>>,
}

impl Reservation {
    /// Bytes reserved.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        HELD.set(HELD.get().saturating_sub(1));
        let mut s = state();
        s.in_use = s.in_use.saturating_sub(self.bytes);
        drop(s);
        FREED.notify_all();
    }
}

// The budget is process-wide, and the library's other tests decode
// pictures (and so reserve from it) while they run: its test lives in
// `tests/budget.rs`, a process of its own.
