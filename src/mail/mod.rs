//! Outgoing email: each [`Email`] rendered from its typed context through the app's
//! [`crate::templates::Templates`], and sent through lettre.
//!
//! One [`Mailer`] per process, built from configuration: an SMTP connection pool when
//! `CPE_LEDGER_SMTP_URL` is set, otherwise `.eml` files in `<data_dir>/outbox`, so a default run
//! needs no mail server. Accepted SMTP URLs (lettre's own forms):
//!
//! - `smtp://host:port` — plain SMTP, no TLS at all (a relay on localhost or a test server);
//! - `smtp://user:pass@host:587?tls=required` — STARTTLS, refused if the server cannot;
//! - `smtp://host:587?tls=opportunistic` — STARTTLS when offered;
//! - `smtps://user:pass@host:465` — TLS from the first byte.
//!
//! The port defaults to 25 (`smtp://`), 587 (`?tls=…`) or 465 (`smtps://`). A path segment
//! (`smtp://host:25/mail.example.org`) becomes the EHLO name.

pub mod email;
pub mod reminder;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};

use crate::config::{Config, MailDelivery};

pub use email::{Email, LinkEmail, RenderedEmail, render};

/// Why a message was not sent, split the way the outbox must treat it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: a 4xx reply, a dropped connection, a full disk.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Retrying cannot help: a 5xx reply (no such mailbox, message refused).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("CPE_LEDGER_SMTP_URL: {0}")]
    Smtp(String),
    #[error("cannot create the outbox folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("the sender address {0:?} is not valid")]
    From(String),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Sends messages; cheap to share (the SMTP pool is internally reference-counted).
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// The domain part of every Message-ID we generate.
    id_domain: String,
    /// The longest one SMTP delivery may take (`CPE_LEDGER_SMTP_TIMEOUT`).
    timeout: std::time::Duration,
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Self, MailError> {
        let transport = match &config.mail {
            MailDelivery::Smtp(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::Smtp(e.to_string()))?
                    .pool_config(PoolConfig::new().max_size(4))
                    .timeout(Some(config.smtp_timeout))
                    .build();
                Transport::Smtp(transport)
            }
            MailDelivery::Files(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| MailError::Folder {
                    path: dir.display().to_string(),
                    source,
                })?;
                Transport::Files(AsyncFileTransport::new(dir))
            }
        };
        let id_domain = match config.public_url.host() {
            Some(url::Host::Domain(name)) if name.contains('.') => name.to_owned(),
            _ => "cpe-ledger.localhost".to_owned(),
        };
        let from: Mailbox = match &config.mail_from {
            Some(from) => from.clone(),
            None => {
                let from_text = format!("cpe-ledger <no-reply@{id_domain}>");
                from_text
                    .parse()
                    .map_err(|_| MailError::From(from_text.clone()))?
            }
        };
        Ok(Self {
            transport,
            from,
            id_domain,
            timeout: config.smtp_timeout,
        })
    }

    /// The Message-ID for a notification: a digest of its dedupe key, so a message sent twice
    /// (SMTP is at-least-once) carries the same id and a receiving system can tell.
    pub fn message_id(&self, dedupe_key: &str) -> String {
        let digest = hex::encode(Sha256::digest(dedupe_key.as_bytes()));
        format!("<{}@{}>", &digest[..32], self.id_domain)
    }

    /// Builds the multipart (text + HTML) message.
    pub fn compose(
        &self,
        to: &str,
        message_id: &str,
        email: &RenderedEmail,
    ) -> Result<Message, SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {to:?}: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(message_id.to_owned()));
        if let Some(link) = &email.list_unsubscribe {
            // RFC 8058: an HTTPS link that takes a one-click POST, no login.
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{link}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match &self.transport {
            // lettre bounds each read and write; a server that accepts and then never greets
            // is bounded here too, so one silent server cannot hold an outbox pass.
            Transport::Smtp(smtp) => {
                match tokio::time::timeout(self.timeout, smtp.send(message)).await {
                    Err(_) => Err(SendError::Transient(format!(
                        "the SMTP server did not finish within {} s",
                        self.timeout.as_secs()
                    ))),
                    Ok(sent) => sent.map(|_| ()).map_err(|e| {
                        if e.is_permanent() {
                            SendError::Permanent(e.to_string())
                        } else {
                            SendError::Transient(e.to_string())
                        }
                    }),
                }
            }
            Transport::Files(files) => files
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Transient(e.to_string())),
        }
    }
}
