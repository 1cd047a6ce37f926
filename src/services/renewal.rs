//! Renewal of cycles: the decision of [`crate::domain::renewal`] applied to every open cycle.
//!
//! A holding's open cycle is its latest cycle (by first day) while it has no outcome. Each
//! active holding whose open cycle has started is judged on the day (`as_of`, or today in its
//! holder's time zone); one that the decision closes is written in a transaction of its own:
//!
//! * **renewed**: the cycle's outcome becomes `renewed` and the next cycle opens on the old
//!   cycle's exclusive end, judged by the scheme version in force that day; rollover is the
//!   engine's (the next cycle's standing reads the previous cycle's credits). When the next
//!   cycle has ended by `as_of` as well (a holding not looked at for years), it is judged in
//!   turn, in the same transaction, until a cycle is left open or lapses.
//! * **lapsed**: the cycle's outcome becomes `lapsed` and the holding's status `lapsed`.
//!
//! Each change is an audit event (`cycle.renewed`, `cycle.lapsed`) whose subject is the cycle
//! closed, and the standing projection of the holder is refreshed before the commit.
//!
//! Running it twice changes nothing: a closed cycle is no longer open. Two runs at once
//! cannot both close a cycle or open two next ones: the close is
//! `UPDATE … WHERE id = ? AND outcome IS NULL` (the second writer finds no row once the first
//! commits, or waits for SQLite's write lock and then finds the cycle closed), and
//! `(holding_id, starts_on)` is unique on `cycles`; the loser rolls back and records nothing.
//! The day's decisions are first taken from a read of a page of holders, then taken again
//! inside each write from what the transaction reads, so a credit approved or voided in
//! between decides the write.

use chrono::{NaiveDate, Utc};
use entity::cycles::{self, CycleOutcome};
use entity::{holdings, professionals};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Value,
};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::points::Points;
use crate::domain::renewal::{self, Decision};
use crate::domain::standing::{CyclePeriod, Standing, last_day_before};
use crate::services::audit::{self, Actor, Event};
use crate::services::bulk_write;
use crate::services::schemes::{self, SchemeCatalog};
use crate::services::standing::{LedgerSlice, StandingError, today_for};
use crate::services::standing_projection;

/// People read per page.
const PAGE: u64 = 1_000;
/// Cycles one holding may be renewed through in one run (a holding left unjudged for a
/// century stops here; the next run goes on).
const MOST_CYCLES_PER_RUN: usize = 40;

/// The audit actions of a closed cycle.
pub const RENEWED: &str = "cycle.renewed";
pub const LAPSED: &str = "cycle.lapsed";
pub const RENEWED_BY_REGISTRY: &str = "cycle.renewed_by_registry";

/// How a renewal run goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenewOptions {
    /// The day to decide on; `None`: today in each holder's time zone.
    pub as_of: Option<NaiveDate>,
    /// Decide and report, and write nothing (each write is rolled back).
    pub dry_run: bool,
}

/// The next cycle a renewal opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenedCycle {
    pub starts_on: NaiveDate,
    /// The last valid day.
    pub expires_on: NaiveDate,
    pub scheme_version: String,
    /// Points the previous cycle carried into it (rollover).
    pub carried_in: Points,
}

/// One cycle a run closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenewalChange {
    pub holding_id: Uuid,
    pub scheme_id: String,
    pub registration_number: String,
    pub starts_on: NaiveDate,
    /// The closed cycle's last valid day.
    pub expires_on: NaiveDate,
    /// `renewed` or `lapsed`.
    pub outcome: CycleOutcome,
    /// The cycle opened in its place (renewed only).
    pub next: Option<OpenedCycle>,
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RenewalReport {
    /// Open cycles judged.
    pub checked: usize,
    /// Holdings that could not be judged (rules not loaded, say).
    pub skipped: usize,
    /// Every cycle closed, in the order of holders' ids.
    pub changes: Vec<RenewalChange>,
}

impl RenewalReport {
    pub fn renewed(&self) -> usize {
        self.count(CycleOutcome::Renewed)
    }

    pub fn lapsed(&self) -> usize {
        self.count(CycleOutcome::Lapsed)
    }

    fn count(&self, outcome: CycleOutcome) -> usize {
        self.changes.iter().filter(|c| c.outcome == outcome).count()
    }
}

