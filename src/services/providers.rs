//! Course providers as the certification body's staff register and suspend them.

use chrono::{NaiveDate, Utc};
use entity::clients;
pub use entity::providers::Accreditation;
use entity::providers::{self, Accreditations};
pub use entity::providers::{Model as Provider, ProviderStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::domain::email::EmailAddress;
use crate::domain::scheme::normalise_scheme_id;
use crate::services::audit::{self, Actor, Event};
use crate::services::begin_write;
use crate::services::schemes::SchemeCatalog;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{field}: {message}")]
    /// `field` may name a list entry, e.g. `accreditations[0].categories`.
    Invalid { field: String, message: String },
    #[error("no provider {0}")]
    NotFound(Uuid),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ProviderError {
    ProviderError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

pub struct NewProvider {
    pub name: String,
    pub contact_email: Option<String>,
}

fn audit_view(provider: &providers::Model) -> serde_json::Value {
    serde_json::json!({
        "name": provider.name,
        "contact_email": provider.contact_email,
        "status": provider.status,
    })
}

/// Registers a provider, approved from the start (staff are the ones creating it). Names are
/// unique: a second provider with the same name is a conflict.
pub async fn create_provider(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewProvider,
) -> Result<providers::Model, ProviderError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "must not be empty"));
    }
    if name.chars().count() > 254 {
        return Err(invalid("name", "must be at most 254 characters"));
    }
    let contact_email = match new.contact_email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            EmailAddress::parse(text)
                .map_err(|e| invalid("contact_email", e.to_string()))?
                .as_str()
                .to_owned(),
        ),
    };
    let txn = begin_write(db).await?;
    if providers::Entity::find()
        .filter(providers::Column::Name.eq(name))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(ProviderError::Conflict(format!(
            "a provider named '{name}' already exists"
        )));
    }
    let provider = providers::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        contact_email: Set(contact_email),
        status: Set(ProviderStatus::Approved),
        accreditations: Set(Accreditations::default()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        // Another creation of the same name got past the check first.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ProviderError::Conflict(format!("a provider named '{name}' already exists"))
        }
        _ => ProviderError::Db(e),
    })?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "provider.created",
            subject_kind: "provider",
            subject_id: Some(provider.id.to_string()),
            before: None,
            after: Some(audit_view(&provider)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(provider)
}

