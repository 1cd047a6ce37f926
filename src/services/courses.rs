//! A provider's course catalogue: what each course is, and what it awards in each scheme.
//!
//! A course awards at most once per scheme: an activity type in that scheme's words and, where
//! the scheme counts points, a category and points. Every award must be one the scheme can
//! place and the provider is accredited for. A course withdrawn from the catalogue keeps its
//! row (credits name it) but no longer takes attendance.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::{course_awards, courses};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::points::Points;
use crate::domain::scheme::{Unplaceable, normalise_scheme_id};
use crate::services::audit::{self, Actor, Event};
use crate::services::begin_write;
use crate::services::providers::{self, ProviderError, ProviderStatus, award_refusal};
use crate::services::schemes::SchemeCatalog;

#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("no course {0}")]
    NotFound(Uuid),
    #[error("{0}")]
    Conflict(String),
    #[error("the provider is {0:?} and cannot publish courses")]
    ProviderNotApproved(ProviderStatus),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<ProviderError> for CourseError {
    fn from(err: ProviderError) -> Self {
        match err {
            ProviderError::Invalid { field, message } => Self::Invalid { field, message },
            ProviderError::NotFound(id) => Self::NotFound(id),
            ProviderError::Conflict(detail) => Self::Conflict(detail),
            ProviderError::Db(e) => Self::Db(e),
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> CourseError {
    CourseError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// How a course is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Online,
    Classroom,
    OnDemand,
}

impl Delivery {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Classroom => "classroom",
            Self::OnDemand => "on_demand",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Online, Self::Classroom, Self::OnDemand]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// A fee, as a decimal amount in an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fee {
    /// A decimal amount with at most two decimals, e.g. `12000` or `49.50`.
    pub amount: String,
    /// ISO 4217 code, e.g. `JPY`.
    pub currency: String,
}

/// What a course awards in one scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Award {
    /// Scheme id, e.g. `cissp`.
    pub scheme: String,
    /// The activity type in this scheme's words, e.g. `education` for CISSP, `training` for
    /// CISA, `ipa_online_course` for RISS.
    pub activity_type: String,
    /// The category the points count toward; absent in a scheme that counts courses, not
    /// points (RISS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Points for full attendance; absent (or 0) without a category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub points: Option<Points>,
}

/// A course as the provider describes it.
#[derive(Debug, Clone)]
pub struct CourseInput {
    pub code: String,
    pub title_en: String,
    pub title_ja: Option<String>,
    pub hours: Points,
    pub delivery: Delivery,
    pub fee: Option<Fee>,
    pub language: Option<String>,
    pub nice_work_roles: Vec<String>,
    /// The days the course is next held; empty for a course without dated sessions.
    pub sessions: Vec<NaiveDate>,
    pub awards: Vec<Award>,
}

/// A course with its awards.
#[derive(Debug, Clone)]
pub struct Course {
    pub course: courses::Model,
    pub awards: Vec<Award>,
}

impl Course {
    pub fn delivery(&self) -> Delivery {
        delivery_of(&self.course)
    }

    pub fn fee(&self) -> Option<Fee> {
        fee_of(&self.course)
    }

    pub fn nice_work_roles(&self) -> Vec<String> {
        serde_json::from_value(self.course.tags.clone()).unwrap_or_default()
    }

    /// The days the course is held, earliest first.
    pub fn sessions(&self) -> Vec<NaiveDate> {
        sessions_of(&self.course)
    }
}

/// How a stored course is delivered.
pub fn delivery_of(course: &courses::Model) -> Delivery {
    Delivery::parse(&course.delivery).unwrap_or(Delivery::Online)
}

/// A stored course's fee, when it has one.
pub fn fee_of(course: &courses::Model) -> Option<Fee> {
    match (&course.fee_amount, &course.fee_currency) {
        (Some(amount), Some(currency)) => Some(Fee {
            amount: amount.clone(),
            currency: currency.clone(),
        }),
        _ => None,
    }
}

/// The days a stored course is held, earliest first; none when it has no dated sessions.
pub fn sessions_of(course: &courses::Model) -> Vec<NaiveDate> {
    course
        .sessions
        .clone()
        .and_then(|json| serde_json::from_value(json).ok())
        .unwrap_or_default()
}

const MAX_HOURS: i64 = 1_000;
const MAX_TITLE: usize = 500;
const MAX_CODE: usize = 128;
const MAX_SESSIONS: usize = 100;

/// A NICE Framework (components v2) work role id: two capital letters, `-WRL-`, three digits.
fn is_nice_work_role(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 10
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && &bytes[2..7] == b"-WRL-"
        && bytes[7..].iter().all(u8::is_ascii_digit)
}

fn is_decimal_amount(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    !whole.is_empty()
        && whole.len() <= 15
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(text.contains('.') && fraction.is_empty())
}

fn checked_text(field: &str, text: &str, max: usize) -> Result<String, CourseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// The course as it will be stored, or the first field that is wrong.
fn validate(
    catalog: &SchemeCatalog,
    accreditations: &[providers::Accreditation],
    mut input: CourseInput,
) -> Result<CourseInput, CourseError> {
    input.code = checked_text("code", &input.code, MAX_CODE)?;
    input.title_en = checked_text("title.en", &input.title_en, MAX_TITLE)?;
    input.title_ja = match input.title_ja.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(checked_text("title.ja", text, MAX_TITLE)?),
    };
    if input.hours <= Points::ZERO || input.hours > Points::whole(MAX_HOURS) {
        return Err(invalid(
            "hours",
            format!("must be more than 0 and at most {MAX_HOURS}"),
        ));
    }
    if let Some(fee) = &mut input.fee {
        fee.amount = fee.amount.trim().to_owned();
        fee.currency = fee.currency.trim().to_ascii_uppercase();
        if !is_decimal_amount(&fee.amount) {
            return Err(invalid(
                "fee.amount",
                format!(
                    "'{}' is not a decimal amount such as 12000 or 49.50",
                    fee.amount
                ),
            ));
        }
        if fee.currency.len() != 3 || !fee.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(
                "fee.currency",
                format!("'{}' is not an ISO 4217 code such as JPY", fee.currency),
            ));
        }
    }
    input.language = match input.language.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(tag)
            if tag.len() <= 35
                && tag.split('-').all(|p| {
                    !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric())
                }) =>
        {
            Some(tag.to_owned())
        }
        Some(tag) => {
            return Err(invalid(
                "language",
                format!("'{tag}' is not a language tag such as ja or en"),
            ));
        }
    };
    let mut roles = Vec::with_capacity(input.nice_work_roles.len());
    for (i, role) in input.nice_work_roles.iter().enumerate() {
        let role = role.trim().to_ascii_uppercase();
        if !is_nice_work_role(&role) {
            return Err(invalid(
                format!("nice_work_roles[{i}]"),
                format!("'{role}' is not a NICE Framework work role id such as PD-WRL-004"),
            ));
        }
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    input.nice_work_roles = roles;
    if input.sessions.len() > MAX_SESSIONS {
        return Err(invalid(
            "sessions",
            format!("list at most {MAX_SESSIONS} days"),
        ));
    }
    input.sessions.sort_unstable();
    input.sessions.dedup();
    if input.awards.is_empty() {
        return Err(invalid(
            "awards",
            "name at least one scheme the course awards credit in",
        ));
    }
    let today = Utc::now().date_naive();
    let mut schemes = Vec::new();
    for (i, award) in input.awards.iter_mut().enumerate() {
        let at = |field: &str| format!("awards[{i}].{field}");
        award.scheme = normalise_scheme_id(&award.scheme);
        let Some(loaded) = catalog
            .in_force_on(&award.scheme, today)
            .or_else(|| catalog.all().find(|s| s.definition.id == award.scheme))
        else {
            return Err(invalid(at("scheme"), catalog.unknown(&award.scheme)));
        };
        if schemes.contains(&award.scheme) {
            return Err(invalid(
                at("scheme"),
                format!(
                    "{} appears twice: a course awards once per scheme",
                    award.scheme
                ),
            ));
        }
        schemes.push(award.scheme.clone());
        let rules = &loaded.definition;
        award.activity_type = award.activity_type.trim().to_owned();
        award.category = award
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let list = |ids: Vec<&str>| ids.join(", ");
        if rules.activity_type(&award.activity_type).is_none() {
            return Err(invalid(
                at("activity_type"),
                format!(
                    "scheme {} has no activity type '{}' (it has: {})",
                    award.scheme,
                    award.activity_type,
                    list(rules.activity_types.iter().map(|t| t.id.as_str()).collect())
                ),
            ));
        }
        match &award.category {
            Some(category) => {
                if let Err(reason) = rules.place(&award.activity_type, category) {
                    let message = match reason {
                        Unplaceable::UnknownActivityType | Unplaceable::UnknownCategory => {
                            format!(
                                "scheme {} has no category '{category}' (it has: {})",
                                award.scheme,
                                list(rules.categories.iter().map(|c| c.id.as_str()).collect())
                            )
                        }
                        Unplaceable::CategoryNotAllowed { allowed } => format!(
                            "in scheme {} the activity type '{}' counts only in '{allowed}'",
                            award.scheme, award.activity_type
                        ),
                    };
                    return Err(invalid(at("category"), message));
                }
                match award.points {
                    Some(points) if points.is_positive() && points <= Points::whole(MAX_HOURS) => {}
                    _ => {
                        return Err(invalid(
                            at("points"),
                            format!("must be more than 0 and at most {MAX_HOURS} with a category"),
                        ));
                    }
                }
            }
            None => {
                if award.points.is_some_and(Points::is_positive) {
                    return Err(invalid(
                        at("category"),
                        format!(
                            "points need a category of {} (it has: {})",
                            award.scheme,
                            list(rules.categories.iter().map(|c| c.id.as_str()).collect())
                        ),
                    ));
                }
                let fills_slot = rules
                    .slots
                    .iter()
                    .any(|slot| slot.activity_types.contains(&award.activity_type));
                if !fills_slot {
                    return Err(invalid(
                        at("category"),
                        format!(
                            "'{}' fills none of {}'s required courses, so without a category \
                             and points it would count for nothing",
                            award.activity_type, award.scheme
                        ),
                    ));
                }
                award.points = None;
            }
        }
        if let Some(reason) = award_refusal(
            accreditations,
            &award.scheme,
            &award.activity_type,
            award.category.as_deref(),
            None,
        ) {
            return Err(invalid(at("scheme"), reason));
        }
    }
    Ok(input)
}

