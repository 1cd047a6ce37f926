//! Machine clients (OAuth2 client credentials): creating them, authenticating them at the token
//! endpoint, disabling them and rotating their secrets.
//!
//! A client secret is 256 random bits shown once; only its SHA-256 is stored. A fast hash is
//! enough because nobody can guess such a secret, and it is compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use entity::clients;
pub use entity::clients::{ClientKind, Model as Client};
use entity::providers;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::services::audit::{self, Actor, Event};
use crate::services::begin_write;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no client {0}")]
    NotFound(String),
    /// `provider_id` names no provider (404, like any other unknown record).
    #[error("no provider {0}")]
    UnknownProvider(uuid::Uuid),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

fn invalid(field: &'static str, message: impl Into<String>) -> ClientError {
    ClientError::Invalid {
        field,
        message: message.into(),
    }
}

/// Every scope a client may hold.
pub const SCOPES: [&str; 4] = [
    "provider:write",
    "provider:read",
    "procurement:read",
    "admin",
];

/// Requests per minute when the creator does not say.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i32 = 600;

pub struct NewClient {
    pub name: String,
    /// `provider`, `procurement` or `admin`.
    pub kind: String,
    /// Empty means the kind's usual scopes.
    pub scopes: Vec<String>,
    pub provider_id: Option<Uuid>,
    pub rate_limit_per_minute: i32,
}

/// A client with its secret in clear: exists only in the answer to a create or a rotation.
pub struct CreatedClient {
    pub client: clients::Model,
    pub secret: String,
}

fn parse_kind(kind: &str) -> Option<(ClientKind, Vec<String>)> {
    let (kind, scopes): (ClientKind, &[&str]) = match kind {
        "provider" => (ClientKind::Provider, &["provider:write", "provider:read"]),
        "procurement" => (ClientKind::Procurement, &["procurement:read"]),
        "admin" => (ClientKind::Admin, &["admin"]),
        _ => return None,
    };
    Some((kind, scopes.iter().map(|s| (*s).to_owned()).collect()))
}

/// Secrets made by [`new_secret`] are 256 random bits, so a fast hash is enough: nobody can
/// guess one.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// 256 random bits, URL-safe base64: a client secret, or the secret in a calendar feed's URL.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

pub async fn create_client(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewClient,
) -> Result<CreatedClient, ClientError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "must not be empty"));
    }
    if name.chars().count() > 254 {
        return Err(invalid("name", "must be at most 254 characters"));
    }
    let (kind, defaults) = parse_kind(&new.kind)
        .ok_or_else(|| invalid("kind", "must be provider, procurement or admin"))?;
    // A client gets at most the scopes of its kind: a provider can never be made an admin
    // by a slip of the keyboard.
    let allowed = defaults.clone();
    let mut scopes: Vec<String> = Vec::new();
    for scope in if new.scopes.is_empty() {
        defaults
    } else {
        new.scopes
    } {
        if !SCOPES.contains(&scope.as_str()) {
            return Err(invalid(
                "scopes",
                format!("unknown scope '{scope}' (known: {})", SCOPES.join(", ")),
            ));
        }
        if !allowed.contains(&scope) {
            return Err(invalid(
                "scopes",
                format!("a {} client may have only {}", new.kind, allowed.join(", ")),
            ));
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if new.rate_limit_per_minute <= 0 {
        return Err(invalid(
            "rate_limit_per_minute",
            "must be greater than zero",
        ));
    }
    let txn = begin_write(db).await?;
    match (kind, new.provider_id) {
        (ClientKind::Provider, None) => {
            return Err(invalid(
                "provider_id",
                "a provider client needs its provider",
            ));
        }
        (ClientKind::Provider, Some(provider_id)) => {
            let provider = providers::Entity::find_by_id(provider_id)
                .one(&txn)
                .await?
                .ok_or(ClientError::UnknownProvider(provider_id))?;
            if provider.status == providers::ProviderStatus::Suspended {
                return Err(ClientError::Conflict(
                    "the provider is suspended; no client may act for it".to_owned(),
                ));
            }
        }
        (_, Some(_)) => {
            return Err(invalid(
                "provider_id",
                "only provider clients act for a provider",
            ));
        }
        (_, None) => {}
    }
    if clients::Entity::find()
        .filter(clients::Column::Name.eq(name))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(ClientError::Conflict(format!(
            "a client named '{name}' already exists"
        )));
    }
    let id_bytes: [u8; 12] = rand::random();
    let secret = new_secret();
    let model = clients::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(format!("cl_{}", hex::encode(id_bytes))),
        secret_hash: Set(hash_secret(&secret)),
        name: Set(name.to_owned()),
        kind: Set(kind),
        provider_id: Set(new.provider_id),
        organisation_id: Set(None),
        scopes: Set(scopes.join(" ")),
        rate_limit_per_minute: Set(new.rate_limit_per_minute),
        disabled_at: Set(None),
        secret_rotated_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        // Another creation of the same name got past the check first.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ClientError::Conflict(format!("a client named '{name}' already exists"))
        }
        _ => ClientError::Db(e),
    })?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "client.created",
            subject_kind: "client",
            subject_id: Some(model.client_id.clone()),
            before: None,
            after: Some(public_view(&model)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedClient {
        client: model,
        secret,
    })
}

