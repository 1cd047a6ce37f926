//! The outbox worker: claims due notifications, sends them (emails, and status webhooks as
//! signed POSTs), and stamps the outcome.
//!
//! Claiming is safe with several instances: on PostgreSQL and MySQL/MariaDB the due rows are
//! selected `FOR UPDATE SKIP LOCKED` and leased in the same transaction; on SQLite the
//! transaction takes the write lock up front (`services::begin_write`), which serialises
//! claimers. A lease that is never settled (the process died mid-send) expires and the row is
//! claimed again, so delivery is at-least-once; the Message-ID, derived from the dedupe key,
//! lets a receiving system recognise the repeat.
//!
//! A notification with nothing to send by design (a password reset requested for an address
//! without a usable account) is closed as `dropped`, with the reason in `last_error`.

use std::time::Duration;

use chrono::Utc;
use entity::notifications::{self, NotificationState};
use sea_orm::sea_query::{CaseStatement, Expr, LockBehavior, LockType, Order, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use crate::app::App;
use crate::jobs::webhook_delivery;
use crate::mail::SendError;
use crate::services::{self, notifications as outbox, webhooks};

/// Templates of account-security mail (a reset the owner is waiting for): claimed ahead of
/// everything else, so a burst of bulk mail (invitations, sign-up activations) cannot delay them.
pub const PRIORITY_TEMPLATES: [&str; 1] = [outbox::PASSWORD_RESET];
/// A message still failing transiently this long after it was queued is given up (RFC 5321
/// §4.5.4.1: give up after at least 4–5 days).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(4 * 24 * 60 * 60);
/// Retry backoff: one minute doubled per attempt, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(0, 6) as u32;
    Duration::from_secs((60u64 << exponent).min(3600))
}

/// One pass: claims what is due and tries to send each. Returns how many were sent. A failure
/// of one message is recorded on its row and does not stop the rest. A pass still going when
/// its lease runs out stops there: another pass may have claimed the rest by then, and sending
/// them too would send them twice.
pub async fn drain_once(app: &App) -> usize {
    let started = std::time::Instant::now();
    let (claimed, lease_until) = match claim(app).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::error!(error = %e, "cannot claim notifications");
            app.metrics
                .record_job(super::schedule::DRAIN, "failed", started.elapsed());
            return 0;
        }
    };
    let mut sent = 0;
    let total = claimed.len();
    for (done, notification) in claimed.into_iter().enumerate() {
        if Utc::now() >= lease_until {
            tracing::warn!(
                left = total - done,
                "an outbox pass outlived its lease; the next pass sends the rest"
            );
            break;
        }
        match deliver(app, notification).await {
            Ok(true) => sent += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot record a notification's outcome"),
        }
    }
    app.metrics
        .record_job(super::schedule::DRAIN, "done", started.elapsed());
    sent
}

