//! The reminder sweep: standing for every active holding, and one digest notification per
//! person listing what is newly due. A lapsed holding is judged only for its lapse notice, so
//! a holding the renewal run lapsed before the sweep is still told.
//!
//! Each reason queued is a row in `reminder_items`, keyed by its dedupe key (holding, cycle,
//! reason, threshold) and pointing at the notification that carried it. A key already there
//! is never queued again, so a second sweep the same day queues nothing; a reason that becomes
//! due later (the next threshold) has a new key and comes in that day's digest. When two
//! sweeps race, the loser's insert of an item hits the key and its whole digest is rolled back.
//! A page's digests are written together through the bulk-write path, in one transaction;
//! only when that meets a key another sweep took is each digest of the page written alone.
//!
//! People are read in pages ordered by id (keyset), so memory stays flat however many there are.
//! Reading the next page, judging this one and writing the last overlap (see [`sweep`]).

use std::collections::{HashSet, VecDeque};

use chrono::{NaiveDate, Utc};
use entity::notifications::{self, NotificationState};
use entity::{holdings, professionals, reminder_items, users};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
use crate::domain::points::Points;
use crate::domain::reminders::{self, DueReminder, Reason};
use crate::domain::scheme::{LocalizedName, SchemeDefinition};
use crate::domain::standing::Standing;
use crate::mail::reminder::{
    self, CategoryLine, CertificationReminder, ReminderEmail, SlotLine, YearLine, local_date,
};
use crate::services::bulk_write;
use crate::services::reminder_preferences;
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::{self, LedgerSlice, People, StandingError};
use crate::templates::supported_locale;

/// People read per page.
pub const PAGE: u64 = 1_000;

/// How a sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct SweepOptions {
    /// The date to judge standing on; `None`: today in each person's time zone.
    pub as_of: Option<NaiveDate>,
    /// Decide, and report, but queue nothing.
    pub dry_run: bool,
    /// Send the congratulation when a renewal is complete.
    pub congratulate: bool,
}

/// One reason a person is (or would be) reminded.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedReminder {
    pub recipient: String,
    pub scheme_id: String,
    pub registration_number: String,
    pub reason: Reason,
    pub threshold: String,
    pub dedupe_key: String,
}

/// What a sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    /// Holdings whose standing was computed: the active ones, and lapsed ones for their lapse
    /// notice.
    pub holdings: usize,
    /// Holdings that could not be judged (no cycle on record, rules not loaded).
    pub skipped: usize,
    /// Digest notifications queued (one per person reminded).
    pub notifications: usize,
    /// Reasons queued across all digests.
    pub items: usize,
    /// With `dry_run`: every reason that would be queued, in order.
    pub planned: Vec<PlannedReminder>,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("cannot store a reminder: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("a stage of the sweep stopped: {0}")]
    Stage(String),
}

impl From<tokio::task::JoinError> for SweepError {
    fn from(err: tokio::task::JoinError) -> Self {
        Self::Stage(err.to_string())
    }
}

/// Pages whose ledger is being read while the one before them is judged: two keep both
/// cores of a small machine busy (each read is split between its connection's thread and
/// the task decoding its rows).
const READS_AHEAD: usize = 2;

