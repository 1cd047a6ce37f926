//! The body of `POST /xapi/statements` (one statement or an array of them) and of
//! `PUT /xapi/statements?statementId=`, once it is JSON.
#![no_main]

use cpe_ledger::domain::xapi::{parse_statement, parse_statements};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = parse_statements(&value);
    let _ = parse_statement(&value);
});
