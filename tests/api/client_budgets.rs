//! Machine clients' budgets behind a load balancer: instances on one database spend each
//! client's requests per minute from one shared budget.

use std::time::Instant;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::db_test;
use crate::harness::TestApp;
use crate::support_clients::*;

const BUDGET: i32 = 20;

/// Requests the budget may regain while a test runs: one per `60 / BUDGET` seconds since
/// `started`, plus one for the share under way. A budget refills as time passes; a slow run
/// must not read as overshoot.
fn regained_since(started: Instant) -> i32 {
    let share = 60 / u64::try_from(BUDGET).expect("positive");
    i32::try_from(started.elapsed().as_secs() / share).expect("small") + 1
}

/// Asserts a 429 problem whose `Retry-After` is at most `max_wait` seconds.
async fn assert_limited(response: reqwest::Response, max_wait: u64, case: &str) {
    assert_eq!(response.status(), 429, "{case}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{case}"
    );
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=max_wait).contains(&wait), "{case}: Retry-After {wait}");
    let body: Value = response.json().await.expect("problem");
    assert_eq!(body["status"], 429, "{case}");
}

struct Tally {
    allowed: i32,
    refused_by: [i32; 2],
}

/// Sends `attempts` verifies with `token`, alternating between the two instances; with
/// `flush`, each instance shares its count after every answer (requests further apart than
/// the flush interval). A refusal may ask to wait up to `max_wait()` seconds, as it is when
/// the refusal comes.
async fn spread(
    instances: [&TestApp; 2],
    route: &str,
    token: &str,
    attempts: usize,
    flush: bool,
    max_wait: impl Fn() -> u64,
) -> Tally {
    let mut tally = Tally {
        allowed: 0,
        refused_by: [0, 0],
    };
    for attempt in 0..attempts {
        let which = attempt % 2;
        let response = get_bearer(instances[which], route, token).await;
        match response.status().as_u16() {
            200 => tally.allowed += 1,
            429 => {
                tally.refused_by[which] += 1;
                assert_limited(
                    response,
                    max_wait(),
                    &format!("attempt {attempt} on instance {which}"),
                )
                .await;
            }
            other => panic!("attempt {attempt}: unexpected status {other}"),
        }
        if flush {
            // The instance that answered adds its request first, so the other reads it back.
            for instance in [instances[which], instances[1 - which]] {
                instance
                    .state
                    .client_limits
                    .flush()
                    .await
                    .expect("the budgets are shared");
            }
        }
    }
    tally
}

db_test! {
    async fn requests_spread_over_two_instances_spend_one_budget(app: TestApp) {
        let other = app.another_instance().await;
        let instances = [&app, &other];
        let (scheme, number) = seed_holding(&app).await;
        let route = format!("/v1/procurement/holdings/{scheme}/{number}");
        let client = make_client(&app, "procurement", &[], BUDGET).await;
        let bystander = make_client(&app, "procurement", &[], BUDGET).await;

        let started = Instant::now();
        // The token request spends one of the budget too.
        let token = token_for(&other, &client).await;
        // Spent exactly: the next request is one share of the minute away, 3 s.
        let tally = spread(instances, &route, &token, 2 * BUDGET as usize, true, || 3).await;
        let allowed = tally.allowed + 1;
        assert!(allowed >= BUDGET, "the whole budget is allowed: {allowed}");
        assert!(
            allowed <= BUDGET + regained_since(started),
            "one budget for both instances, not one each: {allowed} allowed"
        );
        assert!(
            tally.refused_by.iter().all(|n| *n > 0),
            "both instances refuse once it is spent: {:?}",
            tally.refused_by
        );

        // Another client's budget is its own, on either instance.
        let token = token_for(&app, &bystander).await;
        for instance in instances {
            assert_eq!(get_bearer(instance, &route, &token).await.status(), 200);
        }
        drop(other);
    }
}

db_test! {
    async fn a_burst_over_two_instances_overshoots_the_budget_by_little(app: TestApp) {
        let other = app.another_instance().await;
        let instances = [&app, &other];
        let (scheme, number) = seed_holding(&app).await;
        let route = format!("/v1/procurement/holdings/{scheme}/{number}");
        let client = make_client(&app, "procurement", &[], BUDGET).await;

        // No pause between requests: each instance learns what the other allowed only from
        // its own flushes (every 250 ms, and at once after a tenth of the budget here), so
        // a little more than the budget may get through, never a budget per instance.
        let started = Instant::now();
        let token = token_for(&app, &client).await;
        // What got through beyond the budget is owed before the next request: 3 s each, for
        // at most the overshoot the count below allows (a slow run regains a little).
        let max_wait = || {
            let overshoot = BUDGET / 2 + regained_since(started);
            3 * (1 + u64::try_from(overshoot).expect("positive"))
        };
        let tally = spread(instances, &route, &token, 2 * BUDGET as usize, false, max_wait).await;
        let allowed = tally.allowed + 1;
        assert!(allowed >= BUDGET, "the whole budget is allowed: {allowed}");
        assert!(
            allowed <= BUDGET + BUDGET / 2 + regained_since(started) && allowed < 2 * BUDGET,
            "at most a small overshoot, never a budget per instance: {allowed} allowed of {}",
            2 * BUDGET
        );
        assert!(
            tally.refused_by.iter().all(|n| *n > 0),
            "both instances refuse once it is spent: {:?}",
            tally.refused_by
        );
        drop(other);
    }
}

db_test! {
    async fn a_budget_holds_while_the_shared_budgets_cannot_be_written(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let route = format!("/v1/procurement/holdings/{scheme}/{number}");
        let client = make_client(&app, "procurement", &[], 3).await;
        app.refuse_inserts("client_request_budgets", "client_id", &client.client_id).await;

        // Requests neither wait for nor fail with the shared budget: this instance counts them.
        let token = token_for(&app, &client).await;
        assert_eq!(get_bearer(&app, &route, &token).await.status(), 200);
        assert_eq!(get_bearer(&app, &route, &token).await.status(), 200);
        assert!(app.state.client_limits.flush().await.is_err(), "the database refuses the count");
        assert_limited(get_bearer(&app, &route, &token).await, 20, "over budget").await;

        // Once the database takes them, the three requests are added to the shared budget.
        app.stop_refusing("client_request_budgets").await;
        app.state.client_limits.flush().await.expect("the budgets are shared");
        let cell = entity::client_request_budgets::Entity::find()
            .filter(entity::client_request_budgets::Column::ClientId.eq(client.client_id.as_str()))
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("the client's shared budget");
        let ahead = cell.full_at - chrono::Utc::now().timestamp_micros();
        assert!(ahead > 50_000_000, "three requests of 20 s each: {ahead} µs");
        assert_limited(get_bearer(&app, &route, &token).await, 20, "still over budget").await;
    }
}
