//! The credit ledger. Entries are never edited or deleted: a correction voids an entry (with a
//! reason) and records a new one that names the entry it replaces.

use chrono::{NaiveDate, Utc};
use entity::credits::{CreditSource, CreditState};
use entity::{credit_claims, credits, cycles, holdings};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, Set,
};
use uuid::Uuid;

use crate::domain::points::Points;
use crate::domain::scheme::{Unplaceable, normalise_scheme_id};
use crate::services::audit::{self, Actor, Event};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing_projection;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("no {scheme} holding with registration number {registration_number}")]
    UnknownHolding {
        scheme: String,
        registration_number: String,
    },
    #[error("credit {0} not found")]
    UnknownCredit(Uuid),
    #[error("credit {id} is {state} and cannot be voided")]
    NotVoidable { id: Uuid, state: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> LedgerError {
    LedgerError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Points one activity claims toward one scheme's category, classified in that scheme's own
/// words: one course may be `education`/`group_a` for CISSP and `training`/`cpe` for CISA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimSpec {
    pub scheme: String,
    /// The activity type as this scheme names it; `None`: the credit's own activity type.
    pub activity_type: Option<String>,
    pub category: String,
    pub points: Points,
}

impl ClaimSpec {
    /// Reads one claim as written on the command line:
    ///
    /// * `scheme:activity_type:category=points`, e.g. `cisa:training:cpe=8`;
    /// * `scheme:category=points`, with the credit's own activity type;
    /// * `category=points`, for `default_scheme` (the holding's) and the credit's activity type.
    pub fn parse(text: &str, default_scheme: &str) -> Result<Self, LedgerError> {
        let shape = "is not [scheme:[activity_type:]]category=points";
        let (target, points) = text
            .split_once('=')
            .ok_or_else(|| invalid("claim", format!("'{text}' {shape}")))?;
        let parts: Vec<&str> = target.split(':').map(str::trim).collect();
        let (scheme, activity_type, category) = match parts.as_slice() {
            [category] => (default_scheme, None, *category),
            [scheme, category] => (*scheme, None, *category),
            [scheme, activity_type, category] => (*scheme, Some(*activity_type), *category),
            _ => return Err(invalid("claim", format!("'{text}' {shape}"))),
        };
        if scheme.is_empty() || category.is_empty() || activity_type.is_some_and(str::is_empty) {
            return Err(invalid("claim", format!("'{text}' {shape}")));
        }
        let points: Points = points
            .trim()
            .parse()
            .map_err(|e| invalid("points", format!("'{}': {e}", points.trim())))?;
        Ok(Self {
            scheme: scheme.to_ascii_lowercase(),
            activity_type: activity_type.map(str::to_owned),
            category: category.to_owned(),
            points,
        })
    }
}

/// A credit recorded by the certification body's staff; it is approved on entry.
#[derive(Debug, Clone)]
pub struct StaffCredit {
    /// Scheme of the holding that identifies the professional.
    pub scheme: String,
    pub registration_number: String,
    /// The activity type in the holding's scheme. `None`: the one its claims for that scheme
    /// name. It is what fills that scheme's slots (RISS courses need no points).
    pub activity_type: Option<String>,
    pub title: String,
    pub completed_on: NaiveDate,
    pub hours: Points,
    pub claims: Vec<ClaimSpec>,
    pub recorded_by: String,
}

/// Longest single activity we accept, in hours: a guard against typos, not a scheme rule.
const MAX_HOURS: i64 = 1_000;

pub async fn record_staff_credit(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    input: StaffCredit,
) -> Result<credits::Model, LedgerError> {
    record(db, catalog, input, None).await
}

/// The ledger's correction: voids `id` (with `reason`) and records `input` in its place,
/// naming the entry it replaces, in one transaction. Both must be the same professional's.
pub async fn correct_staff_credit(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    id: Uuid,
    reason: &str,
    input: StaffCredit,
) -> Result<credits::Model, LedgerError> {
    record(db, catalog, input, Some((id, reason))).await
}

async fn record(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    mut input: StaffCredit,
    corrects: Option<(Uuid, &str)>,
) -> Result<credits::Model, LedgerError> {
    input.scheme = normalise_scheme_id(&input.scheme);
    if !catalog.contains(&input.scheme) {
        return Err(invalid("scheme", catalog.unknown(&input.scheme)));
    }
    let holding =
        crate::services::holdings::by_registration(db, &input.scheme, &input.registration_number)
            .await?
            .ok_or_else(|| LedgerError::UnknownHolding {
                scheme: input.scheme.clone(),
                registration_number: input.registration_number.clone(),
            })?;

    let input = validate(catalog, input)?;
    refuse_what_would_count_for_nothing(db, catalog, &holding, &input).await?;
    let actor = Actor::cli(&input.recorded_by);

    let txn = super::begin_write(db).await?;
    let replaces = match corrects {
        Some((id, reason)) => {
            let voided = void_in(&txn, id, reason, &actor).await?;
            if voided.professional_id != holding.professional_id {
                // Dropping the transaction rolls the void back.
                return Err(invalid(
                    "registration_number",
                    "the corrected credit belongs to another professional",
                ));
            }
            Some(id)
        }
        None => None,
    };
    let credit = insert_credit(
        &txn,
        holding.professional_id,
        &input,
        CreditSource::Admin,
        replaces,
    )
    .await?;
    audit::record(
        &txn,
        &actor,
        Event {
            action: "credit.recorded",
            subject_kind: "credit",
            subject_id: Some(credit.id.to_string()),
            before: None,
            after: Some(serde_json::json!({
                "professional_id": credit.professional_id,
                "activity_type": credit.activity_type,
                "completed_on": credit.completed_on,
                "replaces": replaces,
                "claims": input.claims.iter().map(|c| serde_json::json!({
                    "scheme": c.scheme, "activity_type": c.activity_type,
                    "category": c.category, "points": c.points,
                })).collect::<Vec<_>>(),
            })),
        },
    )
    .await?;
    standing_projection::refresh(&txn, catalog, &[holding.professional_id]).await?;
    txn.commit().await?;
    Ok(credit)
}

/// A credit whose every claim its scheme's rules can place, with each activity type filled in.
#[derive(Debug, Clone)]
struct ValidCredit {
    activity_type: String,
    title: String,
    completed_on: NaiveDate,
    hours: Points,
    claims: Vec<ValidClaim>,
    recorded_by: String,
}

#[derive(Debug, Clone)]
struct ValidClaim {
    scheme: String,
    activity_type: String,
    category: String,
    points: Points,
}

/// Refuses a credit that would count for nothing somewhere: every claim must be one its scheme
/// can place (known scheme, that scheme's activity type and category), so nothing is stored to
/// be silently ignored. Errors name the claim's field and the scheme.
fn validate(catalog: &SchemeCatalog, input: StaffCredit) -> Result<ValidCredit, LedgerError> {
    if input.title.trim().is_empty() {
        return Err(invalid("title", "must not be empty"));
    }
    if input.hours <= Points::ZERO || input.hours > Points::whole(MAX_HOURS) {
        return Err(invalid(
            "hours",
            format!("must be more than 0 and at most {MAX_HOURS}"),
        ));
    }
    let today = Utc::now().date_naive();
    if input.completed_on > today + chrono::Days::new(1) {
        return Err(invalid("date", "is in the future"));
    }
    let holding_scheme = catalog
        .in_force_on(&input.scheme, input.completed_on)
        .ok_or_else(|| invalid("scheme", catalog.unknown(&input.scheme)))?;
    let activity_type = input
        .activity_type
        .clone()
        .or_else(|| {
            input
                .claims
                .iter()
                .find(|c| c.scheme == input.scheme)
                .and_then(|c| c.activity_type.clone())
        })
        .ok_or_else(|| {
            invalid(
                "activity_type",
                format!(
                    "is required: name the activity as {} calls it",
                    input.scheme
                ),
            )
        })?;
    let own = &holding_scheme.definition;
    if own.activity_type(&activity_type).is_none() && !own.activity_types.is_empty() {
        return Err(invalid(
            "activity_type",
            format!(
                "scheme {} has no activity type '{activity_type}' (it has: {})",
                input.scheme,
                names(own.activity_types.iter().map(|t| t.id.as_str()))
            ),
        ));
    }

    let mut claims = Vec::with_capacity(input.claims.len());
    let mut seen = std::collections::HashSet::new();
    let mut types: std::collections::HashMap<String, (usize, String)> =
        std::collections::HashMap::new();
    for (i, claim) in input.claims.into_iter().enumerate() {
        let at = |field: &str| format!("claims[{i}].{field}");
        let scheme = catalog
            .in_force_on(&claim.scheme, input.completed_on)
            .ok_or_else(|| invalid(at("scheme"), catalog.unknown(&claim.scheme)))?;
        let rules = &scheme.definition;
        let kind = claim.activity_type.unwrap_or_else(|| activity_type.clone());
        if let Err(reason) = rules.place(&kind, &claim.category) {
            return Err(match reason {
                Unplaceable::UnknownActivityType => invalid(
                    at("activity_type"),
                    format!(
                        "scheme {} has no activity type '{kind}' (it has: {}); \
                         classify it in {}'s own words as {}:<activity type>:{}=<points>",
                        claim.scheme,
                        names(rules.activity_types.iter().map(|t| t.id.as_str())),
                        claim.scheme,
                        claim.scheme,
                        claim.category
                    ),
                ),
                Unplaceable::UnknownCategory => invalid(
                    at("category"),
                    format!(
                        "scheme {} has no category '{}' (it has: {})",
                        claim.scheme,
                        claim.category,
                        names(rules.categories.iter().map(|c| c.id.as_str()))
                    ),
                ),
                Unplaceable::CategoryNotAllowed { allowed } => invalid(
                    at("category"),
                    format!(
                        "in scheme {} the activity type '{kind}' counts only in '{allowed}', not '{}'",
                        claim.scheme, claim.category
                    ),
                ),
            });
        }
        if claim.points <= Points::ZERO {
            return Err(invalid(at("points"), "must be more than 0"));
        }
        if !seen.insert((claim.scheme.clone(), claim.category.clone())) {
            return Err(invalid(
                format!("claims[{i}]"),
                format!(
                    "scheme {} and category '{}' appear twice",
                    claim.scheme, claim.category
                ),
            ));
        }
        if claim.scheme == input.scheme && kind != activity_type {
            return Err(invalid(
                at("activity_type"),
                format!(
                    "'{kind}' differs from the credit's activity type '{activity_type}' in scheme {}",
                    claim.scheme
                ),
            ));
        }
        match types.get(&claim.scheme) {
            Some((first, other)) if *other != kind => {
                return Err(invalid(
                    at("activity_type"),
                    format!(
                        "one activity has one activity type in scheme {}: claims[{first}] says '{other}', this one '{kind}'",
                        claim.scheme
                    ),
                ));
            }
            Some(_) => {}
            None => {
                types.insert(claim.scheme.clone(), (i, kind.clone()));
            }
        }
        claims.push(ValidClaim {
            scheme: claim.scheme,
            activity_type: kind,
            category: claim.category,
            points: claim.points,
        });
    }
    Ok(ValidCredit {
        activity_type,
        title: input.title,
        completed_on: input.completed_on,
        hours: input.hours,
        claims,
        recorded_by: input.recorded_by,
    })
}

/// Refuses a credit, or a claim of it, that no holding of the professional could ever count,
/// naming why: no points (and no slot) for the holding's own scheme, a claim toward a scheme
/// the professional holds nothing in, or a date before the first cycle of a scheme it claims
/// toward. Placing claims in their schemes' words is [`validate`]'s part.
async fn refuse_what_would_count_for_nothing(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &holdings::Model,
    input: &ValidCredit,
) -> Result<(), LedgerError> {
    let scheme = holding.scheme_id.as_str();
    if let Some(loaded) = catalog.in_force_on(scheme, input.completed_on) {
        let rules = &loaded.definition;
        let claims_here = input.claims.iter().any(|c| c.scheme == scheme);
        let fills_slot = rules
            .slots
            .iter()
            .any(|slot| slot.activity_types.contains(&input.activity_type));
        if !claims_here && !fills_slot {
            return Err(if rules.required_points.is_positive() {
                invalid(
                    "claims",
                    format!(
                        "the credit claims no points for {scheme}, a points scheme ({} per cycle), \
                         so it would count for nothing there: add the claim \
                         {scheme}:{}:<category>=<points> (categories: {})",
                        rules.required_points,
                        input.activity_type,
                        names(rules.categories.iter().map(|c| c.id.as_str()))
                    ),
                )
            } else {
                let slot_types: Vec<&str> = rules
                    .slots
                    .iter()
                    .flat_map(|slot| slot.activity_types.iter().map(String::as_str))
                    .collect();
                invalid(
                    "activity_type",
                    format!(
                        "scheme {scheme} counts no points and '{}' fills none of its slots \
                         (activity types that do: {}), so the credit would count for nothing",
                        input.activity_type,
                        names(slot_types.into_iter())
                    ),
                )
            });
        }
    }

    // The first day of the first cycle on record in each scheme the professional holds.
    let held = holdings::Entity::find()
        .filter(holdings::Column::ProfessionalId.eq(holding.professional_id))
        .all(db)
        .await?;
    let first_cycles = cycles::Entity::find()
        .filter(cycles::Column::HoldingId.is_in(held.iter().map(|h| h.id)))
        .all(db)
        .await?;
    let first_start = |scheme: &str| {
        held.iter()
            .filter(|h| h.scheme_id == scheme)
            .flat_map(|h| first_cycles.iter().filter(move |c| c.holding_id == h.id))
            .map(|c| c.starts_on)
            .min()
    };
    let too_early = |field: String, scheme: &str| -> Result<(), LedgerError> {
        match first_start(scheme) {
            Some(start) if input.completed_on < start => Err(invalid(
                field,
                format!(
                    "{} is before the first {scheme} cycle on record (from {start}); \
                     nothing completed before it counts",
                    input.completed_on
                ),
            )),
            Some(_) => Ok(()),
            None => Err(invalid(
                field,
                format!("the {scheme} holding has no cycle on record, so nothing counts yet"),
            )),
        }
    };
    too_early("date".to_owned(), scheme)?;
    for (i, claim) in input.claims.iter().enumerate() {
        if claim.scheme == scheme {
            continue;
        }
        if !held.iter().any(|h| h.scheme_id == claim.scheme) {
            return Err(invalid(
                format!("claims[{i}].scheme"),
                format!(
                    "the professional holds no {} certification, so this claim would count for nothing",
                    claim.scheme
                ),
            ));
        }
        too_early("date".to_owned(), &claim.scheme)?;
    }
    Ok(())
}

fn names<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.collect::<Vec<_>>().join(", ")
}

