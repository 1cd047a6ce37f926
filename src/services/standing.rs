//! Standing of a holding, computed on demand from the ledger (never stored as truth).

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{NaiveDate, Utc};
use entity::credits::CreditState as StoredState;
use entity::{credits, holdings, professionals};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::allocation::{HoldingCycle, MultiCredit, SchemeClaim, allocate};
use crate::domain::dashboard::{self, CreditFacts, CreditSource, Dashboard};
use crate::domain::points::Points;
use crate::domain::scheme::SchemeDefinition;
use crate::domain::standing::{Claim, CreditState, CyclePeriod, Standing, StandingInput, evaluate};
use crate::services::schemes::SchemeCatalog;

mod load;

pub use load::People;
use load::{keyed, select};

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

/// What [`LedgerSlice::placement_inputs`] hands to [`crate::domain::self_report::place`].
#[derive(Debug, Default)]
pub struct PlacementInputs<'c> {
    pub holdings: Vec<HoldingCycle>,
    pub without_cycle: Vec<(String, String)>,
    pub credits: Vec<MultiCredit>,
    pub schemes: Vec<&'c SchemeDefinition>,
}

/// A holding's standing with the identifiers a reader needs beside it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HoldingStanding {
    pub holding_id: Uuid,
    pub registration_number: String,
    #[serde(flatten)]
    pub standing: Standing,
}

/// A holding's standing with what the professional's dashboard shows beside it: names in
/// both languages, the points over the cycle and the recent credits.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HoldingDashboard {
    #[serde(flatten)]
    pub holding: HoldingStanding,
    #[serde(flatten)]
    pub dashboard: Dashboard,
}

/// The dashboard of one holding today, in its professional's time zone.
pub async fn dashboard_for_holding(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &holdings::Model,
) -> Result<HoldingDashboard, StandingError> {
    let professional = professionals::Entity::find_by_id(holding.professional_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            DbErr::RecordNotFound(format!("professional {}", holding.professional_id))
        })?;
    let as_of = today_for(&professional);
    let slice = LedgerSlice::load(db, &[holding.professional_id]).await?;
    slice.dashboard(db, catalog, holding, as_of).await
}

/// Every holding of a professional (by scheme, then registration number) with its dashboard
/// today; `None` where no standing can be computed (no cycle on record, say).
pub async fn dashboards_of(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    professional: &professionals::Model,
) -> Result<Vec<(holdings::Model, Option<HoldingDashboard>)>, DbErr> {
    let as_of = today_for(professional);
    let slice = LedgerSlice::load(db, &[professional.id]).await?;
    let mut out = Vec::new();
    for holding in slice.holdings_of(professional.id) {
        let found = match slice.dashboard(db, catalog, holding, as_of).await {
            Ok(found) => Some(found),
            Err(StandingError::Db(e)) => return Err(e),
            Err(_) => None,
        };
        out.push((holding.clone(), found));
    }
    Ok(out)
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
    cycles: &[LedgerCycle],
    as_of: NaiveDate,
) -> Option<(&LedgerCycle, Option<&LedgerCycle>)> {
    let index = cycles
        .iter()
        .rposition(|c| c.starts_on <= as_of)
        .unwrap_or(0);
    let current = cycles.get(index)?;
    let previous = index.checked_sub(1).and_then(|i| cycles.get(i));
    Some((current, previous))
}

fn period(cycle: &LedgerCycle) -> CyclePeriod {
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
    let slice = LedgerSlice::load(db, &[holding.professional_id]).await?;
    slice.judge(catalog, holding, as_of)
}

/// What the ledger holds for some professionals: their holdings, cycles, credits and claims,
/// read with a few statements for all of them, so that each holding is then judged without
/// another query. The reminder sweep loads one per page of people; a single lookup loads one
/// for one person.
#[derive(Debug, Default)]
pub struct LedgerSlice {
    /// Every holding of each professional, whatever its status.
    holdings: HashMap<Uuid, Vec<holdings::Model>>,
    /// Each holding's cycles, oldest first.
    cycles: HashMap<Uuid, Vec<LedgerCycle>>,
    /// (scheme, version) of each recorded scheme version.
    versions: HashMap<Uuid, (String, String)>,
    /// Each professional's credits.
    credits: HashMap<Uuid, Vec<LedgerCredit>>,
    /// Each credit's claims, in every scheme.
    claims: HashMap<Uuid, Vec<LedgerClaim>>,
}

// What the engine reads of cycles, credits and claims: only these columns are fetched, since
// each value a row carries is copied and allocated on its way from the database.

#[derive(Debug, Clone, FromQueryResult)]
struct LedgerCycle {
    holding_id: Uuid,
    scheme_version_id: Uuid,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
}

#[derive(Debug, Clone)]
struct LedgerCredit {
    id: Uuid,
    activity_type: String,
    completed_on: NaiveDate,
    state: StoredState,
}

