//! A professional's personal iCalendar feed (RFC 5545): each holding's renewal deadline, last
//! valid day, end of grace and the due dates of required activities still open, as all-day
//! events, so that renewal dates live in the calendar people already use.
//!
//! The feed's URL carries a secret (256 random bits) that is the only authority to read it,
//! because calendar programs cannot sign in. Only its SHA-256 is stored; creating a feed again
//! replaces it, so the old URL stops working, and revoking deletes it.

use chrono::{DateTime, NaiveDate, Utc};
use entity::calendar_feeds;
use entity::holdings::HoldingStatus;
use icalendar::{Calendar, Component, Event, EventLike};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::domain::scheme::LocalizedName;
use crate::services::audit::{self, Actor, Event as AuditEvent};
use crate::services::clients::{hash_secret, new_secret};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::{LedgerSlice, StandingError, today_for};

/// When the caller's feed was created; `None` when there is none.
pub async fn created_at(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(calendar_feeds::Entity::find_by_id(professional_id)
        .one(db)
        .await?
        .map(|feed| feed.created_at))
}

/// A new secret for the professional's feed, replacing any earlier one. Shown once.
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    professional_id: Uuid,
) -> Result<String, DbErr> {
    let secret = new_secret();
    let replaced = created_at(db, professional_id).await?.is_some();
    calendar_feeds::Entity::insert(calendar_feeds::ActiveModel {
        professional_id: Set(professional_id),
        secret_sha256: Set(hash_secret(&secret)),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(calendar_feeds::Column::ProfessionalId)
            .update_columns([
                calendar_feeds::Column::SecretSha256,
                calendar_feeds::Column::CreatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    audit::record(
        db,
        actor,
        AuditEvent {
            action: "calendar_feed.create",
            subject_kind: "professional",
            subject_id: Some(professional_id.to_string()),
            before: None,
            after: Some(json!({ "replaced_earlier_feed": replaced })),
        },
    )
    .await?;
    Ok(secret)
}

/// Stops the professional's feed; `false` when there was none.
pub async fn revoke(
    db: &impl ConnectionTrait,
    actor: &Actor,
    professional_id: Uuid,
) -> Result<bool, DbErr> {
    let deleted = calendar_feeds::Entity::delete_by_id(professional_id)
        .exec(db)
        .await?
        .rows_affected
        > 0;
    if deleted {
        audit::record(
            db,
            actor,
            AuditEvent {
                action: "calendar_feed.revoke",
                subject_kind: "professional",
                subject_id: Some(professional_id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
    }
    Ok(deleted)
}

/// The words of the feed's events in one language.
struct Words {
    japanese: bool,
}

impl Words {
    fn pick<'a>(&self, name: &'a LocalizedName) -> &'a str {
        if self.japanese { &name.ja } else { &name.en }
    }

    fn calendar_name(&self) -> &'static str {
        if self.japanese {
            "資格更新の予定"
        } else {
            "Certification renewals"
        }
    }

    fn deadline(&self, scheme: &str) -> String {
        if self.japanese {
            format!("{scheme}:更新の期限")
        } else {
            format!("{scheme}: renewal deadline")
        }
    }

    fn last_valid_day(&self, scheme: &str) -> String {
        if self.japanese {
            format!("{scheme}:有効期限(最終日)")
        } else {
            format!("{scheme}: last valid day")
        }
    }

    fn grace_ends(&self, scheme: &str) -> String {
        if self.japanese {
            format!("{scheme}:猶予期間の最終日")
        } else {
            format!("{scheme}: last day of grace")
        }
    }

    fn open_slot(&self, scheme: &str, slot: &str) -> String {
        if self.japanese {
            format!("{scheme}:{slot}の受講期限(未受講)")
        } else {
            format!("{scheme}: {slot} still to do, due")
        }
    }

    fn description(&self, registration_number: &str) -> String {
        if self.japanese {
            format!("登録番号 {registration_number}")
        } else {
            format!("Registration number {registration_number}")
        }
    }
}

/// One all-day event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Stable across fetches, so calendars update an event instead of adding another.
    pub uid: String,
    pub on: NaiveDate,
    pub summary: String,
    pub description: String,
}

/// What one professional's feed shows, in their language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub japanese: bool,
    pub events: Vec<FeedEvent>,
}

/// The events of the professional whose feed secret is `secret`; `None` when no feed has it.
pub async fn events_for_secret(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    secret: &str,
) -> Result<Option<Feed>, StandingError> {
    let Some(feed) = calendar_feeds::Entity::find()
        .filter(calendar_feeds::Column::SecretSha256.eq(hash_secret(secret)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(professional) = entity::professionals::Entity::find_by_id(feed.professional_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let words = Words {
        japanese: crate::templates::supported_locale(&professional.locale) == "ja",
    };
    let today = today_for(&professional);
    let slice = LedgerSlice::load(db, &[professional.id]).await?;
    let mut events = Vec::new();
    for holding in slice.holdings_of(professional.id) {
        if holding.status != HoldingStatus::Active {
            continue;
        }
        let judged = match slice.judge(catalog, holding, today) {
            Ok(judged) => judged,
            // A holding without a cycle has no dates to show yet.
            Err(StandingError::NoCycle(_)) => continue,
            Err(e) => return Err(e),
        };
        let standing = &judged.standing;
        let definition = catalog
            .version(&standing.scheme_id, &standing.scheme_version)
            .map(|s| &s.definition);
        let scheme = definition.map_or(standing.scheme_id.as_str(), |d| words.pick(&d.name));
        let description = words.description(&holding.registration_number);
        let uid = |kind: &str| format!("{}-{kind}@cpe-ledger", holding.id);
        let mut push = |uid: String, on: NaiveDate, summary: String| {
            events.push(FeedEvent {
                uid,
                on,
                summary,
                description: description.clone(),
            });
        };
        if standing.deadline != standing.expires_on {
            push(
                uid(&format!("deadline-{}", standing.deadline)),
                standing.deadline,
                words.deadline(scheme),
            );
        }
        push(
            uid(&format!("expires-{}", standing.expires_on)),
            standing.expires_on,
            words.last_valid_day(scheme),
        );
        if standing.grace_until > standing.expires_on {
            push(
                uid(&format!("grace-{}", standing.grace_until)),
                standing.grace_until,
                words.grace_ends(scheme),
            );
        }
        for slot in &standing.unmet_slots {
            let name = definition
                .and_then(|d| d.slots.iter().find(|s| s.id == slot.slot))
                .map_or(slot.slot.as_str(), |s| words.pick(&s.name));
            let year = slot.year.map_or(String::new(), |y| format!("-y{y}"));
            push(
                uid(&format!("slot-{}{year}-{}", slot.slot, slot.due_by)),
                slot.due_by,
                words.open_slot(scheme, name),
            );
        }
    }
    events.sort_by(|a, b| (a.on, &a.uid).cmp(&(b.on, &b.uid)));
    Ok(Some(Feed {
        japanese: words.japanese,
        events,
    }))
}

/// The feed as an iCalendar document.
pub fn to_ics(feed: &Feed) -> String {
    let words = Words {
        japanese: feed.japanese,
    };
    let stamp = Utc::now();
    let mut calendar = Calendar::new();
    calendar.name(words.calendar_name());
    for event in &feed.events {
        calendar.push(
            Event::new()
                .uid(&event.uid)
                .timestamp(stamp)
                .all_day(event.on)
                .summary(&event.summary)
                .description(&event.description)
                .done(),
        );
    }
    calendar.done().to_string()
}

/// The feed whose secret is `secret`, as iCalendar text; `None` when no feed has it.
pub async fn feed(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    secret: &str,
) -> Result<Option<String>, StandingError> {
    Ok(events_for_secret(db, catalog, secret)
        .await?
        .map(|feed| to_ics(&feed)))
}
