//! `/v1/me/credits` and `/v1/me/evidence`: a professional reports an activity of their own, sees
//! beforehand how it would count toward each of their holdings, and keeps the evidence for it.
//!
//! Evidence is uploaded as the raw request body (not multipart): `POST /v1/me/evidence` with
//! the file's bytes, its type (`application/pdf`, `image/png`, `image/jpeg`) or
//! `application/octet-stream` as `Content-Type`, and optionally `?file_name=`. The type is read
//! from the content; a name or declared type that says otherwise is refused.
//!
//! A credit or evidence id that is not the caller's answers 404, exactly like one that does not
//! exist.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use entity::credit_reviews::ReviewDecision;
use entity::credits::{CreditSource, CreditState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::points::Points;
use crate::domain::self_report::{ClaimRequest, NothingReason};
use crate::http::callers::ProfessionalCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::problem::Problem;
use crate::services::audit::Actor;
use crate::services::evidence::{self, Declared, EvidenceMeta, MAX_BYTES};
use crate::services::self_report::{self, Draft, OwnCredit, Preview};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_credits, report_credit))
        .routes(routes!(preview_allocation))
        .routes(routes!(get_credit, edit_credit, withdraw_credit))
        .routes(routes!(upload_evidence))
        .routes(routes!(get_evidence))
}

/// One scheme's part of the activity. Every field but `scheme` may be left out; the proposal
/// fills it in (the scheme's proposed activity type, the category that type counts in, one
/// point per hour).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    /// Scheme id, e.g. `cissp`.
    #[schema(min_length = 1, max_length = 64)]
    pub scheme: String,
    /// The activity type in this scheme's words (CISSP `education`, CISA `training`).
    #[schema(max_length = 64)]
    pub activity_type: Option<String>,
    /// The scheme's category; leave it out for a scheme that counts no points (RISS).
    #[schema(max_length = 64)]
    pub category: Option<String>,
    /// Points claimed; leave them out for one point per hour (or none, for RISS).
    pub points: Option<Points>,
}

/// An activity the professional reports.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditReport {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Who delivered it.
    #[schema(min_length = 1, max_length = 200)]
    pub provider_name: String,
    /// The day it was completed, as a day of the professional's calendar (their time zone).
    pub completed_on: NaiveDate,
    /// Hours spent, more than 0 and at most 1000.
    pub hours: Points,
    /// Explicit claims, one or more per scheme; left out: the proposal for every scheme the
    /// caller holds (see `POST /v1/me/credits/allocation`).
    #[schema(max_items = 20)]
    pub claims: Option<Vec<ClaimInput>>,
    /// An evidence file uploaded to `POST /v1/me/evidence`; required where a scheme's
    /// activity type asks for one.
    pub evidence_id: Option<Uuid>,
}

const MAX_CLAIMS: usize = 20;

impl CreditReport {
    #[allow(
        clippy::result_large_err,
        reason = "Problem is what every handler answers with; boxing it here alone gains nothing"
    )]
    fn into_draft(self) -> Result<Draft, Problem> {
        if self.claims.as_ref().is_some_and(|c| c.len() > MAX_CLAIMS) {
            return Err(Problem::invalid_field(
                "claims",
                format!("at most {MAX_CLAIMS} claims"),
            ));
        }
        Ok(Draft {
            title: self.title,
            provider_name: self.provider_name,
            completed_on: self.completed_on,
            hours: self.hours,
            claims: self.claims.map(|claims| {
                claims
                    .into_iter()
                    .map(|c| ClaimRequest {
                        scheme: c.scheme,
                        activity_type: c.activity_type,
                        category: c.category,
                        points: c.points,
                    })
                    .collect()
            }),
            evidence_id: self.evidence_id,
        })
    }
}

/// Who reported a credit.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceView {
    Provider,
    #[serde(rename = "self")]
    SelfReported,
    Admin,
}

