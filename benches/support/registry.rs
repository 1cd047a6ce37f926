//! The synthetic registry the benchmarks share: a fixed mix of schemes, every tenth person
//! holding a second certification under the same email, certification dates spread over
//! 2,000 days and every other holding in its second cycle. Deterministic: the same size
//! gives the same rows.

use std::fmt::Write as _;

use chrono::{Months, NaiveDate};

pub const SCHEMES: [&str; 4] = ["riss", "cissp", "cisa", "giac"];
pub const CYCLE_MONTHS: u32 = 36;

/// One generated registry row.
pub struct Record {
    pub scheme: &'static str,
    pub registration_number: String,
    /// The person's index; every tenth row shares the previous row's person.
    pub person: usize,
    pub certified_on: NaiveDate,
    pub cycle_start: NaiveDate,
}

pub fn records(rows: usize) -> Vec<Record> {
    let base = NaiveDate::from_ymd_opt(2018, 4, 1).unwrap_or_default();
    (0..rows)
        .map(|i| {
            let certified_on = base + chrono::Days::new((i % 2000) as u64);
            Record {
                scheme: SCHEMES[i % SCHEMES.len()],
                registration_number: format!("{i:06}{:02}", i % 97),
                person: if i % 10 == 1 { i - 1 } else { i },
                certified_on,
                cycle_start: certified_on + Months::new(CYCLE_MONTHS * ((i % 3) as u32 % 2)),
            }
        })
        .collect()
}

/// The records as the registry CSV `import holders` reads.
pub fn csv(records: &[Record]) -> String {
    let mut out = String::with_capacity(records.len() * 120);
    out.push_str("scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start\n");
    for r in records {
        let p = r.person;
        let _ = writeln!(
            out,
            "{},{},person{p}@example.jp,山田 太郎{p},ヤマダ タロウ,Taro {p},{},{}",
            r.scheme, r.registration_number, r.certified_on, r.cycle_start
        );
    }
    out
}

/// The process's peak resident memory (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Starts a new peak: what `peak_rss_mib` reports from here is this part's own.
#[allow(dead_code, reason = "not every benchmark measures a part on its own")]
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
