//! `/v1/provider`: an accredited course provider's system publishes its catalogue and reports
//! attendance. Every record here is the calling provider's own: another provider's course or
//! attendance answers 404, exactly like one that does not exist.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::points::Points;
use crate::http::admin::{AccreditationView, PageQuery, next_after};
use crate::http::callers::ClientCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::problem::Problem;
use crate::services::attendance::{self, MAX_ROWS, RowOutcome, rows};
use crate::services::courses::{self, Award, Course, CourseInput, Delivery, Fee};
use crate::services::providers;

/// Largest attendance upload: 5,000 rows of CSV or JSON fit well within it.
pub const ATTENDANCE_BODY_LIMIT: usize = 8 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(own_provider))
        .routes(routes!(list_courses, create_course))
        .routes(routes!(get_course, update_course, retire_course))
        .routes(routes!(report_attendance, list_attendance))
        .routes(routes!(get_attendance, void_attendance))
        .layer(DefaultBodyLimit::max(ATTENDANCE_BODY_LIMIT))
}

/// The calling client's provider, refusing other kinds of client and missing scopes.
#[allow(
    clippy::result_large_err,
    reason = "Problem is the rejection every extractor and handler answers with"
)]
fn provider_of(caller: &ClientCaller, write: bool) -> Result<Uuid, Problem> {
    let provider_id = caller.provider_id()?;
    // Reading takes `provider:read`, or `provider:write` in its place.
    if write || caller.require("provider:read").is_err() {
        caller.require("provider:write")?;
    }
    Ok(provider_id)
}

/// The provider as the certification body has registered and accredited it.
#[derive(Serialize, ToSchema)]
pub struct ProviderProfile {
    pub id: Uuid,
    pub name: String,
    /// `pending`, `approved` or `suspended`.
    #[schema(value_type = String, example = "approved")]
    pub status: providers::ProviderStatus,
    pub accreditations: Vec<AccreditationView>,
}

