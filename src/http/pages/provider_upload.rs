//! `/provider/upload`: a provider's staff upload a CSV of attendance and read the answer row by
//! row, with the rejected rows to download and fix.
//!
//! The form is signed with the provider system's own client id and secret (the credentials its
//! machine client uses at `/oauth/token`), checked exactly as the token endpoint checks them,
//! so there is no separate provider account to keep, and no session for another site to ride:
//! a request without the secret does nothing.

use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use minijinja::context;

use super::{Page, PageQuery, PageResult, page_locale};
use crate::app::AppState;
use crate::http::extract::Query;
use crate::http::provider::{AttendanceReport, report};
use crate::services::attendance::{self, MAX_ROWS, rows};
use crate::services::clients::{self, ClientKind};
use crate::services::csv_text::neutralise;

pub(super) async fn upload_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> PageResult {
    let (locale, lang_cookie) = page_locale(&state, &headers, &query);
    Ok(Page::render(
        &state.templates,
        StatusCode::OK,
        "provider_upload",
        locale,
        context! {},
    )?
    .cookie(lang_cookie)
    .into_response())
}

/// What the form sent.
#[derive(Default)]
struct Upload {
    client_id: String,
    client_secret: String,
    file: Vec<u8>,
}

async fn read_form(mut multipart: Multipart) -> Result<Upload, String> {
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        match field.name() {
            Some("client_id") => {
                upload.client_id = field.text().await.map_err(|e| e.to_string())?
            }
            Some("client_secret") => {
                upload.client_secret = field.text().await.map_err(|e| e.to_string())?;
            }
            Some("file") => upload.file = field.bytes().await.map_err(|e| e.to_string())?.to_vec(),
            _ => {}
        }
    }
    Ok(upload)
}

pub(super) async fn upload_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let (locale, _) = page_locale(&state, &headers, &query);
    let words = state.templates.page_words(locale);
    let word = |key: &str| {
        words
            .get_attr(key)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let refuse = |status: StatusCode, error: String| -> PageResult {
        Ok(Page::render(
            &state.templates,
            status,
            "provider_upload",
            locale,
            context! { error => error },
        )?
        .into_response())
    };
    let upload = match multipart {
        Ok(multipart) => match read_form(multipart).await {
            Ok(upload) => upload,
            Err(e) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("{} {e}", word("upload_unreadable")),
                );
            }
        },
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("{} {}", word("upload_unreadable"), e.body_text()),
            );
        }
    };
    let client =
        match clients::authenticate(&state.db, upload.client_id.trim(), &upload.client_secret)
            .await?
        {
            Ok(client)
                if client.kind == ClientKind::Provider
                    && client.provider_id.is_some()
                    && client
                        .scopes
                        .split_whitespace()
                        .any(|s| s == "provider:write") =>
            {
                client
            }
            _ => return refuse(StatusCode::UNAUTHORIZED, word("upload_refused")),
        };
    if let Err(retry_after) = state
        .client_limits
        .check(&client.client_id, client.rate_limit_per_minute)
    {
        return Err(crate::http::problem::Problem::too_many_requests(
            retry_after,
        ));
    }
    let Some(provider_id) = client.provider_id else {
        return refuse(StatusCode::UNAUTHORIZED, word("upload_refused"));
    };
    let csv = match rows::read_csv(&upload.file, MAX_ROWS) {
        Ok(csv) if !csv.rows.is_empty() => csv,
        Ok(_) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{} the file has no rows", word("upload_unreadable")),
            );
        }
        Err(e) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{} {}", word("upload_unreadable"), e.message),
            );
        }
    };
    let outcomes = attendance::ingest(
        &state.db,
        &state.schemes,
        provider_id,
        &client.client_id,
        csv.rows.clone(),
    )
    .await?;
    let report = report(&csv.rows, outcomes);
    let rejected_csv = rejected_rows_csv(&csv, &report);
    Ok(Page::render(
        &state.templates,
        StatusCode::OK,
        "provider_upload",
        locale,
        context! { report => report, rejected_csv => rejected_csv },
    )?
    .into_response())
}

/// The rejected rows as they were sent, with a `reason` column, as the base64 of a CSV file
/// (BOM first, so spreadsheets read it as UTF-8); `None` when no row was rejected. Cells that a
/// spreadsheet would read as formulas are neutralised.
fn rejected_rows_csv(csv: &rows::CsvUpload, report: &AttendanceReport) -> Option<String> {
    let rejected: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome == "rejected")
        .collect();
    if rejected.is_empty() {
        return None;
    }
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut header: Vec<String> = csv
        .header
        .iter()
        .map(|h| neutralise(h).into_owned())
        .collect();
    header.push("reason".to_owned());
    // Writing into memory cannot fail.
    let _ = out.write_record(&header);
    for result in rejected {
        let mut line: Vec<String> = csv
            .cells
            .get(result.row - 1)
            .map(|cells| cells.iter().map(|c| neutralise(c).into_owned()).collect())
            .unwrap_or_default();
        let reason = format!(
            "{}: {}",
            result.field.as_deref().unwrap_or("row"),
            result.reason.as_deref().unwrap_or_default()
        );
        line.push(neutralise(&reason).into_owned());
        let _ = out.write_record(&line);
    }
    Some(STANDARD.encode(out.into_inner().unwrap_or_default()))
}
