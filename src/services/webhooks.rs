//! Status webhooks: a procurement client subscribes to some holdings and is told, by a signed
//! POST, each time one's status, standing state or valid-until changes.
//!
//! - Each watch remembers what was last announced. [`detect_changes`] compares that with the
//!   holding's verdict in the standing projection (the engine's verdict, kept current by every
//!   write); a difference bumps the watch's change count and
//!   queues one delivery in the outbox, in one transaction. The delivery's dedupe key names the
//!   subscription, the holding and that count, so two instances detecting the same change queue
//!   it once, and each change is delivered once (at least once, with retries).
//! - Deliveries are outbox rows of their own template ([`TEMPLATE`]); the outbox worker sends
//!   them with the email retry rules (backoff doubling from a minute up to an hour, given up
//!   after four days). The body is signed at sending: `HMAC-SHA256(secret, timestamp + "." +
//!   body)`, hex, in [`SIGNATURE_HEADER`] as `sha256=<hex>`, the Unix timestamp in
//!   [`TIMESTAMP_HEADER`], the delivery's id in [`DELIVERY_HEADER`] (the same on a retry).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::{holdings, webhook_subscriptions, webhook_watches};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use crate::services::holding_facts::{self, HoldingFacts, status_str};
use crate::services::holdings as holding_service;
use crate::services::notifications::{self, NewNotification};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::StandingError;
use crate::services::standing_projection;

/// The outbox template of a webhook delivery.
pub const TEMPLATE: &str = "status_webhook";
pub const TIMESTAMP_HEADER: &str = "cpe-ledger-timestamp";
pub const SIGNATURE_HEADER: &str = "cpe-ledger-signature";
pub const DELIVERY_HEADER: &str = "cpe-ledger-delivery";
/// Most holdings one subscription may watch.
pub const MAX_HOLDINGS: usize = 1000;
/// Longest target URL accepted.
pub const MAX_URL_LENGTH: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Standing(#[from] StandingError),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> WebhookError {
    WebhookError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The signature of a delivery: hex HMAC-SHA256 of `timestamp + "." + body` keyed by the
/// subscription's secret.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A target URL we will POST to: absolute `https`, or `http` to this machine (a receiver
/// running beside the ledger), without credentials in it.
pub fn check_target(text: &str) -> Result<url::Url, WebhookError> {
    let field = "target_url";
    if text.len() > MAX_URL_LENGTH {
        return Err(invalid(
            field,
            format!("is longer than {MAX_URL_LENGTH} characters"),
        ));
    }
    let url = url::Url::parse(text).map_err(|e| invalid(field, format!("is not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                field,
                "must use https (plain http only to this machine)",
            ));
        }
        _ => return Err(invalid(field, "must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(field, "must not carry a user name or password"));
    }
    Ok(url)
}

/// A subscription as its client sees it (never the secret, after creation).
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: Uuid,
    pub target_url: String,
    /// (scheme, registration number) of each watched holding.
    pub holdings: Vec<(String, String)>,
    pub created_at: DateTime<Utc>,
}

/// A subscription just created, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct Created {
    pub subscription: Subscription,
    pub secret: String,
}

