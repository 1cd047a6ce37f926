//! The server-rendered pages: sessions in a cookie, CSRF on every form, clear pages for links
//! that cannot be used.

use chrono::{Duration, Utc};
use entity::one_time_tokens;
use sea_orm::EntityTrait;
use sea_orm::sea_query::Expr;

use crate::db_test;
use crate::support_accounts::{Cookies, PASSWORD, csrf_field};

db_test! {
    async fn the_login_page_sets_an_httponly_samesite_csrf_cookie_and_signing_in_sets_the_session(app: TestApp) {
        let holder = app.active_holder().await;
        let page = app.get("/login").await;
        assert_eq!(page.status(), 200);
        let set_cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set_cookie.starts_with("cpe_csrf="), "{set_cookie}");
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
        let mut cookies = Cookies::default();
        cookies.absorb(&page);
        let html = page.text().await.unwrap();
        assert!(html.contains("サインイン"), "Japanese by default");

        let signed_in = app
            .client
            .post(app.url("/login"))
            .header("cookie", cookies.header())
            .form(&[("csrf", csrf_field(&html).as_str()), ("email", holder.email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 303);
        assert_eq!(signed_in.headers()["location"], "/");
        let session = signed_in.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(session.starts_with("cpe_session="), "{session}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(session.contains(attribute), "{attribute} missing: {session}");
        }
        // Plain http on 127.0.0.1: a Secure cookie would never come back.
        assert!(!session.contains("Secure"), "{session}");
        cookies.absorb(&signed_in);

        let home = app.client.get(app.url("/?lang=en")).header("cookie", cookies.header()).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let html = home.text().await.unwrap();
        assert!(html.contains(&holder.email), "{html}");
        assert!(html.contains("Certified Information Systems Security Professional"), "the holding is shown by its scheme's name: {html}");
        assert!(html.contains(r#"<span class="holding-status">Active</span>"#), "with its status: {html}");
        assert!(
            ["Complete", "On track", "At risk", "Past deadline (in grace)", "Lapsed"]
                .iter()
                .any(|state| html.contains(&format!("\">{state}</p>"))),
            "and its standing in words: {html}"
        );
        assert!(html.contains("Sign out"), "English when asked for");
    }
}

db_test! {
    async fn a_form_posted_without_its_csrf_token_is_refused_with_403(app: TestApp) {
        let holder = app.active_holder().await;
        let page = app.get("/login").await;
        let mut cookies = Cookies::default();
        cookies.absorb(&page);
        let without_field = app
            .client
            .post(app.url("/login"))
            .header("cookie", cookies.header())
            .form(&[("email", holder.email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(without_field.status(), 403);
        assert!(without_field.headers().get("set-cookie").is_none(), "no session");
        // A token from another browser (no matching cookie) is refused too.
        let without_cookie = app
            .client
            .post(app.url("/forgot"))
            .form(&[("csrf", "x".repeat(43).as_str()), ("email", holder.email.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(without_cookie.status(), 403);
    }
}

db_test! {
    async fn signing_out_needs_the_session_csrf_token_and_ends_the_session(app: TestApp) {
        let holder = app.active_holder().await;
        let page = app.get("/login").await;
        let mut cookies = Cookies::default();
        cookies.absorb(&page);
        let html = page.text().await.unwrap();
        let signed_in = app
            .client
            .post(app.url("/login"))
            .header("cookie", cookies.header())
            .form(&[("csrf", csrf_field(&html).as_str()), ("email", holder.email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        cookies.absorb(&signed_in);
        let home = app.client.get(app.url("/")).header("cookie", cookies.header()).send().await.unwrap();
        let home_html = home.text().await.unwrap();

        let forged = app
            .client
            .post(app.url("/logout"))
            .header("cookie", cookies.header())
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);

        let out = app
            .client
            .post(app.url("/logout"))
            .header("cookie", cookies.header())
            .form(&[("csrf", csrf_field(&home_html).as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 200);
        // The old cookie no longer opens the page, even if a browser kept it.
        let after = app.client.get(app.url("/")).header("cookie", cookies.header()).send().await.unwrap();
        assert_eq!(after.status(), 303);
        assert_eq!(after.headers()["location"], "/login");
    }
}

db_test! {
    async fn a_used_activation_link_shows_a_clear_page_the_second_time(app: TestApp) {
        let holder = app.seed_holder("ja").await;
        app.invite_holders().await;
        let link = app.only_email_to(&holder.email).link("/activate");
        assert_eq!(app.submit_link_form(&link, PASSWORD).await.status(), 303);

        let again = app.client.get(app.local_link(&link)).send().await.unwrap();
        assert_eq!(again.status(), 410);
        let html = again.text().await.unwrap();
        assert!(html.contains("すでに使われています"), "{html}");
        assert!(html.contains("href=\"/forgot\""), "offers a new link: {html}");
    }
}

db_test! {
    async fn an_expired_link_shows_a_clear_page(app: TestApp) {
        let holder = app.seed_holder("en").await;
        app.invite_holders().await;
        let link = app.only_email_to(&holder.email).link("/activate");
        one_time_tokens::Entity::update_many()
            .col_expr(one_time_tokens::Column::ExpiresAt, Expr::value(Utc::now() - Duration::minutes(1)))
            .exec(&app.state.db)
            .await
            .unwrap();
        let page = app
            .client
            .get(format!("{}&lang=en", app.local_link(&link)))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 410);
        let html = page.text().await.unwrap();
        assert!(html.contains("This link has expired."), "{html}");
        assert!(html.contains("Ask for a new link"), "{html}");
    }
}

db_test! {
    async fn a_mangled_link_is_a_400_page_not_an_error(app: TestApp) {
        let page = app.get("/reset?token=not-a-real-token&lang=en").await;
        assert_eq!(page.status(), 400);
        assert!(page.text().await.unwrap().contains("This link is not valid"));
        let none = app.get("/activate").await;
        assert_eq!(none.status(), 400);
    }
}

db_test! {
    async fn the_signed_in_page_sends_strangers_to_the_login_page(app: TestApp) {
        let response = app.get("/").await;
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], "/login");
    }
}
