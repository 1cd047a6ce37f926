//! Templates belong to the app that loaded them: operator overrides from
//! `CPE_LEDGER_TEMPLATES_DIR` apply to that app's emails and pages, and to no other app.

use std::path::Path;

use crate::harness::{Backend, TestApp};

/// An override folder with its own invitation subject and sign-in page.
fn overrides(dir: &Path, tag: &str) {
    let email = dir.join("emails/invitation/en");
    std::fs::create_dir_all(&email).unwrap();
    std::fs::write(email.join("subject.txt.j2"), format!("{tag}: welcome")).unwrap();
    let pages = dir.join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(
        pages.join("login.html.j2"),
        format!("<p>{tag} sign-in ({{{{ t.login_title }}}})</p>"),
    )
    .unwrap();
}

async fn app_with_overrides(dir: &Path) -> Option<TestApp> {
    let dir = dir.display().to_string();
    TestApp::spawn_with(Backend::Sqlite, |s| s.templates_dir = Some(dir)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apps_in_one_process_each_send_and_show_their_own_template_overrides() {
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    overrides(first_dir.path(), "First");
    overrides(second_dir.path(), "Second");
    let Some(first) = app_with_overrides(first_dir.path()).await else {
        return;
    };
    let Some(second) = app_with_overrides(second_dir.path()).await else {
        return;
    };
    let Some(plain) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };

    for (app, tag) in [(&first, "First"), (&second, "Second")] {
        let holder = app.seed_holder("en").await;
        app.invite_holders().await;
        assert_eq!(
            app.only_email_to(&holder.email).subject(),
            format!("{tag}: welcome")
        );

        let page = app.get("/login?lang=en").await.text().await.unwrap();
        assert_eq!(page, format!("<p>{tag} sign-in (Sign in)</p>"));
    }

    // An app without overrides keeps the built-in templates.
    let holder = plain.seed_holder("en").await;
    plain.invite_holders().await;
    let subject = plain.only_email_to(&holder.email).subject();
    assert!(!subject.contains("welcome"), "{subject}");
    let page = plain.get("/login?lang=en").await.text().await.unwrap();
    assert!(page.contains("<form"), "{page}");
}
