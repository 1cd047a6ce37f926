//! The disclosure log: every procurement read of a holding, recorded with the client that
//! asked, the fields its answer carried and the time, so the holder can see who looked them
//! up. Rows are only ever added; a read that discloses nothing about a holding (not found)
//! has no holding to log against and leaves no row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{clients, disclosures, holdings};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::services::bulk_write;

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
    let now = Utc::now();
    let rows = answers
        .iter()
        .map(|(holding_id, fields)| disclosures::ActiveModel {
            id: Set(Uuid::now_v7()),
            client_id: Set(client_id.to_owned()),
            holding_id: Set(*holding_id),
            fields: Set(fields.join(",")),
            disclosed_at: Set(now),
        })
        .collect();
    bulk_write::insert(conn, rows).await?;
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
