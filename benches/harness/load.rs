//! The load generator: tokio tasks in the harness process sharing one reqwest client, each
//! with its own keep-alive connection, sending back to back over loopback. And the callers the
//! scenarios need: a procurement client, a provider with its course, a professional.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cpe_ledger::app::AppState;
use cpe_ledger::auth::tokens::TokenUse;
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::clients::{self, NewClient};
use cpe_ledger::services::providers::{self, Accreditation, NewProvider};
use entity::users;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::data;
use crate::table::percentile;

/// What one target did in its measured window.
pub struct Measured {
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    /// Latencies of the successful requests, sorted.
    pub latencies: Vec<Duration>,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn p50(&self) -> f64 {
        percentile(&self.latencies, 0.50)
    }

    pub fn p99(&self) -> f64 {
        percentile(&self.latencies, 0.99)
    }
}

/// Runs `connections` tasks, each sending the request `make` builds and awaiting its whole
/// answer, back to back: one second of warm-up, then `measure` counted. Only 200 counts as
/// success.
pub async fn drive<F>(connections: usize, measure: Duration, make: F) -> Measured
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let warm_until = Instant::now() + Duration::from_secs(1);
    let stop_at = warm_until + measure;
    let tasks: Vec<_> = (0..connections)
        .map(|worker| {
            let make = Arc::clone(&make);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                // Each worker walks the keys with its own stride, so they do not move in step.
                let mut n = worker.wrapping_mul(7_919);
                loop {
                    let started = Instant::now();
                    if started >= stop_at {
                        break;
                    }
                    let ok = match make(n).send().await {
                        Ok(response) => {
                            let ok = response.status() == reqwest::StatusCode::OK;
                            // Read the whole body: the answer is not complete until then.
                            response.bytes().await.is_ok() && ok
                        }
                        Err(_) => false,
                    };
                    n = n.wrapping_add(104_729);
                    if started >= warm_until {
                        if ok {
                            latencies.push(started.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((mut own, failed)) = task.await {
            latencies.append(&mut own);
            errors += failed;
        }
    }
    latencies.sort_unstable();
    Measured {
        requests: latencies.len(),
        errors,
        seconds: measure.as_secs_f64(),
        latencies,
    }
}

/// A token for a client, from `/oauth/token`.
pub async fn client_token(base: &str, client_id: &str, secret: &str) -> anyhow::Result<String> {
    let token: Value = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    Ok(token["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token: {token}"))?
        .to_owned())
}

/// A procurement client named `name` with a budget the harness cannot exhaust; its id and
/// secret.
pub async fn procurement_client(state: &AppState, name: &str) -> anyhow::Result<(String, String)> {
    let created = clients::create_client(
        &state.db,
        &Actor::cli("bench"),
        NewClient {
            name: name.to_owned(),
            kind: "procurement".to_owned(),
            scopes: vec![],
            provider_id: None,
            rate_limit_per_minute: i32::MAX,
        },
    )
    .await?;
    Ok((created.client.client_id, created.secret))
}

/// A provider named `name`, accredited for every generated scheme, with a `provider:write`
/// client; its id, client id and secret.
pub async fn provider(state: &AppState, name: &str) -> anyhow::Result<(Uuid, String, String)> {
    let actor = Actor::cli("bench");
    let provider = providers::create_provider(
        &state.db,
        &actor,
        NewProvider {
            name: name.to_owned(),
            contact_email: None,
        },
    )
    .await?;
    let accreditations = data::SCHEMES
        .iter()
        .map(|scheme| Accreditation {
            scheme_id: (*scheme).to_owned(),
            categories: vec![],
            activity_types: vec![],
            valid_from: None,
            valid_until: None,
        })
        .collect();
    providers::set_accreditations(
        &state.db,
        &state.schemes,
        &actor,
        provider.id,
        accreditations,
    )
    .await?;
    let created = clients::create_client(
        &state.db,
        &actor,
        NewClient {
            name: format!("{name} LMS"),
            kind: "provider".into(),
            scopes: vec!["provider:write".into()],
            provider_id: Some(provider.id),
            rate_limit_per_minute: 1_000_000_000,
        },
    )
    .await?;
    Ok((provider.id, created.client.client_id, created.secret))
}

/// Points (in hundredths) the benchmark course awards in each scheme; RISS courses award none.
pub fn course_points(scheme: &str) -> i64 {
    if data::claim_for(scheme).1.is_some() {
        800
    } else {
        0
    }
}

/// Publishes course `code`, awarding in every generated scheme, through the provider API;
/// answers its id.
pub async fn publish_course(base: &str, token: &str, code: &str) -> anyhow::Result<Uuid> {
    let awards: Vec<Value> = data::SCHEMES
        .iter()
        .map(|scheme| match data::claim_for(scheme) {
            (activity_type, Some(category)) => json!({"scheme": scheme,
                "activity_type": activity_type, "category": category,
                "points": course_points(scheme) as f64 / 100.0}),
            _ => json!({"scheme": scheme, "activity_type": "ipa_practical_course"}),
        })
        .collect();
    let course: Value = reqwest::Client::new()
        .post(format!("{base}/v1/provider/courses"))
        .bearer_auth(token)
        .json(&json!({
            "code": code,
            "title": {"en": "Incident response in practice"},
            "hours": 8,
            "delivery": "online",
            "awards": awards,
        }))
        .send()
        .await?
        .json()
        .await?;
    course["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("the course was refused: {course}"))
}

/// A professional's account for `professional_id` and an access token for it, as signing in
/// would give.
pub async fn professional_token(
    state: &AppState,
    professional_id: Uuid,
    email: &str,
) -> anyhow::Result<String> {
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.to_owned()),
        password_hash: Set(None),
        role: Set(users::UserRole::Professional),
        professional_id: Set(Some(professional_id)),
        activated_at: Set(Some(chrono::Utc::now())),
        disabled_at: Set(None),
        sessions_revoked_at: Set(None),
        created_at: Set(chrono::Utc::now()),
        locale: Set(None),
    }
    .insert(&state.db)
    .await?;
    Ok(state
        .keys
        .issue(TokenUse::User, &user.id.to_string(), "professional")?
        .0)
}
