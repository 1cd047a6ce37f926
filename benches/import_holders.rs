//! Registry import benchmark: `cargo bench --bench import_holders -- --rows 100000`.
//!
//! Generates a synthetic registry (UTF-8 CSV, several schemes, shared emails for people with
//! two certifications), imports it twice (the second run must change nothing), and compares
//! the first run with the bound: a plain batched insert of the same rows into the same kind of
//! database, with no validation or lookups. Prints a table; asserts nothing about time.
//!
//! Options: `--rows N` (default 100000), `--backend sqlite|postgres|mysql|all` (default
//! sqlite), `--csv-out PATH` (also write the generated file, e.g. to time the CLI on it).

use std::time::Instant;

use chrono::{Months, NaiveDate, Utc};
use cpe_ledger::config::{Config, Settings};
use cpe_ledger::services::registry_import;
use cpe_ledger::startup;
use entity::{cycles, holdings, professionals};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

const SCHEMES: [(&str, u32); 4] = [("riss", 36), ("cissp", 36), ("cisa", 36), ("giac", 48)];

fn generate(rows: usize) -> String {
    let mut out = String::with_capacity(rows * 120);
    out.push_str("scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start\n");
    let base = NaiveDate::from_ymd_opt(2018, 4, 1).unwrap_or_default();
    for i in 0..rows {
        let (scheme, _) = SCHEMES[i % SCHEMES.len()];
        // Every tenth person holds two schemes under one email.
        let person = if i % 10 == 1 { i - 1 } else { i };
        let certified = base + chrono::Days::new((i % 2000) as u64);
        let cycle_start = certified + Months::new(36 * ((i % 3) as u32 % 2));
        out.push_str(&format!(
            "{scheme},{:06}{:02},person{person}@example.jp,山田 太郎{person},ヤマダ タロウ,Taro {person},{certified},{cycle_start}\n",
            i,
            i % 97
        ));
    }
    out
}

struct Row {
    label: String,
    seconds: f64,
    rows: usize,
    note: String,
}

async fn run_backend(backend: &str, rows: usize, csv: &str) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let url = match backend {
        "sqlite" => None,
        "postgres" => {
            Some(create_database("postgres://postgres@127.0.0.1:5432", "postgres").await?)
        }
        "mysql" => Some(create_database("mysql://root@127.0.0.1:3306", "").await?),
        other => anyhow::bail!("unknown backend {other}"),
    };
    let settings = Settings {
        database_url: url.clone(),
        data_dir: Some(dir.path().display().to_string()),
        ..Default::default()
    };
    let config = Config::from_settings(&settings)?;
    let app = startup::prepare(config.clone()).await?;
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
            "{} inserted, {} rejected",
            first.inserted,
            first.rejected.len()
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

    // The bound: the same rows, batched, no validation and no lookups, into a fresh database.
    let bound_dir = tempfile::tempdir()?;
    let bound_url = match backend {
        "sqlite" => None,
        "postgres" => {
            Some(create_database("postgres://postgres@127.0.0.1:5432", "postgres").await?)
        }
        _ => Some(create_database("mysql://root@127.0.0.1:3306", "").await?),
    };
    let bound_config = Config::from_settings(&Settings {
        database_url: bound_url.clone(),
        data_dir: Some(bound_dir.path().display().to_string()),
        ..Default::default()
    })?;
    let bound_app = startup::prepare(bound_config).await?;
    let version_id = entity::scheme_versions::Entity::find()
        .filter(entity::scheme_versions::Column::SchemeId.eq("cissp"))
        .one(&bound_app.db)
        .await?
        .map(|v| v.id)
        .ok_or_else(|| anyhow::anyhow!("no cissp version recorded"))?;
    let started = Instant::now();
    raw_insert(&bound_app.db, rows, version_id).await?;
    out.push(Row {
        label: format!("{backend}: bound (raw batched insert)"),
        seconds: started.elapsed().as_secs_f64(),
        rows,
        note: "3 tables, 500 rows per transaction".to_owned(),
    });
    app.db.close().await?;
    bound_app.db.close().await?;
    for url in [url, bound_url].into_iter().flatten() {
        drop_database(&url).await?;
    }
    Ok(out)
}

