//! Any bytes as a manifest: the reader must return Ok or Err, never
//! panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = firstseen::manifest::validate(data);
});
