//! The standing projection: each holding's verdict as the engine last computed it, so hot
//! reads (procurement) take one indexed row instead of recomputing from the ledger.
//!
//! The engine ([`crate::services::standing`] over [`LedgerSlice`]) stays the one source of the
//! verdict: a row holds its output and nothing else. Every write that can change a verdict
//! (a credit recorded, voided or corrected; a holding or cycle written by the registry import)
//! calls [`refresh`] for the people it touched, inside its own transaction, so the projection
//! commits or rolls back with the write.
//!
//! Standing also depends on the day: the same ledger can be `on_track` today and `at_risk`
//! tomorrow (the pace rule moves daily). A row therefore records the day it was judged for, in
//! the holder's time zone, and `recheck_at`, the holder's next midnight, from which it may be
//! out of date. A read of a row past its `recheck_at` (or of a holding that has no row, such as
//! one written before the projection existed) refreshes it first: see [`current`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Days, NaiveDate, Utc};
use entity::standing_projection::{self, Model as Projection};
use entity::{holdings, professionals};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, Value};
use uuid::Uuid;

use crate::domain::standing::StandingState;
use crate::services::bulk_write;
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::{LedgerSlice, StandingError, today_for};

/// People whose ledger is read at once: the reminder sweep's page size.
const PEOPLE_PER_SLICE: usize = 1_000;
/// Rows per upsert statement: 10 columns each stays well under every engine's limit on
/// bound parameters.
const ROWS_PER_UPSERT: usize = 1_000;

/// Recomputes the verdict of every holding of `professionals` and stores it, replacing what
/// the projection held. Call it inside the transaction of the write that changed them.
pub async fn refresh(
    conn: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    professionals: &[Uuid],
) -> Result<(), DbErr> {
    let mut people: Vec<Uuid> = professionals.to_vec();
    people.sort_unstable();
    people.dedup();
    let now = Utc::now();
    for chunk in people.chunks(PEOPLE_PER_SLICE) {
        let slice = LedgerSlice::load(conn, chunk).await?;
        let persons = bulk_write::find_by_keys::<professionals::Entity>(
            conn,
            &[professionals::Column::Id],
            chunk.iter().map(|id| vec![Value::from(*id)]).collect(),
        )
        .await?;
        let mut rows = Vec::new();
        for person in &persons {
            let today = today_for(person);
            let recheck_at = next_midnight(person, today, now);
            for holding in slice.holdings_of(person.id) {
                rows.push(row(catalog, &slice, holding, today, recheck_at, now)?);
            }
        }
        for rows in rows.chunks(ROWS_PER_UPSERT) {
            upsert(conn, rows.to_vec()).await?;
        }
    }
    Ok(())
}

