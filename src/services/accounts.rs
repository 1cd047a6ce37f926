//! Login accounts and machine clients, as the certification body's staff create them.

use argon2::{Argon2, PasswordHasher};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use entity::clients::ClientKind;
use entity::users::UserRole;
use entity::{clients, providers, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::domain::email::EmailAddress;
use crate::services::audit::{self, Actor, Event};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

fn invalid(field: &'static str, message: impl Into<String>) -> AccountError {
    AccountError::Invalid {
        field,
        message: message.into(),
    }
}

pub const MIN_PASSWORD_LENGTH: usize = 12;

/// A random password for staff to hand over once.
pub fn generate_password() -> String {
    let bytes: [u8; 18] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Argon2id with the crate's defaults (m=19 MiB, t=2, p=1, as OWASP recommends).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

pub async fn create_user(
    db: &DatabaseConnection,
    email: &str,
    role: &str,
    password: &str,
) -> Result<users::Model, AccountError> {
    let email = EmailAddress::parse(email).map_err(|e| invalid("email", e.to_string()))?;
    let role = match role {
        "admin" => UserRole::Admin,
        "professional" => UserRole::Professional,
        _ => return Err(invalid("role", "must be admin or professional")),
    };
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_LENGTH} characters"),
        ));
    }
    let existing = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    if existing.is_some() {
        return Err(AccountError::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let now = Utc::now();
    let user = users::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(Some(hash_password(password)?)),
        role: Set(role),
        professional_id: Set(None),
        activated_at: Set(Some(now.into())),
        disabled_at: Set(None),
        sessions_revoked_at: Set(None),
        created_at: Set(now.into()),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        &Actor::cli("admin"),
        Event {
            action: "user.created",
            subject_kind: "user",
            subject_id: Some(user.id.to_string()),
            before: None,
            after: Some(serde_json::json!({"email": user.email, "role": user.role})),
        },
    )
    .await?;
    Ok(user)
}

pub struct NewClient {
    pub name: String,
    pub kind: String,
    pub scopes: Vec<String>,
    pub provider_id: Option<uuid::Uuid>,
    pub rate_limit_per_minute: i32,
}

/// A freshly created client; `secret` exists only here and is never stored in clear.
pub struct CreatedClient {
    pub client_id: String,
    pub secret: String,
    pub scopes: String,
}

pub const SCOPES: [&str; 4] = [
    "provider:write",
    "provider:read",
    "procurement:read",
    "admin",
];

fn parse_kind(kind: &str) -> Option<(ClientKind, Vec<String>)> {
    let (kind, scopes): (ClientKind, &[&str]) = match kind {
        "provider" => (ClientKind::Provider, &["provider:write", "provider:read"]),
        "procurement" => (ClientKind::Procurement, &["procurement:read"]),
        "admin" => (ClientKind::Admin, &["admin"]),
        _ => return None,
    };
    Some((kind, scopes.iter().map(|s| (*s).to_owned()).collect()))
}

/// Client secrets are 256 random bits, so a fast hash is enough: nobody can guess one.
pub fn hash_client_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub async fn create_client(
    db: &DatabaseConnection,
    new: NewClient,
) -> Result<CreatedClient, AccountError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "must not be empty"));
    }
    let (kind, defaults) = parse_kind(&new.kind)
        .ok_or_else(|| invalid("kind", "must be provider, procurement or admin"))?;
    let scopes = if new.scopes.is_empty() {
        defaults
    } else {
        new.scopes
    };
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(invalid(
            "scope",
            format!("unknown scope '{bad}' (known: {})", SCOPES.join(", ")),
        ));
    }
    if kind == ClientKind::Provider {
        let Some(provider_id) = new.provider_id else {
            return Err(invalid(
                "provider_id",
                "a provider client needs its provider",
            ));
        };
        if providers::Entity::find_by_id(provider_id)
            .one(db)
            .await?
            .is_none()
        {
            return Err(invalid("provider_id", "no such provider"));
        }
    }
    if new.rate_limit_per_minute <= 0 {
        return Err(invalid("rate_limit", "must be greater than zero"));
    }
    let id_bytes: [u8; 12] = rand::random();
    let secret_bytes: [u8; 32] = rand::random();
    let client_id = format!("cl_{}", hex::encode(id_bytes));
    let secret = URL_SAFE_NO_PAD.encode(secret_bytes);
    let scopes = scopes.join(" ");
    let model = clients::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        client_id: Set(client_id.clone()),
        secret_hash: Set(hash_client_secret(&secret)),
        name: Set(name.to_owned()),
        kind: Set(kind),
        provider_id: Set(new.provider_id),
        organisation_id: Set(None),
        scopes: Set(scopes.clone()),
        rate_limit_per_minute: Set(new.rate_limit_per_minute),
        disabled_at: Set(None),
        secret_rotated_at: Set(None),
        created_at: Set(Utc::now().into()),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        &Actor::cli("admin"),
        Event {
            action: "client.created",
            subject_kind: "client",
            subject_id: Some(model.client_id.clone()),
            before: None,
            after: Some(
                serde_json::json!({"name": model.name, "kind": model.kind, "scopes": model.scopes}),
            ),
        },
    )
    .await?;
    Ok(CreatedClient {
        client_id,
        secret,
        scopes,
    })
}
