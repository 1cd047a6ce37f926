//! Regression tests for what an outside probe of the service found: forwarded addresses,
//! response headers, signing-key rotation, registry encodings and sign-up abuse.

use entity::audit_events;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::harness::{Backend, TestApp};
use crate::support_accounts::unique_email;

async fn app_behind(proxies: &str) -> Option<TestApp> {
    let proxies = proxies.to_owned();
    TestApp::spawn_with(Backend::Sqlite, move |s| {
        s.trusted_proxies = Some(proxies.parse().expect("proxy addresses"));
    })
    .await
}

/// `X-Forwarded-For: 10.66.$i.1, 203.0.113.7:51234` once let the attacker pick a new identity
/// per request: the port form was skipped as unparsable and the entry to its left was taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_entry_with_a_port_is_the_client_so_guesses_from_it_are_throttled() {
    let Some(app) = app_behind("127.0.0.1").await else {
        return;
    };
    let mut statuses = Vec::new();
    for i in 0..25 {
        let forwarded = format!("10.66.{i}.1, 203.0.113.7:51234");
        statuses
            .push(login_from(&app, &forwarded, &unique_email("guess"), "not the password").await);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");

    let recorded: Vec<Option<String>> = audit_events::Entity::find()
        .filter(audit_events::Column::Ip.is_not_null())
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.ip)
        .collect();
    assert!(!recorded.is_empty());
    assert!(
        recorded
            .iter()
            .all(|ip| ip.as_deref() == Some("203.0.113.7")),
        "{recorded:?}"
    );
}

/// A malformed entry must not let the entry to its left through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_malformed_forwarded_entry_the_client_is_the_trusted_proxy() {
    let Some(app) = app_behind("127.0.0.1").await else {
        return;
    };
    for i in 0..21 {
        let forwarded = format!("10.66.{i}.1, garbage");
        let status = login_from(&app, &forwarded, &unique_email("guess"), "not the password").await;
        if i == 20 {
            assert_eq!(status, 429, "all guesses share the proxy's bucket");
        }
    }
}

