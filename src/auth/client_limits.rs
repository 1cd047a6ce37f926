//! Per-client request budgets: each machine client's `rate_limit_per_minute`, spent by its
//! token requests and by every request its tokens make, counted across every instance of the
//! app that shares the database.
//!
//! **What a budget allows.** A GCRA cell per client (the generic cell rate algorithm): a client
//! may burst up to its whole minute's budget, then gets one request per `60 / limit` seconds;
//! a refused request spends nothing, and its `Retry-After` says when the next one is allowed.
//! The cell is one instant, `full_at`: when the budget is whole again if the client makes no
//! more requests. A request pushes it one request's share of the minute further (from now, if
//! it has passed) and is allowed while it stays within one minute of now. A changed limit
//! takes effect with a fresh budget.
//!
//! **Shared, without a write per request.** The cells live in `client_request_budgets`, one
//! row per client and limit. A request never waits on the database: each instance decides from
//! the cell as it last read it plus the requests it has allowed since. A background task every
//! [`FLUSH_INTERVAL`], and at once when a client has spent a tenth of its budget here since
//! the last flush, adds this instance's requests to the shared cells with one upsert and reads
//! them back, with what the other instances added. Rows whose `full_at` has passed are deleted
//! now and then.
//!
//! **Overshoot.** An instance does not see what the others allowed since its last read-back,
//! so behind a load balancer a client may get more than its budget by what the other instances
//! allow within one flush: the client's requests of about [`FLUSH_INTERVAL`] plus one flush's
//! round trip, and while the database answers promptly not much more than a tenth of the
//! budget per instance. A single instance is exact: its own requests always count. While the
//! database cannot be written, each instance goes on counting its own requests (a budget per
//! instance, as before) and adds them once it can.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use entity::client_request_budgets;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    Statement, Value,
};
use tokio::sync::Notify;

/// How often an instance adds its requests to the shared budgets and reads them back.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// How often an instance deletes shared cells whose budget is whole again.
const PRUNE_INTERVAL: Duration = Duration::from_secs(600);
/// One minute, in the microseconds cells count in.
const MINUTE: i64 = 60_000_000;
/// Most clients one upsert or read-back names.
const ROWS_PER_STATEMENT: usize = 500;

/// Every machine client's budget as this instance spends it; see the module notes.
pub struct ClientLimits {
    inner: Arc<Inner>,
}

struct Inner {
    budgets: Mutex<HashMap<String, Budget>>,
    /// `None` counts on this instance alone (unit tests).
    db: Option<DatabaseConnection>,
    /// Wakes the flush task early.
    wake: Arc<Notify>,
    /// One flush at a time: the task's and [`ClientLimits::flush`]'s.
    flushing: tokio::sync::Mutex<()>,
}

impl ClientLimits {
    /// Budgets shared through `db`, with their flush task on the current tokio runtime. The
    /// task ends soon after the last handle is dropped.
    pub fn start(db: DatabaseConnection) -> Self {
        let limits = Self::with_db(Some(db));
        tokio::spawn(flush_periodically(
            Arc::downgrade(&limits.inner),
            Arc::clone(&limits.inner.wake),
        ));
        limits
    }

