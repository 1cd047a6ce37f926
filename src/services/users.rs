//! Login accounts as the rest of the application sees them: the account record and its role.

pub use entity::users::{Model as User, UserRole};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

/// The account with this id, if it still exists.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<User>, DbErr> {
    entity::users::Entity::find_by_id(id).one(db).await
}
