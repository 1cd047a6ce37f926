//! Statements that report a finished course become credits, through the same attendance path
//! as `/v1/provider/attendance`, in the transaction that stores them.
//!
//! A statement is reported as attendance when
//! - its verb is ADL's attended, completed or passed;
//! - its object is an Activity of the provider's catalogue: the activity id is the course's
//!   `code`, or `<public URL>/xapi/courses/<code>` (the code percent-encoded);
//! - its actor is an Agent the ledger can name: `mbox` by the professional's email,
//!   `mbox_sha1sum` by the SHA-1 of `mailto:<email>`, or an `account` whose `homePage` is the
//!   ledger's public URL and whose `name` is `<scheme>:<registration number>`.
//!
//! The attendance's reference is `xapi:<statement id>`, its completion the statement's
//! `timestamp` (or `stored`). The attendance path judges it like any row (known course and
//! person, accreditation, not in the future); a refused one leaves the statement stored and
//! uncredited. Voiding the statement voids its credit.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use entity::professionals;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use sha1::{Digest, Sha1};
use uuid::Uuid;

use crate::domain::EmailAddress;
use crate::domain::scheme::normalise_scheme_id;
use crate::domain::xapi::{Actor, Identifier, Statement};
use crate::services::attendance::{
    self, AttendanceError, AttendanceRow, Completion, PersonRef, RowOutcome,
};
use crate::services::audit::Actor as AuditActor;
use crate::services::schemes::SchemeCatalog;

/// The credit reference of the attendance a statement reports.
pub fn reference(statement_id: Uuid) -> String {
    format!("xapi:{statement_id}")
}

/// The path under the public URL that names a course by code in an activity id.
const COURSE_PATH: &str = "/xapi/courses/";