/// Runs one sweep over every professional with an active holding.
///
/// Pages move through three stages at once: while one page is judged and its digests built,
/// the ledgers of the next [`READS_AHEAD`] are read, and the one before is written. Memory
/// stays flat: at most that many pages are in hand besides the one judged and the one
/// written. The pages are written in order and the sweep stops at the first error of any
/// stage (a write under way when another stage fails still ends, committed or rolled back,
/// on its own).
pub async fn sweep(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    config: &Config,
    options: SweepOptions,
) -> Result<SweepReport, SweepError> {
    let mut report = SweepReport::default();
    let mut after: Option<Uuid> = None;
    let mut people_left = true;
    let mut reading: VecDeque<Stage<Result<Page, SweepError>>> = VecDeque::new();
    // A write is never stopped half-way: dropped on an error elsewhere, it runs to its end.
    let mut writing: Option<tokio::task::JoinHandle<Result<Queued, SweepError>>> = None;
    loop {
        while people_left && reading.len() < READS_AHEAD {
            let people = read_people(db, after).await?;
            let Some(last) = people.last() else {
                people_left = false;
                break;
            };
            after = Some(last.id);
            reading.push_back(Stage::start(read_page(db.clone(), people)));
        }
        let Some(next) = reading.pop_front() else {
            break;
        };
        let page = next.finish().await??;
        let digests = judge_page(db, catalog, config, options, &page, &mut report).await?;
        drop(page);
        if let Some(previous) = writing.take() {
            previous.await??.add_to(&mut report);
        }
        if !digests.is_empty() {
            writing = Some(tokio::spawn(queue_page(db.clone(), digests)));
        }
    }
    if let Some(last) = writing {
        last.await??.add_to(&mut report);
    }
    Ok(report)
}

/// A read of the sweep running on its own task; dropped unfinished (when another stage
/// failed), it is stopped.
struct Stage<T: Send + 'static>(Option<tokio::task::JoinHandle<T>>);

impl<T: Send + 'static> Stage<T> {
    fn start(work: impl std::future::Future<Output = T> + Send + 'static) -> Self {
        Self(Some(tokio::spawn(work)))
    }

    async fn finish(mut self) -> Result<T, SweepError> {
        match self.0.take() {
            Some(handle) => Ok(handle.await?),
            None => Err(SweepError::Stage(
                "a sweep stage was finished twice".to_owned(),
            )),
        }
    }
}

impl<T: Send + 'static> Drop for Stage<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

/// A page of people with what the sweep judges them by.
struct Page {
    people: Vec<professionals::Model>,
    stopped: std::collections::HashMap<Uuid, HashSet<Reason>>,
    slice: LedgerSlice,
}

/// The page of people after `after` (keyset, by id); empty past the last one.
async fn read_people(
    db: &DatabaseConnection,
    after: Option<Uuid>,
) -> Result<Vec<professionals::Model>, DbErr> {
    let mut query = professionals::Entity::find()
        .order_by_asc(professionals::Column::Id)
        .limit(PAGE);
    if let Some(last) = after {
        query = query.filter(professionals::Column::Id.gt(last));
    }
    query.all(db).await
}

/// A page of `people` (consecutive in id order) with their preferences and ledger.
async fn read_page(
    db: DatabaseConnection,
    people: Vec<professionals::Model>,
) -> Result<Page, SweepError> {
    // The page is every person from its first id to its last: one range.
    let slice = match (people.first(), people.last()) {
        (Some(first), Some(last)) => {
            LedgerSlice::load_people(&db, People::Between(first.id, last.id)).await?
        }
        _ => LedgerSlice::default(),
    };
    let ids: Vec<Uuid> = people.iter().map(|p| p.id).collect();
    let stopped = reminder_preferences::stopped_reasons(&db, &ids).await?;
    Ok(Page {
        people,
        stopped,
        slice,
    })
}

/// Judges every active holding of a page and answers the digests of what is newly due.
async fn judge_page(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    config: &Config,
    options: SweepOptions,
    page: &Page,
    report: &mut SweepReport,
) -> Result<Vec<QueuedDigest>, SweepError> {
    let stops_nothing = HashSet::new();
    let mut due = Vec::new();
    for person in &page.people {
        let held: Vec<&holdings::Model> = page
            .slice
            .holdings_of(person.id)
            .into_iter()
            .filter(|h| {
                // A holding the renewal run has just lapsed still gets its lapse notice.
                matches!(
                    h.status,
                    holdings::HoldingStatus::Active | holdings::HoldingStatus::Lapsed
                )
            })
            .collect();
        if held.is_empty() {
            continue;
        }
        let judging = Judging {
            catalog,
            slice: &page.slice,
            as_of: options.as_of.unwrap_or_else(|| standing::today_for(person)),
            stopped: page.stopped.get(&person.id).unwrap_or(&stops_nothing),
        };
        let judged = judge_person(&judging, options, &held, report)?;
        if !judged.is_empty() {
            due.push((person, judged));
        }
    }
    // Drop what an earlier sweep already queued: one lookup for the page.
    let known = already_queued(db, &due).await?;
    let mut digests = Vec::new();
    for (person, mut judged) in due {
        for j in &mut judged {
            j.items.retain(|(_, key)| !known.contains(key));
        }
        judged.retain(|j| !j.items.is_empty());
        if judged.is_empty() {
            continue;
        }
        if let Some(digest) =
            remind_person(db, catalog, config, options, person, &judged, report).await?
        {
            digests.push(digest);
        }
    }
    Ok(digests)
}

