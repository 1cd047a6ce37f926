//! The harness's one table: a row per measured run, printed as it is measured and written as
//! JSON at the end (`--json PATH`) so that two runs can be compared.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub scenario: String,
    pub database: String,
    /// What ran: the app's route or job, or the baseline.
    pub run: String,
    /// How much per second, in `unit`.
    pub throughput: f64,
    pub unit: String,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Peak resident memory of the process that ran it (the harness, or the child process
    /// named in `note`), in MiB.
    pub peak_rss_mib: f64,
    /// The run's throughput over its baseline's, measured in the same run (1.0: as fast as
    /// the bound); absent on a baseline row.
    pub ratio: Option<f64>,
    /// Answers other than the expected ones (non-2xx, refused rows).
    pub errors: usize,
    pub note: String,
}

impl Row {
    pub fn new(scenario: &str, database: &str, run: impl Into<String>) -> Self {
        Self {
            scenario: scenario.to_owned(),
            database: database.to_owned(),
            run: run.into(),
            throughput: f64::NAN,
            unit: String::new(),
            p50_ms: None,
            p99_ms: None,
            peak_rss_mib: f64::NAN,
            ratio: None,
            errors: 0,
            note: String::new(),
        }
    }

    pub fn throughput(mut self, value: f64, unit: &str) -> Self {
        self.throughput = value;
        self.unit = unit.to_owned();
        self
    }

    pub fn latency(mut self, p50_ms: f64, p99_ms: f64) -> Self {
        self.p50_ms = Some(p50_ms);
        self.p99_ms = Some(p99_ms);
        self
    }

    pub fn memory(mut self, mib: f64) -> Self {
        self.peak_rss_mib = mib;
        self
    }

    /// The ratio to `baseline`: this row's throughput over the baseline's.
    pub fn against(mut self, baseline: &Row) -> Self {
        self.ratio = Some(self.throughput / baseline.throughput);
        self
    }

    pub fn errors(mut self, errors: usize) -> Self {
        self.errors = errors;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

pub fn print_header() {
    println!(
        "{:<11} {:<9} {:<40} {:>14} {:<11} {:>8} {:>8} {:>8} {:>6} {:>6}  note",
        "scenario",
        "database",
        "run",
        "throughput",
        "unit",
        "p50 ms",
        "p99 ms",
        "peak MiB",
        "ratio",
        "errors"
    );
}

pub fn print(row: &Row) {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    println!(
        "{:<11} {:<9} {:<40} {:>14.1} {:<11} {:>8} {:>8} {:>8.0} {:>6} {:>6}  {}",
        row.scenario,
        row.database,
        row.run,
        row.throughput,
        row.unit,
        ms(row.p50_ms),
        ms(row.p99_ms),
        row.peak_rss_mib,
        row.ratio
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
        row.errors,
        row.note
    );
}

/// Latency percentiles of sorted durations, in milliseconds.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
