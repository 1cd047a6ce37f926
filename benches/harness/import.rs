//! Registry import: the generated registry through `registry_import::import` (the path of
//! `cpe-ledger import holders` and the admin API), first into the harness's empty database
//! (this is how every other scenario gets its data), then again (it must change nothing).
//! The baseline: the same professionals, holdings and cycles written through the database's
//! own bulk path into a fresh database with the same schema and indexes, `COPY … FROM STDIN`
//! on PostgreSQL; on SQLite the faster of one prepared `INSERT` per row and multi-row
//! `INSERT`s, each in one transaction.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{DateTime, Months, Utc};
use cpe_ledger::config::{Config, Settings};
use cpe_ledger::services::registry_import;
use cpe_ledger::startup;
use entity::{cycles, holdings, professionals};
use sea_orm::sqlx;
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter};

use crate::data::{CYCLE_MONTHS, Record, SCHEMES, peak_rss_mib, reset_peak_rss};
use crate::databases::{create_database, drop_database};
use crate::served::Served;
use crate::table::Row;
use uuid::Uuid;

/// Imports the registry into the served database; the row of that first run.
pub async fn first(served: &Served, records: &[Record], csv: &str) -> anyhow::Result<Row> {
    reset_peak_rss();
    let started = Instant::now();
    let state = &served.state;
    let report = registry_import::import(
        &state.db,
        &state.schemes,
        csv.as_bytes(),
        "bench.csv",
        &mut (),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.rejected.is_empty() && report.inserted == records.len(),
        "the import inserted {} of {} rows and rejected {}",
        report.inserted,
        records.len(),
        report.rejected.len()
    );
    Ok(
        Row::new("import", served.backend, "registry import (first run)")
            .throughput(records.len() as f64 / seconds, "rows/s")
            .memory(peak_rss_mib(None))
            .note(format!("{} rows in {seconds:.2} s", records.len())),
    )
}