/// The activity type a course's credits are recorded with: that of its award in a scheme that
/// counts courses (it is what fills the slots there), else of its first award.
fn credit_activity_type(awards: &[Award]) -> String {
    awards
        .iter()
        .find(|a| a.category.is_none())
        .or_else(|| awards.first())
        .map(|a| a.activity_type.clone())
        .unwrap_or_default()
}

async fn approved_provider(
    db: &impl ConnectionTrait,
    provider_id: Uuid,
) -> Result<entity::providers::Model, CourseError> {
    let provider = providers::get_provider(db, provider_id).await?;
    if provider.status != ProviderStatus::Approved {
        return Err(CourseError::ProviderNotApproved(provider.status));
    }
    Ok(provider)
}

/// Sets everything the provider describes about a course, and the time of the change.
fn describe(active: &mut courses::ActiveModel, input: &CourseInput) {
    active.code = Set(input.code.clone());
    active.title = Set(input.title_en.clone());
    active.title_ja = Set(input.title_ja.clone());
    active.hours = Set(input.hours.hundredths());
    active.delivery = Set(input.delivery.as_str().to_owned());
    active.activity_type = Set(credit_activity_type(&input.awards));
    active.tags = Set(serde_json::json!(input.nice_work_roles));
    active.fee_amount = Set(input.fee.as_ref().map(|f| f.amount.clone()));
    active.fee_currency = Set(input.fee.as_ref().map(|f| f.currency.clone()));
    active.language = Set(input.language.clone());
    active.sessions = Set((!input.sessions.is_empty()).then(|| serde_json::json!(input.sessions)));
    active.updated_at = Set(Some(Utc::now()));
}

