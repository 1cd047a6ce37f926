//! The process killed in the middle of an attendance batch: the batch is written whole or not
//! at all, and sending it again afterwards completes it exactly once.

use std::time::Duration;

use entity::credits;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::db_test;
use crate::support_process::Served;
use crate::support_providers::{accredited_provider, import_holders, publish_course, row};

const ROWS: usize = 5_000;

fn batch(tag: &str) -> Value {
    let rows: Vec<Value> = (0..ROWS)
        .map(|i| row(&format!("{tag}-{i}"), "IR-201", "2026-11-20"))
        .collect();
    json!({ "rows": rows })
}

db_test! {
    async fn a_process_killed_during_a_batch_leaves_all_of_it_or_none_and_a_resend_completes_it_once(app: TestApp) {
        import_holders(&app);
        let provider = accredited_provider(&app, "Killed Mid-Batch Academy").await;
        publish_course(&app, &provider, "IR-201").await;
        let env = [
            ("CPE_LEDGER_DATABASE_URL", app.config.database_url.as_str()),
            ("CPE_LEDGER_SCHEDULER", "false"),
        ];
        let http = reqwest::Client::new();
        let written = || async {
            credits::Entity::find()
                .filter(credits::Column::ProviderId.eq(provider.id))
                .count(&app.state.db)
                .await
                .unwrap() as usize
        };
        let mut interrupted = 0;
        // Killed at several points: before the write, while it runs, around its commit.
        for (attempt, after_ms) in [20u64, 80, 200, 450, 900].into_iter().enumerate() {
            let before = written().await;
            let body = batch(&format!("K{attempt}"));
            let server = Served::start(&env);
            let send = http
                .post(server.url("/v1/provider/attendance"))
                .bearer_auth(&provider.token)
                .json(&body)
                .send();
            let outcome = tokio::select! {
                response = send => Some(response),
                () = tokio::time::sleep(Duration::from_millis(after_ms)) => None,
            };
            server.kill();
            if outcome.is_none() {
                interrupted += 1;
            }
            let now = written().await - before;
            assert!(now == 0 || now == ROWS, "attempt {attempt}, killed after {after_ms} ms: {now} of {ROWS} rows written");

            let server = Served::start(&env);
            let resent = http
                .post(server.url("/v1/provider/attendance"))
                .bearer_auth(&provider.token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resent.status(), 200);
            let report: Value = resent.json().await.unwrap();
            let count = |outcome: &str| {
                report["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["outcome"] == outcome)
                    .count()
            };
            assert_eq!(count("created") + count("unchanged"), ROWS, "attempt {attempt}");
            assert_eq!(count("created"), ROWS - now, "attempt {attempt}: only what was missing");
            assert_eq!(written().await - before, ROWS, "attempt {attempt}: each row once");
        }
        assert!(interrupted > 0, "no attempt was killed mid-request");
    }
}