/// The second run and the baselines; `first` gets its ratio.
pub async fn rest(
    served: &Served,
    records: &[Record],
    csv: &str,
    first: Row,
) -> anyhow::Result<Vec<Row>> {
    let backend = served.backend;
    let state = &served.state;
    reset_peak_rss();
    let started = Instant::now();
    let report = registry_import::import(
        &state.db,
        &state.schemes,
        csv.as_bytes(),
        "bench.csv",
        &mut (),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let second = Row::new("import", backend, "registry import (again, unchanged)")
        .throughput(records.len() as f64 / seconds, "rows/s")
        .memory(peak_rss_mib(None))
        .errors(report.inserted + report.updated)
        .note(format!("{} unchanged in {seconds:.2} s", report.unchanged));

    let bulk_paths: &[&str] = match backend {
        "postgres" => &["copy"],
        _ => &["prepared", "multi-row"],
    };
    let mut baselines = Vec::new();
    for path in bulk_paths {
        let bound_dir = tempfile::tempdir()?;
        let (bound_app, bound_url) = fresh_app(backend, bound_dir.path()).await?;
        let mut versions = Vec::new();
        for scheme in SCHEMES {
            let version = entity::scheme_versions::Entity::find()
                .filter(entity::scheme_versions::Column::SchemeId.eq(scheme))
                .one(&bound_app.db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no {scheme} version recorded"))?;
            versions.push((scheme.to_owned(), version.id));
        }
        let tables = tables(records, &versions)?;
        reset_peak_rss();
        let started = Instant::now();
        let how = match (backend, *path) {
            ("postgres", _) => copy_postgres(&bound_app.db, &tables).await?,
            (_, "prepared") => insert_sqlite(&bound_app.db, &tables).await?,
            _ => insert_multi_row(&bound_app.db, &tables, 32_766).await?,
        };
        let seconds = started.elapsed().as_secs_f64();
        baselines.push(
            Row::new("import", backend, format!("baseline: {how}"))
                .throughput(records.len() as f64 / seconds, "rows/s")
                .memory(peak_rss_mib(None))
                .note(format!("3 tables, same schema and indexes, {seconds:.2} s")),
        );
        bound_app.db.close().await?;
        if let Some(url) = bound_url {
            drop_database(&url).await?;
        }
    }
    if backend == "postgres"
        && let Some(b) = baselines.last_mut()
    {
        b.note = format!("{}; {}", b.note, postgres_settings().await?);
    }
    let best = baselines
        .iter()
        .max_by(|a, b| a.throughput.total_cmp(&b.throughput))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no baseline ran"))?;
    let mut rows = baselines;
    rows.push(first.against(&best));
    rows.push(second.against(&best));
    Ok(rows)
}

/// The rows the import writes for `records`, ready for the bound to write directly.
struct Tables {
    professionals: Vec<professionals::Model>,
    holdings: Vec<holdings::Model>,
    cycles: Vec<cycles::Model>,
}

fn tables(records: &[Record], versions: &[(String, Uuid)]) -> anyhow::Result<Tables> {
    let now = Utc::now();
    let mut people = Vec::new();
    let mut person_ids = std::collections::HashMap::new();
    let mut holds = Vec::with_capacity(records.len());
    let mut cycs = Vec::with_capacity(records.len());
    for r in records {
        let p = r.person;
        let professional_id = *person_ids.entry(p).or_insert_with(|| {
            let id = Uuid::now_v7();
            people.push(professionals::Model {
                id,
                email: Some(format!("person{p}@example.jp")),
                legal_name: format!("山田 太郎{p}"),
                legal_name_kana: Some("ヤマダ タロウ".to_owned()),
                display_name: Some(format!("Taro {p}")),
                locale: "ja".to_owned(),
                time_zone: "Asia/Tokyo".to_owned(),
                created_at: now,
                updated_at: now,
            });
            id
        });
        let holding_id = Uuid::now_v7();
        holds.push(holdings::Model {
            id: holding_id,
            professional_id,
            scheme_id: r.scheme.to_owned(),
            registration_number: r.registration_number.clone(),
            certified_on: r.certified_on,
            status: holdings::HoldingStatus::Active,
            created_at: now,
            updated_at: now,
        });
        let version = versions
            .iter()
            .find(|(scheme, _)| scheme == r.scheme)
            .map(|(_, id)| *id)
            .ok_or_else(|| anyhow::anyhow!("no version of {} recorded", r.scheme))?;
        cycs.push(cycles::Model {
            id: Uuid::now_v7(),
            holding_id,
            scheme_version_id: version,
            starts_on: r.cycle_start,
            ends_on: r.cycle_start + Months::new(CYCLE_MONTHS),
            outcome: None,
            created_at: now,
        });
    }
    Ok(Tables {
        professionals: people,
        holdings: holds,
        cycles: cycs,
    })
}

/// A fresh database of `backend` (migrated, schemes loaded), and its URL when it is a server's.
async fn fresh_app(
    backend: &str,
    dir: &std::path::Path,
) -> anyhow::Result<(cpe_ledger::app::App, Option<String>)> {
    let url = match backend {
        "sqlite" => None,
        "postgres" => {
            Some(create_database("postgres://postgres@127.0.0.1:5432", "postgres").await?)
        }
        other => anyhow::bail!("unknown backend {other}"),
    };
    let config = Config::from_settings(&Settings {
        database_url: url.clone(),
        data_dir: Some(dir.display().to_string()),
        ..Default::default()
    })?;
    Ok((startup::prepare(config).await?, url))
}

/// PostgreSQL's `COPY … FROM STDIN` in text format, one per table, in one transaction.
async fn copy_postgres(
    db: &sea_orm::DatabaseConnection,
    tables: &Tables,
) -> anyhow::Result<&'static str> {
    fn ts(t: &DateTime<Utc>) -> String {
        t.format("%Y-%m-%d %H:%M:%S%.f+00").to_string()
    }
    fn opt(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("\\N")
    }
    let pool = db.get_postgres_connection_pool();
    let mut people = String::new();
    for p in &tables.professionals {
        let _ = writeln!(
            people,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            p.id,
            opt(&p.email),
            p.legal_name,
            opt(&p.legal_name_kana),
            opt(&p.display_name),
            p.locale,
            p.time_zone,
            ts(&p.created_at),
            ts(&p.updated_at)
        );
    }
    let mut holds = String::new();
    for h in &tables.holdings {
        let _ = writeln!(
            holds,
            "{}\t{}\t{}\t{}\t{}\tactive\t{}\t{}",
            h.id,
            h.professional_id,
            h.scheme_id,
            h.registration_number,
            h.certified_on,
            ts(&h.created_at),
            ts(&h.updated_at)
        );
    }
    let mut cycs = String::new();
    for c in &tables.cycles {
        let _ = writeln!(
            cycs,
            "{}\t{}\t{}\t{}\t{}\t\\N\t{}",
            c.id,
            c.holding_id,
            c.scheme_version_id,
            c.starts_on,
            c.ends_on,
            ts(&c.created_at)
        );
    }
    let mut txn = pool.begin().await?;
    for (statement, data) in [
        (
            "COPY professionals (id, email, legal_name, legal_name_kana, display_name, locale, time_zone, created_at, updated_at) FROM STDIN",
            people,
        ),
        (
            "COPY holdings (id, professional_id, scheme_id, registration_number, certified_on, status, created_at, updated_at) FROM STDIN",
            holds,
        ),
        (
            "COPY cycles (id, holding_id, scheme_version_id, starts_on, ends_on, outcome, created_at) FROM STDIN",
            cycs,
        ),
    ] {
        let mut copy = txn.copy_in_raw(statement).await?;
        copy.send(data.into_bytes()).await?;
        copy.finish().await?;
    }
    txn.commit().await?;
    Ok("COPY FROM STDIN")
}

/// Multi-row `INSERT`s of as many rows as `parameters` bound values allow, in one transaction.
async fn insert_multi_row(
    db: &sea_orm::DatabaseConnection,
    tables: &Tables,
    parameters: usize,
) -> anyhow::Result<&'static str> {
    use sea_orm::TransactionTrait as _;
    let txn = db.begin().await?;
    insert_chunks(&txn, &tables.professionals, parameters / 9).await?;
    insert_chunks(&txn, &tables.holdings, parameters / 8).await?;
    insert_chunks(&txn, &tables.cycles, parameters / 7).await?;
    txn.commit().await?;
    Ok("multi-row INSERT, one transaction")
}

