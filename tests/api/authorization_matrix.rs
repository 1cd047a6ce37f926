//! Every operation in `/openapi.json`, called by every kind of caller, against the allow/deny
//! the product promises. A route added without a row here fails the test, so authorization is
//! decided on purpose for each new route.

use std::collections::BTreeMap;

use cpe_ledger::auth::tokens::TokenUse;
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::providers::{self, NewProvider};
use entity::{holdings, professionals, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use crate::db_test;
use crate::harness::TestApp;
use crate::support_clients::{make_client, token_for};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Anonymous,
    ProfessionalA,
    ProfessionalB,
    ProviderX,
    ProviderY,
    Procurement,
    Admin,
}

const ROLES: [Role; 7] = [
    Role::Anonymous,
    Role::ProfessionalA,
    Role::ProfessionalB,
    Role::ProviderX,
    Role::ProviderY,
    Role::Procurement,
    Role::Admin,
];

/// Who may pass authorization on an operation.
enum Rule {
    /// Not behind a bearer token (health, JWKS, the token endpoint, sign-in).
    Public,
    /// Only these roles; every other role is refused with 401, 403 or 404.
    Only(&'static [Role]),
}

const PROFESSIONALS: &[Role] = &[Role::ProfessionalA, Role::ProfessionalB];
const USERS: &[Role] = &[Role::ProfessionalA, Role::ProfessionalB, Role::Admin];
const PROVIDERS: &[Role] = &[Role::ProviderX, Role::ProviderY];

/// The matrix. Paths are the OpenAPI templates; `{id}`-style parameters are filled with
/// records that belong to professional A, provider X or a spare client (see `fill`).
fn rule(method: &str, path: &str) -> Option<Rule> {
    use Role::*;
    Some(match (method, path) {
        ("GET", "/health/live" | "/health/ready" | "/.well-known/jwks.json") => Rule::Public,
        ("POST", "/oauth/token") => Rule::Public,
        ("POST", "/v1/auth/login" | "/v1/auth/signup" | "/v1/auth/password-reset") => Rule::Public,
        // The signed link is the authority (RFC 8058 one-click), not the caller.
        ("GET" | "POST", "/unsubscribe") | ("POST", "/resubscribe") => Rule::Public,
        ("POST", "/v1/auth/logout") => Rule::Only(USERS),
        ("GET", "/v1/me" | "/v1/me/holdings") => Rule::Only(PROFESSIONALS),
        // Every signed-in account has a language and a password, staff too; the matrix's
        // `{}` is answered 422, which is access.
        ("PUT", "/v1/me/locale") | ("POST", "/v1/me/password") => Rule::Only(USERS),
        ("GET" | "PUT", "/v1/me/consents") => Rule::Only(PROFESSIONALS),
        // Only the caller's own: there is no id to name anyone else's.
        ("GET" | "PUT", "/v1/me/reminder-preferences") => Rule::Only(PROFESSIONALS),
        ("GET", "/v1/me/disclosures" | "/v1/me/memberships") => Rule::Only(PROFESSIONALS),
        // Object level: B answering A's membership gets 404.
        ("POST", "/v1/me/memberships/{id}/confirm" | "/v1/me/memberships/{id}/decline") => {
            Rule::Only(&[ProfessionalA])
        }
        // Only the caller's own: lists, reports and previews name no one else.
        ("GET" | "POST", "/v1/me/credits")
        | ("POST", "/v1/me/credits/allocation" | "/v1/me/evidence") => Rule::Only(PROFESSIONALS),
        // Object level: B naming A's credit or evidence gets 404.
        ("GET" | "PUT" | "DELETE", "/v1/me/credits/{id}") | ("GET", "/v1/me/evidence/{id}") => {
            Rule::Only(&[ProfessionalA])
        }
        ("GET", "/v1/me/audit-requests") => Rule::Only(PROFESSIONALS),
        // Object level: B answering A's audit request gets 404.
        ("POST", "/v1/me/audit-requests/{id}") => Rule::Only(&[ProfessionalA]),
        ("GET", "/v1/procurement/organizations/{id}/standing") => Rule::Only(&[Procurement]),
        // Object level: B asking for A's holding gets 404.
        (
            "GET",
            "/v1/me/holdings/{id}/standing"
            | "/v1/me/holdings/{id}/transcript"
            | "/v1/me/holdings/{id}/plan"
            | "/v1/me/holdings/{id}/history",
        ) => Rule::Only(&[ProfessionalA]),
        // Each caller's own feed: created before it is stopped (deletions run last).
        ("GET" | "POST" | "DELETE", "/v1/me/calendar-feed") => Rule::Only(PROFESSIONALS),
        // Calendar programs cannot sign in: the secret in the address is the authority.
        ("GET", "/v1/calendar/{secret}") => Rule::Public,
        ("GET", "/v1/procurement/holdings/{scheme}/{registration_number}") => {
            Rule::Only(&[Procurement])
        }
        ("GET", "/v1/provider" | "/v1/provider/courses" | "/v1/provider/attendance")
        | ("POST", "/v1/provider/courses" | "/v1/provider/attendance") => Rule::Only(PROVIDERS),
        // Object level: provider Y asking for X's course or attendance gets 404.
        (_, "/v1/provider/courses/{id}" | "/v1/provider/attendance/{reference}") => {
            Rule::Only(&[ProviderX])
        }
        // Anyone may ask whether a credential stands (rate-limited per address).
        ("POST", "/v1/credentials/verify") => Rule::Public,
        ("GET" | "POST", "/v1/me/credentials") => Rule::Only(PROFESSIONALS),
        // Object level: B revoking A's credential gets 404.
        ("POST", "/v1/me/credentials/{id}/revoke") => Rule::Only(&[ProfessionalA]),
        ("POST", "/v1/procurement/holdings/{scheme}/{registration_number}/credential") => {
            Rule::Only(&[Procurement])
        }
        ("GET" | "POST", "/v1/procurement/webhooks") => Rule::Only(&[Procurement]),
        // Object level: the subscription belongs to the procurement client.
        ("DELETE", "/v1/procurement/webhooks/{id}") => Rule::Only(&[Procurement]),
        // The matrix sends `{}`: a procurement client is answered 422, which is access.
        ("POST", "/v1/procurement/verify") => Rule::Only(&[Procurement]),
        (_, p) if p.starts_with("/v1/admin/") => Rule::Only(&[Admin]),
        // The LRS says which versions it speaks to anyone.
        ("GET", "/xapi/about") => Rule::Public,
        // Each provider's own store; every other caller is refused.
        ("GET" | "POST" | "PUT", "/xapi/statements") => Rule::Only(&[ProviderX, ProviderY]),
        _ => return None,
    })
}

struct World {
    tokens: BTreeMap<Role, String>,
    params: BTreeMap<&'static str, String>,
}

async fn seed(app: &TestApp) -> World {
    let start = chrono::Utc::now().date_naive() - chrono::Days::new(30);
    let csv = format!(
        "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start\n\
         cissp,A0001,a@example.jp,Professional A,,A,{start},{start}\n\
         cissp,B0001,b@example.jp,Professional B,,B,{start},{start}\n"
    );
    let summary = cpe_ledger::services::registry_import::import(
        &app.state.db,
        &app.state.schemes,
        csv.as_bytes(),
        "matrix.csv",
        &mut (),
    )
    .await
    .unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);