/// Applies the renewal decision to every open cycle of every active holding.
pub async fn run(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    options: RenewOptions,
) -> Result<RenewalReport, DbErr> {
    let mut report = RenewalReport::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut query = professionals::Entity::find()
            .order_by_asc(professionals::Column::Id)
            .limit(PAGE);
        if let Some(last) = after {
            query = query.filter(professionals::Column::Id.gt(last));
        }
        let people = query.all(db).await?;
        let Some(last) = people.last() else {
            break;
        };
        after = Some(last.id);
        let ids: Vec<Uuid> = people.iter().map(|p| p.id).collect();
        let slice = LedgerSlice::load(db, &ids).await?;
        let open = open_cycles(db, &slice, &people).await?;
        for person in &people {
            let as_of = options.as_of.unwrap_or_else(|| today_for(person));
            for holding in slice.holdings_of(person.id) {
                let Some(cycle) = open.get(&holding.id) else {
                    continue;
                };
                if holding.status != holdings::HoldingStatus::Active || cycle.starts_on > as_of {
                    continue;
                }
                report.checked += 1;
                let Some(decision) = judge(catalog, &slice, holding, as_of, &mut report)? else {
                    continue;
                };
                if matches!(decision, Decision::Wait { .. }) {
                    continue;
                }
                let changes = apply(db, catalog, actor, holding, as_of, options.dry_run).await?;
                report.changes.extend(changes);
            }
        }
    }
    Ok(report)
}

/// The open cycle of each of these people's holdings: the latest, while it has no outcome.
async fn open_cycles(
    db: &impl ConnectionTrait,
    slice: &LedgerSlice,
    people: &[professionals::Model],
) -> Result<std::collections::HashMap<Uuid, cycles::Model>, DbErr> {
    let keys = people
        .iter()
        .flat_map(|p| slice.holdings_of(p.id))
        .map(|h| vec![Value::from(h.id)])
        .collect();
    let mut latest: std::collections::HashMap<Uuid, cycles::Model> =
        std::collections::HashMap::new();
    for cycle in
        bulk_write::find_by_keys::<cycles::Entity>(db, &[cycles::Column::HoldingId], keys).await?
    {
        match latest.get(&cycle.holding_id) {
            Some(known) if known.starts_on >= cycle.starts_on => {}
            _ => {
                latest.insert(cycle.holding_id, cycle);
            }
        }
    }
    latest.retain(|_, c| c.outcome.is_none());
    Ok(latest)
}

/// The decision on `holding` from `slice`; `None` (and counted skipped) when it cannot be
/// judged.
fn judge(
    catalog: &SchemeCatalog,
    slice: &LedgerSlice,
    holding: &holdings::Model,
    as_of: NaiveDate,
    report: &mut RenewalReport,
) -> Result<Option<Decision>, DbErr> {
    match standing_and_decision(catalog, slice, holding, as_of) {
        Ok(found) => Ok(found.map(|(_, decision)| decision)),
        Err(StandingError::Db(e)) => Err(e),
        Err(e) => {
            tracing::warn!(holding = %holding.id, error = %e, "renewal skips a holding");
            report.skipped += 1;
            Ok(None)
        }
    }
}

/// The holding's standing on `as_of` and the decision on it; `None` when no rules are in
/// force for the next cycle's first day.
fn standing_and_decision(
    catalog: &SchemeCatalog,
    slice: &LedgerSlice,
    holding: &holdings::Model,
    as_of: NaiveDate,
) -> Result<Option<(Standing, Decision)>, StandingError> {
    let standing = slice.judge(catalog, holding, as_of)?.standing;
    let next_start = renewal::judged_cycle(&standing).ends_on;
    let Some(next_rules) = catalog.in_force_on(&holding.scheme_id, next_start) else {
        return Ok(None);
    };
    let decision = renewal::decide(&standing, next_rules.definition.cycle_months);
    Ok(Some((standing, decision)))
}

