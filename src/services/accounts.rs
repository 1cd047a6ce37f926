//! Login accounts, as the certification body's staff create them. Machine clients live in
//! [`crate::services::clients`].

use argon2::{Argon2, PasswordHasher};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use entity::users;
use entity::users::UserRole;
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
        activated_at: Set(Some(now)),
        disabled_at: Set(None),
        sessions_revoked_at: Set(None),
        created_at: Set(now),
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

// ---------------------------------------------------------------------------------------------
// Professional accounts: invitations, self sign-up, emailed links, sign-in and sign-out.
//
// Who may see which holdings is decided by `users.professional_id` alone, and only two paths
// ever set it: `invite_holders` (the registry import says this email belongs to this
// professional) and the certification body's staff. Self sign-up creates an unlinked user and
// never takes a professional or holding id from the caller, so nobody can claim a registration
// number by typing it.
// ---------------------------------------------------------------------------------------------

/// How long an activation link works.
pub const ACTIVATION_LINK_TTL: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// How long a password-reset link works.
pub const RESET_LINK_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// Failed sign-ins tolerated within [`LOGIN_WINDOW`]: see `services::throttle` for the policy.
pub use crate::services::throttle::{
    LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, LOGIN_FAILURES_PER_ADDRESS,
};
pub const LOGIN_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

use crate::services::throttle::{Argon2Work, argon2_slot};

/// Hashes on the blocking pool: argon2id is meant to take tens of milliseconds of CPU.
pub async fn hash_password_off_thread(password: String) -> Result<String, AccountError> {
    let _slot = argon2_slot(Argon2Work::Other).await;
    let started = std::time::Instant::now();
    let hashed = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    crate::services::throttle::record_hash_time(started.elapsed());
    hashed
}

/// Checks a password against a PHC string, on the blocking pool. A malformed hash never matches.
pub async fn verify_password(password: String, hash: String) -> bool {
    let _slot = argon2_slot(Argon2Work::SignIn).await;
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordVerifier;
        argon2::PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password nobody knows, verified when the email is unknown so that an
/// unknown address costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&generate_password()).unwrap_or_default())
}

fn check_new_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_LENGTH} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(invalid("password", "must be at most 1024 bytes"));
    }
    Ok(())
}

