//! Login accounts: created by the certification body's staff, invited from the registry of
//! holders, or signed up for; and password-reset requests. Machine clients live in
//! [`crate::services::clients`]; the emailed links in [`crate::services::links`]; signing in
//! in [`crate::services::sign_in`].
//!
//! Who may see which holdings is decided by `users.professional_id` alone, and only two paths
//! ever set it: [`invite_holders`] (the registry import says this email belongs to this
//! professional) and the certification body's staff. Self sign-up creates an unlinked user and
//! never takes a professional or holding id from the caller, so nobody can claim a registration
//! number by typing it.

use chrono::Utc;
/// What a one-time link is for.
pub use entity::one_time_tokens::TokenPurpose;
use entity::users;
use entity::users::UserRole;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::auth::password::{self, HashError};
use crate::domain::email::EmailAddress;
use crate::services::audit::{self, Actor, Event};
use crate::services::notifications::{self, NewNotification};

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
    #[error(transparent)]
    Hash(#[from] HashError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> AccountError {
    AccountError::Invalid {
        field,
        message: message.into(),
    }
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
    password::check_length(password).map_err(|e| invalid("password", e.0))?;
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
        password_hash: Set(Some(password::hash_password(password)?)),
        role: Set(role),
        professional_id: Set(None),
        activated_at: Set(Some(now)),
        disabled_at: Set(None),
        sessions_revoked_at: Set(None),
        created_at: Set(now),
        locale: Set(None),
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

/// What an import of the registry's holders did to accounts.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InvitationSummary {
    /// New accounts created and invited.
    pub invited: usize,
    /// Existing unlinked accounts with the same email, now linked to their professional.
    pub linked: usize,
    /// Professionals whose email belongs to an account we must not link (staff, or another
    /// professional's); left for an administrator.
    pub conflicts: usize,
}

