//! Any bytes as a hash list: Ok or Err, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = firstseen::manifest::hashlist::validate(data);
});
