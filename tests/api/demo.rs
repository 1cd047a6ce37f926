//! `serve --demo`: the demo data set, seeded through the services real use goes through, shows
//! each of its professionals in the state it promises, seeds once, and is served by the real
//! binary with its logins printed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cpe_ledger::services::demo_data::{self, DEMO_PASSWORD};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;

use crate::db_test;
use crate::harness::{TestApp, stdout_of};

const AOI: &str = "aoi.tanaka@demo.example.org";
const KENJI: &str = "kenji.suzuki@demo.example.org";
const YUI: &str = "yui.takahashi@demo.example.org";
const REN: &str = "ren.ito@demo.example.org";

/// Each of the signed-in professional's holdings: (scheme, holding id, standing).
async fn own_standings(app: &TestApp, token: &str) -> Vec<(String, String, Value)> {
    let response = app.get_as("/v1/me/holdings", token).await;
    assert_eq!(response.status(), 200);
    let holdings: Vec<Value> = response.json().await.unwrap();
    let mut out = Vec::new();
    for holding in holdings {
        let id = holding["id"].as_str().unwrap().to_owned();
        let response = app
            .get_as(&format!("/v1/me/holdings/{id}/standing"), token)
            .await;
        assert_eq!(response.status(), 200);
        out.push((
            holding["scheme"].as_str().unwrap().to_owned(),
            id,
            response.json().await.unwrap(),
        ));
    }
    out
}

fn standing_in<'a>(standings: &'a [(String, String, Value)], scheme: &str) -> &'a Value {
    &standings
        .iter()
        .find(|(s, _, _)| s == scheme)
        .unwrap_or_else(|| panic!("no {scheme} holding in {standings:?}"))
        .2
}

