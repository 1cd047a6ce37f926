//! The pages in a real browser: headless Chromium driven through chromedriver.
//!
//! Without `/usr/bin/chromedriver` a local run skips the test (and says so in its one notice
//! line); under CI (`CI` set) a missing browser is a failure (`.ci/run` installs it).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use sea_orm::EntityTrait;

use crate::harness::{Backend, CHROMEDRIVER, Needs, TestApp, skipped};
use crate::support_accounts::PASSWORD;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process for one test, stopped when dropped.
pub(crate) struct ChromeDriver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    pub(crate) fn start() -> Self {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is required (install chromium-driver)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            port,
            profile: tempfile::tempdir().expect("profile dir"),
        }
    }

    pub(crate) async fn browser(&self) -> fantoccini::Client {
        // The test build has two rustls crypto backends (ring from lettre and sqlx, aws-lc-rs
        // from fantoccini's connector), so the process must say which one to use.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", self.profile.path().display()),
                ],
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        ClientBuilder::rustls()
            .expect("a TLS connector")
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a browser session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_holder_activates_in_a_real_browser_and_lands_signed_in() {
    if skipped(Needs::Browser).await {
        return;
    }
    let driver = ChromeDriver::start();
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.seed_holder("en").await;
    app.invite_holders().await;
    let link = app.local_link(&app.only_email_to(&holder.email).link("/activate"));

    let browser = driver.browser().await;
    let outcome = async {
        browser.goto(&format!("{link}&lang=en")).await?;
        browser
            .find(Locator::Css("input[name=password]"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        browser
            .find(Locator::Css("input[name=confirm]"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        browser
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("signed-in"))
            .await?;
        let email = browser
            .find(Locator::Id("account-email"))
            .await?
            .text()
            .await?;
        let page = browser.source().await?;
        let url = browser.current_url().await?;
        Ok::<_, fantoccini::error::CmdError>((email, page, url))
    }
    .await;
    let _ = browser.close().await;
    let (email, page, url) = outcome.expect("the browser flow");
    assert_eq!(email, holder.email);
    assert_eq!(url.path(), "/");
    assert!(page.contains("cissp"), "the holding is listed: {page}");
    assert!(page.contains("Sign out"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_uploads_a_csv_in_a_real_browser_and_reads_the_report_row_by_row() {
    if skipped(Needs::Browser).await {
        return;
    }
    let driver = ChromeDriver::start();
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    crate::support_providers::import_holders(&app);
    let provider = crate::support_providers::accredited_provider(&app, "Browser Academy").await;
    crate::support_providers::publish_course(&app, &provider, "IR-201").await;
    let file = app.file("attendance.csv");
    std::fs::write(
        &file,
        "参照番号,講座コード,資格,登録番号,修了日\n\
         W-1,IR-201,cissp,123456,2026/11/20\n\
         W-2,NO-SUCH,cissp,123456,2026/11/20\n",
    )
    .unwrap();

    let browser = driver.browser().await;
    let outcome = async {
        browser.goto(&app.url("/provider/upload?lang=ja")).await?;
        for (name, value) in [
            ("client_id", provider.client.client_id.as_str()),
            ("client_secret", provider.client.secret.as_str()),
            ("file", file.to_str().unwrap()),
        ] {
            browser
                .find(Locator::Css(&format!("input[name={name}]")))
                .await?
                .send_keys(value)
                .await?;
        }
        browser
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("report"))
            .await?;
        let summary = browser.find(Locator::Id("summary")).await?.text().await?;
        let rows = browser
            .find(Locator::Css("#report tbody"))
            .await?
            .text()
            .await?;
        let download = browser
            .find(Locator::Id("download-rejected"))
            .await?
            .attr("href")
            .await?;
        Ok::<_, fantoccini::error::CmdError>((summary, rows, download))
    }
    .await;
    let _ = browser.close().await;
    let (summary, rows, download) = outcome.expect("the browser flow");
    assert!(summary.starts_with("1 件登録"), "{summary}");
    assert!(summary.contains("1 件不受理"), "{summary}");
    assert!(
        rows.contains("W-1") && rows.contains("登録しました"),
        "{rows}"
    );
    assert!(rows.contains("W-2") && rows.contains("course"), "{rows}");
    let csv = download
        .unwrap()
        .strip_prefix("data:text/csv;base64,")
        .map(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).unwrap())
        .unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("W-2,NO-SUCH,cissp,123456,2026/11/20,course: no course"),
        "{csv}"
    );
    assert!(!csv.contains("W-1"), "{csv}");
    assert_eq!(
        crate::support_providers::counted(&app, "cissp", "123456"),
        8
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_registry_and_a_credentials_verdict_read_right_in_a_real_browser_in_both_languages()
 {
    if skipped(Needs::Browser).await {
        return;
    }
    let driver = ChromeDriver::start();
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.seed_holder("ja").await;
    let token = crate::support_credentials::professional_token(&app, &holder).await;
    let issued = crate::support_credentials::issue_own(&app, &token, &holder).await;
    let credential = issued["credential"]
        .as_str()
        .expect("a credential")
        .to_owned();
    let number = crate::support_credentials::payload_of(&credential)["credentialSubject"]
        ["registrationNumber"]
        .as_str()
        .expect("a number")
        .to_owned();
    let verify = app.url(&format!("/verify/{credential}"));

    let browser = driver.browser().await;
    let outcome = async {
        let mut seen = Vec::new();
        for lang in ["en", "ja"] {
            // The registry: choose the scheme, type the number, submit the form.
            browser
                .goto(&app.url(&format!("/registry?lang={lang}")))
                .await?;
            browser
                .find(Locator::Css("select[name=scheme] option[value=cissp]"))
                .await?
                .click()
                .await?;
            browser
                .find(Locator::Css("input[name=number]"))
                .await?
                .send_keys(&number)
                .await?;
            browser
                .find(Locator::Css("button[type=submit]"))
                .await?
                .click()
                .await?;
            browser
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Id("registry-result"))
                .await?;
            let found = browser
                .find(Locator::Id("result-number"))
                .await?
                .text()
                .await?;
            let status = browser
                .find(Locator::Id("result-status"))
                .await?
                .text()
                .await?;
            let page = browser.source().await?;
            // The credential's verdict page.
            browser.goto(&format!("{verify}?lang={lang}")).await?;
            let verdict = browser.find(Locator::Id("verdict")).await?.text().await?;
            seen.push((lang, found, status, page, verdict));
        }
        Ok::<_, fantoccini::error::CmdError>(seen)
    }
    .await;
    let _ = browser.close().await;
    let seen = outcome.expect("the browser flow");
    for (lang, found, status, page, verdict) in seen {
        assert_eq!(found, number, "{lang}");
        assert!(!page.contains("山田"), "{lang}: no name without consent");
        match lang {
            "en" => {
                assert_eq!(status, "Active");
                assert_eq!(verdict, "Valid");
            }
            _ => {
                assert_eq!(status, "有効");
                assert_eq!(verdict, "有効");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_professional_changes_a_consent_on_the_page_sees_it_on_the_registry_and_reads_who_looked_them_up_in_both_languages()
 {
    if skipped(Needs::Browser).await {
        return;
    }
    let driver = ChromeDriver::start();
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.active_holder().await;
    let holding = entity::holdings::Entity::find_by_id(holder.holding_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let number = holding.registration_number.clone();
    // A buyer looks the holder up once, so the disclosure page has a read to show.
    let client = crate::support_clients::make_client(&app, "procurement", &[], 100).await;
    let token = crate::support_clients::token_for(&app, &client).await;
    let looked_up = crate::support_clients::get_bearer(
        &app,
        &format!("/v1/procurement/holdings/cissp/{number}"),
        &token,
    )
    .await;
    assert_eq!(looked_up.status(), 200);
    let registry = app.url(&format!("/registry?scheme=cissp&number={number}&lang=en"));

    let browser = driver.browser().await;
    let outcome = async {
        // Signed in through the login page.
        sign_in(&browser, &app, "/login?lang=en", &holder.email, PASSWORD).await?;

        // Before: the public registry shows no name.
        browser.goto(&registry).await?;
        let before = browser.source().await?;

        // Tick "my name" for the public registry and save.
        browser.goto(&app.url("/consents?lang=en")).await?;
        let heading = browser.find(Locator::Css("h1")).await?.text().await?;
        browser
            .find(Locator::Css("input[name=public_registry_name]"))
            .await?
            .click()
            .await?;
        browser
            .find(Locator::Css("form[action='/consents'] button[type=submit]"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("consents-saved"))
            .await?;
        let ticked = browser
            .find(Locator::Css("input[name=public_registry_name]"))
            .await?
            .prop("checked")
            .await?;
        let buyers_ticked = browser
            .find(Locator::Css("input[name=procurement_name]"))
            .await?
            .prop("checked")
            .await?;

        // After: the registry shows the name.
        browser.goto(&registry).await?;
        let name = browser
            .find(Locator::Id("result-name"))
            .await?
            .text()
            .await?;

        // Who looked me up, in each language.
        let mut logs = Vec::new();
        for lang in ["ja", "en"] {
            browser
                .goto(&app.url(&format!("/disclosures?lang={lang}")))
                .await?;
            let title = browser.find(Locator::Css("h1")).await?.text().await?;
            let rows = browser
                .find(Locator::Css("#disclosures tbody"))
                .await?
                .text()
                .await?;
            logs.push((lang, title, rows));
        }
        Ok::<_, fantoccini::error::CmdError>((before, heading, ticked, buyers_ticked, name, logs))
    }
    .await;
    let _ = browser.close().await;
    let (before, heading, ticked, buyers_ticked, name, logs) = outcome.expect("the browser flow");
    assert!(
        !before.contains("result-name"),
        "no name before consent: {before}"
    );
    assert_eq!(heading, "What others may see");
    assert_eq!(
        ticked.as_deref(),
        Some("true"),
        "the saved choice is shown ticked"
    );
    assert_eq!(
        buyers_ticked.as_deref(),
        Some("false"),
        "buyers' choice untouched"
    );
    assert_eq!(name, "山田 太郎");
    for (lang, title, rows) in logs {
        assert!(rows.contains(&number), "{lang}: {rows}");
        assert!(
            rows.contains(&client.client_id) || rows.contains("procurement client"),
            "{lang}: {rows}"
        );
        match lang {
            "en" => {
                assert_eq!(title, "Who looked me up");
                assert!(rows.contains("last valid day"), "{rows}");
                assert!(!rows.contains("name"), "the buyer was told no name: {rows}");
            }
            _ => {
                assert_eq!(title, "照会履歴");
                assert!(rows.contains("有効期限日"), "{rows}");
                assert!(!rows.contains("氏名"), "{rows}");
            }
        }
    }
    // The change went through the one consent service, audit log and all.
    assert_eq!(
        crate::support_clients::audit_events_named(&app, "consents.set")
            .await
            .len(),
        1
    );
}

/// Signs `email` in on the login page at `path` and waits for the signed-in page.
pub(crate) async fn sign_in(
    browser: &fantoccini::Client,
    app: &TestApp,
    path: &str,
    email: &str,
    password: &str,
) -> Result<(), fantoccini::error::CmdError> {
    browser.goto(&app.url(path)).await?;
    browser
        .find(Locator::Css("input[name=email]"))
        .await?
        .send_keys(email)
        .await?;
    browser
        .find(Locator::Css("input[name=password]"))
        .await?
        .send_keys(password)
        .await?;
    browser
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await?
        .click()
        .await?;
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("signed-in"))
        .await?;
    Ok(())
}

/// What the browser fetched from `path` with its own cookies: status, content type, and the
/// body (text, or its first bytes as a string for binary files).
const FETCH: &str = "const [path, done] = arguments;
fetch(path, { credentials: 'same-origin' }).then(async (r) => {
  const bytes = new Uint8Array(await r.arrayBuffer());
  done([r.status, r.headers.get('content-type'), new TextDecoder().decode(bytes), bytes.length]);
}).catch((e) => done([0, String(e), '', 0]));";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_professional_downloads_a_transcript_and_subscribes_to_a_calendar_feed_in_a_real_browser()
{
    if skipped(Needs::Browser).await {
        return;
    }
    let driver = ChromeDriver::start();
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.active_holder().await;
    let browser = driver.browser().await;
    let outcome = async {
        sign_in(&browser, &app, "/login?lang=en", &holder.email, PASSWORD).await?;
        let fetch = |path: String| {
            let browser = browser.clone();
            async move {
                browser
                    .execute_async(FETCH, vec![serde_json::Value::from(path)])
                    .await
            }
        };
        // The dashboard links the transcript of each certification.
        let pdf_link = browser
            .find(Locator::Css("a.transcript-pdf"))
            .await?
            .attr("href")
            .await?
            .unwrap_or_default();
        let pdf = fetch(pdf_link).await?;
        let csv = fetch(format!(
            "/transcript/{}?format=csv&lang=en",
            holder.holding_id
        ))
        .await?;

        browser.goto(&app.url("/calendar-feed?lang=en")).await?;
        let before = browser
            .find(Locator::Id("calendar-feed-status"))
            .await?
            .text()
            .await?;
        browser
            .find(Locator::Id("calendar-feed-create"))
            .await?
            .click()
            .await?;
        let link = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("calendar-feed-url"))
            .await?
            .text()
            .await?;
        let path = url::Url::parse(&link)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        let feed = fetch(path).await?;
        Ok::<_, fantoccini::error::CmdError>((before, pdf, csv, link, feed))
    }
    .await;
    let _ = browser.close().await;
    let (before, pdf, csv, link, feed) = outcome.expect("the browser flow");
    assert_eq!(pdf[0], 200, "{pdf:?}");
    assert_eq!(pdf[1], "application/pdf");
    assert!(pdf[2].as_str().unwrap().starts_with("%PDF-"));
    assert_eq!(csv[0], 200, "{csv:?}");
    assert!(
        csv[2].as_str().unwrap().contains("Holder,山田 太郎"),
        "{csv:?}"
    );
    assert_eq!(before, "You have no calendar feed.");
    assert!(link.contains("/v1/calendar/"), "{link}");
    assert_eq!(feed[0], 200, "{feed:?}");
    let ics = feed[2].as_str().unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR"), "{ics}");
    assert!(ics.contains("BEGIN:VEVENT"), "{ics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_professional_reports_an_activity_with_evidence_in_a_real_browser_previews_it_saves_it_and_sees_it_count()
 {
    if skipped(Needs::Browser).await {
        return;
    }
    let driver = ChromeDriver::start();
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.active_holder().await;
    let counted = |app: &TestApp| {
        let holding = holder.holding_id;
        let db = app.state.db.clone();
        let schemes = app.state.schemes.clone();
        async move {
            let holding = entity::holdings::Entity::find_by_id(holding)
                .one(&db)
                .await
                .unwrap()
                .unwrap();
            cpe_ledger::services::standing::for_holding(&db, &schemes, &holding, None)
                .await
                .unwrap()
                .standing
                .counted
                .to_string()
        }
    };
    assert_eq!(counted(&app).await, "0");
    let file = app.file("certificate.pdf");
    std::fs::write(&file, crate::self_report::PDF).unwrap();
    let completed = (chrono::Utc::now().date_naive() - chrono::Days::new(5)).to_string();

    let browser = driver.browser().await;
    let outcome = async {
        sign_in(&browser, &app, "/login?lang=en", &holder.email, PASSWORD).await?;
        // Signing in chose the account's language (Japanese); this page is read in English.
        browser.goto(&app.url("/credits/new?lang=en")).await?;
        for (name, value) in [
            ("title", "Incident response course"),
            ("provider_name", "Security Academy"),
            ("hours", "8"),
            ("file", file.to_str().unwrap()),
        ] {
            browser
                .find(Locator::Css(&format!("input[name={name}]")))
                .await?
                .send_keys(value)
                .await?;
        }
        // A date input is typed in the browser's own format; set its value as the form sends it.
        browser
            .execute(
                "document.querySelector('input[name=completed_on]').value = arguments[0];",
                vec![serde_json::json!(completed)],
            )
            .await?;
        browser
            .find(Locator::Id("preview-button"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("allocation"))
            .await?;
        let allocation = browser
            .find(Locator::Id("allocation"))
            .await?
            .text()
            .await?;
        let state = browser
            .find(Locator::Id("preview-state"))
            .await?
            .text()
            .await?;
        let attached = browser.find(Locator::Id("evidence-attached")).await.is_ok();
        browser.find(Locator::Id("save")).await?.click().await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("credits"))
            .await?;
        let listed = browser.find(Locator::Id("credits")).await?.text().await?;
        Ok::<_, fantoccini::error::CmdError>((allocation, state, attached, listed))
    }
    .await;
    let _ = browser.close().await;
    let (allocation, state, attached, listed) = outcome.expect("the browser flow");
    assert!(
        allocation.contains("cissp") && allocation.contains("education"),
        "{allocation}"
    );
    assert!(allocation.contains("group_a 8"), "{allocation}");
    assert!(state.contains("counts as soon as it is saved"), "{state}");
    assert!(attached, "the evidence is attached at the preview step");
    assert!(
        listed.contains("Incident response course") && listed.contains("Approved"),
        "{listed}"
    );
    assert_eq!(counted(&app).await, "8", "the standing changed");
    let stored = entity::evidence::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].media_type, "application/pdf");
}
