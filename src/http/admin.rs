//! `/v1/admin`: the certification body's staff manage providers and machine clients, and read
//! how the outbox is doing.
//!
//! Every route takes [`AdminCaller`]: an admin user, or a client holding the `admin` scope.
//! Bodies refuse unknown fields, so nothing can be assigned that the route does not name.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::AdminCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::problem::Problem;
use crate::services::clients::{self as client_service, Client, ClientKind, NewClient};
use crate::services::outbox_status::{self, OutboxStatus, SweepRun};
use crate::services::providers::{self as provider_service, NewProvider, Provider, ProviderStatus};

mod credits;
mod organisations;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(organisations::router())
        .merge(credits::router())
        .routes(routes!(create_provider, list_providers))
        .routes(routes!(get_provider))
        .routes(routes!(disable_provider))
        .routes(routes!(set_accreditations))
        .routes(routes!(create_client, list_clients))
        .routes(routes!(disable_client))
        .routes(routes!(rotate_client_secret))
        .routes(routes!(notification_status))
}

/// Largest page a list returns.
const MAX_PAGE: u64 = 200;

/// The cursor of the page after this one: the last id of a full page, none after a short one.
pub(crate) fn next_after<T>(items: &[T], limit: u64, id: impl Fn(&T) -> Uuid) -> Option<Uuid> {
    (items.len() as u64 == limit)
        .then(|| items.last().map(id))
        .flatten()
}

/// Keyset pagination: pass the previous page's `next_after` as `after`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Return records created after the one with this id.
    pub(crate) after: Option<Uuid>,
    /// Page size, 1 to 200 (default 100).
    #[param(minimum = 1, maximum = 200)]
    pub(crate) limit: Option<u64>,
}

impl PageQuery {
    #[allow(
        clippy::result_large_err,
        reason = "Problem is what every handler answers with; boxing it here alone gains nothing"
    )]
    pub(crate) fn limit(&self) -> Result<u64, Problem> {
        match self.limit {
            None => Ok(100),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(_) => Err(Problem::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            )),
        }
    }
}

/// A course provider.
#[derive(Serialize, ToSchema)]
pub struct ProviderView {
    pub id: Uuid,
    pub name: String,
    pub contact_email: Option<String>,
    /// `pending`, `approved` or `suspended`.
    #[schema(value_type = String, example = "approved")]
    pub status: ProviderStatus,
    /// The schemes it may award credit in, and what and when in each.
    pub accreditations: Vec<AccreditationView>,
    pub created_at: DateTime<Utc>,
}

impl From<Provider> for ProviderView {
    fn from(p: Provider) -> Self {
        Self {
            id: p.id,
            name: p.name,
            contact_email: p.contact_email,
            status: p.status,
            accreditations: p.accreditations.0.into_iter().map(Into::into).collect(),
            created_at: p.created_at,
        }
    }
}

/// What a provider may award in one scheme. Empty lists mean every category or activity type
/// of the scheme; absent days mean no limit on that side.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccreditationView {
    /// Scheme id, e.g. `cissp`.
    pub scheme: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub activity_types: Vec<String>,
    /// First completion day covered.
    pub valid_from: Option<chrono::NaiveDate>,
    /// Last completion day covered.
    pub valid_until: Option<chrono::NaiveDate>,
}

impl From<provider_service::Accreditation> for AccreditationView {
    fn from(a: provider_service::Accreditation) -> Self {
        Self {
            scheme: a.scheme_id,
            categories: a.categories,
            activity_types: a.activity_types,
            valid_from: a.valid_from,
            valid_until: a.valid_until,
        }
    }
}

impl From<AccreditationView> for provider_service::Accreditation {
    fn from(a: AccreditationView) -> Self {
        Self {
            scheme_id: a.scheme,
            categories: a.categories,
            activity_types: a.activity_types,
            valid_from: a.valid_from,
            valid_until: a.valid_until,
        }
    }
}

/// The whole list of what a provider is accredited for, replacing the one before.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccreditationsBody {
    pub accreditations: Vec<AccreditationView>,
}

#[derive(Serialize, ToSchema)]
pub struct ProviderPage {
    pub items: Vec<ProviderView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Uuid>,
}

