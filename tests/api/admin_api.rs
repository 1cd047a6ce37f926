//! The admin API for providers and clients, the procurement lookup, and the CLI mirror.

use cpe_ledger::auth::tokens::TokenUse;
use serde_json::{Value, json};

use crate::db_test;
use crate::harness::stdout_of;
use crate::support_clients::*;

db_test! {
    async fn an_admin_client_creates_a_provider_and_a_client_for_it(app: TestApp) {
        let admin = make_client(&app, "admin", &[], 100).await;
        let token = token_for(&app, &admin).await;

        let response = post_bearer(&app, "/v1/admin/providers", &token,
            Some(json!({"name": "Tokyo Security Academy", "contact_email": "office@academy.example.jp"}))).await;
        assert_eq!(response.status(), 201);
        let provider: Value = response.json().await.expect("json");
        assert_eq!(provider["status"], "approved");
        let provider_id = provider["id"].as_str().expect("id").to_owned();

        let again = post_bearer(&app, "/v1/admin/providers", &token,
            Some(json!({"name": "Tokyo Security Academy"}))).await;
        assert_eq!(again.status(), 409);
        assert_eq!(again.headers()["content-type"], "application/problem+json");

        let bad = post_bearer(&app, "/v1/admin/providers", &token,
            Some(json!({"name": "Other", "contact_email": "not-an-email"}))).await;
        assert_eq!(bad.status(), 422);
        let problem: Value = bad.json().await.expect("json");
        assert_eq!(problem["errors"][0]["field"], "contact_email");

        let extra = post_bearer(&app, "/v1/admin/providers", &token,
            Some(json!({"name": "Other", "status": "approved"}))).await;
        assert_eq!(extra.status(), 422, "unknown fields are refused");

        let one = get_bearer(&app, &format!("/v1/admin/providers/{provider_id}"), &token).await;
        assert_eq!(one.status(), 200);
        let list: Value = get_bearer(&app, "/v1/admin/providers", &token).await.json().await.expect("json");
        assert!(list["items"].as_array().expect("items").iter().any(|p| p["id"] == provider_id.as_str()));
        let missing = get_bearer(&app, &format!("/v1/admin/providers/{}", uuid::Uuid::now_v7()), &token).await;
        assert_eq!(missing.status(), 404);

        let response = post_bearer(&app, "/v1/admin/clients", &token, Some(json!({
            "name": "Academy attendance feed", "kind": "provider", "provider_id": provider_id,
            "rate_limit_per_minute": 50
        }))).await;
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.expect("json");
        assert_eq!(created["scopes"], "provider:write provider:read");
        let provider_client = TestClient {
            client_id: created["client_id"].as_str().expect("client_id").to_owned(),
            secret: created["client_secret"].as_str().expect("secret").to_owned(),
        };
        let provider_token = token_for(&app, &provider_client).await;

        let dup = post_bearer(&app, "/v1/admin/clients", &token, Some(json!({
            "name": "Academy attendance feed", "kind": "provider", "provider_id": provider_id
        }))).await;
        assert_eq!(dup.status(), 409);
        let no_provider = post_bearer(&app, "/v1/admin/clients", &token, Some(json!({
            "name": "Orphan", "kind": "provider"
        }))).await;
        assert_eq!(no_provider.status(), 422);
        let problem: Value = no_provider.json().await.expect("json");
        assert_eq!(problem["errors"][0]["field"], "provider_id");
        let provider_as_admin = post_bearer(&app, "/v1/admin/clients", &token, Some(json!({
            "name": "Overreaching feed", "kind": "provider", "provider_id": provider_id,
            "scopes": ["provider:read", "admin"]
        }))).await;
        assert_eq!(provider_as_admin.status(), 422, "a provider client cannot hold the admin scope");
        let problem: Value = provider_as_admin.json().await.expect("json");
        assert_eq!(problem["errors"][0]["field"], "scopes");

        let listing = get_bearer(&app, "/v1/admin/clients", &token).await.text().await.expect("text");
        assert!(listing.contains(&provider_client.client_id));
        assert!(!listing.contains(&provider_client.secret), "the list never shows a secret");
        assert!(!listing.contains("client_secret") && !listing.contains("secret_hash"), "{listing}");
        // The provider client is no admin: 403 while it is live.
        assert_eq!(get_bearer(&app, "/v1/admin/clients", &provider_token).await.status(), 403);

        // Suspending the provider disables its client, whose token stops at once.
        let response = post_bearer(&app, &format!("/v1/admin/providers/{provider_id}/disable"), &token, None).await;
        assert_eq!(response.status(), 200);
        let suspended: Value = response.json().await.expect("json");
        assert_eq!(suspended["status"], "suspended");
        let clients: Value = get_bearer(&app, "/v1/admin/clients", &token).await.json().await.expect("json");
        let row = clients["items"].as_array().expect("items").iter()
            .find(|c| c["client_id"] == provider_client.client_id.as_str()).cloned().expect("listed");
        assert!(row["disabled_at"].is_string());
        assert_bearer_refusal(get_bearer(&app, "/v1/admin/clients", &provider_token).await,
            "invalid_token", "a suspended provider's client").await;

        for action in ["provider.created", "provider.suspended", "client.created", "client.disabled"] {
            let events = audit_events_named(&app, action).await;
            assert!(!events.is_empty(), "{action} audited");
        }
        let created_events = audit_events_named(&app, "provider.created").await;
        assert_eq!(created_events[0].actor_id.as_deref(), Some(admin.client_id.as_str()));
    }
}

