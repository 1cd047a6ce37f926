//! Registry import benchmark: `cargo bench --bench import_holders -- --rows 100000 --backend all`.
//!
//! Generates a synthetic registry (UTF-8 CSV, several schemes, shared emails for people with
//! two certifications), imports it twice (the second run must change nothing), and compares
//! the first run with the bound: the same professionals, holdings and cycles written through
//! the database's own bulk path into a fresh database with the same schema and indexes:
//! - PostgreSQL: `COPY … FROM STDIN`, one per table;
//! - MariaDB/MySQL: multi-row `INSERT`s as large as a statement may be, in one transaction;
//! - SQLite: one prepared `INSERT` per table executed row by row, and multi-row `INSERT`s, each
//!   in one transaction; the faster of the two is the bound.
//!
//! Prints a table (seconds, rows/s, ratio = bound time / import time, so 1.0 means the import
//! runs at the database's own bulk speed) and the peak resident memory; asserts nothing about
//! time.
//!
//! Options: `--rows N` (default 100000), `--backend sqlite|postgres|mysql|all` (default
//! sqlite), `--csv-out PATH` (also write the generated file, e.g. to time the CLI on it).

mod support {
    pub mod args;
    pub mod databases;
    pub mod registry;
}

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{DateTime, Months, Utc};
use cpe_ledger::config::{Config, Settings};
use cpe_ledger::services::registry_import;
use cpe_ledger::startup;
use entity::{cycles, holdings, professionals};
use sea_orm::sqlx;
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter};
use support::databases::{create_database, drop_database};
use support::registry::{CYCLE_MONTHS, Record, SCHEMES, csv, peak_rss_mib, records};
use uuid::Uuid;

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

struct Row {
    label: String,
    seconds: f64,
    rows: usize,
    note: String,
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
        "mysql" => Some(create_database("mysql://root@127.0.0.1:3306", "").await?),
        other => anyhow::bail!("unknown backend {other}"),
    };
    let config = Config::from_settings(&Settings {
        database_url: url.clone(),
        data_dir: Some(dir.display().to_string()),
        ..Default::default()
    })?;
    Ok((startup::prepare(config).await?, url))
}

async fn run_backend(backend: &str, records: &[Record], csv: &str) -> anyhow::Result<Vec<Row>> {
    let rows = records.len();
    let dir = tempfile::tempdir()?;
    let (app, url) = fresh_app(backend, dir.path()).await?;
    let mut out = Vec::new();

    let started = Instant::now();
    let first =
        registry_import::import(&app.db, &app.schemes, csv.as_bytes(), "bench.csv", &mut ())
            .await?;
    out.push(Row {
        label: format!("{backend}: import (first run)"),
        seconds: started.elapsed().as_secs_f64(),
        rows,
        note: format!(
            "{} inserted, {} rejected; peak memory {:.0} MiB",
            first.inserted,
            first.rejected.len(),
            peak_rss_mib()
        ),
    });

    let started = Instant::now();
    let second =
        registry_import::import(&app.db, &app.schemes, csv.as_bytes(), "bench.csv", &mut ())
            .await?;
    out.push(Row {
        label: format!("{backend}: import (second run)"),
        seconds: started.elapsed().as_secs_f64(),
        rows,
        note: format!(
            "{} inserted, {} updated, {} unchanged",
            second.inserted, second.updated, second.unchanged
        ),
    });

    app.db.close().await?;
    if let Some(url) = url {
        drop_database(&url).await?;
    }

    // The bound: the same rows through the database's own bulk paths, each into a fresh
    // database; the fastest is the bound. (On SQLite a statement executed row by row pays a
    // round trip to the driver's thread per row, so multi-row statements can beat it.)
    let bulk_paths: &[&str] = match backend {
        "postgres" => &["copy"],
        "mysql" => &["multi-row"],
        _ => &["prepared", "multi-row"],
    };
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
        let started = Instant::now();
        let how = match (backend, *path) {
            ("postgres", _) => copy_postgres(&bound_app.db, &tables).await?,
            ("mysql", _) => insert_multi_row(&bound_app.db, &tables, 65_535).await?,
            (_, "prepared") => insert_sqlite(&bound_app.db, &tables).await?,
            _ => insert_multi_row(&bound_app.db, &tables, 32_766).await?,
        };
        out.push(Row {
            label: format!("{backend}: bound ({how})"),
            seconds: started.elapsed().as_secs_f64(),
            rows,
            note: "3 tables, same schema and indexes".to_owned(),
        });
        bound_app.db.close().await?;
        if let Some(url) = bound_url {
            drop_database(&url).await?;
        }
    }
    Ok(out)
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
    use sea_orm::TransactionTrait;
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

/// The allocator the server binary runs with (src/main.rs), so the figures are its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let value = support::args::flag;
    let rows: usize = value("--rows").map_or(Ok(100_000), |v| v.parse())?;
    let backend = value("--backend").unwrap_or_else(|| "sqlite".to_owned());
    let records = records(rows);
    let csv = csv(&records);
    if let Some(path) = value("--csv-out") {
        std::fs::write(&path, &csv)?;
        println!("wrote {rows} rows to {path}");
    }
    let backends: Vec<&str> = if backend == "all" {
        vec!["sqlite", "postgres", "mysql"]
    } else {
        vec![backend.as_str()]
    };
    println!(
        "{rows} rows ({:.0} MiB of CSV); peak memory before importing: {:.0} MiB",
        csv.len() as f64 / 1048576.0,
        peak_rss_mib()
    );
    if backends.contains(&"postgres") {
        println!("PostgreSQL: {}", postgres_settings().await?);
    }
    println!(
        "{:<52} {:>9} {:>12} {:>7}  note",
        "run", "seconds", "rows/s", "ratio"
    );
    for backend in backends {
        let results = run_backend(backend, &records, &csv).await?;
        let bound = results
            .iter()
            .filter(|r| r.label.contains("bound"))
            .map(|r| r.seconds)
            .fold(f64::INFINITY, f64::min);
        for r in &results {
            println!(
                "{:<52} {:>9.2} {:>12.0} {:>7.2}  {}",
                r.label,
                r.seconds,
                r.rows as f64 / r.seconds,
                bound / r.seconds,
                r.note,
            );
        }
        println!("peak memory so far: {:.0} MiB", peak_rss_mib());
    }
    Ok(())
}
