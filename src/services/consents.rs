//! What a professional lets each audience see beyond the always-public fields of a holding
//! (scheme, registration number, status, valid-until): their name, their employer, their
//! course history. Choices are per audience: procurement systems, and the public registry
//! page. Nothing is shared until its owner says so, and every change is audit-logged with
//! the choice before and after.

use std::collections::HashMap;

use chrono::Utc;
use entity::consents;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::services::audit::{self, Actor, Event};
use crate::services::begin_write;

/// What one audience may see beyond the always-public fields. The default is nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consents {
    pub name: bool,
    pub employer: bool,
    pub course_history: bool,
}

/// Who reads: each has its own choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Machine clients of `/v1/procurement` (buyers' systems).
    Procurement,
    /// Anyone at the public registry page.
    PublicRegistry,
}

impl Audience {
    pub const ALL: [Audience; 2] = [Audience::Procurement, Audience::PublicRegistry];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Procurement => "procurement",
            Audience::PublicRegistry => "public_registry",
        }
    }
}

impl From<&consents::Model> for Consents {
    fn from(row: &consents::Model) -> Self {
        Self {
            name: row.name,
            employer: row.employer,
            course_history: row.course_history,
        }
    }
}

/// What `professional_id` lets `audience` see; nothing beyond the public fields when they
/// have never chosen.
pub async fn of(
    conn: &impl ConnectionTrait,
    professional_id: Uuid,
    audience: Audience,
) -> Result<Consents, DbErr> {
    Ok(
        consents::Entity::find_by_id((professional_id, audience.as_str().to_owned()))
            .one(conn)
            .await?
            .as_ref()
            .map(Consents::from)
            .unwrap_or_default(),
    )
}

/// The choices of many people for one audience, in one statement per 10,000 people (a batch
/// verify reads them all at once). Someone absent from the answer has never chosen: use the
/// default.
pub async fn of_many(
    conn: &impl ConnectionTrait,
    professionals: &[Uuid],
    audience: Audience,
) -> Result<HashMap<Uuid, Consents>, DbErr> {
    let mut found = HashMap::new();
    for chunk in professionals.chunks(10_000) {
        for row in consents::Entity::find()
            .filter(consents::Column::Audience.eq(audience.as_str()))
            .filter(consents::Column::ProfessionalId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            found.insert(row.professional_id, Consents::from(&row));
        }
    }
    Ok(found)
}

/// Records `choice` as what `professional_id` lets `audience` see, audit-logged as
/// `consents.set` with the choice before and after, in one transaction. Answers the choice
/// now in force. Setting the same choice again changes nothing and logs nothing.
pub async fn set(
    db: &DatabaseConnection,
    actor: &Actor,
    professional_id: Uuid,
    audience: Audience,
    choice: Consents,
) -> Result<Consents, DbErr> {
    let txn = begin_write(db).await?;
    let before = of(&txn, professional_id, audience).await?;
    if before == choice {
        txn.rollback().await?;
        return Ok(choice);
    }
    consents::Entity::insert(consents::ActiveModel {
        professional_id: Set(professional_id),
        audience: Set(audience.as_str().to_owned()),
        name: Set(choice.name),
        employer: Set(choice.employer),
        course_history: Set(choice.course_history),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([consents::Column::ProfessionalId, consents::Column::Audience])
            .update_columns([
                consents::Column::Name,
                consents::Column::Employer,
                consents::Column::CourseHistory,
                consents::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "consents.set",
            subject_kind: "professional",
            subject_id: Some(professional_id.to_string()),
            before: Some(serde_json::json!({ "audience": audience, "consents": before })),
            after: Some(serde_json::json!({ "audience": audience, "consents": choice })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(choice)
}

/// Both audiences' choices of one person.
pub async fn all_of(
    conn: &impl ConnectionTrait,
    professional_id: Uuid,
) -> Result<HashMap<Audience, Consents>, DbErr> {
    let mut found: HashMap<Audience, Consents> = Audience::ALL
        .iter()
        .map(|a| (*a, Consents::default()))
        .collect();
    for row in consents::Entity::find()
        .filter(consents::Column::ProfessionalId.eq(professional_id))
        .all(conn)
        .await?
    {
        if let Some(audience) = Audience::ALL.iter().find(|a| a.as_str() == row.audience) {
            found.insert(*audience, Consents::from(&row));
        }
    }
    Ok(found)
}
