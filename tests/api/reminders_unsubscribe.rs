//! Unsubscribing from reminders (RFC 8058): every reminder carries a signed one-click link per
//! reason and in its `List-Unsubscribe` header; a POST to it, with no login, stops those
//! reasons for that person and nothing else; the lapse notice is always sent.

use chrono::NaiveDate;
use cpe_ledger::auth::unsubscribe_token::{self, AUDIENCE, TYP};
use cpe_ledger::domain::reminders::Reason;
use cpe_ledger::services::reminders::{self, SweepOptions, SweepReport};
use entity::{professionals, reminder_items, reminder_preferences};
use jsonwebtoken::{Algorithm, Header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::db_test;
use crate::harness::{TestApp, stdout_of};
use crate::support_accounts::{ReceivedEmail, unique_email};
use crate::support_clients::{b64, server_key, sign};

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start,locale";

/// CISSP holders whose cycle runs 2023-10-01 .. 2026-09-30, with no credits yet.
fn import(app: &TestApp, people: &[(&str, &str, &str)]) {
    let rows: Vec<String> = people
        .iter()
        .map(|(number, email, locale)| {
            format!("cissp,{number},{email},山田 花子,ヤマダ ハナコ,Hanako,2023-10-01,2023-10-01,{locale}")
        })
        .collect();
    let path = app.file("holders.csv");
    std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let out = stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
    assert!(out.contains("0 rejected"), "{out}");
}

async fn sweep_on(app: &TestApp, as_of: &str) -> SweepReport {
    reminders::sweep(
        &app.state.db,
        &app.state.schemes,
        &app.config,
        SweepOptions {
            as_of: Some(as_of.parse::<NaiveDate>().unwrap()),
            dry_run: false,
            congratulate: true,
        },
    )
    .await
    .unwrap()
}

/// The reasons queued for `email`'s holdings, sorted.
async fn queued_reasons(app: &TestApp, email: &str) -> Vec<String> {
    let person = person(app, email).await;
    let holdings: Vec<uuid::Uuid> = entity::holdings::Entity::find()
        .filter(entity::holdings::Column::ProfessionalId.eq(person.id))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    let mut reasons: Vec<String> = reminder_items::Entity::find()
        .filter(reminder_items::Column::HoldingId.is_in(holdings))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|i| {
            format!(
                "{} {}",
                i.reason,
                i.dedupe_key.rsplit(':').next().unwrap_or("")
            )
        })
        .collect();
    reasons.sort();
    reasons
}