/// A new provider.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProviderBody {
    /// Unique among providers; at most 254 characters, not only spaces.
    #[schema(min_length = 1, max_length = 254, pattern = r"[^\s\u0085]")]
    pub name: String,
    #[schema(max_length = 254, format = Email)]
    pub contact_email: Option<String>,
}

/// A machine client, as staff see it: never its secret or the secret's hash.
#[derive(Serialize, ToSchema)]
pub struct ClientView {
    pub id: Uuid,
    /// The OAuth2 `client_id`.
    pub client_id: String,
    pub name: String,
    /// `provider`, `procurement` or `admin`.
    #[schema(value_type = String, example = "procurement")]
    pub kind: ClientKind,
    pub provider_id: Option<Uuid>,
    /// Space-separated scopes.
    pub scopes: String,
    pub rate_limit_per_minute: i32,
    pub disabled_at: Option<DateTime<Utc>>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        Self {
            id: c.id,
            client_id: c.client_id,
            name: c.name,
            kind: c.kind,
            provider_id: c.provider_id,
            scopes: c.scopes,
            rate_limit_per_minute: c.rate_limit_per_minute,
            disabled_at: c.disabled_at,
            secret_rotated_at: c.secret_rotated_at,
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClientPage {
    pub items: Vec<ClientView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Uuid>,
}

/// A client with its secret: the only time the secret is shown.
#[derive(Serialize, ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientView,
    /// Store it now; it cannot be shown again.
    pub client_secret: String,
}

/// A new machine client. Its documented shape is [`NewClientSchema`], which states per kind
/// what `create_client` enforces.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    /// Unique among clients.
    pub name: String,
    /// `provider`, `procurement` or `admin`.
    pub kind: String,
    /// Scopes to grant; the kind's usual scopes when absent.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The provider a `provider` client acts for.
    pub provider_id: Option<Uuid>,
    /// Requests per minute (token requests included); default 600.
    #[serde(default, deserialize_with = "whole_i32")]
    pub rate_limit_per_minute: Option<i32>,
}

/// A whole number that fits an `i32`, also when written `600.0`: JSON Schema's `integer`
/// admits it, and the document says `integer`.
fn whole_i32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let whole = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= f64::from(i32::MAX))
            .map(|f| f as i64)
    });
    whole
        .and_then(|n| i32::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("must be a whole number up to 2147483647"))
}

/// A new machine client, as documented: its kind decides which scopes it may be given and
/// whether it names a provider. The server reads it as [`NewClientBody`].
#[derive(Deserialize, ToSchema)]
#[schema(as = NewClientBody)]
#[serde(untagged)]
#[allow(
    dead_code,
    reason = "a schema only: it documents what NewClientBody accepts"
)]
pub enum NewClientSchema {
    Provider(NewProviderClient),
    Procurement(NewProcurementClient),
    Admin(NewAdminClient),
}

/// A course provider's system, acting for one approved provider.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema only")]
pub struct NewProviderClient {
    kind: ProviderKind,
    /// Unique among clients; at most 254 characters, not only spaces.
    #[schema(min_length = 1, max_length = 254, pattern = r"[^\s\u0085]")]
    name: String,
    /// Scopes to grant; both when absent.
    #[serde(default)]
    scopes: Vec<ProviderScope>,
    /// The approved provider the client acts for.
    provider_id: Uuid,
    /// Requests per minute (token requests included); default 600.
    #[schema(minimum = 1, maximum = 2147483647)]
    rate_limit_per_minute: Option<i32>,
}

/// A buyer's system checking professionals' status.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema only")]
pub struct NewProcurementClient {
    kind: ProcurementKind,
    /// Unique among clients; at most 254 characters, not only spaces.
    #[schema(min_length = 1, max_length = 254, pattern = r"[^\s\u0085]")]
    name: String,
    /// Scopes to grant; `procurement:read` when absent.
    #[serde(default)]
    scopes: Vec<ProcurementScope>,
    /// Requests per minute (token requests included); default 600.
    #[schema(minimum = 1, maximum = 2147483647)]
    rate_limit_per_minute: Option<i32>,
}

