//! Renewal of cycles, end to end: a cycle that ends complete is renewed and the next one opens
//! with its rollover; one that ends short is due through its grace and then lapses with its
//! holding; a rerun (or two runs at once) changes nothing more; the registry records the
//! body's own renewals; every change is audit-logged and shown to its professional only.

use chrono::NaiveDate;
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::renewal::{self, RenewOptions, RenewalReport};
use entity::cycles::{self, CycleOutcome};
use entity::{audit_events, holdings, standing_projection};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use crate::dashboard::{dashboard_page, holding_id, staff_credit, token_of};
use crate::db_test;
use crate::harness::{TestApp, stdout_of};
use crate::support_accounts::unique_email;
use crate::support_clients::audit_events_named;

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start";

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// Imports one registry row: `number` of `scheme`, certified on `certified_on`, in the cycle
/// starting on `cycle_start`.
async fn import_row(
    app: &TestApp,
    scheme: &str,
    number: &str,
    email: &str,
    certified_on: &str,
    cycle_start: &str,
) -> cpe_ledger::services::registry_import::ImportSummary {
    let csv = format!(
        "{HEADER},locale\n{scheme},{number},{email},山田 花子,ヤマダ ハナコ,Hanako,{certified_on},{cycle_start},en\n"
    );
    let summary = cpe_ledger::services::registry_import::import(
        &app.state.db,
        &app.state.schemes,
        csv.as_bytes(),
        "registry.csv",
        &mut (),
    )
    .await
    .unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    summary
}

/// A CISSP holder in the cycle 2022-07-01 – 2025-06-30 with `group_a` points on each date.
async fn cissp_holder(app: &TestApp, number: &str, email: &str, credits: &[(&str, &str)]) {
    import_row(app, "cissp", number, email, "2022-07-01", "2022-07-01").await;
    for (on, points) in credits {
        staff_credit(
            app,
            ("cissp", number),
            "education",
            day(on),
            &[&format!("group_a={points}")],
        )
        .await;
    }
}

/// 40 Group A in each cycle year (120, complete) and 40 more in the last six months, which
/// ISC2 carries into the next cycle.
const COMPLETE_WITH_ROLLOVER: [(&str, &str); 4] = [
    ("2022-09-01", "40"),
    ("2023-09-01", "40"),
    ("2024-09-01", "40"),
    ("2025-03-01", "40"),
];

async fn renew_on(app: &TestApp, as_of: &str) -> RenewalReport {
    renewal::run(
        &app.state.db,
        &app.state.schemes,
        &Actor::cli("test"),
        RenewOptions {
            as_of: Some(day(as_of)),
            dry_run: false,
        },
    )
    .await
    .unwrap()
}

async fn holding_of(app: &TestApp, number: &str) -> holdings::Model {
    holdings::Entity::find()
        .filter(holdings::Column::RegistrationNumber.eq(number))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

/// The holding's cycles, oldest first, as (first day, exclusive end, outcome).
async fn cycles_of(
    app: &TestApp,
    number: &str,
) -> Vec<(NaiveDate, NaiveDate, Option<CycleOutcome>)> {
    let holding = holding_of(app, number).await;
    cycles::Entity::find()
        .filter(cycles::Column::HoldingId.eq(holding.id))
        .order_by_asc(cycles::Column::StartsOn)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.starts_on, c.ends_on, c.outcome))
        .collect()
}

async fn standing_on(app: &TestApp, number: &str, as_of: &str) -> cpe_ledger::domain::Standing {
    cpe_ledger::services::standing::for_registration(
        &app.state.db,
        &app.state.schemes,
        "cissp",
        number,
        Some(day(as_of)),
    )
    .await
    .unwrap()
    .standing
}