/// Replaces the awards of course `course_id` with `awards`.
async fn write_awards(
    txn: &impl ConnectionTrait,
    course_id: Uuid,
    awards: &[Award],
) -> Result<(), sea_orm::DbErr> {
    course_awards::Entity::delete_many()
        .filter(course_awards::Column::CourseId.eq(course_id))
        .exec(txn)
        .await?;
    course_awards::Entity::insert_many(award_rows(course_id, awards))
        .exec(txn)
        .await?;
    Ok(())
}

fn award_rows(course_id: Uuid, awards: &[Award]) -> Vec<course_awards::ActiveModel> {
    awards
        .iter()
        .map(|a| course_awards::ActiveModel {
            id: Set(Uuid::now_v7()),
            course_id: Set(course_id),
            scheme_id: Set(a.scheme.clone()),
            activity_type: Set(a.activity_type.clone()),
            category: Set(a.category.clone()),
            points: Set(a.points.map_or(0, Points::hundredths)),
        })
        .collect()
}

fn audit_view(course: &CourseInput) -> serde_json::Value {
    serde_json::json!({
        "code": course.code,
        "title": course.title_en,
        "hours": course.hours,
        "awards": course.awards,
    })
}

async fn code_taken(
    db: &impl ConnectionTrait,
    provider_id: Uuid,
    code: &str,
    other_than: Option<Uuid>,
) -> Result<bool, CourseError> {
    let mut query = courses::Entity::find()
        .filter(courses::Column::ProviderId.eq(provider_id))
        .filter(courses::Column::Code.eq(code));
    if let Some(id) = other_than {
        query = query.filter(courses::Column::Id.ne(id));
    }
    Ok(query.one(db).await?.is_some())
}

