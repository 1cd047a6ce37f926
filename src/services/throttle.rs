//! Throttling of anonymous work: failed sign-ins and sign-ups, counted in the `login_failures`
//! table (one row per event and scope key) so the limits hold across instances.
//!
//! Sign-in failures, within [`crate::services::accounts::LOGIN_WINDOW`] (15 minutes):
//! - per account and client address: [`LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS`]. Guessing from
//!   one place stops there, and the owner signing in from elsewhere is not affected;
//! - per client address (IPv6: per /64): [`LOGIN_FAILURES_PER_ADDRESS`], over all accounts;
//! - per account, from anywhere: a high ceiling, [`LOGIN_FAILURES_PER_ACCOUNT`], against guessing
//!   spread over many addresses. Reaching it takes that many requests from at least
//!   `ceiling / per-address` addresses, and a successful password reset clears it.
//!
//! Password hashing (argon2id, ~19 MiB and tens of milliseconds each) is bounded per kind of
//! work: sign-in checks have one slot per core of their own, and everything else (sign-up,
//! activation, reset) shares half as many, so anonymous work can never queue ahead of sign-in.
//!
//! Sign-ups, within [`SIGN_UP_WINDOW`] (one hour): [`SIGN_UPS_PER_RANGE`] per address range
//! (IPv4 /24, IPv6 /48) and [`SIGN_UPS_PER_EMAIL`] per target address, checked before any
//! password is hashed or mail queued.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, TimeDelta, Utc};
use entity::login_failures;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use crate::domain::email::EmailAddress;

/// Failed sign-ins tolerated per (account, client address) within the login window.
pub const LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS: usize = 5;
/// Failed sign-ins tolerated per client address within the login window.
pub const LOGIN_FAILURES_PER_ADDRESS: usize = 20;
/// Failed sign-ins tolerated per account, from all addresses, within the login window.
pub const LOGIN_FAILURES_PER_ACCOUNT: usize = 100;

/// Sign-ups accepted per address range within [`SIGN_UP_WINDOW`].
pub const SIGN_UPS_PER_RANGE: usize = 10;
/// Sign-ups accepted per target email address within [`SIGN_UP_WINDOW`].
pub const SIGN_UPS_PER_EMAIL: usize = 3;
pub const SIGN_UP_WINDOW: TimeDelta = TimeDelta::hours(1);

/// The scope keys a sign-in attempt is counted under, each with its limit:
/// (account and address, address, account).
pub fn login_scopes(email: &str, ip: IpAddr) -> [(String, usize); 3] {
    let account = account_key(email);
    let address = format!("ip:{}", host_key(ip));
    [
        (
            bounded(format!("{account}|{address}")),
            LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
        ),
        (bounded(address), LOGIN_FAILURES_PER_ADDRESS),
        (bounded(account), LOGIN_FAILURES_PER_ACCOUNT),
    ]
}

/// `email:<normalised address>`, the key of an account's own counter.
pub fn account_key(email: &str) -> String {
    let email = EmailAddress::parse(email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| email.trim().to_owned());
    bounded(format!("email:{email}"))
}

/// Forgets the failed sign-ins counted against an account (from every address): its owner has
/// just proved control of the mailbox with a password reset.
pub async fn clear_login_failures(db: &impl ConnectionTrait, email: &str) -> Result<(), DbErr> {
    let account = account_key(email);
    login_failures::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(login_failures::Column::ScopeKey.eq(account.as_str()))
                .add(login_failures::Column::ScopeKey.starts_with(format!("{account}|"))),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// A sign-up refused for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-ups; retry in {retry_after_seconds} s")]
pub struct SignUpThrottled {
    pub retry_after_seconds: u64,
}

/// Counts a sign-up for `email` from `ip`, or refuses it when the range or the target address
/// has had its share. Call it before hashing anything.
pub async fn admit_sign_up(
    db: &impl ConnectionTrait,
    email: &str,
    ip: IpAddr,
) -> Result<Result<(), SignUpThrottled>, DbErr> {
    let now = Utc::now();
    let scopes = [
        (
            bounded(format!("signup:range:{}", range_key(ip))),
            SIGN_UPS_PER_RANGE,
        ),
        (
            bounded(format!("signup:{}", account_key(email))),
            SIGN_UPS_PER_EMAIL,
        ),
    ];
    // Recorded before counting, so concurrent sign-ups see each other and a burst cannot slip
    // past the limit; a refused attempt removes its own rows again.
    let mut own = Vec::new();
    for (key, _) in &scopes {
        login_failures::Entity::delete_many()
            .filter(login_failures::Column::ScopeKey.eq(key.as_str()))
            .filter(login_failures::Column::OccurredAt.lt(now - SIGN_UP_WINDOW))
            .exec(db)
            .await?;
        let row = login_failures::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            scope_key: Set(key.clone()),
            occurred_at: Set(now),
        }
        .insert(db)
        .await?;
        own.push(row.id);
    }
    for (key, limit) in &scopes {
        if let Some(retry_after_seconds) =
            retry_after(db, key, *limit, SIGN_UP_WINDOW, now, &own).await?
        {
            login_failures::Entity::delete_many()
                .filter(login_failures::Column::Id.is_in(own.iter().copied()))
                .exec(db)
                .await?;
            return Ok(Err(SignUpThrottled {
                retry_after_seconds,
            }));
        }
    }
    Ok(Ok(()))
}

