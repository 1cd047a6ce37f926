//! The scheduler: tokio-cron-scheduler is only the trigger.
//!
//! It keeps no state across instances and can stop firing under load, so nothing depends on
//! it beyond "now is a good time": each sweep first claims its period by inserting
//! (job, period) into `job_periods`, whose primary key lets exactly one instance win on every
//! backend; the others skip. The sweep itself is idempotent (dedupe keys), so a period that
//! failed, overran or was missed is made up by the next one. The drain needs no claim: the
//! outbox worker's leases already keep instances apart.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use chrono_tz::Tz;
use entity::job_periods;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, SqlErr,
    sea_query::Expr,
};
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::app::{App, AppState};
use crate::config::parse_cron;
use crate::services::audit::Actor;
use crate::services::reminders::{self, SweepOptions, SweepReport};
use crate::services::renewal::{self, RenewOptions};
use crate::services::sample_audit;

/// The job names recorded in `job_periods`.
pub const SWEEP: &str = crate::services::outbox_status::REMINDER_SWEEP;
/// The outbox drain, as `/metrics` names its passes.
pub const DRAIN: &str = "outbox_drain";
/// Longest a sweep may run before it is abandoned (and made up next period).
pub const SWEEP_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The label of the period that `now` falls in: the latest time at or before `now` that the
/// cron expression names, written in the schedule's time zone (`2026-11-26T09:00:00+09:00`).
pub fn period_of(cron: &str, time_zone: Tz, now: DateTime<Utc>) -> Option<String> {
    let cron = parse_cron(cron).ok()?;
    let local = now.trunc_subsecs(0).with_timezone(&time_zone);
    let at = cron.find_previous_occurrence(&local, true).ok()?;
    Some(at.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

/// Claims (job, period) for this instance. `false` when another instance (or an earlier run
/// of this one) already has it.
pub async fn claim_period(app: &App, job: &str, period: &str) -> Result<bool, DbErr> {
    let row = job_periods::ActiveModel {
        job: Set(job.to_owned()),
        period: Set(period.to_owned()),
        started_at: Set(Utc::now()),
        finished_at: Set(None),
        error: Set(None),
    };
    match job_periods::Entity::insert(row)
        .exec_without_returning(&app.db)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn finish_period(app: &App, job: &str, period: &str, error: Option<String>) {
    let result = job_periods::Entity::update_many()
        .col_expr(job_periods::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(job_periods::Column::Error, Expr::value(error))
        .filter(job_periods::Column::Job.eq(job))
        .filter(job_periods::Column::Period.eq(period))
        .exec(&app.db)
        .await;
    if let Err(e) = result {
        tracing::error!(job, period, error = %e, "cannot record the end of a job period");
    }
}

/// The sweep of one period (the renewal of ended cycles, then the reminders), run once across
/// instances: `Ok(None)` when another instance has the period. A failure or an overrun is
/// recorded on the period and logged; the next period makes it up.
pub async fn sweep_period(app: &App, period: &str) -> Result<Option<SweepReport>, DbErr> {
    let started = std::time::Instant::now();
    if !claim_period(app, SWEEP, period).await? {
        app.metrics.record_job(SWEEP, "skipped", started.elapsed());
        return Ok(None);
    }
    // Cycles that ended are closed first, and audited credits whose evidence did not come in
    // time lose their effect, so the reminders judge what the ledger now says.
    renew(app, period).await;
    expire_audits(app, period).await;
    let options = SweepOptions {
        as_of: None,
        dry_run: false,
        congratulate: app.config.schedule.congratulate,
    };
    let run = reminders::sweep(&app.db, &app.schemes, &app.config, options);
    let outcome = match tokio::time::timeout(SWEEP_TIMEOUT, run).await {
        Ok(Ok(report)) => {
            tracing::info!(
                period,
                holdings = report.holdings,
                notifications = report.notifications,
                items = report.items,
                "reminder sweep done"
            );
            finish_period(app, SWEEP, period, None).await;
            announce_changes(app, period).await;
            ("done", Some(report))
        }
        Ok(Err(e)) => {
            tracing::error!(period, error = %e, "reminder sweep failed; the next period retries");
            finish_period(app, SWEEP, period, Some(e.to_string())).await;
            ("failed", None)
        }
        Err(_) => {
            tracing::error!(period, "reminder sweep overran; the next period retries");
            finish_period(app, SWEEP, period, Some("overran".to_owned())).await;
            ("failed", None)
        }
    };
    app.metrics.record_job(SWEEP, outcome.0, started.elapsed());
    Ok(outcome.1)
}

/// The renewal of the period's ended cycles (idempotent: a failure or an overrun is logged and
/// the next period makes it up). It never keeps the reminders from running.
async fn renew(app: &App, period: &str) {
    let actor = Actor::system();
    let run = renewal::run(&app.db, &app.schemes, &actor, RenewOptions::default());
    match tokio::time::timeout(SWEEP_TIMEOUT, run).await {
        Ok(Ok(report)) => tracing::info!(
            period,
            checked = report.checked,
            renewed = report.renewed(),
            lapsed = report.lapsed(),
            "renewal done"
        ),
        Ok(Err(e)) => {
            tracing::error!(period, error = %e, "renewal failed; the next period retries");
        }
        Err(_) => tracing::error!(period, "renewal overran; the next period retries"),
    }
}

/// Voids the credits of sample-audit requests left unanswered past their due day (idempotent,
/// like the renewal: a failure is logged and the next period makes it up).
async fn expire_audits(app: &App, period: &str) {
    let actor = Actor::system();
    let today = sample_audit::office_today();
    let run = sample_audit::expire(&app.db, &app.schemes, &actor, today);
    match tokio::time::timeout(SWEEP_TIMEOUT, run).await {
        Ok(Ok(done)) => tracing::info!(
            period,
            requests = done.requests,
            voided = done.voided,
            "overdue audit requests expired"
        ),
        Ok(Err(e)) => {
            tracing::error!(period, error = %e, "audit expiry failed; the next period retries");
        }
        Err(_) => tracing::error!(period, "audit expiry overran; the next period retries"),
    }
}

/// Queues a status webhook for each watched holding whose status, standing or valid-until
/// changed since it was last announced (a change of standing as days pass shows here, once a
/// period).
async fn announce_changes(app: &App, period: &str) {
    match crate::services::webhooks::detect_changes(&app.db, &app.schemes).await {
        Ok(0) => {}
        Ok(queued) => tracing::info!(period, queued, "status webhooks queued"),
        Err(e) => tracing::error!(period, error = %e, "cannot look for status changes"),
    }
}

/// What `/health/ready` reports when the sweep has not run (on any instance) in either of the
/// last two periods that passed while this instance was up; `None` when it has, or when the
/// scheduler is off.
pub async fn missed_sweeps(app: &App, now: DateTime<Utc>) -> Result<Option<String>, DbErr> {
    let schedule = &app.config.schedule;
    if !schedule.enabled {
        return Ok(None);
    }
    let Ok(cron) = parse_cron(&schedule.sweep_cron) else {
        return Ok(None);
    };
    let local = now.trunc_subsecs(0).with_timezone(&schedule.time_zone);
    let (Ok(latest), Some(before)) = (
        cron.find_previous_occurrence(&local, true),
        cron.find_previous_occurrence(&local, true)
            .and_then(|latest| cron.find_previous_occurrence(&latest, false))
            .ok(),
    ) else {
        return Ok(None);
    };
    if before.with_timezone(&Utc) < app.started_at {
        return Ok(None);
    }
    let label = |at: DateTime<Tz>| at.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    let ran = job_periods::Entity::find()
        .filter(job_periods::Column::Job.eq(SWEEP))
        .filter(job_periods::Column::Period.is_in([label(before), label(latest)]))
        .count(&app.db)
        .await?;
    Ok((ran == 0).then(|| {
        format!(
            "the reminder sweep did not run for the periods {} and {}",
            label(before),
            label(latest)
        )
    }))
}

/// Sends what the outbox holds, batch after batch, until a pass sends nothing or shutdown has
/// begun (the batch being sent is finished; the rest waits for the next instance or start).
pub async fn drain(app: &App) -> usize {
    let mut total = 0;
    loop {
        let sent = super::outbox::drain_once(app).await;
        total += sent;
        if sent == 0 || app.jobs.stopping() {
            return total;
        }
    }
}

/// Starts the scheduler with the sweep and the drain; `None` when it is turned off.
pub async fn start(state: AppState) -> Result<Option<JobScheduler>, JobSchedulerError> {
    let schedule = state.config.schedule.clone();
    if !schedule.enabled {
        return Ok(None);
    }
    let scheduler = JobScheduler::new().await?;
    let sweep_state = state.clone();
    let sweep_cron = schedule.sweep_cron.clone();
    scheduler
        .add(Job::new_async_tz(
            schedule.sweep_cron.as_str(),
            schedule.time_zone,
            move |_, _| {
                let state = sweep_state.clone();
                let cron = sweep_cron.clone();
                Box::pin(async move {
                    let Some(_run) = state.jobs.begin().await else {
                        return;
                    };
                    let Some(period) = period_of(&cron, schedule.time_zone, Utc::now()) else {
                        tracing::error!(cron, "cannot name the sweep's period");
                        return;
                    };
                    if let Err(e) = sweep_period(&state, &period).await {
                        tracing::error!(period, error = %e, "cannot claim the sweep's period");
                    }
                })
            },
        )?)
        .await?;
    let drain_state = state.clone();
    scheduler
        .add(Job::new_async_tz(
            schedule.drain_cron.as_str(),
            schedule.time_zone,
            move |_, _| {
                let state = drain_state.clone();
                Box::pin(async move {
                    let Some(_run) = state.jobs.begin().await else {
                        return;
                    };
                    // Status changes the writes recorded in the projection become deliveries
                    // first, so they leave in this same pass.
                    if let Err(e) =
                        crate::services::webhooks::detect_changes(&state.db, &state.schemes).await
                    {
                        tracing::error!(error = %e, "cannot look for status changes");
                    }
                    let sent = drain(&state).await;
                    if sent > 0 {
                        tracing::info!(sent, "outbox drained");
                    }
                })
            },
        )?)
        .await?;
    scheduler.start().await?;
    Ok(Some(scheduler))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_sweep_at_nine_in_tokyo_names_its_period_by_that_morning() {
        let tokyo = chrono_tz::Asia::Tokyo;
        let at = |text: &str| text.parse::<DateTime<Utc>>().expect("an instant");
        // 00:00:00.4 UTC is 09:00:00.4 in Tokyo: the 09:00 run of that day.
        assert_eq!(
            period_of("0 0 9 * * *", tokyo, at("2026-11-26T00:00:00.4Z")).as_deref(),
            Some("2026-11-26T09:00:00+09:00")
        );
        // Late (overloaded) the same day: still that period.
        assert_eq!(
            period_of("0 0 9 * * *", tokyo, at("2026-11-26T05:30:00Z")).as_deref(),
            Some("2026-11-26T09:00:00+09:00")
        );
        // Before nine: the previous day's period.
        assert_eq!(
            period_of("0 0 9 * * *", tokyo, at("2026-11-25T23:59:59Z")).as_deref(),
            Some("2026-11-25T09:00:00+09:00")
        );
        assert_eq!(
            period_of("not cron", tokyo, at("2026-11-26T00:00:00Z")),
            None
        );
    }
}