/// Publishes a course in the provider's catalogue. Codes are unique per provider.
pub async fn create(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    provider_id: Uuid,
    input: CourseInput,
) -> Result<Course, CourseError> {
    let txn = begin_write(db).await?;
    let provider = approved_provider(&txn, provider_id).await?;
    let input = validate(catalog, &provider.accreditations.0, input)?;
    if code_taken(&txn, provider_id, &input.code, None).await? {
        return Err(CourseError::Conflict(format!(
            "a course with code '{}' is already in the catalogue",
            input.code
        )));
    }
    let now = Utc::now();
    let id = Uuid::now_v7();
    let mut active = courses::ActiveModel {
        id: Set(id),
        provider_id: Set(provider_id),
        retired_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    describe(&mut active, &input);
    let course = active.insert(&txn).await?;
    write_awards(&txn, id, &input.awards).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "course.created",
            subject_kind: "course",
            subject_id: Some(id.to_string()),
            before: None,
            after: Some(audit_view(&input)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Course {
        course,
        awards: input.awards,
    })
}

/// Replaces a course's description and awards. Credits already recorded keep what they were
/// awarded; attendance reported from now on gets the new awards.
pub async fn update(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    provider_id: Uuid,
    id: Uuid,
    input: CourseInput,
) -> Result<Course, CourseError> {
    let txn = begin_write(db).await?;
    let provider = approved_provider(&txn, provider_id).await?;
    let before = own_course(&txn, provider_id, id).await?;
    let input = validate(catalog, &provider.accreditations.0, input)?;
    if code_taken(&txn, provider_id, &input.code, Some(id)).await? {
        return Err(CourseError::Conflict(format!(
            "another course has code '{}'",
            input.code
        )));
    }
    let mut active: courses::ActiveModel = before.course.clone().into();
    describe(&mut active, &input);
    let course = active.update(&txn).await?;
    write_awards(&txn, id, &input.awards).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "course.updated",
            subject_kind: "course",
            subject_id: Some(id.to_string()),
            before: Some(serde_json::json!({
                "code": before.course.code, "awards": before.awards,
            })),
            after: Some(audit_view(&input)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Course {
        course,
        awards: input.awards,
    })
}

/// Withdraws a course from the catalogue: it no longer takes attendance, and credits that name
/// it stay as they are. Withdrawing twice changes nothing.
pub async fn retire(
    db: &DatabaseConnection,
    actor: &Actor,
    provider_id: Uuid,
    id: Uuid,
) -> Result<(), CourseError> {
    let txn = begin_write(db).await?;
    let found = own_course(&txn, provider_id, id).await?;
    let mut active: courses::ActiveModel = found.course.into();
    active.retired_at = Set(Some(Utc::now()));
    active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "course.retired",
            subject_kind: "course",
            subject_id: Some(id.to_string()),
            before: None,
            after: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// One of the provider's own courses still in the catalogue; another provider's course is not
/// found, exactly like one that does not exist.
pub async fn own_course(
    db: &impl ConnectionTrait,
    provider_id: Uuid,
    id: Uuid,
) -> Result<Course, CourseError> {
    let course = courses::Entity::find_by_id(id)
        .filter(courses::Column::ProviderId.eq(provider_id))
        .filter(courses::Column::RetiredAt.is_null())
        .one(db)
        .await?
        .ok_or(CourseError::NotFound(id))?;
    let mut awards = awards_of(db, &[course.id]).await?;
    Ok(Course {
        awards: awards.remove(&course.id).unwrap_or_default(),
        course,
    })
}

/// The provider's courses in the catalogue, `limit` at a time after the one with id `after`.
pub async fn list(
    db: &impl ConnectionTrait,
    provider_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Course>, CourseError> {
    let mut query = courses::Entity::find()
        .filter(courses::Column::ProviderId.eq(provider_id))
        .filter(courses::Column::RetiredAt.is_null())
        .order_by_asc(courses::Column::Id);
    if let Some(after) = after {
        query = query.filter(courses::Column::Id.gt(after));
    }
    let found = query.limit(limit).all(db).await?;
    let ids: Vec<Uuid> = found.iter().map(|c| c.id).collect();
    let mut awards = awards_of(db, &ids).await?;
    Ok(found
        .into_iter()
        .map(|course| Course {
            awards: awards.remove(&course.id).unwrap_or_default(),
            course,
        })
        .collect())
}

/// Every award of the given courses, by course, in scheme order.
pub async fn awards_of(
    db: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Award>>, sea_orm::DbErr> {
    let mut by_course: HashMap<Uuid, Vec<Award>> = HashMap::new();
    for chunk in course_ids.chunks(500) {
        for award in course_awards::Entity::find()
            .filter(course_awards::Column::CourseId.is_in(chunk.to_vec()))
            .order_by_asc(course_awards::Column::SchemeId)
            .all(db)
            .await?
        {
            by_course.entry(award.course_id).or_default().push(Award {
                scheme: award.scheme_id,
                activity_type: award.activity_type,
                points: award
                    .category
                    .is_some()
                    .then(|| Points::from_hundredths(award.points)),
                category: award.category,
            });
        }
    }
    Ok(by_course)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_work_role_ids_are_two_letters_wrl_and_three_digits() {
        assert!(is_nice_work_role("PD-WRL-004"));
        assert!(is_nice_work_role("OG-WRL-001"));
        assert!(!is_nice_work_role("PR-CDA-001"));
        assert!(!is_nice_work_role("pd-wrl-004"));
        assert!(!is_nice_work_role("PD-WRL-04"));
    }

    #[test]
    fn fees_are_decimal_amounts_with_at_most_two_decimals() {
        for good in ["12000", "49.50", "0.5"] {
            assert!(is_decimal_amount(good), "{good}");
        }
        for bad in ["", "12,000", "1.", ".5", "1.234", "-3", "1e3"] {
            assert!(!is_decimal_amount(bad), "{bad}");
        }
    }
}