/// A dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`; a proxy at 127.0.0.1 must still
/// be recognised, or every client behind it shares one throttling bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_dual_stack_listener_an_ipv4_proxy_is_still_trusted() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.listen = Some("[::]:0".parse().expect("an address"));
        s.trusted_proxies = Some("127.0.0.1".parse().expect("proxy addresses"));
    })
    .await
    else {
        return;
    };
    let login = format!("http://127.0.0.1:{}/v1/auth/login", app.address.port());
    for _ in 0..20 {
        let response = app
            .client
            .post(&login)
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({"email": unique_email("guess"), "password": "not the password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let neighbour = app
        .client
        .post(&login)
        .header("x-forwarded-for", "198.51.100.4")
        .json(&json!({"email": unique_email("other"), "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        neighbour.status(),
        401,
        "another client behind the proxy has its own bucket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_may_not_be_framed_sniffed_or_leak_its_url() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    for path in ["/login", "/forgot", "/reset?token=abc"] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_never_stored_by_caches_but_the_jwks_stays_cacheable() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.active_holder().await;
    let token = app
        .login_as(&holder.email, crate::support_accounts::PASSWORD)
        .await;
    for path in ["/v1/me", "/v1/me/holdings"] {
        let response = app.get_as(path, &token).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let login = app
        .post_json(
            "/v1/auth/login",
            &json!({"email": holder.email, "password": crate::support_accounts::PASSWORD}),
        )
        .await;
    assert_eq!(login.headers()["cache-control"], "no-store");
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_ne!(jwks.headers()["cache-control"], "no-store");
}

fn claims_of(token: &str) -> cpe_ledger::auth::tokens::AccessClaims {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn signing_key(app: &TestApp) -> entity::signing_keys::Model {
    use sea_orm::QueryOrder;
    // The token key; the credential key (RS256) shares the table.
    entity::signing_keys::Entity::find()
        .filter(
            entity::signing_keys::Column::Algorithm
                .eq(entity::signing_keys::SigningAlgorithm::EdDsa),
        )
        .filter(entity::signing_keys::Column::RetiredAt.is_null())
        .order_by_desc(entity::signing_keys::Column::CreatedAt)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

/// Signs `claims` (made fresh) with `key`, as someone holding a leaked private key would.
fn forge(
    key: &entity::signing_keys::Model,
    mut claims: cpe_ledger::auth::tokens::AccessClaims,
) -> String {
    let now = chrono::Utc::now().timestamp();
    claims.iat = now;
    claims.nbf = now;
    claims.exp = now + 600;
    claims.jti = uuid::Uuid::new_v4().to_string();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some(cpe_ledger::auth::tokens::ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(
        &header,
        &claims,
        &cpe_ledger::auth::keys::encoding_key(key).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_forged_with_a_key_retired_longer_ago_than_a_token_lives_is_refused() {
    use sea_orm::{ActiveModelTrait, Set};
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.active_holder().await;
    let token = app
        .login_as(&holder.email, crate::support_accounts::PASSWORD)
        .await;
    let leaked = signing_key(&app).await;
    assert_eq!(kid_of(&token), leaked.kid);

    cpe_ledger::auth::keys::rotate(&app.state.db).await.unwrap();
    app.state.keys.reload(&app.state.db).await.unwrap();
    // Just after the rotation, what the old key signed still works: nobody is signed out.
    let fresh_forgery = forge(&leaked, claims_of(&token));
    assert_eq!(app.get_as("/v1/me", &fresh_forgery).await.status(), 200);

    // Once every token the old key signed has expired, nothing it signs is accepted.
    let window = app.state.keys.access_token_window();
    let retired = chrono::Utc::now()
        - chrono::TimeDelta::from_std(window).unwrap()
        - chrono::TimeDelta::seconds(5);
    let mut row: entity::signing_keys::ActiveModel = entity::signing_keys::Entity::find()
        .filter(entity::signing_keys::Column::Kid.eq(leaked.kid.as_str()))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    row.retired_at = Set(Some(retired));
    row.update(&app.state.db).await.unwrap();
    app.state.keys.reload(&app.state.db).await.unwrap();

    let forged = forge(&leaked, claims_of(&token));
    let refused = app.get_as("/v1/me", &forged).await;
    assert_eq!(refused.status(), 401);
    // The JWKS may still list the key for offline verifiers of signed statements.
    let jwks: serde_json::Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == leaked.kid.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_reaches_another_running_instance_within_the_refresh_interval() {
    let Some(first) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.key_refresh_interval = Some("1".into());
    })
    .await
    else {
        return;
    };
    let second = cpe_ledger::startup::Application::build(first.config.clone())
        .await
        .unwrap();
    let second_url = format!("http://{}", second.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(second.run_until_stopped(async move {
        let _ = stopped.await;
    }));

    let holder = first.active_holder().await;
    let login = json!({"email": holder.email, "password": crate::support_accounts::PASSWORD});
    let before = first
        .login_as(&holder.email, crate::support_accounts::PASSWORD)
        .await;

    // Rotated elsewhere (the command line), told to neither instance.
    let new_key = cpe_ledger::auth::keys::rotate(&first.state.db)
        .await
        .unwrap();
    assert_ne!(kid_of(&before), new_key.kid);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    for base in [first.url(""), second_url] {
        let response = first
            .client
            .post(format!("{base}/v1/auth/login"))
            .json(&login)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(kid_of(token), new_key.kid, "{base} signs with the new key");
    }
    let _ = stop.send(());
}

async fn login_from(app: &TestApp, from: &str, email: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/v1/auth/login"))
        .header("x-forwarded-for", from)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_from_one_address_do_not_lock_the_owner_out_from_another() {
    use crate::support_accounts::PASSWORD;
    let Some(app) = app_behind("127.0.0.1").await else {
        return;
    };
    let holder = app.active_holder().await;
    for _ in 0..5 {
        assert_eq!(
            login_from(&app, "203.0.113.7", &holder.email, "not the password").await,
            401
        );
    }
    assert_eq!(
        login_from(&app, "203.0.113.7", &holder.email, PASSWORD).await,
        429,
        "the guessing address is throttled for this account"
    );
    assert_eq!(
        login_from(&app, "198.51.100.4", &holder.email, PASSWORD).await,
        200,
        "the owner elsewhere is not"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_password_reset_lifts_the_sign_in_throttle_of_the_account() {
    let Some(app) = app_behind("127.0.0.1").await else {
        return;
    };
    let holder = app.active_holder().await;
    for _ in 0..5 {
        login_from(&app, "203.0.113.7", &holder.email, "not the password").await;
    }
    let new_password = "a reset passphrase";
    assert_eq!(
        login_from(&app, "203.0.113.7", &holder.email, new_password).await,
        429
    );

    let requested = app
        .post_json("/v1/auth/password-reset", &json!({"email": holder.email}))
        .await;
    assert_eq!(requested.status(), 202);
    app.dispatch_pending_emails().await;
    let reset = app
        .emails_to(&holder.email)
        .into_iter()
        .find(|m| m.text().contains("/reset?token="))
        .expect("a reset email");
    assert_eq!(
        app.submit_link_form(&reset.link("/reset"), new_password)
            .await
            .status(),
        200
    );
    assert_eq!(
        login_from(&app, "203.0.113.7", &holder.email, new_password).await,
        200
    );
}

async fn sign_up_from(app: &TestApp, from: &str, email: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/auth/signup"))
        .header("x-forwarded-for", from)
        .json(&json!({"email": email, "password": "a long enough passphrase"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_are_limited_per_network_and_per_target_address() {
    use cpe_ledger::services::throttle::{SIGN_UPS_PER_EMAIL, SIGN_UPS_PER_RANGE};
    let Some(app) = app_behind("127.0.0.1").await else {
        return;
    };
    // One /24, a new address each time.
    for i in 0..SIGN_UPS_PER_RANGE {
        let response = sign_up_from(&app, &format!("203.0.113.{i}"), &unique_email("new")).await;
        assert_eq!(response.status(), 202);
    }
    let refused = sign_up_from(&app, "203.0.113.200", &unique_email("new")).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        sign_up_from(&app, "198.51.100.1", &unique_email("new"))
            .await
            .status(),
        202,
        "another network is not affected"
    );

    // One target address, asked for from many networks: activation mail cannot be aimed at it.
    let target = unique_email("victim");
    for i in 0..SIGN_UPS_PER_EMAIL {
        let response = sign_up_from(&app, &format!("192.0.{i}.1"), &target).await;
        assert_eq!(response.status(), 202);
    }
    assert_eq!(
        sign_up_from(&app, "192.0.100.1", &target).await.status(),
        429
    );
    // The accepted sign-ups' activation mail goes out; nothing is left in the outbox.
    while app.dispatch_pending_emails().await > 0 {}
    assert_eq!(
        app.emails_to(&target).len(),
        1,
        "one activation, however often the address is asked for"
    );
}

/// 900 sign-ups once delayed a real user's reset email by minutes: bulk mail went first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_email_goes_out_in_the_next_outbox_pass_ahead_of_a_backlog_of_activations() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.trusted_proxies = Some("127.0.0.1".parse().expect("proxy addresses"));
        s.outbox_batch = Some("5".to_owned());
    })
    .await
    else {
        return;
    };
    let holder = app.active_holder().await;
    // A backlog of bulk mail, larger than one pass, queued before the reset.
    for i in 0..12 {
        let response = sign_up_from(&app, &format!("198.51.{i}.1"), &unique_email("bulk")).await;
        assert_eq!(response.status(), 202);
    }
    let requested = app
        .post_json("/v1/auth/password-reset", &json!({"email": holder.email}))
        .await;
    assert_eq!(requested.status(), 202);

    assert_eq!(
        app.dispatch_pending_emails().await,
        5,
        "one pass sends the configured batch"
    );
    assert!(
        app.emails_to(&holder.email)
            .iter()
            .any(|m| m.text().contains("/reset?token=")),
        "the reset email went out in the first pass"
    );
    // The backlog follows in later passes.
    while app.dispatch_pending_emails().await > 0 {}
}

/// The policy every page is served with: nothing but its own stylesheet and images.
fn assert_page_policy(path: &str, response: &reqwest::Response) {
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "style-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            policy.contains(directive),
            "{path}: {directive} in {policy}"
        );
    }
    assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
    assert!(
        !policy.contains("script-src"),
        "{path}: no script is allowed at all: {policy}"
    );
    assert_eq!(
        response.headers()["x-content-type-options"],
        "nosniff",
        "{path}"
    );
    assert_eq!(
        response.headers()["referrer-policy"],
        "no-referrer",
        "{path}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_refuses_scripts_and_inline_styles_and_carries_none_itself() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.active_holder().await;
    let token = app
        .login_as(&holder.email, crate::support_accounts::PASSWORD)
        .await;
    let cookie = format!("{}={token}", cpe_ledger::http::pages::SESSION_COOKIE);
    let public = [
        "/login",
        "/forgot",
        "/reset?token=abc",
        "/activate?token=abc",
        "/registry",
        "/verify/abc",
        "/provider/upload",
    ];
    let signed_in = [
        "/",
        "/settings",
        "/credits",
        "/credits/new",
        "/consents",
        "/disclosures",
        "/calendar-feed",
        "/audit-requests",
    ];
    for (path, session) in public
        .iter()
        .map(|p| (*p, false))
        .chain(signed_in.iter().map(|p| (*p, true)))
    {
        let mut request = app.client.get(app.url(path));
        if session {
            request = request.header("cookie", &cookie);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success() || response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_page_policy(path, &response);
        let html = response.text().await.unwrap();
        for inline in ["<script", "<style", " style=", " onclick=", " onload="] {
            assert!(!html.contains(inline), "{path} carries {inline}");
        }
        assert!(
            html.contains(r#"<link rel="stylesheet" href="/assets/pages.css">"#),
            "{path}"
        );
    }
    let css = app.get("/assets/pages.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
    assert!(css.text().await.unwrap().contains("body.wide"));
}

fn jwks_kids(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_retired_key_distrusted_by_command_leaves_the_jwks_and_nothing_it_signed_verifies()
{
    use crate::support_credentials::{issue_own, professional_token, verdict_of};
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.active_holder().await;
    let token = app
        .login_as(&holder.email, crate::support_accounts::PASSWORD)
        .await;
    let leaked = kid_of(&token);
    assert_eq!(
        app.get_as("/v1/me", &token).await.status(),
        200,
        "verified once, and remembered"
    );
    let other = app.seed_holder("en").await;
    let other_token = professional_token(&app, &other).await;
    let credential = issue_own(&app, &other_token, &other).await["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let credential_kid = jsonwebtoken::decode_header(&credential)
        .unwrap()
        .kid
        .unwrap();

    let (code, message) = crate::harness::failure_of(&app.cli(&["admin", "distrust-key", &leaked]));
    assert_eq!(code, 1);
    assert!(
        message.contains("active signing key") && message.contains("rotate-keys"),
        "{message}"
    );
    let (_, message) =
        crate::harness::failure_of(&app.cli(&["admin", "distrust-key", "no-such-kid"]));
    assert!(message.contains("no signing key has the kid"), "{message}");

    assert!(app.cli(&["admin", "rotate-keys"]).status.success());
    for kid in [leaked.as_str(), credential_kid.as_str()] {
        let distrusted = app.cli(&["admin", "distrust-key", kid]);
        assert!(distrusted.status.success(), "{distrusted:?}");
        assert!(crate::harness::stdout_of(&distrusted).contains("is distrusted"));
    }
    let jwks: serde_json::Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let kids = jwks_kids(&jwks);
    assert!(!kids.contains(&leaked), "{kids:?}");
    assert!(!kids.contains(&credential_kid), "{kids:?}");
    assert_eq!(
        kids.len(),
        2,
        "the new token and credential keys stay published: {kids:?}"
    );

    // What a running instance does at its next key refresh.
    app.state.keys.reload(&app.state.db).await.unwrap();
    app.state
        .credential_keys
        .reload(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        app.get_as("/v1/me", &token).await.status(),
        401,
        "a remembered token too"
    );
    assert_ne!(verdict_of(&app, &credential).await["verdict"], "valid");
    let fresh = app
        .login_as(&holder.email, crate::support_accounts::PASSWORD)
        .await;
    assert_eq!(
        app.get_as("/v1/me", &fresh).await.status(),
        200,
        "the new key signs on"
    );

    let audit = entity::audit_events::Entity::find()
        .filter(entity::audit_events::Column::Action.eq("signing_key.distrusted"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 2);
}
