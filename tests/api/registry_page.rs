//! The public registry page: a form, and an answer that shows the always-public fields of a
//! holding and nothing the holder did not consent to, in Japanese and English, limited per
//! address.

use sea_orm::EntityTrait;

use crate::db_test;
use crate::support_clients::*;
use crate::support_credentials::page;

db_test! {
    async fn the_registry_shows_the_always_public_fields_and_nothing_else_in_both_languages(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let path = format!("/registry?scheme={scheme}&number={number}");

        let (status, en) = page(&app, &path, "en").await;
        assert_eq!(status, 200, "{en}");
        assert!(en.contains("Public registry"), "{en}");
        assert!(en.contains(&format!("<td id=\"result-number\">{number}</td>")), "{en}");
        assert!(en.contains("<td id=\"result-status\">Active</td>"), "{en}");
        assert!(en.contains("id=\"result-valid-until\""), "{en}");
        // The holder (山田 太郎, "Taro", holder@example.jp) consented to nothing.
        for private in ["山田", "Taro", "holder@example.jp", "result-name", "result-employer"] {
            assert!(!en.contains(private), "{private} leaked: {en}");
        }

        let (status, ja) = page(&app, &path, "ja").await;
        assert_eq!(status, 200);
        assert!(ja.contains("公開登録簿") && ja.contains("<td id=\"result-status\">有効</td>"), "{ja}");
        assert!(!ja.contains("山田"), "{ja}");

        let (status, en) = page(&app, &format!("/registry?scheme={scheme}&number=77777777"), "en").await;
        assert_eq!(status, 404);
        assert!(en.contains("No certification has that registration number"), "{en}");
        let (status, ja) = page(&app, "/registry", "ja").await;
        assert_eq!(status, 200, "the form alone");
        assert!(ja.contains("name=\"number\"") && !ja.contains("registry-result"), "{ja}");
        let (status, _) = page(&app, &format!("/registry?scheme={scheme}&number="), "en").await;
        assert_eq!(status, 422, "a lookup without a number says what is missing");
    }
}

db_test! {
    async fn registry_lookups_are_limited_per_address(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let path = format!("/registry?scheme={scheme}&number={number}");
        for _ in 0..cpe_ledger::services::throttle::ANONYMOUS_LOOKUPS_PER_ADDRESS {
            let (status, _) = page(&app, &path, "en").await;
            assert_eq!(status, 200);
        }
        let (status, en) = page(&app, &path, "en").await;
        assert_eq!(status, 429);
        assert!(en.contains("Too many lookups"), "{en}");
        assert!(!en.contains("result-number"), "a throttled lookup reveals nothing");
        // The form itself is still served.
        let (status, _) = page(&app, "/registry", "en").await;
        assert_eq!(status, 200);
    }
}

db_test! {
    async fn what_the_holder_consents_to_appears_for_that_audience_only(app: TestApp) {
        use cpe_ledger::services::consents::{self, Audience, Consents};
        let holder = app.seed_holder("ja").await;
        let number = entity::holdings::Entity::find_by_id(holder.holding_id)
            .one(&app.state.db).await.unwrap().unwrap().registration_number;
        let path = format!("/registry?scheme=cissp&number={number}");
        let (_, before) = page(&app, &path, "en").await;
        assert!(!before.contains("山田 太郎"), "{before}");

        // The name for the public registry only.
        consents::set(
            &app.state.db,
            &cpe_ledger::services::audit::Actor::user(uuid::Uuid::now_v7()),
            holder.professional_id,
            Audience::PublicRegistry,
            Consents { name: true, employer: false, course_history: false },
        )
        .await
        .unwrap();
        let (_, after) = page(&app, &path, "en").await;
        assert!(after.contains("<td id=\"result-name\">山田 太郎</td>"), "{after}");
        assert!(!after.contains("result-employer"), "{after}");

        // Procurement was not given the name: its credential says none.
        let client = make_client(&app, "procurement", &["procurement:read"], 100).await;
        let token = token_for(&app, &client).await;
        let issued: serde_json::Value = post_bearer(
            &app, &format!("/v1/procurement/holdings/cissp/{number}/credential"), &token, None,
        ).await.json().await.unwrap();
        let claims = crate::support_credentials::payload_of(issued["credential"].as_str().unwrap());
        assert!(claims["credentialSubject"].get("name").is_none(), "{claims}");

        // Once procurement may see it, the credential carries it.
        consents::set(
            &app.state.db,
            &cpe_ledger::services::audit::Actor::user(uuid::Uuid::now_v7()),
            holder.professional_id,
            Audience::Procurement,
            Consents { name: true, employer: false, course_history: false },
        )
        .await
        .unwrap();
        let issued: serde_json::Value = post_bearer(
            &app, &format!("/v1/procurement/holdings/cissp/{number}/credential"), &token, None,
        ).await.json().await.unwrap();
        let claims = crate::support_credentials::payload_of(issued["credential"].as_str().unwrap());
        assert_eq!(claims["credentialSubject"]["name"], "山田 太郎", "{claims}");

        // Both reads are in the holder's disclosure log.
        let logged = cpe_ledger::services::disclosures::of_professional(&app.state.db, holder.professional_id, None, 100)
            .await
            .unwrap();
        assert_eq!(logged.len(), 2, "{logged:?}");
    }
}
