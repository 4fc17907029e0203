//! End-to-end tests of the `firstseen` binary on real photos.

#![allow(clippy::unwrap_used)]

mod archive_check;
mod broken;
mod circulating;
mod concurrency;
mod crash;
mod desk;
mod feature_index;
mod filesystems;
mod manifest;
mod report;
mod util;
mod video;
