//! Professionals report their own activities with evidence; staff review what a scheme asks
//! them to. One activity is logged once and counts toward every holding it may, in each
//! scheme's own words.

use cpe_ledger::auth::tokens::TokenUse;
use entity::{audit_events, credit_claims, credits, evidence, holdings, professionals, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_test;
use crate::harness::TestApp;
use crate::support_accounts::unique_email;

/// The smallest file each accepted type can be recognised by.
pub const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// A professional with an account and a token, and their holdings by registration number.
pub struct Reporter {
    pub email: String,
    pub token: String,
    pub professional_id: Uuid,
    pub holdings: Vec<(String, Uuid)>,
}

impl Reporter {
    pub fn holding(&self, number: &str) -> Uuid {
        self.holdings
            .iter()
            .find(|(n, _)| n == number)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("no holding {number}"))
    }
}

pub fn today() -> chrono::NaiveDate {
    // The professional's calendar (Asia/Tokyo) decides; this is a day inside it either way.
    chrono::Utc::now().date_naive() - chrono::Days::new(1)
}

/// Imports one professional holding `(scheme, registration number)` each, every cycle begun
/// 30 days ago, and signs them in.
pub async fn reporter(app: &TestApp, held: &[(&str, &str)]) -> Reporter {
    let email = unique_email("self");
    let start = chrono::Utc::now().date_naive() - chrono::Days::new(30);
    let mut csv = String::from(
        "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start\n",
    );
    for (scheme, number) in held {
        csv.push_str(&format!(
            "{scheme},{number},{email},Hanako Sato,,Hanako,{start},{start}\n"
        ));
    }
    let summary = cpe_ledger::services::registry_import::import(
        &app.state.db,
        &app.state.schemes,
        csv.as_bytes(),
        "holders.csv",
        &mut (),
    )
    .await
    .unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    let person = professionals::Entity::find()
        .filter(professionals::Column::Email.eq(email.as_str()))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.clone()),
        password_hash: Set(None),
        role: Set(users::UserRole::Professional),
        professional_id: Set(Some(person.id)),
        activated_at: Set(Some(chrono::Utc::now())),
        disabled_at: Set(None),
        sessions_revoked_at: Set(None),
        locale: Set(None),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let (token, _) = app
        .state
        .keys
        .issue(TokenUse::User, &user.id.to_string(), "professional")
        .unwrap();
    let holdings = holdings::Entity::find()
        .filter(holdings::Column::ProfessionalId.eq(person.id))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.registration_number, h.id))
        .collect();
    Reporter {
        email,
        token,
        professional_id: person.id,
        holdings,
    }
}

pub async fn admin_token(app: &TestApp) -> String {
    let admin = cpe_ledger::services::accounts::create_user(
        &app.state.db,
        &unique_email("admin"),
        "admin",
        "a long admin password",
    )
    .await
    .unwrap();
    app.state
        .keys
        .issue(TokenUse::User, &admin.id.to_string(), "admin")
        .unwrap()
        .0
}

pub async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Uploads `bytes` as evidence with the given declared name and type.
pub async fn upload(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    file_name: Option<&str>,
    content_type: &str,
) -> (u16, Value) {
    let mut url = app.url("/v1/me/evidence");
    if let Some(name) = file_name {
        url = format!(
            "{url}?file_name={}",
            url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        );
    }
    let response = app
        .client
        .post(url)
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(content_type, "application/problem+json", "{body}");
    }
    (status, body)
}

