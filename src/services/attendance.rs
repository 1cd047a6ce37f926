//! Attendance as accredited providers report it, turned into credits: idempotent by the
//! provider's own reference, one answer per row, every accepted row of a batch written in one
//! transaction.
//!
//! A batch is judged with a handful of lookups whatever its size (courses, people, holdings,
//! cycles, earlier reports), then written through [`bulk_write`]. A reference seen before with
//! the same content is `unchanged`; with other content it is a `conflict` naming the fields that
//! differ; nothing is ever written twice, even when two uploads of one batch race (the unique
//! key on the reference decides, and the loser judges its batch again).

mod known;
pub mod rows;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use entity::credits::{CreditSource, CreditState};
use entity::{courses, credit_claims, credits};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Set, Value};
use uuid::Uuid;

use crate::domain::points::Points;
use crate::services::audit::{self, Actor, Event};
use crate::services::courses::Award;
use crate::services::ledger::LedgerError;
use crate::services::providers::{self, ProviderError, ProviderStatus, award_refusal};
use crate::services::schemes::SchemeCatalog;
use crate::services::{begin_write, bulk_write, standing_projection};
use known::{Known, Person};

/// The most rows one request may carry.
pub const MAX_ROWS: usize = 5_000;

/// Who attended: by a holding's scheme and registration number, by email, or (for callers that
/// matched the person themselves, such as xAPI) by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonRef {
    Registration {
        scheme: String,
        registration_number: String,
    },
    Email(String),
    Professional(Uuid),
}

/// When the course was completed: an instant with its offset, or a day, which is read in the
/// professional's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    At(DateTime<FixedOffset>),
    On(NaiveDate),
}

/// One attendance as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceRow {
    /// The provider's own id for this attendance; a re-sent row is recognised by it.
    pub reference: String,
    /// The course's code in the provider's catalogue.
    pub course: String,
    pub person: PersonRef,
    pub completed: Completion,
    /// Hours attended, when less than the course's; the points scale with them.
    pub hours: Option<Points>,
    /// Points to award in each scheme in place of the course's full award.
    pub points: Option<Points>,
}

/// Why a row was refused, naming its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub field: String,
    pub reason: String,
}

/// The answer for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Created {
        credit_id: Uuid,
    },
    /// The same reference with the same content was reported before.
    Unchanged {
        credit_id: Uuid,
    },
    /// The same reference with other content: nothing changed.
    Conflict {
        credit_id: Uuid,
        fields: Vec<String>,
    },
    Rejected(Rejection),
}

