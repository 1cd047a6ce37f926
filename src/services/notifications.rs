//! The outbox: an email is first a row in `notifications`, written in the same breath as the
//! change that causes it; the outbox worker (`jobs::outbox`) sends it later.
//!
//! Account links are not in the row. An invitation, activation or reset notification names
//! only the user; the single-use token is minted when the message is rendered for sending, so
//! the clear token exists only inside the email (the database keeps its SHA-256). A reset
//! request names only the address typed; the account behind it is looked up when the email is
//! rendered, and a request for an address without a usable account is closed as `dropped`.

use chrono::{DateTime, Utc};
use entity::notifications::{self, NotificationState};
use entity::one_time_tokens::TokenPurpose;
use entity::{professionals, users};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::tokens::KeyRing;
use crate::config::Config;
use crate::mail::reminder::ReminderEmail;
use crate::mail::{self, Email, LinkEmail, RenderedEmail};
use crate::services::audit::{self, Actor, Event};
use crate::services::links;
use crate::services::reminder_preferences::{self, LinksError};
use crate::templates::{Templates, supported_locale};

/// A notification about to be queued.
pub struct NewNotification {
    /// Unique: a second notification with the same key is silently not queued.
    pub dedupe_key: String,
    pub template: &'static str,
    pub locale: String,
    pub recipient: String,
    pub payload: serde_json::Value,
}

/// Queues a notification unless one with the same dedupe key exists. Returns whether it was
/// queued. Inside a transaction the insert runs in a savepoint, so a refused duplicate leaves
/// the caller's transaction usable on every engine (PostgreSQL would otherwise abort it, and
/// MySQL has no portable "insert or do nothing" that reports what it did).
pub async fn enqueue<C>(db: &C, new: NewNotification) -> Result<bool, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let now = Utc::now();
    let row = notifications::ActiveModel {
        id: Set(Uuid::now_v7()),
        dedupe_key: Set(new.dedupe_key),
        template: Set(new.template.to_owned()),
        locale: Set(new.locale),
        recipient: Set(new.recipient),
        payload: Set(new.payload),
        state: Set(NotificationState::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        message_id: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    };
    let savepoint = db.begin().await?;
    let inserted = notifications::Entity::insert(row)
        .exec_without_returning(&savepoint)
        .await;
    crate::services::commit_unless_duplicate(savepoint, inserted).await
}

/// The payload of the account emails: whom the link is for. The link itself is minted when
/// the email is rendered for sending.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountLinkPayload {
    pub user_id: Uuid,
}

/// The payload of a password-reset request: the address typed (normalised), resolved to an
/// account only when the email is sent (see `services::accounts::request_password_reset`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetRequestPayload {
    pub email: String,
}

/// What an account email's payload names: a user (invitations, activations, and reset
/// requests queued before requests named the address), or an address still to resolve.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum AccountPayload {
    User(AccountLinkPayload),
    Address(ResetRequestPayload),
}