fn row(
    catalog: &SchemeCatalog,
    slice: &LedgerSlice,
    holding: &holdings::Model,
    today: NaiveDate,
    recheck_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<standing_projection::ActiveModel, DbErr> {
    let (state, valid_until) = match slice.judge(catalog, holding, today) {
        Ok(found) => (
            Some(found.standing.state.as_str().to_owned()),
            Some(found.standing.expires_on),
        ),
        Err(StandingError::NoCycle(_)) => (None, None),
        Err(StandingError::UnknownVersion { scheme, version }) => {
            // Judged by no loaded rules, the holding is not shown as in good standing.
            tracing::warn!(holding = %holding.id, %scheme, %version, "standing projection: scheme version not loaded");
            (None, None)
        }
        Err(StandingError::UnknownHolding { .. }) => (None, None),
        Err(StandingError::Db(e)) => return Err(e),
    };
    Ok(standing_projection::ActiveModel {
        holding_id: Set(holding.id),
        professional_id: Set(holding.professional_id),
        scheme_id: Set(holding.scheme_id.clone()),
        registration_number: Set(holding.registration_number.clone()),
        status: Set(holding.status),
        state: Set(state),
        valid_until: Set(valid_until),
        judged_on: Set(today),
        recheck_at: Set(recheck_at),
        updated_at: Set(now),
        revision: Set(Some(Uuid::new_v4())),
    })
}

async fn upsert(
    conn: &impl ConnectionTrait,
    rows: Vec<standing_projection::ActiveModel>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    use standing_projection::Column as C;
    standing_projection::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(C::HoldingId)
                .update_columns([
                    C::ProfessionalId,
                    C::SchemeId,
                    C::RegistrationNumber,
                    C::Status,
                    C::State,
                    C::ValidUntil,
                    C::JudgedOn,
                    C::RecheckAt,
                    C::UpdatedAt,
                    C::Revision,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The first instant of the day after `today` in the holder's time zone: when "today" moves.
fn next_midnight(
    person: &professionals::Model,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let tz: chrono_tz::Tz = person.time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    today
        .checked_add_days(Days::new(1))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|midnight| midnight.and_local_timezone(tz).earliest())
        .map(|local| local.with_timezone(&Utc))
        // A midnight that does not exist locally (a DST jump): look again within the hour.
        .unwrap_or(now + chrono::Duration::hours(1))
}

/// A stored verdict, read back in domain terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub holding_id: Uuid,
    pub professional_id: Uuid,
    pub scheme: String,
    pub registration_number: String,
    pub status: holdings::HoldingStatus,
    /// `None` when the holding has no cycle to judge.
    pub state: Option<StandingState>,
    /// The judged cycle's last valid day.
    pub valid_until: Option<NaiveDate>,
    pub judged_on: NaiveDate,
    /// A new id each time the row is judged again: with `judged_on`, which state of the
    /// ledger on which day the verdict is of (`None` on rows judged before revisions).
    pub revision: Option<Uuid>,
}

impl Verdict {
    /// Active, with a cycle on record, and not lapsed.
    pub fn in_good_standing(&self) -> bool {
        self.status == holdings::HoldingStatus::Active
            && self.state.is_some_and(|s| s != StandingState::Lapsed)
    }
}

fn parse_state(text: &str) -> Option<StandingState> {
    [
        StandingState::Complete,
        StandingState::OnTrack,
        StandingState::AtRisk,
        StandingState::Due,
        StandingState::Lapsed,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
}

impl From<Projection> for Verdict {
    fn from(row: Projection) -> Self {
        Self {
            holding_id: row.holding_id,
            professional_id: row.professional_id,
            state: row.state.as_deref().and_then(parse_state),
            scheme: row.scheme_id,
            registration_number: row.registration_number,
            status: row.status,
            valid_until: row.valid_until,
            judged_on: row.judged_on,
            revision: row.revision,
        }
    }
}

/// Marks the verdicts of every holding of `professionals` out of date, in one statement per
/// thousand people, so that the next read ([`current`]) judges them again before answering.
/// For bulk writes (a provider's batch of attendance), where judging thousands of people inside
/// the write would cost more than the write itself; a stale row is never served.
pub async fn invalidate(conn: &impl ConnectionTrait, professionals: &[Uuid]) -> Result<(), DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    // Any instant already past will do; MariaDB's TIMESTAMP starts after 1970-01-01 00:00:00.
    let long_ago = Utc::now() - chrono::Days::new(1);
    for chunk in professionals.chunks(PEOPLE_PER_SLICE) {
        standing_projection::Entity::update_many()
            .col_expr(
                standing_projection::Column::RecheckAt,
                Expr::value(long_ago),
            )
            .filter(standing_projection::Column::ProfessionalId.is_in(chunk.to_vec()))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The current verdicts of the holdings named by (scheme id, registration number), keyed the
/// same way; a key no holding has is absent. A few statements however many keys: one read of
/// the projection, and only when some rows are missing or out of date, one read of the
/// holdings, a refresh of their owners and a second read of the projection.
///
/// Scheme ids must already be normalised (lower case), as holdings store them.
pub async fn current(
    conn: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    keys: &[(String, String)],
) -> Result<HashMap<(String, String), Verdict>, DbErr> {
    current_from(conn, conn, catalog, keys).await
}

/// [`current`], reading the projection (and the holdings of keys it lacks) from `replica`,
/// which may lag `primary`. A row that is missing or out of date there is judged again on
/// `primary`, from the primary's ledger, written there, and answered as the primary now has
/// it: a verdict judged from the replica's older ledger and written to the primary could undo
/// a newer one the primary's own writes left. The replica receives the new row by replication.
/// With no replica, pass the same connection twice.
pub async fn current_from(
    replica: &impl ConnectionTrait,
    primary: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    keys: &[(String, String)],
) -> Result<HashMap<(String, String), Verdict>, DbErr> {
    let found = read(replica, keys).await?;
    settle(replica, primary, catalog, keys, found).await
}

/// The second half of [`current_from`], for a caller that has already read from `replica` the
/// projection rows of `keys` (`found`, with each row's `recheck_at`; a key without a row is
/// absent): rows out of date and keys without a row are judged again on `primary` and answered
/// as the primary now has them; the others are answered as found.
pub async fn settle(
    replica: &impl ConnectionTrait,
    primary: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    keys: &[(String, String)],
    mut found: HashMap<(String, String), (Verdict, DateTime<Utc>)>,
) -> Result<HashMap<(String, String), Verdict>, DbErr> {
    let now = Utc::now();
    let mut again: Vec<(String, String)> = found
        .iter()
        .filter(|(_, (_, recheck_at))| *recheck_at <= now)
        .map(|(k, _)| k.clone())
        .collect();
    let mut stale: HashSet<Uuid> = again
        .iter()
        .filter_map(|k| found.get(k))
        .map(|(v, _)| v.professional_id)
        .collect();
    let missing: Vec<Vec<Value>> = keys
        .iter()
        .filter(|k| !found.contains_key(*k))
        .map(|(s, n)| vec![Value::from(s.clone()), Value::from(n.clone())])
        .collect();
    if !missing.is_empty() {
        for holding in bulk_write::find_by_keys::<holdings::Entity>(
            replica,
            &[
                holdings::Column::SchemeId,
                holdings::Column::RegistrationNumber,
            ],
            missing,
        )
        .await?
        {
            stale.insert(holding.professional_id);
            again.push((holding.scheme_id, holding.registration_number));
        }
    }
    if !stale.is_empty() {
        let people: Vec<Uuid> = stale.into_iter().collect();
        refresh(primary, catalog, &people).await?;
        for key in &again {
            found.remove(key);
        }
        found.extend(read(primary, &again).await?);
    }
    Ok(found.into_iter().map(|(k, (v, _))| (k, v)).collect())
}

async fn read(
    conn: &impl ConnectionTrait,
    keys: &[(String, String)],
) -> Result<HashMap<(String, String), (Verdict, DateTime<Utc>)>, DbErr> {
    let rows = bulk_write::find_by_keys::<standing_projection::Entity>(
        conn,
        &[
            standing_projection::Column::SchemeId,
            standing_projection::Column::RegistrationNumber,
        ],
        keys.iter()
            .map(|(s, n)| vec![Value::from(s.clone()), Value::from(n.clone())])
            .collect(),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let key = (row.scheme_id.clone(), row.registration_number.clone());
            let recheck_at = row.recheck_at;
            (key, (Verdict::from(row), recheck_at))
        })
        .collect())
}

/// The current verdicts of every holding of `professionals`, refreshing first those of people
/// whose rows are out of date or missing. A few statements however many people.
pub async fn of_people(
    conn: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    professionals: &[Uuid],
) -> Result<Vec<Verdict>, DbErr> {
    of_people_from(conn, conn, catalog, professionals).await
}

/// [`of_people`], reading the projection and the holdings from `replica`; the people whose
/// rows are missing or out of date there are judged again on `primary` and answered as the
/// primary has them (see [`current_from`] for why). With no replica, pass the same connection
/// twice.
pub async fn of_people_from(
    replica: &impl ConnectionTrait,
    primary: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    professionals: &[Uuid],
) -> Result<Vec<Verdict>, DbErr> {
    if professionals.is_empty() {
        return Ok(Vec::new());
    }
    let keys =
        |ids: &[Uuid]| -> Vec<Vec<Value>> { ids.iter().map(|id| vec![Value::from(*id)]).collect() };
    let rows = bulk_write::find_by_keys::<standing_projection::Entity>(
        replica,
        &[standing_projection::Column::ProfessionalId],
        keys(professionals),
    )
    .await?;
    let held = bulk_write::find_by_keys::<holdings::Entity>(
        replica,
        &[holdings::Column::ProfessionalId],
        keys(professionals),
    )
    .await?;
    let now = Utc::now();
    let fresh: HashSet<Uuid> = rows
        .iter()
        .filter(|r| r.recheck_at > now)
        .map(|r| r.holding_id)
        .collect();
    let mut stale: Vec<Uuid> = held
        .iter()
        .filter(|h| !fresh.contains(&h.id))
        .map(|h| h.professional_id)
        .collect();
    stale.sort_unstable();
    stale.dedup();
    if stale.is_empty() {
        return Ok(rows.into_iter().map(Verdict::from).collect());
    }
    refresh(primary, catalog, &stale).await?;
    let judged_again: HashSet<Uuid> = stale.iter().copied().collect();
    let mut verdicts: Vec<Verdict> = rows
        .into_iter()
        .filter(|r| !judged_again.contains(&r.professional_id))
        .map(Verdict::from)
        .collect();
    verdicts.extend(
        bulk_write::find_by_keys::<standing_projection::Entity>(
            primary,
            &[standing_projection::Column::ProfessionalId],
            keys(&stale),
        )
        .await?
        .into_iter()
        .map(Verdict::from),
    );
    Ok(verdicts)
}
