//! The standing projection equals a fresh computation by the engine after any sequence of
//! writes, and a verdict whose day has passed is recomputed when it is read.

use chrono::{Months, NaiveDate, Utc};
use cpe_ledger::domain::Points;
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::holdings::{self, HoldingStatus};
use cpe_ledger::services::ledger::{self, ClaimSpec, LedgerError, StaffCredit};
use cpe_ledger::services::standing::{self, StandingError};
use entity::{credits, holdings as holding_rows, professionals, standing_projection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_test;
use crate::harness::TestApp;
use crate::support_clients::{make_client, post_bearer, token_for};

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start";

/// One holder row of the registry, imported through the service (a holding and cycle write).
async fn import_row(
    app: &TestApp,
    scheme: &str,
    number: &str,
    email: &str,
    cycle_start: NaiveDate,
) {
    let csv = format!(
        "{HEADER}\n{scheme},{number},{email},Holder {number},,,{cycle_start},{cycle_start}\n"
    );
    let summary = cpe_ledger::services::registry_import::import(
        &app.state.db,
        &app.state.schemes,
        csv.as_bytes(),
        "projection.csv",
        &mut (),
    )
    .await
    .unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
}

/// Every holding's stored verdict against the engine's, computed now from the ledger.
async fn assert_projection_is_fresh(app: &TestApp, context: &str) {
    let db = &app.state.db;
    let rows = standing_projection::Entity::find().all(db).await.unwrap();
    let all = holding_rows::Entity::find().all(db).await.unwrap();
    assert_eq!(rows.len(), all.len(), "{context}: one row per holding");
    for holding in all {
        let row = rows.iter().find(|r| r.holding_id == holding.id).unwrap();
        let person = professionals::Entity::find_by_id(holding.professional_id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let (state, valid_until) =
            match standing::for_holding(db, &app.state.schemes, &holding, None).await {
                Ok(found) => (
                    Some(found.standing.state.as_str().to_owned()),
                    Some(found.standing.expires_on),
                ),
                Err(StandingError::NoCycle(_)) => (None, None),
                Err(e) => panic!("{context}: {e}"),
            };
        let what = format!(
            "{context}: {} {}",
            holding.scheme_id, holding.registration_number
        );
        assert_eq!(row.state, state, "{what}");
        assert_eq!(row.valid_until, valid_until, "{what}");
        assert_eq!(row.status, holding.status, "{what}");
        assert_eq!(row.judged_on, standing::today_for(&person), "{what}");
        assert_eq!(
            (&row.scheme_id, &row.registration_number),
            (&holding.scheme_id, &holding.registration_number),
            "{what}"
        );
        assert!(
            row.recheck_at > Utc::now(),
            "{what}: judged for today, good until the holder's midnight"
        );
    }
}

struct Holder {
    scheme: &'static str,
    number: String,
    email: String,
    cycle_start: NaiveDate,
}

fn credit(rng: &mut StdRng, holder: &Holder, today: NaiveDate, also_cisa: bool) -> StaffCredit {
    let span = (today - holder.cycle_start).num_days().max(0);
    let completed_on = holder.cycle_start + chrono::Days::new(rng.random_range(0..=span) as u64);
    let points = Points::from_hundredths(rng.random_range(20..=40) * 100);
    let category = if rng.random_bool(0.7) {
        "group_a"
    } else {
        "group_b"
    };
    let mut claims = vec![ClaimSpec {
        scheme: "cissp".into(),
        activity_type: None,
        category: category.into(),
        points,
    }];
    if also_cisa {
        claims.push(ClaimSpec {
            scheme: "cisa".into(),
            activity_type: Some("training".into()),
            category: "cpe".into(),
            points,
        });
    }
    StaffCredit {
        scheme: holder.scheme.to_owned(),
        registration_number: holder.number.clone(),
        activity_type: Some("education".into()),
        title: format!("Course {}", rng.random::<u32>()),
        completed_on,
        hours: points,
        claims,
        recorded_by: "projection test".into(),
    }
}

db_test! {
    async fn after_any_sequence_of_credits_voids_corrections_and_cycle_writes_the_projection_equals_a_fresh_computation(app: TestApp) {
        let today = Utc::now().date_naive();
        for seed in [7_u64, 1_234, 98_765] {
            let mut rng = StdRng::seed_from_u64(seed);
            // Cycles at different points of their life: young, near the deadline, long over.
            let mut people: Vec<Holder> = [35_u32, 12, 40]
                .iter()
                .enumerate()
                .map(|(i, months)| Holder {
                    scheme: "cissp",
                    number: format!("{seed}-{i}"),
                    email: format!("p{seed}-{i}@example.jp"),
                    cycle_start: today.checked_sub_months(Months::new(*months)).unwrap(),
                })
                .collect();
            for holder in &people {
                import_row(&app, holder.scheme, &holder.number, &holder.email, holder.cycle_start).await;
            }
            // The first person also holds CISA, so one credit can count toward both.
            import_row(&app, "cisa", &format!("{seed}-0c"), &people[0].email, people[0].cycle_start).await;
            assert_projection_is_fresh(&app, &format!("seed {seed}: after the import")).await;

            let mut live: Vec<Uuid> = Vec::new();
            let mut recorded = 0;
            let mut states = std::collections::BTreeSet::new();
            for step in 0..40 {
                let who = rng.random_range(0..people.len());
                let op = rng.random_range(0..10);
                let context = format!("seed {seed}, step {step}, op {op}, holder {who}");
                match op {
                    0..=4 => match ledger::record_staff_credit(&app.state.db, &app.state.schemes, credit(&mut rng, &people[who], today, who == 0)).await {
                        Ok(c) => {
                            recorded += 1;
                            live.push(c.id);
                        }
                        Err(LedgerError::Invalid { .. }) => {}
                        Err(e) => panic!("{context}: {e}"),
                    },
                    5 | 6 if !live.is_empty() => {
                        let id = live.swap_remove(rng.random_range(0..live.len()));
                        ledger::void_credit(&app.state.db, &app.state.schemes, id, "test", &Actor::cli("test")).await.unwrap();
                    }
                    7 if !live.is_empty() => {
                        let i = rng.random_range(0..live.len());
                        let owner = credits::Entity::find_by_id(live[i]).one(&app.state.db).await.unwrap().unwrap().professional_id;
                        let email = professionals::Entity::find_by_id(owner)
                            .one(&app.state.db)
                            .await
                            .unwrap()
                            .unwrap()
                            .email
                            .unwrap_or_default();
                        let Some(holder) = people.iter().find(|h| h.email == email) else {
                            continue;
                        };
                        let replacement = credit(&mut rng, holder, today, false);
                        if let Ok(c) = ledger::correct_staff_credit(&app.state.db, &app.state.schemes, live[i], "typo", replacement).await {
                            live[i] = c.id;
                        }
                    }
                    8 => {
                        // The registry records the next cycle (or an earlier start, judged anew).
                        let holder = &mut people[who];
                        holder.cycle_start = if rng.random_bool(0.5) {
                            holder.cycle_start.checked_add_months(Months::new(36)).unwrap()
                        } else {
                            holder.cycle_start.checked_sub_months(Months::new(1)).unwrap()
                        };
                        import_row(&app, holder.scheme, &holder.number, &holder.email, holder.cycle_start).await;
                    }
                    _ => {
                        let holding = holdings::by_registration(&app.state.db, "cissp", &people[who].number).await.unwrap().unwrap();
                        let status = if holding.status == HoldingStatus::Active { HoldingStatus::Suspended } else { HoldingStatus::Active };
                        holdings::set_status(&app.state.db, &app.state.schemes, &Actor::cli("test"), holding.id, status).await.unwrap();
                    }
                }
                assert_projection_is_fresh(&app, &context).await;
                for row in standing_projection::Entity::find().all(&app.state.db).await.unwrap() {
                    states.insert(row.state);
                }
            }
            assert!(recorded >= 5, "seed {seed}: only {recorded} credits went in");
            assert!(states.len() >= 3, "seed {seed}: the sequence should move verdicts: {states:?}");
        }
    }
}

db_test! {
    async fn a_verdict_whose_day_has_passed_is_recomputed_from_the_ledger_when_read(app: TestApp) {
        let today = Utc::now().date_naive();
        let start = today.checked_sub_months(Months::new(6)).unwrap();
        import_row(&app, "cissp", "D0001", "d@example.jp", start).await;
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        let ask = json!({"holdings": [{"scheme": "cissp", "registration_number": "D0001"}]});
        let before: Value = post_bearer(&app, "/v1/procurement/verify", &token, Some(ask.clone())).await.json().await.unwrap();
        assert_ne!(before["results"][0]["standing"], "complete");

        // A write that bypasses the services leaves the verdict as it was until its day passes.
        let credit = ledger::record_staff_credit(&app.state.db, &app.state.schemes, StaffCredit {
            scheme: "cissp".into(), registration_number: "D0001".into(), activity_type: Some("education".into()),
            title: "Course".into(), completed_on: start, hours: Points::from_hundredths(4000),
            claims: vec![ClaimSpec { scheme: "cissp".into(), activity_type: None, category: "group_a".into(), points: Points::from_hundredths(4000) }],
            recorded_by: "test".into(),
        }).await.unwrap();
        let stored = standing_projection::Entity::find().one(&app.state.db).await.unwrap().unwrap();
        let frozen_state = stored.state.clone();
        // Three such credits make 120 points: the engine would say complete.
        for _ in 0..2 {
            let mut copy = credit.clone();
            copy.id = Uuid::now_v7();
            copy.title = format!("Course {}", copy.id);
            let claim = entity::credit_claims::Model {
                id: Uuid::now_v7(), credit_id: copy.id, scheme_id: "cissp".into(), activity_type: "education".into(),
                category: "group_a".into(), points: 4000,
            };
            sea_orm::ActiveModelTrait::insert(sea_orm::IntoActiveModel::into_active_model(copy), &app.state.db).await.unwrap();
            sea_orm::ActiveModelTrait::insert(sea_orm::IntoActiveModel::into_active_model(claim), &app.state.db).await.unwrap();
        }
        // However close the holder's midnight is, today's verdict holds for this read.
        standing_projection::Entity::update_many()
            .col_expr(standing_projection::Column::RecheckAt, Expr::value(Utc::now() + chrono::Duration::days(1)))
            .filter(standing_projection::Column::RegistrationNumber.eq("D0001"))
            .exec(&app.state.db)
            .await
            .unwrap();
        let same: Value = post_bearer(&app, "/v1/procurement/verify", &token, Some(ask.clone())).await.json().await.unwrap();
        assert_eq!(same["results"][0]["standing"].as_str().map(str::to_owned), frozen_state, "still the stored verdict today");

        // The holder's midnight has passed: the next read judges again.
        standing_projection::Entity::update_many()
            .col_expr(standing_projection::Column::RecheckAt, Expr::value(Utc::now() - chrono::Duration::minutes(1)))
            .filter(standing_projection::Column::RegistrationNumber.eq("D0001"))
            .exec(&app.state.db)
            .await
            .unwrap();
        let after: Value = post_bearer(&app, "/v1/procurement/verify", &token, Some(ask)).await.json().await.unwrap();
        assert_eq!(after["results"][0]["standing"], "complete", "{after}");
        assert_projection_is_fresh(&app, "after the recheck").await;
    }
}