pub async fn evidence_id(app: &TestApp, token: &str) -> String {
    let (status, body) = upload(
        app,
        token,
        PDF.to_vec(),
        Some("certificate.pdf"),
        "application/pdf",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

pub fn course(evidence: Option<&str>) -> Value {
    let mut body = json!({
        "title": "Incident response course",
        "provider_name": "Security Academy",
        "completed_on": (today() - chrono::Days::new(4)).to_string(),
        "hours": 8,
    });
    if let Some(id) = evidence {
        body["evidence_id"] = json!(id);
    }
    body
}

pub async fn standing(app: &TestApp, reporter: &Reporter, number: &str) -> Value {
    let (status, body) = send(
        app,
        "GET",
        &format!("/v1/me/holdings/{}/standing", reporter.holding(number)),
        &reporter.token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn count<E>(app: &TestApp) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find().count(&app.state.db).await.unwrap()
}

/// An upload that must be refused: bytes, declared name and type, then the status, the field
/// and words of the answer.
type Refused = (
    Vec<u8>,
    Option<&'static str>,
    &'static str,
    u16,
    &'static str,
    &'static str,
);

fn field_of(problem: &Value) -> &str {
    problem["errors"][0]["field"].as_str().unwrap_or("")
}

db_test! {
    async fn one_self_reported_course_counts_toward_both_a_cissp_and_a_cisa_holding_under_each_schemes_own_activity_type(app: TestApp) {
        let me = reporter(&app, &[("cissp", "SR1001"), ("cisa", "SR2001")]).await;
        let file = evidence_id(&app, &me.token).await;
        let (status, credit) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&course(Some(&file)))).await;
        assert_eq!(status, 201, "{credit}");
        // ISC2 and ISACA accept CPEs as reported and audit afterwards: approved at once.
        assert_eq!(credit["state"], "approved");
        assert_eq!(credit["source"], "self");
        assert_eq!(credit["evidence"]["id"], file.as_str());
        assert_eq!(credit["evidence"]["media_type"], "application/pdf");
        let claims: Vec<(String, String, String, f64)> = credit["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (
                c["scheme"].as_str().unwrap().to_owned(),
                c["activity_type"].as_str().unwrap().to_owned(),
                c["category"].as_str().unwrap().to_owned(),
                c["points"].as_f64().unwrap(),
            ))
            .collect();
        assert_eq!(claims, [
            ("cisa".to_owned(), "training".to_owned(), "cpe".to_owned(), 8.0),
            ("cissp".to_owned(), "education".to_owned(), "group_a".to_owned(), 8.0),
        ]);

        let cissp = standing(&app, &me, "SR1001").await;
        assert_eq!(cissp["counted"], 8, "{cissp}");
        assert_eq!(cissp["counted_claims"][0]["activity_type"], "education");
        let cisa = standing(&app, &me, "SR2001").await;
        assert_eq!(cisa["counted"], 8, "{cisa}");
        assert_eq!(cisa["counted_claims"][0]["activity_type"], "training");
        // Logged once.
        let mine = credits::Entity::find()
            .filter(credits::Column::ProfessionalId.eq(me.professional_id))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(mine, 1);
    }
}

db_test! {
    async fn where_giac_lets_other_training_count_for_one_certification_a_self_report_counts_toward_one_giac_holding(app: TestApp) {
        let me = reporter(&app, &[("giac", "GC1001"), ("giac", "GC1002")]).await;
        let admin = admin_token(&app).await;
        let file = evidence_id(&app, &me.token).await;
        let mut body = course(Some(&file));
        body["hours"] = json!(6);
        let (status, preview) = send(&app, "POST", "/v1/me/credits/allocation", &me.token, Some(&body)).await;
        assert_eq!(status, 200, "{preview}");
        let mut outcomes: Vec<(f64, Value)> = preview["holdings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["counted"].as_f64().unwrap(), h["nothing"].clone()))
            .collect();
        outcomes.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(outcomes, [(0.0, json!("counts_for_n")), (6.0, Value::Null)]);

        let (status, credit) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&body)).await;
        assert_eq!(status, 201, "{credit}");
        let id = credit["id"].as_str().unwrap();
        let (status, _) = send(&app, "POST", &format!("/v1/admin/credits/{id}/review"), &admin, Some(&json!({"decision": "approve"}))).await;
        assert_eq!(status, 200);
        app.dispatch_pending_emails().await;
        let counted: Vec<f64> = [
            standing(&app, &me, "GC1001").await,
            standing(&app, &me, "GC1002").await,
        ]
        .iter()
        .map(|s| s["counted"].as_f64().unwrap())
        .collect();
        assert_eq!(counted.iter().sum::<f64>(), 6.0, "counts toward exactly one: {counted:?}");
        assert!(counted.contains(&0.0), "{counted:?}");
    }
}