    fn with_db(db: Option<DatabaseConnection>) -> Self {
        Self {
            inner: Arc::new(Inner {
                budgets: Mutex::new(HashMap::new()),
                db,
                wake: Arc::new(Notify::new()),
                flushing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Spends one request of `client_id`'s budget; `Err(seconds)` says how long to wait.
    /// Never waits on the database.
    pub fn check(&self, client_id: &str, per_minute: i32) -> Result<(), u64> {
        self.check_at(client_id, per_minute, now_micros())
    }

    fn check_at(&self, client_id: &str, per_minute: i32, now: i64) -> Result<(), u64> {
        let per_minute = u32::try_from(per_minute)
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(1);
        let spent = {
            let mut budgets = self.inner.budgets();
            if budgets
                .get(client_id)
                .is_none_or(|b| b.per_minute != per_minute)
            {
                budgets.insert(client_id.to_owned(), Budget::new(per_minute));
            }
            match budgets.get_mut(client_id) {
                Some(budget) => budget.spend(now),
                None => Ok(false),
            }
        };
        match spent {
            Ok(flush_soon) => {
                if flush_soon {
                    self.inner.wake.notify_one();
                }
                Ok(())
            }
            Err(wait) => Err(whole_seconds(wait)),
        }
    }

    /// Adds this instance's requests to the shared budgets now and reads back what every
    /// instance has spent. The flush task does this every [`FLUSH_INTERVAL`]; shutting down
    /// and tests may call it too. On an error the requests stay counted here and are added by
    /// a later flush.
    pub async fn flush(&self) -> Result<(), DbErr> {
        self.inner.flush().await
    }
}

impl Inner {
    fn budgets(&self) -> MutexGuard<'_, HashMap<String, Budget>> {
        self.budgets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn flush(&self) -> Result<(), DbErr> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        let _alone = self.flushing.lock().await;
        let now = now_micros();
        let (spends, watched) = self.hand_over(now);
        if let Err(e) = add(db, &spends, now).await {
            self.settle(&spends, Settled::NotAdded);
            return Err(e);
        }
        match read_back(db, &watched).await {
            Ok(cells) => {
                self.settle(&spends, Settled::Read(&watched, &cells));
                Ok(())
            }
            Err(e) => {
                self.settle(&spends, Settled::AddedUnread);
                Err(e)
            }
        }
    }

    /// Forgets budgets idle long enough to be whole again, hands over what every other one
    /// spent since the last flush, and names the clients whose cells to read back.
    fn hand_over(&self, now: i64) -> (Vec<Spend>, Vec<String>) {
        let mut budgets = self.budgets();
        budgets.retain(|_, budget| !budget.forgettable(now));
        let mut spends: Vec<Spend> = budgets
            .iter_mut()
            .filter_map(|(client_id, budget)| {
                let requests = budget.hand_over();
                (requests > 0).then(|| Spend {
                    client_id: client_id.clone(),
                    per_minute: budget.per_minute,
                    requests,
                    cost: budget.cost,
                })
            })
            .collect();
        // One row order for every instance's upsert, so two upserts never deadlock.
        spends.sort_by(|a, b| (&a.client_id, a.per_minute).cmp(&(&b.client_id, b.per_minute)));
        (spends, budgets.keys().cloned().collect())
    }

    fn settle(&self, spends: &[Spend], settled: Settled<'_>) {
        let mut budgets = self.budgets();
        match settled {
            Settled::NotAdded => {
                for spend in spends {
                    if let Some(budget) = budgets
                        .get_mut(&spend.client_id)
                        .filter(|b| b.per_minute == spend.per_minute)
                    {
                        budget.not_added(spend.requests);
                    }
                }
            }
            // This instance's cells already count what was added.
            Settled::AddedUnread => {}
            Settled::Read(watched, cells) => {
                let now = now_micros();
                for client_id in watched {
                    if let Some(budget) = budgets.get_mut(client_id) {
                        let key = (client_id.clone(), budget.per_minute);
                        budget.read(cells.get(&key).copied(), now);
                    }
                }
            }
        }
    }

    async fn prune(&self) -> Result<(), DbErr> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        client_request_budgets::Entity::delete_many()
            .filter(client_request_budgets::Column::FullAt.lt(now_micros()))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// How a flush ended, for the budgets it handed over.
#[derive(Clone, Copy)]
enum Settled<'a> {
    /// The upsert failed: the next flush hands the requests over again.
    NotAdded,
    /// Added, but the read-back failed.
    AddedUnread,
    /// Added, then these clients' cells read back, by (client, limit).
    Read(&'a [String], &'a HashMap<(String, u32), i64>),
}

/// One client's requests on this instance since the last flush.
struct Spend {
    client_id: String,
    per_minute: u32,
    requests: u32,
    cost: i64,
}

/// One client's budget as this instance sees it: a GCRA cell that starts from the shared cell
/// as last read back and counts every request allowed here since. Instants are µs since the
/// epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Budget {
    per_minute: u32,
    /// One request's share of the minute.
    cost: i64,
    /// When the budget is whole again if the client makes no more requests.
    full_at: i64,
    /// Allowed here, not yet handed to a flush.
    pending: u32,
    last_used: i64,
}

impl Budget {
    fn new(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        Self {
            per_minute,
            cost: (MINUTE / i64::from(per_minute)).max(1),
            full_at: 0,
            pending: 0,
            last_used: 0,
        }
    }

    /// Spends one request at `now`: `Ok(true)` when this instance should flush soon (a tenth
    /// of the budget is unflushed), `Err(µs)` until the next request is allowed.
    fn spend(&mut self, now: i64) -> Result<bool, i64> {
        let after = self.full_at.max(now).saturating_add(self.cost);
        let over = after.saturating_sub(now).saturating_sub(MINUTE);
        if over > 0 {
            return Err(over);
        }
        self.full_at = after;
        self.pending = self.pending.saturating_add(1);
        self.last_used = now;
        Ok(self.pending >= self.per_minute.div_ceil(10))
    }

    /// The requests to add to the shared cell in the flush starting now.
    fn hand_over(&mut self) -> u32 {
        std::mem::take(&mut self.pending)
    }

    /// The flush could not add `requests`: they wait for the next. They still count here.
    fn not_added(&mut self, requests: u32) {
        self.pending = self.pending.saturating_add(requests);
    }

    /// The shared cell as read back at `now` (`None`: there is none, the budget is whole),
    /// which holds what was handed over; the requests allowed here since still count.
    fn read(&mut self, shared_full_at: Option<i64>, now: i64) {
        let unshared = i64::from(self.pending).saturating_mul(self.cost);
        self.full_at = shared_full_at
            .unwrap_or(0)
            .max(now)
            .saturating_add(unshared);
    }

    /// Unused for over a minute with nothing left to add: the budget is whole again, and
    /// forgetting it loses nothing.
    fn forgettable(&self, now: i64) -> bool {
        self.pending == 0 && self.last_used.saturating_add(MINUTE) < now && self.full_at <= now
    }
}

/// Adds each spend to its shared cell: `full_at` moves to `max(full_at, now)` plus the spend's
/// requests' share, in one statement per [`ROWS_PER_STATEMENT`] clients.
async fn add(db: &DatabaseConnection, spends: &[Spend], now: i64) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for chunk in spends.chunks(ROWS_PER_STATEMENT) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3 + 2);
        let mut rows = Vec::with_capacity(chunk.len());
        for spend in chunk {
            let full_at = now.saturating_add(i64::from(spend.requests).saturating_mul(spend.cost));
            let id = placeholder(backend, &mut values, spend.client_id.clone().into());
            let limit = placeholder(
                backend,
                &mut values,
                i32::try_from(spend.per_minute).unwrap_or(i32::MAX).into(),
            );
            let at = placeholder(backend, &mut values, full_at.into());
            rows.push(format!("({id}, {limit}, {at})"));
        }
        // The new `full_at` is what a fresh cell would get plus how far the existing one
        // reaches beyond now.
        let beyond_now = {
            let a = placeholder(backend, &mut values, now.into());
            let b = placeholder(backend, &mut values, now.into());
            format!(
                "CASE WHEN client_request_budgets.full_at > {a} \
                 THEN client_request_budgets.full_at - {b} ELSE 0 END"
            )
        };
        let update = match backend {
            DbBackend::MySql => {
                format!("ON DUPLICATE KEY UPDATE full_at = VALUES(full_at) + {beyond_now}")
            }
            _ => format!(
                "ON CONFLICT (client_id, per_minute) DO UPDATE \
                 SET full_at = excluded.full_at + {beyond_now}"
            ),
        };
        let sql = format!(
            "INSERT INTO client_request_budgets (client_id, per_minute, full_at) VALUES {} {update}",
            rows.join(", ")
        );
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// The next bind placeholder for `value` in `backend`'s syntax.
fn placeholder(backend: DbBackend, values: &mut Vec<Value>, value: Value) -> String {
    values.push(value);
    match backend {
        DbBackend::Postgres => format!("${}", values.len()),
        _ => "?".to_owned(),
    }
}

/// The shared cells of `client_ids`, by (client, limit).
async fn read_back(
    db: &DatabaseConnection,
    client_ids: &[String],
) -> Result<HashMap<(String, u32), i64>, DbErr> {
    let mut cells = HashMap::new();
    for chunk in client_ids.chunks(ROWS_PER_STATEMENT) {
        let rows = client_request_budgets::Entity::find()
            .filter(client_request_budgets::Column::ClientId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        for row in rows {
            if let Ok(per_minute) = u32::try_from(row.per_minute) {
                cells.insert((row.client_id, per_minute), row.full_at);
            }
        }
    }
    Ok(cells)
}

/// The flush task: every [`FLUSH_INTERVAL`], or sooner when woken, until the budgets are
/// dropped. Says once when flushing starts failing and once when it recovers.
async fn flush_periodically(inner: Weak<Inner>, wake: Arc<Notify>) {
    let mut ticks = tokio::time::interval(FLUSH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pruned = tokio::time::Instant::now();
    let mut failing = false;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = wake.notified() => {}
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        match inner.flush().await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("client request budgets are shared again");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(
                    error = %e,
                    "cannot share client request budgets; each instance counts its own until the database answers"
                );
            }
            Err(_) => {}
        }
        if pruned.elapsed() >= PRUNE_INTERVAL {
            pruned = tokio::time::Instant::now();
            if let Err(e) = inner.prune().await {
                tracing::warn!(error = %e, "cannot delete spent client request budgets");
            }
        }
    }
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A wait in µs as `Retry-After` seconds: rounded up, at least one.
fn whole_seconds(micros: i64) -> u64 {
    u64::try_from(micros).map_or(1, |m| m.div_ceil(1_000_000).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;
    /// 2026-12-03T00:00:00Z.
    const T0: i64 = 1_796_256_000 * SECOND;

    #[test]
    fn a_client_gets_its_budget_then_waits() {
        let limits = ClientLimits::with_db(None);
        for _ in 0..3 {
            assert_eq!(limits.check("cl_a", 3), Ok(()));
        }
        let wait = limits.check("cl_a", 3).expect_err("the fourth is refused");
        assert!((1..=20).contains(&wait), "{wait}");
        // Another client has its own budget.
        assert_eq!(limits.check("cl_b", 3), Ok(()));
    }

    #[test]
    fn a_budget_bursts_to_its_limit_then_refills_one_request_per_share_of_the_minute() {
        let mut budget = Budget::new(3);
        for _ in 0..3 {
            assert!(budget.spend(T0).is_ok());
        }
        // Spent: whole again in a minute; the next request in 20 s, one share of the minute.
        assert_eq!(budget.spend(T0), Err(20 * SECOND));
        assert_eq!(budget.spend(T0 + 5 * SECOND), Err(15 * SECOND));
        assert!(budget.spend(T0 + 20 * SECOND).is_ok());
        assert_eq!(budget.spend(T0 + 20 * SECOND), Err(20 * SECOND));
        // A refused request spends nothing; an idle minute makes the budget whole.
        let later = T0 + 20 * SECOND + MINUTE;
        for _ in 0..3 {
            assert!(budget.spend(later).is_ok());
        }
        assert!(budget.spend(later).is_err());
    }

    #[test]
    fn what_other_instances_spent_counts_once_read_back() {
        let mut here = Budget::new(20);
        assert!(here.spend(T0).is_ok());
        assert_eq!(here.hand_over(), 1);
        // The shared cell says 19 requests have been spent, this one and 18 elsewhere.
        here.read(Some(T0 + 19 * 3 * SECOND), T0);
        assert!(here.spend(T0).is_ok(), "the 20th");
        assert_eq!(here.spend(T0), Err(3 * SECOND), "the 21st");
        // The shared cell has gone (all of it was spent long ago): only the request allowed
        // here since the hand-over counts.
        here.read(None, T0);
        assert_eq!(here.full_at, T0 + 3 * SECOND);
        for _ in 0..19 {
            assert!(here.spend(T0).is_ok());
        }
        assert!(here.spend(T0).is_err());
    }

    #[test]
    fn requests_not_yet_shared_still_count_here_and_refill_with_time() {
        let mut budget = Budget::new(4);
        assert!(budget.spend(T0).is_ok());
        assert!(budget.spend(T0).is_ok());
        assert_eq!(budget.hand_over(), 2);
        // Two more while the flush is under way.
        assert!(budget.spend(T0).is_ok());
        assert!(budget.spend(T0).is_ok());
        assert!(
            budget.spend(T0).is_err(),
            "handed over and pending both count"
        );
        // The upsert failed: the two handed over are pending again, nothing is lost.
        budget.not_added(2);
        assert_eq!(budget.pending, 4);
        assert!(budget.spend(T0).is_err());
        // With no flush at all (the database away), the budget still refills here.
        assert_eq!(budget.spend(T0 + 14 * SECOND), Err(SECOND));
        assert!(budget.spend(T0 + 15 * SECOND).is_ok());
        // All five added and read back: the shared cell is the budget now.
        assert_eq!(budget.hand_over(), 5);
        budget.read(Some(T0 + 75 * SECOND), T0 + 15 * SECOND);
        assert_eq!(budget.full_at, T0 + 75 * SECOND);
        assert!(budget.spend(T0 + 15 * SECOND).is_err());
    }

    #[test]
    fn a_tenth_of_the_budget_unflushed_asks_for_a_flush() {
        let mut budget = Budget::new(20);
        assert_eq!(budget.spend(T0), Ok(false));
        assert_eq!(budget.spend(T0), Ok(true));
        budget.hand_over();
        assert_eq!(budget.spend(T0), Ok(false));
        // A budget under ten flushes on every request.
        assert_eq!(Budget::new(3).spend(T0), Ok(true));
    }

    #[test]
    fn a_changed_limit_takes_effect_with_a_fresh_budget() {
        let limits = ClientLimits::with_db(None);
        assert_eq!(limits.check_at("cl_a", 1, T0), Ok(()));
        assert_eq!(limits.check_at("cl_a", 1, T0), Err(60));
        assert_eq!(limits.check_at("cl_a", 2, T0), Ok(()));
        assert_eq!(limits.check_at("cl_a", 2, T0), Ok(()));
        assert_eq!(limits.check_at("cl_a", 2, T0), Err(30));
        // Nonsense limits allow one request a minute.
        assert_eq!(limits.check_at("cl_b", 0, T0), Ok(()));
        assert_eq!(limits.check_at("cl_b", -5, T0), Err(60));
    }

    #[test]
    fn an_idle_whole_budget_is_forgotten_and_a_spent_one_is_not() {
        let mut budget = Budget::new(2);
        assert!(budget.spend(T0).is_ok());
        assert!(!budget.forgettable(T0 + MINUTE + SECOND), "not yet shared");
        budget.hand_over();
        budget.read(Some(T0 + 2 * MINUTE), T0);
        assert!(
            !budget.forgettable(T0 + MINUTE + SECOND),
            "the shared cell is spent"
        );
        budget.read(Some(T0 + 30 * SECOND), T0);
        assert!(
            !budget.forgettable(T0 + 59 * SECOND),
            "used within the minute"
        );
        assert!(budget.forgettable(T0 + MINUTE + SECOND));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(1), 1);
        assert_eq!(whole_seconds(SECOND), 1);
        assert_eq!(whole_seconds(SECOND + 1), 2);
        assert_eq!(whole_seconds(0), 1);
    }
}
