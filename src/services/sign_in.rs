//! Signing in with a password, throttled per account and per client address, and ending
//! sessions.

use chrono::Utc;
use entity::users;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::auth::password;
use crate::domain::email::EmailAddress;
use crate::services::audit::{self, Actor, Event};

/// Failed sign-ins tolerated within [`LOGIN_WINDOW`]: see `services::throttle` for the policy.
pub use crate::services::throttle::{
    LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, LOGIN_FAILURES_PER_ADDRESS,
};
pub const LOGIN_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

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
        throttle =
            crate::services::throttle::retry_after(db, key, *limit, LOGIN_WINDOW, now, &attempt)
                .await?;
        if throttle.is_some() {
            break;
        }
    }
    if let Some(retry_after_seconds) = throttle {
        login_failures::Entity::delete_many()
            .filter(login_failures::Column::Id.is_in(attempt.iter().copied()))
            .exec(db)
            .await?;
        // Anyone can cause this at line rate: repeats within a window are counted on one row.
        audit::record_repeatable(
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
        .unwrap_or_else(|| password::dummy_hash().to_owned());
    let password_ok = password::verify_password(password.to_owned(), hash).await;
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

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use crate::services::throttle::{account_key, login_scopes};

    fn ip_key(ip: &str) -> String {
        let ip: IpAddr = ip.parse().expect("an address");
        let [_, (address, _), _] = login_scopes("someone@example.com", ip);
        address
    }

    #[test]
    fn ipv6_addresses_in_the_same_64_share_one_throttling_key() {
        assert_eq!(
            ip_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            ip_key("2001:db8:1:2::1")
        );
        assert_eq!(ip_key("2001:db8:1:2::1"), "ip:2001:db8:1:2::");
    }

    #[test]
    fn ipv6_addresses_in_different_64s_have_different_throttling_keys() {
        assert_ne!(ip_key("2001:db8:1:2::1"), ip_key("2001:db8:1:3::1"));
        assert_ne!(ip_key("2001:db8:1:2::1"), ip_key("2001:db9:1:2::1"));
    }

    #[test]
    fn ipv4_addresses_keep_their_own_throttling_key() {
        assert_eq!(ip_key("192.0.2.10"), "ip:192.0.2.10");
        assert_ne!(ip_key("192.0.2.10"), ip_key("192.0.2.11"));
        // An IPv4 client seen through an IPv6 socket is counted on its IPv4 address.
        assert_eq!(ip_key("::ffff:192.0.2.10"), "ip:192.0.2.10");
        assert_ne!(ip_key("::ffff:192.0.2.10"), ip_key("::ffff:192.0.2.11"));
    }

    #[test]
    fn the_account_key_is_the_normalised_email() {
        assert_eq!(account_key("Ada@Example.COM"), "email:Ada@example.com");
        assert_eq!(account_key("  not an email "), "email:not an email");
    }
}