/// What the audit log keeps of a client: never the secret or its hash.
fn public_view(client: &clients::Model) -> serde_json::Value {
    serde_json::json!({
        "client_id": client.client_id,
        "name": client.name,
        "kind": client.kind,
        "provider_id": client.provider_id,
        "scopes": client.scopes,
        "rate_limit_per_minute": client.rate_limit_per_minute,
        "disabled_at": client.disabled_at,
        "secret_rotated_at": client.secret_rotated_at,
    })
}

/// Clients in creation order, `limit` at a time after the client with id `after`.
pub async fn list_clients(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<clients::Model>, ClientError> {
    list_clients_of_kind(db, None, after, limit).await
}

/// [`list_clients`] narrowed to one kind when `kind` names one.
pub async fn list_clients_of_kind(
    db: &impl ConnectionTrait,
    kind: Option<ClientKind>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<clients::Model>, ClientError> {
    let mut query = clients::Entity::find().order_by_asc(clients::Column::Id);
    if let Some(kind) = kind {
        query = query.filter(clients::Column::Kind.eq(kind));
    }
    if let Some(after) = after {
        query = query.filter(clients::Column::Id.gt(after));
    }
    Ok(query.limit(limit).all(db).await?)
}

pub async fn find_client(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<clients::Model, ClientError> {
    clients::Entity::find()
        .filter(clients::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| ClientError::NotFound(client_id.to_owned()))
}

/// Disables a client; its tokens stop working on their next request. Disabling twice keeps
/// the first instant.
pub async fn disable_client(
    db: &DatabaseConnection,
    actor: &Actor,
    client_id: &str,
) -> Result<clients::Model, ClientError> {
    let txn = begin_write(db).await?;
    let client = find_client(&txn, client_id).await?;
    if client.disabled_at.is_some() {
        return Ok(client);
    }
    let before = public_view(&client);
    let mut active: clients::ActiveModel = client.into();
    active.disabled_at = Set(Some(Utc::now()));
    let client = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "client.disabled",
            subject_kind: "client",
            subject_id: Some(client.client_id.clone()),
            before: Some(before),
            after: Some(public_view(&client)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(client)
}

/// The instant a rotation takes effect: now, rounded up to the next whole second.
///
/// A token's `iat` has one-second resolution and tokens with `iat` before this instant are
/// refused, so rounding up refuses every token issued before the rotation, including one issued
/// earlier in the same second. The token endpoint holds a request that arrives inside that
/// second until it has passed (see [`not_before_rotation`]), so new tokens are never refused.
fn rotation_instant(now: DateTime<Utc>) -> DateTime<Utc> {
    let second = TimeDelta::seconds(1);
    match now.duration_trunc(second) {
        Ok(truncated) if truncated == now => now,
        Ok(truncated) => truncated + second,
        Err(_) => now,
    }
}

/// How long a token request must wait so the token it gets postdates the client's last
/// rotation (at most one second; zero almost always).
pub fn not_before_rotation(client: &clients::Model, now: DateTime<Utc>) -> std::time::Duration {
    client
        .secret_rotated_at
        .and_then(|rotated| (rotated - now).to_std().ok())
        .unwrap_or_default()
}

/// Replaces a client's secret. The new secret is returned once; the old one stops working at
/// once, and so does every token issued before the rotation.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    actor: &Actor,
    client_id: &str,
) -> Result<CreatedClient, ClientError> {
    let txn = begin_write(db).await?;
    let client = find_client(&txn, client_id).await?;
    let before = public_view(&client);
    let secret = new_secret();
    let mut active: clients::ActiveModel = client.into();
    active.secret_hash = Set(hash_secret(&secret));
    active.secret_rotated_at = Set(Some(rotation_instant(Utc::now())));
    let client = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "client.secret_rotated",
            subject_kind: "client",
            subject_id: Some(client.client_id.clone()),
            before: Some(before),
            after: Some(public_view(&client)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedClient { client, secret })
}

/// Why the token endpoint refused a client; recorded in the audit log, never sent in detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownClient,
    WrongSecret,
    Disabled,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::UnknownClient => "unknown_client",
            Refusal::WrongSecret => "wrong_secret",
            Refusal::Disabled => "client_disabled",
        }
    }
}

