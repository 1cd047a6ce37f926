//! A scheme definition file: any UTF-8 text as TOML, deserialized and validated.
#![no_main]

use cpe_ledger::domain::scheme::SchemeDefinition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = SchemeDefinition::parse(text, "fuzz.toml");
});
