//! Standing of a holding, computed on demand from the ledger (never stored as truth).

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{NaiveDate, Utc};
use entity::credits::CreditState as StoredState;
use entity::{credit_claims, credits, cycles, holdings, professionals};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::allocation::{HoldingCycle, MultiCredit, SchemeClaim, allocate};
use crate::domain::points::Points;
use crate::domain::standing::{Claim, CreditState, CyclePeriod, Standing, StandingInput, evaluate};
use crate::services::schemes::SchemeCatalog;

#[derive(Debug, thiserror::Error)]
pub enum StandingError {
    #[error("no {scheme} holding with registration number {registration_number}")]
    UnknownHolding {
        scheme: String,
        registration_number: String,
    },
    #[error("holding {0} has no cycle on record")]
    NoCycle(Uuid),
    #[error("scheme {scheme} version {version} is not loaded")]
    UnknownVersion { scheme: String, version: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A holding's standing with the identifiers a reader needs beside it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HoldingStanding {
    pub holding_id: Uuid,
    pub registration_number: String,
    #[serde(flatten)]
    pub standing: Standing,
}

pub async fn for_registration(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    scheme: &str,
    registration_number: &str,
    as_of: Option<NaiveDate>,
) -> Result<HoldingStanding, StandingError> {
    let holding = crate::services::holdings::by_registration(db, scheme, registration_number)
        .await?
        .ok_or_else(|| StandingError::UnknownHolding {
            scheme: scheme.to_owned(),
            registration_number: registration_number.to_owned(),
        })?;
    for_holding(db, catalog, &holding, as_of).await
}

/// Today in the professional's time zone: the date that decides standing.
pub fn today_for(professional: &professionals::Model) -> NaiveDate {
    let tz: chrono_tz::Tz = professional
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Asia::Tokyo);
    Utc::now().with_timezone(&tz).date_naive()
}

/// The cycle being judged on `as_of` (the latest that has started; the first when none has)
/// and the one before it.
fn current_and_previous(
    cycles: &[cycles::Model],
    as_of: NaiveDate,
) -> Option<(&cycles::Model, Option<&cycles::Model>)> {
    let index = cycles
        .iter()
        .rposition(|c| c.starts_on <= as_of)
        .unwrap_or(0);
    let current = cycles.get(index)?;
    let previous = index.checked_sub(1).and_then(|i| cycles.get(i));
    Some((current, previous))
}

fn period(cycle: &cycles::Model) -> CyclePeriod {
    CyclePeriod {
        starts_on: cycle.starts_on,
        ends_on: cycle.ends_on,
    }
}

pub async fn for_holding(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &holdings::Model,
    as_of: Option<NaiveDate>,
) -> Result<HoldingStanding, StandingError> {
    let professional = professionals::Entity::find_by_id(holding.professional_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            DbErr::RecordNotFound(format!("professional {}", holding.professional_id))
        })?;
    let as_of = as_of.unwrap_or_else(|| today_for(&professional));

    // Every holding of the same scheme: one activity may count toward only some of them.
    let siblings = holdings::Entity::find()
        .filter(holdings::Column::ProfessionalId.eq(holding.professional_id))
        .filter(holdings::Column::SchemeId.eq(holding.scheme_id.as_str()))
        .all(db)
        .await?;
    let sibling_ids: Vec<Uuid> = siblings.iter().map(|h| h.id).collect();
    let all_cycles = cycles::Entity::find()
        .filter(cycles::Column::HoldingId.is_in(sibling_ids))
        .order_by_asc(cycles::Column::StartsOn)
        .all(db)
        .await?;
    let version_names: HashMap<Uuid, (String, String)> = entity::scheme_versions::Entity::find()
        .filter(entity::scheme_versions::Column::SchemeId.eq(holding.scheme_id.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, (v.scheme_id, v.version)))
        .collect();

    let mut holding_cycles = Vec::new();
    let mut window_start = as_of;
    let mut window_end = as_of;
    let mut judged_version = None;
    for sibling in &siblings {
        let own: Vec<cycles::Model> = all_cycles
            .iter()
            .filter(|c| c.holding_id == sibling.id)
            .cloned()
            .collect();
        let Some((current, previous)) = current_and_previous(&own, as_of) else {
            if sibling.id == holding.id {
                return Err(StandingError::NoCycle(holding.id));
            }
            continue;
        };
        let (scheme_id, version) = version_names
            .get(&current.scheme_version_id)
            .cloned()
            .ok_or_else(|| {
                DbErr::RecordNotFound(format!("scheme version {}", current.scheme_version_id))
            })?;
        if sibling.id == holding.id {
            judged_version = Some((scheme_id.clone(), version.clone()));
        }
        let start = previous.map_or(current.starts_on, |p| p.starts_on);
        window_start = window_start.min(start);
        window_end = window_end.max(current.ends_on);
        holding_cycles.push(HoldingCycle {
            holding_id: sibling.id.to_string(),
            scheme_id,
            scheme_version: version,
            cycle: period(current),
            previous_cycle: previous.map(period),
        });
    }
    let (scheme_id, version) = judged_version.ok_or(StandingError::NoCycle(holding.id))?;
    let loaded =
        catalog
            .version(&scheme_id, &version)
            .ok_or_else(|| StandingError::UnknownVersion {
                scheme: scheme_id.clone(),
                version: version.clone(),
            })?;
    let definition = &loaded.definition;

    let ledger = credits::Entity::find()
        .filter(credits::Column::ProfessionalId.eq(holding.professional_id))
        .filter(credits::Column::CompletedOn.gte(window_start))
        .filter(credits::Column::CompletedOn.lt(window_end))
        .all(db)
        .await?;
    let credit_ids: Vec<Uuid> = ledger.iter().map(|c| c.id).collect();
    // Each credit's claims in this scheme, with the activity type as this scheme names it.
    let mut claims: HashMap<Uuid, (String, Vec<Claim>)> = HashMap::new();
    for chunk in credit_ids.chunks(500) {
        for claim in credit_claims::Entity::find()
            .filter(credit_claims::Column::CreditId.is_in(chunk.to_vec()))
            .filter(credit_claims::Column::SchemeId.eq(scheme_id.as_str()))
            .all(db)
            .await?
        {
            claims
                .entry(claim.credit_id)
                .or_insert_with(|| (claim.activity_type, Vec::new()))
                .1
                .push(Claim {
                    category: claim.category,
                    points: Points::from_hundredths(claim.points),
                });
        }
    }
    let multi: Vec<MultiCredit> = ledger
        .into_iter()
        .filter_map(|credit| {
            // A credit with no points for this scheme still matters when its own activity type
            // (the one it was recorded with) fills one of the scheme's slots.
            let (activity_type, own) = match claims.remove(&credit.id) {
                Some(found) => found,
                None => {
                    let fills_slot = definition
                        .slots
                        .iter()
                        .any(|slot| slot.activity_types.contains(&credit.activity_type));
                    if !fills_slot {
                        return None;
                    }
                    (credit.activity_type, Vec::new())
                }
            };
            Some(MultiCredit {
                id: credit.id.to_string(),
                completed_on: credit.completed_on,
                state: domain_state(credit.state),
                schemes: vec![SchemeClaim {
                    scheme_id: scheme_id.clone(),
                    activity_type,
                    claims: own,
                }],
            })
        })
        .collect();

    let definitions: Vec<_> = holding_cycles
        .iter()
        .filter_map(|h| catalog.version(&h.scheme_id, &h.scheme_version))
        .map(|l| l.definition.clone())
        .collect();
    let mut allocated = allocate(&holding_cycles, &multi, &definitions);
    let entries = allocated
        .remove(&holding.id.to_string())
        .unwrap_or_default();
    let judged = holding_cycles
        .iter()
        .find(|h| h.holding_id == holding.id.to_string())
        .ok_or(StandingError::NoCycle(holding.id))?;
    let standing = evaluate(&StandingInput {
        scheme: definition,
        cycle: judged.cycle,
        previous_cycle: judged.previous_cycle,
        credits: &entries,
        as_of,
    });
    Ok(HoldingStanding {
        holding_id: holding.id,
        registration_number: holding.registration_number.clone(),
        standing,
    })
}

