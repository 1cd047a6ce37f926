//! Organisations: staff count only once they confirm their membership, and a buyer asking
//! about a vendor learns how many confirmed staff are in good standing and the names of those
//! who consented to be named, by scheme or by level.

use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::consents::{self, Audience, Consents};
use serde_json::{Value, json};

use crate::db_test;
use crate::support_accounts::PASSWORD;
use crate::support_clients::{audit_events_named, get_bearer, make_client, post_bearer, token_for};

db_test! {
    async fn only_staff_who_confirmed_count_and_only_those_who_consented_are_named(app: TestApp) {
        let named = app.active_holder().await;
        let unnamed = app.active_holder().await;
        let declining = app.active_holder().await;
        let silent = app.active_holder().await;
        let admin = make_client(&app, "admin", &["admin"], 100).await;
        let admin = token_for(&app, &admin).await;

        let created = post_bearer(&app, "/v1/admin/organizations", &admin, Some(json!({"name": "Vendor KK", "corporate_number": "1234567890123"}))).await;
        assert_eq!(created.status(), 201);
        let org: Value = created.json().await.unwrap();
        let org_id = org["id"].as_str().unwrap().to_owned();
        for who in [&named, &unnamed, &declining, &silent] {
            let claim = post_bearer(&app, &format!("/v1/admin/organizations/{org_id}/memberships"), &admin, Some(json!({"email": who.email}))).await;
            assert_eq!(claim.status(), 201);
        }
        let again = post_bearer(&app, &format!("/v1/admin/organizations/{org_id}/memberships"), &admin, Some(json!({"email": named.email}))).await;
        assert_eq!(again.status(), 409);

        let buyer = make_client(&app, "procurement", &[], 100).await;
        let buyer = token_for(&app, &buyer).await;
        let ask = |q: &str| format!("/v1/procurement/organizations/{org_id}/standing?{q}");
        let before: Value = get_bearer(&app, &ask("scheme=cissp"), &buyer).await.json().await.unwrap();
        assert_eq!(before["confirmed_staff"], 0, "a claim alone counts for nothing: {before}");
        assert_eq!(before["in_good_standing"], 0);

        // Each professional answers their own claim.
        for (who, reply) in [(&named, "confirm"), (&unnamed, "confirm"), (&declining, "decline")] {
            let token = app.login_as(&who.email, PASSWORD).await;
            let mine: Value = app.get_as("/v1/me/memberships", &token).await.json().await.unwrap();
            assert_eq!(mine[0]["state"], "pending", "{mine}");
            assert_eq!(mine[0]["organization_name"], "Vendor KK");
            let id = mine[0]["id"].as_str().unwrap();
            let answered = post_bearer(&app, &format!("/v1/me/memberships/{id}/{reply}"), &token, None).await;
            assert_eq!(answered.status(), if reply == "confirm" { 200 } else { 204 });
            let after: Value = app.get_as("/v1/me/memberships", &token).await.json().await.unwrap();
            if reply == "confirm" {
                assert_eq!(after[0]["state"], "confirmed");
            } else {
                assert_eq!(after, json!([]));
            }
        }
        // Someone else's membership is not found.
        let silent_token = app.login_as(&silent.email, PASSWORD).await;
        let theirs: Value = app.get_as("/v1/me/memberships", &silent_token).await.json().await.unwrap();
        let named_token = app.login_as(&named.email, PASSWORD).await;
        let stolen = post_bearer(&app, &format!("/v1/me/memberships/{}/confirm", theirs[0]["id"].as_str().unwrap()), &named_token, None).await;
        assert_eq!(stolen.status(), 404);
        assert_eq!(audit_events_named(&app, "membership.confirmed").await.len(), 2);
        assert_eq!(audit_events_named(&app, "membership.declined").await.len(), 1);

        consents::set(&app.state.db, &Actor::cli("test"), named.professional_id, Audience::Procurement,
            Consents { name: true, employer: false, course_history: false }).await.unwrap();

        let standing: Value = get_bearer(&app, &ask("scheme=CISSP"), &buyer).await.json().await.unwrap();
        assert_eq!(standing["confirmed_staff"], 2, "{standing}");
        assert_eq!(standing["in_good_standing"], 2, "{standing}");
        let listed = standing["named"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "{standing}");
        assert_eq!(listed[0]["name"], "山田 太郎");
        assert_eq!(listed[0]["scheme"], "cissp");
        assert_eq!(listed[0]["level"]["id"], "principal");

        // By level instead of scheme: CISSP is Principal in the example ladder.
        let by_level: Value = get_bearer(&app, &ask("min_level=practitioner"), &buyer).await.json().await.unwrap();
        assert_eq!(by_level["in_good_standing"], 2, "{by_level}");
        let too_high: Value = get_bearer(&app, &ask("min_level=chartered"), &buyer).await.json().await.unwrap();
        assert_eq!(too_high["in_good_standing"], 0, "{too_high}");
        assert_eq!(too_high["named"], json!([]));
        let other_scheme: Value = get_bearer(&app, &ask("scheme=riss"), &buyer).await.json().await.unwrap();
        assert_eq!(other_scheme["in_good_standing"], 0);

        // Only the named holding was disclosed, once per answer that named it.
        let log: Value = app.get_as("/v1/me/disclosures", &named_token).await.json().await.unwrap();
        assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");
        let unnamed_token = app.login_as(&unnamed.email, PASSWORD).await;
        let log: Value = app.get_as("/v1/me/disclosures", &unnamed_token).await.json().await.unwrap();
        assert_eq!(log["items"], json!([]));

        for (query, field) in [("", "scheme"), ("scheme=nope", "scheme"), ("min_level=wizard", "min_level")] {
            let refused = get_bearer(&app, &ask(query), &buyer).await;
            assert_eq!(refused.status(), 422, "{query}");
            let body: Value = refused.json().await.unwrap();
            assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
        }
        let unknown = get_bearer(&app, &format!("/v1/procurement/organizations/{}/standing?scheme=cissp", uuid::Uuid::now_v7()), &buyer).await;
        assert_eq!(unknown.status(), 404);
    }
}
