//! Sending one status-webhook delivery from the outbox: a signed POST to the subscriber.
//!
//! The outcome is classed as the outbox classes email: a 2xx is delivered; no answer, a
//! timeout, 408, 429 or a 5xx is transient (retried with backoff); any other answer (the
//! receiver refuses this delivery), a deleted subscription or an unreadable payload is
//! permanent. Redirects are not followed: the subscriber named the URL to use.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::Utc;
use entity::notifications;

use crate::app::App;
use crate::mail::SendError;
use crate::services::webhooks::{self, DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Longest a receiver may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

fn client() -> Result<&'static reqwest::Client, SendError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let built = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cpe-ledger/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SendError::Transient(format!("cannot build the HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| built))
}

/// Posts the delivery `notification` holds.
pub async fn send(app: &App, notification: &notifications::Model) -> Result<(), SendError> {
    let Some((target, secret)) = webhooks::target_of(&app.db, &notification.recipient)
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?
    else {
        return Err(SendError::Permanent(
            "the subscription was deleted".to_owned(),
        ));
    };
    let body = serde_json::to_vec(&notification.payload)
        .map_err(|e| SendError::Permanent(format!("bad payload: {e}")))?;
    let timestamp = Utc::now().timestamp().to_string();
    let signature = webhooks::signature(&secret, &timestamp, &body);
    let response = client()?
        .post(&target)
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, &timestamp)
        .header(SIGNATURE_HEADER, format!("sha256={signature}"))
        .header(DELIVERY_HEADER, &notification.dedupe_key)
        .body(body)
        .send()
        .await
        .map_err(|e| SendError::Transient(format!("no answer from the receiver: {e}")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let why = format!("the receiver answered {status}");
    if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
        Err(SendError::Transient(why))
    } else {
        Err(SendError::Permanent(why))
    }
}
