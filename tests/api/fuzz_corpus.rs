//! The fuzz targets' seed corpus and every crash input once fixed (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`), fed to the same entry points as the targets, so that what
//! the fuzzer once broke stays fixed without running it. Nothing here touches a database.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use cpe_ledger::domain::scheme::SchemeDefinition;
use cpe_ledger::domain::xapi::{parse_statement, parse_statements};
use cpe_ledger::services::attendance::rows::{from_csv, from_json, read_csv};
use cpe_ledger::services::csv_text;
use cpe_ledger::services::registry_import::rows::RowReader;
use cpe_ledger::services::schemes::SchemeCatalog;
use serde_json::Value;

/// Every file of the target's corpus and regressions, with its bytes.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "fuzz/corpus/{target}/ holds no input");
    files
}

/// Feeds every input to `check`, and names each one that panicked.
fn replay(target: &str, check: impl Fn(&[u8])) {
    let panicked: Vec<String> = inputs(target)
        .into_iter()
        .filter(|(_, bytes)| catch_unwind(AssertUnwindSafe(|| check(bytes))).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(panicked.is_empty(), "panicked on: {panicked:?}");
}

#[test]
fn every_seed_and_regression_attendance_upload_is_read_or_refused_without_a_panic() {
    replay("attendance_csv", |bytes| {
        for max_rows in [3, 10_000] {
            if let Ok(upload) = read_csv(bytes, max_rows) {
                assert_eq!(upload.cells.len(), upload.rows.len());
            }
            let _ = from_csv(bytes, max_rows);
        }
        if let Ok(Value::Array(rows)) = serde_json::from_slice(bytes) {
            assert_eq!(from_json(&rows).len(), rows.len());
        }
    });
}

#[test]
fn every_seed_and_regression_xapi_body_is_checked_without_a_panic() {
    replay("xapi_statement", |bytes| {
        if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
            let _ = parse_statements(&value);
            let _ = parse_statement(&value);
        }
    });
}

#[test]
fn every_seed_and_regression_registry_file_is_read_into_rows_and_rejections_without_a_panic() {
    let catalog = SchemeCatalog::load(None).unwrap();
    replay("registry_csv", |bytes| {
        let decoded = csv_text::decode(bytes);
        if let Ok(reader) = RowReader::new(&decoded, &catalog) {
            reader.for_each(drop);
        }
    });
}

#[test]
fn every_seed_and_regression_scheme_file_is_parsed_or_refused_without_a_panic() {
    replay("scheme_definition", |bytes| {
        // The target reads only UTF-8, as a scheme file must be.
        if let Ok(text) = std::str::from_utf8(bytes) {
            let _ = SchemeDefinition::parse(text, "fuzz.toml");
        }
    });
}
