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
use crate::services::consents::{self, Audience, Consents};
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
/// disclosed to `client_id`. A few statements however many lookups: while the projection is
/// current, one per scheme asked about reads the verdicts with the holders' consents and
/// consented names; employers and course history cost one more each, only when some holder
/// asked about consented to them.
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
    let seen = seen(replica, primary, catalog, &unique).await?;

    // Employers and course history only of active holders, and only of those who consented.
    let active: Vec<&Seen> = seen
        .values()
        .filter(|s| s.verdict.status == HoldingStatus::Active)
        .collect();
    let mut employed: Vec<Uuid> = active
        .iter()
        .filter(|s| s.consents.employer)
        .map(|s| s.verdict.professional_id)
        .collect();
    employed.sort_unstable();
    employed.dedup();
    let employers = employers_of(replica, &employed).await?;
    let histories = if ask.course_history {
        let shown: Vec<course_history::Of> = active
            .iter()
            .filter(|s| s.consents.course_history)
            .map(|s| course_history::Of {
                holding_id: s.verdict.holding_id,
                professional_id: s.verdict.professional_id,
                scheme_id: s.verdict.scheme.clone(),
                as_of: s.verdict.judged_on,
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
        let found = seen
            .get(&(scheme.clone(), registration_number.clone()))
            .map(|s| {
                let v = &s.verdict;
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
                let name = s.name.clone();
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

/// A holding's verdict as a procurement read finds it, with what its holder lets buyers see.
struct Seen {
    verdict: Verdict,
    consents: Consents,
    /// The holder's legal name, only when they consented to show it.
    name: Option<String>,
}

/// The current verdicts of the holdings named by `keys` (normalised), each with its holder's
/// procurement consents and consented name. While the projection is current, that is one
/// statement per scheme asked about ([`read_seen`]); rows out of date and keys without a row
/// are judged again through [`standing_projection::settle`], and their holders' consents and
/// names read after.
async fn seen(
    replica: &impl ConnectionTrait,
    primary: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    keys: &[(String, String)],
) -> Result<HashMap<(String, String), Seen>, DbErr> {
    let now = Utc::now();
    let mut seen = HashMap::new();
    let mut stale = HashMap::new();
    for (key, (found, recheck_at)) in read_seen(replica, keys).await? {
        if recheck_at > now {
            seen.insert(key, found);
        } else {
            stale.insert(key, (found.verdict, recheck_at));
        }
    }
    let again: Vec<(String, String)> = keys
        .iter()
        .filter(|k| !seen.contains_key(*k))
        .cloned()
        .collect();
    if again.is_empty() {
        return Ok(seen);
    }
    let verdicts = standing_projection::settle(replica, primary, catalog, &again, stale).await?;
    let mut people: Vec<Uuid> = verdicts.values().map(|v| v.professional_id).collect();
    people.sort_unstable();
    people.dedup();
    let (consented, names) = consents_and_names(replica, &people).await?;
    for (key, verdict) in verdicts {
        let person = verdict.professional_id;
        seen.insert(
            key,
            Seen {
                consents: consented.get(&person).copied().unwrap_or_default(),
                name: names.get(&person).cloned(),
                verdict,
            },
        );
    }
    Ok(seen)
}

/// The projection rows of `keys`, each with its `recheck_at`, joined to their holders'
/// procurement consents and, where the holder consented to it, their legal name: one
/// statement per scheme asked about (per 10,000 numbers).
async fn read_seen(
    conn: &impl ConnectionTrait,
    keys: &[(String, String)],
) -> Result<HashMap<(String, String), (Seen, DateTime<Utc>)>, DbErr> {
    use entity::consents as choice;
    use entity::standing_projection as projection;
    use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
    use sea_orm::{Condition, FromQueryResult, Iterable};

    let backend = conn.get_database_backend();
    let mut by_scheme: HashMap<&str, Vec<Value>> = HashMap::new();
    for (scheme, number) in keys {
        by_scheme
            .entry(scheme.as_str())
            .or_default()
            .push(Value::from(number.clone()));
    }
    let mut seen = HashMap::new();
    for (scheme, numbers) in by_scheme {
        for chunk in numbers.chunks(10_000) {
            let mut query = Query::select();
            query
                .columns(projection::Column::iter().map(|c| (projection::Entity, c)))
                .columns([
                    (choice::Entity, choice::Column::Name),
                    (choice::Entity, choice::Column::Employer),
                    (choice::Entity, choice::Column::CourseHistory),
                ])
                .column((professionals::Entity, professionals::Column::LegalName))
                .from(projection::Entity)
                .join(
                    JoinType::LeftJoin,
                    choice::Entity,
                    Condition::all()
                        .add(
                            Expr::col((choice::Entity, choice::Column::ProfessionalId))
                                .equals((projection::Entity, projection::Column::ProfessionalId)),
                        )
                        .add(
                            Expr::col((choice::Entity, choice::Column::Audience))
                                .eq(Audience::Procurement.as_str()),
                        ),
                )
                .join(
                    JoinType::LeftJoin,
                    professionals::Entity,
                    Condition::all()
                        .add(
                            Expr::col((professionals::Entity, professionals::Column::Id))
                                .equals((projection::Entity, projection::Column::ProfessionalId)),
                        )
                        .add(Expr::col((choice::Entity, choice::Column::Name)).eq(true)),
                )
                .and_where(Expr::col((projection::Entity, projection::Column::SchemeId)).eq(scheme))
                .and_where(bulk_write::is_one_of(
                    backend,
                    projection::Column::RegistrationNumber,
                    chunk,
                )?);
            for row in conn.query_all_raw(backend.build(&query)).await? {
                let found = projection::Model::from_query_result(&row, "")?;
                let recheck_at = found.recheck_at;
                let flag = |column: &str| -> Result<bool, DbErr> {
                    Ok(row.try_get::<Option<bool>>("", column)?.unwrap_or(false))
                };
                let consents = Consents {
                    name: flag("name")?,
                    employer: flag("employer")?,
                    course_history: flag("course_history")?,
                };
                let name = row
                    .try_get::<Option<String>>("", "legal_name")?
                    .filter(|_| consents.name);
                seen.insert(
                    (found.scheme_id.clone(), found.registration_number.clone()),
                    (
                        Seen {
                            verdict: Verdict::from(found),
                            consents,
                            name,
                        },
                        recheck_at,
                    ),
                );
            }
        }
    }
    Ok(seen)
}

/// The procurement consents of `people`, and the legal names of those who consented to show
/// theirs.
pub(crate) async fn consents_and_names(
    replica: &impl ConnectionTrait,
    people: &[Uuid],
) -> Result<(HashMap<Uuid, Consents>, HashMap<Uuid, String>), DbErr> {
    let consented = consents::of_many(replica, people, Audience::Procurement).await?;
    let named: Vec<Uuid> = people
        .iter()
        .copied()
        .filter(|p| consented.get(p).is_some_and(|c| c.name))
        .collect();
    let names = names_of(replica, &named).await?;
    Ok((consented, names))
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