/// Anonymous lookups (credential verification, the public registry) accepted per client host
/// (an IPv4 address, an IPv6 /64) within [`ANONYMOUS_WINDOW`], per kind of lookup.
pub const ANONYMOUS_LOOKUPS_PER_ADDRESS: usize = 30;
pub const ANONYMOUS_WINDOW: TimeDelta = TimeDelta::minutes(1);

/// An anonymous lookup refused for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many lookups; retry in {retry_after_seconds} s")]
pub struct LookupThrottled {
    pub retry_after_seconds: u64,
}

/// Counts one anonymous lookup of kind `what` (`verify`, `registry`) from `ip`, or refuses it
/// when that host has had [`ANONYMOUS_LOOKUPS_PER_ADDRESS`] in the last minute. Counted in the
/// same table as sign-in failures, so the limit holds across instances.
pub async fn admit_lookup(
    db: &impl ConnectionTrait,
    what: &str,
    ip: IpAddr,
) -> Result<Result<(), LookupThrottled>, DbErr> {
    let now = Utc::now();
    let key = bounded(format!("{what}:ip:{}", host_key(ip)));
    login_failures::Entity::delete_many()
        .filter(login_failures::Column::ScopeKey.eq(key.as_str()))
        .filter(login_failures::Column::OccurredAt.lt(now - ANONYMOUS_WINDOW))
        .exec(db)
        .await?;
    if let Some(retry_after_seconds) = retry_after(
        db,
        &key,
        ANONYMOUS_LOOKUPS_PER_ADDRESS,
        ANONYMOUS_WINDOW,
        now,
        &[],
    )
    .await?
    {
        return Ok(Err(LookupThrottled {
            retry_after_seconds,
        }));
    }
    login_failures::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        scope_key: Set(key),
        occurred_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(Ok(()))
}

/// Seconds until fewer than `limit` events remain under `key` in the window, if it is reached.
/// Rows in `own` (the attempt being judged) are not counted against it.
pub async fn retry_after(
    db: &impl ConnectionTrait,
    key: &str,
    limit: usize,
    window: TimeDelta,
    now: DateTime<Utc>,
    own: &[uuid::Uuid],
) -> Result<Option<u64>, DbErr> {
    let times: Vec<DateTime<Utc>> = login_failures::Entity::find()
        .filter(login_failures::Column::ScopeKey.eq(key))
        .filter(login_failures::Column::OccurredAt.gt(now - window))
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
    let frees_at = times[times.len() - limit] + window;
    Ok(Some((frees_at - now).num_seconds().max(1) as u64))
}

/// One host: an IPv4 address, or an IPv6 /64 (a host can change its low 64 bits at will).
fn host_key(ip: IpAddr) -> IpAddr {
    mask(ip, 32, 64)
}

/// One network for sign-ups: an IPv4 /24 or an IPv6 /48.
fn range_key(ip: IpAddr) -> IpAddr {
    mask(ip, 24, 48)
}

fn mask(ip: IpAddr, v4_bits: u32, v6_bits: u32) -> IpAddr {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4) & (u32::MAX.checked_shl(32 - v4_bits).unwrap_or(0));
            IpAddr::V4(Ipv4Addr::from(bits))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & (u128::MAX.checked_shl(128 - v6_bits).unwrap_or(0));
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

/// Stored keys are at most 254 characters; look them up the same way.
fn bounded(key: String) -> String {
    key.chars().take(254).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn a_sign_in_counts_per_account_and_address_per_address_and_per_account() {
        let [pair, address, account] = login_scopes("Taro@Example.JP", ip("203.0.113.7"));
        assert_eq!(pair.0, "email:Taro@example.jp|ip:203.0.113.7");
        assert_eq!(address.0, "ip:203.0.113.7");
        assert_eq!(account.0, "email:Taro@example.jp");
        assert!(pair.1 < address.1 && address.1 < account.1);
    }

    #[test]
    fn ipv6_hosts_count_per_64_and_sign_up_ranges_per_24_and_48() {
        assert_eq!(host_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(host_key(ip("::ffff:192.0.2.9")), ip("192.0.2.9"));
        assert_eq!(range_key(ip("192.0.2.9")), ip("192.0.2.0"));
        assert_eq!(range_key(ip("2001:db8:1:2::9")), ip("2001:db8:1::"));
    }
}
