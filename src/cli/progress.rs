//! Progress bar on stderr (indicatif), shown only when stderr is a
//! terminal and the batch has more than a handful of files.

use std::io::IsTerminal;

use firstseen::pipeline::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// An indicatif bar implementing the library's [`Progress`].
pub struct Bar {
    bar: ProgressBar,
    /// The bar of an index build, while one runs.
    indexing: std::sync::Mutex<Option<ProgressBar>>,
}

/// Items below which an index build says nothing (it takes moments).
const QUIET_INDEXING: u64 = 10_000;

impl Bar {
    /// A bar labelled `verb` ("archiving", "checking", …); hidden when
    /// stderr is not a terminal.
    pub fn new(verb: &'static str) -> Bar {
        // Drawn from `start` on, once the batch is known to be long enough
        // to need it: a bar drawn before would stay behind as `0/0`.
        let bar = ProgressBar::hidden();
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} {wide_bar} {pos}/{len} files  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(verb);
        Bar {
            bar,
            indexing: std::sync::Mutex::new(None),
        }
    }

    /// Prints a line above the bar (or plainly when hidden).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.bar.set_length(total);
        if total >= 4 && !super::output::quiet() && std::io::stderr().is_terminal() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
    fn advance(&self) {
        self.bar.inc(1);
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
    fn indexing(&self, done: u64, total: u64) {
        if total < QUIET_INDEXING || super::output::quiet() {
            return;
        }
        let Ok(mut slot) = self.indexing.lock() else {
            return;
        };
        if !std::io::stderr().is_terminal() {
            // A line at the start and one at the end.
            if slot.is_none() {
                eprintln!("firstseen: building the feature index of {total} items");
                *slot = Some(ProgressBar::hidden());
            } else if done >= total {
                eprintln!("firstseen: feature index built");
            }
            return;
        }
        let bar = slot.get_or_insert_with(|| {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "building the feature index {wide_bar} {pos}/{len} items  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        bar.set_position(done);
        if done >= total {
            bar.finish_and_clear();
        }
    }
}