async fn insert_credit(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    input: &ValidCredit,
    source: CreditSource,
    replaces: Option<Uuid>,
) -> Result<credits::Model, DbErr> {
    let id = Uuid::now_v7();
    let credit = credits::ActiveModel {
        id: Set(id),
        professional_id: Set(professional_id),
        course_id: Set(None),
        provider_id: Set(None),
        provider_reference: Set(None),
        activity_type: Set(input.activity_type.clone()),
        title: Set(input.title.trim().to_owned()),
        completed_on: Set(input.completed_on),
        hours: Set(input.hours.hundredths()),
        source: Set(source),
        state: Set(CreditState::Approved),
        evidence: Set(None),
        replaces_credit_id: Set(replaces),
        voided_at: Set(None),
        void_reason: Set(None),
        recorded_by: Set(Some(input.recorded_by.clone())),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    let claims: Vec<credit_claims::ActiveModel> = input
        .claims
        .iter()
        .map(|c| credit_claims::ActiveModel {
            id: Set(Uuid::now_v7()),
            credit_id: Set(id),
            scheme_id: Set(c.scheme.clone()),
            activity_type: Set(c.activity_type.clone()),
            category: Set(c.category.clone()),
            points: Set(c.points.hundredths()),
        })
        .collect();
    if !claims.is_empty() {
        credit_claims::Entity::insert_many(claims).exec(db).await?;
    }
    Ok(credit)
}

/// Voids an approved or pending credit. The row keeps its content; only its state moves to
/// `voided`, with when and why, and the audit log records the change.
pub async fn void_credit(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    id: Uuid,
    reason: &str,
    actor: &Actor,
) -> Result<credits::Model, LedgerError> {
    let txn = super::begin_write(db).await?;
    let voided = void_in(&txn, id, reason, actor).await?;
    standing_projection::refresh(&txn, catalog, &[voided.professional_id]).await?;
    txn.commit().await?;
    Ok(voided)
}

async fn void_in(
    txn: &impl ConnectionTrait,
    id: Uuid,
    reason: &str,
    actor: &Actor,
) -> Result<credits::Model, LedgerError> {
    if reason.trim().is_empty() {
        return Err(invalid("reason", "must not be empty"));
    }
    let credit = credits::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(LedgerError::UnknownCredit(id))?;
    if !matches!(credit.state, CreditState::Approved | CreditState::Pending) {
        return Err(LedgerError::NotVoidable {
            id,
            state: format!("{:?}", credit.state).to_lowercase(),
        });
    }
    let before = credit.state;
    let mut active: credits::ActiveModel = credit.into();
    active.state = Set(CreditState::Voided);
    active.voided_at = Set(Some(Utc::now()));
    active.void_reason = Set(Some(reason.trim().to_owned()));
    let voided = active.update(txn).await?;
    audit::record(
        txn,
        actor,
        Event {
            action: "credit.voided",
            subject_kind: "credit",
            subject_id: Some(id.to_string()),
            before: Some(serde_json::json!({ "state": before })),
            after: Some(serde_json::json!({ "state": "voided", "reason": reason.trim() })),
        },
    )
    .await?;
    Ok(voided)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    fn parsed(text: &str) -> (String, Option<String>, String, String) {
        let claim = ClaimSpec::parse(text, "cissp").unwrap();
        (
            claim.scheme,
            claim.activity_type,
            claim.category,
            claim.points.to_string(),
        )
    }

    #[test]
    fn a_claim_names_scheme_activity_type_category_and_points_in_that_schemes_words() {
        assert_eq!(
            parsed("cisa:training:cpe=8"),
            (
                "cisa".into(),
                Some("training".into()),
                "cpe".into(),
                "8".into()
            )
        );
        assert_eq!(
            parsed("CISA:cpe=7.5"),
            ("cisa".into(), None, "cpe".into(), "7.5".into())
        );
        assert_eq!(
            parsed("group_a=8"),
            ("cissp".into(), None, "group_a".into(), "8".into())
        );
    }

    #[test]
    fn a_claim_that_is_not_scheme_activity_category_points_is_refused_naming_the_claim() {
        for text in ["group_a", "a:b:c:d=1", "=8", "cisa::cpe=8", ":cpe=8"] {
            let error = ClaimSpec::parse(text, "cissp").unwrap_err();
            assert!(
                matches!(&error, LedgerError::Invalid { field, .. } if field == "claim"),
                "{text}: {error}"
            );
        }
        assert!(matches!(
            ClaimSpec::parse("group_a=eight", "cissp"),
            Err(LedgerError::Invalid { field, .. }) if field == "points"
        ));
    }
}

/// One ledger entry as staff look it up again: the credit and what it claims in each scheme.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListedCredit {
    pub id: Uuid,
    pub completed_on: NaiveDate,
    pub title: String,
    /// The activity type as the credit was recorded (in the holding's scheme's words).
    pub activity_type: String,
    pub hours: Points,
    pub source: CreditSource,
    pub state: CreditState,
    pub void_reason: Option<String>,
    pub replaces_credit_id: Option<Uuid>,
    pub claims: Vec<ListedClaim>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ListedClaim {
    pub scheme: String,
    pub activity_type: String,
    pub category: String,
    pub points: Points,
}

/// Every ledger entry of the professional who holds `scheme` `registration_number`, voided
/// ones included, oldest activity first: so a credit's id can be found again.
pub async fn credits_of_holder(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    scheme: &str,
    registration_number: &str,
) -> Result<Vec<ListedCredit>, LedgerError> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    if !catalog.contains(scheme) {
        return Err(invalid("scheme", catalog.unknown(scheme)));
    }
    let holding = crate::services::holdings::by_registration(db, scheme, registration_number)
        .await?
        .ok_or_else(|| LedgerError::UnknownHolding {
            scheme: scheme.to_owned(),
            registration_number: registration_number.to_owned(),
        })?;
    let entries = credits::Entity::find()
        .filter(credits::Column::ProfessionalId.eq(holding.professional_id))
        .order_by_asc(credits::Column::CompletedOn)
        .order_by_asc(credits::Column::CreatedAt)
        .order_by_asc(credits::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = entries.iter().map(|c| c.id).collect();
    let mut claims: std::collections::HashMap<Uuid, Vec<ListedClaim>> =
        std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        for claim in credit_claims::Entity::find()
            .filter(credit_claims::Column::CreditId.is_in(chunk.to_vec()))
            .order_by_asc(credit_claims::Column::SchemeId)
            .order_by_asc(credit_claims::Column::Category)
            .all(db)
            .await?
        {
            claims
                .entry(claim.credit_id)
                .or_default()
                .push(ListedClaim {
                    scheme: claim.scheme_id,
                    activity_type: claim.activity_type,
                    category: claim.category,
                    points: Points::from_hundredths(claim.points),
                });
        }
    }
    Ok(entries
        .into_iter()
        .map(|c| ListedCredit {
            claims: claims.remove(&c.id).unwrap_or_default(),
            id: c.id,
            completed_on: c.completed_on,
            title: c.title,
            activity_type: c.activity_type,
            hours: Points::from_hundredths(c.hours),
            source: c.source,
            state: c.state,
            void_reason: c.void_reason,
            replaces_credit_id: c.replaces_credit_id,
        })
        .collect())
}
