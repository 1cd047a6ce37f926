//! What a credential or the public registry may say about a holder beyond the always-public
//! facts (scheme, number, status, valid until): only what the holder consented to show to that
//! audience.

use sea_orm::{ConnectionTrait, DbErr};

use crate::services::consents::{self, Audience};
use crate::services::course_history::{self, CourseEntry};
use crate::services::holdings::{self, Holding, HoldingStatus};
use crate::services::procurement;
use crate::services::schemes::SchemeCatalog;

/// Who will read what is disclosed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// A procurement system, or whoever a credential is handed to.
    Procurement,
    /// Anyone, on the public registry page.
    PublicRegistry,
}

/// The consented extras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disclosed {
    /// The holder's display name (or legal name), with consent.
    pub name: Option<String>,
    /// The employer's name, with consent.
    pub employer: Option<String>,
    /// The holding's level on the common ladder, when known.
    pub level: Option<String>,
    /// The credits of the current cycle, with consent; on the public registry page only (a
    /// credential states standing, not history).
    pub course_history: Option<Vec<CourseEntry>>,
}

/// For a credential the holder asks for themselves, to hand to a buyer.
pub async fn for_credential(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &Holding,
) -> Result<Disclosed, DbErr> {
    disclosed(db, catalog, holding, Reader::Procurement).await
}

/// For a credential a procurement system asks for.
pub async fn for_procurement(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &Holding,
) -> Result<Disclosed, DbErr> {
    disclosed(db, catalog, holding, Reader::Procurement).await
}

/// For the public registry page.
pub async fn for_public_registry(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &Holding,
) -> Result<Disclosed, DbErr> {
    disclosed(db, catalog, holding, Reader::PublicRegistry).await
}

/// The holder's choices for `reader` ([`consents::of`]; nothing until they choose), applied:
/// the name (as procurement answers give it, the legal name) and the employers whose
/// membership the holder confirmed, each only with consent. The level is not personal: it
/// comes from the scheme ([`SchemeCatalog::ladder`]), for everyone.
async fn disclosed(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &Holding,
    reader: Reader,
) -> Result<Disclosed, DbErr> {
    let audience = match reader {
        Reader::Procurement => Audience::Procurement,
        Reader::PublicRegistry => Audience::PublicRegistry,
    };
    let level = catalog
        .ladder()
        .level_of(&holding.scheme_id)
        .map(|l| l.id.clone());
    // A holding that is not active says its status and nothing personal.
    if holding.status != HoldingStatus::Active {
        return Ok(Disclosed {
            level,
            ..Default::default()
        });
    }
    let chosen = consents::of(db, holding.professional_id, audience).await?;
    let history_shown = chosen.course_history && reader == Reader::PublicRegistry;
    let person = if chosen.name || history_shown {
        holdings::professional(db, holding.professional_id).await?
    } else {
        None
    };
    let name = person
        .as_ref()
        .filter(|_| chosen.name)
        .map(|p| p.legal_name.clone());
    let course_history = match person.as_ref().filter(|_| history_shown) {
        Some(person) => course_history::of_holdings(
            db,
            &[course_history::Of {
                holding_id: holding.id,
                professional_id: holding.professional_id,
                scheme_id: holding.scheme_id.clone(),
                as_of: crate::services::standing::today_for(person),
            }],
        )
        .await?
        .remove(&holding.id),
        None => None,
    };
    let employer = if chosen.employer {
        procurement::employers_of(db, &[holding.professional_id])
            .await?
            .remove(&holding.professional_id)
            .filter(|names| !names.is_empty())
            .map(|names| names.join(", "))
    } else {
        None
    };
    Ok(Disclosed {
        name,
        employer,
        level,
        course_history,
    })
}

impl Disclosed {
    /// The field names disclosed beyond the always-public ones, as the disclosure log records
    /// them.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields = vec!["scheme", "registration_number", "status", "valid_until"];
        if self.level.is_some() {
            fields.push("level");
        }
        if self.name.is_some() {
            fields.push("name");
        }
        if self.employer.is_some() {
            fields.push("employer");
        }
        if self.course_history.is_some() {
            fields.push("course_history");
        }
        fields
    }
}
