//! Status credentials over HTTP: a professional issues, lists and revokes their own
//! (`/v1/me/credentials`), a procurement client issues one for a holding it may look up, and
//! anyone verifies one (`POST /v1/credentials/verify`, rate-limited per address).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::{ClientCaller, ProfessionalCaller};
use crate::http::client_ip::ClientIp;
use crate::http::extract::{Json, Path};
use crate::http::problem::Problem;
use crate::services::credentials::{self, Issued, IssuedRecord, Requester, Verdict};
use crate::services::holding_facts::status_str;
use crate::services::{credential_disclosure, disclosures, holdings, throttle};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue_own, list_own))
        .routes(routes!(revoke_own))
        .routes(routes!(issue_for_procurement))
        .routes(routes!(verify))
}

/// Which holding a credential is about.
#[derive(Deserialize, ToSchema)]
pub struct IssueBody {
    /// One of the caller's holdings.
    pub holding_id: Uuid,
}

/// A credential just issued.
#[derive(Serialize, ToSchema)]
pub struct IssuedCredential {
    /// The record's id (the credential's `jti` is `urn:uuid:<id>`); revoke by it.
    pub id: Uuid,
    /// The signed credential: a compact JWS (`typ: vc+jwt`, RS256), verifiable with
    /// `/.well-known/jwks.json` alone.
    pub credential: String,
    /// The public page that shows this credential's verdict.
    pub verify_url: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// What the credential states.
    #[schema(value_type = String, example = "active")]
    pub status: String,
    pub valid_until: Option<NaiveDate>,
}

impl IssuedCredential {
    fn new(state: &AppState, issued: Issued) -> Self {
        Self {
            id: issued.id,
            verify_url: credentials::verify_page_url(&state.config.public_url, &issued.token),
            credential: issued.token,
            issued_at: issued.issued_at,
            expires_at: issued.expires_at,
            status: status_str(issued.facts.status).to_owned(),
            valid_until: issued.facts.valid_until,
        }
    }
}

/// A credential as its holder lists it (never the signed token itself).
#[derive(Serialize, ToSchema)]
pub struct CredentialRecord {
    pub id: Uuid,
    pub holding_id: Uuid,
    pub scheme: String,
    pub registration_number: String,
    /// `professional` (you) or `client` (a procurement system).
    pub requested_by: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When you revoked it; verifiers are told from then on.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<IssuedRecord> for CredentialRecord {
    fn from(r: IssuedRecord) -> Self {
        Self {
            id: r.id,
            holding_id: r.holding_id,
            scheme: r.scheme,
            registration_number: r.registration_number,
            requested_by: r.requested_by,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// Issue a status credential for one of the caller's holdings.
#[utoipa::path(post, path = "/v1/me/credentials", tag = "me", request_body = IssueBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Signed and recorded", body = IssuedCredential),
        (status = 404, description = "No such holding among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn issue_own(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Json(body): Json<IssueBody>,
) -> Result<(StatusCode, Json<IssuedCredential>), Problem> {
    let holding = holdings::owned_by(&state.db, caller.professional_id, body.holding_id)
        .await?
        .ok_or_else(|| Problem::not_found("holding"))?;
    let disclosed =
        credential_disclosure::for_credential(&state.db, &state.schemes, &holding).await?;
    let issued = credentials::issue(
        &state.db,
        &state.schemes,
        &state.credential_keys,
        &state.config.public_url,
        &holding,
        Requester::Professional {
            user_id: caller.user.id,
        },
        disclosed.name,
        disclosed.level,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedCredential::new(&state, issued)),
    ))
}

/// The credentials issued about the caller's holdings, newest first.
#[utoipa::path(get, path = "/v1/me/credentials", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every credential issued about the caller's holdings", body = [CredentialRecord]),
    ))]
