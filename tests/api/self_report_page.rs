//! The self-report page: the preview shows where the activity would count, and the
//! professional adjusts that allocation within each scheme's rules before saving.

use entity::{credit_claims, credits};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::db_test;
use crate::harness::TestApp;
use crate::self_report::{Reporter, reporter, today};
use crate::support_accounts::csrf_field;

/// A `multipart/form-data` body of text fields, as a browser sends the form without a file.
fn multipart(fields: &[(&str, &str)]) -> (String, String) {
    let boundary = "----cpe-ledger-test-boundary";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn session(reporter: &Reporter) -> String {
    format!(
        "{}={}",
        cpe_ledger::http::pages::SESSION_COOKIE,
        reporter.token
    )
}

/// Sends the report form with `extra` fields; answers the status and the page.
async fn submit(app: &TestApp, reporter: &Reporter, extra: &[(&str, &str)]) -> (u16, String) {
    let form: String = app
        .client
        .get(app.url("/credits/new?lang=en"))
        .header("cookie", session(reporter))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_field(&form);
    let day = today().to_string();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("title", "Cloud security workshop"),
        ("provider_name", "Security Academy"),
        ("completed_on", day.as_str()),
        ("hours", "8"),
    ];
    fields.extend_from_slice(extra);
    let (content_type, body) = multipart(&fields);
    let response = app
        .client
        .post(app.url("/credits/new?lang=en"))
        .header("cookie", session(reporter))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn claims_of(app: &TestApp) -> Vec<(String, String, String, i64)> {
    let mut found: Vec<_> = credit_claims::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.scheme_id, c.activity_type, c.category, c.points))
        .collect();
    found.sort();
    found
}

db_test! {
    async fn the_preview_offers_every_scheme_with_its_activity_types_and_categories_to_adjust(app: TestApp) {
        let me = reporter(&app, &[("cissp", "C-ADJ1"), ("cisa", "A-ADJ1")]).await;
        let (status, page) = submit(&app, &me, &[("step", "preview")]).await;
        assert_eq!(status, 200);
        for scheme in ["cissp", "cisa"] {
            assert!(page.contains(&format!("name=\"claim.{scheme}.include\" value=\"1\" checked")), "{page}");
        }
        assert!(page.contains("<option value=\"group_b\">Group B (professional development)</option>"), "{page}");
        assert!(page.contains("name=\"adjusted\" value=\"1\""));
        assert_eq!(credits::Entity::find().count(&app.state.db).await.unwrap(), 0, "a preview writes nothing");
    }
}

db_test! {
    async fn a_scheme_left_out_and_points_lowered_on_the_preview_are_what_saving_records(app: TestApp) {
        let me = reporter(&app, &[("cissp", "C-ADJ2"), ("cisa", "A-ADJ2")]).await;
        let adjusted = [
            ("adjusted", "1"),
            ("claim.cissp.include", "1"),
            ("claim.cissp.activity_type", "education"),
            ("claim.cissp.category", "group_b"),
            ("claim.cissp.points", "5"),
            // CISA's row is sent without its checkbox: left out.
            ("claim.cisa.activity_type", "training"),
            ("claim.cisa.category", "cpe"),
            ("claim.cisa.points", "8"),
        ];
        let mut preview = adjusted.to_vec();
        preview.push(("step", "preview"));
        let (_, page) = submit(&app, &me, &preview).await;
        assert!(page.contains("name=\"claim.cisa.include\" value=\"1\">"), "CISA is offered back, unticked: {page}");
        assert!(page.contains("group_b 5"), "the allocation shown is the adjusted one: {page}");

        let mut save = adjusted.to_vec();
        save.push(("step", "save"));
        let (status, _) = submit(&app, &me, &save).await;
        assert_eq!(status, 303);
        assert_eq!(claims_of(&app).await, [("cissp".to_owned(), "education".to_owned(), "group_b".to_owned(), 500)]);
    }
}