/// Closes what the decision closes for one holding, in one transaction; answers what it
/// wrote (nothing when another run got there first).
async fn apply(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    holding: &holdings::Model,
    as_of: NaiveDate,
    dry_run: bool,
) -> Result<Vec<RenewalChange>, DbErr> {
    let txn = super::begin_write(db).await?;
    let changes = match close_in(&txn, catalog, actor, holding, as_of).await {
        Ok(changes) => changes,
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            // Another run opened that next cycle first.
            txn.rollback().await?;
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    if changes.is_empty() || dry_run {
        txn.rollback().await?;
    } else {
        standing_projection::refresh(&txn, catalog, &[holding.professional_id]).await?;
        txn.commit().await?;
    }
    Ok(changes)
}

/// The decisions for `holding` taken from what `txn` reads, and written into it.
async fn close_in(
    txn: &sea_orm::DatabaseTransaction,
    catalog: &SchemeCatalog,
    actor: &Actor,
    holding: &holdings::Model,
    as_of: NaiveDate,
) -> Result<Vec<RenewalChange>, DbErr> {
    let mut changes: Vec<RenewalChange> = Vec::new();
    for _ in 0..MOST_CYCLES_PER_RUN {
        let slice = LedgerSlice::load(txn, &[holding.professional_id]).await?;
        let Some(open) = cycles::Entity::find()
            .filter(cycles::Column::HoldingId.eq(holding.id))
            .order_by_desc(cycles::Column::StartsOn)
            .one(txn)
            .await?
            .filter(|c| c.outcome.is_none() && c.starts_on <= as_of)
        else {
            break;
        };
        let (standing, decision) = match standing_and_decision(catalog, &slice, holding, as_of) {
            Ok(Some(found)) => found,
            Ok(None) => break,
            Err(StandingError::Db(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(holding = %holding.id, error = %e, "renewal skips a holding");
                break;
            }
        };
        let outcome = match decision {
            Decision::Wait { .. } => break,
            Decision::Renew { .. } => CycleOutcome::Renewed,
            Decision::Lapse => CycleOutcome::Lapsed,
        };
        if !close_cycle(txn, open.id, outcome).await? {
            break;
        }
        let mut change = RenewalChange {
            holding_id: holding.id,
            scheme_id: holding.scheme_id.clone(),
            registration_number: holding.registration_number.clone(),
            starts_on: open.starts_on,
            expires_on: last_day_before(open.ends_on),
            outcome,
            next: None,
        };
        match decision {
            Decision::Renew { next } => {
                let Some(version) = open_next(txn, catalog, holding, next).await? else {
                    // No rules recorded for the next cycle: nothing of this holding is written.
                    return Ok(Vec::new());
                };
                // Its rollover, read now that the next cycle is on record.
                let carried_in = carried_into(txn, catalog, holding, as_of).await?;
                change.next = Some(OpenedCycle {
                    starts_on: next.starts_on,
                    expires_on: last_day_before(next.ends_on),
                    scheme_version: version,
                    carried_in,
                });
                audit::record(txn, actor, event(RENEWED, &open, &change, &standing)).await?;
                changes.push(change);
            }
            Decision::Lapse => {
                holdings::Entity::update_many()
                    .col_expr(
                        holdings::Column::Status,
                        Expr::value(holdings::HoldingStatus::Lapsed),
                    )
                    .col_expr(holdings::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(holdings::Column::Id.eq(holding.id))
                    .filter(holdings::Column::Status.eq(holdings::HoldingStatus::Active))
                    .exec(txn)
                    .await?;
                audit::record(txn, actor, event(LAPSED, &open, &change, &standing)).await?;
                changes.push(change);
                break;
            }
            Decision::Wait { .. } => break,
        }
    }
    Ok(changes)
}

/// Sets the outcome of an open cycle; `false` when it is no longer open (another run closed
/// it first).
async fn close_cycle(
    db: &impl ConnectionTrait,
    cycle: Uuid,
    outcome: CycleOutcome,
) -> Result<bool, DbErr> {
    let updated = cycles::Entity::update_many()
        .col_expr(cycles::Column::Outcome, Expr::value(outcome))
        .filter(cycles::Column::Id.eq(cycle))
        .filter(cycles::Column::Outcome.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Inserts the next cycle of `holding`, judged by the version in force on its first day;
/// answers that version, or `None` when it is not recorded.
async fn open_next(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &holdings::Model,
    next: CyclePeriod,
) -> Result<Option<String>, DbErr> {
    let Some(rules) = catalog.in_force_on(&holding.scheme_id, next.starts_on) else {
        return Ok(None);
    };
    let version = rules.definition.version.clone();
    let Some(version_id) = schemes::version_row_id(db, &holding.scheme_id, &version).await? else {
        tracing::warn!(scheme = %holding.scheme_id, %version, "renewal: scheme version not recorded");
        return Ok(None);
    };
    cycles::Entity::insert(cycles::ActiveModel {
        id: Set(Uuid::now_v7()),
        holding_id: Set(holding.id),
        scheme_version_id: Set(version_id),
        starts_on: Set(next.starts_on),
        ends_on: Set(next.ends_on),
        outcome: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(Some(version))
}

/// What the holding's current cycle carries in, read from what `db` holds now.
async fn carried_into(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &holdings::Model,
    as_of: NaiveDate,
) -> Result<Points, DbErr> {
    let slice = LedgerSlice::load(db, &[holding.professional_id]).await?;
    match slice.judge(catalog, holding, as_of) {
        Ok(found) => Ok(found.standing.carried_in),
        Err(StandingError::Db(e)) => Err(e),
        Err(_) => Ok(Points::ZERO),
    }
}

fn event<'a>(
    action: &'a str,
    open: &cycles::Model,
    change: &RenewalChange,
    standing: &Standing,
) -> Event<'a> {
    Event {
        action,
        subject_kind: "cycle",
        subject_id: Some(open.id.to_string()),
        before: Some(serde_json::json!({
            "holding_id": change.holding_id.to_string(),
            "outcome": null,
            "state": standing.state,
            "as_of": standing.as_of,
        })),
        after: Some(serde_json::json!({
            "holding_id": change.holding_id.to_string(),
            "starts_on": change.starts_on,
            "expires_on": change.expires_on,
            "outcome": change.outcome,
            "next_cycle": change.next,
            "holding_status": match change.outcome {
                CycleOutcome::Lapsed => "lapsed",
                CycleOutcome::Renewed => "active",
            },
        })),
    }
}

/// A cycle the registry import closes because a row names a later cycle start for its
/// holding: the certification body renewed the holder itself.
#[derive(Debug, Clone)]
pub(crate) struct RegistryRenewal {
    pub holding: holdings::Model,
    pub closed: cycles::Model,
    pub next_starts_on: NaiveDate,
    pub next_ends_on: NaiveDate,
    pub next_version: String,
}

/// Records the body's renewals of an import batch, inside its transaction: each closed cycle's
/// outcome becomes `renewed` (whatever the ledger had decided), a holding the ledger had
/// lapsed is active again, and each is audit-logged as `cycle.renewed_by_registry`.
pub(crate) async fn record_registry_renewals(
    db: &impl ConnectionTrait,
    renewals: &[RegistryRenewal],
) -> Result<(), DbErr> {
    if renewals.is_empty() {
        return Ok(());
    }
    let actor = Actor::cli("import");
    let now = Utc::now();
    for chunk in renewals.chunks(1_000) {
        cycles::Entity::update_many()
            .col_expr(cycles::Column::Outcome, Expr::value(CycleOutcome::Renewed))
            .filter(cycles::Column::Id.is_in(chunk.iter().map(|r| r.closed.id)))
            .exec(db)
            .await?;
        holdings::Entity::update_many()
            .col_expr(
                holdings::Column::Status,
                Expr::value(holdings::HoldingStatus::Active),
            )
            .col_expr(holdings::Column::UpdatedAt, Expr::value(now))
            .filter(holdings::Column::Id.is_in(chunk.iter().map(|r| r.holding.id)))
            .filter(holdings::Column::Status.eq(holdings::HoldingStatus::Lapsed))
            .exec(db)
            .await?;
        let events = chunk
            .iter()
            .map(|r| {
                let reinstated = r.holding.status == holdings::HoldingStatus::Lapsed;
                entity::audit_events::ActiveModel {
                    id: sea_orm::NotSet,
                    occurred_at: Set(now),
                    actor_kind: Set(actor.kind),
                    actor_id: Set(actor.id.clone()),
                    action: Set(RENEWED_BY_REGISTRY.to_owned()),
                    subject_kind: Set("cycle".to_owned()),
                    subject_id: Set(Some(r.closed.id.to_string())),
                    before: Set(Some(serde_json::json!({
                        "holding_id": r.holding.id.to_string(),
                        "outcome": r.closed.outcome,
                        "holding_status": r.holding.status,
                    }))),
                    after: Set(Some(serde_json::json!({
                        "holding_id": r.holding.id.to_string(),
                        "starts_on": r.closed.starts_on,
                        "expires_on": last_day_before(r.closed.ends_on),
                        "outcome": CycleOutcome::Renewed,
                        "next_cycle": {
                            "starts_on": r.next_starts_on,
                            "expires_on": last_day_before(r.next_ends_on),
                            "scheme_version": r.next_version,
                        },
                        "holding_status": if reinstated { holdings::HoldingStatus::Active } else { r.holding.status },
                    }))),
                    ip: Set(None),
                    repeat_count: Set(1),
                    last_occurred_at: Set(None),
                    repeat_key: Set(None),
                }
            })
            .collect();
        bulk_write::insert(db, events).await?;
    }
    Ok(())
}
