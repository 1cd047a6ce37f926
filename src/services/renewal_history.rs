//! A holding's renewal history as its professional reads it: every cycle on record with its
//! dates and outcome, and the audit events about each (renewed by the ledger, lapsed, renewed
//! by the certification body's registry).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::audit_events;
use entity::cycles::{self, CycleOutcome};
use entity::{holdings, scheme_versions};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Value};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::standing::last_day_before;
use crate::services::bulk_write;
use crate::services::renewal::{LAPSED, RENEWED, RENEWED_BY_REGISTRY};

/// What a cycle came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Renewed,
    Lapsed,
}

impl From<CycleOutcome> for Outcome {
    fn from(outcome: CycleOutcome) -> Self {
        match outcome {
            CycleOutcome::Renewed => Self::Renewed,
            CycleOutcome::Lapsed => Self::Lapsed,
        }
    }
}

/// Who recorded a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordedBy {
    /// The ledger's daily renewal run.
    Ledger,
    /// The certification body, through its registry import.
    CertificationBody,
}

/// One audited change of a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CycleEvent {
    pub occurred_at: DateTime<Utc>,
    /// `cycle.renewed`, `cycle.lapsed` or `cycle.renewed_by_registry`.
    pub action: String,
    pub recorded_by: RecordedBy,
}

/// One cycle of a holding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CycleRecord {
    /// First day of the cycle.
    pub starts_on: NaiveDate,
    /// The expiry date: the cycle's last valid day.
    pub expires_on: NaiveDate,
    /// The scheme version that judges it.
    pub scheme_version: String,
    /// `None` while the cycle is open.
    pub outcome: Option<Outcome>,
    /// Its audited changes, oldest first.
    pub events: Vec<CycleEvent>,
}

/// A holding's cycles, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HoldingHistory {
    pub holding_id: Uuid,
    pub scheme: String,
    pub registration_number: String,
    /// `active`, `suspended`, `lapsed` or `revoked`.
    #[schema(value_type = String)]
    pub status: holdings::HoldingStatus,
    pub cycles: Vec<CycleRecord>,
}

/// The history of one holding.
pub async fn of_holding(
    db: &impl ConnectionTrait,
    holding: &holdings::Model,
) -> Result<HoldingHistory, DbErr> {
    let mut found = of_holdings(db, std::slice::from_ref(holding)).await?;
    Ok(found.remove(&holding.id).unwrap_or_else(|| empty(holding)))
}

/// The history of each of `held` (one professional's holdings, say), by holding id: three
/// reads whatever their number.
pub async fn of_holdings(
    db: &impl ConnectionTrait,
    held: &[holdings::Model],
) -> Result<HashMap<Uuid, HoldingHistory>, DbErr> {
    let keys = held.iter().map(|h| vec![Value::from(h.id)]).collect();
    let mut cycles =
        bulk_write::find_by_keys::<cycles::Entity>(db, &[cycles::Column::HoldingId], keys).await?;
    cycles.sort_by_key(|c| std::cmp::Reverse(c.starts_on));
    let versions: HashMap<Uuid, String> = scheme_versions::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.version))
        .collect();
    let subjects: Vec<String> = cycles.iter().map(|c| c.id.to_string()).collect();
    let mut events: HashMap<String, Vec<CycleEvent>> = HashMap::new();
    for chunk in subjects.chunks(1_000) {
        for e in audit_events::Entity::find()
            .filter(audit_events::Column::SubjectKind.eq("cycle"))
            .filter(audit_events::Column::SubjectId.is_in(chunk.iter().cloned()))
            .filter(audit_events::Column::Action.is_in([RENEWED, LAPSED, RENEWED_BY_REGISTRY]))
            .order_by_asc(audit_events::Column::Id)
            .all(db)
            .await?
        {
            let Some(subject) = e.subject_id else {
                continue;
            };
            events.entry(subject).or_default().push(CycleEvent {
                occurred_at: e.occurred_at,
                // The daily run and an operator's `admin renew` both apply the ledger's rule.
                recorded_by: if e.action == RENEWED_BY_REGISTRY {
                    RecordedBy::CertificationBody
                } else {
                    RecordedBy::Ledger
                },
                action: e.action,
            });
        }
    }
    let mut out: HashMap<Uuid, HoldingHistory> = held.iter().map(|h| (h.id, empty(h))).collect();
    for cycle in cycles {
        let Some(history) = out.get_mut(&cycle.holding_id) else {
            continue;
        };
        history.cycles.push(CycleRecord {
            starts_on: cycle.starts_on,
            expires_on: last_day_before(cycle.ends_on),
            scheme_version: versions
                .get(&cycle.scheme_version_id)
                .cloned()
                .unwrap_or_default(),
            outcome: cycle.outcome.map(Outcome::from),
            events: events.remove(&cycle.id.to_string()).unwrap_or_default(),
        });
    }
    Ok(out)
}

fn empty(holding: &holdings::Model) -> HoldingHistory {
    HoldingHistory {
        holding_id: holding.id,
        scheme: holding.scheme_id.clone(),
        registration_number: holding.registration_number.clone(),
        status: holding.status,
        cycles: Vec::new(),
    }
}