db_test! {
    async fn evidence_over_5_mib_of_another_type_or_with_a_lying_name_or_header_is_refused_clearly_and_nothing_is_stored(app: TestApp) {
        let me = reporter(&app, &[("cissp", "EV1001")]).await;
        let mut too_big = PDF.to_vec();
        too_big.resize(5 * 1024 * 1024 + 1, b' ');
        let long_name: &'static str = format!("{}.png", "x".repeat(252)).leak();
        let cases: Vec<Refused> = vec![
            (too_big, Some("scan.pdf"), "application/pdf", 413, "body", "larger than"),
            // 256 characters: the documented limit is 255.
            (PNG.to_vec(), Some(long_name), "image/png", 422, "file_name", "at most 255 characters"),
            (b"MZ\x90\0\x03\0\0\0 an executable".to_vec(), Some("certificate.pdf"), "application/pdf", 415, "body", "not a PDF, PNG or JPEG"),
            (b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(), None, "application/octet-stream", 415, "body", "image/gif"),
            // A PNG named as a PDF: the name lies about the content.
            (PNG.to_vec(), Some("certificate.pdf"), "application/octet-stream", 422, "file_name", "content is a PNG"),
            // A PDF sent as a JPEG: the header lies.
            (PDF.to_vec(), None, "image/jpeg", 422, "content-type", "content is a PDF"),
            (Vec::new(), None, "application/pdf", 422, "body", "empty"),
        ];
        for (bytes, name, content_type, expected, field, words) in cases {
            let (status, problem) = upload(&app, &me.token, bytes, name, content_type).await;
            assert_eq!(status, expected, "{name:?} {content_type}: {problem}");
            assert_eq!(field_of(&problem), field, "{problem}");
            assert!(problem["detail"].as_str().unwrap().contains(words), "{problem}");
        }
        assert_eq!(count::<evidence::Entity>(&app).await, 0, "nothing refused is stored");
        // The control: the same PDF, honestly named, is stored once.
        let (status, stored) = upload(&app, &me.token, PDF.to_vec(), Some("修了証.PDF"), "application/pdf").await;
        assert_eq!(status, 201, "{stored}");
        assert_eq!(stored["size_bytes"], PDF.len());
        assert_eq!(stored["file_name"], "修了証.PDF");
        assert_eq!(stored["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(count::<evidence::Entity>(&app).await, 1);
        // It reads back byte for byte, as the type its content has.
        let response = app
            .client
            .get(app.url(&format!("/v1/me/evidence/{}", stored["id"].as_str().unwrap())))
            .bearer_auth(&me.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        assert_eq!(response.bytes().await.unwrap().as_ref(), PDF);
    }
}

db_test! {
    async fn a_credit_of_a_scheme_that_requires_review_is_pending_shows_as_pending_in_standing_and_counts_once_approved(app: TestApp) {
        let me = reporter(&app, &[("comptia-secplus", "CT1001")]).await;
        let admin = admin_token(&app).await;
        let file = evidence_id(&app, &me.token).await;
        let (status, credit) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&course(Some(&file)))).await;
        assert_eq!(status, 201, "{credit}");
        assert_eq!(credit["state"], "pending");
        let before = standing(&app, &me, "CT1001").await;
        assert_eq!((before["counted"].as_f64(), before["pending"].as_f64()), (Some(0.0), Some(8.0)), "{before}");

        let (status, queue) = send(&app, "GET", "/v1/admin/credits/pending", &admin, None).await;
        assert_eq!(status, 200, "{queue}");
        let queued = queue["items"].as_array().unwrap().iter().find(|i| i["credit"]["id"] == credit["id"]).expect("queued");
        assert_eq!(queued["professional_name"], "Hanako Sato");
        assert_eq!(queued["credit"]["evidence"]["id"], file.as_str());
        // Staff read the evidence through the admin API.
        let (status, _) = send(&app, "GET", &format!("/v1/admin/evidence/{file}"), &admin, None).await;
        assert_eq!(status, 200);

        let id = credit["id"].as_str().unwrap();
        let (status, decided) = send(&app, "POST", &format!("/v1/admin/credits/{id}/review"), &admin, Some(&json!({"decision": "approve"}))).await;
        assert_eq!(status, 200, "{decided}");
        assert_eq!(decided["state"], "approved");
        assert_eq!(decided["review"]["decision"], "approve");
        let after = standing(&app, &me, "CT1001").await;
        assert_eq!((after["counted"].as_f64(), after["pending"].as_f64()), (Some(8.0), Some(0.0)), "{after}");
        // Decided once: a second decision is a conflict, and the queue no longer holds it.
        let (status, _) = send(&app, "POST", &format!("/v1/admin/credits/{id}/review"), &admin, Some(&json!({"decision": "reject", "reason": "late"}))).await;
        assert_eq!(status, 409);
        let (_, queue) = send(&app, "GET", "/v1/admin/credits/pending", &admin, None).await;
        assert!(queue["items"].as_array().unwrap().iter().all(|i| i["credit"]["id"] != credit["id"]));
        let reviewed = audit_events::Entity::find()
            .filter(audit_events::Column::Action.eq("credit.reviewed"))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(reviewed, 1);
        app.dispatch_pending_emails().await;
        let mail = app.only_email_to(&me.email);
        assert!(mail.subject().contains("承認されました"), "{}", mail.subject());
    }
}

db_test! {
    async fn rejecting_a_pending_credit_needs_a_reason_and_the_email_tells_the_professional_the_reason(app: TestApp) {
        let me = reporter(&app, &[("giac", "GR1001")]).await;
        let admin = admin_token(&app).await;
        let file = evidence_id(&app, &me.token).await;
        let (_, credit) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&course(Some(&file)))).await;
        let path = format!("/v1/admin/credits/{}/review", credit["id"].as_str().unwrap());
        let (status, problem) = send(&app, "POST", &path, &admin, Some(&json!({"decision": "reject"}))).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_of(&problem), "reason");
        let (status, rejected) = send(&app, "POST", &path, &admin, Some(&json!({
            "decision": "reject",
            "reason": "The certificate does not show the hours attended.",
        }))).await;
        assert_eq!(status, 200, "{rejected}");
        assert_eq!(rejected["state"], "rejected");
        assert_eq!(standing(&app, &me, "GR1001").await["pending"], 0);
        app.dispatch_pending_emails().await;
        let mail = app.only_email_to(&me.email);
        assert!(mail.text().contains("The certificate does not show the hours attended."), "{}", mail.text());
        assert!(mail.subject().contains("承認されませんでした"), "{}", mail.subject());
        // The professional reads the decision with the credit.
        let (_, mine) = send(&app, "GET", &format!("/v1/me/credits/{}", credit["id"].as_str().unwrap()), &me.token, None).await;
        assert_eq!(mine["review"]["reason"], "The certificate does not show the hours attended.");
    }
}

