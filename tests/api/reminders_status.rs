//! The counts an operator reads: the outbox by state and the latest sweep, the same from the
//! admin API and from `cpe-ledger remind status`.

use serde_json::Value;

use crate::db_test;
use crate::harness::{TestApp, stdout_of};
use crate::support_accounts::unique_email;
use crate::support_clients::{get_bearer, make_client, token_for};

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start,locale";

/// CISSP holders whose deadline is about 100 days from today, so today's sweep reminds them.
fn import_due_soon(app: &TestApp, emails: &[&str]) {
    let start = chrono::Utc::now().date_naive() - chrono::Months::new(36) + chrono::Days::new(100);
    let rows: Vec<String> = emails
        .iter()
        .enumerate()
        .map(|(i, email)| format!("cissp,72{i:04},{email},山田 花子,,,{start},{start},en"))
        .collect();
    let path = app.file("holders.csv");
    std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let out = stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
    assert!(out.contains("0 rejected"), "{out}");
}

async fn counts(app: &TestApp, token: &str) -> Value {
    let response = get_bearer(app, "/v1/admin/notifications/status", token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn figures(body: &Value) -> [u64; 4] {
    ["queued", "retrying", "sent", "failed"].map(|k| body[k].as_u64().unwrap_or(u64::MAX))
}

db_test! {
    async fn an_admin_reads_the_outbox_by_state_and_the_last_sweep_as_the_command_line_prints_them(app: TestApp) {
        let admin = make_client(&app, "admin", &[], 100).await;
        let token = token_for(&app, &admin).await;
        let before = counts(&app, &token).await;
        assert_eq!(figures(&before), [0, 0, 0, 0]);
        assert!(before["last_sweep"].is_null(), "{before}");
        assert!(stdout_of(&app.cli(&["remind", "status"])).contains("last sweep: never"));

        let (delivered, deferred, refused) = (
            unique_email("status"),
            format!("busy-{}", unique_email("status")),
            format!("refuse-{}", unique_email("status")),
        );
        import_due_soon(&app, &[&delivered, &deferred, &refused]);
        let period = "2026-12-01T09:00:00+09:00";
        let swept = cpe_ledger::jobs::schedule::sweep_period(&app.state, period).await.unwrap();
        assert_eq!(swept.map(|r| r.notifications), Some(3));
        let queued = counts(&app, &token).await;
        assert_eq!(figures(&queued), [3, 0, 0, 0], "{queued}");
        assert_eq!(queued["last_sweep"]["period"], period);
        assert!(queued["last_sweep"]["finished_at"].is_string(), "{queued}");
        assert!(queued["last_sweep"]["error"].is_null(), "{queued}");

        // One is delivered, one deferred by a 451, one refused for good by a 550.
        assert_eq!(app.dispatch_pending_emails().await, 1);
        let after = counts(&app, &token).await;
        assert_eq!(figures(&after), [0, 1, 1, 1], "{after}");

        let printed = stdout_of(&app.cli(&["remind", "status"]));
        assert!(printed.starts_with("queued 0, retrying 1, sent 1, failed 1\n"), "{printed}");
        assert!(printed.contains(&format!("last sweep: period {period}, started ")), "{printed}");
        assert!(printed.contains(", finished "), "{printed}");

        // Only staff may read it.
        let provider = make_client(&app, "provider", &[], 100).await;
        let refused_caller = get_bearer(&app, "/v1/admin/notifications/status", &token_for(&app, &provider).await).await;
        assert_eq!(refused_caller.status(), 403);
        app.expect_left_in_outbox(&deferred);
    }
}
