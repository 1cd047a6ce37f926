//! The one synthetic data set every scenario reads, from a fixed seed: the same size gives the
//! same rows.
//!
//! - The registry: four schemes in turn, every tenth person holding a second certification
//!   under the same email, certification dates spread over 2,000 days, every other holding in
//!   its second cycle.
//! - Credit histories: on average `credits / holdings` per holding (uniform between none and
//!   twice that, rounded), most in the current cycle and a fifth in the one before, of the scheme's
//!   usual activity types, 1 to 16 points each; one in thirty voided, one in fifty pending.
//! - One person with a long history: person 0 (RISS and CISSP) has 1,000 credits, the
//!   dashboard scenario's holder.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{Days, Months, NaiveDate, Utc};
use cpe_ledger::services::bulk_write;
use entity::credits::{CreditSource, CreditState};
use entity::{credit_claims, credits, professionals};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{DatabaseConnection, EntityTrait, QuerySelect, Set, TransactionTrait};
use uuid::Uuid;

pub const SCHEMES: [&str; 4] = ["riss", "cissp", "cisa", "giac"];
pub const CYCLE_MONTHS: u32 = 36;
/// Every random choice of the generator starts here.
pub const SEED: u64 = 20_261_201;
/// The day the data set is judged on: no generated credit completes after it.
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default()
}
/// The dashboard scenario's holder: person 0's CISSP holding (registry row 1).
pub const LONG_HISTORY_ROW: usize = 1;
pub const LONG_HISTORY_CREDITS: usize = 1_000;

/// How much data a run generates.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub professionals: usize,
    pub credits: usize,
}

impl Size {
    /// `small` (the default: a few minutes end to end) or `1m`.
    pub fn named(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "small" => Self {
                professionals: 10_000,
                credits: 60_000,
            },
            "1m" => Self {
                professionals: 1_000_000,
                credits: 5_000_000,
            },
            other => anyhow::bail!("unknown size {other} (small, 1m)"),
        })
    }

    /// Registry rows: every tenth row is a second holding of the person before.
    pub fn holdings(&self) -> usize {
        (self.professionals * 10).div_ceil(9)
    }
}

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
            let certified_on = base + Days::new((i % 2000) as u64);
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
            "{},{},{},山田 太郎{p},ヤマダ タロウ,Taro {p},{},{}",
            r.scheme,
            r.registration_number,
            email(p),
            r.certified_on,
            r.cycle_start
        );
    }
    out
}

pub fn email(person: usize) -> String {
    format!("person{person}@example.jp")
}

/// The claim a credit makes in each scheme: (activity type, category); RISS courses make
/// none (they fill course slots).
pub fn claim_for(scheme: &str) -> (&'static str, Option<&'static str>) {
    match scheme {
        "cissp" => ("education", Some("group_a")),
        "cisa" => ("training", Some("cpe")),
        "giac" => ("other_infosec_training", Some("cpe")),
        _ => ("ipa_online_course", None),
    }
}

/// Each generated person's professional id, by the email the registry gave them.
pub async fn person_ids(db: &DatabaseConnection) -> anyhow::Result<HashMap<usize, Uuid>> {
    let rows: Vec<(Uuid, Option<String>)> = professionals::Entity::find()
        .select_only()
        .column(professionals::Column::Id)
        .column(professionals::Column::Email)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, email)| {
            let index = email?
                .strip_prefix("person")?
                .strip_suffix("@example.jp")?
                .parse()
                .ok()?;
            Some((index, id))
        })
        .collect())
}

/// Writes the credit histories of `records` (already imported) through the bulk-write path,
/// 10,000 credits a transaction; answers how many credits it wrote.
pub async fn write_histories(
    db: &DatabaseConnection,
    records: &[Record],
    credits_in_all: usize,
) -> anyhow::Result<usize> {
    let ids = person_ids(db).await?;
    let mut rng = StdRng::seed_from_u64(SEED);
    let mean =
        credits_in_all.saturating_sub(LONG_HISTORY_CREDITS) as f64 / records.len().max(1) as f64;
    let today = as_of();
    let now = Utc::now();
    let mut credit_rows = Vec::new();
    let mut claim_rows = Vec::new();
    let mut written = 0;
    for (index, r) in records.iter().enumerate() {
        let professional_id = *ids
            .get(&r.person)
            .ok_or_else(|| anyhow::anyhow!("person {} was not imported", r.person))?;
        let count = if index == LONG_HISTORY_ROW {
            LONG_HISTORY_CREDITS
        } else {
            (rng.random::<f64>() * 2.0 * mean).round() as usize
        };
        let (activity_type, category) = claim_for(r.scheme);
        for _ in 0..count {
            let earlier = rng.random_ratio(1, 5);
            let day = if earlier {
                r.cycle_start
                    .checked_sub_days(Days::new(rng.random_range(1..=365)))
                    .unwrap_or(r.cycle_start)
            } else {
                r.cycle_start + Days::new(rng.random_range(0..1_090))
            };
            let completed_on = day.min(today);
            let state = match rng.random_range(0..150) {
                0..5 => CreditState::Voided,
                5..8 => CreditState::Pending,
                _ => CreditState::Approved,
            };
            let id = Uuid::now_v7();
            credit_rows.push(credits::ActiveModel {
                id: Set(id),
                professional_id: Set(professional_id),
                course_id: Set(None),
                provider_id: Set(None),
                provider_reference: Set(None),
                activity_type: Set(activity_type.to_owned()),
                title: Set("Incident response".to_owned()),
                completed_on: Set(completed_on),
                hours: Set(rng.random_range(1..=16)),
                source: Set(CreditSource::Admin),
                completed_at: Set(None),
                reported_points: Set(None),
                voided_at: Set((state == CreditState::Voided).then_some(now)),
                void_reason: Set((state == CreditState::Voided).then(|| "duplicate".to_owned())),
                state: Set(state),
                evidence: Set(None),
                replaces_credit_id: Set(None),
                recorded_by: Set(Some("bench".to_owned())),
                created_at: Set(now),
            });
            if let Some(category) = category {
                claim_rows.push(credit_claims::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    credit_id: Set(id),
                    scheme_id: Set(r.scheme.to_owned()),
                    activity_type: Set(activity_type.to_owned()),
                    category: Set(category.to_owned()),
                    points: Set(100 * rng.random_range(1..=16)),
                });
            }
        }
        if credit_rows.len() >= 10_000 || index + 1 == records.len() {
            written += credit_rows.len();
            let txn = db.begin().await?;
            bulk_write::insert(&txn, std::mem::take(&mut credit_rows)).await?;
            bulk_write::insert(&txn, std::mem::take(&mut claim_rows)).await?;
            txn.commit().await?;
        }
    }
    Ok(written)
}

/// The process's peak resident memory (VmHWM), in MiB: of this process, or of `pid`.
pub fn peak_rss_mib(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(
        || "/proc/self/status".to_owned(),
        |pid| format!("/proc/{pid}/status"),
    );
    proc_kib(&path, "VmHWM:").map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The resident memory (VmRSS) of `pid` now, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    proc_kib(&format!("/proc/{pid}/status"), "VmRSS:").map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A `Field:  N kB` line of a `/proc` file, in KiB.
pub fn proc_kib(path: &str, field: &str) -> Option<f64> {
    std::fs::read_to_string(path).ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
    })
}

/// Starts a new peak: what `peak_rss_mib(None)` reports from here is this part's own.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