/// Gives every imported professional with an email and no account an account (role
/// professional, linked, no password, not activated) and queues an invitation with an
/// activation link. Idempotent: a second run finds no one left to invite, and the invitation's
/// dedupe key (`invitation:<professional id>`) stops a concurrent run from emailing twice.
pub async fn invite_holders(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<InvitationSummary, AccountError> {
    use sea_orm::sea_query::Query;
    use sea_orm::{QueryOrder, QuerySelect};

    let mut summary = InvitationSummary::default();
    let mut after: Option<uuid::Uuid> = None;
    loop {
        let linked = Query::select()
            .column(users::Column::ProfessionalId)
            .from(users::Entity)
            .and_where(users::Column::ProfessionalId.is_not_null())
            .to_owned();
        let mut page = entity::professionals::Entity::find()
            .filter(entity::professionals::Column::Email.is_not_null())
            .filter(entity::professionals::Column::Id.not_in_subquery(linked))
            .order_by_asc(entity::professionals::Column::Id)
            .limit(500);
        if let Some(last) = after {
            page = page.filter(entity::professionals::Column::Id.gt(last));
        }
        let people = page.all(db).await?;
        let Some(last) = people.last() else { break };
        after = Some(last.id);
        for person in people {
            let Some(email) = person.email.clone() else {
                continue;
            };
            let txn = crate::services::begin_write(db).await?;
            let existing = users::Entity::find()
                .filter(users::Column::Email.eq(email.as_str()))
                .one(&txn)
                .await?;
            let (user_id, invite) = match existing {
                None => {
                    let user = users::ActiveModel {
                        id: Set(uuid::Uuid::now_v7()),
                        email: Set(email.clone()),
                        password_hash: Set(None),
                        role: Set(UserRole::Professional),
                        professional_id: Set(Some(person.id)),
                        activated_at: Set(None),
                        disabled_at: Set(None),
                        sessions_revoked_at: Set(None),
                        created_at: Set(Utc::now()),
                        locale: Set(None),
                    }
                    .insert(&txn)
                    .await?;
                    summary.invited += 1;
                    (user.id, true)
                }
                // Someone signed up with this address before the registry named it. Anyone can
                // sign up with anyone's address (and a victim may click an activation link they
                // never asked for), so the password chosen at sign-up is not trusted with the
                // holder's records: it is cleared, every session ends, and the invitation makes
                // whoever reads the mailbox choose a new one.
                Some(user)
                    if user.role == UserRole::Professional && user.professional_id.is_none() =>
                {
                    let mut active: users::ActiveModel = user.into();
                    active.professional_id = Set(Some(person.id));
                    active.password_hash = Set(None);
                    active.activated_at = Set(None);
                    active.sessions_revoked_at = Set(Some(Utc::now()));
                    let user = active.update(&txn).await?;
                    summary.linked += 1;
                    (user.id, true)
                }
                Some(user) => {
                    tracing::warn!(professional = %person.id, user = %user.id,
                        "not inviting a holder whose email belongs to another account");
                    summary.conflicts += 1;
                    txn.rollback().await?;
                    continue;
                }
            };
            if invite {
                notifications::enqueue(
                    &txn,
                    NewNotification {
                        dedupe_key: format!("invitation:{}", person.id),
                        template: notifications::INVITATION,
                        locale: person.locale.clone(),
                        recipient: email.clone(),
                        payload: serde_json::json!({ "user_id": user_id }),
                    },
                )
                .await?;
            }
            audit::record(
                &txn,
                actor,
                Event {
                    action: "user.invited",
                    subject_kind: "user",
                    subject_id: Some(user_id.to_string()),
                    before: None,
                    after: Some(serde_json::json!({"email": email, "professional_id": person.id})),
                },
            )
            .await?;
            txn.commit().await?;
        }
    }
    Ok(summary)
}

/// Self sign-up: an unlinked professional account that works once its email is confirmed.
///
/// Answers the same whether or not the address is already registered (nothing is created or
/// sent the second time), so the sign-up form cannot be used to learn who has an account.
pub async fn sign_up(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    locale: &str,
) -> Result<(), AccountError> {
    let email = EmailAddress::parse(email).map_err(|e| invalid("email", e.to_string()))?;
    password::check_new_password(password).map_err(|e| invalid("password", e.0))?;
    let locale = crate::templates::supported_locale(locale);
    // No hashing for an address that will not be stored.
    let taken = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    if taken.is_some() {
        tokio::time::sleep(password::typical_hash_time()).await;
        return Ok(());
    }
    let hash = password::hash_password_off_thread(password.to_owned()).await?;
    let txn = crate::services::begin_write(db).await?;
    let existing = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?;
    if existing.is_some() {
        txn.rollback().await?;
        return Ok(());
    }
    let user = users::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(Some(hash)),
        role: Set(UserRole::Professional),
        // Never from the request: see the note at the top of this module.
        professional_id: Set(None),
        activated_at: Set(None),
        disabled_at: Set(None),
        sessions_revoked_at: Set(None),
        created_at: Set(Utc::now()),
        locale: Set(None),
    }
    .insert(&txn)
    .await?;
    notifications::enqueue(
        &txn,
        NewNotification {
            dedupe_key: format!("activation:{}", user.id),
            template: notifications::ACTIVATION,
            locale: locale.to_owned(),
            recipient: user.email.clone(),
            payload: serde_json::json!({ "user_id": user.id }),
        },
    )
    .await?;
    audit::record(
        &txn,
        &Actor::user(user.id),
        Event {
            action: "user.signed_up",
            subject_kind: "user",
            subject_id: Some(user.id.to_string()),
            before: None,
            after: Some(serde_json::json!({"email": user.email})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Queues a reset request for the address typed, whoever it belongs to; the caller answers the
/// same in every case.
///
/// The request never looks the account up: it validates the address and queues one outbox
/// row naming it, so an address with an account and one without cost exactly the same
/// statements and the time taken tells nothing. The outbox worker resolves the address when
/// it sends ([`crate::services::notifications::render`]): an address without a usable account
/// is closed as `dropped` without sending; a real account gets its link and its
/// `password_reset.requested` audit row then. At most one request per address per minute
/// reaches the outbox (the dedupe key is a SHA-256 of the address and the minute, so the key
/// does not spell the address either).
pub async fn request_password_reset(
    db: &DatabaseConnection,
    email: &str,
) -> Result<(), AccountError> {
    let Ok(email) = EmailAddress::parse(email) else {
        return Ok(());
    };
    let minute = Utc::now().timestamp().div_euclid(60);
    let digest = Sha256::digest(format!("{}:{minute}", email.as_str()).as_bytes());
    notifications::enqueue(
        db,
        NewNotification {
            dedupe_key: format!("password_reset:{}", hex::encode(digest)),
            template: notifications::PASSWORD_RESET,
            // Not known before the account is: the worker sets it when it resolves the address.
            locale: "ja".to_owned(),
            recipient: email.as_str().to_owned(),
            payload: serde_json::json!({ "email": email.as_str() }),
        },
    )
    .await?;
    Ok(())
}