/// One certification's standing with what it newly calls for.
struct Judged {
    holding: holdings::Model,
    standing: Standing,
    items: Vec<(DueReminder, String)>,
}

/// What a person's holdings are judged with: the rules, the page's ledger, the day, and the
/// reasons the person unsubscribed from (the lapse notice is never among them).
struct Judging<'a> {
    catalog: &'a SchemeCatalog,
    slice: &'a LedgerSlice,
    as_of: NaiveDate,
    stopped: &'a HashSet<Reason>,
}

/// Each of a person's certifications that calls for a reminder, with what it calls for.
fn judge_person(
    judging: &Judging<'_>,
    options: SweepOptions,
    held: &[&holdings::Model],
    report: &mut SweepReport,
) -> Result<Vec<Judged>, SweepError> {
    let catalog = judging.catalog;
    let mut judged = Vec::new();
    for &holding in held {
        report.holdings += 1;
        let standing = match judging.slice.judge(catalog, holding, judging.as_of) {
            Ok(s) => s.standing,
            Err(StandingError::Db(e)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(holding = %holding.id, error = %e, "reminder sweep skips a holding");
                report.skipped += 1;
                continue;
            }
        };
        let Some(definition) = definition_of(catalog, &standing) else {
            report.skipped += 1;
            continue;
        };
        let items: Vec<(DueReminder, String)> = reminders::due(
            &standing,
            definition.reminder_thresholds(),
            options.congratulate,
        )
        .into_iter()
        .filter(|item| !judging.stopped.contains(&item.reason))
        .filter(|item| {
            holding.status == holdings::HoldingStatus::Active || item.reason == Reason::Lapsed
        })
        .map(|item| {
            let key = reminders::dedupe_key(&holding.id.to_string(), standing.starts_on, &item);
            (item, key)
        })
        .collect();
        if !items.is_empty() {
            judged.push(Judged {
                holding: holding.clone(),
                standing,
                items,
            });
        }
    }
    Ok(judged)
}

/// The dedupe keys among `judged` that an earlier sweep already queued.
async fn already_queued(
    db: &DatabaseConnection,
    due: &[(&professionals::Model, Vec<Judged>)],
) -> Result<HashSet<String>, DbErr> {
    let keys = due
        .iter()
        .flat_map(|(_, judged)| judged.iter())
        .flat_map(|j| {
            j.items
                .iter()
                .map(|(_, k)| vec![sea_orm::Value::from(k.clone())])
        })
        .collect();
    Ok(bulk_write::find_by_keys::<reminder_items::Entity>(
        db,
        &[reminder_items::Column::DedupeKey],
        keys,
    )
    .await?
    .into_iter()
    .map(|i| i.dedupe_key)
    .collect())
}