/// The rows claimed, and when the claim runs out.
async fn claim(app: &App) -> Result<(Vec<notifications::Model>, chrono::DateTime<Utc>), DbErr> {
    let now = Utc::now();
    let lease_until = now + app.config.outbox_lease;
    let txn = services::begin_write(&app.db).await?;
    let mut query = notifications::Entity::find()
        .filter(
            notifications::Column::State
                .is_in([NotificationState::Pending, NotificationState::Sending]),
        )
        .filter(notifications::Column::NextAttemptAt.lte(now))
        .order_by(
            Into::<SimpleExpr>::into(
                CaseStatement::new()
                    .case(notifications::Column::Template.is_in(PRIORITY_TEMPLATES), 0)
                    .finally(1),
            ),
            Order::Asc,
        )
        .order_by_asc(notifications::Column::NextAttemptAt)
        .limit(app.config.outbox_batch as u64);
    if app.db.get_database_backend() != DbBackend::Sqlite {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = query.all(&txn).await?;
    if !rows.is_empty() {
        notifications::Entity::update_many()
            .col_expr(
                notifications::Column::State,
                Expr::value(NotificationState::Sending),
            )
            .col_expr(
                notifications::Column::NextAttemptAt,
                Expr::value(lease_until),
            )
            .filter(notifications::Column::Id.is_in(rows.iter().map(|r| r.id)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok((rows, lease_until))
}

/// Sends one claimed notification and records the outcome; `Ok(true)` when sent.
async fn deliver(app: &App, notification: notifications::Model) -> Result<bool, DbErr> {
    let (message_id, outcome) = if notification.template == webhooks::TEMPLATE {
        // A status webhook: its id is the dedupe key, sent with every attempt.
        (
            notification.dedupe_key.clone(),
            webhook_delivery::send(app, &notification)
                .await
                .map_err(Undelivered::Send),
        )
    } else {
        (
            app.mailer.message_id(&notification.dedupe_key),
            send_email(app, &notification).await,
        )
    };
    let now = Utc::now();
    let attempts = notification.attempts + 1;
    let id = notification.id;
    let queued_at = notification.created_at;
    let mut row: notifications::ActiveModel = notification.into();
    row.attempts = Set(attempts);
    let sent = match outcome {
        Ok(()) => {
            row.state = Set(NotificationState::Sent);
            row.sent_at = Set(Some(now));
            row.message_id = Set(Some(message_id));
            row.last_error = Set(None);
            true
        }
        Err(Undelivered::Dropped(why)) => {
            tracing::info!(notification = %id, reason = %why, "notification dropped unsent");
            row.state = Set(NotificationState::Dropped);
            row.last_error = Set(Some(why));
            false
        }
        Err(Undelivered::Send(SendError::Transient(why))) if given_up(queued_at, now) => {
            tracing::warn!(notification = %id, attempts, error = %why, "email given up");
            row.state = Set(NotificationState::Failed);
            row.last_error = Set(Some(format!("gave up after 4 days: {why}")));
            false
        }
        Err(Undelivered::Send(SendError::Transient(why))) => {
            tracing::warn!(notification = %id, attempts, error = %why, "email deferred");
            row.state = Set(NotificationState::Pending);
            row.next_attempt_at = Set(now + backoff(attempts - 1));
            row.last_error = Set(Some(why));
            false
        }
        Err(Undelivered::Send(SendError::Permanent(why))) => {
            tracing::warn!(notification = %id, error = %why, "email failed for good");
            row.state = Set(NotificationState::Failed);
            row.last_error = Set(Some(why));
            false
        }
    };
    let txn = app.db.begin().await?;
    row.update(&txn).await?;
    txn.commit().await?;
    Ok(sent)
}

/// Why a claimed notification was not sent.
enum Undelivered {
    /// Sending failed (for now or for good).
    Send(SendError),
    /// There is nothing to send, by design (see [`outbox::PrepareError::Dropped`]).
    Dropped(String),
}

/// Renders and sends one email notification.
async fn send_email(app: &App, notification: &notifications::Model) -> Result<(), Undelivered> {
    let message_id = app.mailer.message_id(&notification.dedupe_key);
    match outbox::render(
        &app.db,
        &app.config,
        &app.keys,
        &app.templates,
        notification,
    )
    .await
    {
        Ok(email) => match app
            .mailer
            .compose(&notification.recipient, &message_id, &email)
        {
            Ok(message) => app.mailer.send(message).await.map_err(Undelivered::Send),
            Err(e) => Err(Undelivered::Send(e)),
        },
        Err(outbox::PrepareError::Dropped(why)) => Err(Undelivered::Dropped(why)),
        Err(outbox::PrepareError::Permanent(why)) => {
            Err(Undelivered::Send(SendError::Permanent(why)))
        }
        Err(outbox::PrepareError::Db(e)) => {
            Err(Undelivered::Send(SendError::Transient(e.to_string())))
        }
        Err(outbox::PrepareError::Transient(why)) => {
            Err(Undelivered::Send(SendError::Transient(why)))
        }
    }
}

/// Whether a message queued at `queued_at` and still failing at `now` is given up.
fn given_up(queued_at: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> bool {
    (now - queued_at)
        .to_std()
        .is_ok_and(|age| age >= GIVE_UP_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transient_failure_is_given_up_four_days_after_queueing_and_not_before() {
        let queued = Utc::now();
        let day = chrono::Duration::days(1);
        assert!(!given_up(queued, queued + day * 3));
        assert!(!given_up(
            queued,
            queued + day * 4 - chrono::Duration::seconds(1)
        ));
        assert!(given_up(queued, queued + day * 4));
    }

    #[test]
    fn backoff_doubles_from_a_minute_and_stops_at_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(60));
        assert_eq!(backoff(1), Duration::from_secs(120));
        assert_eq!(backoff(5), Duration::from_secs(1920));
        assert_eq!(backoff(6), Duration::from_secs(3600));
        assert_eq!(backoff(40), Duration::from_secs(3600));
    }
}