db_test! {
    async fn a_procurement_client_gets_403_insufficient_scope_on_the_admin_api(app: TestApp) {
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        let response = get_bearer(&app, "/v1/admin/clients", &token).await;
        assert_eq!(response.status(), 403);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let challenge = response.headers()["www-authenticate"].to_str().expect("ascii");
        assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""), "{challenge}");
        let response = post_bearer(&app, "/v1/admin/providers", &token, Some(json!({"name": "X"}))).await;
        assert_eq!(response.status(), 403);
    }
}

db_test! {
    async fn anonymous_admin_requests_are_401(app: TestApp) {
        let response = app.get("/v1/admin/providers").await;
        assert_bearer_refusal(response, "invalid_request", "no token").await;
        let response = app.client.post(app.url("/v1/admin/clients"))
            .json(&json!({"name": "x", "kind": "admin"})).send().await.expect("sent");
        assert_bearer_refusal(response, "invalid_request", "no token on a write").await;
    }
}

db_test! {
    async fn an_admin_user_reaches_the_admin_api_and_a_professional_does_not(app: TestApp) {
        let admin = cpe_ledger::services::accounts::create_user(
            &app.state.db, "staff@example.jp", "admin", "a long enough password").await.expect("admin");
        let (token, _) = app.state.keys.issue(TokenUse::User, &admin.id.to_string(), "admin").expect("token");
        assert_eq!(get_bearer(&app, "/v1/admin/providers", &token).await.status(), 200);

        let person = cpe_ledger::services::accounts::create_user(
            &app.state.db, "someone@example.jp", "professional", "a long enough password").await.expect("user");
        let (token, _) = app.state.keys.issue(TokenUse::User, &person.id.to_string(), "professional").expect("token");
        assert_eq!(get_bearer(&app, "/v1/admin/providers", &token).await.status(), 403);
    }
}

db_test! {
    async fn a_procurement_lookup_discloses_only_the_public_fields(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;

        let response = get_bearer(&app, &format!("/v1/procurement/holdings/{scheme}/{number}"), &token).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        let mut keys: Vec<&String> = body.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(keys, ["answered_at", "found", "in_good_standing", "level", "registration_number", "scheme", "standing", "status", "valid_until"]);
        assert_eq!(body["scheme"], "cissp");
        assert_eq!(body["status"], "active");
        assert_eq!(body["in_good_standing"], true);
        assert!(body["valid_until"].is_string());

        let missing = get_bearer(&app, &format!("/v1/procurement/holdings/{scheme}/99999999"), &token).await;
        assert_eq!(missing.status(), 404);
        assert_eq!(missing.headers()["content-type"], "application/problem+json");

        let provider = make_client(&app, "provider", &[], 100).await;
        let token = token_for(&app, &provider).await;
        let response = get_bearer(&app, &format!("/v1/procurement/holdings/{scheme}/{number}"), &token).await;
        assert_eq!(response.status(), 403);
    }
}