/// Checks a client's credentials. The secret's hash is compared in constant time, and an
/// unknown client costs the same hash and comparison as a known one.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    client_id: &str,
    secret: &str,
) -> Result<Result<clients::Model, Refusal>, ClientError> {
    let found = clients::Entity::find()
        .filter(clients::Column::ClientId.eq(client_id))
        .one(db)
        .await?;
    let presented = hash_secret(secret);
    let stored = found
        .as_ref()
        .map_or_else(|| "0".repeat(presented.len()), |c| c.secret_hash.clone());
    let matches: bool = presented.as_bytes().ct_eq(stored.as_bytes()).into();
    Ok(match found {
        None => Err(Refusal::UnknownClient),
        Some(_) if !matches => Err(Refusal::WrongSecret),
        Some(client) if client.disabled_at.is_some() => Err(Refusal::Disabled),
        Some(client) => Ok(client),
    })
}

/// The scopes to grant: the client's own when none are asked for, else the requested ones,
/// which must all be the client's (RFC 6749 §3.3). Returned in the client's order, without
/// repeats; `None` when a requested scope is not the client's.
pub fn grant_scopes(client: &clients::Model, requested: Option<&str>) -> Option<String> {
    let own: Vec<&str> = client.scopes.split_whitespace().collect();
    let requested: Vec<&str> = match requested.map(str::split_whitespace) {
        None => return Some(own.join(" ")),
        Some(words) => words.collect(),
    };
    if requested.is_empty() {
        return Some(own.join(" "));
    }
    if requested.iter().any(|s| !own.contains(s)) {
        return None;
    }
    Some(
        own.into_iter()
            .filter(|s| requested.contains(s))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(scopes: &str) -> clients::Model {
        clients::Model {
            id: Uuid::now_v7(),
            client_id: "cl_x".to_owned(),
            secret_hash: String::new(),
            name: "x".to_owned(),
            kind: ClientKind::Procurement,
            provider_id: None,
            organisation_id: None,
            scopes: scopes.to_owned(),
            rate_limit_per_minute: 1,
            disabled_at: None,
            secret_rotated_at: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn requested_scopes_must_be_a_subset_of_the_clients() {
        let c = client("provider:write provider:read");
        assert_eq!(
            grant_scopes(&c, None).as_deref(),
            Some("provider:write provider:read")
        );
        assert_eq!(
            grant_scopes(&c, Some("provider:read")).as_deref(),
            Some("provider:read")
        );
        assert_eq!(
            grant_scopes(&c, Some("provider:read provider:read")).as_deref(),
            Some("provider:read")
        );
        assert_eq!(grant_scopes(&c, Some("provider:read admin")), None);
    }

    #[test]
    fn a_rotation_takes_effect_at_the_next_whole_second() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00.250Z")
            .unwrap_or_default()
            .with_timezone(&Utc);
        let at = rotation_instant(now);
        assert_eq!(at.to_rfc3339(), "2026-01-01T00:00:01+00:00");
        let mut c = client("admin");
        c.secret_rotated_at = Some(at);
        assert_eq!(
            not_before_rotation(&c, now),
            std::time::Duration::from_millis(750)
        );
    }
}
