//! The registry import's reading of a file into rows and rejections, before any is written,
//! against the built-in schemes.
#![no_main]

use std::sync::LazyLock;

use cpe_ledger::services::csv_text;
use cpe_ledger::services::registry_import::rows::RowReader;
use cpe_ledger::services::schemes::SchemeCatalog;
use libfuzzer_sys::fuzz_target;

static CATALOG: LazyLock<SchemeCatalog> =
    LazyLock::new(|| SchemeCatalog::load(None).expect("the built-in schemes load"));

fuzz_target!(|data: &[u8]| {
    let decoded = csv_text::decode(data);
    if let Ok(reader) = RowReader::new(&decoded, &CATALOG) {
        reader.for_each(drop);
    }
});