/// The calling provider and what it is accredited to award (scope `provider:read` or
/// `provider:write`).
#[utoipa::path(get, path = "/v1/provider", tag = "provider",
    security(("bearer" = ["provider:read"])),
    responses(
        (status = 200, description = "The provider", body = ProviderProfile),
        (status = 403, description = "Not a provider client, or the scope is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn own_provider(
    State(state): State<AppState>,
    caller: ClientCaller,
) -> Result<Json<ProviderProfile>, Problem> {
    let id = provider_of(&caller, false)?;
    let provider = providers::get_provider(&state.db, id).await?;
    Ok(Json(ProviderProfile {
        id: provider.id,
        name: provider.name,
        status: provider.status,
        accreditations: provider
            .accreditations
            .0
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

/// A course's title in English and, optionally, Japanese.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Title {
    pub en: String,
    #[serde(default)]
    pub ja: Option<String>,
}

/// A course as the provider describes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseBody {
    /// The provider's own code for the course, unique in its catalogue; attendance names it.
    pub code: String,
    pub title: Title,
    /// Length of the course in hours.
    #[schema(value_type = f64, example = 3.5)]
    pub hours: Points,
    pub delivery: Delivery,
    #[serde(default)]
    pub fee: Option<Fee>,
    /// The language it is taught in, e.g. `ja`.
    #[serde(default)]
    pub language: Option<String>,
    /// NICE Framework work role ids, e.g. `PD-WRL-004`.
    #[serde(default)]
    pub nice_work_roles: Vec<String>,
    /// The days the course is next held (at most 100); leave out for a course without dated
    /// sessions, such as one on demand. Renewal plans propose courses held in the future.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub sessions: Vec<NaiveDate>,
    /// What the course awards, once per scheme.
    pub awards: Vec<Award>,
}

impl From<CourseBody> for CourseInput {
    fn from(b: CourseBody) -> Self {
        Self {
            code: b.code,
            title_en: b.title.en,
            title_ja: b.title.ja,
            hours: b.hours,
            delivery: b.delivery,
            fee: b.fee,
            language: b.language,
            nice_work_roles: b.nice_work_roles,
            sessions: b.sessions,
            awards: b.awards,
        }
    }
}

/// A course in the catalogue.
#[derive(Serialize, ToSchema)]
pub struct CourseView {
    pub id: Uuid,
    pub code: String,
    pub title: Title,
    #[schema(value_type = f64)]
    pub hours: Points,
    pub delivery: Delivery,
    pub fee: Option<Fee>,
    pub language: Option<String>,
    pub nice_work_roles: Vec<String>,
    /// The days the course is held, earliest first.
    pub sessions: Vec<NaiveDate>,
    pub awards: Vec<Award>,
    pub created_at: DateTime<Utc>,
}

impl From<Course> for CourseView {
    fn from(c: Course) -> Self {
        Self {
            delivery: c.delivery(),
            fee: c.fee(),
            nice_work_roles: c.nice_work_roles(),
            sessions: c.sessions(),
            id: c.course.id,
            code: c.course.code,
            title: Title {
                en: c.course.title,
                ja: c.course.title_ja,
            },
            hours: Points::from_hundredths(c.course.hours),
            language: c.course.language,
            awards: c.awards,
            created_at: c.course.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CoursePage {
    pub items: Vec<CourseView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

/// The provider's catalogue, in the order the courses were published.
#[utoipa::path(get, path = "/v1/provider/courses", tag = "provider",
    params(PageQuery),
    security(("bearer" = ["provider:read"])),
    responses((status = 200, description = "One page", body = CoursePage)))]
pub async fn list_courses(
    State(state): State<AppState>,
    caller: ClientCaller,
    Query(page): Query<PageQuery>,
) -> Result<Json<CoursePage>, Problem> {
    let provider_id = provider_of(&caller, false)?;
    let limit = page.limit()?;
    let items: Vec<CourseView> = courses::list(&state.db, provider_id, page.after, limit)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let next_after = next_after(&items, limit, |c| c.id);
    Ok(Json(CoursePage { items, next_after }))
}

/// Publish a course (scope `provider:write`). Every award must be one its scheme can place and
/// the provider is accredited for.
#[utoipa::path(post, path = "/v1/provider/courses", tag = "provider",
    request_body = CourseBody,
    security(("bearer" = ["provider:write"])),
    responses(
        (status = 201, description = "Published", body = CourseView),
        (status = 409, description = "The code is taken", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_course(
    State(state): State<AppState>,
    caller: ClientCaller,
    body: Result<Json<CourseBody>, Problem>,
) -> Result<(StatusCode, Json<CourseView>), Problem> {
    // Who is asking is settled before the body is read: a stranger learns nothing from it.
    let provider_id = provider_of(&caller, true)?;
    let Json(body) = body?;
    let course = courses::create(
        &state.db,
        &state.schemes,
        &caller.actor(),
        provider_id,
        body.into(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(course.into())))
}

/// One course of the catalogue.
#[utoipa::path(get, path = "/v1/provider/courses/{id}", tag = "provider",
    params(("id" = Uuid, Path, description = "The course's id")),
    security(("bearer" = ["provider:read"])),
    responses(
        (status = 200, description = "The course", body = CourseView),
        (status = 404, description = "No such course in this catalogue", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_course(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<Uuid>,
) -> Result<Json<CourseView>, Problem> {
    let provider_id = provider_of(&caller, false)?;
    Ok(Json(
        courses::own_course(&state.db, provider_id, id)
            .await?
            .into(),
    ))
}

/// Replace a course's description and awards (scope `provider:write`). Credits already
/// recorded keep what they were awarded.
#[utoipa::path(put, path = "/v1/provider/courses/{id}", tag = "provider",
    params(("id" = Uuid, Path, description = "The course's id")),
    request_body = CourseBody,
    security(("bearer" = ["provider:write"])),
    responses(
        (status = 200, description = "The course as it is now", body = CourseView),
        (status = 404, description = "No such course in this catalogue", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_course(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<Uuid>,
    body: Result<Json<CourseBody>, Problem>,
) -> Result<Json<CourseView>, Problem> {
    let provider_id = provider_of(&caller, true)?;
    // Another provider's course is not found, whatever the body says.
    courses::own_course(&state.db, provider_id, id).await?;
    let Json(body) = body?;
    let course = courses::update(
        &state.db,
        &state.schemes,
        &caller.actor(),
        provider_id,
        id,
        body.into(),
    )
    .await?;
    Ok(Json(course.into()))
}

/// Withdraw a course from the catalogue (scope `provider:write`). It takes no more attendance;
/// credits already recorded stay.
#[utoipa::path(delete, path = "/v1/provider/courses/{id}", tag = "provider",
    params(("id" = Uuid, Path, description = "The course's id")),
    security(("bearer" = ["provider:write"])),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 404, description = "No such course in this catalogue", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retire_course(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    let provider_id = provider_of(&caller, true)?;
    courses::retire(&state.db, &caller.actor(), provider_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One attendance row of a JSON batch. Name the person by `scheme` + `registration_number`, or
/// by `email`. The same fields, headed in English or Japanese, are the columns of a CSV upload.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code, reason = "a schema only: rows are read one by one")]
pub struct AttendanceRowSchema {
    /// The provider's own id for this attendance; re-sending it never creates a second credit.
    reference: String,
    /// The course's code in the catalogue.
    course: String,
    scheme: Option<String>,
    registration_number: Option<String>,
    email: Option<String>,
    /// `2026-11-30T15:00:00+09:00`, or a day `2026-11-30` read in the person's time zone.
    completed: String,
    /// Hours attended, when less than the course's; the points scale with them.
    #[schema(value_type = Option<f64>)]
    hours: Option<Points>,
    /// Points to award in each scheme in place of the course's full award.
    #[schema(value_type = Option<f64>)]
    points: Option<Points>,
}

/// A JSON batch of attendance.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceBatch {
    /// 1 to 5,000 rows.
    #[schema(value_type = Vec<AttendanceRowSchema>, max_items = 5000)]
    pub rows: Vec<serde_json::Value>,
}

/// The answer for one row.
#[derive(Serialize, ToSchema)]
pub struct RowResult {
    /// 1-based position among the rows (a CSV file's header is not counted).
    pub row: usize,
    pub reference: Option<String>,
    /// `created`, `unchanged`, `conflict` or `rejected`.
    #[schema(example = "created")]
    pub outcome: &'static str,
    /// The credit the row is recorded as (absent when rejected).
    pub credit_id: Option<Uuid>,
    /// For a conflict: the fields that differ from what this reference was reported with.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// For a rejection: the field at fault, and why.
    pub field: Option<String>,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema, Default)]
pub struct Summary {
    pub created: usize,
    pub unchanged: usize,
    pub conflict: usize,
    pub rejected: usize,
}

/// One result per row, in the order sent.
#[derive(Serialize, ToSchema)]
pub struct AttendanceReport {
    pub summary: Summary,
    pub results: Vec<RowResult>,
}

/// The per-row report of a batch, as the API and the upload page show it.
pub fn report(reported: &[rows::Reported], outcomes: Vec<RowOutcome>) -> AttendanceReport {
    let mut summary = Summary::default();
    let results = outcomes
        .into_iter()
        .zip(reported)
        .enumerate()
        .map(|(i, (outcome, row))| {
            let mut result = RowResult {
                row: i + 1,
                reference: row.as_ref().ok().map(|r| r.reference.clone()),
                outcome: "created",
                credit_id: None,
                fields: Vec::new(),
                field: None,
                reason: None,
            };
            match outcome {
                RowOutcome::Created { credit_id } => {
                    summary.created += 1;
                    result.credit_id = Some(credit_id);
                }
                RowOutcome::Unchanged { credit_id } => {
                    summary.unchanged += 1;
                    result.outcome = "unchanged";
                    result.credit_id = Some(credit_id);
                }
                RowOutcome::Conflict { credit_id, fields } => {
                    summary.conflict += 1;
                    result.outcome = "conflict";
                    result.credit_id = Some(credit_id);
                    result.fields = fields;
                }
                RowOutcome::Rejected(rejection) => {
                    summary.rejected += 1;
                    result.outcome = "rejected";
                    result.field = Some(rejection.field);
                    result.reason = Some(rejection.reason);
                }
            }
            result
        })
        .collect();
    AttendanceReport { summary, results }
}

/// The rows of a request body: a JSON batch, or a CSV file.
#[allow(
    clippy::result_large_err,
    reason = "Problem is the rejection every extractor and handler answers with"
)]
pub fn read_rows(content_type: &str, body: &[u8]) -> Result<Vec<rows::Reported>, Problem> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let reported = match essence.as_str() {
        "text/csv" => rows::from_csv(body, MAX_ROWS)
            .map_err(|e| Problem::invalid_field(e.field, e.message))?,
        "application/json" => {
            let batch: AttendanceBatch = serde_json::from_slice(body).map_err(|e| {
                Problem::invalid_field("rows", format!("the body is not an attendance batch: {e}"))
            })?;
            if batch.rows.len() > MAX_ROWS {
                return Err(Problem::invalid_field(
                    "rows",
                    format!("at most {MAX_ROWS} rows per request; send the rest in another"),
                ));
            }
            rows::from_json(&batch.rows)
        }
        _ => {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/json (an attendance batch) or text/csv",
            ));
        }
    };
    if reported.is_empty() {
        return Err(Problem::invalid_field("rows", "the batch has no rows"));
    }
    Ok(reported)
}

/// Report attendance (scope `provider:write`): a JSON batch, or a CSV file (UTF-8 with or
/// without BOM, or Shift_JIS) with a header row in English or Japanese. Accepted rows are
/// written in one transaction; each row gets its own answer. Re-sending creates nothing new.
#[utoipa::path(post, path = "/v1/provider/attendance", tag = "provider",
    request_body(content(
        (AttendanceBatch = "application/json"),
        (String = "text/csv", example = "reference,course,scheme,registration_number,completed\nA-1,SEC-101,cissp,123456,2026-11-30\n"),
    )),
    security(("bearer" = ["provider:write"])),
    responses(
        (status = 200, description = "One result per row", body = AttendanceReport),
        (status = 413, description = "The body is over 8 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report_attendance(
    State(state): State<AppState>,
    caller: ClientCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<AttendanceReport>, Problem> {
    let provider_id = provider_of(&caller, true)?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let reported = read_rows(content_type, &body)?;
    let outcomes = attendance::ingest(
        &state.db,
        &state.schemes,
        provider_id,
        &caller.client.client_id,
        reported.clone(),
    )
    .await?;
    Ok(Json(report(&reported, outcomes)))
}

/// What a reported attendance claims in one scheme.
#[derive(Serialize, ToSchema)]
pub struct ClaimView {
    pub scheme: String,
    pub activity_type: String,
    pub category: Option<String>,
    #[schema(value_type = f64)]
    pub points: Points,
}

/// One reported attendance.
#[derive(Serialize, ToSchema)]
pub struct AttendanceView {
    pub reference: String,
    pub course: Option<String>,
    pub credit_id: Uuid,
    /// The day it counts on, in the person's time zone.
    pub completed_on: NaiveDate,
    /// The instant reported, when one was.
    pub completed_at: Option<DateTime<Utc>>,
    #[schema(value_type = f64)]
    pub hours: Points,
    /// `approved` or `voided`.
    #[schema(example = "approved")]
    pub state: String,
    pub claims: Vec<ClaimView>,
    pub reported_at: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
}

impl From<attendance::ReportedAttendance> for AttendanceView {
    fn from(r: attendance::ReportedAttendance) -> Self {
        Self {
            reference: r.credit.provider_reference.unwrap_or_default(),
            course: r.course_code,
            credit_id: r.credit.id,
            completed_on: r.credit.completed_on,
            completed_at: r.credit.completed_at,
            hours: Points::from_hundredths(r.credit.hours),
            state: serde_json::to_value(r.credit.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            claims: r
                .claims
                .into_iter()
                .map(|c| ClaimView {
                    scheme: c.scheme_id,
                    activity_type: c.activity_type,
                    category: Some(c.category).filter(|c| !c.is_empty()),
                    points: Points::from_hundredths(c.points),
                })
                .collect(),
            reported_at: r.credit.created_at,
            voided_at: r.credit.voided_at,
        }
    }
}

/// One page of the provider's attendance, oldest report first.
#[derive(Serialize, ToSchema)]
pub struct AttendancePage {
    pub items: Vec<AttendanceView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

/// `after` and `limit` as for every list, and the format of the answer.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttendanceQuery {
    /// Return attendance whose credit id follows this one (a page's `next_after`).
    after: Option<Uuid>,
    /// Page size, 1 to 200 (default 100).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
    /// `json` (default) or `csv`: a spreadsheet-safe CSV, with formula-like cells neutralised.
    format: Option<ExportFormat>,
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
}

/// The CSV export of attendance: one line per reported row, cells that a spreadsheet would read
/// as a formula prefixed so they stay text.
pub fn attendance_csv(items: &[AttendanceView]) -> Vec<u8> {
    use crate::services::csv_text::neutralise;
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let header = [
        "reference",
        "course",
        "credit_id",
        "completed_on",
        "completed_at",
        "hours",
        "state",
        "claims",
        "reported_at",
    ];
    // Writing into memory cannot fail; an error here would be a bug, not input.
    let _ = out.write_record(header);
    for item in items {
        let claims: Vec<String> = item
            .claims
            .iter()
            .map(|c| match &c.category {
                Some(category) => {
                    format!("{}:{}:{}={}", c.scheme, c.activity_type, category, c.points)
                }
                None => format!("{}:{}", c.scheme, c.activity_type),
            })
            .collect();
        let cells = [
            item.reference.clone(),
            item.course.clone().unwrap_or_default(),
            item.credit_id.to_string(),
            item.completed_on.to_string(),
            item.completed_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            item.hours.to_string(),
            item.state.clone(),
            claims.join(" "),
            item.reported_at.to_rfc3339(),
        ];
        let _ = out.write_record(cells.iter().map(|cell| neutralise(cell).into_owned()));
    }
    out.into_inner().unwrap_or_default()
}

/// The provider's attendance, oldest report first, as JSON pages or as CSV (`format=csv`).
#[utoipa::path(get, path = "/v1/provider/attendance", tag = "provider",
    params(AttendanceQuery),
    security(("bearer" = ["provider:read"])),
    responses(
        (status = 200, description = "One page", content(
            (AttendancePage = "application/json"),
            (String = "text/csv"),
        )),
    ))]
pub async fn list_attendance(
    State(state): State<AppState>,
    caller: ClientCaller,
    Query(query): Query<AttendanceQuery>,
) -> Result<axum::response::Response, Problem> {
    use axum::response::IntoResponse;
    let provider_id = provider_of(&caller, false)?;
    let limit = PageQuery {
        after: query.after,
        limit: query.limit,
    }
    .limit()?;
    let items: Vec<AttendanceView> = attendance::list(&state.db, provider_id, query.after, limit)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let next_after = next_after(&items, limit, |a| a.credit_id);
    Ok(match query.format.unwrap_or(ExportFormat::Json) {
        ExportFormat::Json => Json(AttendancePage { items, next_after }).into_response(),
        ExportFormat::Csv => {
            let mut response = (
                [(CONTENT_TYPE, "text/csv; charset=utf-8")],
                attendance_csv(&items),
            )
                .into_response();
            if let Some(next) = next_after
                && let Ok(value) = axum::http::HeaderValue::from_str(&format!(
                    "</v1/provider/attendance?format=csv&after={next}&limit={limit}>; rel=\"next\""
                ))
            {
                response
                    .headers_mut()
                    .insert(axum::http::header::LINK, value);
            }
            response
        }
    })
}

/// One attendance the provider reported, by its reference.
#[utoipa::path(get, path = "/v1/provider/attendance/{reference}", tag = "provider",
    params(("reference" = String, Path, description = "The provider's own reference")),
    security(("bearer" = ["provider:read"])),
    responses(
        (status = 200, description = "The attendance and the credit it became", body = AttendanceView),
        (status = 404, description = "This provider reported nothing under that reference", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_attendance(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(reference): Path<String>,
) -> Result<Json<AttendanceView>, Problem> {
    let provider_id = provider_of(&caller, false)?;
    Ok(Json(
        attendance::get(&state.db, provider_id, &reference)
            .await?
            .into(),
    ))
}

/// Withdraw an attendance (scope `provider:write`): its credit is voided through the ledger and
/// stops counting toward standing.
#[utoipa::path(delete, path = "/v1/provider/attendance/{reference}", tag = "provider",
    params(("reference" = String, Path, description = "The provider's own reference")),
    security(("bearer" = ["provider:write"])),
    responses(
        (status = 200, description = "The attendance, now voided", body = AttendanceView),
        (status = 404, description = "This provider reported nothing under that reference", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already withdrawn", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn void_attendance(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(reference): Path<String>,
) -> Result<Json<AttendanceView>, Problem> {
    let provider_id = provider_of(&caller, true)?;
    Ok(Json(
        attendance::void(
            &state.db,
            &state.schemes,
            provider_id,
            &reference,
            &caller.actor(),
        )
        .await?
        .into(),
    ))
}
