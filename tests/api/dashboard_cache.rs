//! The professional's dashboard is kept in memory between reads, and must never outlive the
//! ledger it was computed from: whichever instance writes, the next read on any instance
//! shows the change.

use chrono::Days;
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::ledger;
use entity::credits;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::dashboard::{holding_id, import_holder, staff_credit, today, token_of};
use crate::db_test;
use crate::harness::TestApp;

async fn counted(app: &TestApp, token: &str, holding: &str) -> Value {
    let response = app
        .get_as(&format!("/v1/me/holdings/{holding}/standing"), token)
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["counted"].clone()
}

db_test! {
    async fn a_dashboard_read_again_shows_every_write_since_on_this_instance_and_on_another(app: TestApp) {
        let start = today() - Days::new(400);
        import_holder(&app, "cissp", "K1", "k1@example.jp", start).await;
        staff_credit(&app, ("cissp", "K1"), "education", start + Days::new(10), &["group_a=40"]).await;
        let token = token_of(&app, "k1@example.jp").await;
        let holding = holding_id(&app, "K1").await;
        let other = app.another_instance().await;

        assert_eq!(counted(&app, &token, &holding).await, 40);
        assert_eq!(counted(&app, &token, &holding).await, 40, "read again, unchanged");
        assert_eq!(counted(&other, &token, &holding).await, 40);

        // A credit recorded through the first instance's services: both instances see it.
        staff_credit(&app, ("cissp", "K1"), "education", start + Days::new(20), &["group_a=15"]).await;
        assert_eq!(counted(&app, &token, &holding).await, 55);
        assert_eq!(counted(&other, &token, &holding).await, 55);

        // Voided through the second instance's services, within the same second.
        let credit = credits::Entity::find()
            .filter(credits::Column::Title.contains((start + Days::new(20)).to_string()))
            .one(&app.state.db)
            .await
            .unwrap()
            .expect("the second credit");
        ledger::void_credit(&other.state.db, &other.state.schemes, credit.id, "duplicate", &Actor::cli("staff"))
            .await
            .unwrap();
        assert_eq!(counted(&app, &token, &holding).await, 40);
        assert_eq!(counted(&other, &token, &holding).await, 40);
        drop(other);
    }
}