/// One multi-row `INSERT` of `rows` models at a time.
async fn insert_chunks<M>(
    txn: &sea_orm::DatabaseTransaction,
    models: &[M],
    rows: usize,
) -> anyhow::Result<()>
where
    M: sea_orm::ModelTrait
        + sea_orm::IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>
        + Clone,
    <M::Entity as EntityTrait>::ActiveModel: sea_orm::ActiveModelTrait<Entity = M::Entity>,
{
    for chunk in models.chunks(rows.max(1)) {
        M::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(sea_orm::IntoActiveModel::into_active_model),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// SQLite: one prepared `INSERT` per table, run once per row, in one transaction.
async fn insert_sqlite(
    db: &sea_orm::DatabaseConnection,
    tables: &Tables,
) -> anyhow::Result<&'static str> {
    let pool = db.get_sqlite_connection_pool();
    let mut txn = pool.begin().await?;
    for p in &tables.professionals {
        sqlx::query("INSERT INTO professionals (id, email, legal_name, legal_name_kana, display_name, locale, time_zone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(p.id)
            .bind(&p.email)
            .bind(&p.legal_name)
            .bind(&p.legal_name_kana)
            .bind(&p.display_name)
            .bind(&p.locale)
            .bind(&p.time_zone)
            .bind(p.created_at)
            .bind(p.updated_at)
            .execute(&mut *txn)
            .await?;
    }
    for h in &tables.holdings {
        sqlx::query("INSERT INTO holdings (id, professional_id, scheme_id, registration_number, certified_on, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?)")
            .bind(h.id)
            .bind(h.professional_id)
            .bind(&h.scheme_id)
            .bind(&h.registration_number)
            .bind(h.certified_on)
            .bind(h.created_at)
            .bind(h.updated_at)
            .execute(&mut *txn)
            .await?;
    }
    for c in &tables.cycles {
        sqlx::query("INSERT INTO cycles (id, holding_id, scheme_version_id, starts_on, ends_on, outcome, created_at) VALUES (?, ?, ?, ?, ?, NULL, ?)")
            .bind(c.id)
            .bind(c.holding_id)
            .bind(c.scheme_version_id)
            .bind(c.starts_on)
            .bind(c.ends_on)
            .bind(c.created_at)
            .execute(&mut *txn)
            .await?;
    }
    txn.commit().await?;
    Ok("prepared INSERT, one transaction")
}

/// The settings a PostgreSQL figure depends on, printed beside it.
async fn postgres_settings() -> anyhow::Result<String> {
    let db = Database::connect("postgres://postgres@127.0.0.1:5432/postgres").await?;
    let mut out = Vec::new();
    for name in [
        "server_version",
        "synchronous_commit",
        "fsync",
        "shared_buffers",
        "max_wal_size",
    ] {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SHOW {name}"),
            ))
            .await?;
        let value: String = row
            .map(|r| r.try_get_by_index(0))
            .transpose()?
            .unwrap_or_default();
        out.push(format!("{name}={value}"));
    }
    db.close().await?;
    Ok(out.join(" "))
}
