//! Any bytes as an uploaded contact file: sniffed, read row by row, mapped and judged
//! (`app::imports::fuzz::parse_and_map`). Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = app::imports::fuzz::parse_and_map(data, &std::env::temp_dir());
});
