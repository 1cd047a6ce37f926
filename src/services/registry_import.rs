//! Importing the certification body's registry of holders.
//!
//! The import is idempotent: a row is keyed by (scheme, registration number); a second run
//! over the same file changes nothing. Rows are checked one by one and a bad row is reported
//! with its line, field and reason, never silently dropped.
//!
//! The file is read as a stream: rows are parsed, checked and written a batch at a time, so
//! memory holds one batch whatever the size of the registry. Each batch is one transaction,
//! written through [`bulk_write`] (few statements for thousands of rows); a failure inside it
//! leaves nothing of that batch, and since the import is idempotent, running it again
//! completes what an interrupted run began.
//!
//! A row whose `cycle_start` is later than the holding's latest cycle records the body's own
//! renewal: the new cycle opens, the one before it is closed as renewed (even one the ledger
//! had closed as lapsed, whose holding is then active again), audit-logged as
//! `cycle.renewed_by_registry` (see [`renewal::record_registry_renewals`]).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use entity::{cycles, holdings, import_runs, professionals};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Set, Value,
};
use uuid::Uuid;

use crate::services::audit::{self, Actor, Event};
use crate::services::bulk_write;
use crate::services::csv_text;
use crate::services::renewal;
use crate::services::schemes::{self, SchemeCatalog};
use crate::services::standing_projection;

/// The pure part of the import: file bytes to rows and rejections, before any is written
/// (public so that the fuzz targets and the corpus replay test can reach it).
pub mod rows;
use rows::RowReader;

/// Valid rows written per transaction, unless the caller says otherwise. Large enough that a
/// batch's statements cost little beside its rows; small enough that on SQLite other writers
/// wait for the lock a second at most.
pub const ROWS_PER_TRANSACTION: usize = 20_000;

const REQUIRED_COLUMNS: [&str; 8] = [
    "scheme",
    "registration_number",
    "email",
    "legal_name",
    "legal_name_kana",
    "display_name",
    "certified_on",
    "cycle_start",
];

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    File(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    /// Line in the file (the header is line 1).
    pub line: u64,
    pub registration_number: String,
    pub field: String,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<Rejection>,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl ImportSummary {
    /// Rows refused; one row may have several rejections, one per problem.
    pub fn rejected_rows(&self) -> usize {
        let mut lines: Vec<u64> = self.rejected.iter().map(|r| r.line).collect();
        lines.dedup();
        lines.len()
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows: {} inserted, {} updated, {} unchanged, {} rejected ({:.1} s)",
            self.rows,
            self.inserted,
            self.updated,
            self.unchanged,
            self.rejected_rows(),
            self.elapsed.as_secs_f64()
        )
    }
}

/// Told how far an import has come, batch by batch; the command line draws a progress bar
/// with it. `()` shows nothing.
pub trait ImportProgress {
    /// The import is about to read this many rows.
    fn start(&mut self, _rows: u64) {}
    /// This many more rows are read, and the valid ones among them written.
    fn advance(&mut self, _rows: u64) {}
    /// The import is done, or stopped.
    fn finish(&mut self) {}
}

impl ImportProgress for () {}

/// One valid registry row.
#[derive(Debug, Clone)]
pub struct HolderRow {
    line: u64,
    scheme: String,
    registration_number: String,
    email: Option<String>,
    legal_name: String,
    legal_name_kana: Option<String>,
    display_name: Option<String>,
    certified_on: NaiveDate,
    cycle_start: NaiveDate,
    cycle_end: NaiveDate,
    scheme_version: String,
    locale: String,
    time_zone: String,
}

/// Imports a registry CSV (UTF-8 or Shift_JIS).
pub async fn import(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    bytes: &[u8],
    file_name: &str,
    progress: &mut dyn ImportProgress,
) -> Result<ImportSummary, ImportError> {
    import_in_batches(
        db,
        catalog,
        bytes,
        file_name,
        progress,
        ROWS_PER_TRANSACTION,
    )
    .await
}