db_test! {
    async fn a_professional_edits_and_withdraws_their_own_pending_credit_and_an_approved_one_answers_409(app: TestApp) {
        let me = reporter(&app, &[("giac", "ED1001"), ("cissp", "ED2001")]).await;
        let file = evidence_id(&app, &me.token).await;
        let giac_only = |hours: i64| {
            let mut body = course(Some(&file));
            body["hours"] = json!(hours);
            body["claims"] = json!([{ "scheme": "giac" }]);
            body
        };
        let (status, pending) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&giac_only(4))).await;
        assert_eq!((status, pending["state"].as_str()), (201, Some("pending")), "{pending}");
        let old = pending["id"].as_str().unwrap().to_owned();

        let (status, edited) = send(&app, "PUT", &format!("/v1/me/credits/{old}"), &me.token, Some(&giac_only(5))).await;
        assert_eq!(status, 200, "{edited}");
        assert_eq!(edited["replaces_credit_id"], old.as_str());
        assert_eq!(edited["hours"], 5);
        assert_eq!(edited["state"], "pending");
        let (_, replaced) = send(&app, "GET", &format!("/v1/me/credits/{old}"), &me.token, None).await;
        assert_eq!(replaced["state"], "voided");
        assert_eq!(standing(&app, &me, "ED1001").await["pending"], 5);

        let new = edited["id"].as_str().unwrap();
        let (status, withdrawn) = send(&app, "DELETE", &format!("/v1/me/credits/{new}"), &me.token, None).await;
        assert_eq!(status, 200, "{withdrawn}");
        assert_eq!(withdrawn["state"], "voided");
        assert_eq!(withdrawn["void_reason"], "withdrawn by the professional");
        assert_eq!(standing(&app, &me, "ED1001").await["pending"], 0);
        // Withdrawn is final.
        let (status, _) = send(&app, "DELETE", &format!("/v1/me/credits/{new}"), &me.token, None).await;
        assert_eq!(status, 409);

        // CISSP audits afterwards: approved at once, and then corrected only by staff.
        let mut cissp = course(None);
        cissp["claims"] = json!([{ "scheme": "cissp" }]);
        let (_, approved) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&cissp)).await;
        assert_eq!(approved["state"], "approved", "{approved}");
        let id = approved["id"].as_str().unwrap();
        for (method, body) in [("PUT", Some(&cissp)), ("DELETE", None)] {
            let (status, problem) = send(&app, method, &format!("/v1/me/credits/{id}"), &me.token, body).await;
            assert_eq!(status, 409, "{method}: {problem}");
            assert!(problem["detail"].as_str().unwrap().contains("void-and-replace"), "{problem}");
        }
        for action in ["credit.self_reported", "credit.voided"] {
            let n = audit_events::Entity::find()
                .filter(audit_events::Column::Action.eq(action))
                .count(&app.state.db)
                .await
                .unwrap();
            assert!(n >= 2, "{action}: {n}");
        }
    }
}