/// Providers in creation order, `limit` at a time after the provider with id `after`.
pub async fn list_providers(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<providers::Model>, ProviderError> {
    list_providers_with_status(db, None, after, limit).await
}

/// [`list_providers`] narrowed to one status when `status` names one.
pub async fn list_providers_with_status(
    db: &impl ConnectionTrait,
    status: Option<ProviderStatus>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<providers::Model>, ProviderError> {
    let mut query = providers::Entity::find().order_by_asc(providers::Column::Id);
    if let Some(status) = status {
        query = query.filter(providers::Column::Status.eq(status));
    }
    if let Some(after) = after {
        query = query.filter(providers::Column::Id.gt(after));
    }
    Ok(query.limit(limit).all(db).await?)
}

pub async fn get_provider(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<providers::Model, ProviderError> {
    providers::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ProviderError::NotFound(id))
}

/// Suspends a provider and disables every client acting for it, in one transaction, so its
/// tokens stop working at once. Suspending twice changes nothing.
pub async fn disable_provider(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<providers::Model, ProviderError> {
    let txn = begin_write(db).await?;
    let provider = get_provider(&txn, id).await?;
    if provider.status == ProviderStatus::Suspended {
        return Ok(provider);
    }
    let before = audit_view(&provider);
    let mut active: providers::ActiveModel = provider.into();
    active.status = Set(ProviderStatus::Suspended);
    let provider = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "provider.suspended",
            subject_kind: "provider",
            subject_id: Some(provider.id.to_string()),
            before: Some(before),
            after: Some(audit_view(&provider)),
        },
    )
    .await?;
    let now = Utc::now();
    let live = clients::Entity::find()
        .filter(clients::Column::ProviderId.eq(id))
        .filter(clients::Column::DisabledAt.is_null())
        .all(&txn)
        .await?;
    for client in live {
        let client_id = client.client_id.clone();
        let mut active: clients::ActiveModel = client.into();
        active.disabled_at = Set(Some(now));
        active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Event {
                action: "client.disabled",
                subject_kind: "client",
                subject_id: Some(client_id),
                before: None,
                after: Some(serde_json::json!({"reason": "provider suspended"})),
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(provider)
}

/// Replaces what a provider is accredited to award, after checking every entry against the
/// scheme definitions, and records the change in the audit log.
pub async fn set_accreditations(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    id: Uuid,
    accreditations: Vec<Accreditation>,
) -> Result<providers::Model, ProviderError> {
    let accreditations = checked_accreditations(catalog, accreditations)?;
    let txn = begin_write(db).await?;
    let provider = get_provider(&txn, id).await?;
    let before = serde_json::to_value(&provider.accreditations.0).unwrap_or_default();
    let mut active: providers::ActiveModel = provider.into();
    active.accreditations = Set(Accreditations(accreditations));
    let provider = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "provider.accredited",
            subject_kind: "provider",
            subject_id: Some(provider.id.to_string()),
            before: Some(serde_json::json!({ "accreditations": before })),
            after: Some(serde_json::json!({ "accreditations": provider.accreditations.0 })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(provider)
}

/// Each entry names a known scheme once, with that scheme's own categories and activity types,
/// and a period that does not end before it starts. Scheme ids are normalised.
fn checked_accreditations(
    catalog: &SchemeCatalog,
    accreditations: Vec<Accreditation>,
) -> Result<Vec<Accreditation>, ProviderError> {
    let mut seen = std::collections::HashSet::new();
    let mut checked = Vec::with_capacity(accreditations.len());
    for (i, mut entry) in accreditations.into_iter().enumerate() {
        let field = |name: &str| format!("accreditations[{i}].{name}");
        entry.scheme_id = normalise_scheme_id(&entry.scheme_id);
        let Some(definition) = catalog
            .all()
            .find(|s| s.definition.id == entry.scheme_id)
            .map(|s| &s.definition)
        else {
            return Err(invalid(
                field("scheme_id"),
                catalog.unknown(&entry.scheme_id),
            ));
        };
        if !seen.insert(entry.scheme_id.clone()) {
            return Err(invalid(
                field("scheme_id"),
                format!("{} is listed twice", entry.scheme_id),
            ));
        }
        for category in &entry.categories {
            if definition.category(category).is_none() {
                return Err(invalid(
                    field("categories"),
                    format!(
                        "scheme {} has no category '{category}' (it has: {})",
                        entry.scheme_id,
                        join(definition.categories.iter().map(|c| c.id.as_str()))
                    ),
                ));
            }
        }
        for kind in &entry.activity_types {
            if definition.activity_type(kind).is_none() {
                return Err(invalid(
                    field("activity_types"),
                    format!(
                        "scheme {} has no activity type '{kind}' (it has: {})",
                        entry.scheme_id,
                        join(definition.activity_types.iter().map(|t| t.id.as_str()))
                    ),
                ));
            }
        }
        if let (Some(from), Some(until)) = (entry.valid_from, entry.valid_until)
            && until < from
        {
            return Err(invalid(
                field("valid_until"),
                format!("{until} is before valid_from {from}"),
            ));
        }
        checked.push(entry);
    }
    Ok(checked)
}

fn join<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.collect::<Vec<_>>().join(", ")
}

/// Why `accreditations` does not let its provider award `activity_type` (and `category`, in a
/// points scheme) in `scheme`, for an activity completed `on` when a day is given (a catalogue
/// entry is checked without one); `None` when it does.
pub fn award_refusal(
    accreditations: &[Accreditation],
    scheme: &str,
    activity_type: &str,
    category: Option<&str>,
    on: Option<NaiveDate>,
) -> Option<String> {
    let Some(entry) = accreditations.iter().find(|a| a.scheme_id == scheme) else {
        return Some(format!("the provider is not accredited for {scheme}"));
    };
    if !entry.activity_types.is_empty() && !entry.activity_types.iter().any(|t| t == activity_type)
    {
        return Some(format!(
            "the provider's {scheme} accreditation does not cover the activity type '{activity_type}' (it covers: {})",
            entry.activity_types.join(", ")
        ));
    }
    if let Some(category) = category
        && !entry.categories.is_empty()
        && !entry.categories.iter().any(|c| c == category)
    {
        return Some(format!(
            "the provider's {scheme} accreditation does not cover the category '{category}' (it covers: {})",
            entry.categories.join(", ")
        ));
    }
    let on = on?;
    if let Some(from) = entry.valid_from
        && on < from
    {
        return Some(format!(
            "the provider's {scheme} accreditation starts on {from}, after {on}"
        ));
    }
    if let Some(until) = entry.valid_until
        && on > until
    {
        return Some(format!(
            "the provider's {scheme} accreditation ended on {until}, before {on}"
        ));
    }
    None
}
