//! firstseen: have we seen this image before, where, and when first?
//!
//! Data flows one way: [`decode`] → [`hash`] → [`analyze`] → [`store`] →
//! [`matching`] → [`report`], batches run by [`pipeline`]. The command-line tool is a thin shell
//! over this library.
//!
//! ```no_run
//! use firstseen::{analyze, decode::Limits};
//! let a = analyze::analyze_file("photo.jpg".as_ref(), &Limits::default())?;
//! println!("{} {}", a.fingerprint.sha256, a.fingerprint.pdq.hash);
//! # Ok::<(), firstseen::Error>(())
//! ```

pub mod analyze;
pub mod csvlist;
pub mod decode;
pub mod error;
pub mod hash;
pub mod manifest;
pub mod matching;
pub mod pipeline;
pub mod report;
pub mod shapes;
pub mod sidecar;
pub mod store;
pub mod text;
pub mod time;
pub mod timings;
pub mod walk;

pub use error::{Error, Result};
pub use store::Archive;
