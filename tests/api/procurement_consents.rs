//! Consents: what a professional lets procurement systems and the public registry see, by API
//! and by page, with every change in the audit log.

use serde_json::{Value, json};

use crate::db_test;
use crate::harness::TestApp;
use crate::support_accounts::{Cookies, PASSWORD, csrf_field};
use crate::support_clients::audit_events_named;

async fn put_consents(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .put(app.url("/v1/me/consents"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

db_test! {
    async fn a_professional_shares_nothing_until_they_choose_and_every_change_is_audit_logged(app: TestApp) {
        let holder = app.active_holder().await;
        let token = app.login_as(&holder.email, PASSWORD).await;
        let nothing = json!({"name": false, "employer": false, "course_history": false});

        let before: Value = app.get_as("/v1/me/consents", &token).await.json().await.unwrap();
        assert_eq!(before, json!({"procurement": nothing, "public_registry": nothing}));

        let name_only = json!({"name": true, "employer": false, "course_history": false});
        let changed = put_consents(&app, &token, &json!({"procurement": name_only})).await;
        assert_eq!(changed.status(), 200);
        let changed: Value = changed.json().await.unwrap();
        assert_eq!(changed, json!({"procurement": name_only, "public_registry": nothing}));
        let read_back: Value = app.get_as("/v1/me/consents", &token).await.json().await.unwrap();
        assert_eq!(read_back, changed);

        let events = audit_events_named(&app, "consents.set").await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].subject_id.as_deref(), Some(holder.professional_id.to_string().as_str()));
        assert_eq!(events[0].before.as_ref().unwrap()["consents"], nothing);
        assert_eq!(events[0].after.as_ref().unwrap()["consents"], name_only);
        assert_eq!(events[0].after.as_ref().unwrap()["audience"], "procurement");

        // The same choice again changes nothing, so nothing more is logged.
        put_consents(&app, &token, &json!({"procurement": name_only})).await;
        assert_eq!(audit_events_named(&app, "consents.set").await.len(), 1);

        let wrong = put_consents(&app, &token, &json!({"procurement": {"name": "yes"}})).await;
        assert_eq!(wrong.status(), 422);
        assert_eq!(wrong.headers()["content-type"], "application/problem+json");
        assert_eq!(audit_events_named(&app, "consents.set").await.len(), 1);
    }
}

/// Signs in through the login page and answers the browser's cookies.
pub(crate) async fn page_session(app: &TestApp, email: &str) -> Cookies {
    let mut cookies = Cookies::default();
    let page = app.get("/login").await;
    cookies.absorb(&page);
    let html = page.text().await.unwrap();
    let signed_in = app
        .client
        .post(app.url("/login"))
        .header("cookie", cookies.header())
        .form(&[
            ("csrf", csrf_field(&html).as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    cookies.absorb(&signed_in);
    cookies
}

db_test! {
    async fn the_consents_page_saves_ticked_boxes_in_either_language_and_refuses_a_form_without_its_token(app: TestApp) {
        let holder = app.active_holder().await;
        let cookies = page_session(&app, &holder.email).await;

        let page = app.client.get(app.url("/consents?lang=en")).header("cookie", cookies.header()).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("What others may see"), "{html}");
        assert!(!html.contains("checked"), "nothing is shared by default: {html}");
        let csrf = csrf_field(&html);

        let forged = app.client.post(app.url("/consents")).header("cookie", cookies.header())
            .form(&[("csrf", "not-the-token"), ("procurement_name", "on")]).send().await.unwrap();
        assert_eq!(forged.status(), 403);
        assert!(audit_events_named(&app, "consents.set").await.is_empty());

        let saved = app.client.post(app.url("/consents?lang=ja")).header("cookie", cookies.header())
            .form(&[("csrf", csrf.as_str()), ("procurement_employer", "on"), ("public_registry_name", "on")])
            .send().await.unwrap();
        assert_eq!(saved.status(), 200);
        let html = saved.text().await.unwrap();
        assert!(html.contains("設定を保存しました"), "{html}");

        let token = app.login_as(&holder.email, PASSWORD).await;
        let now: Value = app.get_as("/v1/me/consents", &token).await.json().await.unwrap();
        assert_eq!(now["procurement"], json!({"name": false, "employer": true, "course_history": false}));
        assert_eq!(now["public_registry"], json!({"name": true, "employer": false, "course_history": false}));
        assert_eq!(audit_events_named(&app, "consents.set").await.len(), 2, "one change per audience");
    }
}
