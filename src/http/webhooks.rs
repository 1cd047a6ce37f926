//! `/v1/procurement/webhooks`: a procurement client's status-webhook subscriptions (scope
//! `procurement:read`). A client sees and deletes only its own; another's id is not found.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::ClientCaller;
use crate::http::extract::{Json, Path};
use crate::http::problem::Problem;
use crate::services::webhooks::{self, Subscription, WebhookError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(delete))
}

impl From<WebhookError> for Problem {
    fn from(err: WebhookError) -> Self {
        match err {
            WebhookError::Invalid { field, message } => Problem::invalid_field(field, message),
            WebhookError::Db(e) => e.into(),
            WebhookError::Standing(e) => e.into(),
        }
    }
}

/// One holding to watch.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct WatchedHolding {
    /// Scheme id, e.g. `cissp`.
    pub scheme: String,
    pub registration_number: String,
}

/// A new subscription.
#[derive(Deserialize, ToSchema)]
pub struct NewSubscriptionBody {
    /// Where deliveries are POSTed: `https`, or `http` to this machine only.
    #[schema(max_length = 2048)]
    pub target_url: String,
    /// The holdings to watch (1 to 1,000).
    #[schema(min_items = 1, max_items = 1000)]
    pub holdings: Vec<WatchedHolding>,
}

/// A subscription.
#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub target_url: String,
    pub holdings: Vec<WatchedHolding>,
    pub created_at: DateTime<Utc>,
}

impl From<Subscription> for SubscriptionView {
    fn from(s: Subscription) -> Self {
        Self {
            id: s.id,
            target_url: s.target_url,
            holdings: s
                .holdings
                .into_iter()
                .map(|(scheme, registration_number)| WatchedHolding {
                    scheme,
                    registration_number,
                })
                .collect(),
            created_at: s.created_at,
        }
    }
}

/// A subscription just created, with the secret that signs its deliveries.
#[derive(Serialize, ToSchema)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    /// Shown this once. Each delivery carries `cpe-ledger-timestamp` (Unix seconds) and
    /// `cpe-ledger-signature: sha256=<hex HMAC-SHA256 of timestamp + "." + body, keyed by this
    /// secret>`, and `cpe-ledger-delivery`, the same on every retry of one change.
    pub secret: String,
}

/// Subscribe to status changes of some holdings. A delivery is sent each time one's status,
/// standing state or valid-until changes, through the outbox with the email retry rules.
#[utoipa::path(post, path = "/v1/procurement/webhooks", tag = "webhooks",
    request_body = NewSubscriptionBody,
    security(("bearer" = ["procurement:read"])),
    responses(
        (status = 201, description = "Subscribed; the secret is in this answer only", body = CreatedSubscription),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: ClientCaller,
    body: Result<Json<NewSubscriptionBody>, Problem>,
) -> Result<(StatusCode, Json<CreatedSubscription>), Problem> {
    caller.require("procurement:read")?;
    let Json(body) = body?;
    let wanted: Vec<(String, String)> = body
        .holdings
        .into_iter()
        .map(|h| (h.scheme, h.registration_number))
        .collect();
    let created = webhooks::create(
        &state.db,
        &state.schemes,
        &caller.client.client_id,
        &body.target_url,
        &wanted,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedSubscription {
            subscription: created.subscription.into(),
            secret: created.secret,
        }),
    ))
}

/// The caller's subscriptions.
#[utoipa::path(get, path = "/v1/procurement/webhooks", tag = "webhooks",
    security(("bearer" = ["procurement:read"])),
    responses(
        (status = 200, description = "Every subscription of the caller, oldest first", body = [SubscriptionView]),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: ClientCaller,
) -> Result<Json<Vec<SubscriptionView>>, Problem> {
    caller.require("procurement:read")?;
    let listed = webhooks::list(&state.db, &caller.client.client_id).await?;
    Ok(Json(listed.into_iter().map(Into::into).collect()))
}

/// End a subscription; deliveries still queued for it are dropped.
#[utoipa::path(delete, path = "/v1/procurement/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    security(("bearer" = ["procurement:read"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such subscription of the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ClientCaller,
    path: Result<Path<Uuid>, Problem>,
) -> Result<StatusCode, Problem> {
    caller.require("procurement:read")?;
    let Path(id) = path?;
    if webhooks::delete(&state.db, &caller.client.client_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found("subscription"))
    }
}