pub async fn list_own(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<Json<Vec<CredentialRecord>>, Problem> {
    let records = credentials::of_professional(&state.db, caller.professional_id).await?;
    Ok(Json(records.into_iter().map(Into::into).collect()))
}

/// Revoke one of the caller's credentials; verifiers answer `revoked` from now on. Repeating it
/// changes nothing.
#[utoipa::path(post, path = "/v1/me/credentials/{id}/revoke", tag = "me",
    params(("id" = Uuid, Path, description = "The credential's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The credential, revoked", body = CredentialRecord),
        (status = 404, description = "No such credential among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_own(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
) -> Result<Json<CredentialRecord>, Problem> {
    let actor = crate::services::audit::Actor::user(caller.user.id);
    let record = credentials::revoke(&state.db, caller.professional_id, id, &actor)
        .await?
        .ok_or_else(|| Problem::not_found("credential"))?;
    Ok(Json(record.into()))
}

/// Issue a status credential for a holding, to attach to a decision (scope
/// `procurement:read`). The holder's name is included only when they consented to show it to
/// procurement systems.
#[utoipa::path(post, path = "/v1/procurement/holdings/{scheme}/{registration_number}/credential",
    tag = "procurement",
    params(
        ("scheme" = String, Path, description = "Scheme id, e.g. `cissp`"),
        ("registration_number" = String, Path, description = "The holder's number in that scheme"),
    ),
    security(("bearer" = ["procurement:read"])),
    responses(
        (status = 201, description = "Signed and recorded", body = IssuedCredential),
        (status = 404, description = "No such holding", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn issue_for_procurement(
    State(state): State<AppState>,
    caller: ClientCaller,
    path: Result<Path<(String, String)>, Problem>,
) -> Result<(StatusCode, Json<IssuedCredential>), Problem> {
    caller.require("procurement:read")?;
    let Path((scheme, registration_number)) = path?;
    let holding = holdings::by_registration(&state.db, &scheme, &registration_number)
        .await?
        .ok_or_else(|| Problem::not_found("holding"))?;
    let disclosed =
        credential_disclosure::for_procurement(&state.db, &state.schemes, &holding).await?;
    // Like every procurement read, it goes in the holder's disclosure log.
    disclosures::record(
        &state.db,
        &caller.client.client_id,
        holding.id,
        &disclosed.fields(),
    )
    .await?;
    let issued = credentials::issue(
        &state.db,
        &state.schemes,
        &state.credential_keys,
        &state.config.public_url,
        &holding,
        Requester::Client {
            client_id: caller.client.client_id.clone(),
        },
        disclosed.name,
        disclosed.level,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedCredential::new(&state, issued)),
    ))
}

/// A credential to check.
#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    /// The compact JWS, as issued.
    #[schema(max_length = 16384)]
    pub credential: String,
}

/// The verdict on a credential.
#[derive(Serialize, ToSchema)]
pub struct VerifyAnswer {
    /// `valid`, `expired`, `revoked`, `tampered` (the signature does not verify) or `malformed`.
    pub verdict: Verdict,
    /// Why, in a few words.
    pub reason: String,
    /// The credential's payload, when it is valid.
    #[schema(value_type = Option<Object>)]
    pub claims: Option<serde_json::Value>,
    /// When this answer was given.
    pub checked_at: DateTime<Utc>,
}

/// Verify a status credential, for those who cannot check the signature themselves. Anyone may
/// ask; each address may ask a limited number of times a minute.
#[utoipa::path(post, path = "/v1/credentials/verify", tag = "credentials",
    request_body = VerifyBody,
    responses(
        (status = 200, description = "The verdict (a refused credential is still a 200: the answer is the verdict)", body = VerifyAnswer),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`credential` is missing, not a string, or too long", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many lookups from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<VerifyBody>,
) -> Result<Json<VerifyAnswer>, Problem> {
    if body.credential.len() > 16384 {
        return Err(Problem::invalid_field(
            "credential",
            "is longer than any credential this ledger signs (16384 characters)",
        ));
    }
    throttle::admit_lookup(&state.db, "verify", ip).await??;
    let found = credentials::verify(
        &state.db,
        &state.credential_keys,
        &state.config.issuer(),
        &body.credential,
    )
    .await?;
    let valid = found.verdict == Verdict::Valid;
    Ok(Json(VerifyAnswer {
        verdict: found.verdict,
        reason: found.reason,
        claims: found.claims.filter(|_| valid),
        checked_at: Utc::now(),
    }))
}