#[derive(Debug, thiserror::Error)]
pub enum AttendanceError {
    #[error("the provider is {0:?} and cannot report attendance")]
    ProviderNotApproved(ProviderStatus),
    #[error("no attendance with reference '{0}'")]
    UnknownReference(String),
    #[error("attendance '{0}' is already withdrawn")]
    AlreadyVoided(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The ledger refused the void (a database error stays [`AttendanceError::Db`]).
    #[error(transparent)]
    Ledger(LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<LedgerError> for AttendanceError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}

fn rejected(field: &str, reason: impl Into<String>) -> RowOutcome {
    RowOutcome::Rejected(Rejection {
        field: field.to_owned(),
        reason: reason.into(),
    })
}

/// Judges and writes one batch in its own transaction, marking the standing projection of
/// everyone it credited out of date in the same transaction. `rows` are in request order, refused
/// ones included, and the answer has one outcome per row in the same order.
///
/// The batch is first judged outside the write transaction, so that its lookups do not hold
/// the database's write lock (SQLite has one, for every writer): while one upload writes, the
/// next one is judged. The write then checks that the provider is as it was judged against.
/// A concurrent upload of the same references may commit in between; the unique key refuses
/// our copy (as a foreign key refuses a credit for a person or course deleted meanwhile), and
/// the batch is judged again inside the write transaction, where `unchanged` answers for those
/// rows.
pub async fn ingest(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    provider_id: Uuid,
    recorded_by: &str,
    rows: Vec<rows::Reported>,
) -> Result<Vec<RowOutcome>, AttendanceError> {
    let mut attempts = 0;
    let mut judged = Some(judge(db, catalog, provider_id, recorded_by, &rows).await?);
    loop {
        attempts += 1;
        let txn = begin_write(db).await?;
        let outcome = match judged.take() {
            Some(batch) if batch.provider == providers::get_provider(&txn, provider_id).await? => {
                write(&txn, provider_id, recorded_by, batch).await
            }
            _ => ingest_in(&txn, catalog, provider_id, recorded_by, &rows).await,
        };
        match outcome {
            Ok(outcomes) => {
                txn.commit().await?;
                return Ok(outcomes);
            }
            Err(AttendanceError::Db(e))
                if attempts < 3
                    && matches!(
                        e.sql_err(),
                        Some(
                            sea_orm::SqlErr::UniqueConstraintViolation(_)
                                | sea_orm::SqlErr::ForeignKeyConstraintViolation(_)
                        )
                    ) =>
            {
                txn.rollback().await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// [`ingest`] inside the caller's transaction, which it neither commits nor rolls back (xAPI
/// stores the statements in the same one).
pub async fn ingest_in(
    conn: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    provider_id: Uuid,
    recorded_by: &str,
    rows: &[rows::Reported],
) -> Result<Vec<RowOutcome>, AttendanceError> {
    let batch = judge(conn, catalog, provider_id, recorded_by, rows).await?;
    write(conn, provider_id, recorded_by, batch).await
}

/// A batch judged: one outcome per row, and the credits and claims of the rows created.
struct Judged {
    /// The provider as the batch was judged against it.
    provider: entity::providers::Model,
    outcomes: Vec<RowOutcome>,
    credits: Vec<credits::ActiveModel>,
    claims: Vec<credit_claims::ActiveModel>,
}

/// Judges every row of a batch against what `conn` holds, writing nothing.
async fn judge(
    conn: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    provider_id: Uuid,
    recorded_by: &str,
    rows: &[rows::Reported],
) -> Result<Judged, AttendanceError> {
    let provider = providers::get_provider(conn, provider_id).await?;
    if provider.status != ProviderStatus::Approved {
        return Err(AttendanceError::ProviderNotApproved(provider.status));
    }
    let known = Known::load(conn, provider_id, rows).await?;
    let mut judge = Judge {
        catalog,
        accreditations: &provider.accreditations.0,
        known: &known,
        provider_id,
        recorded_by,
        now: Utc::now(),
        in_batch: HashMap::new(),
        credits: Vec::new(),
        claims: Vec::new(),
    };
    let outcomes: Vec<RowOutcome> = rows.iter().map(|row| judge.row(row)).collect();
    let (credits, claims) = (judge.credits, judge.claims);
    Ok(Judged {
        provider,
        outcomes,
        credits,
        claims,
    })
}

/// Writes the credits and claims of a judged batch, marks their holders' verdicts out of date
/// and records the report in the audit log.
async fn write(
    conn: &impl ConnectionTrait,
    provider_id: Uuid,
    recorded_by: &str,
    batch: Judged,
) -> Result<Vec<RowOutcome>, AttendanceError> {
    let Judged {
        outcomes,
        credits,
        claims,
        ..
    } = batch;
    let created = credits.len();
    let professionals: Vec<Uuid> = credits
        .iter()
        .filter_map(|c| match &c.professional_id {
            sea_orm::ActiveValue::Set(id) => Some(*id),
            _ => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if created > 0 {
        bulk_write::insert(conn, credits).await?;
        bulk_write::insert(conn, claims).await?;
        // Judging thousands of people inside the write would cost more than the write: their
        // verdicts are marked out of date instead, and the next read judges them again.
        standing_projection::invalidate(conn, &professionals).await?;
        let count = |pick: fn(&RowOutcome) -> bool| outcomes.iter().filter(|o| pick(o)).count();
        audit::record(
            conn,
            &Actor::client(recorded_by),
            Event {
                action: "attendance.reported",
                subject_kind: "provider",
                subject_id: Some(provider_id.to_string()),
                before: None,
                after: Some(serde_json::json!({
                    "created": created,
                    "unchanged": count(|o| matches!(o, RowOutcome::Unchanged { .. })),
                    "conflict": count(|o| matches!(o, RowOutcome::Conflict { .. })),
                    "rejected": count(|o| matches!(o, RowOutcome::Rejected(_))),
                    "professionals": professionals.len(),
                })),
            },
        )
        .await?;
    }
    Ok(outcomes)
}

/// What a row says once its course and person are known: the fields a re-sent row is
/// compared on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Content {
    course_id: Option<Uuid>,
    professional_id: Option<Uuid>,
    completed_on: Option<NaiveDate>,
    completed_at: Option<DateTime<Utc>>,
    hours: Option<i64>,
    points: Option<i64>,
}

impl Content {
    fn of_credit(credit: &credits::Model) -> Self {
        Self {
            course_id: credit.course_id,
            professional_id: Some(credit.professional_id),
            completed_on: Some(credit.completed_on),
            completed_at: credit.completed_at,
            hours: Some(credit.hours),
            points: credit.reported_points,
        }
    }

    /// The names of the fields in which `self` differs from `other`, as the request names them.
    fn differences(&self, other: &Self) -> Vec<String> {
        let mut fields = Vec::new();
        if self.course_id != other.course_id {
            fields.push("course");
        }
        if self.professional_id != other.professional_id {
            fields.push("person");
        }
        if self.completed_on != other.completed_on || self.completed_at != other.completed_at {
            fields.push("completed");
        }
        if self.hours != other.hours {
            fields.push("hours");
        }
        if self.points != other.points {
            fields.push("points");
        }
        fields.into_iter().map(str::to_owned).collect()
    }
}

struct Judge<'a> {
    catalog: &'a SchemeCatalog,
    accreditations: &'a [providers::Accreditation],
    known: &'a Known,
    provider_id: Uuid,
    recorded_by: &'a str,
    now: DateTime<Utc>,
    /// References accepted earlier in this batch: their content and credit.
    in_batch: HashMap<String, (Content, Uuid)>,
    credits: Vec<credits::ActiveModel>,
    claims: Vec<credit_claims::ActiveModel>,
}

impl Judge<'_> {
    fn row(&mut self, reported: &rows::Reported) -> RowOutcome {
        let row = match reported {
            Ok(row) => row,
            Err(rejection) => return RowOutcome::Rejected(rejection.clone()),
        };
        let course = self.known.courses.get(&row.course);
        let professional = self.person(&row.person);
        let completed_on = professional.map(|p| day_of(row.completed, p.time_zone));
        let content = Content {
            course_id: course.map(|c| c.id),
            professional_id: professional.map(|p| p.id),
            completed_on,
            completed_at: match row.completed {
                Completion::At(at) => Some(at.to_utc()),
                Completion::On(_) => None,
            },
            hours: course.map(|c| row.hours.map_or(c.hours, Points::hundredths)),
            points: row.points.map(Points::hundredths),
        };
        if let Some((earlier, credit_id)) = self.in_batch.get(&row.reference) {
            return compare(*credit_id, earlier, &content);
        }
        if let Some(credit) = self.known.earlier.get(&row.reference) {
            if credit.state == CreditState::Voided {
                return rejected(
                    "reference",
                    format!(
                        "'{}' was withdrawn; report the attendance again under a new reference",
                        row.reference
                    ),
                );
            }
            return compare(credit.id, &Content::of_credit(credit), &content);
        }
        let Some(course) = course else {
            return rejected(
                "course",
                format!("no course with code '{}' in the catalogue", row.course),
            );
        };
        if course.retired_at.is_some() {
            return rejected(
                "course",
                format!("course '{}' was withdrawn from the catalogue", row.course),
            );
        }
        let (Some(professional), Some(completed_on)) = (professional, completed_on) else {
            return rejected(
                self.person_field(&row.person),
                self.unknown_person(&row.person),
            );
        };
        let today = day_of(
            Completion::At(self.now.fixed_offset()),
            professional.time_zone,
        );
        if completed_on > today {
            return rejected(
                "completed",
                format!("{completed_on} is in the future (today is {today} for this person)"),
            );
        }
        let course_hours = Points::from_hundredths(course.hours);
        if let Some(hours) = row.hours
            && hours > course_hours
        {
            return rejected(
                "hours",
                format!("{hours} is more than the course's {course_hours} hours"),
            );
        }
        let claims = match self.claims_for(row, course, professional.id, completed_on) {
            Ok(claims) => claims,
            Err(outcome) => return outcome,
        };
        let credit_id = Uuid::now_v7();
        self.credits.push(credits::ActiveModel {
            id: Set(credit_id),
            professional_id: Set(professional.id),
            course_id: Set(Some(course.id)),
            provider_id: Set(Some(self.provider_id)),
            provider_reference: Set(Some(row.reference.clone())),
            activity_type: Set(course.activity_type.clone()),
            title: Set(course.title.clone()),
            completed_on: Set(completed_on),
            completed_at: Set(content.completed_at),
            hours: Set(content.hours.unwrap_or(course.hours)),
            source: Set(CreditSource::Provider),
            reported_points: Set(content.points),
            state: Set(CreditState::Approved),
            evidence: Set(None),
            replaces_credit_id: Set(None),
            voided_at: Set(None),
            void_reason: Set(None),
            recorded_by: Set(Some(self.recorded_by.to_owned())),
            created_at: Set(self.now),
        });
        self.claims.extend(
            claims
                .into_iter()
                .map(|(award, points)| credit_claims::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    credit_id: Set(credit_id),
                    scheme_id: Set(award.scheme.clone()),
                    activity_type: Set(award.activity_type.clone()),
                    category: Set(award.category.clone().unwrap_or_default()),
                    points: Set(points.hundredths()),
                }),
        );
        self.in_batch
            .insert(row.reference.clone(), (content, credit_id));
        RowOutcome::Created { credit_id }
    }

    /// The points the row claims in each scheme the person holds that the course awards in,
    /// or the refusal: nothing the person holds counts it, the award is outside the provider's
    /// accreditation on that day, or the row asks for more points than the course awards.
    fn claims_for(
        &self,
        row: &AttendanceRow,
        course: &courses::Model,
        professional_id: Uuid,
        completed_on: NaiveDate,
    ) -> Result<Vec<(Award, Points)>, RowOutcome> {
        let awards = self
            .known
            .awards
            .get(&course.id)
            .map_or(&[][..], Vec::as_slice);
        let held = self
            .known
            .holdings
            .get(&professional_id)
            .map_or(&[][..], Vec::as_slice);
        let course_hours = Points::from_hundredths(course.hours);
        let mut claims = Vec::new();
        let mut counted = false;
        let mut why_not = Vec::new();
        for award in awards {
            let starts: Vec<Option<NaiveDate>> = held
                .iter()
                .filter(|(scheme, _)| *scheme == award.scheme)
                .map(|(_, start)| *start)
                .collect();
            if starts.is_empty() {
                why_not.push(format!("holds no {} certification", award.scheme));
                continue;
            }
            if !starts.iter().any(|s| s.is_some_and(|s| s <= completed_on)) {
                why_not.push(format!(
                    "{completed_on} is before the first {} cycle on record",
                    award.scheme
                ));
                continue;
            }
            if let Some(reason) = award_refusal(
                self.accreditations,
                &award.scheme,
                &award.activity_type,
                award.category.as_deref(),
                Some(completed_on),
            ) {
                return Err(rejected("course", reason));
            }
            counted = true;
            let Some(full) = award.points.filter(|_| award.category.is_some()) else {
                // A scheme that counts courses: the credit's activity type fills its slot.
                continue;
            };
            let points = match (row.points, row.hours) {
                (Some(points), _) if points > full => {
                    return Err(rejected(
                        "points",
                        format!(
                            "{points} is more than the {full} course '{}' awards in {}",
                            row.course, award.scheme
                        ),
                    ));
                }
                (Some(points), _) => points,
                (None, Some(hours)) => scaled(full, hours, course_hours),
                (None, None) => full,
            };
            if points.is_positive() {
                claims.push((award.clone(), points));
            }
        }
        if !counted {
            return Err(rejected(
                "person",
                format!(
                    "course '{}' counts toward nothing this person holds: {}",
                    row.course,
                    if why_not.is_empty() {
                        "it awards nothing".to_owned()
                    } else {
                        why_not.join("; ")
                    }
                ),
            ));
        }
        Ok(claims)
    }

    fn person(&self, person: &PersonRef) -> Option<&Person> {
        let id = match person {
            PersonRef::Registration {
                scheme,
                registration_number,
            } => self
                .known
                .by_registration
                .get(&(scheme.clone(), registration_number.clone()))?,
            PersonRef::Email(email) => self.known.by_email.get(email)?,
            PersonRef::Professional(id) => id,
        };
        self.known.people.get(id)
    }

    fn person_field(&self, person: &PersonRef) -> &'static str {
        match person {
            PersonRef::Registration { .. } => "registration_number",
            PersonRef::Email(_) => "email",
            PersonRef::Professional(_) => "person",
        }
    }

    fn unknown_person(&self, person: &PersonRef) -> String {
        match person {
            PersonRef::Registration {
                scheme,
                registration_number,
            } => {
                if self.catalog.contains(scheme) {
                    format!("no {scheme} holder has registration number {registration_number}")
                } else {
                    self.catalog.unknown(scheme)
                }
            }
            PersonRef::Email(email) => format!("no professional has the email {email}"),
            PersonRef::Professional(id) => format!("no professional {id}"),
        }
    }
}

/// `full` points for the whole course, scaled to `hours` of its `course_hours`, rounded down to
/// the hundredth.
fn scaled(full: Points, hours: Points, course_hours: Points) -> Points {
    if !course_hours.is_positive() {
        return full;
    }
    let hundredths = i128::from(full.hundredths()) * i128::from(hours.hundredths())
        / i128::from(course_hours.hundredths());
    Points::from_hundredths(i64::try_from(hundredths).unwrap_or(full.hundredths()))
}

fn compare(credit_id: Uuid, earlier: &Content, now: &Content) -> RowOutcome {
    let fields = earlier.differences(now);
    if fields.is_empty() {
        RowOutcome::Unchanged { credit_id }
    } else {
        RowOutcome::Conflict { credit_id, fields }
    }
}

/// The day of a completion in the professional's time zone (Asia/Tokyo when theirs is not one).
fn day_of(completed: Completion, time_zone: chrono_tz::Tz) -> NaiveDate {
    match completed {
        Completion::On(day) => day,
        Completion::At(at) => at.with_timezone(&time_zone).date_naive(),
    }
}

/// One reported attendance as its provider reads it back.
#[derive(Debug, Clone)]
pub struct ReportedAttendance {
    pub credit: credits::Model,
    pub course_code: Option<String>,
    pub claims: Vec<credit_claims::Model>,
}

async fn own_credit(
    conn: &impl ConnectionTrait,
    provider_id: Uuid,
    reference: &str,
) -> Result<credits::Model, AttendanceError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    // No reference holds control characters (rows refuse them), and a NUL would not even
    // reach some databases: such a reference is simply not found.
    if reference.chars().any(char::is_control) {
        return Err(AttendanceError::UnknownReference(reference.to_owned()));
    }
    credits::Entity::find()
        .filter(credits::Column::ProviderId.eq(provider_id))
        .filter(credits::Column::ProviderReference.eq(reference))
        .one(conn)
        .await?
        .ok_or_else(|| AttendanceError::UnknownReference(reference.to_owned()))
}

/// The provider's own attendance under `reference`; another provider's is not found, exactly
/// like one that does not exist.
pub async fn get(
    conn: &impl ConnectionTrait,
    provider_id: Uuid,
    reference: &str,
) -> Result<ReportedAttendance, AttendanceError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let credit = own_credit(conn, provider_id, reference).await?;
    let course_code = match credit.course_id {
        Some(id) => courses::Entity::find_by_id(id)
            .one(conn)
            .await?
            .map(|c| c.code),
        None => None,
    };
    let claims = credit_claims::Entity::find()
        .filter(credit_claims::Column::CreditId.eq(credit.id))
        .order_by_asc(credit_claims::Column::SchemeId)
        .all(conn)
        .await?;
    Ok(ReportedAttendance {
        credit,
        course_code,
        claims,
    })
}

/// The provider's reported attendance in the order it was reported, `limit` at a time after the
/// credit with id `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    provider_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<ReportedAttendance>, AttendanceError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query = credits::Entity::find()
        .filter(credits::Column::ProviderId.eq(provider_id))
        .order_by_asc(credits::Column::Id);
    if let Some(after) = after {
        query = query.filter(credits::Column::Id.gt(after));
    }
    let found = query.limit(limit).all(conn).await?;
    let course_ids: Vec<Vec<Value>> = found
        .iter()
        .filter_map(|c| c.course_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .map(|id| vec![id.into()])
        .collect();
    let codes: HashMap<Uuid, String> =
        bulk_write::find_by_keys::<courses::Entity>(conn, &[courses::Column::Id], course_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c.code))
            .collect();
    let credit_ids: Vec<Vec<Value>> = found.iter().map(|c| vec![c.id.into()]).collect();
    let mut claims: HashMap<Uuid, Vec<credit_claims::Model>> = HashMap::new();
    for claim in bulk_write::find_by_keys::<credit_claims::Entity>(
        conn,
        &[credit_claims::Column::CreditId],
        credit_ids,
    )
    .await?
    {
        claims.entry(claim.credit_id).or_default().push(claim);
    }
    Ok(found
        .into_iter()
        .map(|credit| {
            let mut own = claims.remove(&credit.id).unwrap_or_default();
            own.sort_by(|a, b| a.scheme_id.cmp(&b.scheme_id));
            ReportedAttendance {
                course_code: credit.course_id.and_then(|id| codes.get(&id).cloned()),
                claims: own,
                credit,
            }
        })
        .collect())
}

/// Withdraws the provider's attendance under `reference`: its credit is voided through the
/// ledger (the entry stays, marked voided with the reason) and stops counting.
pub async fn void(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    provider_id: Uuid,
    reference: &str,
    actor: &Actor,
) -> Result<ReportedAttendance, AttendanceError> {
    let txn = begin_write(db).await?;
    void_in(
        &txn,
        catalog,
        provider_id,
        reference,
        "withdrawn by the provider",
        actor,
    )
    .await?;
    let reported = get(&txn, provider_id, reference).await?;
    txn.commit().await?;
    Ok(reported)
}

/// [`void`] inside the caller's transaction, keeping the standing projection current.
pub async fn void_in(
    conn: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    provider_id: Uuid,
    reference: &str,
    reason: &str,
    actor: &Actor,
) -> Result<credits::Model, AttendanceError> {
    let credit = own_credit(conn, provider_id, reference).await?;
    if credit.state == CreditState::Voided {
        return Err(AttendanceError::AlreadyVoided(reference.to_owned()));
    }
    let voided = crate::services::ledger::void_in(conn, credit.id, reason, actor).await?;
    standing_projection::refresh(conn, catalog, &[voided.professional_id]).await?;
    Ok(voided)
}