/// The audit events about the cycle of `number` that starts on `starts_on`.
async fn events_about(app: &TestApp, number: &str, starts_on: &str) -> Vec<audit_events::Model> {
    let holding = holding_of(app, number).await;
    let cycle = cycles::Entity::find()
        .filter(cycles::Column::HoldingId.eq(holding.id))
        .filter(cycles::Column::StartsOn.eq(day(starts_on)))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    audit_events::Entity::find()
        .filter(audit_events::Column::SubjectKind.eq("cycle"))
        .filter(audit_events::Column::SubjectId.eq(cycle.id.to_string()))
        .order_by_asc(audit_events::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

db_test! {
    async fn a_cycle_that_ends_complete_is_renewed_and_the_next_cycle_carries_its_rollover(app: TestApp) {
        let email = unique_email("renew-complete");
        cissp_holder(&app, "810001", &email, &COMPLETE_WITH_ROLLOVER).await;

        // The last valid day: complete, but the cycle has not ended.
        let early = stdout_of(&app.cli(&["admin", "renew", "--as-of", "2025-06-30"]));
        assert!(early.ends_with("1 open cycles checked, 0 skipped; renewed 0, lapsed 0\n"), "{early}");

        let dry = stdout_of(&app.cli(&["admin", "renew", "--as-of", "2025-07-01", "--dry-run"]));
        assert!(
            dry.contains("cissp 810001\tcycle 2022-07-01 – 2025-06-30 would be renewed; next cycle 2025-07-01 – 2028-06-30 (rules 2024, carried in 40)"),
            "{dry}"
        );
        assert!(dry.ends_with("would renew 1, would lapse 0\n"), "{dry}");
        assert_eq!(cycles_of(&app, "810001").await.len(), 1, "a dry run writes nothing");
        assert!(audit_events_named(&app, "cycle.renewed").await.is_empty());

        let done = stdout_of(&app.cli(&["admin", "renew", "--as-of", "2025-07-01"]));
        assert!(
            done.contains("cissp 810001\tcycle 2022-07-01 – 2025-06-30 is renewed; next cycle 2025-07-01 – 2028-06-30 (rules 2024, carried in 40)"),
            "{done}"
        );
        assert_eq!(
            cycles_of(&app, "810001").await,
            [
                (day("2022-07-01"), day("2025-07-01"), Some(CycleOutcome::Renewed)),
                (day("2025-07-01"), day("2028-07-01"), None),
            ]
        );
        assert_eq!(holding_of(&app, "810001").await.status, holdings::HoldingStatus::Active);

        // The new cycle is the one judged, with the 40 Group A of the last six months in it.
        let next = standing_on(&app, "810001", "2025-07-02").await;
        assert_eq!(next.starts_on, day("2025-07-01"));
        assert_eq!(next.expires_on, day("2028-06-30"));
        assert_eq!(next.carried_in.to_string(), "40");
        assert_eq!(next.counted.to_string(), "40");

        let events = events_about(&app, "810001", "2022-07-01").await;
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(event.action, "cycle.renewed");
        assert_eq!(event.actor_kind, audit_events::ActorKind::Cli);
        let after = event.after.clone().unwrap();
        assert_eq!(after["outcome"], "renewed");
        assert_eq!(after["next_cycle"]["starts_on"], "2025-07-01");
        assert_eq!(after["next_cycle"]["expires_on"], "2028-06-30");
        assert_eq!(after["next_cycle"]["carried_in"], 40);
        assert_eq!(event.before.clone().unwrap()["state"], "complete");
    }
}

db_test! {
    async fn a_cycle_that_ends_short_is_due_through_its_grace_then_lapses_with_its_holding(app: TestApp) {
        let email = unique_email("renew-short");
        cissp_holder(&app, "810002", &email, &[("2022-09-01", "40")]).await;

        // Ended short: due, not closed, through the 90 days of grace (until 2025-09-28).
        for as_of in ["2025-07-01", "2025-09-28"] {
            let report = renew_on(&app, as_of).await;
            assert_eq!((report.checked, report.changes.len()), (1, 0), "{as_of}: {report:?}");
            assert_eq!(standing_on(&app, "810002", as_of).await.state.as_str(), "due");
        }
        assert_eq!(cycles_of(&app, "810002").await[0].2, None);

        let report = renew_on(&app, "2025-09-29").await;
        assert_eq!((report.renewed(), report.lapsed()), (0, 1), "{report:?}");
        assert_eq!(
            cycles_of(&app, "810002").await,
            [(day("2022-07-01"), day("2025-07-01"), Some(CycleOutcome::Lapsed))],
            "a lapsed cycle opens no next one"
        );
        let holding = holding_of(&app, "810002").await;
        assert_eq!(holding.status, holdings::HoldingStatus::Lapsed);
        // Buyers read the projection: it says lapsed in the same write.
        let projected = standing_projection::Entity::find_by_id(holding.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(projected.status, holdings::HoldingStatus::Lapsed);

        let events = events_about(&app, "810002", "2022-07-01").await;
        assert_eq!(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["cycle.lapsed"]);
        let after = events[0].after.clone().unwrap();
        assert_eq!((after["outcome"].as_str(), after["holding_status"].as_str()), (Some("lapsed"), Some("lapsed")));

        // The sweep that follows still sends the lapse notice of a holding that has lapsed.
        let swept = cpe_ledger::services::reminders::sweep(
            &app.state.db,
            &app.state.schemes,
            &app.config,
            cpe_ledger::services::reminders::SweepOptions {
                as_of: Some(day("2025-09-29")),
                dry_run: false,
                congratulate: true,
            },
        )
        .await
        .unwrap();
        assert_eq!((swept.notifications, swept.items), (1, 1), "{swept:?}");
        app.dispatch_pending_emails().await;
        let text = app.only_email_to(&email).text();
        assert!(text.contains("certification has lapsed"), "{text}");
    }
}

db_test! {
    async fn renewing_again_changes_nothing_and_two_runs_at_once_open_one_next_cycle(app: TestApp) {
        let email = unique_email("renew-twice");
        cissp_holder(&app, "810003", &email, &COMPLETE_WITH_ROLLOVER).await;
        let short = unique_email("renew-twice-short");
        cissp_holder(&app, "810004", &short, &[]).await;

        let actor = Actor::system();
        let run = || renewal::run(
            &app.state.db,
            &app.state.schemes,
            &actor,
            RenewOptions { as_of: Some(day("2025-10-01")), dry_run: false },
        );
        let (a, b) = tokio::join!(run(), run());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.renewed() + b.renewed(), 1, "{a:?} {b:?}");
        assert_eq!(a.lapsed() + b.lapsed(), 1, "{a:?} {b:?}");
        assert_eq!(cycles_of(&app, "810003").await.len(), 2);
        assert_eq!(cycles_of(&app, "810004").await.len(), 1);
        assert_eq!(audit_events_named(&app, "cycle.renewed").await.len(), 1);
        assert_eq!(audit_events_named(&app, "cycle.lapsed").await.len(), 1);

        let again = renew_on(&app, "2025-10-01").await;
        assert!(again.changes.is_empty(), "{again:?}");
        assert_eq!(again.checked, 1, "only the new open cycle is left to judge");
        assert_eq!(audit_events_named(&app, "cycle.renewed").await.len(), 1);
        assert_eq!(audit_events_named(&app, "cycle.lapsed").await.len(), 1);
        assert_eq!(holding_of(&app, "810004").await.status, holdings::HoldingStatus::Lapsed);
    }
}

db_test! {
    async fn a_registry_row_with_a_later_cycle_start_records_the_bodys_own_renewal(app: TestApp) {
        let email = unique_email("renew-registry");
        import_row(&app, "cissp", "810005", &email, "2022-07-01", "2022-07-01").await;

        // Short of points, but the body renewed the holder: its decision is recorded.
        let summary = import_row(&app, "cissp", "810005", &email, "2022-07-01", "2025-07-01").await;
        assert_eq!((summary.updated, summary.inserted), (1, 0));
        assert_eq!(
            cycles_of(&app, "810005").await,
            [
                (day("2022-07-01"), day("2025-07-01"), Some(CycleOutcome::Renewed)),
                (day("2025-07-01"), day("2028-07-01"), None),
            ]
        );
        let events = events_about(&app, "810005", "2022-07-01").await;
        assert_eq!(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["cycle.renewed_by_registry"]);
        assert_eq!(events[0].after.clone().unwrap()["next_cycle"]["starts_on"], "2025-07-01");
        // The ledger then finds the new cycle running: nothing more to record.
        assert!(renew_on(&app, "2025-10-01").await.changes.is_empty());

        // A holding the ledger lapsed and the body then renewed is active again.
        let other = unique_email("renew-registry-lapsed");
        import_row(&app, "cissp", "810006", &other, "2022-07-01", "2022-07-01").await;
        assert_eq!(renew_on(&app, "2025-10-01").await.lapsed(), 1);
        assert_eq!(holding_of(&app, "810006").await.status, holdings::HoldingStatus::Lapsed);
        import_row(&app, "cissp", "810006", &other, "2022-07-01", "2025-07-01").await;
        assert_eq!(holding_of(&app, "810006").await.status, holdings::HoldingStatus::Active);
        assert_eq!(cycles_of(&app, "810006").await[0].2, Some(CycleOutcome::Renewed));
        let events = events_about(&app, "810006", "2022-07-01").await;
        assert_eq!(
            events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["cycle.lapsed", "cycle.renewed_by_registry"]
        );
        let before = events[1].before.clone().unwrap();
        assert_eq!((before["outcome"].as_str(), before["holding_status"].as_str()), (Some("lapsed"), Some("lapsed")));

        // The same file again changes nothing.
        let again = import_row(&app, "cissp", "810006", &other, "2022-07-01", "2025-07-01").await;
        assert_eq!((again.updated, again.unchanged), (0, 1));
        assert_eq!(audit_events_named(&app, "cycle.renewed_by_registry").await.len(), 2);
    }
}

db_test! {
    async fn the_daily_sweep_renews_and_lapses_ended_cycles_before_it_reminds(app: TestApp) {
        // Cycles that ended before today, whatever today is: CISA has no grace.
        let today = crate::dashboard::today();
        let start = today - chrono::Months::new(40);
        let ended = start + chrono::Months::new(36);
        let (complete, short) = (unique_email("sweep-renewed"), unique_email("sweep-lapsed"));
        for (number, email) in [("820001", &complete), ("820002", &short)] {
            import_row(&app, "cisa", number, email, &start.to_string(), &start.to_string()).await;
        }
        for year in 0..3 {
            let on = start + chrono::Months::new(12 * year + 1);
            staff_credit(&app, ("cisa", "820001"), "training", on, &["cpe=40"]).await;
        }

        let swept = cpe_ledger::jobs::schedule::sweep_period(&app.state, "2026-12-01T09:00:00+09:00")
            .await
            .unwrap()
            .expect("this instance runs the period");
        let renewed = audit_events_named(&app, "cycle.renewed").await;
        assert_eq!(renewed.len(), 1);
        assert_eq!(renewed[0].actor_kind, audit_events::ActorKind::System);
        let cycles = cycles_of(&app, "820001").await;
        assert_eq!(cycles.len(), 2);
        assert_eq!(cycles[1].0, ended, "the next cycle starts the day after the expiry date");
        assert_eq!(holding_of(&app, "820002").await.status, holdings::HoldingStatus::Lapsed);
        // The lapse notice goes out in the same sweep.
        assert!(swept.items >= 1, "{swept:?}");
        app.dispatch_pending_emails().await;
        assert!(app.only_email_to(&short).text().contains("certification has lapsed"));
        // Renewed first, the holding is reminded about its new cycle (four months in: nothing
        // yet), not congratulated on the one just closed.
        assert!(app.emails_to(&complete).is_empty(), "{:#?}", app.emails_to(&complete));
    }
}

db_test! {
    async fn a_holdings_renewal_history_is_shown_to_its_professional_and_no_one_else(app: TestApp) {
        let (a, b) = (unique_email("history-a"), unique_email("history-b"));
        cissp_holder(&app, "810007", &a, &COMPLETE_WITH_ROLLOVER).await;
        cissp_holder(&app, "810008", &b, &[]).await;
        renew_on(&app, "2025-07-01").await;
        let (token_a, token_b) = (token_of(&app, &a).await, token_of(&app, &b).await);
        let id_a = holding_id(&app, "810007").await;

        let response = app.get_as(&format!("/v1/me/holdings/{id_a}/history"), &token_a).await;
        assert_eq!(response.status(), 200);
        let history: Value = response.json().await.unwrap();
        assert_eq!(history["registration_number"], "810007");
        assert_eq!(history["status"], "active");
        let cycles = history["cycles"].as_array().unwrap();
        assert_eq!(cycles.len(), 2, "{history}");
        assert_eq!(
            (cycles[0]["starts_on"].as_str(), cycles[0]["expires_on"].as_str(), &cycles[0]["outcome"]),
            (Some("2025-07-01"), Some("2028-06-30"), &Value::Null)
        );
        assert_eq!(
            (cycles[1]["starts_on"].as_str(), cycles[1]["expires_on"].as_str(), cycles[1]["outcome"].as_str()),
            (Some("2022-07-01"), Some("2025-06-30"), Some("renewed"))
        );
        assert_eq!(cycles[1]["scheme_version"], "2024");
        assert_eq!(cycles[1]["events"][0]["action"], "cycle.renewed");
        assert_eq!(cycles[1]["events"][0]["recorded_by"], "ledger");

        let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
        let documented = &doc["paths"]["/v1/me/holdings/{id}/history"]["get"]["responses"];
        assert_eq!(
            documented["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/HoldingHistory",
            "{documented}"
        );
        assert!(documented["404"].is_object(), "{documented}");

        // Another professional naming A's holding is told it does not exist.
        let refused = app.get_as(&format!("/v1/me/holdings/{id_a}/history"), &token_b).await;
        assert_eq!(refused.status(), 404);
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
        let own: Value = app
            .get_as(&format!("/v1/me/holdings/{}/history", holding_id(&app, "810008").await), &token_b)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(own["registration_number"], "810008");
        assert!(!own.to_string().contains("810007"), "{own}");

        // The dashboard lists it, in both languages; B's lists only B's.
        let en = dashboard_page(&app, &token_a, "en").await;
        assert!(en.contains("Renewal history"), "{en}");
        assert!(en.contains("2022-07-01 – 2025-06-30: <span class=\"history-outcome\">renewed</span>"), "{en}");
        assert!(en.contains("2025-07-01 – 2028-06-30: <span class=\"history-outcome\">in progress</span>"), "{en}");
        let ja = dashboard_page(&app, &token_a, "ja").await;
        assert!(ja.contains("更新履歴"), "{ja}");
        assert!(ja.contains("2022-07-01 – 2025-06-30: <span class=\"history-outcome\">更新済み</span>"), "{ja}");
        let page_b = dashboard_page(&app, &token_b, "en").await;
        assert!(!page_b.contains("2025-07-01 – 2028-06-30"), "{page_b}");
    }
}