db_test! {
    async fn another_professionals_credit_or_evidence_answers_404(app: TestApp) {
        let owner = reporter(&app, &[("giac", "OW1001")]).await;
        let other = reporter(&app, &[("giac", "OT1001")]).await;
        let file = evidence_id(&app, &owner.token).await;
        let (_, credit) = send(&app, "POST", "/v1/me/credits", &owner.token, Some(&course(Some(&file)))).await;
        let id = credit["id"].as_str().unwrap();
        for (method, path, body) in [
            ("GET", format!("/v1/me/credits/{id}"), None),
            ("PUT", format!("/v1/me/credits/{id}"), Some(course(None))),
            ("DELETE", format!("/v1/me/credits/{id}"), None),
            ("GET", format!("/v1/me/evidence/{file}"), None),
        ] {
            let (status, problem) = send(&app, method, &path, &other.token, body.as_ref()).await;
            assert_eq!(status, 404, "{method} {path}: {problem}");
        }
        // Nor can another's file be attached to one's own credit.
        let (status, problem) = send(&app, "POST", "/v1/me/credits", &other.token, Some(&course(Some(&file)))).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_of(&problem), "evidence_id");
        let (_, list) = send(&app, "GET", "/v1/me/credits", &other.token, None).await;
        assert_eq!(list["items"], json!([]));
        // The owner still has it, untouched.
        let (status, mine) = send(&app, "GET", &format!("/v1/me/credits/{id}"), &owner.token, None).await;
        assert_eq!((status, mine["state"].as_str()), (200, Some("pending")));
    }
}

