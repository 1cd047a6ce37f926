//! Which reminder reasons each professional receives, and the unsubscribe links that change it.
//!
//! Every reason is sent unless its owner unsubscribed from it, by the one-click link of a
//! reminder email (RFC 8058) or the page behind it, or in their own settings
//! (`/v1/me/reminder-preferences`). The page that confirms an unsubscribe offers to take it
//! back with the same link, and the settings turn any reason on or off again. Every change is
//! audit-logged. The lapse notice is always sent: it is the
//! one message that says a registration is gone, so no link offers to stop it and a
//! preference for it is never recorded. Each email's `List-Unsubscribe` link stops the reasons
//! that email is about; the body has one link per reason.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::Utc;
use entity::{holdings, professionals, reminder_items, reminder_preferences};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter,
};
use uuid::Uuid;

use crate::auth::tokens::{KeyRing, TokenError};
use crate::auth::unsubscribe_token::{self, UnsubscribeTokenError};
use crate::config::Config;
use crate::domain::reminders::Reason;
use crate::mail::reminder::{ReasonLink, UnsubscribeLinks};
use crate::services::audit::{self, Actor, Event};
use crate::services::begin_write;
use crate::templates::supported_locale;

/// The reason no preference stops.
pub const ALWAYS_SENT: Reason = Reason::Lapsed;

/// Whether a person may stop `reason`.
pub fn can_unsubscribe(reason: Reason) -> bool {
    reason != ALWAYS_SENT
}

#[derive(Debug, thiserror::Error)]
pub enum UnsubscribeError {
    /// The link is not one of ours (or altered), or names someone who is gone.
    #[error("the unsubscribe link is not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Keys(#[from] crate::auth::keys::KeyError),
}

impl From<UnsubscribeTokenError> for UnsubscribeError {
    fn from(err: UnsubscribeTokenError) -> Self {
        match err {
            UnsubscribeTokenError::Invalid(why) => Self::Invalid(why),
            UnsubscribeTokenError::Keys(e) => Self::Keys(e),
        }
    }
}

/// What a valid link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeLink {
    pub professional_id: Uuid,
    /// The reasons the link stops, in section order (never the lapse notice).
    pub reasons: Vec<Reason>,
}

/// Reads a link without changing anything (the confirmation page).
pub async fn check(
    db: &impl ConnectionTrait,
    issuer: &str,
    token: &str,
) -> Result<UnsubscribeLink, UnsubscribeError> {
    let (professional_id, reasons) = unsubscribe_token::verify(db, issuer, token).await?;
    if professionals::Entity::find_by_id(professional_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(UnsubscribeError::Invalid("no such person".to_owned()));
    }
    let reasons: BTreeSet<Reason> = reasons
        .into_iter()
        .filter(|r| can_unsubscribe(*r))
        .collect();
    if reasons.is_empty() {
        return Err(UnsubscribeError::Invalid(
            "names no reason that can be stopped".to_owned(),
        ));
    }
    Ok(UnsubscribeLink {
        professional_id,
        reasons: reasons.into_iter().collect(),
    })
}

/// Uses a link: records that its reasons are not to be sent. Using it again changes nothing.
pub async fn unsubscribe(
    db: &DatabaseConnection,
    issuer: &str,
    token: &str,
) -> Result<UnsubscribeLink, UnsubscribeError> {
    by_link(db, issuer, token, false).await
}

/// Undoes a link: its reasons are sent again. The same signed link that stopped them is the
/// authority, so whoever could stop them can take that back. Using it again changes nothing.
pub async fn resubscribe(
    db: &DatabaseConnection,
    issuer: &str,
    token: &str,
) -> Result<UnsubscribeLink, UnsubscribeError> {
    by_link(db, issuer, token, true).await
}

async fn by_link(
    db: &DatabaseConnection,
    issuer: &str,
    token: &str,
    subscribed: bool,
) -> Result<UnsubscribeLink, UnsubscribeError> {
    let link = check(db, issuer, token).await?;
    // Whoever holds the link acts for the person it names; no one is signed in.
    let actor = Actor::anonymous(Some(format!("link:{}", link.professional_id)));
    let changes: Vec<(Reason, bool)> = link.reasons.iter().map(|r| (*r, subscribed)).collect();
    apply(db, &actor, link.professional_id, &changes).await?;
    tracing::info!(professional = %link.professional_id, reasons = ?link.reasons, subscribed, "reminder preferences changed by link");
    Ok(link)
}