impl From<CreditSource> for SourceView {
    fn from(s: CreditSource) -> Self {
        match s {
            CreditSource::Provider => Self::Provider,
            CreditSource::SelfReported => Self::SelfReported,
            CreditSource::Admin => Self::Admin,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StateView {
    Pending,
    Approved,
    Rejected,
    Voided,
}

impl From<CreditState> for StateView {
    fn from(s: CreditState) -> Self {
        match s {
            CreditState::Pending => Self::Pending,
            CreditState::Approved => Self::Approved,
            CreditState::Rejected => Self::Rejected,
            CreditState::Voided => Self::Voided,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DecisionView {
    Approve,
    Reject,
}

impl From<ReviewDecision> for DecisionView {
    fn from(d: ReviewDecision) -> Self {
        match d {
            ReviewDecision::Approve => Self::Approve,
            ReviewDecision::Reject => Self::Reject,
        }
    }
}

/// Points a credit claims in one category of one scheme.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimView {
    pub scheme: String,
    pub activity_type: String,
    pub category: String,
    pub points: Points,
}

/// The latest staff decision on a credit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewView {
    pub decision: DecisionView,
    pub reason: Option<String>,
    pub reviewed_at: DateTime<Utc>,
}

/// One of the caller's credits, of any source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreditView {
    pub id: Uuid,
    pub title: String,
    /// The provider as the professional named it (self-reported credits).
    pub provider_name: Option<String>,
    pub completed_on: NaiveDate,
    pub hours: Points,
    /// The activity type the credit was recorded with.
    pub activity_type: String,
    pub source: SourceView,
    pub state: StateView,
    pub claims: Vec<ClaimView>,
    pub evidence: Option<EvidenceMeta>,
    /// The entry this one replaced (an edit, or a staff correction).
    pub replaces_credit_id: Option<Uuid>,
    /// Why it was voided (withdrawn, edited, corrected).
    pub void_reason: Option<String>,
    pub review: Option<ReviewView>,
    pub created_at: DateTime<Utc>,
}

impl From<OwnCredit> for CreditView {
    fn from(c: OwnCredit) -> Self {
        Self {
            id: c.id,
            title: c.title,
            provider_name: c.provider_name,
            completed_on: c.completed_on,
            hours: c.hours,
            activity_type: c.activity_type,
            source: c.source.into(),
            state: c.state.into(),
            claims: c
                .claims
                .into_iter()
                .map(|l| ClaimView {
                    scheme: l.scheme,
                    activity_type: l.activity_type,
                    category: l.category,
                    points: l.points,
                })
                .collect(),
            evidence: c.evidence,
            replaces_credit_id: c.replaces_credit_id,
            void_reason: c.void_reason,
            review: c.review.map(|r| ReviewView {
                decision: r.decision.into(),
                reason: r.reason,
                reviewed_at: r.reviewed_at,
            }),
            created_at: c.created_at,
        }
    }
}

/// A claim as it would be recorded; `category` and `points` are null for a claim that fills a
/// slot of a scheme without points (RISS).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposedClaimView {
    pub scheme: String,
    pub activity_type: String,
    pub category: Option<String>,
    pub points: Option<Points>,
}

/// What one category of one holding would count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlacedClaimView {
    pub category: String,
    pub claimed: Points,
    /// After rounding and caps.
    pub counted: Points,
}

/// The activity as one of the caller's holdings would see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlacementView {
    pub holding_id: Uuid,
    pub scheme: String,
    /// The activity type in this scheme's words; null when it claims nothing here.
    pub activity_type: Option<String>,
    pub claims: Vec<PlacedClaimView>,
    /// Slots of the cycle it would fill.
    pub fills_slots: Vec<String>,
    /// Points that would count, once approved.
    pub counted: Points,
    /// Why it would count for nothing here; null when it counts.
    pub nothing: Option<NothingReason>,
}

/// How the activity would be recorded and where it would count. Nothing is written.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllocationPreview {
    /// The activity type the credit itself would be recorded with.
    pub activity_type: String,
    /// The claims saving would record; send them back as `claims` to adjust them.
    pub claims: Vec<ProposedClaimView>,
    /// `pending` when a scheme claimed toward reviews self-reported credits first.
    pub state: StateView,
    /// Schemes whose activity type asks for an evidence file.
    pub evidence_required: Vec<String>,
    pub holdings: Vec<PlacementView>,
}

