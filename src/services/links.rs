//! Emailed, single-use links: activation (of an invited or signed-up account) and password
//! reset. Only a SHA-256 of each token is stored; the clear token exists only in the email.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
pub use entity::one_time_tokens::TokenPurpose;
use entity::users;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::auth::password::{self, HashError};
use crate::services::audit::{self, Actor, Event};

/// How long an activation link works.
pub const ACTIVATION_LINK_TTL: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// How long a password-reset link works.
pub const RESET_LINK_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// SHA-256 of a link token, as stored. Tokens carry 256 random bits, so a fast hash is enough.
pub fn link_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a single-use link token for `user_id`; only its hash is stored. Returns the token
/// and when it expires.
pub async fn mint_link_token(
    db: &impl sea_orm::ConnectionTrait,
    user_id: uuid::Uuid,
    purpose: TokenPurpose,
) -> Result<(String, chrono::DateTime<Utc>), sea_orm::DbErr> {
    use entity::one_time_tokens;
    let bytes: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let now = Utc::now();
    let expires_at = now
        + match purpose {
            TokenPurpose::Activation => ACTIVATION_LINK_TTL,
            TokenPurpose::Reset => RESET_LINK_TTL,
        };
    one_time_tokens::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(user_id),
        purpose: Set(purpose),
        token_hash: Set(link_token_hash(&token)),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok((token, expires_at))
}

/// Why an emailed link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkProblem {
    /// No such link (mistyped, truncated, or for another purpose).
    Unknown,
    Used,
    Expired,
}

impl LinkProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Used => "used",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the link cannot be used: {0:?}")]
    Link(LinkProblem),
    /// The new password breaks the rules, or none was given where one is needed.
    #[error("password: {0}")]
    Password(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// The account a link is for, if it can still be used (nothing is changed).
pub async fn check_link(
    db: &impl sea_orm::ConnectionTrait,
    token: &str,
    purpose: TokenPurpose,
) -> Result<users::Model, LinkError> {
    use entity::one_time_tokens;
    let row = one_time_tokens::Entity::find()
        .filter(one_time_tokens::Column::TokenHash.eq(link_token_hash(token)))
        .filter(one_time_tokens::Column::Purpose.eq(purpose))
        .one(db)
        .await?
        .ok_or(LinkError::Link(LinkProblem::Unknown))?;
    if row.used_at.is_some() {
        return Err(LinkError::Link(LinkProblem::Used));
    }
    if row.expires_at <= Utc::now() {
        return Err(LinkError::Link(LinkProblem::Expired));
    }
    users::Entity::find_by_id(row.user_id)
        .one(db)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or(LinkError::Link(LinkProblem::Unknown))
}

/// Uses a link: marks it used and sets the password in one transaction, so a link works
/// exactly once even when two requests race (the guarded `UPDATE … WHERE used_at IS NULL`
/// lets only one through). Activation also activates the account; a reset ends every session.
/// `password` may be `None` only when activating an account that already has one (sign-up).
pub async fn redeem_link(
    db: &DatabaseConnection,
    token: &str,
    purpose: TokenPurpose,
    password: Option<&str>,
) -> Result<users::Model, LinkError> {
    use entity::one_time_tokens;
    use sea_orm::sea_query::Expr;

    let user = check_link(db, token, purpose).await?;
    let new_hash = match password {
        Some(p) => {
            password::check_new_password(p).map_err(|e| LinkError::Password(e.0))?;
            Some(password::hash_password_off_thread(p.to_owned()).await?)
        }
        None if purpose == TokenPurpose::Activation && user.password_hash.is_some() => None,
        None => return Err(LinkError::Password("a password is required".to_owned())),
    };
    let now = Utc::now();
    let txn = crate::services::begin_write(db).await?;
    let claimed = one_time_tokens::Entity::update_many()
        .col_expr(one_time_tokens::Column::UsedAt, Expr::value(Some(now)))
        .filter(one_time_tokens::Column::TokenHash.eq(link_token_hash(token)))
        .filter(one_time_tokens::Column::Purpose.eq(purpose))
        .filter(one_time_tokens::Column::UsedAt.is_null())
        .filter(one_time_tokens::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        // Lost a race, or expired in between: say which.
        return Err(match check_link(db, token, purpose).await {
            Err(e) => e,
            Ok(_) => LinkError::Link(LinkProblem::Used),
        });
    }
    // One link used spends every other outstanding link of the account.
    one_time_tokens::Entity::update_many()
        .col_expr(one_time_tokens::Column::UsedAt, Expr::value(Some(now)))
        .filter(one_time_tokens::Column::UserId.eq(user.id))
        .filter(one_time_tokens::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    let was_activated = user.activated_at.is_some();
    let mut active: users::ActiveModel = user.into();
    if let Some(hash) = new_hash {
        active.password_hash = Set(Some(hash));
    }
    let action = match purpose {
        TokenPurpose::Activation => {
            active.activated_at = Set(Some(now));
            "user.activated"
        }
        TokenPurpose::Reset => {
            active.sessions_revoked_at = Set(Some(now));
            // The reset link reached the mailbox, which is all activation proves: an invited
            // holder whose invitation expired gets in this way.
            if !was_activated {
                active.activated_at = Set(Some(now));
            }
            "password.reset"
        }
    };
    let user = active.update(&txn).await?;
    if purpose == TokenPurpose::Reset {
        crate::services::throttle::clear_login_failures(&txn, &user.email).await?;
    }
    audit::record(
        &txn,
        &Actor::user(user.id),
        Event {
            action,
            subject_kind: "user",
            subject_id: Some(user.id.to_string()),
            before: None,
            after: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}
