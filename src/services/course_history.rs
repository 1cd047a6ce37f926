//! A holder's course history as buyers and the public registry may see it, with consent: the
//! credits of the cycle being judged, each with its title, its provider, the day it was
//! completed and the points it claims in the holding's scheme.
//!
//! Only approved credits count as history (a pending report may yet be refused, a voided or
//! rejected one never counted), and only those that claim points in the holding's scheme. A
//! few statements however many holdings: cycles, credits, claims and providers, each read once
//! for all of them.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::credits::CreditState;
use entity::{credit_claims, credits, cycles, providers};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Value};
use uuid::Uuid;

use crate::domain::points::Points;
use crate::services::bulk_write;

/// Most entries one holding's history carries: the most recent ones.
pub const MAX_ENTRIES: usize = 100;

/// A holding whose history is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Of {
    pub holding_id: Uuid,
    pub professional_id: Uuid,
    pub scheme_id: String,
    /// The holder's today: the cycle that began last on or before it is the one shown.
    pub as_of: NaiveDate,
}

/// One course of a holder's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseEntry {
    pub title: String,
    /// The provider that reported it; `None` for a self-reported or staff-recorded activity.
    pub provider: Option<String>,
    pub completed_on: NaiveDate,
    /// What it claims in the holding's scheme, every category together.
    pub points: Points,
}

/// The history of each of `asked`, keyed by holding id, most recent first and at most
/// [`MAX_ENTRIES`] each. A holding with no cycle on record has an empty history.
pub async fn of_holdings(
    db: &impl ConnectionTrait,
    asked: &[Of],
) -> Result<HashMap<Uuid, Vec<CourseEntry>>, DbErr> {
    let mut found: HashMap<Uuid, Vec<CourseEntry>> =
        asked.iter().map(|a| (a.holding_id, Vec::new())).collect();
    if asked.is_empty() {
        return Ok(found);
    }
    let mut by_holding: HashMap<Uuid, Vec<cycles::Model>> = HashMap::new();
    for cycle in bulk_write::find_by_keys::<cycles::Entity>(
        db,
        &[cycles::Column::HoldingId],
        asked
            .iter()
            .map(|a| vec![Value::from(a.holding_id)])
            .collect(),
    )
    .await?
    {
        by_holding.entry(cycle.holding_id).or_default().push(cycle);
    }
    // The window of each holding: its current cycle, [starts_on, ends_on).
    let windows: Vec<(&Of, NaiveDate, NaiveDate)> = asked
        .iter()
        .filter_map(|a| {
            let mut own = by_holding.remove(&a.holding_id)?;
            own.sort_by_key(|c| c.starts_on);
            let current = own
                .iter()
                .rposition(|c| c.starts_on <= a.as_of)
                .and_then(|i| own.get(i))
                .or_else(|| own.first())?;
            Some((a, current.starts_on, current.ends_on))
        })
        .collect();
    if windows.is_empty() {
        return Ok(found);
    }
    let mut people: Vec<Uuid> = windows.iter().map(|(a, _, _)| a.professional_id).collect();
    people.sort_unstable();
    people.dedup();
    let mut credits_of: HashMap<Uuid, Vec<credits::Model>> = HashMap::new();
    for credit in bulk_write::find_by_keys::<credits::Entity>(
        db,
        &[credits::Column::ProfessionalId],
        people.iter().map(|p| vec![Value::from(*p)]).collect(),
    )
    .await?
    {
        if credit.state == CreditState::Approved {
            credits_of
                .entry(credit.professional_id)
                .or_default()
                .push(credit);
        }
    }
    let credit_ids: Vec<Vec<Value>> = credits_of
        .values()
        .flatten()
        .map(|c| vec![Value::from(c.id)])
        .collect();
    // Points per (credit, scheme).
    let mut points: HashMap<(Uuid, String), Points> = HashMap::new();
    for claim in bulk_write::find_by_keys::<credit_claims::Entity>(
        db,
        &[credit_claims::Column::CreditId],
        credit_ids,
    )
    .await?
    {
        *points
            .entry((claim.credit_id, claim.scheme_id))
            .or_insert(Points::ZERO) += Points::from_hundredths(claim.points);
    }
    let mut provider_ids: Vec<Uuid> = credits_of
        .values()
        .flatten()
        .filter_map(|c| c.provider_id)
        .collect();
    provider_ids.sort_unstable();
    provider_ids.dedup();
    let provider_names: HashMap<Uuid, String> = if provider_ids.is_empty() {
        HashMap::new()
    } else {
        providers::Entity::find()
            .filter(providers::Column::Id.is_in(provider_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect()
    };
    for (asked, starts_on, ends_on) in windows {
        let mut entries: Vec<CourseEntry> = credits_of
            .get(&asked.professional_id)
            .into_iter()
            .flatten()
            .filter(|c| c.completed_on >= starts_on && c.completed_on < ends_on)
            .filter_map(|c| {
                let points = *points.get(&(c.id, asked.scheme_id.clone()))?;
                Some(CourseEntry {
                    title: c.title.clone(),
                    provider: c.provider_id.and_then(|p| provider_names.get(&p).cloned()),
                    completed_on: c.completed_on,
                    points,
                })
            })
            .collect();
        entries.sort_by(|a, b| {
            b.completed_on
                .cmp(&a.completed_on)
                .then_with(|| a.title.cmp(&b.title))
        });
        entries.truncate(MAX_ENTRIES);
        found.insert(asked.holding_id, entries);
    }
    Ok(found)
}