    let mut tokens = BTreeMap::new();
    let mut holding_of_a = None;
    for (role, email, number) in [
        (Role::ProfessionalA, "a@example.jp", "A0001"),
        (Role::ProfessionalB, "b@example.jp", "B0001"),
    ] {
        let person = professionals::Entity::find()
            .filter(professionals::Column::Email.eq(email))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let user = users::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            email: Set(email.to_owned()),
            password_hash: Set(None),
            role: Set(users::UserRole::Professional),
            professional_id: Set(Some(person.id)),
            activated_at: Set(Some(chrono::Utc::now())),
            disabled_at: Set(None),
            sessions_revoked_at: Set(None),
            created_at: Set(chrono::Utc::now()),
            locale: Set(None),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
        let (token, _) = app
            .state
            .keys
            .issue(TokenUse::User, &user.id.to_string(), "professional")
            .unwrap();
        tokens.insert(role, token);
        if role == Role::ProfessionalA {
            let holding = holdings::Entity::find()
                .filter(holdings::Column::RegistrationNumber.eq(number))
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap();
            holding_of_a = Some(holding.id.to_string());
        }
    }

    let admin = cpe_ledger::services::accounts::create_user(
        &app.state.db,
        "admin@example.jp",
        "admin",
        "a long admin password",
    )
    .await
    .unwrap();
    let (token, _) = app
        .state
        .keys
        .issue(TokenUse::User, &admin.id.to_string(), "admin")
        .unwrap();
    tokens.insert(Role::Admin, token);