/// The names queued notifications of the account emails store (see [`Email::name`]).
pub const INVITATION: &str = "invitation";
pub const ACTIVATION: &str = "activation";
pub const PASSWORD_RESET: &str = "password_reset";

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The notification cannot be sent, now or later (its user is gone, a template is broken).
    #[error("{0}")]
    Permanent(String),
    /// Worth trying again later (the signing keys could not be read).
    #[error("{0}")]
    Transient(String),
    /// Nothing to send, by design (a reset requested for an address without a usable
    /// account): the row is closed as `dropped`, not `failed`.
    #[error("{0}")]
    Dropped(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Renders a queued notification with `templates`, minting its link (an account email) or
/// signing its unsubscribe links with `keys` (a reminder).
pub async fn render(
    db: &impl ConnectionTrait,
    config: &Config,
    keys: &KeyRing,
    templates: &Templates,
    notification: &notifications::Model,
) -> Result<RenderedEmail, PrepareError> {
    let template = notification.template.as_str();
    if template == mail::reminder::NAME {
        // A reminder's payload is its whole context, written by the sweep; only the
        // unsubscribe links are added now.
        let mut context: ReminderEmail = serde_json::from_value(notification.payload.clone())
            .map_err(|e| PrepareError::Permanent(format!("bad payload: {e}")))?;
        context.unsubscribe = reminder_preferences::links_for_notification(
            db,
            keys,
            config,
            notification.id,
            &notification.locale,
        )
        .await
        .map_err(|e| match e {
            LinksError::Db(e) => PrepareError::Db(e),
            LinksError::Sign(e) => PrepareError::Transient(e.to_string()),
        })?;
        return mail::render(templates, &Email::Reminder(context), &notification.locale)
            .map_err(|e| PrepareError::Permanent(format!("template {template}: {e}")));
    }
    if template == mail::email::CREDIT_REVIEWED {
        // The payload is the whole context, written when the decision was taken.
        let context: mail::email::CreditReviewedEmail =
            serde_json::from_value(notification.payload.clone())
                .map_err(|e| PrepareError::Permanent(format!("bad payload: {e}")))?;
        return mail::render(
            templates,
            &Email::CreditReviewed(context),
            &notification.locale,
        )
        .map_err(|e| PrepareError::Permanent(format!("template {template}: {e}")));
    }
    if template == mail::email::AUDIT_REQUESTED {
        // The payload is the whole context, written when the sample was drawn.
        let context: mail::email::AuditRequestedEmail =
            serde_json::from_value(notification.payload.clone())
                .map_err(|e| PrepareError::Permanent(format!("bad payload: {e}")))?;
        return mail::render(
            templates,
            &Email::AuditRequested(context),
            &notification.locale,
        )
        .map_err(|e| PrepareError::Permanent(format!("template {template}: {e}")));
    }
    let (purpose, page, email): (_, _, fn(LinkEmail) -> Email) = match template {
        INVITATION => (TokenPurpose::Activation, "activate", Email::Invitation),
        ACTIVATION => (TokenPurpose::Activation, "activate", Email::Activation),
        PASSWORD_RESET => (TokenPurpose::Reset, "reset", Email::PasswordReset),
        other => {
            return Err(PrepareError::Permanent(format!(
                "no email is named {other:?}"
            )));
        }
    };
    let (user, locale) = match serde_json::from_value(notification.payload.clone())
        .map_err(|e| PrepareError::Permanent(format!("bad payload: {e}")))?
    {
        AccountPayload::User(payload) => {
            let user = users::Entity::find_by_id(payload.user_id)
                .one(db)
                .await?
                .ok_or_else(|| PrepareError::Permanent("the user no longer exists".into()))?;
            (user, notification.locale.clone())
        }
        AccountPayload::Address(payload) if template == PASSWORD_RESET => {
            resolve_reset_request(db, notification, &payload.email).await?
        }
        AccountPayload::Address(_) => {
            return Err(PrepareError::Permanent(format!(
                "a {template} notification names a user, not an address"
            )));
        }
    };
    let professional = match user.professional_id {
        Some(id) => professionals::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let (token, expires_at) = links::mint_link_token(db, user.id, purpose).await?;
    let mut link = config.public_url.clone();
    link.set_path(page);
    link.query_pairs_mut().append_pair("token", &token);
    let time_zone = professional
        .as_ref()
        .map_or("Asia/Tokyo", |p| p.time_zone.as_str());
    let context = LinkEmail {
        name: professional.as_ref().map(|p| {
            p.display_name
                .clone()
                .unwrap_or_else(|| p.legal_name.clone())
        }),
        link: link.to_string(),
        expires_at: local_time(expires_at, time_zone, &notification.locale),
    };
    let email = email(context);
    mail::render(templates, &email, &locale)
        .map_err(|e| PrepareError::Permanent(format!("template {template}: {e}")))
}

/// The account a reset request's address belongs to, and the language to write in; the
/// request is [`PrepareError::Dropped`] when no usable account has that address. The
/// `password_reset.requested` audit row is written here, on the first attempt only, so the
/// log names real accounts and never the addresses strangers typed.
async fn resolve_reset_request(
    db: &impl ConnectionTrait,
    notification: &notifications::Model,
    address: &str,
) -> Result<(users::Model, String), PrepareError> {
    use sea_orm::{ColumnTrait, QueryFilter};

    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(address))
        .one(db)
        .await?
    else {
        return Err(PrepareError::Dropped("no account uses this address".into()));
    };
    if user.disabled_at.is_some() {
        return Err(PrepareError::Dropped("the account is disabled".into()));
    }
    let professional_locale = match user.professional_id {
        Some(id) => professionals::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|p| p.locale),
        None => None,
    };
    let locale = professional_locale
        .or_else(|| user.locale.clone())
        .unwrap_or_else(|| "ja".to_owned());
    if notification.attempts == 0 {
        audit::record(
            db,
            &Actor::user(user.id),
            Event {
                action: "password_reset.requested",
                subject_kind: "user",
                subject_id: Some(user.id.to_string()),
                before: None,
                after: Some(serde_json::json!({
                    "notification_id": notification.id,
                    "requested_at": notification.created_at,
                })),
            },
        )
        .await?;
    }
    Ok((user, locale))
}

/// An instant as a reader in `time_zone` would write it.
pub fn local_time(at: DateTime<Utc>, time_zone: &str, locale: &str) -> String {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let local = at.with_timezone(&tz);
    if supported_locale(locale) == "en" {
        local.format("%-d %B %Y, %H:%M (%Z)").to_string()
    } else {
        local.format("%Y年%-m月%-d日 %H:%M (%Z)").to_string()
    }
}
