//! `/xapi/statements`: store (`POST`, `PUT`) and read (`GET`) a provider's statements.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::{CONSISTENT_THROUGH_HEADER, XapiCaller};
use crate::app::AppState;
use crate::domain::xapi::{
    self, Format, Invalid, parse_agent_filter, parse_iri, parse_statement, parse_statements,
    parse_timestamp, parse_uuid,
};
use crate::http::extract::{Json, Query};
use crate::http::problem::Problem;
use crate::services::xapi::{self as store, Position, StatementQuery, format_instant};

/// Statements a page holds when the query asks for `limit=0` or none.
pub const DEFAULT_LIMIT: u64 = 100;
/// The most statements a page holds.
pub const MAX_LIMIT: u64 = 500;

/// The version header, documented on every operation that needs it.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(
    dead_code,
    reason = "read by the version middleware; here for the document"
)]
pub struct VersionHeader {
    /// The xAPI version the client speaks: `1.0.3` (any `1.0.x` is accepted).
    #[param(
        rename = "X-Experience-API-Version",
        pattern = r"^1\.0(\.[0-9]+)?$",
        example = "1.0.3"
    )]
    version: String,
}

fn invalid(e: Invalid) -> Problem {
    store::XapiError::Invalid(e).into()
}

/// The body as JSON, refusing other media types (attachments come by `fileUrl`, never as
/// `multipart/mixed`).
#[allow(
    clippy::result_large_err,
    reason = "Problem is the rejection every extractor and handler answers with"
)]
fn json_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Value, Problem> {
    // A body over the limit (or cut short) is answered like every other refusal.
    let body = body
        .map_err(|r| Problem::new(r.status(), r.body_text()).with_type("/problems/invalid-body"))?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        let mut p = Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "statements are sent as application/json; multipart/mixed is not supported",
        )
        .with_type("/problems/invalid-body");
        p.errors.push(crate::http::problem::FieldError {
            field: "content-type".to_owned(),
            message: "must be application/json".to_owned(),
        });
        return Err(p);
    }
    serde_json::from_slice(&body)
        .map_err(|e| invalid(Invalid::new("body", format!("is not JSON: {e}"))))
}