    // Provider X has a course and an attendance of professional A for the object-level rows.
    let x = crate::support_providers::accredited_provider(app, "Provider X").await;
    let course = crate::support_providers::publish_course(app, &x, "X-101").await;
    let report = crate::support_providers::report_of(
        crate::support_providers::post_attendance_json(
            app,
            &x,
            serde_json::json!([{
                "reference": "X-ATT-1", "course": "X-101", "scheme": "cissp",
                "registration_number": "A0001",
                "completed": chrono::Utc::now().date_naive().to_string(),
            }]),
        )
        .await,
    )
    .await;
    assert_eq!(report["summary"]["created"], 1, "{report}");
    tokens.insert(Role::ProviderX, x.token);
    for (role, kind, scopes) in [
        (
            Role::ProviderY,
            "provider",
            &["provider:write", "provider:read"][..],
        ),
        (Role::Procurement, "procurement", &["procurement:read"][..]),
    ] {
        let client = make_client(app, kind, scopes, 10_000).await;
        tokens.insert(role, token_for(app, &client).await);
    }

    // Records that admin operations may change without disturbing the callers above.
    let spare_provider = providers::create_provider(
        &app.state.db,
        &Actor::cli("matrix"),
        NewProvider {
            name: "Spare provider".to_owned(),
            contact_email: None,
        },
    )
    .await
    .unwrap();
    let spare_client = make_client(app, "procurement", &["procurement:read"], 10_000).await;