/// The digest for a person's newly due reasons (what an earlier sweep queued is already
/// dropped from `judged`).
async fn remind_person(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    config: &Config,
    options: SweepOptions,
    person: &professionals::Model,
    judged: &[Judged],
    report: &mut SweepReport,
) -> Result<Option<QueuedDigest>, SweepError> {
    let Some(recipient) = recipient_of(db, person).await? else {
        tracing::warn!(professional = %person.id, "no email address to remind");
        return Ok(None);
    };
    if options.dry_run {
        for j in judged {
            for (item, key) in &j.items {
                report.planned.push(PlannedReminder {
                    recipient: recipient.clone(),
                    scheme_id: j.holding.scheme_id.clone(),
                    registration_number: j.holding.registration_number.clone(),
                    reason: item.reason,
                    threshold: item.threshold.clone(),
                    dedupe_key: key.clone(),
                });
            }
        }
        return Ok(None);
    }
    let locale = supported_locale(&person.locale);
    let email = ReminderEmail {
        name: Some(
            person
                .display_name
                .clone()
                .unwrap_or_else(|| person.legal_name.clone()),
        ),
        dashboard_link: dashboard_link(config),
        certifications: judged
            .iter()
            .map(|j| {
                let reasons = j.items.iter().map(|(i, _)| i.reason).collect();
                let definition = definition_of(catalog, &j.standing);
                section(&j.holding, &j.standing, definition, reasons, locale)
            })
            .collect(),
        unsubscribe: None,
    };
    Ok(Some(digest(person, &recipient, locale, &email, judged)?))
}

/// One person's digest, ready to write: the notification and the reasons it carries.
struct QueuedDigest {
    notification: notifications::ActiveModel,
    items: Vec<reminder_items::ActiveModel>,
}

fn digest(
    person: &professionals::Model,
    recipient: &str,
    locale: &str,
    email: &ReminderEmail,
    judged: &[Judged],
) -> Result<QueuedDigest, SweepError> {
    let mut keys: Vec<&str> = judged
        .iter()
        .flat_map(|j| j.items.iter().map(|(_, k)| k.as_str()))
        .collect();
    keys.sort_unstable();
    let digest = hex::encode(Sha256::digest(keys.join("\n").as_bytes()));
    let now = Utc::now();
    let notification_id = Uuid::now_v7();
    let notification = notifications::ActiveModel {
        id: Set(notification_id),
        dedupe_key: Set(format!("reminder:{}:{}", person.id, &digest[..32])),
        template: Set(reminder::NAME.to_owned()),
        locale: Set(locale.to_owned()),
        recipient: Set(recipient.to_owned()),
        payload: Set(serde_json::to_value(email)?),
        state: Set(NotificationState::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        message_id: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    };
    let items = judged
        .iter()
        .flat_map(|j| {
            j.items
                .iter()
                .map(|(item, key)| reminder_items::ActiveModel {
                    dedupe_key: Set(key.clone()),
                    notification_id: Set(notification_id),
                    holding_id: Set(j.holding.id),
                    reason: Set(item.reason.as_str().to_owned()),
                    created_at: Set(now),
                })
        })
        .collect();
    Ok(QueuedDigest {
        notification,
        items,
    })
}

/// What writing a page queued.
#[derive(Debug, Default)]
struct Queued {
    notifications: usize,
    items: usize,
}

impl Queued {
    fn add_to(self, report: &mut SweepReport) {
        report.notifications += self.notifications;
        report.items += self.items;
    }
}

/// Writes a page's digests through the bulk path, all in one transaction. When another sweep
/// queued one of the items first, the page is rolled back and each digest is written on its
/// own, so that only the digests that raced are dropped.
async fn queue_page(
    db: DatabaseConnection,
    digests: Vec<QueuedDigest>,
) -> Result<Queued, SweepError> {
    let mut queued = Queued::default();
    if digests.is_empty() {
        return Ok(queued);
    }
    let txn = super::begin_write(&db).await?;
    let written = write_digests(&txn, digests.iter().collect()).await;
    if super::commit_unless_duplicate(txn, written).await? {
        queued.notifications = digests.len();
        queued.items = digests.iter().map(|d| d.items.len()).sum();
        return Ok(queued);
    }
    for digest in &digests {
        let txn = super::begin_write(&db).await?;
        let written = write_digests(&txn, vec![digest]).await;
        if super::commit_unless_duplicate(txn, written).await? {
            queued.notifications += 1;
            queued.items += digest.items.len();
        }
    }
    Ok(queued)
}

async fn write_digests(
    txn: &sea_orm::DatabaseTransaction,
    digests: Vec<&QueuedDigest>,
) -> Result<(), DbErr> {
    let notifications = digests.iter().map(|d| d.notification.clone()).collect();
    let items = digests
        .iter()
        .flat_map(|d| d.items.iter().cloned())
        .collect();
    bulk_write::insert(txn, notifications).await?;
    bulk_write::insert(txn, items).await?;
    Ok(())
}

fn definition_of<'c>(
    catalog: &'c SchemeCatalog,
    standing: &Standing,
) -> Option<&'c SchemeDefinition> {
    catalog
        .version(&standing.scheme_id, &standing.scheme_version)
        .map(|l| &l.definition)
}