/// Store one statement or a batch, all or nothing; answers their ids in order.
#[utoipa::path(post, path = "/xapi/statements", tag = "xapi",
    params(VersionHeader),
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "One xAPI statement, or an array of them (xAPI-Data.md §2.4)"),
    security(("xapi_basic" = []), ("bearer" = ["provider:write"])),
    responses(
        (status = 200, description = "The statements' ids, in order", body = [String]),
        (status = 400, description = "A statement breaks a rule; `errors` names the property", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An id is already stored with a different statement", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 4 MiB", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_statements(
    State(state): State<AppState>,
    caller: XapiCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<String>>, Problem> {
    caller.require("provider:write")?;
    let value = json_body(&headers, body)?;
    let statements = parse_statements(&value).map_err(invalid)?;
    let ids = store::store(
        &state.db,
        &state.schemes,
        &caller.authority(&state),
        statements,
        Utc::now(),
    )
    .await?;
    Ok(Json(ids.into_iter().map(|id| id.to_string()).collect()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PutParams {
    /// The id to store the statement under (a UUID).
    #[serde(rename = "statementId")]
    #[param(rename = "statementId", format = Uuid)]
    statement_id: String,
}

/// Store one statement under the id `statementId`.
#[utoipa::path(put, path = "/xapi/statements", tag = "xapi",
    params(VersionHeader, PutParams),
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "One xAPI statement; an `id`, if present, must equal `statementId`"),
    security(("xapi_basic" = []), ("bearer" = ["provider:write"])),
    responses(
        (status = 204, description = "Stored (or already stored, the same)"),
        (status = 400, description = "The statement breaks a rule; `errors` names the property", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The id is already stored with a different statement", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 4 MiB", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_statement(
    State(state): State<AppState>,
    caller: XapiCaller,
    params: Result<Query<PutParams>, Problem>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, Problem> {
    caller.require("provider:write")?;
    let Query(params) = params?;
    let id = parse_uuid(&params.statement_id, "statementId").map_err(invalid)?;
    let value = json_body(&headers, body)?;
    if !value.is_object() {
        return Err(invalid(Invalid::new(
            "body",
            "must be one statement (an object)",
        )));
    }
    let mut statement = parse_statement(&value).map_err(invalid)?;
    match statement.id {
        Some(own) if own != id => {
            return Err(invalid(Invalid::new(
                "id",
                "differs from the statementId parameter",
            )));
        }
        _ => statement.id = Some(id),
    }
    store::store(
        &state.db,
        &state.schemes,
        &caller.authority(&state),
        vec![statement],
        Utc::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GetParams {
    /// One statement by id (not voided).
    #[serde(rename = "statementId")]
    #[param(rename = "statementId", format = Uuid)]
    statement_id: Option<String>,
    /// One voided statement by id.
    #[serde(rename = "voidedStatementId")]
    #[param(rename = "voidedStatementId", format = Uuid)]
    voided_statement_id: Option<String>,
    /// JSON of an Agent or identified Group: the actor or the object.
    agent: Option<String>,
    /// Verb id (IRI).
    verb: Option<String>,
    /// Activity id (IRI) of the object.
    activity: Option<String>,
    /// `context.registration` (UUID).
    #[param(format = Uuid)]
    registration: Option<String>,
    /// Only `false`: matching activities anywhere in a statement is not supported.
    #[param(pattern = "^false$")]
    related_activities: Option<String>,
    /// Only `false`: matching agents anywhere in a statement is not supported.
    #[param(pattern = "^false$")]
    related_agents: Option<String>,
    /// Stored after this instant (exclusive).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Stored at or before this instant (inclusive).
    #[param(format = DateTime)]
    until: Option<String>,
    /// Statements per page; `0` (the default) means 100; at most 500.
    #[param(pattern = "^[0-9]+$")]
    limit: Option<String>,
    /// `exact` (default), `ids` or `canonical`.
    #[param(pattern = "^(ids|exact|canonical)$")]
    format: Option<String>,
    /// `true`: answer as `multipart/mixed` (attachments are always by `fileUrl`, so no
    /// attachment parts follow).
    #[param(pattern = "^(true|false)$")]
    attachments: Option<String>,
    /// `true`: oldest first.
    #[param(pattern = "^(true|false)$")]
    ascending: Option<String>,
    /// The continuation a previous page's `more` named.
    more: Option<String>,
}

/// What a `more` link carries: the query, how to answer it, and where the last page ended.
#[derive(Serialize, Deserialize)]
struct Continuation {
    query: StatementQuery,
    format: String,
    attachments: bool,
    after: Position,
}

fn boolean(value: Option<&str>, field: &str) -> Result<bool, Invalid> {
    match value {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Invalid::new(field, "must be true or false")),
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Ids => "ids",
        Format::Exact => "exact",
        Format::Canonical => "canonical",
    }
}

/// Language ranges of `Accept-Language`, best first.
fn preferred_languages(headers: &HeaderMap) -> Vec<String> {
    let text = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut ranges: Vec<(f32, usize, String)> = text
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let range = pieces.next()?.trim();
            if range.is_empty() || range == "*" {
                return None;
            }
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, i, range.to_owned()))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().map(|(_, _, r)| r).collect()
}

fn shaped(statement: Value, format: Format, languages: &[String]) -> Value {
    match format {
        Format::Exact => statement,
        Format::Ids => xapi::ids_only(&statement),
        Format::Canonical => xapi::canonical(&statement, languages),
    }
}

/// The answer: JSON, or with `attachments=true` a `multipart/mixed` body whose one part is
/// that JSON (Communication §2.1.3).
fn answer(body: &Value, attachments: bool) -> Response {
    let consistent = format_instant(Utc::now());
    let mut response = if attachments {
        let boundary = format!("xapi-{}", uuid::Uuid::new_v4().simple());
        let text = format!(
            "--{boundary}\r\nContent-Type: application/json\r\n\r\n{body}\r\n--{boundary}--\r\n"
        );
        let mut r = text.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("multipart/mixed; boundary={boundary}")) {
            r.headers_mut().insert(CONTENT_TYPE, v);
        }
        r
    } else {
        axum::Json(body).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&consistent) {
        response.headers_mut().insert(CONSISTENT_THROUGH_HEADER, v);
    }
    response
}

/// Read statements: one by `statementId` or `voidedStatementId`, or a page of the query form
/// over the provider's own statements (newest `stored` first), with `more` naming the next.
#[utoipa::path(get, path = "/xapi/statements", tag = "xapi",
    params(VersionHeader, GetParams),
    security(("xapi_basic" = []), ("bearer" = ["provider:read"])),
    responses(
        (status = 200, description = "One statement, or `{statements, more}`", body = serde_json::Value,
            headers(("X-Experience-API-Consistent-Through" = String, description = "Every statement stored up to this instant is visible"))),
        (status = 400, description = "A parameter is refused; `errors` names it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such statement of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_statements(
    State(state): State<AppState>,
    caller: XapiCaller,
    headers: HeaderMap,
    params: Result<Query<GetParams>, Problem>,
) -> Result<Response, Problem> {
    caller.require("provider:read")?;
    let Query(params) = params?;
    let languages = preferred_languages(&headers);
    let format = params
        .format
        .as_deref()
        .map(Format::parse)
        .transpose()
        .map_err(invalid)?
        .unwrap_or_default();
    let attachments = boolean(params.attachments.as_deref(), "attachments").map_err(invalid)?;

    let single = match (&params.statement_id, &params.voided_statement_id) {
        (Some(_), Some(_)) => {
            return Err(invalid(Invalid::new(
                "voidedStatementId",
                "give statementId or voidedStatementId, not both",
            )));
        }
        (Some(id), None) => Some((parse_uuid(id, "statementId"), false, "statementId")),
        (None, Some(id)) => Some((
            parse_uuid(id, "voidedStatementId"),
            true,
            "voidedStatementId",
        )),
        (None, None) => None,
    };
    if let Some((id, voided, field)) = single {
        let id = id.map_err(invalid)?;
        let others = [
            &params.agent,
            &params.verb,
            &params.activity,
            &params.registration,
            &params.related_activities,
            &params.related_agents,
            &params.since,
            &params.until,
            &params.limit,
            &params.ascending,
            &params.more,
        ];
        if others.iter().any(|p| p.is_some()) {
            return Err(invalid(Invalid::new(
                field,
                "with a statement id, only format and attachments may be given",
            )));
        }
        let found = store::find(&state.db, caller.provider_id, id, voided)
            .await?
            .ok_or_else(|| Problem::not_found("statement"))?;
        return Ok(answer(&shaped(found, format, &languages), attachments));
    }

    let (query, format, attachments, after) = match &params.more {
        Some(token) => {
            let alone = GetParams {
                more: params.more.clone(),
                ..Default::default()
            };
            if params != alone {
                return Err(invalid(Invalid::new(
                    "more",
                    "a continuation carries its query; send it alone",
                )));
            }
            let c = read_continuation(token).map_err(invalid)?;
            let format = Format::parse(&c.format).map_err(invalid)?;
            (c.query, format, c.attachments, Some(c.after))
        }
        None => (
            read_query(&params).map_err(invalid)?,
            format,
            attachments,
            None,
        ),
    };
    let page = store::query(&state.db, caller.provider_id, &query, after).await?;
    let more = match page.next {
        None => String::new(),
        Some(after) => format!(
            "/xapi/statements?more={}",
            write_continuation(&Continuation {
                query,
                format: format_name(format).to_owned(),
                attachments,
                after,
            })
        ),
    };
    let statements: Vec<Value> = page
        .statements
        .into_iter()
        .map(|s| shaped(s, format, &languages))
        .collect();
    Ok(answer(
        &json!({"statements": statements, "more": more}),
        attachments,
    ))
}

impl PartialEq for GetParams {
    fn eq(&self, other: &Self) -> bool {
        let fields = |p: &GetParams| {
            [
                p.statement_id.clone(),
                p.voided_statement_id.clone(),
                p.agent.clone(),
                p.verb.clone(),
                p.activity.clone(),
                p.registration.clone(),
                p.related_activities.clone(),
                p.related_agents.clone(),
                p.since.clone(),
                p.until.clone(),
                p.limit.clone(),
                p.format.clone(),
                p.attachments.clone(),
                p.ascending.clone(),
                p.more.clone(),
            ]
        };
        fields(self) == fields(other)
    }
}

fn read_query(params: &GetParams) -> Result<StatementQuery, Invalid> {
    for (value, field) in [
        (&params.related_activities, "related_activities"),
        (&params.related_agents, "related_agents"),
    ] {
        if boolean(value.as_deref(), field)? {
            return Err(Invalid::new(
                field,
                "this LRS matches agent and activity on the actor and object only; send false",
            ));
        }
    }
    let limit = match params.limit.as_deref() {
        None => 0,
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| Invalid::new("limit", "must be a whole number, 0 or more"))?,
    };
    let limit = match limit {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    Ok(StatementQuery {
        agent: params
            .agent
            .as_deref()
            .map(parse_agent_filter)
            .transpose()?
            .map(|i| i.key()),
        verb: params
            .verb
            .as_deref()
            .map(|v| parse_iri(v, "verb"))
            .transpose()?,
        activity: params
            .activity
            .as_deref()
            .map(|v| parse_iri(v, "activity"))
            .transpose()?,
        registration: params
            .registration
            .as_deref()
            .map(|v| parse_uuid(v, "registration"))
            .transpose()?,
        since_ms: params
            .since
            .as_deref()
            .map(|v| parse_timestamp(v, "since").map(|t| t.timestamp_millis()))
            .transpose()?,
        until_ms: params
            .until
            .as_deref()
            .map(|v| parse_timestamp(v, "until").map(|t| t.timestamp_millis()))
            .transpose()?,
        limit,
        ascending: boolean(params.ascending.as_deref(), "ascending")?,
    })
}

fn write_continuation(c: &Continuation) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

fn read_continuation(token: &str) -> Result<Continuation, Invalid> {
    let refused = || Invalid::new("more", "is not a continuation this LRS gave");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| refused())?;
    let c: Continuation = serde_json::from_slice(&bytes).map_err(|_| refused())?;
    if c.query.limit == 0 || c.query.limit > MAX_LIMIT {
        return Err(refused());
    }
    Ok(c)
}
