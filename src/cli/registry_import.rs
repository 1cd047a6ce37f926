//! The terminal side of the registry import: a progress bar while it runs, and the CSV report
//! of the rows it refused.

use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::services::csv_text;
use crate::services::registry_import::{ImportProgress, Rejection};

/// A progress bar on standard error, drawn only when it is a terminal.
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(visible: bool) -> Self {
        if !visible {
            return Self(ProgressBar::hidden());
        }
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
        {
            bar.set_style(style);
        }
        Self(bar)
    }
}

impl ImportProgress for Bar {
    fn start(&mut self, rows: u64) {
        self.0.set_length(rows);
    }

    fn advance(&mut self, rows: u64) {
        self.0.inc(rows);
    }

    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Writes rejected rows as CSV (cells neutralised against spreadsheet formulas).
pub fn write_rejections(path: &Path, rejected: &[Rejection]) -> anyhow::Result<()> {
    let cannot = || format!("cannot write {}", path.display());
    let mut writer = csv::Writer::from_path(path).with_context(cannot)?;
    writer
        .write_record(["line", "registration_number", "field", "message"])
        .with_context(cannot)?;
    for r in rejected {
        let line = r.line.to_string();
        writer
            .write_record([
                line.as_str(),
                &csv_text::neutralise(&r.registration_number),
                &csv_text::neutralise(&r.field),
                &csv_text::neutralise(&r.message),
            ])
            .with_context(cannot)?;
    }
    writer.flush().with_context(cannot)?;
    Ok(())
}
