//! What a procurement system may learn about holdings, one or a thousand at a time.
//!
//! Always disclosed for an active holding: scheme, registration number, status, standing
//! state, last valid day and level. Name, employer and course history only where the holder
//! consented ([`Audience::Procurement`]); course history only when the buyer also asks for it
//! ([`Ask::course_history`]), since it is read from the ledger rather than the projection. A holding that is not active (suspended, lapsed, revoked)
//! answers its status and nothing more; an unknown number answers "not found" and nothing
//! more. Verdicts come from the standing projection, and every answer about a holding is
//! written to the disclosure log, with the fields it carried, before it is returned (through
//! the log's group commit, [`disclosures::DisclosureLog`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{memberships, organisations, professionals};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Value};
use uuid::Uuid;

use crate::domain::levels::Level;
use crate::domain::scheme::normalise_scheme_id;
use crate::domain::standing::StandingState;
use crate::services::bulk_write;
use crate::services::consents::{self, Audience};
use crate::services::course_history::{self, CourseEntry};
use crate::services::disclosures;
use crate::services::holdings::HoldingStatus;
use crate::services::schemes::SchemeCatalog;
use crate::services::standing_projection::{self, Verdict};

/// Most pairs one batch verify may ask about.
pub const MAX_BATCH: usize = 1_000;

/// One (scheme, registration number) as the buyer asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub scheme: String,
    pub registration_number: String,
}

/// What a buyer is told about one holding it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// As asked (the scheme id normalised).
    pub scheme: String,
    pub registration_number: String,
    pub answered_at: DateTime<Utc>,
    /// `None`: no such holding; nothing else is said.
    pub found: Option<Disclosed>,
}

/// The disclosed facts of a holding that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosed {
    pub holding_id: Uuid,
    pub status: HoldingStatus,
    /// Active, with a cycle on record, and not lapsed.
    pub in_good_standing: bool,
    /// Only for an active holding; `None` also when it has no cycle to judge.
    pub state: Option<StandingState>,
    pub valid_until: Option<NaiveDate>,
    pub level: Option<Level>,
    /// Only with the holder's consent.
    pub name: Option<String>,
    /// The organisations whose membership the holder confirmed; only with consent.
    pub employers: Option<Vec<String>>,
    /// Whether the holding is at the asked-for minimum level or above (when one was asked).
    pub meets_min_level: Option<bool>,
    /// The credits of the cycle being judged; only with consent, and only when asked for.
    pub course_history: Option<Vec<CourseEntry>>,
    /// The field names this answer carried, as the disclosure log records them.
    pub fields: Vec<&'static str>,
}

/// What a buyer asks for beyond the lookups themselves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ask<'a> {
    /// Answer, per holding, whether it is at this level or above.
    pub min_level: Option<&'a Level>,
    /// Include the course history of holders who consented to show it.
    pub course_history: bool,
}