async fn person(app: &TestApp, email: &str) -> professionals::Model {
    professionals::Entity::find()
        .filter(professionals::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

/// The link of the `List-Unsubscribe` header, checked for RFC 8058's shape.
fn header_link(mail: &ReceivedEmail) -> String {
    assert_eq!(
        mail.header("list-unsubscribe-post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let value = mail
        .header("list-unsubscribe")
        .expect("a List-Unsubscribe header");
    let link = value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or_else(|| panic!("one <URI>: {value}"));
    assert!(link.contains("/unsubscribe?token="), "{link}");
    link.to_owned()
}

/// A one-click unsubscribe as a mail client sends it: a form POST, no cookie, no login.
async fn one_click(app: &TestApp, link: &str) -> reqwest::Response {
    app.client
        .post(app.local_link(link))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap()
}

db_test! {
    async fn a_one_click_unsubscribe_stops_that_reason_and_nothing_else(app: TestApp) {
        let (leaving, staying) = (unique_email("unsub-leaving"), unique_email("unsub-staying"));
        import(&app, &[("710001", &leaving, "en"), ("710002", &staying, "en")]);

        // 168 days before the deadline: only the 180-day reminder is due.
        let first = sweep_on(&app, "2026-04-15").await;
        assert_eq!((first.notifications, first.items), (2, 2), "{first:?}");
        assert_eq!(app.dispatch_pending_emails().await, 2);
        let mail = app.only_email_to(&leaving);
        let link = header_link(&mail);
        assert!(mail.text().contains("deadline reminders: http"), "{}", mail.text());

        let response = one_click(&app, &link).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"stopped": ["approaching"], "always_sent": ["lapsed"]}));
        // Pressing it again changes nothing and still answers 200.
        assert_eq!(one_click(&app, &link).await.status(), 200);

        // 41 days before the deadline: the 90-day reminder and the third year's minimum.
        let next = sweep_on(&app, "2026-08-20").await;
        assert_eq!((next.notifications, next.items), (2, 3), "{next:?}");
        assert_eq!(queued_reasons(&app, &leaving).await, ["approaching 180", "year_minimum year3"]);
        assert_eq!(
            queued_reasons(&app, &staying).await,
            ["approaching 180", "approaching 90", "year_minimum year3"],
            "someone else's preference changes nothing for them"
        );
        assert_eq!(app.dispatch_pending_emails().await, 2);
        let later = app.emails_to(&leaving);
        assert_eq!(later.len(), 2);
        let text = later[1].text();
        assert!(text.contains("Year 3 of the cycle ends on 30 September 2026"), "{text}");
        assert!(!text.contains("The renewal deadline is"), "the stopped reason is not in it: {text}");
        // The new email's header link stops what it is about: the yearly minimum.
        let link = header_link(&later[1]);
        assert_eq!(one_click(&app, &link).await.status(), 200);
        let stopped = reminder_preferences::Entity::find()
            .filter(reminder_preferences::Column::Subscribed.eq(false))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(stopped, 2);
    }
}

db_test! {
    async fn opening_an_unsubscribe_link_changes_nothing_until_its_button_posts(app: TestApp) {
        let email = unique_email("unsub-page");
        import(&app, &[("710010", &email, "ja")]);
        sweep_on(&app, "2026-04-15").await;
        app.dispatch_pending_emails().await;
        let mail = app.only_email_to(&email);
        let text = mail.text();
        assert!(text.contains("更新期限のお知らせ："), "{text}");
        assert!(text.contains("資格の失効のお知らせは常に送信されます。"), "{text}");
        let link = text
            .split_whitespace()
            .find_map(|w| w.split_once("更新期限のお知らせ：").map(|(_, link)| link))
            .unwrap_or_else(|| panic!("a per-reason link in {text}"))
            .to_owned();

        // A mail scanner or a reader opening the link: a page, in the email's language.
        let page = app.client.get(app.local_link(&link)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("このお知らせを停止しますか"), "{html}");
        assert!(html.contains("更新期限が近づいています"), "{html}");
        assert!(html.contains("name=\"List-Unsubscribe\" value=\"One-Click\""), "{html}");
        assert_eq!(
            reminder_preferences::Entity::find().count(&app.state.db).await.unwrap(),
            0,
            "opening the page stops nothing"
        );

        // Its button: a browser's form POST to the action it names, asking for HTML.
        let action = html
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .replace("&amp;", "&");
        let done = app
            .client
            .post(app.url(&action))
            .header("accept", "text/html,application/xhtml+xml")
            .form(&[("List-Unsubscribe", "One-Click")])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 200);
        let html = done.text().await.unwrap();
        assert!(html.contains("お知らせを停止しました"), "{html}");
        let stopped = reminder_preferences::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(stopped.len(), 1);
        assert_eq!((stopped[0].reason.as_str(), stopped[0].subscribed), ("approaching", false));
        assert_eq!(stopped[0].professional_id, person(&app, &email).await.id);
    }
}