impl From<Preview> for AllocationPreview {
    fn from(p: Preview) -> Self {
        Self {
            activity_type: p.activity_type,
            claims: p
                .claims
                .into_iter()
                .map(|c| ProposedClaimView {
                    scheme: c.scheme,
                    activity_type: c.activity_type,
                    category: c.category,
                    points: c.points,
                })
                .collect(),
            state: p.state.into(),
            evidence_required: p.evidence_required,
            holdings: p
                .placements
                .into_iter()
                .filter_map(|pl| {
                    Some(PlacementView {
                        holding_id: pl.holding_id.parse().ok()?,
                        scheme: pl.scheme_id,
                        activity_type: pl.activity_type,
                        claims: pl
                            .claims
                            .into_iter()
                            .map(|c| PlacedClaimView {
                                category: c.category,
                                claimed: c.claimed,
                                counted: c.counted,
                            })
                            .collect(),
                        fills_slots: pl.fills_slots,
                        counted: pl.counted,
                        nothing: pl.nothing,
                    })
                })
                .collect(),
        }
    }
}

/// Largest page of credits.
const MAX_PAGE: u64 = 200;

/// Newest first; pass the previous page's `next_before` as `before`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreditPageQuery {
    /// Return credits recorded before the one with this id.
    before: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct CreditPage {
    pub items: Vec<CreditView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<Uuid>,
}

/// The caller's credits of every source and state, newest first.
#[utoipa::path(get, path = "/v1/me/credits", tag = "me", security(("bearer" = [])),
    params(CreditPageQuery),
    responses(
        (status = 200, description = "One page of the caller's credits", body = CreditPage),
    ))]