db_test! {
    async fn an_adjustment_the_rules_refuse_is_shown_with_its_field_and_nothing_is_recorded(app: TestApp) {
        let me = reporter(&app, &[("cissp", "C-ADJ3")]).await;
        let (status, page) = submit(&app, &me, &[
            ("adjusted", "1"), ("claim.cissp.include", "1"), ("claim.cissp.activity_type", "education"),
            ("claim.cissp.category", "group_a"), ("claim.cissp.points", "many"), ("step", "save"),
        ]).await;
        assert_eq!(status, 200);
        assert!(page.contains("claim.cissp.points"), "{page}");
        let (_, page) = submit(&app, &me, &[
            ("adjusted", "1"), ("claim.cissp.include", "1"), ("claim.cissp.activity_type", "professional_development"),
            ("claim.cissp.category", "group_a"), ("claim.cissp.points", "4"), ("step", "save"),
        ]).await;
        assert!(page.contains("role=\"alert\""), "a category the activity type may not count in is refused: {page}");
        assert_eq!(credits::Entity::find().filter(credits::Column::Title.eq("Cloud security workshop")).count(&app.state.db).await.unwrap(), 0);
    }
}

db_test! {
    async fn staff_review_a_pending_credit_on_the_review_page_with_its_evidence_and_a_reason_to_reject(app: TestApp) {
        use crate::self_report::{admin_token, course, evidence_id, send};
        let me = reporter(&app, &[("giac", "G-PAGE1")]).await;
        let file = evidence_id(&app, &me.token).await;
        let (status, credit) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&course(Some(&file)))).await;
        assert_eq!((status, credit["state"].as_str()), (201, Some("pending")), "{credit}");
        let id = credit["id"].as_str().unwrap().to_owned();
        let admin = format!("{}={}", cpe_ledger::http::pages::SESSION_COOKIE, admin_token(&app).await);
        let get = |path: String, cookie: String| {
            let client = app.client.clone();
            let url = app.url(&path);
            async move { client.get(url).header("cookie", cookie).send().await.unwrap() }
        };

        let queue = get("/admin/review?lang=en".into(), admin.clone()).await.text().await.unwrap();
        assert!(queue.contains(&format!("id=\"credit-{id}\"")) && queue.contains("Security Academy"), "{queue}");
        let proof = get(format!("/admin/review?evidence={file}"), admin.clone()).await;
        assert_eq!(proof.status(), 200);
        assert_eq!(proof.bytes().await.unwrap().as_ref(), crate::self_report::PDF, "staff read the file itself");
        assert_eq!(get("/admin/review".into(), session(&me)).await.status(), 403, "a professional is not staff");

        let decide = |decision: &'static str, reason: &'static str| {
            let csrf = csrf_field(&queue);
            let (client, url, cookie, id) = (app.client.clone(), app.url("/admin/review?lang=en"), admin.clone(), id.clone());
            async move {
                client.post(url).header("cookie", cookie)
                    .form(&[("csrf", csrf.as_str()), ("credit_id", id.as_str()), ("decision", decision), ("reason", reason)])
                    .send().await.unwrap().text().await.unwrap()
            }
        };
        let refused = decide("reject", "").await;
        assert!(refused.contains("role=\"status\""), "{refused}");
        let (_, still) = send(&app, "GET", &format!("/v1/me/credits/{id}"), &me.token, None).await;
        assert_eq!(still["state"], "pending", "a rejection without a reason changes nothing");

        let done = decide("reject", "The certificate names another person").await;
        assert!(!done.contains(&format!("id=\"credit-{id}\"")), "decided credits leave the queue: {done}");
        let (_, decided) = send(&app, "GET", &format!("/v1/me/credits/{id}"), &me.token, None).await;
        assert_eq!(decided["state"], "rejected");
        assert_eq!(decided["review"]["reason"], "The certificate names another person");
        app.dispatch_pending_emails().await;
        let mail = app.only_email_to(&me.email);
        assert!(mail.text().contains("The certificate names another person"), "the professional is told why: {}", mail.text());
    }
}
