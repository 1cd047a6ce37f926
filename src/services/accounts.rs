//! Login accounts, as the certification body's staff create them. Machine clients live in
//! [`crate::services::clients`].

use argon2::{Argon2, PasswordHasher};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use entity::users;
use entity::users::UserRole;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

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
