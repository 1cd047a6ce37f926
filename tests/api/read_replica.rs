//! A read replica (`CPE_LEDGER_DATABASE_READ_URL`): procurement reads answer from the replica,
//! and everything they write (the disclosure log, a projection row judged again) lands on the
//! primary, never on the replica.
//!
//! Two PostgreSQL databases stand in for a primary and a replica that has drifted from it: the
//! same holding (same ids, so the disclosure log on the primary can refer to it) is active with
//! consent to be named on the replica and suspended without consent on the primary, a second
//! holding exists only on the primary (as one the replica has not received yet), and an
//! organisation only on the replica.

use chrono::{Days, Utc};
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::consents::{self, Audience, Consents};
use cpe_ledger::services::organisations::{self, Reply};
use cpe_ledger::services::standing_projection;
use entity::holdings::HoldingStatus;
use entity::{disclosures, standing_projection as projection};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Backend, TestApp};
use crate::support_accounts::{CisspHolder, insert_cissp_holder, unique_email};
use crate::support_clients::{get_bearer, make_client, post_bearer, token_for};

/// One professional with one CISSP holding and an open cycle, written with the given ids, so
/// that the two databases can hold the same holding with different facts.
struct Seeded<'a> {
    professional_id: Uuid,
    holding_id: Uuid,
    email: &'a str,
    legal_name: &'a str,
    number: &'a str,
    status: HoldingStatus,
}

async fn seed(app: &TestApp, who: &Seeded<'_>) {
    let db = &app.state.db;
    let holder = CisspHolder {
        professional_id: who.professional_id,
        holding_id: who.holding_id,
        email: who.email,
        legal_name: who.legal_name,
        legal_name_kana: None,
        locale: "en",
        number: who.number,
        status: who.status,
    };
    insert_cissp_holder(db, &holder).await;
    standing_projection::refresh(db, &app.state.schemes, &[who.professional_id])
        .await
        .unwrap();
}

async fn disclosures_of(db: &DatabaseConnection, holding_id: Uuid) -> u64 {
    disclosures::Entity::find()
        .filter(disclosures::Column::HoldingId.eq(holding_id))
        .count(db)
        .await
        .unwrap()
}

