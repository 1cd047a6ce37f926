//! Professional accounts over the JSON API: invitation, activation, sign-in throttling,
//! logout, password reset, and reading one's own holdings.

use entity::{audit_events, one_time_tokens, users};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::db_test;
use crate::harness::without_request_id;
use crate::support_accounts::{PASSWORD, unique_email};

db_test! {
    async fn an_invited_holder_activates_by_the_emailed_link_and_can_then_sign_in(app: TestApp) {
        let holder = app.seed_holder("ja").await;
        let summary = app.invite_holders().await;
        assert_eq!(summary.invited, 1);

        let email = app.only_email_to(&holder.email);
        assert!(email.subject().contains("有効化"), "{}", email.subject());
        assert!(email.part("text/html").is_some(), "multipart with an HTML part");
        assert!(email.header("message-id").is_some());
        let link = email.link("/activate");

        // Before activation there is no way in.
        let refused = app
            .post_json("/v1/auth/login", &json!({"email": holder.email, "password": PASSWORD}))
            .await;
        assert_eq!(refused.status(), 401);

        let activated = app.submit_link_form(&link, PASSWORD).await;
        assert_eq!(activated.status(), 303);
        let token = app.login_as(&holder.email, PASSWORD).await;
        let me: serde_json::Value = app.get_as("/v1/me", &token).await.json().await.unwrap();
        assert_eq!(me["email"], holder.email.as_str());
        assert_eq!(me["legal_name"], "山田 太郎");
        assert_eq!(me["time_zone"], "Asia/Tokyo");
    }
}

db_test! {
    async fn inviting_twice_creates_no_second_account_and_sends_no_second_email(app: TestApp) {
        let holder = app.seed_holder("en").await;
        assert_eq!(app.invite_holders().await.invited, 1);
        let again = app.invite_holders().await;
        assert_eq!(again.invited, 0);
        assert_eq!(app.emails_to(&holder.email).len(), 1);
        let accounts = users::Entity::find()
            .filter(users::Column::Email.eq(holder.email.as_str()))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(accounts, 1);
    }
}

db_test! {
    async fn a_self_signed_up_account_is_activated_by_email_and_linked_to_no_holding(app: TestApp) {
        let email = unique_email("signup");
        let response = app
            .post_json("/v1/auth/signup", &json!({"email": email, "password": PASSWORD, "locale": "en"}))
            .await;
        assert_eq!(response.status(), 202);
        // The same answer for an address that already has an account.
        let again = app
            .post_json("/v1/auth/signup", &json!({"email": email, "password": PASSWORD}))
            .await;
        assert_eq!(again.status(), 202);
        app.dispatch_pending_emails().await;
        let message = app.only_email_to(&email);
        assert_eq!(message.subject(), "[cpe-ledger] Confirm your email address");
        assert_eq!(app.submit_link_form(&message.link("/activate"), PASSWORD).await.status(), 303);

        let token = app.login_as(&email, PASSWORD).await;
        let user = users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.professional_id, None);
        // Not a professional with holdings until the registry or staff link one.
        assert_eq!(app.get_as("/v1/me/holdings", &token).await.status(), 403);
    }
}

db_test! {
    async fn a_sign_up_with_a_short_password_names_the_field(app: TestApp) {
        let response = app
            .post_json("/v1/auth/signup", &json!({"email": unique_email("short"), "password": "short"}))
            .await;
        assert_eq!(response.status(), 422);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "password");
    }
}

db_test! {
    async fn an_unknown_email_and_a_wrong_password_get_identical_answers(app: TestApp) {
        let holder = app.active_holder().await;
        let wrong = app
            .post_json("/v1/auth/login", &json!({"email": holder.email, "password": "not the password"}))
            .await;
        let unknown = app
            .post_json("/v1/auth/login", &json!({"email": unique_email("nobody"), "password": "not the password"}))
            .await;
        assert_eq!(wrong.status(), 401);
        assert_eq!(unknown.status(), 401);
        let headers = |r: &reqwest::Response| {
            let mut names: Vec<String> = r
                .headers()
                .keys()
                .filter(|k| k.as_str() != "date")
                .map(|k| k.to_string())
                .collect();
            names.sort();
            names
        };
        assert_eq!(headers(&wrong), headers(&unknown));
        let wrong = without_request_id(wrong.json().await.unwrap());
        let unknown = without_request_id(unknown.json().await.unwrap());
        assert_eq!(wrong, unknown);
    }
}

