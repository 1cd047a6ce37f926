//! Reading a [`LedgerSlice`]: the holdings, cycles, credits and claims of some people, with
//! one statement per table for a range of ids or per thousand people listed.

use std::collections::HashSet;

use chrono::NaiveDate;
use entity::credits::CreditState as StoredState;
use entity::{credit_claims, credits, cycles, holdings};
use sea_orm::sea_query::{Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QuerySelect, RelationTrait,
};
use uuid::Uuid;

use super::{LedgerClaim, LedgerCredit, LedgerCycle, LedgerSlice};
use crate::services::bulk_write;

/// A credit with one of its claims (the claim's columns null when it has none), as the
/// slice's joined read answers it.
#[derive(Debug, FromQueryResult)]
struct CreditWithClaim {
    id: Uuid,
    professional_id: Uuid,
    activity_type: String,
    completed_on: NaiveDate,
    state: StoredState,
    claim_scheme_id: Option<String>,
    claim_activity_type: Option<String>,
    claim_category: Option<String>,
    claim_points: Option<i64>,
}

/// Keys one lookup of the slice binds: well under every engine's limit on parameters.
const KEYS_PER_LOOKUP: usize = 1_000;

/// Whose ledger a [`LedgerSlice`] holds.
#[derive(Debug, Clone, Copy)]
pub enum People<'a> {
    /// These professionals.
    Listed(&'a [Uuid]),
    /// Every professional whose id lies between the two, both included: a page of people read
    /// in id order is one range, and each table is then read with one range scan of its index
    /// instead of a thousand lookups.
    Between(Uuid, Uuid),
}

impl People<'_> {
    /// The conditions on `column` (a professional id) that together select these people: one
    /// per statement, each binding at most [`KEYS_PER_LOOKUP`] keys.
    fn conditions(
        self,
        backend: DbBackend,
        column: impl ColumnTrait,
    ) -> Result<Vec<SimpleExpr>, DbErr> {
        match self {
            Self::Listed(ids) => keyed(backend, column, ids),
            Self::Between(first, last) => Ok(vec![column.between(first, last)]),
        }
    }
}

/// `column` is one of `ids`: one condition per [`KEYS_PER_LOOKUP`] of them.
pub(super) fn keyed(
    backend: DbBackend,
    column: impl ColumnTrait,
    ids: &[Uuid],
) -> Result<Vec<SimpleExpr>, DbErr> {
    ids.chunks(KEYS_PER_LOOKUP)
        .map(|chunk| {
            let values: Vec<sea_orm::Value> = chunk.iter().map(|id| (*id).into()).collect();
            bulk_write::is_one_of(backend, column, &values)
        })
        .collect()
}

/// The rows of `E` that `condition` selects, as `M` made of `columns` only.
pub(super) async fn select<E, M>(
    db: &impl ConnectionTrait,
    columns: &[E::Column],
    condition: SimpleExpr,
) -> Result<Vec<M>, DbErr>
where
    E: EntityTrait,
    M: FromQueryResult,
{
    E::find()
        .select_only()
        .columns(columns.iter().copied())
        .filter(condition)
        .into_model::<M>()
        .all(db)
        .await
}

/// `SELECT id FROM E WHERE condition`, for a lookup of the rows that belong to those.
fn ids_of<E: EntityTrait>(id: E::Column, condition: SimpleExpr) -> SelectStatement {
    Query::select()
        .column(id)
        .from(E::default())
        .and_where(condition)
        .to_owned()
}

impl LedgerSlice {
    /// The ledger of `professionals`.
    pub async fn load(db: &impl ConnectionTrait, professionals: &[Uuid]) -> Result<Self, DbErr> {
        Self::load_people(db, People::Listed(professionals)).await
    }

    /// The ledger of `people`: one statement per table (per [`KEYS_PER_LOOKUP`] people listed),
    /// cycles and claims selected through their holdings' and credits' owners.
    pub async fn load_people(db: &impl ConnectionTrait, people: People<'_>) -> Result<Self, DbErr> {
        let mut slice = Self::default();
        let backend = db.get_database_backend();
        for condition in people.conditions(backend, holdings::Column::ProfessionalId)? {
            for holding in holdings::Entity::find()
                .filter(condition.clone())
                .all(db)
                .await?
            {
                slice
                    .holdings
                    .entry(holding.professional_id)
                    .or_default()
                    .push(holding);
            }
            let owned = cycles::Column::HoldingId
                .in_subquery(ids_of::<holdings::Entity>(holdings::Column::Id, condition));
            for cycle in select::<cycles::Entity, LedgerCycle>(
                db,
                &[
                    cycles::Column::HoldingId,
                    cycles::Column::SchemeVersionId,
                    cycles::Column::StartsOn,
                    cycles::Column::EndsOn,
                ],
                owned,
            )
            .await?
            {
                slice
                    .cycles
                    .entry(cycle.holding_id)
                    .or_default()
                    .push(cycle);
            }
        }
        for cycles in slice.cycles.values_mut() {
            cycles.sort_by_key(|c| c.starts_on);
        }
        slice.versions = entity::scheme_versions::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|v| (v.id, (v.scheme_id, v.version)))
            .collect();
        // Credits with their claims in one joined read: a credit comes once per claim it
        // has (once, with no claim, when it has none).
        let mut seen = HashSet::new();
        for condition in people.conditions(backend, credits::Column::ProfessionalId)? {
            let rows = credits::Entity::find()
                .select_only()
                .columns([
                    credits::Column::Id,
                    credits::Column::ProfessionalId,
                    credits::Column::ActivityType,
                    credits::Column::CompletedOn,
                    credits::Column::State,
                ])
                .column_as(credit_claims::Column::SchemeId, "claim_scheme_id")
                .column_as(credit_claims::Column::ActivityType, "claim_activity_type")
                .column_as(credit_claims::Column::Category, "claim_category")
                .column_as(credit_claims::Column::Points, "claim_points")
                .join(JoinType::LeftJoin, credits::Relation::CreditClaims.def())
                .filter(condition)
                .into_model::<CreditWithClaim>()
                .all(db)
                .await?;
            for row in rows {
                if let (Some(scheme_id), Some(activity_type), Some(category), Some(points)) = (
                    row.claim_scheme_id,
                    row.claim_activity_type,
                    row.claim_category,
                    row.claim_points,
                ) {
                    slice.claims.entry(row.id).or_default().push(LedgerClaim {
                        scheme_id,
                        activity_type,
                        category,
                        points,
                    });
                }
                if seen.insert(row.id) {
                    slice
                        .credits
                        .entry(row.professional_id)
                        .or_default()
                        .push(LedgerCredit {
                            id: row.id,
                            activity_type: row.activity_type,
                            completed_on: row.completed_on,
                            state: row.state,
                        });
                }
            }
        }
        Ok(slice)
    }
}