db_test! {
    async fn the_allocation_preview_writes_nothing_and_matches_what_saving_then_records(app: TestApp) {
        let me = reporter(&app, &[("cissp", "PV1001"), ("cisa", "PV2001"), ("riss", "PV3001")]).await;
        let file = evidence_id(&app, &me.token).await;
        let body = course(Some(&file));
        let rows = || async {
            (
                count::<credits::Entity>(&app).await,
                count::<credit_claims::Entity>(&app).await,
                count::<audit_events::Entity>(&app).await,
            )
        };
        let before = rows().await;
        let (status, preview) = send(&app, "POST", "/v1/me/credits/allocation", &me.token, Some(&body)).await;
        assert_eq!(status, 200, "{preview}");
        assert_eq!(rows().await, before, "the preview wrote something");
        assert_eq!(preview["state"], "approved");
        assert_eq!(preview["evidence_required"], json!(["cisa"]));
        let riss = preview["holdings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["scheme"] == "riss")
            .unwrap();
        assert_eq!(riss["nothing"], "not_claimed", "{riss}");

        let (status, saved) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&body)).await;
        assert_eq!(status, 201, "{saved}");
        let key = |c: &Value| (c["scheme"].to_string(), c["activity_type"].to_string(), c["category"].to_string(), c["points"].to_string());
        let mut previewed: Vec<_> = preview["claims"].as_array().unwrap().iter().map(key).collect();
        let mut recorded: Vec<_> = saved["claims"].as_array().unwrap().iter().map(key).collect();
        previewed.sort();
        recorded.sort();
        assert_eq!(previewed, recorded);
        for holding in preview["holdings"].as_array().unwrap() {
            if holding["scheme"] == "riss" {
                continue;
            }
            let number = if holding["scheme"] == "cissp" { "PV1001" } else { "PV2001" };
            assert_eq!(standing(&app, &me, number).await["counted"], holding["counted"], "{holding}");
        }
    }
}

db_test! {
    async fn what_the_rules_refuse_is_answered_422_naming_the_field_and_nothing_is_recorded(app: TestApp) {
        let me = reporter(&app, &[("cissp", "RF1001"), ("cisa", "RF2001")]).await;
        let cases: Vec<(Value, &str, &str)> = vec![
            // CISA's training needs an evidence file.
            (course(None), "evidence_id", "scheme cisa"),
            (
                json!({"claims": [{"scheme": "cissp"}, {"scheme": "cisa", "category": "group_a"}]}),
                "claims[1].category",
                "no category 'group_a'",
            ),
            (json!({"claims": [{"scheme": "giac"}]}), "claims[0].scheme", "no 'giac'"),
            (json!({"claims": [{"scheme": "cissp", "activity_type": "training"}]}), "claims[0].activity_type", "training"),
            (json!({"hours": 0}), "hours", "more than 0"),
            (json!({"completed_on": (chrono::Utc::now().date_naive() + chrono::Days::new(3)).to_string()}), "completed_on", "after today"),
            (json!({"completed_on": "2020-01-01", "claims": [{"scheme": "cissp"}]}), "completed_on", "outside the current cycle"),
            (json!({"title": " "}), "title", "empty"),
        ];
        for (change, field, words) in cases {
            let mut body = course(None);
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (status, problem) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&body)).await;
            assert_eq!(status, 422, "{body}: {problem}");
            assert_eq!(field_of(&problem), field, "{problem}");
            assert!(problem["errors"][0]["message"].as_str().unwrap().contains(words), "{problem}");
        }
        assert_eq!(count::<credits::Entity>(&app).await, 0);
    }
}