pub async fn list_credits(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    query: Result<Query<CreditPageQuery>, Problem>,
) -> Result<Json<CreditPage>, Problem> {
    let Query(page) = query?;
    let limit = match page.limit {
        None => 50,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(Problem::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
    };
    let items: Vec<CreditView> =
        self_report::list_own(&state.db, caller.professional_id, page.before, limit)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
    let next_before = (items.len() as u64 == limit)
        .then(|| items.last().map(|c| c.id))
        .flatten();
    Ok(Json(CreditPage { items, next_before }))
}

/// Report an activity. It is recorded with source `self`, `pending` when a scheme it claims
/// toward reviews self-reported credits first, else `approved`. Claims left out are those the
/// allocation preview proposes, so saving records what the preview showed.
#[utoipa::path(post, path = "/v1/me/credits", tag = "me", security(("bearer" = [])),
    request_body = CreditReport,
    responses(
        (status = 201, description = "Recorded", body = CreditView),
        (status = 422, description = "A field is refused (a claim its scheme cannot place, missing evidence); `errors` names it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report_credit(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Json(body): Json<CreditReport>,
) -> Result<(StatusCode, Json<CreditView>), Problem> {
    let draft = body.into_draft()?;
    let credit = self_report::record(
        &state.db,
        &state.schemes,
        &Actor::user(caller.user.id),
        caller.professional_id,
        &draft,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(credit.into())))
}

/// How an activity would be allocated across the caller's holdings under each scheme's
/// rules: per holding the activity type, the categories and points that would count, or why
/// it gets nothing. Writes nothing.
#[utoipa::path(post, path = "/v1/me/credits/allocation", tag = "me", security(("bearer" = [])),
    request_body = CreditReport,
    responses(
        (status = 200, description = "The allocation the activity would get", body = AllocationPreview),
        (status = 422, description = "A field is refused; `errors` names it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn preview_allocation(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Json(body): Json<CreditReport>,
) -> Result<Json<AllocationPreview>, Problem> {
    let draft = body.into_draft()?;
    let preview =
        self_report::preview(&state.db, &state.schemes, caller.professional_id, &draft).await?;
    Ok(Json(preview.into()))
}

/// One of the caller's credits.
#[utoipa::path(get, path = "/v1/me/credits/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The credit's id")),
    responses(
        (status = 200, description = "The credit", body = CreditView),
        (status = 404, description = "No such credit among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_credit(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
) -> Result<Json<CreditView>, Problem> {
    let credit = self_report::own(&state.db, caller.professional_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("credit"))?;
    Ok(Json(credit.into()))
}

/// Edit the caller's own pending self-reported credit. The ledger keeps its history: the
/// pending entry is voided and the edited one recorded in its place (a new id, naming the
/// old one in `replaces_credit_id`). An approved credit answers 409: it is corrected only by
/// staff, through the ledger's void-and-replace.
#[utoipa::path(put, path = "/v1/me/credits/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The credit's id")),
    request_body = CreditReport,
    responses(
        (status = 200, description = "The edited credit, recorded in place of the old one", body = CreditView),
        (status = 404, description = "No such credit among the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The credit is not pending (approved, rejected or voided) or was not self-reported", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn edit_credit(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
    body: Result<Json<CreditReport>, Problem>,
) -> Result<Json<CreditView>, Problem> {
    // Someone else's credit is not found, whatever the body says.
    self_report::own(&state.db, caller.professional_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("credit"))?;
    let Json(body) = body?;
    let draft = body.into_draft()?;
    let credit = self_report::edit(
        &state.db,
        &state.schemes,
        &Actor::user(caller.user.id),
        caller.professional_id,
        id,
        &draft,
    )
    .await?;
    Ok(Json(credit.into()))
}

/// Withdraw the caller's own pending self-reported credit: it is voided and no longer counts.
/// An approved credit answers 409.
#[utoipa::path(delete, path = "/v1/me/credits/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The credit's id")),
    responses(
        (status = 200, description = "The credit, voided", body = CreditView),
        (status = 404, description = "No such credit among the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The credit is not pending or was not self-reported", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn withdraw_credit(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
) -> Result<Json<CreditView>, Problem> {
    let credit = self_report::withdraw(
        &state.db,
        &state.schemes,
        &Actor::user(caller.user.id),
        caller.professional_id,
        id,
    )
    .await?;
    Ok(Json(credit.into()))
}

/// The evidence upload's body, documented as the file it is.
pub struct EvidenceFile;

impl utoipa::PartialSchema for EvidenceFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .description(Some(
                "The file's bytes: a PDF, PNG or JPEG of at most 5 MiB",
            ))
            .into()
    }
}

impl ToSchema for EvidenceFile {}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    /// The file's name on the uploader's machine; its extension must match the content.
    #[param(max_length = 255)]
    file_name: Option<String>,
}

/// Upload an evidence file (the raw body): a PDF, PNG or JPEG of at most 5 MiB, its type read
/// from the content. Attach it to a credit with `evidence_id`. A refused file is not stored.
#[utoipa::path(post, path = "/v1/me/evidence", tag = "me", security(("bearer" = [])),
    params(EvidenceQuery),
    request_body(content(
        (EvidenceFile = "application/pdf"),
        (EvidenceFile = "image/png"),
        (EvidenceFile = "image/jpeg"),
        (EvidenceFile = "application/octet-stream"),
    ), description = "The file's bytes"),
    responses(
        (status = 201, description = "Stored", body = EvidenceMeta),
        (status = 413, description = "Larger than 5 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a PDF, PNG or JPEG, by its content", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The name or the declared type says something other than the content, or the file is empty", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload_evidence(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    query: Result<Query<EvidenceQuery>, Problem>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<EvidenceMeta>), Problem> {
    let Query(query) = query?;
    let bytes = read_limited(body).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let meta = evidence::store(
        &state.db,
        &Actor::user(caller.user.id),
        caller.professional_id,
        bytes,
        Declared {
            file_name: query.file_name.as_deref(),
            content_type,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(meta)))
}

/// The body, at most [`MAX_BYTES`]; 413 beyond.
pub(crate) async fn read_limited(body: Body) -> Result<Vec<u8>, Problem> {
    match axum::body::to_bytes(body, MAX_BYTES).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(e) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(cause) = source {
                if cause.is::<http_body_util::LengthLimitError>() {
                    return Err(evidence::EvidenceError::TooLarge.into());
                }
                source = cause.source();
            }
            Err(Problem::new(
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {e}"),
            )
            .with_type("/problems/invalid-body"))
        }
    }
}

/// One of the caller's evidence files, as it was uploaded.
#[utoipa::path(get, path = "/v1/me/evidence/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The file's id")),
    responses(
        (status = 200, description = "The file", content(
            (EvidenceFile = "application/pdf"),
            (EvidenceFile = "image/png"),
            (EvidenceFile = "image/jpeg"),
        )),
        (status = 404, description = "No such file among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_evidence(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, Problem> {
    let file = evidence::file(&state.db, Some(caller.professional_id), id)
        .await?
        .ok_or_else(|| Problem::not_found("evidence"))?;
    Ok(evidence_response(file))
}

/// The file as a download: its detected type, never sniffed, never cached by the way.
pub(crate) fn evidence_response(file: entity::evidence::Model) -> Response {
    let name = file
        .file_name
        .clone()
        .unwrap_or_else(|| format!("evidence-{}", file.id));
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let mut response = (StatusCode::OK, file.content).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.media_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"evidence-{}\"; filename*=UTF-8''{}",
        file.id,
        encoded.replace('+', "%20")
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