/// The course code an activity id names.
pub fn course_code(activity_id: &str, home_page: &str) -> String {
    activity_id
        .strip_prefix(home_page)
        .and_then(|rest| rest.strip_prefix(COURSE_PATH))
        .filter(|code| !code.is_empty())
        .map(|code| {
            url::form_urlencoded::parse(format!("c={code}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| code.to_owned())
        })
        .unwrap_or_else(|| activity_id.to_owned())
}

/// `hex(sha1("mailto:<email>"))`, as xAPI's `mbox_sha1sum` is written.
pub fn mbox_sha1sum(email: &str) -> String {
    hex::encode(Sha1::digest(format!("mailto:{email}").as_bytes()))
}

/// Who an Agent is in the ledger, when the statement names them in a way the ledger can match.
fn person(actor: &Actor, home_page: &str, by_sha1: &HashMap<String, Uuid>) -> Option<PersonRef> {
    let Actor::Agent(identifier) = actor else {
        return None;
    };
    match identifier {
        Identifier::Mbox(mbox) => {
            let address = mbox.strip_prefix("mailto:")?;
            let email = EmailAddress::parse(address).ok()?;
            Some(PersonRef::Email(email.as_str().to_owned()))
        }
        Identifier::MboxSha1(sum) => by_sha1.get(sum).copied().map(PersonRef::Professional),
        Identifier::Account {
            home_page: home,
            name,
        } if home.trim_end_matches('/') == home_page => {
            let (scheme, number) = name.split_once(':')?;
            Some(PersonRef::Registration {
                scheme: normalise_scheme_id(scheme),
                registration_number: number.to_owned(),
            })
        }
        _ => None,
    }
}

/// The `mbox_sha1sum`s among `statements`' credit-worthy actors.
fn sums_wanted(statements: &[&Statement]) -> HashSet<String> {
    statements
        .iter()
        .filter(|s| s.reports_completion())
        .filter_map(|s| match &s.actor {
            Actor::Agent(Identifier::MboxSha1(sum)) => Some(sum.clone()),
            _ => None,
        })
        .collect()
}

/// Professionals whose `mailto:` email hashes to one of `sums`. The hash cannot be looked up
/// by index, so the emails are read and hashed, once per batch that needs it.
async fn people_by_sha1(
    conn: &impl ConnectionTrait,
    sums: &HashSet<String>,
) -> Result<HashMap<String, Uuid>, DbErr> {
    if sums.is_empty() {
        return Ok(HashMap::new());
    }
    let people: Vec<(Uuid, Option<String>)> = professionals::Entity::find()
        .select_only()
        .column(professionals::Column::Id)
        .column(professionals::Column::Email)
        .filter(professionals::Column::Email.is_not_null())
        .into_tuple()
        .all(conn)
        .await?;
    Ok(people
        .into_iter()
        .filter_map(|(id, email)| {
            let sum = mbox_sha1sum(&email?);
            sums.contains(&sum).then_some((sum, id))
        })
        .collect())
}

/// One statement to credit: its place in the batch and the attendance it reports.
pub struct Candidate {
    pub index: usize,
    pub row: AttendanceRow,
}

/// The attendance each credit-worthy statement reports, with its index in `statements`.
pub async fn candidates(
    conn: &impl ConnectionTrait,
    statements: &[(&Statement, Uuid, DateTime<FixedOffset>)],
    home_page: &str,
) -> Result<Vec<Candidate>, DbErr> {
    let all: Vec<&Statement> = statements.iter().map(|(s, _, _)| *s).collect();
    let by_sha1 = people_by_sha1(conn, &sums_wanted(&all)).await?;
    Ok(statements
        .iter()
        .enumerate()
        .filter(|(_, (s, _, _))| s.reports_completion())
        .filter_map(|(index, (statement, id, stored))| {
            let course = course_code(statement.activity_id()?, home_page);
            let person = person(&statement.actor, home_page, &by_sha1)?;
            Some(Candidate {
                index,
                row: AttendanceRow {
                    reference: reference(*id),
                    course,
                    person,
                    completed: Completion::At(statement.timestamp.unwrap_or(*stored)),
                    hours: None,
                    points: None,
                },
            })
        })
        .collect())
}

/// Credits `candidates` inside the caller's transaction; answers, by candidate index, the
/// reference of each credit made (or found already made). A provider that may not report
/// attendance (not approved) has its statements stored and none credited.
pub async fn credit(
    conn: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    provider_id: Uuid,
    client_id: &str,
    candidates: Vec<Candidate>,
) -> Result<HashMap<usize, String>, AttendanceError> {
    if candidates.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<attendance::rows::Reported> =
        candidates.iter().map(|c| Ok(c.row.clone())).collect();
    let outcomes = match attendance::ingest_in(conn, catalog, provider_id, client_id, &rows).await {
        Ok(outcomes) => outcomes,
        Err(AttendanceError::ProviderNotApproved(status)) => {
            tracing::info!(%provider_id, ?status, "xAPI statements stored uncredited: provider not approved");
            return Ok(HashMap::new());
        }
        Err(e) => return Err(e),
    };
    let mut credited = HashMap::new();
    for (candidate, outcome) in candidates.into_iter().zip(outcomes) {
        match outcome {
            RowOutcome::Created { .. } | RowOutcome::Unchanged { .. } => {
                credited.insert(candidate.index, candidate.row.reference);
            }
            RowOutcome::Conflict { fields, .. } => {
                tracing::info!(reference = %candidate.row.reference, ?fields, "xAPI statement not credited: its reference was reported with other content");
            }
            RowOutcome::Rejected(why) => {
                tracing::info!(reference = %candidate.row.reference, field = %why.field, reason = %why.reason, "xAPI statement stored uncredited");
            }
        }
    }
    Ok(credited)
}

/// Voids the credits of voided statements (`(credit reference, voiding statement id)`). A
/// credit the provider already withdrew another way stays as it is.
pub async fn void(
    conn: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    provider_id: Uuid,
    client_id: &str,
    credits: Vec<(String, Uuid)>,
) -> Result<(), AttendanceError> {
    for (reference, voiding) in credits {
        let reason = format!("voided by xAPI statement {voiding}");
        match attendance::void_in(
            conn,
            catalog,
            provider_id,
            &reference,
            &reason,
            &AuditActor::client(client_id),
        )
        .await
        {
            Ok(_) | Err(AttendanceError::AlreadyVoided(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_activity_id_names_a_course_by_code_or_by_the_ledger_course_iri() {
        let home = "https://ledger.example";
        assert_eq!(
            course_code("https://lms.example/courses/IR-101", home),
            "https://lms.example/courses/IR-101"
        );
        assert_eq!(
            course_code("https://ledger.example/xapi/courses/IR%20101", home),
            "IR 101"
        );
        assert_eq!(
            course_code("https://ledger.example/xapi/courses/", home),
            "https://ledger.example/xapi/courses/"
        );
    }

    #[test]
    fn an_account_names_a_holding_only_on_the_ledgers_home_page() {
        let home = "https://ledger.example";
        let account = |home_page: &str, name: &str| {
            Actor::Agent(Identifier::Account {
                home_page: home_page.into(),
                name: name.into(),
            })
        };
        assert_eq!(
            person(
                &account("https://ledger.example/", "CISSP:123456"),
                home,
                &HashMap::new()
            ),
            Some(PersonRef::Registration {
                scheme: "cissp".into(),
                registration_number: "123456".into()
            })
        );
        assert_eq!(
            person(
                &account("https://lms.example", "cissp:123456"),
                home,
                &HashMap::new()
            ),
            None
        );
        assert_eq!(
            person(&account(home, "123456"), home, &HashMap::new()),
            None
        );
    }

    #[test]
    fn the_sha1_of_a_mailto_address_is_written_as_xapi_writes_it() {
        // sha1sum of the bytes `mailto:test@example.com`, computed outside Rust.
        assert_eq!(
            mbox_sha1sum("test@example.com"),
            "53d04bc579b8b4d082ca4a530642845e2c0bfe74"
        );
    }
}