/// The certification body's own automation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema only")]
pub struct NewAdminClient {
    kind: AdminKind,
    /// Unique among clients; at most 254 characters, not only spaces.
    #[schema(min_length = 1, max_length = 254, pattern = r"[^\s\u0085]")]
    name: String,
    /// Scopes to grant; `admin` when absent.
    #[serde(default)]
    scopes: Vec<AdminScope>,
    /// Requests per minute (token requests included); default 600.
    #[schema(minimum = 1, maximum = 2147483647)]
    rate_limit_per_minute: Option<i32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Provider,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProcurementKind {
    Procurement,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminKind {
    Admin,
}

/// A scope a provider client may hold.
#[derive(Deserialize, ToSchema)]
pub enum ProviderScope {
    #[serde(rename = "provider:write")]
    Write,
    #[serde(rename = "provider:read")]
    Read,
}

/// A scope a procurement client may hold.
#[derive(Deserialize, ToSchema)]
pub enum ProcurementScope {
    #[serde(rename = "procurement:read")]
    Read,
}

/// A scope an admin client may hold.
#[derive(Deserialize, ToSchema)]
pub enum AdminScope {
    #[serde(rename = "admin")]
    Admin,
}

/// Register a course provider (approved from the start).
#[utoipa::path(post, path = "/v1/admin/providers", tag = "admin",
    request_body = NewProviderBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ProviderView),
        (status = 409, description = "A provider with that name exists", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_provider(
    State(state): State<AppState>,
    caller: AdminCaller,
    Json(body): Json<NewProviderBody>,
) -> Result<(StatusCode, Json<ProviderView>), Problem> {
    // The service reads a blank address as none; here the document promises an address.
    if body
        .contact_email
        .as_deref()
        .is_some_and(|e| e.trim().is_empty())
    {
        return Err(Problem::invalid_field(
            "contact_email",
            "must be an email address; leave it out (or null) for none",
        ));
    }
    let provider = provider_service::create_provider(
        &state.db,
        &caller.actor,
        NewProvider {
            name: body.name,
            contact_email: body.contact_email,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(provider.into())))
}

/// List providers in the order they were registered.
#[utoipa::path(get, path = "/v1/admin/providers", tag = "admin",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = ProviderPage),
    ))]
pub async fn list_providers(
    State(state): State<AppState>,
    _caller: AdminCaller,
    Query(page): Query<PageQuery>,
) -> Result<Json<ProviderPage>, Problem> {
    let limit = page.limit()?;
    let items: Vec<ProviderView> = provider_service::list_providers(&state.db, page.after, limit)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let next_after = next_after(&items, limit, |p| p.id);
    Ok(Json(ProviderPage { items, next_after }))
}

/// One provider.
#[utoipa::path(get, path = "/v1/admin/providers/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "The provider's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The provider", body = ProviderView),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_provider(
    State(state): State<AppState>,
    _caller: AdminCaller,
    Path(id): Path<Uuid>,
) -> Result<Json<ProviderView>, Problem> {
    Ok(Json(
        provider_service::get_provider(&state.db, id).await?.into(),
    ))
}

/// Suspend a provider; every client acting for it is disabled too, so its tokens stop at once.
#[utoipa::path(post, path = "/v1/admin/providers/{id}/disable", tag = "admin",
    params(("id" = Uuid, Path, description = "The provider's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The provider, now suspended", body = ProviderView),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn disable_provider(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<Uuid>,
) -> Result<Json<ProviderView>, Problem> {
    Ok(Json(
        provider_service::disable_provider(&state.db, &caller.actor, id)
            .await?
            .into(),
    ))
}

/// Replace what a provider is accredited to award: schemes, and in each the categories,
/// activity types and completion days covered. Awards outside it are refused.
#[utoipa::path(put, path = "/v1/admin/providers/{id}/accreditations", tag = "admin",
    params(("id" = Uuid, Path, description = "The provider's id")),
    request_body = AccreditationsBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The provider with its new accreditations", body = ProviderView),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_accreditations(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<AccreditationsBody>,
) -> Result<Json<ProviderView>, Problem> {
    Ok(Json(
        provider_service::set_accreditations(
            &state.db,
            &state.schemes,
            &caller.actor,
            id,
            body.accreditations.into_iter().map(Into::into).collect(),
        )
        .await?
        .into(),
    ))
}