async fn recipient_of(
    db: &DatabaseConnection,
    person: &professionals::Model,
) -> Result<Option<String>, DbErr> {
    if let Some(email) = person.email.as_ref().filter(|e| !e.is_empty()) {
        return Ok(Some(email.clone()));
    }
    Ok(users::Entity::find()
        .filter(users::Column::ProfessionalId.eq(person.id))
        .one(db)
        .await?
        .map(|u| u.email))
}

/// The dashboard every reminder links to.
pub fn dashboard_link(config: &Config) -> String {
    let mut link = config.public_url.clone();
    link.set_path("/");
    link.to_string()
}

fn localized(name: &LocalizedName, locale: &str) -> String {
    if locale == "en" {
        name.en.clone()
    } else {
        name.ja.clone()
    }
}

/// The digest section of one certification, with the person's own numbers.
pub fn section(
    holding: &holdings::Model,
    standing: &Standing,
    definition: Option<&SchemeDefinition>,
    reasons: Vec<Reason>,
    locale: &str,
) -> CertificationReminder {
    let category_name = |id: &str| {
        definition
            .and_then(|d| d.categories.iter().find(|c| c.id == id))
            .map_or_else(|| id.to_owned(), |c| localized(&c.name, locale))
    };
    let slot_name = |id: &str| {
        definition
            .and_then(|d| d.slots.iter().find(|s| s.id == id))
            .map_or_else(|| id.to_owned(), |s| localized(&s.name, locale))
    };
    let categories = standing
        .by_category
        .iter()
        .filter(|c| c.minimum.is_some() || c.counted > Points::ZERO)
        .map(|c| CategoryLine {
            name: category_name(&c.category),
            counted: c.counted.to_string(),
            minimum: c.minimum.map(|m| m.to_string()),
            missing: c
                .minimum
                .map(|m| m.saturating_sub(c.counted))
                .filter(|m| m.is_positive())
                .map(|m| m.to_string()),
        })
        .collect();
    let years = if reasons.contains(&Reason::YearMinimum) {
        standing
            .by_year
            .iter()
            .filter_map(|y| {
                let minimum = y.minimum?;
                (y.met.is_none() && y.counted < minimum && y.starts_on <= standing.as_of).then(
                    || YearLine {
                        year: y.year,
                        last_day: local_date(y.last_day, locale),
                        counted: y.counted.to_string(),
                        minimum: minimum.to_string(),
                        missing: minimum.saturating_sub(y.counted).to_string(),
                    },
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    CertificationReminder {
        scheme: definition.map_or_else(
            || standing.scheme_id.clone(),
            |d| localized(&d.name, locale),
        ),
        registration_number: holding.registration_number.clone(),
        reasons,
        last_valid_day: local_date(standing.expires_on, locale),
        deadline: local_date(standing.deadline, locale),
        days_left: reminders::days_left(standing),
        grace_until: local_date(standing.grace_until, locale),
        counts_points: standing.required > Points::ZERO,
        required: standing.required.to_string(),
        counted: standing.counted.to_string(),
        missing: standing.remaining.to_string(),
        categories,
        years,
        unmet_slots: standing
            .unmet_slots
            .iter()
            .map(|s| SlotLine {
                name: slot_name(&s.slot),
                year: s.year,
                due_by: local_date(s.due_by, locale),
            })
            .collect(),
    }
}
