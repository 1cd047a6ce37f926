//! Attendance uploads: a CSV file of any bytes, and the same bytes as a JSON batch when they
//! parse as one.
#![no_main]

use cpe_ledger::services::attendance::rows::{from_csv, from_json, read_csv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A small limit too, so that the "more rows than allowed" path is reached.
    for max_rows in [3, 10_000] {
        if let Ok(upload) = read_csv(data, max_rows) {
            assert_eq!(upload.cells.len(), upload.rows.len());
        }
        let _ = from_csv(data, max_rows);
    }
    if let Ok(serde_json::Value::Array(rows)) = serde_json::from_slice(data) {
        assert_eq!(from_json(&rows).len(), rows.len());
    }
});