/// Answers every lookup, in the order asked, and logs each answer about a holding as
/// disclosed to `client_id`. A few statements however many lookups.
///
/// Holdings, the projection, consents, names, employers and course history are read from
/// `replica` (a read replica, or the primary itself); what is written goes to `primary`: the
/// disclosure log (through `disclosure_log`) and any projection row judged again
/// ([`standing_projection::current_from`]).
pub async fn verify(
    replica: &impl ConnectionTrait,
    primary: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    disclosure_log: &disclosures::DisclosureLog,
    client_id: &str,
    lookups: &[Lookup],
    ask: Ask<'_>,
) -> Result<Vec<Answer>, DbErr> {
    let min_level = ask.min_level;
    let keys: Vec<(String, String)> = lookups
        .iter()
        .map(|l| {
            (
                normalise_scheme_id(&l.scheme),
                l.registration_number.clone(),
            )
        })
        .collect();
    // A key no holding could have (a NUL, which PostgreSQL text cannot hold) is not looked up.
    let mut unique: Vec<(String, String)> = keys
        .iter()
        .filter(|(s, n)| !s.contains('\0') && !n.contains('\0'))
        .cloned()
        .collect();
    unique.sort_unstable();
    unique.dedup();
    let verdicts = standing_projection::current_from(replica, primary, catalog, &unique).await?;

    // Personal details only of active holders, and only of those who consented.
    let active: Vec<&Verdict> = verdicts
        .values()
        .filter(|v| v.status == HoldingStatus::Active)
        .collect();
    let mut people: Vec<Uuid> = active.iter().map(|v| v.professional_id).collect();
    people.sort_unstable();
    people.dedup();
    let consented = consents::of_many(replica, &people, Audience::Procurement).await?;
    let named: Vec<Uuid> = people
        .iter()
        .copied()
        .filter(|p| consented.get(p).is_some_and(|c| c.name))
        .collect();
    let employed: Vec<Uuid> = people
        .iter()
        .copied()
        .filter(|p| consented.get(p).is_some_and(|c| c.employer))
        .collect();
    let names = names_of(replica, &named).await?;
    let employers = employers_of(replica, &employed).await?;
    let histories = if ask.course_history {
        let shown: Vec<course_history::Of> = active
            .iter()
            .filter(|v| {
                consented
                    .get(&v.professional_id)
                    .is_some_and(|c| c.course_history)
            })
            .map(|v| course_history::Of {
                holding_id: v.holding_id,
                professional_id: v.professional_id,
                scheme_id: v.scheme.clone(),
                as_of: v.judged_on,
            })
            .collect();
        course_history::of_holdings(replica, &shown).await?
    } else {
        HashMap::new()
    };

    let ladder = catalog.ladder();
    let answered_at = Utc::now();
    let mut answers = Vec::with_capacity(keys.len());
    let mut logged: HashSet<Uuid> = HashSet::new();
    let mut log: Vec<(Uuid, Vec<&'static str>)> = Vec::new();
    for (scheme, registration_number) in keys {
        let found = verdicts
            .get(&(scheme.clone(), registration_number.clone()))
            .map(|v| {
                let mut fields = vec!["scheme", "registration_number", "status"];
                if v.status != HoldingStatus::Active {
                    return Disclosed {
                        holding_id: v.holding_id,
                        status: v.status,
                        in_good_standing: false,
                        state: None,
                        valid_until: None,
                        level: None,
                        name: None,
                        employers: None,
                        meets_min_level: None,
                        course_history: None,
                        fields,
                    };
                }
                fields.extend(["standing", "valid_until", "level"]);
                let name = names.get(&v.professional_id).cloned();
                if name.is_some() {
                    fields.push("name");
                }
                let employers = employed.contains(&v.professional_id).then(|| {
                    employers
                        .get(&v.professional_id)
                        .cloned()
                        .unwrap_or_default()
                });
                if employers.is_some() {
                    fields.push("employer");
                }
                let course_history = histories.get(&v.holding_id).cloned();
                if course_history.is_some() {
                    fields.push("course_history");
                }
                Disclosed {
                    holding_id: v.holding_id,
                    status: v.status,
                    in_good_standing: v.in_good_standing(),
                    state: v.state,
                    valid_until: v.valid_until,
                    level: ladder.level_of(&v.scheme).cloned(),
                    name,
                    employers,
                    meets_min_level: min_level.map(|m| ladder.meets(&v.scheme, m)),
                    course_history,
                    fields,
                }
            });
        if let Some(d) = &found
            && logged.insert(d.holding_id)
        {
            log.push((d.holding_id, d.fields.clone()));
        }
        answers.push(Answer {
            scheme,
            registration_number,
            answered_at,
            found,
        });
    }
    let entries: Vec<(Uuid, &[&str])> = log.iter().map(|(h, f)| (*h, f.as_slice())).collect();
    disclosure_log.record_many(client_id, &entries).await?;
    Ok(answers)
}

/// Legal names of `people`.
pub(crate) async fn names_of(
    db: &impl ConnectionTrait,
    people: &[Uuid],
) -> Result<HashMap<Uuid, String>, DbErr> {
    Ok(bulk_write::find_by_keys::<professionals::Entity>(
        db,
        &[professionals::Column::Id],
        people.iter().map(|id| vec![Value::from(*id)]).collect(),
    )
    .await?
    .into_iter()
    .map(|p| (p.id, p.legal_name))
    .collect())
}

/// The names of the organisations each of `people` confirmed membership of, sorted.
pub(crate) async fn employers_of(
    db: &impl ConnectionTrait,
    people: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, DbErr> {
    let mut found: HashMap<Uuid, Vec<String>> = HashMap::new();
    if people.is_empty() {
        return Ok(found);
    }
    let confirmed: Vec<memberships::Model> = bulk_write::find_by_keys::<memberships::Entity>(
        db,
        &[memberships::Column::ProfessionalId],
        people.iter().map(|id| vec![Value::from(*id)]).collect(),
    )
    .await?
    .into_iter()
    .filter(|m| m.confirmed_by_professional_at.is_some())
    .collect();
    if confirmed.is_empty() {
        return Ok(found);
    }
    let mut org_ids: Vec<Uuid> = confirmed.iter().map(|m| m.organisation_id).collect();
    org_ids.sort_unstable();
    org_ids.dedup();
    let names: HashMap<Uuid, String> = organisations::Entity::find()
        .filter(organisations::Column::Id.is_in(org_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    for m in confirmed {
        if let Some(name) = names.get(&m.organisation_id) {
            found
                .entry(m.professional_id)
                .or_default()
                .push(name.clone());
        }
    }
    for list in found.values_mut() {
        list.sort();
    }
    Ok(found)
}
