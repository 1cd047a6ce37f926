//! The review queue: staff approve or reject pending self-reported credits, with a reason for
//! a rejection. Each decision is recorded (`credit_reviews`), audit-logged, reflected in the
//! standing projection, and told to the professional by email through the outbox, in the same
//! transaction.

use chrono::Utc;
use entity::credit_reviews::{self, ReviewDecision};
use entity::credits::{CreditSource, CreditState};
use entity::{credits, professionals};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::config::Config;
use crate::mail::email::{CREDIT_REVIEWED, CreditReviewedEmail};
use crate::services::audit::{self, Actor, Event};
use crate::services::notifications::{self, NewNotification};
use crate::services::schemes::SchemeCatalog;
use crate::services::self_report::{self, OwnCredit};
use crate::services::standing_projection;
use crate::templates::supported_locale;

/// Longest reason kept.
pub const MAX_REASON: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("credit not found")]
    NotFound,
    #[error("the credit is {0}, not pending: it has been decided already")]
    NotPending(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A pending credit in the queue, with whose it is.
#[derive(Debug, Clone)]
pub struct QueuedCredit {
    pub credit: OwnCredit,
    pub professional_id: Uuid,
    pub professional_name: String,
}

/// Pending self-reported credits, oldest first: those after `after` (the previous page's last
/// id), at most `limit`.
pub async fn pending(
    db: &DatabaseConnection,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<QueuedCredit>, DbErr> {
    let mut query = credits::Entity::find()
        .filter(credits::Column::State.eq(CreditState::Pending))
        .filter(credits::Column::Source.eq(CreditSource::SelfReported))
        .order_by_asc(credits::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(credits::Column::Id.gt(after));
    }
    let rows = query.all(db).await?;
    let owners: Vec<(Uuid, Uuid)> = rows.iter().map(|c| (c.id, c.professional_id)).collect();
    let people: Vec<professionals::Model> = professionals::Entity::find()
        .filter(professionals::Column::Id.is_in(owners.iter().map(|(_, p)| *p)))
        .all(db)
        .await?;
    let described = self_report::describe(db, rows).await?;
    Ok(described
        .into_iter()
        .zip(owners)
        .map(|(credit, (_, professional_id))| {
            let professional_name = people
                .iter()
                .find(|p| p.id == professional_id)
                .map(|p| p.legal_name.clone())
                .unwrap_or_default();
            QueuedCredit {
                credit,
                professional_id,
                professional_name,
            }
        })
        .collect())
}

/// Approves or rejects the pending credit `id`. A rejection needs a reason.
pub async fn decide(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    config: &Config,
    actor: &Actor,
    id: Uuid,
    decision: ReviewDecision,
    reason: Option<&str>,
) -> Result<OwnCredit, ReviewError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if decision == ReviewDecision::Reject && reason.is_none() {
        return Err(ReviewError::Invalid {
            field: "reason",
            message: "is required to reject a credit: the professional is told why".to_owned(),
        });
    }
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(ReviewError::Invalid {
            field: "reason",
            message: format!("must be at most {MAX_REASON} characters"),
        });
    }
    let txn = super::begin_write(db).await?;
    let credit = credits::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ReviewError::NotFound)?;
    if credit.state != CreditState::Pending {
        return Err(ReviewError::NotPending(
            format!("{:?}", credit.state).to_lowercase(),
        ));
    }
    let person = professionals::Entity::find_by_id(credit.professional_id)
        .one(&txn)
        .await?
        .ok_or(ReviewError::NotFound)?;
    let new_state = match decision {
        ReviewDecision::Approve => CreditState::Approved,
        ReviewDecision::Reject => CreditState::Rejected,
    };
    let professional_id = credit.professional_id;
    let mut active: credits::ActiveModel = credit.clone().into();
    active.state = Set(new_state);
    active.update(&txn).await?;
    let reviewer = actor.id.clone().unwrap_or_else(|| "system".to_owned());
    credit_reviews::ActiveModel {
        id: Set(Uuid::now_v7()),
        credit_id: Set(id),
        decision: Set(decision),
        reason: Set(reason.map(str::to_owned)),
        reviewed_by: Set(reviewer),
        reviewed_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "credit.reviewed",
            subject_kind: "credit",
            subject_id: Some(id.to_string()),
            before: Some(serde_json::json!({ "state": "pending" })),
            after: Some(serde_json::json!({
                "state": new_state,
                "decision": decision,
                "reason": reason,
            })),
        },
    )
    .await?;
    standing_projection::refresh(&txn, catalog, &[professional_id]).await?;

    let described = self_report::describe(
        &txn,
        vec![credits::Model {
            state: new_state,
            ..credit
        }],
    )
    .await?
    .into_iter()
    .next()
    .ok_or(ReviewError::NotFound)?;
    if let Some(email) = person.email.clone() {
        let locale = supported_locale(&person.locale);
        let mut link = config.public_url.clone();
        link.set_path("credits");
        let payload = CreditReviewedEmail {
            name: Some(
                person
                    .display_name
                    .clone()
                    .unwrap_or(person.legal_name.clone()),
            ),
            title: described.title.clone(),
            provider_name: described.provider_name.clone().unwrap_or_default(),
            completed_on: if locale == "en" {
                described.completed_on.format("%-d %B %Y").to_string()
            } else {
                described.completed_on.format("%Y年%-m月%-d日").to_string()
            },
            hours: described.hours.to_string(),
            approved: decision == ReviewDecision::Approve,
            reason: reason.map(str::to_owned),
            link: link.to_string(),
        };
        notifications::enqueue(
            &txn,
            NewNotification {
                dedupe_key: format!("credit_reviewed:{id}"),
                template: CREDIT_REVIEWED,
                locale: locale.to_owned(),
                recipient: email,
                payload: serde_json::to_value(&payload)
                    .map_err(|e| DbErr::Custom(e.to_string()))?,
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(described)
}
