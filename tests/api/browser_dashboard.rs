//! The dashboard and the settings in headless Chromium: sign in, read the cards, switch the
//! language, keep a language chosen in the settings across sign-ins, change the password.
//!
//! Screenshots of the dashboard in both languages at desktop (1280 px) and phone (390 px)
//! width are written to `target/screenshots/` (the build's target folder), the folder CI
//! keeps as an artifact.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{Days, Months, Utc};
use entity::credits::{CreditSource, CreditState};
use entity::{credit_claims, credits, professionals, users};
use fantoccini::{Client, Locator};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::browser::{ChromeDriver, sign_in};
use crate::dashboard::{import_holder, staff_credit, today};
use crate::harness::{Backend, Needs, TestApp, skipped};
use crate::support_accounts::PASSWORD;

type Flow<T> = Result<T, fantoccini::error::CmdError>;

/// `target/screenshots/`, next to the build that runs this test (`target/debug/deps/api-…`).
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A holder of CISSP (a year in, with Group A and B credits and a pending self-report) and
/// RISS (this year's online course still open), signed in with [`PASSWORD`].
async fn seeded_holder(app: &TestApp) -> String {
    let email = "hanako@example.jp";
    let cissp_start = today() - Days::new(400);
    import_holder(app, "cissp", "552201", email, cissp_start).await;
    let riss_start = (today() + Days::new(60)) - Months::new(24);
    import_holder(app, "riss", "024680", email, riss_start).await;
    let cissp = ("cissp", "552201");
    for (days, activity, claim) in [
        (20, "education", "group_a=40"),
        (90, "professional_development", "group_b=12"),
        (180, "education", "group_a=24"),
        (330, "education", "group_a=16"),
    ] {
        staff_credit(
            app,
            cissp,
            activity,
            cissp_start + Days::new(days),
            &[claim],
        )
        .await;
    }
    staff_credit(
        app,
        ("riss", "024680"),
        "ipa_online_course",
        riss_start + Days::new(30),
        &[],
    )
    .await;
    staff_credit(
        app,
        ("riss", "024680"),
        "ipa_practical_course",
        riss_start + Days::new(200),
        &[],
    )
    .await;

    let person = professionals::Entity::find()
        .filter(professionals::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    // A self-reported course waiting for review.
    let credit = credits::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        professional_id: Set(person.id),
        course_id: Set(None),
        provider_id: Set(None),
        provider_reference: Set(None),
        activity_type: Set("education".to_owned()),
        title: Set("Cloud security conference".to_owned()),
        completed_on: Set(today() - Days::new(5)),
        completed_at: Set(None),
        hours: Set(600),
        source: Set(CreditSource::SelfReported),
        reported_points: Set(None),
        state: Set(CreditState::Pending),
        evidence: Set(None),
        replaces_credit_id: Set(None),
        voided_at: Set(None),
        void_reason: Set(None),
        recorded_by: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    credit_claims::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        credit_id: Set(credit.id),
        scheme_id: Set("cissp".to_owned()),
        activity_type: Set("education".to_owned()),
        category: Set("group_a".to_owned()),
        points: Set(600),
    }
    .insert(&app.state.db)
    .await
    .unwrap();

    let user =
        cpe_ledger::services::accounts::create_user(&app.state.db, email, "professional", PASSWORD)
            .await
            .unwrap();
    let mut linked: users::ActiveModel = user.into();
    linked.professional_id = Set(Some(person.id));
    linked.update(&app.state.db).await.unwrap();
    email.to_owned()
}

async fn sign_out(browser: &Client, app: &TestApp) -> Flow<()> {
    browser.goto(&app.url("/")).await?;
    browser
        .find(Locator::Css("form[action='/logout'] button[type=submit]"))
        .await?
        .click()
        .await?;
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("h1"))
        .await?;
    Ok(())
}

