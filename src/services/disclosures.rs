//! The disclosure log: every procurement read of a holding, recorded with the client that
//! asked, the fields its answer carried and the time, so the holder can see who looked them
//! up. Rows are only ever added; a read that discloses nothing about a holding (not found)
//! has no holding to log against and leaves no row.
//!
//! Procurement reads log through [`DisclosureLog`], a group commit: each read hands its rows to
//! one writer task and waits until they are committed, so an answer still leaves only after
//! its disclosure is on record, while concurrent reads share one write transaction instead of
//! queueing one by one for SQLite's single writer lock.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{clients, disclosures, holdings};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::services::bulk_write;

/// Most rows one group commit writes; what waits beyond them goes in the next.
const MAX_ROWS_PER_COMMIT: usize = 20_000;
/// Reads that may wait for the writer at once before a new one waits to hand over its rows.
const QUEUE: usize = 4_096;

/// The disclosure log's writer: procurement reads record through it (see the module notes).
/// Cheap to clone; the writer task ends when the last handle is dropped, after writing what
/// was handed to it.
#[derive(Clone)]
pub struct DisclosureLog {
    sender: tokio::sync::mpsc::Sender<Pending>,
}

struct Pending {
    rows: Vec<disclosures::ActiveModel>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

impl DisclosureLog {
    /// Starts the writer task on the current tokio runtime, writing through `db`.
    pub fn start(db: sea_orm::DatabaseConnection) -> Self {
        let (sender, receiver) = tokio::sync::mpsc::channel(QUEUE);
        tokio::spawn(write_loop(db, receiver));
        Self { sender }
    }

    /// Records one answer about each of `answers` as disclosed to `client_id`, now, and
    /// returns once the rows are committed. An error means they may not be: the read must not
    /// be answered.
    pub async fn record_many(
        &self,
        client_id: &str,
        answers: &[(Uuid, &[&str])],
    ) -> Result<(), DbErr> {
        if answers.is_empty() {
            return Ok(());
        }
        let (done, committed) = tokio::sync::oneshot::channel();
        let stopped = || DbErr::Custom("the disclosure log writer has stopped".to_owned());
        self.sender
            .send(Pending {
                rows: rows_of(client_id, answers),
                done,
            })
            .await
            .map_err(|_| stopped())?;
        committed
            .await
            .map_err(|_| stopped())?
            .map_err(DbErr::Custom)
    }
}

/// Takes what is waiting (at least one hand-over, then whatever else has queued up meanwhile,
/// up to [`MAX_ROWS_PER_COMMIT`] rows), writes it in one transaction and tells every waiter
/// the outcome.
async fn write_loop(
    db: sea_orm::DatabaseConnection,
    mut receiver: tokio::sync::mpsc::Receiver<Pending>,
) {
    while let Some(first) = receiver.recv().await {
        let mut count = first.rows.len();
        let mut batch = vec![first];
        while count < MAX_ROWS_PER_COMMIT {
            match receiver.try_recv() {
                Ok(next) => {
                    count += next.rows.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let rows: Vec<disclosures::ActiveModel> = batch
            .iter_mut()
            .flat_map(|p| std::mem::take(&mut p.rows))
            .collect();
        let outcome = commit(&db, rows).await.map_err(|e| {
            tracing::error!(error = %e, "writing the disclosure log failed");
            e.to_string()
        });
        for pending in batch {
            let _ = pending.done.send(outcome.clone());
        }
    }
}

async fn commit(
    db: &sea_orm::DatabaseConnection,
    rows: Vec<disclosures::ActiveModel>,
) -> Result<(), DbErr> {
    let txn = crate::services::begin_write(db).await?;
    bulk_write::insert(&txn, rows).await?;
    txn.commit().await
}

fn rows_of(client_id: &str, answers: &[(Uuid, &[&str])]) -> Vec<disclosures::ActiveModel> {
    let now = Utc::now();
    answers
        .iter()
        .map(|(holding_id, fields)| disclosures::ActiveModel {
            id: Set(Uuid::now_v7()),
            client_id: Set(client_id.to_owned()),
            holding_id: Set(*holding_id),
            fields: Set(fields.join(",")),
            disclosed_at: Set(now),
        })
        .collect()
}

/// Records that `client_id` was told `fields` about `holding_id`, now.
pub async fn record(
    conn: &impl ConnectionTrait,
    client_id: &str,
    holding_id: Uuid,
    fields: &[&str],
) -> Result<(), DbErr> {
    record_many(conn, client_id, &[(holding_id, fields)]).await
}

/// Records one answer about each of many holdings (a batch verify), through the bulk-write
/// path: a few statements however many holdings.
pub async fn record_many(
    conn: &impl ConnectionTrait,
    client_id: &str,
    answers: &[(Uuid, &[&str])],
) -> Result<(), DbErr> {
    bulk_write::insert(conn, rows_of(client_id, answers)).await?;
    Ok(())
}

/// One line of "who looked me up".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    pub id: Uuid,
    pub disclosed_at: DateTime<Utc>,
    pub client_id: String,
    /// The client's name as the certification body registered it; `None` if it is gone.
    pub client_name: Option<String>,
    pub scheme: String,
    pub registration_number: String,
    pub fields: Vec<String>,
}

/// The reads of `professional_id`'s holdings, newest first, `limit` of them, older than the
/// one with id `before` when given (ids are time-ordered).
pub async fn of_professional(
    conn: &impl ConnectionTrait,
    professional_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Disclosure>, DbErr> {
    let own: HashMap<Uuid, holdings::Model> = holdings::Entity::find()
        .filter(holdings::Column::ProfessionalId.eq(professional_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    if own.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = disclosures::Entity::find()
        .filter(disclosures::Column::HoldingId.is_in(own.keys().copied()))
        .order_by_desc(disclosures::Column::Id)
        .limit(limit);
    if let Some(before) = before {
        query = query.filter(disclosures::Column::Id.lt(before));
    }
    let rows = query.all(conn).await?;
    let mut client_ids: Vec<&str> = rows.iter().map(|r| r.client_id.as_str()).collect();
    client_ids.sort_unstable();
    client_ids.dedup();
    let names: HashMap<String, String> = if client_ids.is_empty() {
        HashMap::new()
    } else {
        clients::Entity::find()
            .filter(clients::Column::ClientId.is_in(client_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|c| (c.client_id, c.name))
            .collect()
    };
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let holding = own.get(&row.holding_id)?;
            Some(Disclosure {
                id: row.id,
                disclosed_at: row.disclosed_at,
                client_name: names.get(&row.client_id).cloned(),
                client_id: row.client_id,
                scheme: holding.scheme_id.clone(),
                registration_number: holding.registration_number.clone(),
                fields: row
                    .fields
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect())
}
