//! What a credential or the public registry may say about a holder beyond the always-public
//! facts (scheme, number, status, valid until): only what the holder consented to show to that
//! audience.

use sea_orm::{ConnectionTrait, DbErr};

use crate::services::holdings::Holding;

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
}

/// For a credential the holder asks for themselves, to hand to a buyer.
pub async fn for_credential(
    db: &impl ConnectionTrait,
    holding: &Holding,
) -> Result<Disclosed, DbErr> {
    disclosed(db, holding, Reader::Procurement).await
}

/// For a credential a procurement system asks for.
pub async fn for_procurement(
    db: &impl ConnectionTrait,
    holding: &Holding,
) -> Result<Disclosed, DbErr> {
    disclosed(db, holding, Reader::Procurement).await
}

/// For the public registry page.
pub async fn for_public_registry(
    db: &impl ConnectionTrait,
    holding: &Holding,
) -> Result<Disclosed, DbErr> {
    disclosed(db, holding, Reader::PublicRegistry).await
}

/// Nothing is consented until the holder chooses: with no record of consent, no extra field
/// is disclosed.
async fn disclosed(
    _db: &impl ConnectionTrait,
    _holding: &Holding,
    _reader: Reader,
) -> Result<Disclosed, DbErr> {
    Ok(Disclosed::default())
}