/// The whole page at `width` CSS pixels, as PNG: the window is made as tall as the page.
async fn screenshot(browser: &Client, width: u32, file: &str) -> Flow<(u64, PathBuf)> {
    browser.set_window_size(width, 900).await?;
    let height = browser
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await?
        .as_u64()
        .unwrap_or(900);
    browser
        .set_window_size(width, u32::try_from(height).unwrap_or(900).clamp(600, 8000))
        .await?;
    let inner = browser
        .execute("return window.innerWidth;", vec![])
        .await?
        .as_u64()
        .unwrap_or(0);
    let png = browser.screenshot().await?;
    let path = screenshot_dir().join(file);
    std::fs::write(&path, png).unwrap();
    Ok((inner, path))
}

/// The text of the first element `css` finds.
async fn text(browser: &Client, css: &str) -> Flow<String> {
    browser.find(Locator::Css(css)).await?.text().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_professional_signs_in_reads_the_dashboard_and_switches_its_language_at_desktop_and_phone_width()
 {
    if skipped(Needs::Browser).await {
        return;
    }
    let driver = ChromeDriver::start();
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let email = seeded_holder(&app).await;

    let browser = driver.browser().await;
    let outcome = async {
        sign_in(&browser, &app, "/login?lang=ja", &email, PASSWORD).await?;
        // The page carries no inline style: its layout comes from /assets/pages.css, which its
        // Content-Security-Policy lets in while it refuses inline scripts and styles.
        let layout = browser
            .execute(
                "return [getComputedStyle(document.body).maxWidth, \
                 getComputedStyle(document.querySelector('.card')).borderTopStyle, \
                 document.querySelectorAll('script, style, [style]').length]",
                vec![],
            )
            .await?;
        assert_eq!(
            layout,
            serde_json::json!(["1088px", "solid", 0]),
            "the dashboard is styled by its stylesheet alone"
        );
        let mut seen = Vec::new();
        for lang in ["ja", "en"] {
            if lang == "en" {
                // The language switch at the top of the page.
                browser
                    .find(Locator::Css("nav a[href^='?lang=en']"))
                    .await?
                    .click()
                    .await?;
                browser
                    .wait()
                    .at_most(Duration::from_secs(20))
                    .for_element(Locator::Css("html[lang=en]"))
                    .await?;
            }
            let heading = text(&browser, "h1").await?;
            let bars = browser
                .find_all(Locator::Css("progress.renewal-progress"))
                .await?
                .len();
            let charts = browser
                .find_all(Locator::Css("svg.points-chart path.line"))
                .await?
                .len();
            let slot = text(
                &browser,
                "[data-scheme=riss] li.open-slot[data-slot=ipa_online_course]",
            )
            .await?;
            let riss_state = text(&browser, "[data-scheme=riss] .state").await?;
            let sources = text(&browser, "[data-scheme=cissp] table.recent-credits tbody").await?;
            let mut widths = Vec::new();
            for (width, kind) in [(1280, "desktop"), (390, "phone")] {
                let (inner, path) =
                    screenshot(&browser, width, &format!("dashboard-{lang}-{kind}.png")).await?;
                widths.push((width, inner, path));
            }
            browser.set_window_size(1280, 900).await?;
            seen.push((
                lang, heading, bars, charts, slot, riss_state, sources, widths,
            ));
        }
        Ok::<_, fantoccini::error::CmdError>(seen)
    }
    .await;
    let _ = browser.close().await;
    let seen = outcome.expect("the browser flow");
    for (lang, heading, bars, charts, slot, riss_state, sources, widths) in seen {
        assert_eq!(bars, 2, "{lang}: a progress bar per certification");
        assert_eq!(charts, 1, "{lang}: a chart for the points scheme");
        for (width, inner, path) in widths {
            assert_eq!(
                inner,
                u64::from(width),
                "{lang}: the page is laid out at {width} px"
            );
            let size = std::fs::metadata(&path).unwrap().len();
            assert!(
                size > 10_000,
                "{}: a real screenshot ({size} bytes)",
                path.display()
            );
        }
        match lang {
            "ja" => {
                assert_eq!(heading, "マイページ");
                assert!(
                    slot.starts_with("IPAオンライン講習（毎年1回） — 2年目"),
                    "{slot}"
                );
                assert_eq!(riss_state, "要注意");
                assert!(
                    sources.contains("本人申告") && sources.contains("審査待ち"),
                    "{sources}"
                );
                assert!(sources.contains("事務局"), "{sources}");
            }
            _ => {
                assert_eq!(heading, "My account");
                assert!(
                    slot.starts_with("IPA online course, once every year — year 2"),
                    "{slot}"
                );
                assert_eq!(riss_state, "At risk");
                assert!(
                    sources.contains("Self-report") && sources.contains("Waiting for review"),
                    "{sources}"
                );
                assert!(sources.contains("Staff"), "{sources}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_chosen_in_the_settings_is_kept_after_signing_in_again_and_a_new_password_signs_in()
 {
    if skipped(Needs::Browser).await {
        return;
    }
    let driver = ChromeDriver::start();
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let email = seeded_holder(&app).await;
    const NEW: &str = "another long passphrase";

    let browser = driver.browser().await;
    let outcome = async {
        sign_in(&browser, &app, "/login?lang=ja", &email, PASSWORD).await?;
        browser
            .find(Locator::Id("settings-link"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("settings"))
            .await?;
        let settings_heading = text(&browser, "h1").await?;
        browser
            .find(Locator::Css("#language-form input[value=en]"))
            .await?
            .click()
            .await?;
        browser
            .find(Locator::Css("#language-form button[type=submit]"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("settings-saved"))
            .await?;
        let language_saved = text(&browser, "#settings-saved").await?;

        // A fresh browser state that asks for Japanese: the sign-in brings the setting back.
        sign_out(&browser, &app).await?;
        browser.delete_all_cookies().await?;
        sign_in(&browser, &app, "/login?lang=ja", &email, PASSWORD).await?;
        let after_sign_in = text(&browser, "h1").await?;

        // The password, on the same page.
        browser.goto(&app.url("/settings")).await?;
        browser
            .find(Locator::Css("input[name=current_password]"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        browser
            .find(Locator::Css("input[name=new_password]"))
            .await?
            .send_keys(NEW)
            .await?;
        browser
            .find(Locator::Css("input[name=confirm]"))
            .await?
            .send_keys(NEW)
            .await?;
        browser
            .find(Locator::Css("#password-form button[type=submit]"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("settings-saved"))
            .await?;
        let password_saved = text(&browser, "#settings-saved").await?;
        // This browser stays signed in with its new session.
        browser.goto(&app.url("/")).await?;
        let still_in = browser.find_all(Locator::Id("signed-in")).await?.len();
        sign_out(&browser, &app).await?;
        sign_in(&browser, &app, "/login", &email, NEW).await?;
        let with_new = text(&browser, "#account-email").await?;
        Ok::<_, fantoccini::error::CmdError>((
            settings_heading,
            language_saved,
            after_sign_in,
            password_saved,
            still_in,
            with_new,
        ))
    }
    .await;
    let _ = browser.close().await;
    let (settings_heading, language_saved, after_sign_in, password_saved, still_in, with_new) =
        outcome.expect("the browser flow");
    assert_eq!(settings_heading, "設定");
    assert_eq!(
        language_saved, "Your language is saved.",
        "the page answers in the new language"
    );
    assert_eq!(
        after_sign_in, "My account",
        "the setting beats the language the login page was asked in"
    );
    assert!(
        password_saved.starts_with("Your password is changed."),
        "{password_saved}"
    );
    assert_eq!(still_in, 1, "the browser that changed it stays signed in");
    assert_eq!(with_new, email);
    let person = professionals::Entity::find()
        .filter(professionals::Column::Email.eq(email.as_str()))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.locale, "en");
}
