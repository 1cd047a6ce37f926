//! Test support for accounts and email: a real SMTP server in-process, fixtures for
//! professionals with holdings, and helpers that read like the product (`login_as`,
//! `dispatch_pending_emails`, following an emailed link through the pages).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use entity::holdings::HoldingStatus;
use entity::{cycles, holdings, professionals, scheme_versions};
use mailin_embedded::{Handler, Response, Server, SslConfig, response};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::harness::TestApp;

// --- the SMTP server -------------------------------------------------------------------------

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    pub to: Vec<String>,
    pub raw: String,
}

#[derive(Clone)]
struct Collector {
    store: Arc<Mutex<Vec<ReceivedEmail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    /// `refuse-…@` recipients get a permanent 550, `busy-…@` a transient 451.
    fn rcpt(&mut self, to: &str) -> Response {
        if to.starts_with("refuse-") {
            response::NO_MAILBOX
        } else if to.starts_with("busy-") {
            response::INTERNAL_ERROR
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = ReceivedEmail {
            to: std::mem::take(&mut self.to),
            raw: String::from_utf8_lossy(&self.data).into_owned(),
        };
        self.data.clear();
        if let Ok(mut store) = self.store.lock() {
            store.push(message);
        }
        response::OK
    }
}

/// The SMTP server every `TestApp` sends to (plain SMTP on a free port, no TLS).
pub struct MailServer {
    port: u16,
    store: Arc<Mutex<Vec<ReceivedEmail>>>,
}

pub fn mail_server() -> &'static MailServer {
    static SERVER: OnceLock<MailServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP server");
        let port = listener.local_addr().expect("bound").port();
        let store = Arc::new(Mutex::new(Vec::new()));
        let collector = Collector {
            store: store.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        std::thread::spawn(move || {
            let mut server = Server::new(collector);
            server
                .with_name("mail.test")
                .with_num_threads(32)
                .with_tcp_listener(listener);
            let _ = server.with_ssl(SslConfig::None);
            let _ = server.serve();
        });
        MailServer { port, store }
    })
}

impl MailServer {
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages_to(&self, address: &str) -> Vec<ReceivedEmail> {
        self.store
            .lock()
            .map(|store| {
                store
                    .iter()
                    .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

// --- reading a received message ----------------------------------------------------------------

fn split_head(raw: &str) -> (&str, &str) {
    raw.split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""))
}

/// Headers, unfolded, by lower-case name.
fn headers(head: &str) -> HashMap<String, String> {
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect()
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_body(encoding: &str, body: &str) -> String {
    match encoding.to_ascii_lowercase().as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8_lossy(&STANDARD.decode(compact).unwrap_or_default()).into_owned()
        }
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.to_owned(),
    }
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    for word in value.split_whitespace() {
        let parts: Vec<&str> = word.split('?').collect();
        if parts.len() == 5 && parts[0] == "=" && parts[4] == "=" {
            match parts[2].to_ascii_lowercase().as_str() {
                "b" => out.push_str(&String::from_utf8_lossy(
                    &STANDARD.decode(parts[3]).unwrap_or_default(),
                )),
                _ => out.push_str(&decode_quoted_printable(&parts[3].replace('_', " "))),
            }
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

impl ReceivedEmail {
    pub fn header(&self, name: &str) -> Option<String> {
        headers(split_head(&self.raw).0).remove(&name.to_ascii_lowercase())
    }

    pub fn subject(&self) -> String {
        decode_words(&self.header("subject").unwrap_or_default())
    }

    /// The decoded body of the first part with this content type (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> Option<String> {
        let (head, body) = split_head(&self.raw);
        let top = headers(head);
        let boundary = top
            .get("content-type")?
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))?
            .trim_matches('"')
            .to_owned();
        body.split(&format!("--{boundary}")).find_map(|part| {
            let (part_head, part_body) = split_head(part.trim_start_matches(['\r', '\n']));
            let h = headers(part_head);
            h.get("content-type")?.starts_with(content_type).then(|| {
                decode_body(
                    h.get("content-transfer-encoding")
                        .map_or("7bit", String::as_str),
                    part_body,
                )
            })
        })
    }

    pub fn text(&self) -> String {
        self.part("text/plain").expect("a text/plain part")
    }

    /// The first link in the text part whose path is `path` (`/activate`, `/reset`).
    pub fn link(&self, path: &str) -> String {
        let text = self.text();
        text.split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(&format!("{path}?token=")))
            .unwrap_or_else(|| panic!("no {path} link in:\n{text}"))
            .to_owned()
    }
}

// --- fixtures and helpers ----------------------------------------------------------------------

/// A unique address for one test (tests share the SMTP server).
pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.jp", Uuid::new_v4().simple())
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A registered holder as the registry import leaves it: a professional with an email and one
/// CISSP holding with an open cycle, no account yet.
pub struct Holder {
    pub email: String,
    pub professional_id: Uuid,
    pub holding_id: Uuid,
}

/// A professional with one CISSP holding and its open cycle, begun 400 days ago, as rows to
/// write with the ids given (a test that needs the same holding in two databases chooses them).
pub struct CisspHolder<'a> {
    pub professional_id: Uuid,
    pub holding_id: Uuid,
    pub email: &'a str,
    pub legal_name: &'a str,
    pub legal_name_kana: Option<&'a str>,
    pub locale: &'a str,
    pub number: &'a str,
    pub status: HoldingStatus,
}