db_test! {
    async fn a_forged_or_altered_unsubscribe_token_is_a_404_problem_and_changes_nothing(app: TestApp) {
        let email = unique_email("unsub-forged");
        import(&app, &[("710020", &email, "en")]);
        let person = person(&app, &email).await;
        let key = server_key(&app).await;
        let claims = json!({
            "iss": app.state.keys.issuer(),
            "aud": AUDIENCE,
            "sub": person.id.to_string(),
            "iat": chrono::Utc::now().timestamp(),
            "reasons": ["approaching"],
        });
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TYP.to_owned());
        header.kid = Some(key.kid.clone());
        let with = |name: &str, value: Value| {
            let mut c = claims.clone();
            c[name] = value;
            c
        };
        let good = sign(&header, &claims, &key.signing);
        let parts: Vec<&str> = good.split('.').collect();

        let mut cases: Vec<(&str, String)> = vec![
            ("not a token", "abc".to_owned()),
            ("empty", String::new()),
            ("alg none", format!("{}.{}.", b64(&json!({"alg": "none", "typ": TYP, "kid": key.kid})), b64(&claims))),
            ("payload altered after signing", format!("{}.{}.{}", parts[0], b64(&with("reasons", json!(["approaching", "due"]))), parts[2])),
            ("someone else named after signing", format!("{}.{}.{}", parts[0], b64(&with("sub", json!(uuid::Uuid::now_v7().to_string()))), parts[2])),
            ("wrong audience", sign(&header, &with("aud", json!("cpe-ledger-api")), &key.signing)),
            ("wrong issuer", sign(&header, &with("iss", json!("https://issuer.invalid")), &key.signing)),
            ("no subject", sign(&header, &{ let mut c = claims.clone(); c.as_object_mut().unwrap().remove("sub"); c }, &key.signing)),
            ("a subject who is no one", sign(&header, &with("sub", json!(uuid::Uuid::now_v7().to_string())), &key.signing)),
            ("an unknown reason", sign(&header, &with("reasons", json!(["everything"])), &key.signing)),
            ("no reason", sign(&header, &with("reasons", json!([])), &key.signing)),
            ("only the lapse notice", sign(&header, &with("reasons", json!(["lapsed"])), &key.signing)),
        ];
        let mut access = header.clone();
        access.typ = Some("at+jwt".to_owned());
        cases.push(("an access token's type", sign(&access, &claims, &key.signing)));
        let mut unknown_kid = header.clone();
        unknown_kid.kid = Some("not-our-key".to_owned());
        cases.push(("a key we do not have", sign(&unknown_kid, &claims, &key.signing)));
        let (access_token, _) = app
            .state
            .keys
            .issue(cpe_ledger::auth::tokens::TokenUse::User, &person.id.to_string(), "professional")
            .unwrap();
        cases.push(("a real access token", access_token));

        let mut failures = Vec::new();
        for (case, token) in &cases {
            let path = format!("/unsubscribe?token={}", urlencode(token));
            let post = app.client.post(app.url(&path)).body("List-Unsubscribe=One-Click").send().await.unwrap();
            let status = post.status().as_u16();
            let content_type = post.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let body: Value = post.json().await.unwrap_or(Value::Null);
            if status != 404 || content_type != "application/problem+json" || body["errors"][0]["field"] != "token" {
                failures.push(format!("POST {case}: {status} {content_type} {body}"));
            }
            let get = app.client.get(app.url(&path)).send().await.unwrap();
            if get.status() != 404 {
                failures.push(format!("GET {case}: {}", get.status()));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(reminder_preferences::Entity::find().count(&app.state.db).await.unwrap(), 0);

        let missing = app.client.post(app.url("/unsubscribe")).send().await.unwrap();
        assert_eq!(missing.status(), 400);
        let body: Value = missing.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "token", "{body}");

        // The control, last: the same claims signed as the server signs them pass.
        let response = one_click(&app, &format!("http://ledger.invalid/unsubscribe?token={good}")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(reminder_preferences::Entity::find().count(&app.state.db).await.unwrap(), 1);
    }
}

db_test! {
    async fn the_lapse_notice_is_sent_even_to_someone_who_stopped_every_other_reason(app: TestApp) {
        let email = unique_email("unsub-lapsed");
        import(&app, &[("710030", &email, "en")]);
        let person = person(&app, &email).await;
        let token = unsubscribe_token::sign(&app.state.keys, person.id, &Reason::ALL).unwrap();
        let response = one_click(&app, &format!("http://ledger.invalid/unsubscribe?token={token}")).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["stopped"], json!(["due", "approaching", "year_minimum", "slot", "complete"]));

        assert_eq!(sweep_on(&app, "2026-08-20").await.items, 0, "nothing else is sent");
        // Past the grace period (CISSP: 90 days after the expiry date): lapsed.
        let lapsed = sweep_on(&app, "2027-01-15").await;
        assert_eq!((lapsed.notifications, lapsed.items), (1, 1), "{lapsed:?}");
        app.dispatch_pending_emails().await;
        let mail = app.only_email_to(&email);
        assert!(mail.text().contains("certification has lapsed"), "{}", mail.text());
        assert_eq!(mail.header("list-unsubscribe"), None, "nothing in it can be stopped");
        assert!(!mail.text().contains("/unsubscribe"), "{}", mail.text());
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The `action` of the first form in `html`, as a path on the test server.
fn form_action(html: &str) -> String {
    html.split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a form in {html}"))
        .replace("&amp;", "&")
}

/// A browser's form POST, asking for HTML.
async fn browser_post(app: &TestApp, url: &str) -> reqwest::Response {
    app.client
        .post(url)
        .header("accept", "text/html,application/xhtml+xml")
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap()
}

db_test! {
    async fn subscribing_again_by_the_same_link_restores_that_reason_in_the_next_sweep_and_nothing_else(app: TestApp) {
        use crate::support_clients::audit_events_named;
        let (returning, other) = (unique_email("resub-returning"), unique_email("resub-other"));
        import(&app, &[("710101", &returning, "en"), ("710102", &other, "en")]);
        sweep_on(&app, "2026-04-15").await;
        assert_eq!(app.dispatch_pending_emails().await, 2);
        let link = header_link(&app.only_email_to(&returning));

        // Stopped from the page's button: the answer offers the way back.
        let done = browser_post(&app, &app.local_link(&link)).await;
        assert_eq!(done.status(), 200);
        let html = done.text().await.unwrap();
        assert!(html.contains("Reminders stopped"), "{html}");
        assert!(html.contains("Receive these reminders again"), "{html}");
        let resubscribe = form_action(&html);
        assert!(resubscribe.starts_with("/resubscribe?token="), "{resubscribe}");
        // Opening the link again shows the same offer, not a second confirmation.
        let reopened = app.client.get(app.local_link(&link)).send().await.unwrap().text().await.unwrap();
        assert!(reopened.contains("Receive these reminders again"), "{reopened}");
        assert!(!reopened.contains("Stop these reminders?"), "{reopened}");

        let again = browser_post(&app, &app.url(&resubscribe)).await;
        assert_eq!(again.status(), 200);
        let html = again.text().await.unwrap();
        assert!(html.contains("Reminders resumed"), "{html}");
        assert!(html.contains("The renewal deadline is approaching"), "{html}");
        assert!(form_action(&html).starts_with("/unsubscribe?token="), "it offers to stop them again: {html}");

        // The next threshold comes for both people alike.
        let next = sweep_on(&app, "2026-08-20").await;
        assert_eq!((next.notifications, next.items), (2, 4), "{next:?}");
        let expected = ["approaching 180", "approaching 90", "year_minimum year3"];
        assert_eq!(queued_reasons(&app, &returning).await, expected);
        assert_eq!(queued_reasons(&app, &other).await, expected);
        assert_eq!(app.dispatch_pending_emails().await, 2);
        let resumed = app.emails_to(&returning);
        assert!(resumed[1].text().contains("The renewal deadline is"), "{}", resumed[1].text());

        // Two changes, each logged with what it changed and nothing else.
        let events = audit_events_named(&app, "reminder_preferences.set").await;
        assert_eq!(events.len(), 2, "{events:?}");
        let person = person(&app, &returning).await;
        let all_on = json!({"lapsed": true, "due": true, "approaching": true, "year_minimum": true, "slot": true, "complete": true});
        let mut approaching_off = all_on.clone();
        approaching_off["approaching"] = json!(false);
        for (event, (before, after)) in events.iter().zip([(&all_on, &approaching_off), (&approaching_off, &all_on)]) {
            assert_eq!(event.subject_id.as_deref(), Some(person.id.to_string().as_str()));
            assert_eq!(event.before.as_ref(), Some(before));
            assert_eq!(event.after.as_ref(), Some(after));
        }

        // Once more by a mail client: it answers what it resumed and changes nothing.
        let repeat = app.client.post(app.url(&resubscribe)).send().await.unwrap();
        assert_eq!(repeat.status(), 200);
        assert_eq!(repeat.json::<Value>().await.unwrap(), json!({"resumed": ["approaching"]}));
        assert_eq!(audit_events_named(&app, "reminder_preferences.set").await.len(), 2);

        let forged = app.client.post(app.url("/resubscribe?token=abc")).send().await.unwrap();
        assert_eq!(forged.status(), 404);
        let body: Value = forged.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "token", "{body}");
    }
}

async fn put_preferences(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .put(app.url("/v1/me/reminder-preferences"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

db_test! {
    async fn a_professional_sets_only_their_own_reminder_preferences_and_cannot_turn_off_the_lapse_notice(app: TestApp) {
        use crate::support_accounts::PASSWORD;
        use crate::support_clients::audit_events_named;
        let a = app.active_holder().await;
        let b = app.active_holder().await;
        let (token_a, token_b) = (app.login_as(&a.email, PASSWORD).await, app.login_as(&b.email, PASSWORD).await);
        let all_on = json!({"approaching": true, "due": true, "year_minimum": true, "slot": true, "complete": true, "lapsed": true});
        let read = |token: String| {
            let app = &app;
            async move { app.get_as("/v1/me/reminder-preferences", &token).await.json::<Value>().await.unwrap() }
        };
        assert_eq!(read(token_a.clone()).await, all_on);

        let changed = put_preferences(&app, &token_a, &json!({"approaching": false, "complete": false})).await;
        assert_eq!(changed.status(), 200);
        let mut a_choice = all_on.clone();
        a_choice["approaching"] = json!(false);
        a_choice["complete"] = json!(false);
        assert_eq!(changed.json::<Value>().await.unwrap(), a_choice);
        assert_eq!(read(token_a.clone()).await, a_choice);

        // B sees and changes only B's own.
        assert_eq!(read(token_b.clone()).await, all_on);
        assert_eq!(put_preferences(&app, &token_b, &json!({"slot": false})).await.status(), 200);
        assert_eq!(read(token_a.clone()).await, a_choice, "B's change is not A's");

        // The lapse notice stays on, and the refusal says why, naming the field.
        let refused = put_preferences(&app, &token_a, &json!({"lapsed": false, "due": false})).await;
        assert_eq!(refused.status(), 422);
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "lapsed", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("always sent and cannot be turned off"), "{body}");
        assert_eq!(read(token_a.clone()).await, a_choice, "a refused request changes nothing");
        for wrong in [json!({"lapsed": "no"}), json!([]), json!({"everything": false})] {
            let response = put_preferences(&app, &token_a, &wrong).await;
            assert_eq!(response.status(), 422, "{wrong}");
        }
        assert_eq!(put_preferences(&app, &token_a, &json!({"lapsed": true})).await.status(), 200);

        let events = audit_events_named(&app, "reminder_preferences.set").await;
        let subjects: Vec<String> = events.iter().filter_map(|e| e.subject_id.clone()).collect();
        assert_eq!(subjects, [a.professional_id.to_string(), b.professional_id.to_string()], "one event per change");
        assert_eq!(events[0].after.as_ref(), Some(&a_choice));

        // 100 days before the holders' expiry: the 180-day reminder, for B only while A's is off.
        let cycle = entity::cycles::Entity::find()
            .filter(entity::cycles::Column::HoldingId.eq(a.holding_id))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let as_of = (cycle.ends_on - chrono::Days::new(100)).to_string();
        sweep_on(&app, &as_of).await;
        let approaching = |reasons: Vec<String>| reasons.iter().any(|r| r.starts_with("approaching"));
        assert!(!approaching(queued_reasons(&app, &a.email).await));
        assert!(approaching(queued_reasons(&app, &b.email).await));
        assert_eq!(put_preferences(&app, &token_a, &json!({"approaching": true})).await.status(), 200);
        sweep_on(&app, &as_of).await;
        assert!(approaching(queued_reasons(&app, &a.email).await), "turned on again, it comes in the next sweep");
        app.dispatch_pending_emails().await;
    }
}
