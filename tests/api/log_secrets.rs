//! No secret reaches a log line, at any level: a whole flow (an administrator, a machine client
//! and its token, a sign-up, its activation link, a sign-in, a reset link) runs against
//! `cpe-ledger serve` logging everything at `trace`, and the captured lines of the server and of
//! every command are searched for each secret the flow handled.

use std::time::{Duration, Instant};

use base64::Engine;

use crate::harness::run_cli;
use crate::support_accounts::{PASSWORD, mail_server, unique_email};
use crate::support_process::Served;

fn env_of(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("CPE_LEDGER_DATA_DIR", dir.display().to_string()),
        ("CPE_LEDGER_LOG", "trace".to_owned()),
        ("CPE_LEDGER_LOG_JSON", "true".to_owned()),
        ("CPE_LEDGER_SMTP_URL", mail_server().smtp_url()),
        ("CPE_LEDGER_DRAIN_CRON", "* * * * * *".to_owned()),
    ]
}

fn serve(dir: &std::path::Path) -> Served {
    let env = env_of(dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Served::start(&env)
}

async fn email_link(address: &str, path: &str) -> String {
    let started = Instant::now();
    loop {
        if let Some(mail) = mail_server().messages_to(address).last() {
            return mail.link(path);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no email to {address}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn token_in(link: &str) -> String {
    url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_flow_logged_at_trace_leaves_no_password_secret_or_token_in_any_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut logs: Vec<String> = Vec::new();
    let mut cli = |args: &[&str], stdin: Option<&str>| {
        let output = run_cli(args, &env, stdin);
        logs.push(String::from_utf8_lossy(&output.stderr).into_owned());
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let admin_password = "an administrator's long passphrase";
    cli(&["migrate"], None);
    cli(
        &[
            "admin",
            "create-user",
            "--email",
            "ops@example.org",
            "--role",
            "admin",
        ],
        Some(admin_password),
    );
    let created = cli(
        &[
            "admin",
            "create-client",
            "--name",
            "Buyer",
            "--kind",
            "procurement",
        ],
        None,
    );
    let field = |name: &str| {
        created
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap()
    };
    let (client_id, client_secret) = (field("client_id:"), field("client_secret:"));

    let server = serve(dir.path());
    let http = reqwest::Client::new();
    let url = |path: &str| server.url(path);

    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"));
    let issued: serde_json::Value = http
        .post(url("/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_token = issued["access_token"].as_str().unwrap().to_owned();
    let looked_up = http
        .get(url("/v1/procurement/holdings/riss/000001"))
        .bearer_auth(&client_token)
        .send()
        .await
        .unwrap();
    assert_eq!(looked_up.status(), 404);

    let email = unique_email("logs");
    let signup = http
        .post(url("/v1/auth/signup"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD, "locale": "en"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 202);
    let activation = email_link(&email, "/activate").await;
    let activation_token = token_in(&activation);
    let path = |link: &str| {
        let parsed = url::Url::parse(link).unwrap();
        format!("{}?{}", parsed.path(), parsed.query().unwrap_or(""))
    };
    let page = http.get(url(&path(&activation))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let mut cookies = crate::support_accounts::Cookies::default();
    cookies.absorb(&page);
    let html = page.text().await.unwrap();
    let activated = http
        .post(url("/activate"))
        .header("cookie", cookies.header())
        .form(&[
            ("csrf", crate::support_accounts::csrf_field(&html).as_str()),
            ("token", activation_token.as_str()),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        activated.status().is_success() || activated.status().is_redirection(),
        "{}",
        activated.status()
    );
    let login: serde_json::Value = http
        .post(url("/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_token = login["access_token"].as_str().unwrap().to_owned();
    let locale = http
        .put(url("/v1/me/locale"))
        .bearer_auth(&user_token)
        .json(&serde_json::json!({"locale": "ja"}))
        .send()
        .await
        .unwrap();
    assert!(locale.status().is_success(), "{}", locale.status());
    let reset = http
        .post(url("/v1/auth/password-reset"))
        .json(&serde_json::json!({"email": email}))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    let reset_link = email_link_after(&email, "/reset", 2).await;
    assert_eq!(
        http.get(url(&path(&reset_link)))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let reset_token = token_in(&reset_link);

    tokio::time::sleep(Duration::from_millis(300)).await;
    logs.extend(server.lines.lock().unwrap().iter().cloned());
    let all = logs.join("\n");
    for level in [r#""level":"DEBUG""#, r#""message":"answered""#] {
        assert!(
            all.contains(level),
            "{level} among the captured lines:\n{all}"
        );
    }
    for (what, secret) in [
        ("the administrator's password", admin_password),
        ("the professional's password", PASSWORD),
        ("the client secret", client_secret.as_str()),
        ("the client's access token", client_token.as_str()),
        ("the professional's access token", user_token.as_str()),
        ("the activation link token", activation_token.as_str()),
        ("the reset link token", reset_token.as_str()),
        ("the Basic credentials", basic.as_str()),
    ] {
        let found = all.lines().find(|line| line.contains(secret));
        assert!(found.is_none(), "{what} is in a log line: {found:?}");
    }
}

/// The link of the `nth` email (1-based) to `address` with `path`.
async fn email_link_after(address: &str, path: &str, nth: usize) -> String {
    let started = Instant::now();
    loop {
        let mails = mail_server().messages_to(address);
        if mails.len() >= nth {
            return mails[nth - 1].link(path);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no email {nth} to {address}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