/// [`import`], writing at most `rows_per_transaction` valid rows in each transaction.
pub async fn import_in_batches(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    bytes: &[u8],
    file_name: &str,
    progress: &mut dyn ImportProgress,
    rows_per_transaction: usize,
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let started_at = Utc::now();
    let decoded = csv_text::decode(bytes);
    let mut reader = RowReader::new(&decoded, catalog)?;
    progress.start(reader.records_in_file());

    let rows_per_transaction = rows_per_transaction.max(1);
    let mut version_ids: HashMap<(String, String), Uuid> = HashMap::new();
    let mut summary = ImportSummary::default();
    let mut rejected = Vec::new();
    let mut batch = Vec::with_capacity(rows_per_transaction.min(100_000));
    loop {
        batch.clear();
        let mut read = 0;
        for item in reader.by_ref() {
            read += 1;
            match item {
                Ok(row) => {
                    batch.push(row);
                    if batch.len() == rows_per_transaction {
                        break;
                    }
                }
                Err(rejections) => rejected.extend(rejections),
            }
        }
        if batch.is_empty() {
            progress.advance(read);
            break;
        }
        for row in &batch {
            let key = (row.scheme.clone(), row.scheme_version.clone());
            if let Entry::Vacant(slot) = version_ids.entry(key) {
                let id = schemes::version_row_id(db, &row.scheme, &row.scheme_version)
                    .await?
                    .ok_or_else(|| {
                        ImportError::File(format!(
                            "scheme {} version {} is not recorded; run `cpe-ledger migrate` or `serve` once",
                            row.scheme, row.scheme_version
                        ))
                    })?;
                slot.insert(id);
            }
        }
        let txn = super::begin_write(db).await?;
        let outcome = write_batch(&txn, &batch, &version_ids).await?;
        // The batch's new and changed holders are judged afresh, in bulk, before it commits.
        standing_projection::refresh(&txn, catalog, &outcome.touched).await?;
        txn.commit().await?;
        summary.inserted += outcome.inserted;
        summary.updated += outcome.updated;
        summary.unchanged += outcome.unchanged;
        rejected.extend(outcome.rejected);
        progress.advance(read);
    }
    progress.finish();
    if summary.inserted > 0 {
        refresh_statistics(db).await?;
    }
    rejected.sort_by_key(|r| r.line);
    summary.rows = reader.total;
    summary.rejected = rejected;
    summary.elapsed = started.elapsed();

    let report =
        serde_json::to_value(&summary.rejected).map_err(|e| DbErr::Custom(e.to_string()))?;
    import_runs::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set("holders".to_owned()),
        file_name: Set(file_name.chars().take(254).collect()),
        started_at: Set(started_at),
        finished_at: Set(Some(Utc::now())),
        rows_total: Set(count(summary.rows)),
        rows_inserted: Set(count(summary.inserted)),
        rows_updated: Set(count(summary.updated)),
        rows_unchanged: Set(count(summary.unchanged)),
        rows_rejected: Set(count(summary.rejected_rows())),
        report: Set(Some(report)),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        &Actor::cli("import"),
        Event {
            action: "holders.imported",
            subject_kind: "import",
            subject_id: Some(file_name.chars().take(128).collect()),
            before: None,
            after: Some(serde_json::json!({
                "rows": summary.rows, "inserted": summary.inserted, "updated": summary.updated,
                "unchanged": summary.unchanged, "rejected": summary.rejected_rows(),
            })),
        },
    )
    .await?;
    Ok(summary)
}

/// A registry loaded into empty tables outgrows their statistics long before autovacuum
/// notices, and PostgreSQL would plan the next reads of them as scans of tiny tables. One
/// `ANALYZE` at the end refreshes them; the import's own lookups do not depend on them (see
/// [`bulk_write::find_by_keys`]).
async fn refresh_statistics(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE professionals, holdings, cycles, standing_projection")
            .await?;
    }
    Ok(())
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[derive(Default)]
struct BatchOutcome {
    inserted: usize,
    updated: usize,
    unchanged: usize,
    rejected: Vec<Rejection>,
    /// The professionals whose holdings, cycles or details the batch wrote.
    touched: Vec<Uuid>,
}