/// Drops a database `create_database` made, so repeated runs leave nothing behind.
async fn drop_database(url: &str) -> anyhow::Result<()> {
    let (server, name) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("no database name in {url}"))?;
    let (admin, sql) = if server.starts_with("postgres") {
        (
            format!("{server}/postgres"),
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
    } else {
        (
            format!("{server}/"),
            format!("DROP DATABASE IF EXISTS {name}"),
        )
    };
    let admin = Database::connect(admin).await?;
    admin.execute_unprepared(&sql).await?;
    admin.close().await?;
    Ok(())
}

async fn raw_insert(
    db: &sea_orm::DatabaseConnection,
    rows: usize,
    version_id: Uuid,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let start = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap_or_default();
    for chunk_start in (0..rows).step_by(500) {
        let chunk_end = (chunk_start + 500).min(rows);
        let txn = cpe_ledger::services::begin_write(db).await?;
        let mut people = Vec::new();
        let mut holds = Vec::new();
        let mut cycs = Vec::new();
        for i in chunk_start..chunk_end {
            let person = Uuid::now_v7();
            let holding = Uuid::now_v7();
            people.push(professionals::ActiveModel {
                id: Set(person),
                email: Set(Some(format!("p{i}@example.jp"))),
                legal_name: Set(format!("山田 太郎{i}")),
                legal_name_kana: Set(Some("ヤマダ タロウ".to_owned())),
                display_name: Set(Some(format!("Taro {i}"))),
                locale: Set("ja".to_owned()),
                time_zone: Set("Asia/Tokyo".to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
            });
            holds.push(holdings::ActiveModel {
                id: Set(holding),
                professional_id: Set(person),
                scheme_id: Set("cissp".to_owned()),
                registration_number: Set(format!("{i:08}")),
                certified_on: Set(start),
                status: Set(holdings::HoldingStatus::Active),
                created_at: Set(now),
                updated_at: Set(now),
            });
            cycs.push(cycles::ActiveModel {
                id: Set(Uuid::now_v7()),
                holding_id: Set(holding),
                scheme_version_id: Set(version_id),
                starts_on: Set(start),
                ends_on: Set(start + Months::new(36)),
                outcome: Set(None),
                created_at: Set(now),
            });
        }
        professionals::Entity::insert_many(people)
            .exec(&txn)
            .await?;
        holdings::Entity::insert_many(holds).exec(&txn).await?;
        cycles::Entity::insert_many(cycs).exec(&txn).await?;
        txn.commit().await?;
    }
    Ok(())
}

async fn create_database(server: &str, admin_db: &str) -> anyhow::Result<String> {
    let admin = Database::connect(format!("{server}/{admin_db}")).await?;
    let name = format!("cpe_bench_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    Ok(format!("{server}/{name}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let rows: usize = value("--rows").map_or(Ok(100_000), |v| v.parse())?;
    let backend = value("--backend").unwrap_or_else(|| "sqlite".to_owned());
    let csv = generate(rows);
    if let Some(path) = value("--csv-out") {
        std::fs::write(&path, &csv)?;
        println!("wrote {rows} rows to {path}");
    }
    let backends: Vec<&str> = if backend == "all" {
        vec!["sqlite", "postgres", "mysql"]
    } else {
        vec![backend.as_str()]
    };
    println!("{:<40} {:>9} {:>12}  note", "run", "seconds", "rows/s");
    for backend in backends {
        let results = run_backend(backend, rows, &csv).await?;
        let bound = results.last().map_or(f64::NAN, |r| r.seconds);
        for r in &results {
            println!(
                "{:<40} {:>9.2} {:>12.0}  {} (x{:.2} of bound)",
                r.label,
                r.seconds,
                r.rows as f64 / r.seconds,
                r.note,
                r.seconds / bound
            );
        }
    }
    Ok(())
}