/// SHA-256 of a link token, as stored. Tokens carry 256 random bits, so a fast hash is enough.
pub fn link_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a single-use link token for `user_id`; only its hash is stored. Returns the token
/// and when it expires.
pub async fn mint_link_token(
    db: &impl sea_orm::ConnectionTrait,
    user_id: uuid::Uuid,
    purpose: entity::one_time_tokens::TokenPurpose,
) -> Result<(String, chrono::DateTime<Utc>), sea_orm::DbErr> {
    use entity::one_time_tokens::{self, TokenPurpose};
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
                crate::services::notifications::enqueue(
                    &txn,
                    crate::services::notifications::NewNotification {
                        dedupe_key: format!("invitation:{}", person.id),
                        template: crate::services::notifications::INVITATION,
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
    check_new_password(password)?;
    let locale = crate::mail::templates::supported_locale(locale);
    // No hashing for an address that will not be stored.
    let taken = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    if taken.is_some() {
        tokio::time::sleep(crate::services::throttle::typical_hash_time()).await;
        return Ok(());
    }
    let hash = hash_password_off_thread(password.to_owned()).await?;
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
        // Never from the request: see the note at the top of this section.
        professional_id: Set(None),
        activated_at: Set(None),
        disabled_at: Set(None),
        sessions_revoked_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    crate::services::notifications::enqueue(
        &txn,
        crate::services::notifications::NewNotification {
            dedupe_key: format!("activation:{}", user.id),
            template: crate::services::notifications::ACTIVATION,
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

/// Queues a reset link when an account uses `email`; does nothing otherwise, and the caller
/// answers the same in both cases. At most one reset email per account per minute.
pub async fn request_password_reset(
    db: &DatabaseConnection,
    email: &str,
) -> Result<(), AccountError> {
    let Ok(email) = EmailAddress::parse(email) else {
        return Ok(());
    };
    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    if user.disabled_at.is_some() {
        return Ok(());
    }
    let locale = match user.professional_id {
        Some(id) => entity::professionals::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|p| p.locale),
        None => None,
    }
    .unwrap_or_else(|| "ja".to_owned());
    crate::services::notifications::enqueue(
        db,
        crate::services::notifications::NewNotification {
            dedupe_key: format!("password_reset:{}:{}", user.id, Utc::now().timestamp() / 60),
            template: crate::services::notifications::PASSWORD_RESET,
            locale,
            recipient: user.email.clone(),
            payload: serde_json::json!({ "user_id": user.id }),
        },
    )
    .await?;
    audit::record(
        db,
        &Actor::user(user.id),
        Event {
            action: "password_reset.requested",
            subject_kind: "user",
            subject_id: Some(user.id.to_string()),
            before: None,
            after: None,
        },
    )
    .await?;
    Ok(())
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
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<sea_orm::DbErr> for LinkError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Account(AccountError::Db(e))
    }
}

/// The account a link is for, if it can still be used (nothing is changed).
pub async fn check_link(
    db: &impl sea_orm::ConnectionTrait,
    token: &str,
    purpose: entity::one_time_tokens::TokenPurpose,
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
    purpose: entity::one_time_tokens::TokenPurpose,
    password: Option<&str>,
) -> Result<users::Model, LinkError> {
    use entity::one_time_tokens::{self, TokenPurpose};
    use sea_orm::sea_query::Expr;

    let user = check_link(db, token, purpose).await?;
    let new_hash = match password {
        Some(p) => {
            check_new_password(p)?;
            Some(hash_password_off_thread(p.to_owned()).await?)
        }
        None if purpose == TokenPurpose::Activation && user.password_hash.is_some() => None,
        None => return Err(invalid("password", "a password is required").into()),
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

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password, inactive or disabled account: one answer for all.
    #[error("the email address or password is not correct")]
    BadCredentials,
    #[error("too many failed sign-ins; retry in {retry_after_seconds} s")]
    Throttled { retry_after_seconds: u64 },
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// Seconds until fewer than `limit` failures remain in the window, if the limit is reached.
/// Rows in `own` (the attempt being judged) are not counted against it.
async fn throttled_for(
    db: &impl sea_orm::ConnectionTrait,
    key: &str,
    limit: usize,
    now: chrono::DateTime<Utc>,
    own: &[uuid::Uuid],
) -> Result<Option<u64>, sea_orm::DbErr> {
    use entity::login_failures;
    use sea_orm::QueryOrder;
    let times: Vec<chrono::DateTime<Utc>> = login_failures::Entity::find()
        .filter(login_failures::Column::ScopeKey.eq(key))
        .filter(login_failures::Column::OccurredAt.gt(now - LOGIN_WINDOW))
        .filter(login_failures::Column::Id.is_not_in(own.iter().copied()))
        .order_by_asc(login_failures::Column::OccurredAt)
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.occurred_at)
        .collect();
    if times.len() < limit {
        return Ok(None);
    }
    let frees_at = times[times.len() - limit] + LOGIN_WINDOW;
    Ok(Some((frees_at - now).num_seconds().max(1) as u64))
}

/// Checks a password sign-in, throttled per account and per client address through the
/// `login_failures` table (so the limits hold across instances), with audit events for every
/// outcome.
pub async fn log_in(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    ip: std::net::IpAddr,
) -> Result<users::Model, LoginError> {
    use entity::login_failures;
    let now = Utc::now();
    let scopes = crate::services::throttle::login_scopes(email, ip);
    let email_key = crate::services::throttle::account_key(email);
    let actor = Actor {
        ip: Some(ip.to_string()),
        ..Actor::system()
    };
    // The attempt is recorded as a failure before the password is checked, so concurrent
    // guesses see each other: at most the limit can be in flight at once. Success removes it.
    let mut attempt = Vec::new();
    for (key, _) in &scopes {
        let row = login_failures::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            scope_key: Set(key.clone()),
            occurred_at: Set(now),
        }
        .insert(db)
        .await?;
        attempt.push(row.id);
    }
    let mut throttle = None;
    for (key, limit) in &scopes {
        throttle = throttled_for(db, key, *limit, now, &attempt).await?;
        if throttle.is_some() {
            break;
        }
    }
    if let Some(retry_after_seconds) = throttle {
        login_failures::Entity::delete_many()
            .filter(login_failures::Column::Id.is_in(attempt.iter().copied()))
            .exec(db)
            .await?;
        audit::record(
            db,
            &actor,
            Event {
                action: "login.throttled",
                subject_kind: "user",
                subject_id: None,
                before: None,
                after: Some(serde_json::json!({"email": email_key.trim_start_matches("email:")})),
            },
        )
        .await?;
        return Err(LoginError::Throttled {
            retry_after_seconds,
        });
    }

    let user = match EmailAddress::parse(email) {
        Ok(parsed) => {
            users::Entity::find()
                .filter(users::Column::Email.eq(parsed.as_str()))
                .one(db)
                .await?
        }
        Err(_) => None,
    };
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let password_ok = verify_password(password.to_owned(), hash).await;
    let usable = user.as_ref().is_some_and(|u| {
        u.activated_at.is_some() && u.disabled_at.is_none() && u.password_hash.is_some()
    });
    match user {
        Some(user) if password_ok && usable => {
            login_failures::Entity::delete_many()
                .filter(
                    sea_orm::Condition::any()
                        // This account's failures from this address; the account-wide
                        // ceiling is cleared only by a password reset.
                        .add(login_failures::Column::ScopeKey.eq(scopes[0].0.as_str()))
                        .add(login_failures::Column::Id.is_in(attempt.iter().copied())),
                )
                .exec(db)
                .await?;
            audit::record(
                db,
                &Actor {
                    ip: Some(ip.to_string()),
                    ..Actor::user(user.id)
                },
                Event {
                    action: "login.succeeded",
                    subject_kind: "user",
                    subject_id: Some(user.id.to_string()),
                    before: None,
                    after: None,
                },
            )
            .await?;
            Ok(user)
        }
        user => {
            // The attempt's rows stay: they are this failure's record. Old failures no longer count; drop them as we go.
            login_failures::Entity::delete_many()
                .filter(
                    login_failures::Column::ScopeKey.is_in(scopes.iter().map(|(k, _)| k.as_str())),
                )
                .filter(login_failures::Column::OccurredAt.lt(now - LOGIN_WINDOW))
                .exec(db)
                .await?;
            audit::record(
                db,
                &actor,
                Event {
                    action: "login.failed",
                    subject_kind: "user",
                    subject_id: user.map(|u| u.id.to_string()),
                    before: None,
                    after: Some(
                        serde_json::json!({"email": email_key.trim_start_matches("email:")}),
                    ),
                },
            )
            .await?;
            Err(LoginError::BadCredentials)
        }
    }
}

/// Token `iat` has one-second resolution and a token with `iat` at or before
/// `sessions_revoked_at` is void, so a token issued in the same second as a revocation would be
/// born dead. Waits (under a second) until that cannot happen.
pub async fn wait_past_revocation(user: &users::Model) {
    if let Some(revoked) = user.sessions_revoked_at {
        let ready_at = (revoked.timestamp() + 1) * 1000;
        let wait = ready_at - Utc::now().timestamp_millis();
        if wait > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
        }
    }
}

/// Ends every session of a user now (logout, password change): tokens issued up to this
/// instant are refused from here on.
pub async fn end_sessions(
    db: &DatabaseConnection,
    user_id: uuid::Uuid,
    actor: &Actor,
    action: &str,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::sea_query::Expr;
    users::Entity::update_many()
        .col_expr(
            users::Column::SessionsRevokedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    audit::record(
        db,
        actor,
        Event {
            action,
            subject_kind: "user",
            subject_id: Some(user_id.to_string()),
            before: None,
            after: None,
        },
    )
    .await
}
