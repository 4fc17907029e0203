//! Any bytes imported into an empty in-memory catalog: Ok or Err, never a
//! panic, and a failed import leaves the catalog empty.
#![no_main]

use firstseen::store::Catalog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut catalog = Catalog::open_in_memory().expect("in-memory catalog");
    if firstseen::manifest::import(&mut catalog, data, "fuzz.jsonl").is_err() {
        let s = catalog.status().expect("status");
        assert_eq!((s.items, s.sightings, s.imports), (0, 0, 0));
    }
});
