//! A stock xAPI client, the npm package `@xapi/xapi` (tests/xapi-client), against `/xapi`:
//! what an LMS's own library sends must be stored, count in the professional's standing, and
//! be read back by the same library.

use std::process::Command;

use serde_json::Value;

use crate::db_test;
use crate::harness::{Needs, XAPI_CLIENT_DIR, skipped};
use crate::support_providers::{accredited_provider, counted, import_holders, publish_course};

/// Runs the client script with `env`; its one line of JSON output.
fn run_client(env: &[(&str, &str)]) -> Value {
    let output = Command::new("node")
        .arg("client.mjs")
        .current_dir(XAPI_CLIENT_DIR)
        .envs(env.iter().copied())
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "the xAPI client failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the client prints JSON")
}

db_test! {
    async fn a_stock_xapi_client_posts_an_attended_statement_that_counts_and_reads_it_back(app: TestApp) {
        if skipped(Needs::XapiClient).await {
            return;
        }
        let provider = accredited_provider(&app, "LMS Academy").await;
        publish_course(&app, &provider, "https://lms.example/courses/IR-101").await;
        import_holders(&app);
        let client = provider.client;
        let endpoint = app.url("/xapi/");
        let timestamp = chrono::Utc::now().to_rfc3339();
        let settings = [
            ("XAPI_ENDPOINT", endpoint),
            ("XAPI_KEY", client.client_id.clone()),
            ("XAPI_SECRET", client.secret.clone()),
            ("XAPI_EMAIL", "taro@example.jp".to_owned()),
            ("XAPI_ACTIVITY", "https://lms.example/courses/IR-101".to_owned()),
            ("XAPI_TIMESTAMP", timestamp),
        ];
        let first: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let outcome = run_client(&first);
        assert_eq!(outcome["versions"], serde_json::json!(["1.0.3"]));
        let sent = outcome["sent"][0].as_str().expect("an id").to_owned();
        assert_eq!(outcome["read"], serde_json::json!([sent]));
        assert!(outcome["consistentThrough"].is_string());
        assert_eq!(counted(&app, "cissp", "123456"), 8, "the course counts in Taro's standing");

        // A second run for the same person: two statements, read back one page at a time.
        let outcome = run_client(&first);
        let second = outcome["sent"][0].as_str().expect("an id").to_owned();
        assert_eq!(outcome["read"], serde_json::json!([second, sent]), "newest first");
        assert_eq!(outcome["pages"], 2);
        assert_eq!(counted(&app, "cissp", "123456"), 16, "a second attendance, a second credit");
    }
}