fn reason_codes(standing: &Value) -> Vec<String> {
    standing["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

fn unmet_slots(standing: &Value) -> Vec<String> {
    standing["unmet_slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slot"].as_str().unwrap().to_owned())
        .collect()
}

async fn plan_of(app: &TestApp, token: &str, holding: &str) -> Value {
    let response = app
        .get_as(&format!("/v1/me/holdings/{holding}/plan"), token)
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn plan_codes(plan: &Value) -> Vec<String> {
    plan["courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn course_sessions(app: &TestApp, code: &str) -> Vec<chrono::NaiveDate> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let course = entity::courses::Entity::find()
        .filter(entity::courses::Column::Code.eq(code))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no demo course {code}"));
    cpe_ledger::services::courses::sessions_of(&course)
}

async fn row_counts(app: &TestApp) -> Vec<(&'static str, u64)> {
    let db = &app.state.db;
    vec![
        (
            "providers",
            entity::providers::Entity::find().count(db).await.unwrap(),
        ),
        (
            "courses",
            entity::courses::Entity::find().count(db).await.unwrap(),
        ),
        (
            "professionals",
            entity::professionals::Entity::find()
                .count(db)
                .await
                .unwrap(),
        ),
        (
            "holdings",
            entity::holdings::Entity::find().count(db).await.unwrap(),
        ),
        (
            "cycles",
            entity::cycles::Entity::find().count(db).await.unwrap(),
        ),
        (
            "credits",
            entity::credits::Entity::find().count(db).await.unwrap(),
        ),
        (
            "users",
            entity::users::Entity::find().count(db).await.unwrap(),
        ),
        (
            "notifications",
            entity::notifications::Entity::find()
                .count(db)
                .await
                .unwrap(),
        ),
        (
            "audit_events",
            entity::audit_events::Entity::find()
                .count(db)
                .await
                .unwrap(),
        ),
    ]
}

db_test! {
    async fn the_demo_professionals_sign_in_with_the_printed_password_and_stand_where_the_demo_promises(app: TestApp) {
        let seeded = demo_data::seed(&app.state.db, &app.state.schemes).await.unwrap();
        assert!(seeded.wrote);
        let emails: Vec<&str> = seeded.logins.iter().map(|l| l.email).collect();
        assert_eq!(emails, [AOI, KENJI, YUI, REN]);
        assert!(seeded.logins.iter().all(|l| l.password == DEMO_PASSWORD));

        // On track: ahead of a linear pace in both CISSP and CISA.
        let aoi = app.login_as(AOI, DEMO_PASSWORD).await;
        let standings = own_standings(&app, &aoi).await;
        assert_eq!(standings.len(), 2, "{standings:?}");
        for scheme in ["cissp", "cisa"] {
            let s = standing_in(&standings, scheme);
            assert_eq!(s["state"], "on_track", "{scheme}: {s}");
            assert!(s["counted"].as_f64().unwrap() > 0.0, "{scheme}: {s}");
        }

        // At risk: CISA's first-year minimum met, then behind pace.
        let kenji = app.login_as(KENJI, DEMO_PASSWORD).await;
        let standings = own_standings(&app, &kenji).await;
        let cisa = standing_in(&standings, "cisa");
        assert_eq!(cisa["state"], "at_risk", "{cisa}");
        assert_eq!(reason_codes(cisa), ["behind_pace"], "{cisa}");

        // A RISS slot missing: the final year has begun with no practical course, and this
        // year's IPA online course is still to take; the first two years' are done.
        let yui = app.login_as(YUI, DEMO_PASSWORD).await;
        let standings = own_standings(&app, &yui).await;
        let riss = standing_in(&standings, "riss");
        assert_eq!(riss["state"], "at_risk", "{riss}");
        assert!(
            reason_codes(riss).contains(&"cycle_slot_open_in_final_year".to_owned()),
            "{riss}"
        );
        let mut open = unmet_slots(riss);
        open.sort();
        assert_eq!(open, ["ipa_online_course", "practical"], "{riss}");

        // Complete: Security+'s 50 CEU, and a GIAC cycle under way.
        let ren = app.login_as(REN, DEMO_PASSWORD).await;
        let standings = own_standings(&app, &ren).await;
        assert_eq!(standing_in(&standings, "comptia-secplus")["state"], "complete");
        assert_eq!(standing_in(&standings, "giac")["state"], "on_track");

        // The courses that would close Yui's gaps are held before her deadline; an on-demand
        // course has no dated sessions.
        let deadline: chrono::NaiveDate = riss["deadline"].as_str().unwrap().parse().unwrap();
        let today: chrono::NaiveDate = riss["as_of"].as_str().unwrap().parse().unwrap();
        for code in ["IPA-PRACTICAL-IR", "KSI-TK01"] {
            let sessions = course_sessions(&app, code).await;
            assert!(!sessions.is_empty(), "{code}");
            assert!(sessions.iter().all(|d| today < *d && *d <= deadline), "{code}: {sessions:?}");
        }
        assert!(course_sessions(&app, "IPA-ONLINE").await.is_empty());
        assert!(course_sessions(&app, "SSA-SSD220").await.is_empty());

        // The renewal planner has courses to propose: for Yui this year's IPA online course
        // and a practical (or specified) course; for Kenji enough CISA courses to close his gap.
        let riss_holding = &own_standings(&app, &yui).await[0].1;
        let plan = plan_of(&app, &yui, riss_holding).await;
        let codes = plan_codes(&plan);
        assert!(codes.contains(&"IPA-ONLINE".to_owned()), "{plan}");
        assert!(
            codes.contains(&"IPA-PRACTICAL-IR".to_owned()) || codes.contains(&"KSI-TK01".to_owned()),
            "{plan}"
        );
        assert_eq!(plan["left_open"]["slots"], serde_json::json!([]), "{plan}");
        let cisa_holding = &own_standings(&app, &kenji).await[0].1;
        let plan = plan_of(&app, &kenji, cisa_holding).await;
        assert!(!plan_codes(&plan).is_empty(), "{plan}");
        assert_eq!(plan["left_open"]["total"], 0, "{plan}");

        // What seeding reported is what the API says.
        let printed: Vec<(&str, String)> = seeded
            .logins
            .iter()
            .flat_map(|l| l.standings.iter().map(move |s| (l.email, s.state.to_string())))
            .collect();
        assert_eq!(
            printed,
            [
                (AOI, "on_track".to_owned()),
                (AOI, "on_track".to_owned()),
                (KENJI, "at_risk".to_owned()),
                (YUI, "at_risk".to_owned()),
                (REN, "complete".to_owned()),
                (REN, "on_track".to_owned()),
            ]
        );

        // The invitations the demo holders were sent go out like any other email.
        app.dispatch_pending_emails().await;
    }
}

db_test! {
    async fn a_demo_professional_sees_none_of_another_demo_professionals_holdings(app: TestApp) {
        demo_data::seed(&app.state.db, &app.state.schemes).await.unwrap();
        let aoi = app.login_as(AOI, DEMO_PASSWORD).await;
        let kenji = app.login_as(KENJI, DEMO_PASSWORD).await;
        let kenjis = own_standings(&app, &kenji).await;
        let (_, kenjis_cisa, _) = &kenjis[0];
        let response = app
            .get_as(&format!("/v1/me/holdings/{kenjis_cisa}/standing"), &aoi)
            .await;
        assert_eq!(response.status(), 404);
        let aois = own_standings(&app, &aoi).await;
        assert!(aois.iter().all(|(_, id, _)| id != kenjis_cisa));
        app.dispatch_pending_emails().await;
    }
}

db_test! {
    async fn seeding_the_demo_a_second_time_writes_nothing_and_reports_the_same_logins(app: TestApp) {
        let first = demo_data::seed(&app.state.db, &app.state.schemes).await.unwrap();
        let before = row_counts(&app).await;
        let second = demo_data::seed(&app.state.db, &app.state.schemes).await.unwrap();
        assert!(!second.wrote);
        assert_eq!(row_counts(&app).await, before);
        let states = |s: &demo_data::Seeded| {
            s.logins
                .iter()
                .map(|l| (l.email, l.standings.iter().map(|h| h.state).collect::<Vec<_>>()))
                .collect::<Vec<_>>()
        };
        assert_eq!(states(&second), states(&first));
        app.dispatch_pending_emails().await;
    }
}

db_test! {
    async fn the_demo_refuses_a_ledger_that_has_holders_of_its_own_and_writes_nothing(app: TestApp) {
        app.seed_holder("en").await;
        let before = row_counts(&app).await;
        let refused = demo_data::seed(&app.state.db, &app.state.schemes).await.unwrap_err();
        assert!(
            refused.to_string().contains("without holders of its own"),
            "{refused}"
        );
        assert_eq!(row_counts(&app).await, before);
    }
}

/// `cpe-ledger serve --demo` in `folder` on a free port; its standard output line by line.
fn serve_demo(folder: &std::path::Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cpe-ledger"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .current_dir(folder)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CPE_LEDGER_SCHEDULER", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run cpe-ledger serve --demo");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (child, received)
}

/// The printed lines up to and including the last login line.
fn printed_logins(received: &mpsc::Receiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while lines
        .iter()
        .filter(|l: &&String| l.contains("password:"))
        .count()
        < 4
    {
        let line = received
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("serve --demo printed only {lines:?}"));
        lines.push(line);
    }
    lines
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_on_a_fresh_folder_prints_logins_that_sign_in_and_a_second_run_seeds_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let (child, received) = serve_demo(folder.path());
    let lines = printed_logins(&received);
    assert_eq!(lines[0], "demo data seeded", "{lines:?}");
    let url = lines[1]
        .strip_prefix("open ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no address in {lines:?}"))
        .trim_end_matches('/')
        .to_owned();
    let login_of = |email: &str| {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(email))
            .unwrap_or_else(|| panic!("no login for {email} in {lines:?}"))
            .clone()
    };
    assert!(login_of(AOI).contains("shows: on track"), "{lines:?}");
    assert!(
        login_of(AOI).contains("cissp 910001: on_track"),
        "{lines:?}"
    );
    assert!(
        login_of(KENJI).contains("cisa 9100031: at_risk"),
        "{lines:?}"
    );
    assert!(
        login_of(YUI).contains("riss 091004: at_risk (open: ipa_online_course, practical)"),
        "{lines:?}"
    );
    assert!(
        login_of(REN).contains("comptia-secplus COMP-910005: complete"),
        "{lines:?}"
    );

    // The printed password signs the printed email in, and the dashboard is theirs.
    let password = login_of(KENJI)
        .split("password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{url}/v1/auth/login"))
        .json(&serde_json::json!({"email": KENJI, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();
    let holdings: Vec<Value> = client
        .get(format!("{url}/v1/me/holdings"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(holdings.len(), 1);
    assert_eq!(holdings[0]["registration_number"], "9100031");
    stop(child);

    let credits_of_kenji = || {
        stdout_of(
            &Command::new(env!("CARGO_BIN_EXE_cpe-ledger"))
                .args([
                    "credits",
                    "list",
                    "--scheme",
                    "cisa",
                    "--registration-number",
                    "9100031",
                ])
                .current_dir(folder.path())
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .output()
                .unwrap(),
        )
    };
    let before = credits_of_kenji();
    assert_eq!(
        before.lines().count(),
        1 + 3,
        "a header and three credits: {before}"
    );

    let (child, received) = serve_demo(folder.path());
    let again = printed_logins(&received);
    stop(child);
    assert_eq!(
        again[0], "demo data already present: nothing seeded",
        "{again:?}"
    );
    assert_eq!(again[2..], lines[2..], "the same logins and states");
    assert_eq!(credits_of_kenji(), before);
}