/// Create a machine client. The answer carries its secret, shown this once.
#[utoipa::path(post, path = "/v1/admin/clients", tag = "admin",
    request_body = NewClientSchema,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; store the secret now", body = ClientWithSecret),
        (status = 404, description = "`provider_id` names no provider", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A client with that name exists, or the provider is suspended", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_client(
    State(state): State<AppState>,
    caller: AdminCaller,
    Json(body): Json<NewClientBody>,
) -> Result<(StatusCode, Json<ClientWithSecret>), Problem> {
    let created = client_service::create_client(
        &state.db,
        &caller.actor,
        NewClient {
            name: body.name,
            kind: body.kind,
            scopes: body.scopes,
            provider_id: body.provider_id,
            rate_limit_per_minute: body
                .rate_limit_per_minute
                .unwrap_or(client_service::DEFAULT_RATE_LIMIT_PER_MINUTE),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ClientWithSecret {
            client: created.client.into(),
            client_secret: created.secret,
        }),
    ))
}

/// List machine clients in the order they were created (never their secrets).
#[utoipa::path(get, path = "/v1/admin/clients", tag = "admin",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = ClientPage),
    ))]
pub async fn list_clients(
    State(state): State<AppState>,
    _caller: AdminCaller,
    Query(page): Query<PageQuery>,
) -> Result<Json<ClientPage>, Problem> {
    let limit = page.limit()?;
    let items: Vec<ClientView> = client_service::list_clients(&state.db, page.after, limit)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let next_after = next_after(&items, limit, |c| c.id);
    Ok(Json(ClientPage { items, next_after }))
}

/// Disable a client; its tokens are refused from the next request.
#[utoipa::path(post, path = "/v1/admin/clients/{client_id}/disable", tag = "admin",
    params(("client_id" = String, Path, description = "The OAuth2 client id (`cl_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The client, now disabled", body = ClientView),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn disable_client(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(client_id): Path<String>,
) -> Result<Json<ClientView>, Problem> {
    Ok(Json(
        client_service::disable_client(&state.db, &caller.actor, &client_id)
            .await?
            .into(),
    ))
}

/// Replace a client's secret. The new secret is shown this once; the old secret and every token
/// issued before now stop working.
#[utoipa::path(post, path = "/v1/admin/clients/{client_id}/rotate-secret", tag = "admin",
    params(("client_id" = String, Path, description = "The OAuth2 client id (`cl_…`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The client and its new secret", body = ClientWithSecret),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_client_secret(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(client_id): Path<String>,
) -> Result<Json<ClientWithSecret>, Problem> {
    let rotated = client_service::rotate_secret(&state.db, &caller.actor, &client_id).await?;
    Ok(Json(ClientWithSecret {
        client: rotated.client.into(),
        client_secret: rotated.secret,
    }))
}

/// Notifications by state, and the reminder sweep's latest period.
#[derive(Serialize, ToSchema)]
pub struct NotificationStatus {
    /// Waiting for their first attempt (or in it right now).
    pub queued: u64,
    /// Waiting after a temporary failure (or being retried right now).
    pub retrying: u64,
    pub sent: u64,
    /// Refused for good, or given up 4 days after queueing.
    pub failed: u64,
    /// Closed without sending, by design: password resets requested for addresses that have
    /// no usable account.
    pub dropped: u64,
    /// The latest period of the reminder sweep that some instance ran; absent when none has.
    pub last_sweep: Option<SweepView>,
}

/// One period of the reminder sweep.
#[derive(Serialize, ToSchema)]
pub struct SweepView {
    /// The period, in the schedule's time zone (`2026-11-26T09:00:00+09:00`).
    pub period: String,
    pub started_at: DateTime<Utc>,
    /// Absent while it runs (or when the process running it died).
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl From<OutboxStatus> for NotificationStatus {
    fn from(s: OutboxStatus) -> Self {
        Self {
            queued: s.queued,
            retrying: s.retrying,
            sent: s.sent,
            failed: s.failed,
            dropped: s.dropped,
            last_sweep: s.last_sweep.map(|run: SweepRun| SweepView {
                period: run.period,
                started_at: run.started_at,
                finished_at: run.finished_at,
                error: run.error,
            }),
        }
    }
}

/// How many notifications are queued, retrying, sent and failed, and when the reminder sweep
/// last ran: the same figures as `cpe-ledger remind status`.
#[utoipa::path(get, path = "/v1/admin/notifications/status", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The outbox by state and the latest sweep", body = NotificationStatus),
    ))]
pub async fn notification_status(
    State(state): State<AppState>,
    _caller: AdminCaller,
) -> Result<Json<NotificationStatus>, Problem> {
    Ok(Json(outbox_status::status(&state.db).await?.into()))
}