async fn write_batch(
    db: &impl ConnectionTrait,
    batch: &[HolderRow],
    version_ids: &HashMap<(String, String), Uuid>,
) -> Result<BatchOutcome, DbErr> {
    let mut outcome = BatchOutcome::default();

    // What the database already holds of these rows: a few statements for the whole batch.
    let keys = batch
        .iter()
        .map(|r| {
            vec![
                Value::from(r.scheme.clone()),
                Value::from(r.registration_number.clone()),
            ]
        })
        .collect();
    let existing_holdings: HashMap<(String, String), holdings::Model> =
        bulk_write::find_by_keys::<holdings::Entity>(
            db,
            &[
                holdings::Column::SchemeId,
                holdings::Column::RegistrationNumber,
            ],
            keys,
        )
        .await?
        .into_iter()
        .map(|h| ((h.scheme_id.clone(), h.registration_number.clone()), h))
        .collect();

    let owners: HashSet<Uuid> = existing_holdings
        .values()
        .map(|h| h.professional_id)
        .collect();
    let person_keys = owners.into_iter().map(|id| vec![Value::from(id)]).collect();
    let mut emails: Vec<&str> = batch.iter().filter_map(|r| r.email.as_deref()).collect();
    emails.sort_unstable();
    emails.dedup();
    let email_keys = emails.iter().map(|e| vec![Value::from(*e)]).collect();
    let mut people: HashMap<Uuid, professionals::Model> = HashMap::new();
    for (column, keys) in [
        (professionals::Column::Id, person_keys),
        (professionals::Column::Email, email_keys),
    ] {
        for p in bulk_write::find_by_keys::<professionals::Entity>(db, &[column], keys).await? {
            people.insert(p.id, p);
        }
    }
    let mut by_email: HashMap<String, Uuid> = people
        .values()
        .filter_map(|p| p.email.clone().map(|e| (e, p.id)))
        .collect();

    let holding_keys = existing_holdings
        .values()
        .map(|h| vec![Value::from(h.id)])
        .collect();
    let mut existing_cycles: HashSet<(Uuid, NaiveDate)> = HashSet::new();
    // Each holding's latest cycle: a row starting a later one closes it as renewed.
    let mut latest_cycles: HashMap<Uuid, cycles::Model> = HashMap::new();
    for c in
        bulk_write::find_by_keys::<cycles::Entity>(db, &[cycles::Column::HoldingId], holding_keys)
            .await?
    {
        existing_cycles.insert((c.holding_id, c.starts_on));
        if latest_cycles
            .get(&c.holding_id)
            .is_none_or(|known| known.starts_on < c.starts_on)
        {
            latest_cycles.insert(c.holding_id, c);
        }
    }
    let mut registry_renewals = Vec::new();

    let now = Utc::now();
    let mut new_people = Vec::new();
    let mut new_holdings = Vec::new();
    let mut new_cycles = Vec::new();

    for row in batch {
        let version_id = version_ids[&(row.scheme.clone(), row.scheme_version.clone())];
        let key = (row.scheme.clone(), row.registration_number.clone());
        match existing_holdings.get(&key) {
            Some(holding) => {
                let mut changed = false;
                if let Some(email) = &row.email
                    && let Some(owner) = by_email.get(email)
                    && *owner != holding.professional_id
                {
                    outcome.rejected.push(Rejection {
                        line: row.line,
                        registration_number: row.registration_number.clone(),
                        field: "email".to_owned(),
                        message: "belongs to another professional in the registry".to_owned(),
                    });
                    continue;
                }
                if let Some(person) = people.get(&holding.professional_id)
                    && person_differs(person, row)
                {
                    let mut active: professionals::ActiveModel = person.clone().into();
                    active.email = Set(row.email.clone().or(person.email.clone()));
                    active.legal_name = Set(row.legal_name.clone());
                    active.legal_name_kana = Set(row.legal_name_kana.clone());
                    active.display_name = Set(row.display_name.clone());
                    active.locale = Set(row.locale.clone());
                    active.time_zone = Set(row.time_zone.clone());
                    active.updated_at = Set(now);
                    let updated = active.update(db).await?;
                    if let Some(email) = &updated.email {
                        by_email.insert(email.clone(), updated.id);
                    }
                    people.insert(updated.id, updated);
                    changed = true;
                }
                if holding.certified_on != row.certified_on {
                    let mut active: holdings::ActiveModel = holding.clone().into();
                    active.certified_on = Set(row.certified_on);
                    active.updated_at = Set(now);
                    active.update(db).await?;
                    changed = true;
                }
                if !existing_cycles.contains(&(holding.id, row.cycle_start)) {
                    if let Some(latest) = latest_cycles.get(&holding.id)
                        && latest.starts_on < row.cycle_start
                        && latest.outcome != Some(cycles::CycleOutcome::Renewed)
                    {
                        registry_renewals.push(renewal::RegistryRenewal {
                            holding: holding.clone(),
                            closed: latest.clone(),
                            next_starts_on: row.cycle_start,
                            next_ends_on: row.cycle_end,
                            next_version: row.scheme_version.clone(),
                        });
                    }
                    new_cycles.push(new_cycle(holding.id, row, version_id, now));
                    changed = true;
                }
                if changed {
                    outcome.touched.push(holding.professional_id);
                    outcome.updated += 1;
                } else {
                    outcome.unchanged += 1;
                }
            }
            None => {
                let professional_id = match row.email.as_ref().and_then(|e| by_email.get(e)) {
                    Some(id) => *id,
                    None => {
                        let id = Uuid::now_v7();
                        if let Some(email) = &row.email {
                            by_email.insert(email.clone(), id);
                        }
                        new_people.push(professionals::ActiveModel {
                            id: Set(id),
                            email: Set(row.email.clone()),
                            legal_name: Set(row.legal_name.clone()),
                            legal_name_kana: Set(row.legal_name_kana.clone()),
                            display_name: Set(row.display_name.clone()),
                            locale: Set(row.locale.clone()),
                            time_zone: Set(row.time_zone.clone()),
                            created_at: Set(now),
                            updated_at: Set(now),
                        });
                        id
                    }
                };
                let holding_id = Uuid::now_v7();
                new_holdings.push(holdings::ActiveModel {
                    id: Set(holding_id),
                    professional_id: Set(professional_id),
                    scheme_id: Set(row.scheme.clone()),
                    registration_number: Set(row.registration_number.clone()),
                    certified_on: Set(row.certified_on),
                    status: Set(holdings::HoldingStatus::Active),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
                new_cycles.push(new_cycle(holding_id, row, version_id, now));
                outcome.touched.push(professional_id);
                outcome.inserted += 1;
            }
        }
    }

    bulk_write::insert(db, new_people).await?;
    bulk_write::insert(db, new_holdings).await?;
    bulk_write::insert(db, new_cycles).await?;
    renewal::record_registry_renewals(db, &registry_renewals).await?;
    Ok(outcome)
}

fn person_differs(person: &professionals::Model, row: &HolderRow) -> bool {
    (row.email.is_some() && person.email != row.email)
        || person.legal_name != row.legal_name
        || person.legal_name_kana != row.legal_name_kana
        || person.display_name != row.display_name
        || person.locale != row.locale
        || person.time_zone != row.time_zone
}

fn new_cycle(
    holding_id: Uuid,
    row: &HolderRow,
    version_id: Uuid,
    now: chrono::DateTime<Utc>,
) -> cycles::ActiveModel {
    cycles::ActiveModel {
        id: Set(Uuid::now_v7()),
        holding_id: Set(holding_id),
        scheme_version_id: Set(version_id),
        starts_on: Set(row.cycle_start),
        ends_on: Set(row.cycle_end),
        outcome: Set(None),
        created_at: Set(now),
    }
}