/// Why a change of preferences is refused.
#[derive(Debug, thiserror::Error)]
pub enum PreferenceError {
    /// The lapse notice cannot be turned off.
    #[error("the notice that a certification has lapsed is always sent and cannot be turned off")]
    AlwaysSent(Reason),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Whether each reason is sent to `professional_id`, in section order. The lapse notice is
/// always `true`.
pub async fn of(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
) -> Result<BTreeMap<Reason, bool>, DbErr> {
    let mut preferences: BTreeMap<Reason, bool> = Reason::ALL.iter().map(|r| (*r, true)).collect();
    for row in reminder_preferences::Entity::find()
        .filter(reminder_preferences::Column::ProfessionalId.eq(professional_id))
        .all(db)
        .await?
    {
        if let Some(reason) = Reason::parse(&row.reason).filter(|r| can_unsubscribe(*r)) {
            preferences.insert(reason, row.subscribed);
        }
    }
    Ok(preferences)
}

/// Sets some of a person's preferences (a reason left out keeps its choice) and answers them
/// all. Turning the lapse notice off is refused and changes nothing; turning it on is what it
/// already is. A change is audit-logged with the preferences before and after; a request that
/// changes nothing logs nothing.
pub async fn set(
    db: &DatabaseConnection,
    actor: &Actor,
    professional_id: Uuid,
    changes: &[(Reason, bool)],
) -> Result<BTreeMap<Reason, bool>, PreferenceError> {
    if let Some((reason, _)) = changes
        .iter()
        .find(|(reason, subscribed)| !can_unsubscribe(*reason) && !subscribed)
    {
        return Err(PreferenceError::AlwaysSent(*reason));
    }
    Ok(apply(db, actor, professional_id, changes).await?)
}

/// Records `changes` (the lapse notice among them is ignored: it is always sent) and the audit
/// event that says what changed, in one transaction.
async fn apply(
    db: &DatabaseConnection,
    actor: &Actor,
    professional_id: Uuid,
    changes: &[(Reason, bool)],
) -> Result<BTreeMap<Reason, bool>, DbErr> {
    let txn = begin_write(db).await?;
    let before = of(&txn, professional_id).await?;
    let mut after = before.clone();
    for (reason, subscribed) in changes {
        if can_unsubscribe(*reason) {
            after.insert(*reason, *subscribed);
        }
    }
    let now = Utc::now();
    let rows: Vec<reminder_preferences::ActiveModel> = after
        .iter()
        .filter(|(reason, subscribed)| before.get(*reason) != Some(*subscribed))
        .map(|(reason, subscribed)| reminder_preferences::ActiveModel {
            professional_id: Set(professional_id),
            reason: Set(reason.as_str().to_owned()),
            subscribed: Set(*subscribed),
            updated_at: Set(now),
        })
        .collect();
    if rows.is_empty() {
        txn.rollback().await?;
        return Ok(after);
    }
    reminder_preferences::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                reminder_preferences::Column::ProfessionalId,
                reminder_preferences::Column::Reason,
            ])
            .update_columns([
                reminder_preferences::Column::Subscribed,
                reminder_preferences::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: AUDIT_ACTION,
            subject_kind: "professional",
            subject_id: Some(professional_id.to_string()),
            before: Some(as_json(&before)),
            after: Some(as_json(&after)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// The audit action of every change of reminder preferences, by link or by the person.
pub const AUDIT_ACTION: &str = "reminder_preferences.set";

/// `{"approaching": true, …}`, as the audit log and the API show preferences.
pub fn as_json(preferences: &BTreeMap<Reason, bool>) -> serde_json::Value {
    serde_json::Value::Object(
        preferences
            .iter()
            .map(|(reason, subscribed)| {
                (
                    reason.as_str().to_owned(),
                    serde_json::Value::Bool(*subscribed),
                )
            })
            .collect(),
    )
}

/// The reasons each of `people` chose not to receive (never the lapse notice).
pub async fn stopped_reasons(
    db: &impl ConnectionTrait,
    people: &[Uuid],
) -> Result<HashMap<Uuid, HashSet<Reason>>, DbErr> {
    let mut stopped: HashMap<Uuid, HashSet<Reason>> = HashMap::new();
    if people.is_empty() {
        return Ok(stopped);
    }
    for row in reminder_preferences::Entity::find()
        .filter(reminder_preferences::Column::ProfessionalId.is_in(people.iter().copied()))
        .filter(reminder_preferences::Column::Subscribed.eq(false))
        .all(db)
        .await?
    {
        if let Some(reason) = Reason::parse(&row.reason).filter(|r| can_unsubscribe(*r)) {
            stopped
                .entry(row.professional_id)
                .or_default()
                .insert(reason);
        }
    }
    Ok(stopped)
}

/// The public URL of a link, whose page speaks `locale`.
pub fn link(config: &Config, token: &str, locale: &str) -> String {
    let mut url = config.public_url.clone();
    url.set_path("/unsubscribe");
    url.query_pairs_mut()
        .append_pair("token", token)
        .append_pair("lang", supported_locale(locale));
    url.to_string()
}

/// The unsubscribe links of a queued reminder: one for all the reasons it carries (the
/// `List-Unsubscribe` header) and one per reason (the body). `None` when it carries only the
/// lapse notice, or nothing is known of it.
pub async fn links_for_notification(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    config: &Config,
    notification_id: Uuid,
    locale: &str,
) -> Result<Option<UnsubscribeLinks>, LinksError> {
    let items = reminder_items::Entity::find()
        .filter(reminder_items::Column::NotificationId.eq(notification_id))
        .all(db)
        .await?;
    let Some(first) = items.first() else {
        return Ok(None);
    };
    let Some(holding) = holdings::Entity::find_by_id(first.holding_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let reasons: BTreeSet<Reason> = items
        .iter()
        .filter_map(|i| Reason::parse(&i.reason))
        .filter(|r| can_unsubscribe(*r))
        .collect();
    if reasons.is_empty() {
        return Ok(None);
    }
    let reasons: Vec<Reason> = reasons.into_iter().collect();
    let person = holding.professional_id;
    let all = link(
        config,
        &unsubscribe_token::sign(keys, person, &reasons)?,
        locale,
    );
    let each = reasons
        .iter()
        .map(|reason| {
            Ok(ReasonLink {
                reason: *reason,
                link: link(
                    config,
                    &unsubscribe_token::sign(keys, person, &[*reason])?,
                    locale,
                ),
            })
        })
        .collect::<Result<Vec<_>, TokenError>>()?;
    Ok(Some(UnsubscribeLinks { all, each }))
}

#[derive(Debug, thiserror::Error)]
pub enum LinksError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("cannot sign an unsubscribe link: {0}")]
    Sign(#[from] TokenError),
}