async fn projection_row(db: &DatabaseConnection, holding_id: Uuid) -> projection::Model {
    projection::Entity::find_by_id(holding_id)
        .one(db)
        .await
        .unwrap()
        .expect("a projection row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn procurement_reads_answer_from_the_replica_and_their_writes_land_on_the_primary() {
    let Some(replica) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let replica_url = replica.config.database_url.clone();
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |s| {
        s.database_read_url = Some(replica_url);
    })
    .await
    else {
        return;
    };
    let (primary_db, replica_db) = (&app.state.db, &replica.state.db);
    let person = Uuid::now_v7();
    let holding = Uuid::now_v7();
    let email = unique_email("replica");
    seed(
        &replica,
        &Seeded {
            professional_id: person,
            holding_id: holding,
            email: &email,
            legal_name: "Replica Name",
            number: "00770001",
            status: HoldingStatus::Active,
        },
    )
    .await;
    seed(
        &app,
        &Seeded {
            professional_id: person,
            holding_id: holding,
            email: &email,
            legal_name: "Primary Name",
            number: "00770001",
            status: HoldingStatus::Suspended,
        },
    )
    .await;
    let only_primary = Uuid::now_v7();
    seed(
        &app,
        &Seeded {
            professional_id: Uuid::now_v7(),
            holding_id: only_primary,
            email: &unique_email("replica-lag"),
            legal_name: "Not Yet Replicated",
            number: "00770002",
            status: HoldingStatus::Active,
        },
    )
    .await;
    // On the replica the holder consented to be named; on the primary they did not.
    consents::set(
        replica_db,
        &Actor::cli("test"),
        person,
        Audience::Procurement,
        Consents {
            name: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // The replica's verdict stays current however long the test runs (its holder's midnight
    // would otherwise make it out of date).
    projection::Entity::update_many()
        .col_expr(
            projection::Column::RecheckAt,
            Expr::value(Utc::now() + Days::new(2)),
        )
        .filter(projection::Column::HoldingId.eq(holding))
        .exec(replica_db)
        .await
        .unwrap();
    // An organisation the replica has, with the holder as confirmed staff.
    let actor = Actor::cli("test");
    let vendor = organisations::create(replica_db, &actor, "Replica Vendor KK", None)
        .await
        .unwrap();
    let claim = organisations::claim_member(replica_db, &actor, vendor.id, &email)
        .await
        .unwrap();
    organisations::reply(replica_db, &actor, person, claim.id, Reply::Confirm)
        .await
        .unwrap();
    let replica_row_before = projection_row(replica_db, holding).await;

    let buyer = make_client(&app, "procurement", &[], 1_000).await;
    let buyer = token_for(&app, &buyer).await;

    // One holding: the replica's facts, with the name the replica's consent allows.
    let single = get_bearer(&app, "/v1/procurement/holdings/cissp/00770001", &buyer).await;
    assert_eq!(single.status(), 200, "the replica has the holding");
    let single: Value = single.json().await.unwrap();
    assert_eq!(
        (
            &single["status"],
            &single["in_good_standing"],
            &single["name"]
        ),
        (&json!("active"), &json!(true), &json!("Replica Name")),
        "answered from the replica, not the primary (suspended, no consent): {single}"
    );
    // A holding the replica has not received is not found, though the primary has it.
    let lagging = get_bearer(&app, "/v1/procurement/holdings/cissp/00770002", &buyer).await;
    assert_eq!(
        lagging.status(),
        404,
        "a holding only on the primary is not found on the replica"
    );

    // A batch: the same.
    let batch = post_bearer(
        &app,
        "/v1/procurement/verify",
        &buyer,
        Some(json!({"holdings": [
            {"scheme": "cissp", "registration_number": "00770001"},
            {"scheme": "cissp", "registration_number": "00770002"},
        ]})),
    )
    .await;
    assert_eq!(batch.status(), 200);
    let batch: Value = batch.json().await.unwrap();
    let results = batch["results"].as_array().unwrap();
    assert_eq!(
        (
            &results[0]["found"],
            &results[0]["status"],
            &results[0]["name"]
        ),
        (&json!(true), &json!("active"), &json!("Replica Name")),
        "{batch}"
    );
    assert_eq!(results[1]["found"], false, "{batch}");

    // An organisation only the replica has: found, with its staff as the replica has them.
    let staff = get_bearer(
        &app,
        &format!(
            "/v1/procurement/organizations/{}/standing?scheme=cissp",
            vendor.id
        ),
        &buyer,
    )
    .await;
    assert_eq!(staff.status(), 200, "the replica has the organisation");
    let staff: Value = staff.json().await.unwrap();
    assert_eq!(
        (&staff["confirmed_staff"], &staff["in_good_standing"]),
        (&json!(1), &json!(1)),
        "{staff}"
    );
    assert_eq!(staff["named"][0]["name"], "Replica Name", "{staff}");

    // Every answer about the holding is logged on the primary, none on the replica.
    assert_eq!(
        disclosures_of(primary_db, holding).await,
        3,
        "the single read, the batch and the organisation's named staff are logged on the primary"
    );
    assert_eq!(disclosures_of(primary_db, only_primary).await, 0);
    assert_eq!(
        disclosures::Entity::find().count(replica_db).await.unwrap(),
        0,
        "nothing is logged on the replica"
    );
    assert_eq!(
        projection_row(replica_db, holding).await,
        replica_row_before,
        "reading the replica's current verdict writes nothing there"
    );

    // The replica's verdict goes out of date: it is judged again on the primary, from the
    // primary's ledger, and written there; the replica is left as it was, to be replicated to.
    projection::Entity::update_many()
        .col_expr(
            projection::Column::RecheckAt,
            Expr::value(Utc::now() - Days::new(1)),
        )
        .filter(projection::Column::HoldingId.eq(holding))
        .exec(replica_db)
        .await
        .unwrap();
    let replica_row_stale = projection_row(replica_db, holding).await;
    let primary_row_before = projection_row(primary_db, holding).await;
    let judged = get_bearer(&app, "/v1/procurement/holdings/cissp/00770001", &buyer).await;
    assert_eq!(judged.status(), 200);
    let judged: Value = judged.json().await.unwrap();
    assert_eq!(
        judged["status"], "suspended",
        "an out-of-date verdict is judged on the primary, whose holding is suspended: {judged}"
    );
    assert!(
        judged.get("name").is_none(),
        "a holding that is not active names no one: {judged}"
    );
    let primary_row_after = projection_row(primary_db, holding).await;
    assert!(
        primary_row_after.updated_at > primary_row_before.updated_at,
        "the verdict judged again is written to the primary"
    );
    assert_eq!(
        projection_row(replica_db, holding).await,
        replica_row_stale,
        "nothing is written to the replica"
    );
    assert_eq!(disclosures_of(primary_db, holding).await, 4);
    assert_eq!(
        disclosures::Entity::find().count(replica_db).await.unwrap(),
        0
    );
}
