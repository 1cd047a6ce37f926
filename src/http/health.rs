//! Liveness and readiness for load balancers and operators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use migration::{Migrator, MigratorTrait};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the check passed.
    pub status: &'static str,
    /// Individual checks and their outcome.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

#[derive(Serialize, ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The process is up and serving requests.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "The process answers", body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "ok",
        checks: Vec::new(),
    })
}

/// The database is reachable, every migration has been applied and, when the scheduler runs,
/// the reminder sweep has run in at least one of its last two periods.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "A dependency is not ready", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    let database = match state.db.ping().await {
        Ok(()) => Check {
            name: "database",
            ok: true,
            detail: None,
        },
        Err(e) => Check {
            name: "database",
            ok: false,
            detail: Some(e.to_string()),
        },
    };
    let migrations = match Migrator::get_pending_migrations(&state.db).await {
        Ok(pending) if pending.is_empty() => Check {
            name: "migrations",
            ok: true,
            detail: None,
        },
        Ok(pending) => Check {
            name: "migrations",
            ok: false,
            detail: Some(format!("{} pending", pending.len())),
        },
        Err(e) => Check {
            name: "migrations",
            ok: false,
            detail: Some(e.to_string()),
        },
    };
    let mut checks = vec![database, migrations];
    if state.config.schedule.enabled {
        checks.push(
            match crate::jobs::schedule::missed_sweeps(&state, chrono::Utc::now()).await {
                Ok(None) => Check {
                    name: "scheduler",
                    ok: true,
                    detail: None,
                },
                Ok(Some(missed)) => Check {
                    name: "scheduler",
                    ok: false,
                    detail: Some(missed),
                },
                Err(e) => Check {
                    name: "scheduler",
                    ok: false,
                    detail: Some(e.to_string()),
                },
            },
        );
    }
    if let Some(failed) = checks.iter().find(|c| !c.ok) {
        let detail = format!(
            "{} not ready: {}",
            failed.name,
            failed.detail.clone().unwrap_or_default()
        );
        return Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail));
    }
    Ok(Json(Health {
        status: "ok",
        checks,
    }))
}
