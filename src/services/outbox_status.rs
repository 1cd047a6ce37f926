//! The outbox by state and the reminder sweep's latest period: what an operator reads to know
//! reminders are flowing (`cpe-ledger remind status` and `GET /v1/admin/notifications/status`
//! answer from this one function), and what the metrics endpoint will export.

use chrono::{DateTime, Utc};
use entity::job_periods;
use entity::notifications::{self, NotificationState};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;

/// The job name the scheduler records the reminder sweep's periods under.
pub const REMINDER_SWEEP: &str = "reminder_sweep";

/// Notifications by state, and the latest sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxStatus {
    /// Waiting for their first attempt (or in it right now).
    pub queued: u64,
    /// Waiting after a temporary failure (or being retried right now).
    pub retrying: u64,
    pub sent: u64,
    /// Refused for good, or given up after 4 days.
    pub failed: u64,
    /// Closed without sending by design: resets requested for addresses without an account.
    pub dropped: u64,
    /// The latest sweep period some instance ran.
    pub last_sweep: Option<SweepRun>,
}

/// One period of the reminder sweep, as `job_periods` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepRun {
    /// The period's label, in the schedule's time zone (`2026-11-26T09:00:00+09:00`).
    pub period: String,
    pub started_at: DateTime<Utc>,
    /// `None` while it runs (or when its process died).
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed (`overran`, a database error), when it did.
    pub error: Option<String>,
}

pub async fn status(db: &impl ConnectionTrait) -> Result<OutboxStatus, DbErr> {
    let waiting = [NotificationState::Pending, NotificationState::Sending];
    let count = |states: &[NotificationState], tried: Option<bool>| {
        let mut query = notifications::Entity::find()
            .filter(notifications::Column::State.is_in(states.iter().copied()));
        match tried {
            Some(true) => query = query.filter(notifications::Column::Attempts.gt(0)),
            Some(false) => query = query.filter(notifications::Column::Attempts.eq(0)),
            None => {}
        }
        query.count(db)
    };
    Ok(OutboxStatus {
        queued: count(&waiting, Some(false)).await?,
        retrying: count(&waiting, Some(true)).await?,
        sent: count(&[NotificationState::Sent], None).await?,
        failed: count(&[NotificationState::Failed], None).await?,
        dropped: count(&[NotificationState::Dropped], None).await?,
        last_sweep: job_periods::Entity::find()
            .filter(job_periods::Column::Job.eq(REMINDER_SWEEP))
            .order_by_desc(job_periods::Column::StartedAt)
            .one(db)
            .await?
            .map(|run| SweepRun {
                period: run.period,
                started_at: run.started_at,
                finished_at: run.finished_at,
                error: run.error,
            }),
    })
}