/// Subscribes `client_id` to the holdings named by (scheme, registration number). Every
/// holding must exist; what each is now is recorded as the starting point, so only later
/// changes are announced.
pub async fn create(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    client_id: &str,
    target_url: &str,
    wanted: &[(String, String)],
) -> Result<Created, WebhookError> {
    let target = check_target(target_url)?;
    if wanted.is_empty() {
        return Err(invalid("holdings", "name at least one holding"));
    }
    if wanted.len() > MAX_HOLDINGS {
        return Err(invalid(
            "holdings",
            format!("at most {MAX_HOLDINGS} holdings"),
        ));
    }
    let mut found: Vec<(holdings::Model, HoldingFacts)> = Vec::with_capacity(wanted.len());
    for (i, (scheme, number)) in wanted.iter().enumerate() {
        let Some(holding) = holding_service::by_registration(db, scheme, number).await? else {
            return Err(invalid(format!("holdings[{i}]"), "no such holding"));
        };
        if found.iter().any(|(h, _)| h.id == holding.id) {
            return Err(invalid(format!("holdings[{i}]"), "is named twice"));
        }
        let facts = holding_facts::of(db, catalog, &holding).await?;
        found.push((holding, facts));
    }
    let secret = format!(
        "whsec_{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    );
    let now = Utc::now();
    let id = Uuid::now_v7();
    let txn = crate::services::begin_write(db).await?;
    webhook_subscriptions::ActiveModel {
        id: Set(id),
        client_id: Set(client_id.to_owned()),
        target_url: Set(target.to_string()),
        secret: Set(secret.clone()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    for (holding, facts) in &found {
        let (status, state, valid_until) = announced(facts);
        webhook_watches::ActiveModel {
            subscription_id: Set(id),
            holding_id: Set(holding.id),
            last_status: Set(status),
            last_state: Set(state),
            last_valid_until: Set(valid_until),
            changes: Set(0),
            checked_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(Created {
        subscription: Subscription {
            id,
            target_url: target.to_string(),
            holdings: found
                .into_iter()
                .map(|(h, _)| (h.scheme_id, h.registration_number))
                .collect(),
            created_at: now,
        },
        secret,
    })
}

/// The facts a watch compares, as stored.
fn announced(facts: &HoldingFacts) -> (String, Option<String>, Option<chrono::NaiveDate>) {
    (
        status_str(facts.status).to_owned(),
        facts.state.map(|s| s.as_str().to_owned()),
        facts.valid_until,
    )
}

/// The client's subscriptions, oldest first.
pub async fn list(db: &impl ConnectionTrait, client_id: &str) -> Result<Vec<Subscription>, DbErr> {
    let subscriptions = webhook_subscriptions::Entity::find()
        .filter(webhook_subscriptions::Column::ClientId.eq(client_id))
        .order_by_asc(webhook_subscriptions::Column::CreatedAt)
        .order_by_asc(webhook_subscriptions::Column::Id)
        .all(db)
        .await?;
    let mut listed = Vec::with_capacity(subscriptions.len());
    for subscription in subscriptions {
        let watches = webhook_watches::Entity::find()
            .filter(webhook_watches::Column::SubscriptionId.eq(subscription.id))
            .all(db)
            .await?;
        let ids: Vec<Uuid> = watches.iter().map(|w| w.holding_id).collect();
        let mut watched: Vec<(String, String)> = holdings::Entity::find()
            .filter(holdings::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|h| (h.scheme_id, h.registration_number))
            .collect();
        watched.sort();
        listed.push(Subscription {
            id: subscription.id,
            target_url: subscription.target_url,
            holdings: watched,
            created_at: subscription.created_at,
        });
    }
    Ok(listed)
}

/// Ends one of the client's subscriptions; `false` when the client has none with that id.
/// Deliveries already queued for it are dropped when their turn comes.
pub async fn delete(db: &DatabaseConnection, client_id: &str, id: Uuid) -> Result<bool, DbErr> {
    let txn = crate::services::begin_write(db).await?;
    let Some(found) = webhook_subscriptions::Entity::find_by_id(id)
        .filter(webhook_subscriptions::Column::ClientId.eq(client_id))
        .one(&txn)
        .await?
    else {
        txn.rollback().await?;
        return Ok(false);
    };
    webhook_watches::Entity::delete_many()
        .filter(webhook_watches::Column::SubscriptionId.eq(found.id))
        .exec(&txn)
        .await?;
    webhook_subscriptions::Entity::delete_by_id(found.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// Compares every watched holding's verdict in the standing projection (which every credit,
/// void, correction, import and status write keeps current, and which is re-judged on read
/// once a holder's day has moved on) with what was last announced, and queues one delivery per
/// change. Returns how many deliveries were queued. Run by the scheduler before each outbox
/// drain and after each daily sweep.
pub async fn detect_changes(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
) -> Result<usize, WebhookError> {
    let watches = webhook_watches::Entity::find()
        .order_by_asc(webhook_watches::Column::HoldingId)
        .all(db)
        .await?;
    if watches.is_empty() {
        return Ok(0);
    }
    let mut ids: Vec<Uuid> = watches.iter().map(|w| w.holding_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut keys: HashMap<Uuid, (String, String)> = HashMap::new();
    for chunk in ids.chunks(1_000) {
        for holding in holdings::Entity::find()
            .filter(holdings::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            keys.insert(
                holding.id,
                (
                    holding.scheme_id.clone(),
                    holding.registration_number.clone(),
                ),
            );
        }
    }
    let wanted: Vec<(String, String)> = keys.values().cloned().collect();
    let verdicts = standing_projection::current(db, catalog, &wanted).await?;
    let mut queued = 0;
    for watch in watches {
        let Some(verdict) = keys.get(&watch.holding_id).and_then(|k| verdicts.get(k)) else {
            continue;
        };
        let facts = HoldingFacts {
            scheme: verdict.scheme.clone(),
            registration_number: verdict.registration_number.clone(),
            status: verdict.status,
            state: verdict.state,
            valid_until: verdict.valid_until,
            in_good_standing: verdict.in_good_standing(),
        };
        let now_announced = announced(&facts);
        let before = (
            watch.last_status.clone(),
            watch.last_state.clone(),
            watch.last_valid_until,
        );
        if now_announced == before {
            continue;
        }
        if announce(db, &watch, &facts, now_announced).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Records the change on the watch and queues its delivery, together; `false` when another
/// pass recorded this change first.
async fn announce(
    db: &DatabaseConnection,
    watch: &webhook_watches::Model,
    facts: &HoldingFacts,
    (status, state, valid_until): (String, Option<String>, Option<chrono::NaiveDate>),
) -> Result<bool, DbErr> {
    let change = watch.changes + 1;
    let now = Utc::now();
    let txn = crate::services::begin_write(db).await?;
    let updated = webhook_watches::Entity::update_many()
        .col_expr(
            webhook_watches::Column::LastStatus,
            Expr::value(status.clone()),
        )
        .col_expr(
            webhook_watches::Column::LastState,
            Expr::value(state.clone()),
        )
        .col_expr(
            webhook_watches::Column::LastValidUntil,
            Expr::value(valid_until),
        )
        .col_expr(webhook_watches::Column::Changes, Expr::value(change))
        .col_expr(webhook_watches::Column::CheckedAt, Expr::value(now))
        .filter(webhook_watches::Column::SubscriptionId.eq(watch.subscription_id))
        .filter(webhook_watches::Column::HoldingId.eq(watch.holding_id))
        .filter(webhook_watches::Column::Changes.eq(watch.changes))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    let dedupe_key = format!(
        "webhook:{}:{}:{change}",
        watch.subscription_id, watch.holding_id
    );
    let payload = json!({
        "type": "holding.status_changed",
        "id": dedupe_key,
        "subscription_id": watch.subscription_id,
        "occurred_at": now,
        "holding": {
            "scheme": facts.scheme,
            "registration_number": facts.registration_number,
            "status": status,
            "standing": state,
            "valid_until": valid_until,
            "in_good_standing": facts.in_good_standing,
        },
        "previous": {
            "status": watch.last_status,
            "standing": watch.last_state,
            "valid_until": watch.last_valid_until,
        },
    });
    let queued = notifications::enqueue(
        &txn,
        NewNotification {
            dedupe_key,
            template: TEMPLATE,
            locale: "en".to_owned(),
            recipient: watch.subscription_id.to_string(),
            payload,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(queued)
}

/// What a delivery needs at sending time: where to, and the secret to sign with. `None` when
/// the subscription is gone.
pub async fn target_of(
    db: &impl ConnectionTrait,
    subscription_id: &str,
) -> Result<Option<(String, String)>, DbErr> {
    let Ok(id) = Uuid::parse_str(subscription_id) else {
        return Ok(None);
    };
    Ok(webhook_subscriptions::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|s| (s.target_url, s.secret)))
}
