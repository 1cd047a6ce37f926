//! A signed-in person's own settings: the language of their pages and emails, and their
//! password. Both are audit-logged.
//!
//! The language of a professional is `professionals.locale` (emails read it too); a staff
//! account keeps its own in `users.locale`. A password change asks for the current password,
//! checked exactly as a sign-in is (same throttling, same audit of failures), and then ends
//! every session as a password reset does; the caller issues the one new token.

use chrono::Utc;
use entity::{professionals, users};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use crate::auth::password::{self, HashError};
use crate::services::audit::{self, Actor, Event};
use crate::services::sign_in::{self, LoginError};
use crate::templates::LOCALES;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Too many wrong current passwords: the sign-in throttle holds.
    #[error("too many failed attempts; retry in {retry_after_seconds} s")]
    Throttled { retry_after_seconds: u64 },
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// A language tag the pages have words for, exactly (`ja` or `en`, in any case).
pub fn parse_locale(text: &str) -> Result<&'static str, SettingsError> {
    let wanted = text.trim().to_ascii_lowercase();
    LOCALES
        .iter()
        .copied()
        .find(|l| *l == wanted)
        .ok_or_else(|| SettingsError::Invalid {
            field: "locale",
            message: format!("must be one of {}", LOCALES.join(", ")),
        })
}

/// The language the account chose: its professional's, or a staff account's own.
pub async fn account_locale(
    db: &DatabaseConnection,
    user: &users::Model,
) -> Result<Option<String>, sea_orm::DbErr> {
    Ok(match user.professional_id {
        Some(id) => professionals::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|p| p.locale),
        None => user.locale.clone(),
    })
}

/// Sets the account's language; returns the one now in force.
pub async fn set_locale(
    db: &DatabaseConnection,
    user: &users::Model,
    actor: &Actor,
    locale: &str,
) -> Result<&'static str, SettingsError> {
    let locale = parse_locale(locale)?;
    let txn = crate::services::begin_write(db).await?;
    let before = match user.professional_id {
        Some(id) => {
            let person = professionals::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("professional {id}")))?;
            let before = person.locale.clone();
            let mut active: professionals::ActiveModel = person.into();
            active.locale = Set(locale.to_owned());
            active.updated_at = Set(Utc::now());
            active.update(&txn).await?;
            Some(before)
        }
        None => {
            let account = users::Entity::find_by_id(user.id)
                .one(&txn)
                .await?
                .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("user {}", user.id)))?;
            let before = account.locale.clone();
            let mut active: users::ActiveModel = account.into();
            active.locale = Set(Some(locale.to_owned()));
            active.update(&txn).await?;
            before
        }
    };
    audit::record(
        &txn,
        actor,
        Event {
            action: "locale.changed",
            subject_kind: "user",
            subject_id: Some(user.id.to_string()),
            before: Some(serde_json::json!({ "locale": before })),
            after: Some(serde_json::json!({ "locale": locale })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(locale)
}

/// Changes the password after checking the current one, and ends every session (this one
/// too: the caller signs the person in again with a fresh token). Returns the account as it
/// now is.
pub async fn change_password(
    db: &DatabaseConnection,
    user: &users::Model,
    ip: std::net::IpAddr,
    current: &str,
    new: &str,
) -> Result<users::Model, SettingsError> {
    // The rule on the new password first: a typo there must not cost a sign-in attempt.
    password::check_new_password(new).map_err(|e| SettingsError::Invalid {
        field: "new_password",
        message: e.0,
    })?;
    match sign_in::log_in(db, &user.email, current, ip).await {
        Ok(_) => {}
        Err(LoginError::BadCredentials) => {
            return Err(SettingsError::Invalid {
                field: "current_password",
                message: "is not correct".to_owned(),
            });
        }
        Err(LoginError::Throttled {
            retry_after_seconds,
        }) => {
            return Err(SettingsError::Throttled {
                retry_after_seconds,
            });
        }
        Err(LoginError::Db(e)) => return Err(e.into()),
    }
    let hash = password::hash_password_off_thread(new.to_owned()).await?;
    let txn = crate::services::begin_write(db).await?;
    let account = users::Entity::find_by_id(user.id)
        .one(&txn)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("user {}", user.id)))?;
    let mut active: users::ActiveModel = account.into();
    active.password_hash = Set(Some(hash));
    active.sessions_revoked_at = Set(Some(Utc::now()));
    let account = active.update(&txn).await?;
    // One-time links sent before the change (a reset asked for by someone else) die with it.
    {
        use entity::one_time_tokens;
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, QueryFilter};
        one_time_tokens::Entity::update_many()
            .col_expr(
                one_time_tokens::Column::UsedAt,
                Expr::value(Some(Utc::now())),
            )
            .filter(one_time_tokens::Column::UserId.eq(account.id))
            .filter(one_time_tokens::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
    }
    audit::record(
        &txn,
        &Actor {
            ip: Some(ip.to_string()),
            ..Actor::user(account.id)
        },
        Event {
            action: "password.changed",
            subject_kind: "user",
            subject_id: Some(account.id.to_string()),
            before: None,
            after: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_languages_the_pages_speak_are_accepted() {
        assert_eq!(parse_locale("en").ok(), Some("en"));
        assert_eq!(parse_locale(" JA ").ok(), Some("ja"));
        for refused in ["", "fr", "en-GB", "english"] {
            assert!(
                matches!(
                    parse_locale(refused),
                    Err(SettingsError::Invalid {
                        field: "locale",
                        ..
                    })
                ),
                "{refused:?}"
            );
        }
    }
}