db_test! {
    async fn the_sixth_failed_sign_in_for_an_account_is_throttled_and_audited(app: TestApp) {
        let holder = app.active_holder().await;
        let wrong = json!({"email": holder.email, "password": "wrong password!"});
        for _ in 0..5 {
            assert_eq!(app.post_json("/v1/auth/login", &wrong).await.status(), 401);
        }
        let sixth = app.post_json("/v1/auth/login", &wrong).await;
        assert_eq!(sixth.status(), 429);
        let retry_after: u64 = sixth.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
        // Even the right password waits now.
        let right = app
            .post_json("/v1/auth/login", &json!({"email": holder.email, "password": PASSWORD}))
            .await;
        assert_eq!(right.status(), 429);

        let count = |action: &'static str| {
            audit_events::Entity::find()
                .filter(audit_events::Column::Action.eq(action))
                .count(&app.state.db)
        };
        assert_eq!(count("login.failed").await.unwrap(), 5);
        // The two throttled attempts (same address, same email) are one row counting two.
        assert_eq!(count("login.throttled").await.unwrap(), 1);
        let throttled = audit_events::Entity::find()
            .filter(audit_events::Column::Action.eq("login.throttled"))
            .one(&app.state.db)
            .await
            .unwrap()
            .expect("a throttled row");
        assert_eq!(throttled.repeat_count, 2);
        let failed = audit_events::Entity::find()
            .filter(audit_events::Column::Action.eq("login.failed"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(failed.ip.as_deref(), Some("127.0.0.1"));
    }
}

db_test! {
    async fn logout_voids_the_token_that_was_used(app: TestApp) {
        let holder = app.active_holder().await;
        let token = app.login_as(&holder.email, PASSWORD).await;
        assert_eq!(app.get_as("/v1/me", &token).await.status(), 200);
        let out = app
            .client
            .post(app.url("/v1/auth/logout"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 204);
        assert_eq!(app.get_as("/v1/me", &token).await.status(), 401);
        // Signing in again works at once.
        let fresh = app.login_as(&holder.email, PASSWORD).await;
        assert_eq!(app.get_as("/v1/me", &fresh).await.status(), 200);
    }
}

db_test! {
    async fn a_password_reset_answers_202_for_anyone_and_revokes_old_tokens(app: TestApp) {
        let holder = app.active_holder().await;
        let old = app.login_as(&holder.email, PASSWORD).await;

        let nobody = unique_email("nobody");
        for email in [&holder.email, &nobody] {
            let response = app.post_json("/v1/auth/password-reset", &json!({"email": email})).await;
            assert_eq!(response.status(), 202);
        }
        app.dispatch_pending_emails().await;
        assert!(app.emails_to(&nobody).is_empty());
        let reset = app
            .emails_to(&holder.email)
            .into_iter()
            .find(|m| m.text().contains("/reset?token="))
            .expect("a reset email");

        let new_password = "a brand new passphrase";
        let done = app.submit_link_form(&reset.link("/reset"), new_password).await;
        assert_eq!(done.status(), 200);
        assert_eq!(app.get_as("/v1/me", &old).await.status(), 401);
        let refused = app
            .post_json("/v1/auth/login", &json!({"email": holder.email, "password": PASSWORD}))
            .await;
        assert_eq!(refused.status(), 401);
        let token = app.login_as(&holder.email, new_password).await;
        assert_eq!(app.get_as("/v1/me", &token).await.status(), 200);
    }
}

db_test! {
    async fn a_link_is_stored_only_as_its_sha256(app: TestApp) {
        let holder = app.seed_holder("ja").await;
        app.invite_holders().await;
        let link = app.only_email_to(&holder.email).link("/activate");
        let token = link.split("token=").nth(1).unwrap();
        let rows = one_time_tokens::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_ne!(rows[0].token_hash, token);
        assert_eq!(rows[0].token_hash, cpe_ledger::services::links::link_token_hash(token));
        let lifetime = rows[0].expires_at - rows[0].created_at;
        assert_eq!(lifetime.num_days(), 7);
    }
}

db_test! {
    async fn a_professional_sees_only_their_own_holdings_and_standing(app: TestApp) {
        let a = app.active_holder().await;
        let b = app.active_holder().await;
        let token = app.login_as(&a.email, PASSWORD).await;

        let holdings: serde_json::Value = app.get_as("/v1/me/holdings", &token).await.json().await.unwrap();
        let list = holdings.as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["id"], a.holding_id.to_string());
        assert_eq!(list[0]["scheme"], "cissp");
        assert_eq!(list[0]["status"], "active");
        assert!(list[0]["current_cycle"]["starts_on"].is_string());

        let own = app
            .get_as(&format!("/v1/me/holdings/{}/standing", a.holding_id), &token)
            .await;
        assert_eq!(own.status(), 200);
        let standing: serde_json::Value = own.json().await.unwrap();
        assert_eq!(standing["holding_id"], a.holding_id.to_string());
        assert!(standing["state"].is_string());

        let other = app
            .get_as(&format!("/v1/me/holdings/{}/standing", b.holding_id), &token)
            .await;
        assert_eq!(other.status(), 404);
        let missing = app
            .get_as(&format!("/v1/me/holdings/{}/standing", uuid::Uuid::new_v4()), &token)
            .await;
        assert_eq!(missing.status(), 404);
        let other = without_request_id(other.json().await.unwrap());
        let missing = without_request_id(missing.json().await.unwrap());
        assert_eq!(other, missing, "someone else's holding looks exactly like none");
    }
}

db_test! {
    async fn the_openapi_document_describes_the_account_routes_with_bearer_security(app: TestApp) {
        let doc: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
        for path in ["/v1/auth/login", "/v1/auth/logout", "/v1/auth/signup", "/v1/auth/password-reset"] {
            assert!(doc["paths"][path]["post"].is_object(), "{path}");
        }
        for path in ["/v1/me", "/v1/me/holdings", "/v1/me/holdings/{id}/standing"] {
            assert_eq!(doc["paths"][path]["get"]["security"][0]["bearer"], json!([]), "{path}");
        }
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    }
}

db_test! {
    async fn a_holder_who_signed_up_first_is_linked_by_the_registry_invitation(app: TestApp) {
        let holder = app.seed_holder("ja").await;
        let response = app
            .post_json("/v1/auth/signup", &json!({"email": holder.email, "password": PASSWORD}))
            .await;
        assert_eq!(response.status(), 202);
        let user = || async {
            users::Entity::find()
                .filter(users::Column::Email.eq(holder.email.as_str()))
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap()
        };
        assert_eq!(user().await.professional_id, None, "sign-up links nothing");
        // Whoever signed up may even have got the account activated (a victim clicking a link
        // they never asked for); the sign-up password must still not open the holder's records.
        let mut activated: users::ActiveModel = user().await.into();
        activated.activated_at = sea_orm::Set(Some(chrono::Utc::now()));
        sea_orm::ActiveModelTrait::update(activated, &app.state.db).await.unwrap();

        let summary = app.invite_holders().await;
        assert_eq!((summary.invited, summary.linked), (0, 1));
        assert_eq!(user().await.professional_id, Some(holder.professional_id));
        let signed_up_password = app
            .post_json("/v1/auth/login", &json!({"email": holder.email, "password": PASSWORD}))
            .await;
        assert_eq!(signed_up_password.status(), 401, "the sign-up password was cleared");
        // The sign-up's activation email and the invitation both went out.
        assert_eq!(app.emails_to(&holder.email).len(), 2);
    }
}

db_test! {
    async fn twenty_failed_sign_ins_from_one_address_throttle_every_account_from_it(app: TestApp) {
        let holder = app.active_holder().await;
        for _ in 0..20 {
            let guess = json!({"email": unique_email("guess"), "password": "not the password"});
            assert_eq!(app.post_json("/v1/auth/login", &guess).await.status(), 401);
        }
        let right = app
            .post_json("/v1/auth/login", &json!({"email": holder.email, "password": PASSWORD}))
            .await;
        assert_eq!(right.status(), 429);
        assert!(right.headers().contains_key("retry-after"));
    }
}

db_test! {
    async fn an_invited_holder_who_never_activated_gets_in_by_a_reset_link_which_spends_the_invitation(app: TestApp) {
        let holder = app.seed_holder("en").await;
        app.invite_holders().await;
        app.dispatch_pending_emails().await;
        let invitation = app.only_email_to(&holder.email).link("/activate");

        let response = app.post_json("/v1/auth/password-reset", &json!({"email": holder.email})).await;
        assert_eq!(response.status(), 202);
        app.dispatch_pending_emails().await;
        let reset = app
            .emails_to(&holder.email)
            .into_iter()
            .find(|m| m.text().contains("/reset?token="))
            .expect("a reset email");
        let new_password = "a reset passphrase";
        assert_eq!(app.submit_link_form(&reset.link("/reset"), new_password).await.status(), 200);
        let token = app.login_as(&holder.email, new_password).await;
        assert_eq!(app.get_as("/v1/me", &token).await.status(), 200);

        let late = app.client.get(app.local_link(&invitation)).send().await.unwrap();
        assert_eq!(late.status(), 410, "the invitation was spent by the reset");
    }
}

db_test! {
    async fn concurrent_guesses_for_one_account_get_no_more_tries_than_the_limit(app: TestApp) {
        let holder = app.active_holder().await;
        let mut guesses = tokio::task::JoinSet::new();
        for i in 0..20 {
            let client = app.client.clone();
            let url = app.url("/v1/auth/login");
            let body = json!({"email": holder.email, "password": format!("guess number {i}")});
            guesses.spawn(async move { client.post(url).json(&body).send().await.unwrap().status() });
        }
        let mut checked = 0;
        while let Some(status) = guesses.join_next().await {
            let status = status.unwrap().as_u16();
            assert!(matches!(status, 401 | 429), "{status}");
            if status == 401 {
                checked += 1;
            }
        }
        assert!(
            checked <= cpe_ledger::services::sign_in::LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
            "{checked} passwords were checked"
        );
    }
}

/// Behind a trusted load balancer, failures are counted per real client, not per balancer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_throttle_another() {
    let Some(app) = crate::harness::TestApp::spawn_with(crate::harness::Backend::Sqlite, |s| {
        s.trusted_proxies = Some(cpe_ledger::config::ProxyList(vec![std::net::IpAddr::from(
            [127, 0, 0, 1],
        )]));
    })
    .await
    else {
        return;
    };
    let holder = app.active_holder().await;
    for _ in 0..20 {
        let guess = json!({"email": unique_email("guess"), "password": "not the password"});
        let response = app
            .client
            .post(app.url("/v1/auth/login"))
            .header("x-forwarded-for", "203.0.113.7")
            .json(&guess)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let attacker = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"email": holder.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(attacker.status(), 429, "the guessing client is throttled");
    let neighbour = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.4")
        .json(&json!({"email": holder.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        neighbour.status(),
        200,
        "another client behind the same balancer is not"
    );
}

db_test! {
    async fn a_body_that_cannot_be_read_is_answered_as_problem_json_naming_what_is_wrong(app: TestApp) {
        let post = |content_type: &'static str, body: &'static str| {
            app.client
                .post(app.url("/v1/auth/signup"))
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let problem = |response: reqwest::Response| async move {
            let status = response.status().as_u16();
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body["errors"][0]["field"].as_str().unwrap_or_default().to_owned())
        };

        let (status, _) = problem(post("application/json", "{\"email\": ").await.unwrap()).await;
        assert_eq!(status, 400, "broken JSON is a syntax error");

        let (status, field) = problem(post("text/plain", "{}").await.unwrap()).await;
        assert_eq!((status, field.as_str()), (415, "content-type"));

        let (status, field) =
            problem(post("application/json", "{\"password\": \"long enough password\"}").await.unwrap()).await;
        assert_eq!((status, field.as_str()), (422, "email"), "a missing field is named");
    }
}