    // A credential of A's, and a subscription of the procurement client's.
    let holding_of_a = holding_of_a.unwrap();
    let issued: Value = app
        .client
        .post(app.url("/v1/me/credentials"))
        .bearer_auth(&tokens[&Role::ProfessionalA])
        .json(&serde_json::json!({ "holding_id": holding_of_a }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subscription: Value = app
        .client
        .post(app.url("/v1/procurement/webhooks"))
        .bearer_auth(&tokens[&Role::Procurement])
        .json(&serde_json::json!({
            "target_url": "https://buyer.example/hooks/status",
            "holdings": [{ "scheme": "cissp", "registration_number": "A0001" }],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Two organisations claim professional A: one claim to confirm, one to decline.
    let mut claims = Vec::new();
    for name in ["Confirmed KK", "Declined KK"] {
        let org = cpe_ledger::services::organisations::create(
            &app.state.db,
            &Actor::cli("matrix"),
            name,
            None,
        )
        .await
        .unwrap();
        let claim = cpe_ledger::services::organisations::claim_member(
            &app.state.db,
            &Actor::cli("matrix"),
            org.id,
            "a@example.jp",
        )
        .await
        .unwrap();
        claims.push((org.id, claim.id));
    }

    // A self-reported credit of A's (approved: CISSP audits afterwards) with its evidence.
    let evidence: Value = app
        .client
        .post(app.url("/v1/me/evidence?file_name=certificate.pdf"))
        .bearer_auth(&tokens[&Role::ProfessionalA])
        .header("content-type", "application/pdf")
        .body(crate::self_report::PDF)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let report = crate::self_report::course(evidence["id"].as_str());
    let credit: Value = app
        .client
        .post(app.url("/v1/me/credits"))
        .bearer_auth(&tokens[&Role::ProfessionalA])
        .json(&report)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let mut params = BTreeMap::new();
    params.insert(
        "credit_of_a",
        credit["id"].as_str().expect("a credit of A's").to_owned(),
    );
    params.insert(
        "evidence_of_a",
        evidence["id"].as_str().expect("evidence of A's").to_owned(),
    );
    params.insert("holding_of_a", holding_of_a);
    params.insert("audit_request_of_a", audit_request_of_a(app).await);
    params.insert("credential_of_a", issued["id"].as_str().unwrap().to_owned());
    params.insert("webhook", subscription["id"].as_str().unwrap().to_owned());

    params.insert("organisation", claims[0].0.to_string());
    params.insert("membership_to_confirm", claims[0].1.to_string());
    params.insert("membership_to_decline", claims[1].1.to_string());
    params.insert("provider", spare_provider.id.to_string());
    params.insert("client_id", spare_client.client_id);
    params.insert("course_of_x", course["id"].as_str().unwrap().to_owned());
    World { tokens, params }
}

fn fill(path: &str, world: &World) -> String {
    let p = |k: &str| world.params[k].clone();
    let id = if path.starts_with("/v1/me/credits/") || path.starts_with("/v1/admin/credits/") {
        p("credit_of_a")
    } else if path.starts_with("/v1/me/evidence/") || path.starts_with("/v1/admin/evidence/") {
        p("evidence_of_a")
    } else if path.starts_with("/v1/me/audit-requests/") {
        p("audit_request_of_a")
    } else if path.starts_with("/v1/me/holdings/") {
        p("holding_of_a")
    } else if path.starts_with("/v1/provider/courses/") {
        p("course_of_x")
    } else if path.ends_with("/confirm") {
        p("membership_to_confirm")
    } else if path.ends_with("/decline") {
        p("membership_to_decline")
    } else if path.starts_with("/v1/procurement/organizations/") {
        p("organisation")
    } else if path.starts_with("/v1/me/credentials/") {
        p("credential_of_a")
    } else if path.starts_with("/v1/procurement/webhooks/") {
        p("webhook")
    } else {
        p("provider")
    };
    path.replace("{id}", &id)
        .replace("{client_id}", &p("client_id"))
        .replace("{scheme}", "cissp")
        .replace("{registration_number}", "A0001")
        .replace("{reference}", "X-ATT-1")
}

/// Operations that end the caller's session run last, so they cannot spoil other rows.
fn ends_sessions(path: &str) -> bool {
    path == "/v1/auth/logout"
}

db_test! {
    async fn every_operation_allows_exactly_the_roles_the_matrix_names(app: TestApp) {
        let world = seed(&app).await;
        let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
        let mut operations = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, _) in item.as_object().unwrap() {
                if matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                    operations.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        assert!(operations.len() >= 10, "too few operations: {operations:?}");
        // Deletions run after the reads and writes of what they delete.
        operations.sort_by_key(|(method, path)| (ends_sessions(path), method == "DELETE"));

        let mut failures = Vec::new();
        for (method, path) in &operations {
            let Some(rule) = rule(method, path) else {
                failures.push(format!("{method} {path} is missing from the authorization matrix"));
                continue;
            };
            let url = app.url(&fill(path, &world));
            for role in ROLES {
                // The xAPI routes refuse a request that names no version before anything else.
                let mut request = app
                    .client
                    .request(method.parse().unwrap(), &url)
                    .header("X-Experience-API-Version", "1.0.3");
                if let Some(token) = world.tokens.get(&role) {
                    request = request.bearer_auth(token);
                }
                if method != "GET" {
                    request = request
                        .header("content-type", "application/json")
                        .body("{}");
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                if status >= 500 {
                    failures.push(format!("{method} {path} as {role:?}: server error {status}"));
                    continue;
                }
                let refused = matches!(status, 401 | 403 | 404);
                match &rule {
                    Rule::Public => {}
                    Rule::Only(allowed) => {
                        let expected_refusal = !allowed.contains(&role);
                        if refused != expected_refusal {
                            failures.push(format!(
                                "{method} {path} as {role:?}: status {status}, expected {}",
                                if expected_refusal { "refusal" } else { "access" }
                            ));
                        }
                        if refused && content_type != "application/problem+json" {
                            failures.push(format!(
                                "{method} {path} as {role:?}: refusal {status} is not problem+json"
                            ));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "authorization matrix:\n{}", failures.join("\n"));
    }
}

/// Who may pass on a page route (pages are not in OpenAPI; their list is `pages::routes()`).
enum PageRule {
    /// Anyone: shown, sent on, or refused for what was sent (a missing CSRF token, a bad
    /// link), never for who is asking.
    Public,
    /// Signed-in users of these roles; everyone else is sent to the sign-in page.
    Session(&'static [Role]),
}

fn page_rule(method: &str, path: &str) -> Option<PageRule> {
    Some(match (method, path) {
        ("GET", "/") | ("POST", "/logout") => PageRule::Session(USERS),
        // A form sent without its fields is shown again with its message (200).
        ("GET", "/settings") | ("POST", "/settings/language" | "/settings/password") => {
            PageRule::Session(USERS)
        }
        ("GET" | "POST", "/login" | "/activate" | "/reset" | "/forgot") => PageRule::Public,
        // Signed with the provider system's client secret in the form itself, not a session.
        ("GET" | "POST", "/provider/upload") => PageRule::Public,
        // A credential's verdict and the public registry are for anyone.
        ("GET", "/verify/{token}" | "/registry" | "/assets/pages.css") => PageRule::Public,
        ("POST", "/credentials") => PageRule::Session(PROFESSIONALS),
        // A staff account has no holdings to share: 403.
        ("GET" | "POST", "/consents" | "/calendar-feed") | ("GET", "/disclosures") => {
            PageRule::Session(PROFESSIONALS)
        }
        // Object level: B asking for A's transcript is not found.
        ("GET", "/transcript/{holding_id}") => PageRule::Session(&[Role::ProfessionalA]),
        // A professional's own activities; a staff account has none: 403.
        ("GET", "/credits") | ("GET" | "POST", "/credits/new") => PageRule::Session(PROFESSIONALS),
        // A professional's own requests for evidence; a staff account has none: 403.
        ("GET" | "POST", "/audit-requests") => PageRule::Session(PROFESSIONALS),
        // The review queue is the certification body's.
        ("GET" | "POST", "/admin/review") => PageRule::Session(&[Role::Admin]),
        _ => return None,
    })
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

db_test! {
    async fn every_page_route_lets_in_exactly_the_roles_the_matrix_names(app: TestApp) {
        let world = seed(&app).await;
        let paths: Vec<&str> = cpe_ledger::http::pages::routes()
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        assert!(paths.len() >= 5, "too few page routes: {paths:?}");

        // The methods each page answers: a method it does not serve is a 405.
        let mut pages = Vec::new();
        for path in &paths {
            let mut served = 0;
            for method in METHODS {
                let status = app
                    .client
                    .request(method.parse().unwrap(), app.url(path))
                    .send()
                    .await
                    .unwrap()
                    .status();
                if status != 405 {
                    served += 1;
                    pages.push((method, *path));
                }
            }
            assert!(served > 0, "{path} answers no method");
        }
        // Signing out ends the session, so it runs last.
        pages.sort_by_key(|(_, path)| *path == "/logout");

        let session = |role: Role| {
            world
                .tokens
                .get(&role)
                .map(|token| format!("{}={token}", cpe_ledger::http::pages::SESSION_COOKIE))
        };
        let mut failures = Vec::new();
        for (method, path) in &pages {
            let Some(rule) = page_rule(method, path) else {
                failures.push(format!("{method} {path} is missing from the page matrix"));
                continue;
            };
            for role in ROLES {
                // A signed-in form carries the token its page gave; a caller the home page
                // turns away has none to send.
                let mut csrf = String::new();
                if let Some(cookie) = session(role) {
                    let home = app.client.get(app.url("/")).header("cookie", &cookie).send().await.unwrap();
                    if home.status() == 200 {
                        csrf = crate::support_accounts::csrf_field(&home.text().await.unwrap());
                    }
                }
                let filled = path.replace("{holding_id}", &world.params["holding_of_a"]);
                let mut request = app.client.request(method.parse().unwrap(), app.url(&filled));
                if let Some(cookie) = session(role) {
                    request = request.header("cookie", cookie);
                }
                if *method != "GET" {
                    request = request.form(&[("csrf", csrf.as_str())]);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let to_login = status == 303
                    && response.headers().get("location").and_then(|v| v.to_str().ok()) == Some("/login");
                if status >= 500 {
                    failures.push(format!("{method} {path} as {role:?}: server error {status}"));
                    continue;
                }
                if let PageRule::Session(allowed) = &rule {
                    let admitted = !to_login && status < 400;
                    let refused = to_login || matches!(status, 401 | 403 | 404);
                    let expected = allowed.contains(&role);
                    if (expected && !admitted) || (!expected && !refused) {
                        failures.push(format!(
                            "{method} {path} as {role:?}: status {status}{}, expected {}",
                            if to_login { " to /login" } else { "" },
                            if expected { "the page" } else { "the sign-in page" }
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "page authorization matrix:\n{}", failures.join("\n"));
    }
}

/// A sample audit's request for the evidence of A's self-reported credit (A's is the only one).
async fn audit_request_of_a(app: &TestApp) -> String {
    use cpe_ledger::services::sample_audit::{Draw, draw};
    let drawn = draw(
        &app.state.db,
        &app.state.schemes,
        &app.config,
        &Actor::cli("matrix"),
        &Draw {
            scheme: "cissp".to_owned(),
            percent: 100,
            seed: 1,
            days_to_answer: 30,
        },
    )
    .await
    .unwrap();
    assert_eq!(drawn.credits.len(), 1, "A's credit alone is drawn");
    app.expect_left_in_outbox("a@example.jp");
    entity::audit_requests::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("an audit request")
        .id
        .to_string()
}