db_test! {
    async fn the_openapi_document_declares_bearer_security_on_protected_routes(app: TestApp) {
        let doc: Value = app.get("/openapi.json").await.json().await.expect("json");
        let bearer = &doc["components"]["securitySchemes"]["bearer"];
        assert_eq!(bearer["type"], "http");
        assert_eq!(bearer["scheme"], "bearer");
        assert_eq!(bearer["bearerFormat"], "JWT");
        for (path, method) in [
            ("/v1/procurement/holdings/{scheme}/{registration_number}", "get"),
            ("/v1/admin/providers", "post"),
            ("/v1/admin/providers", "get"),
            ("/v1/admin/providers/{id}", "get"),
            ("/v1/admin/providers/{id}/disable", "post"),
            ("/v1/admin/clients", "post"),
            ("/v1/admin/clients", "get"),
            ("/v1/admin/clients/{client_id}/disable", "post"),
            ("/v1/admin/clients/{client_id}/rotate-secret", "post"),
        ] {
            let op = &doc["paths"][path][method];
            assert!(op["security"][0].get("bearer").is_some(), "{method} {path}: {op}");
        }
        assert!(doc["paths"]["/oauth/token"]["post"].is_object());
        assert!(doc["paths"]["/.well-known/jwks.json"]["get"].is_object());
    }
}

db_test! {
    async fn the_cli_creates_providers_and_lists_disables_and_rotates_clients(app: TestApp) {
        let out = stdout_of(&app.cli(&["admin", "create-provider", "--name", "CLI Academy", "--contact-email", "cli@academy.example.jp"]));
        assert!(out.contains("CLI Academy"), "{out}");
        let out = stdout_of(&app.cli(&["admin", "create-client", "--name", "CLI buyer", "--kind", "procurement"]));
        let client_id = out.lines().find_map(|l| l.strip_prefix("client_id:")).expect("client_id").trim().to_owned();
        let secret = out.lines().find_map(|l| l.strip_prefix("client_secret:")).expect("secret").trim().to_owned();
        let client = TestClient { client_id: client_id.clone(), secret: secret.clone() };
        token_for(&app, &client).await;

        let listing = stdout_of(&app.cli(&["admin", "list-clients"]));
        assert!(listing.contains(&client_id) && listing.contains("active"), "{listing}");
        assert!(!listing.contains(&secret));

        let out = stdout_of(&app.cli(&["admin", "rotate-client-secret", &client_id]));
        let new_secret = out.lines().find_map(|l| l.strip_prefix("client_secret:")).expect("secret").trim().to_owned();
        let response = token_request_basic(&app, &client_id, &secret, "grant_type=client_credentials").await;
        assert_eq!(response.status(), 401);
        token_for(&app, &TestClient { client_id: client_id.clone(), secret: new_secret.clone() }).await;

        stdout_of(&app.cli(&["admin", "disable-client", &client_id]));
        let listing = stdout_of(&app.cli(&["admin", "list-clients"]));
        assert!(listing.contains("disabled"), "{listing}");
        let response = token_request_basic(&app, &client_id, &new_secret, "grant_type=client_credentials").await;
        assert_eq!(response.status(), 401);

        let failed = app.cli(&["admin", "disable-client", "cl_nobody"]);
        assert!(!failed.status.success());
    }
}

db_test! {
    async fn two_creations_of_one_provider_or_client_name_at_once_leave_one_row_and_one_conflict(app: TestApp) {
        use cpe_ledger::services::audit::Actor;
        use cpe_ledger::services::clients::{self, ClientError, NewClient};
        use cpe_ledger::services::providers::{self, NewProvider, ProviderError};
        use sea_orm::{EntityTrait, PaginatorTrait};

        let actor = Actor::cli("test");
        for round in 0..5 {
            let name = format!("Twin Academy {round}");
            let create = || providers::create_provider(&app.state.db, &actor, NewProvider { name: name.clone(), contact_email: None });
            let (a, b) = tokio::join!(create(), create());
            let conflicts = [&a, &b].iter().filter(|r| matches!(r, Err(ProviderError::Conflict(_)))).count();
            assert_eq!((a.is_ok() as usize + b.is_ok() as usize, conflicts), (1, 1), "{a:?} {b:?}");

            let client = || clients::create_client(&app.state.db, &actor, NewClient {
                name: format!("Twin system {round}"),
                kind: "procurement".into(),
                scopes: vec!["procurement:read".into()],
                provider_id: None,
                rate_limit_per_minute: 60,
            });
            let (a, b) = tokio::join!(client(), client());
            let conflicts = [&a, &b].iter().filter(|r| matches!(r, Err(ClientError::Conflict(_)))).count();
            assert_eq!((a.is_ok() as usize + b.is_ok() as usize, conflicts), (1, 1), "{:?} {:?}", a.err(), b.err());
        }
        assert_eq!(entity::providers::Entity::find().count(&app.state.db).await.unwrap(), 5);
    }
}