/// What the dashboard lists of a credit, read only for the credits a standing names.
#[derive(Debug, Clone, FromQueryResult)]
struct CreditListing {
    id: Uuid,
    title: String,
    completed_on: NaiveDate,
    source: entity::credits::CreditSource,
    state: StoredState,
}

#[derive(Debug, Clone)]
struct LedgerClaim {
    scheme_id: String,
    activity_type: String,
    category: String,
    points: i64,
}

impl LedgerSlice {
    /// The holdings of a professional, by scheme then registration number.
    pub fn holdings_of(&self, professional: Uuid) -> Vec<&holdings::Model> {
        let mut held: Vec<&holdings::Model> = self
            .holdings
            .get(&professional)
            .map(|h| h.iter().collect())
            .unwrap_or_default();
        held.sort_by(|a, b| {
            (&a.scheme_id, &a.registration_number).cmp(&(&b.scheme_id, &b.registration_number))
        });
        held
    }

    /// What the placement of a new activity reads for `professional` on `as_of`: each holding
    /// with the cycle judged then (and those without a cycle, as `(holding id, scheme)`), every
    /// credit with its claims per scheme as standing reads them, and the rule versions of those
    /// cycles.
    pub fn placement_inputs<'c>(
        &self,
        catalog: &'c SchemeCatalog,
        professional: Uuid,
        as_of: NaiveDate,
    ) -> Result<PlacementInputs<'c>, StandingError> {
        let mut inputs = PlacementInputs::default();
        for holding in self.holdings_of(professional) {
            let own = self.cycles.get(&holding.id).map_or(&[][..], Vec::as_slice);
            let Some((current, previous)) = current_and_previous(own, as_of) else {
                inputs
                    .without_cycle
                    .push((holding.id.to_string(), holding.scheme_id.clone()));
                continue;
            };
            let (scheme_id, version) = self
                .versions
                .get(&current.scheme_version_id)
                .cloned()
                .ok_or_else(|| {
                    DbErr::RecordNotFound(format!("scheme version {}", current.scheme_version_id))
                })?;
            let loaded = catalog.version(&scheme_id, &version).ok_or_else(|| {
                StandingError::UnknownVersion {
                    scheme: scheme_id.clone(),
                    version: version.clone(),
                }
            })?;
            if !inputs
                .schemes
                .iter()
                .any(|s| s.id == scheme_id && s.version == version)
            {
                inputs.schemes.push(&loaded.definition);
            }
            inputs.holdings.push(HoldingCycle {
                holding_id: holding.id.to_string(),
                scheme_id,
                scheme_version: version,
                cycle: period(current),
                previous_cycle: previous.map(period),
            });
        }
        for credit in self.credits.get(&professional).into_iter().flatten() {
            let mut schemes: Vec<SchemeClaim> = Vec::new();
            for claim in self.claims.get(&credit.id).into_iter().flatten() {
                let point = Claim {
                    category: claim.category.clone(),
                    points: Points::from_hundredths(claim.points),
                };
                match schemes.iter_mut().find(|s| s.scheme_id == claim.scheme_id) {
                    Some(existing) => existing.claims.push(point),
                    None => schemes.push(SchemeClaim {
                        scheme_id: claim.scheme_id.clone(),
                        activity_type: claim.activity_type.clone(),
                        claims: vec![point],
                    }),
                }
            }
            // A scheme the credit claims no points in still sees it when its own activity
            // type fills one of that scheme's slots.
            for scheme in &inputs.schemes {
                let fills_slot = scheme
                    .slots
                    .iter()
                    .any(|slot| slot.activity_types.contains(&credit.activity_type));
                if fills_slot && !schemes.iter().any(|s| s.scheme_id == scheme.id) {
                    schemes.push(SchemeClaim {
                        scheme_id: scheme.id.clone(),
                        activity_type: credit.activity_type.clone(),
                        claims: Vec::new(),
                    });
                }
            }
            inputs.credits.push(MultiCredit {
                id: credit.id.to_string(),
                completed_on: credit.completed_on,
                state: domain_state(credit.state),
                schemes,
            });
        }
        Ok(inputs)
    }

    /// The standing of `holding` on `as_of`, from what this slice holds of its professional.
    pub fn judge(
        &self,
        catalog: &SchemeCatalog,
        holding: &holdings::Model,
        as_of: NaiveDate,
    ) -> Result<HoldingStanding, StandingError> {
        // Every holding of the same scheme: one activity may count toward only some of them.
        let siblings = self
            .holdings
            .get(&holding.professional_id)
            .into_iter()
            .flatten()
            .filter(|h| h.scheme_id == holding.scheme_id);
        let mut holding_cycles = Vec::new();
        let mut window_start = as_of;
        let mut window_end = as_of;
        let mut judged_version = None;
        for sibling in siblings {
            let own = self.cycles.get(&sibling.id).map_or(&[][..], Vec::as_slice);
            let Some((current, previous)) = current_and_previous(own, as_of) else {
                if sibling.id == holding.id {
                    return Err(StandingError::NoCycle(holding.id));
                }
                continue;
            };
            let (scheme_id, version) = self
                .versions
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

        let ledger = self
            .credits
            .get(&holding.professional_id)
            .into_iter()
            .flatten()
            .filter(|c| c.completed_on >= window_start && c.completed_on < window_end);
        let multi: Vec<MultiCredit> = ledger
            .filter_map(|credit| {
                // Each credit's claims in this scheme, with the activity type as this scheme
                // names it.
                let mut own = self
                    .claims
                    .get(&credit.id)
                    .into_iter()
                    .flatten()
                    .filter(|c| c.scheme_id == scheme_id)
                    .peekable();
                let activity_type = match own.peek() {
                    Some(first) => first.activity_type.clone(),
                    None => {
                        // A credit with no points for this scheme still matters when its own
                        // activity type (the one it was recorded with) fills one of the
                        // scheme's slots.
                        let fills_slot = definition
                            .slots
                            .iter()
                            .any(|slot| slot.activity_types.contains(&credit.activity_type));
                        if !fills_slot {
                            return None;
                        }
                        credit.activity_type.clone()
                    }
                };
                let claims = own
                    .map(|claim| Claim {
                        category: claim.category.clone(),
                        points: Points::from_hundredths(claim.points),
                    })
                    .collect();
                Some(MultiCredit {
                    id: credit.id.to_string(),
                    completed_on: credit.completed_on,
                    state: domain_state(credit.state),
                    schemes: vec![SchemeClaim {
                        scheme_id: scheme_id.clone(),
                        activity_type,
                        claims,
                    }],
                })
            })
            .collect();

        let definitions: Vec<&SchemeDefinition> = holding_cycles
            .iter()
            .filter_map(|h| catalog.version(&h.scheme_id, &h.scheme_version))
            .map(|l| &l.definition)
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
}

impl LedgerSlice {
    /// The standing of `holding` on `as_of` with the dashboard's view of it. Reads the titles
    /// and sources of the credits the standing names (one lookup).
    pub async fn dashboard(
        &self,
        db: &impl ConnectionTrait,
        catalog: &SchemeCatalog,
        holding: &holdings::Model,
        as_of: NaiveDate,
    ) -> Result<HoldingDashboard, StandingError> {
        let judged = self.judge(catalog, holding, as_of)?;
        let s = &judged.standing;
        let loaded = catalog
            .version(&s.scheme_id, &s.scheme_version)
            .ok_or_else(|| StandingError::UnknownVersion {
                scheme: s.scheme_id.clone(),
                version: s.scheme_version.clone(),
            })?;
        // The credits the standing names, and the pending ones that claim points here.
        let mut named: Vec<Uuid> = s
            .counted_claims
            .iter()
            .map(|c| c.credit_id.as_str())
            .chain(s.slots.iter().filter_map(|slot| slot.filled_by.as_deref()))
            .chain(s.ignored.iter().map(|i| i.credit_id.as_str()))
            .filter_map(|id| id.parse().ok())
            .collect();
        let claimed_here = |credit: Uuid| -> Points {
            self.claims
                .get(&credit)
                .into_iter()
                .flatten()
                .filter(|c| c.scheme_id == s.scheme_id)
                .map(|c| Points::from_hundredths(c.points))
                .sum()
        };
        named.extend(
            self.credits
                .get(&holding.professional_id)
                .into_iter()
                .flatten()
                .filter(|c| {
                    c.state == StoredState::Pending
                        && c.completed_on >= s.starts_on
                        && c.completed_on <= s.expires_on
                        && claimed_here(c.id).is_positive()
                })
                .map(|c| c.id),
        );
        named.sort_unstable();
        named.dedup();
        let mut rows = Vec::new();
        for condition in keyed(db.get_database_backend(), credits::Column::Id, &named)? {
            rows.extend(
                select::<credits::Entity, CreditListing>(
                    db,
                    &[
                        credits::Column::Id,
                        credits::Column::Title,
                        credits::Column::CompletedOn,
                        credits::Column::Source,
                        credits::Column::State,
                    ],
                    condition,
                )
                .await?,
            );
        }
        let facts: Vec<CreditFacts> = rows
            .into_iter()
            .map(|row| CreditFacts {
                id: row.id.to_string(),
                title: row.title,
                completed_on: row.completed_on,
                source: match row.source {
                    entity::credits::CreditSource::Provider => CreditSource::Provider,
                    entity::credits::CreditSource::SelfReported => CreditSource::SelfReported,
                    entity::credits::CreditSource::Admin => CreditSource::Admin,
                },
                state: domain_state(row.state),
                claimed: claimed_here(row.id),
            })
            .collect();
        let view = dashboard::dashboard(&loaded.definition, s, &facts);
        Ok(HoldingDashboard {
            holding: judged,
            dashboard: view,
        })
    }
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