fn domain_state(state: StoredState) -> CreditState {
    match state {
        StoredState::Pending => CreditState::Pending,
        StoredState::Approved => CreditState::Approved,
        StoredState::Rejected => CreditState::Rejected,
        StoredState::Voided => CreditState::Voided,
    }
}

/// A plain-text report for the terminal. Every date is a day as people read it: the cycle
/// runs from its first day through its expiry date.
pub fn render_text(h: &HoldingStanding) -> String {
    let s = &h.standing;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} (rules {})",
        s.scheme_id, h.registration_number, s.scheme_version
    );
    let _ = writeln!(out, "state:     {}", s.state);
    for reason in &s.reasons {
        let _ = writeln!(
            out,
            "  because {}: {} / {}",
            reason.code, reason.en, reason.ja
        );
    }
    let _ = writeln!(out, "as of:     {}", s.as_of);
    let _ = writeln!(
        out,
        "cycle:     {} – {} (expires on {})",
        s.starts_on, s.expires_on, s.expires_on
    );
    let _ = writeln!(
        out,
        "deadline:  {} ({} days)",
        s.deadline, s.days_to_deadline
    );
    if s.grace_until > s.expires_on {
        let _ = writeln!(out, "grace:     until {}", s.grace_until);
    }
    if s.required > Points::ZERO {
        let _ = writeln!(
            out,
            "points:    {} of {} (carried in {}, pending {})",
            s.counted, s.required, s.carried_in, s.pending
        );
        for c in &s.by_category {
            let _ = writeln!(out, "  {:<24} {:>8}", c.category, c.counted.to_string());
        }
        for y in &s.by_year {
            let met = match y.met {
                Some(true) => "met",
                Some(false) => "not met",
                None => "",
            };
            let _ = writeln!(
                out,
                "  year {} {} – {} {:>8} {}",
                y.year,
                y.starts_on,
                y.last_day,
                y.counted.to_string(),
                met
            );
        }
    }
    for slot in &s.slots {
        let mark = if slot.satisfied { "done" } else { "open" };
        let year = slot.year.map(|y| format!(" year {y}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  slot {}{}: {} (due {})",
            slot.slot, year, mark, slot.due_by
        );
    }
    if !s.ignored.is_empty() {
        let _ = writeln!(
            out,
            "ignored:   {} claim(s) that do not count",
            s.ignored.len()
        );
        for i in &s.ignored {
            let category = i
                .category
                .as_deref()
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  credit {} {}{}: {}",
                i.credit_id,
                i.activity_type,
                category,
                i.reason.describe()
            );
        }
    }
    out
}