/// Writes `who`: the professional, the holding and its cycle under the loaded CISSP rules.
pub async fn insert_cissp_holder(db: &sea_orm::DatabaseConnection, who: &CisspHolder<'_>) {
    let now = Utc::now();
    let today = now.date_naive();
    professionals::ActiveModel {
        id: Set(who.professional_id),
        email: Set(Some(who.email.to_owned())),
        legal_name: Set(who.legal_name.to_owned()),
        legal_name_kana: Set(who.legal_name_kana.map(str::to_owned)),
        display_name: Set(None),
        locale: Set(who.locale.to_owned()),
        time_zone: Set("Asia/Tokyo".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("professional");
    holdings::ActiveModel {
        id: Set(who.holding_id),
        professional_id: Set(who.professional_id),
        scheme_id: Set("cissp".to_owned()),
        registration_number: Set(who.number.to_owned()),
        certified_on: Set(today - Duration::days(400)),
        status: Set(who.status),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("holding");
    let version = scheme_versions::Entity::find()
        .filter(scheme_versions::Column::SchemeId.eq("cissp"))
        .one(db)
        .await
        .expect("query")
        .expect("the cissp scheme is loaded");
    cycles::ActiveModel {
        id: Set(Uuid::now_v7()),
        holding_id: Set(who.holding_id),
        scheme_version_id: Set(version.id),
        starts_on: Set(today - Duration::days(400)),
        ends_on: Set(today - Duration::days(400) + Duration::days(3 * 365)),
        outcome: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("cycle");
}

/// Session cookies a browser would keep, kept by hand because the test client has no jar.
#[derive(Default, Debug, Clone)]
pub struct Cookies(pub HashMap<String, String>);

impl Cookies {
    pub fn absorb(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or("");
            if let Some((name, rest)) = text.split(';').next().and_then(|p| p.split_once('=')) {
                if rest.is_empty() {
                    self.0.remove(name);
                } else {
                    self.0.insert(name.to_owned(), rest.to_owned());
                }
            }
        }
    }

    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The value of the hidden `csrf` field of a page.
pub fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..].split('"').next().unwrap_or("").to_owned()
}

impl TestApp {
    /// What the scheduled outbox drain does (every minute by default), now. Returns how many emails were sent.
    pub async fn dispatch_pending_emails(&self) -> usize {
        cpe_ledger::jobs::outbox::drain_once(&self.state).await
    }

    pub fn emails_to(&self, address: &str) -> Vec<ReceivedEmail> {
        mail_server().messages_to(address)
    }

    /// The one email `address` received; panics on none or several.
    pub fn only_email_to(&self, address: &str) -> ReceivedEmail {
        let mut all = self.emails_to(address);
        assert_eq!(
            all.len(),
            1,
            "expected one email to {address}, got {all:#?}"
        );
        all.remove(0)
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// Signs in through the API and returns the access token.
    pub async fn login_as(&self, email: &str, password: &str) -> String {
        let response = self
            .post_json(
                "/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 200, "login of {email} failed");
        let body: serde_json::Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// A holder from the registry with one CISSP holding (see [`Holder`]).
    pub async fn seed_holder(&self, locale: &str) -> Holder {
        let email = unique_email("holder");
        let holder = CisspHolder {
            professional_id: Uuid::now_v7(),
            holding_id: Uuid::now_v7(),
            email: &email,
            legal_name: "山田 太郎",
            legal_name_kana: Some("ヤマダ タロウ"),
            locale,
            number: &format!("{}", 100000 + rand_u32() % 800000),
            status: HoldingStatus::Active,
        };
        insert_cissp_holder(&self.state.db, &holder).await;
        Holder {
            professional_id: holder.professional_id,
            holding_id: holder.holding_id,
            email,
        }
    }

    /// Runs the invitation of imported holders and sends the emails.
    pub async fn invite_holders(&self) -> cpe_ledger::services::accounts::InvitationSummary {
        let summary = cpe_ledger::services::accounts::invite_holders(
            &self.state.db,
            &cpe_ledger::services::audit::Actor::cli("test"),
        )
        .await
        .expect("invitations");
        self.dispatch_pending_emails().await;
        summary
    }

    /// Opens an emailed link's page and submits its form as a browser would (with the CSRF
    /// cookie and field). Returns the response to the POST.
    pub async fn submit_link_form(&self, link: &str, password: &str) -> reqwest::Response {
        let local = self.local_link(link);
        let mut cookies = Cookies::default();
        let page = self.client.get(&local).send().await.expect("page");
        assert_eq!(page.status(), 200, "the link page should open");
        cookies.absorb(&page);
        let html = page.text().await.expect("html");
        let token = link.split("token=").nth(1).expect("token").to_owned();
        let action = if link.contains("/reset?") {
            "/reset"
        } else {
            "/activate"
        };
        self.client
            .post(self.url(action))
            .header("cookie", cookies.header())
            .form(&[
                ("csrf", csrf_field(&html).as_str()),
                ("token", token.as_str()),
                ("password", password),
                ("confirm", password),
            ])
            .send()
            .await
            .expect("form sent")
    }

    /// An emailed link points at the public URL; this is the same path on the test server.
    pub fn local_link(&self, link: &str) -> String {
        let url = url::Url::parse(link).expect("a URL");
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        self.url(&path)
    }

    /// A holder who accepted the invitation and chose [`PASSWORD`].
    pub async fn active_holder(&self) -> Holder {
        let holder = self.seed_holder("ja").await;
        self.invite_holders().await;
        let link = self.only_email_to(&holder.email).link("/activate");
        let response = self.submit_link_form(&link, PASSWORD).await;
        assert_eq!(
            response.status(),
            303,
            "activation should sign in and redirect"
        );
        holder
    }
}

fn rand_u32() -> u32 {
    u32::from_le_bytes(Uuid::new_v4().as_bytes()[..4].try_into().unwrap_or([0; 4]))
}
