//! Writing many rows at once, at the database's own bulk speed.
//!
//! This is the one path for every bulk write: the registry import, the reminder sweep's
//! queueing, and attendance ingestion. Rows are given as sea-orm active models and written
//! - on PostgreSQL as `INSERT … SELECT * FROM unnest($1, $2, …)`: one array parameter per
//!   column, so a statement is parsed and planned once whatever its row count. A multi-row
//!   `VALUES` list of 500 rows binds thousands of parameters, and PostgreSQL spends longer
//!   planning it than writing the rows;
//! - on SQLite and MySQL/MariaDB as multi-row `INSERT … VALUES`, each statement as large as
//!   the engine's limit on bound parameters allows.
//!
//! The caller owns the transaction: these functions write into it and never commit, so a
//! failure anywhere in a batch leaves nothing of it.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Query, SimpleExpr, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait,
    IdenStatic, Iterable, QueryFilter, Statement,
};

/// Bound parameters one SQLite statement may carry (`SQLITE_MAX_VARIABLE_NUMBER` since 3.32).
const SQLITE_MAX_PARAMETERS: usize = 32_766;
/// Placeholders one MySQL/MariaDB prepared statement may carry.
const MYSQL_MAX_PARAMETERS: usize = 65_535;
/// Rows per PostgreSQL statement: arrays this long bind in well under a second and keep the
/// statement's memory modest.
const POSTGRES_ROWS_PER_STATEMENT: usize = 50_000;

/// Inserts `models` into their entity's table and answers how many rows went in. A row whose
/// unique key is taken fails the statement, and so the caller's transaction.
///
/// Every model must set the same columns (those the first one sets); a column left unset is
/// left to its default for every row.
pub async fn insert<A>(db: &impl ConnectionTrait, models: Vec<A>) -> Result<u64, DbErr>
where
    A: ActiveModelTrait,
{
    let Some(first) = models.first() else {
        return Ok(0);
    };
    let columns: Vec<<A::Entity as EntityTrait>::Column> =
        <A::Entity as EntityTrait>::Column::iter()
            .filter(|c| first.get(*c).is_set())
            .collect();
    let table = <A::Entity as Default>::default().table_name().to_owned();
    let names: Vec<&'static str> = columns.iter().map(|c| c.as_str()).collect();
    let mut rows = Vec::with_capacity(models.len());
    for model in models {
        let mut row = Vec::with_capacity(columns.len());
        for (column, name) in columns.iter().zip(&names) {
            match model.get(*column).into_value() {
                Some(value) => row.push(value),
                None => {
                    return Err(DbErr::Custom(format!(
                        "bulk insert into {table}: column {name} is set on the first row but not on every row"
                    )));
                }
            }
        }
        rows.push(row);
    }
    insert_rows(db, &table, &names, rows).await
}

/// Inserts rows given as values, column by column in the order of `columns`.
pub async fn insert_rows(
    db: &impl ConnectionTrait,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<u64, DbErr> {
    if rows.is_empty() || columns.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let rows_per_statement = match backend {
        DbBackend::Postgres => POSTGRES_ROWS_PER_STATEMENT,
        DbBackend::MySql => MYSQL_MAX_PARAMETERS / columns.len(),
        _ => SQLITE_MAX_PARAMETERS / columns.len(),
    }
    .max(1);
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(rows_per_statement).collect();
        let statement = match backend {
            DbBackend::Postgres => unnest_statement(table, columns, chunk)?,
            _ => values_statement(backend, table, columns, chunk)?,
        };
        inserted += db.execute_raw(statement).await?.rows_affected();
    }
    Ok(inserted)
}

fn unnest_statement(
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<Statement, DbErr> {
    let arrays = PostgresArrays::of(rows)?;
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!(
        "INSERT INTO \"{table}\" ({}) SELECT * FROM unnest({})",
        quoted.join(", "),
        arrays.parameters()
    );
    Ok(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        arrays.literals,
    ))
}

/// Columns of rows as PostgreSQL array literals, one text parameter each, cast in the
/// statement to the column's type (`$1::uuid[]`). Text literals rather than bound arrays,
/// because the driver binds an array only when none of its elements is NULL.
struct PostgresArrays {
    literals: Vec<Value>,
    types: Vec<&'static str>,
}

impl PostgresArrays {
    fn of(rows: Vec<Vec<Value>>) -> Result<Self, DbErr> {
        let width = rows.first().map_or(0, Vec::len);
        let mut literals = vec![String::from("{"); width];
        let mut types = Vec::with_capacity(width);
        for (i, row) in rows.iter().enumerate() {
            for (column, value) in row.iter().enumerate() {
                let Some(literal) = literals.get_mut(column) else {
                    return Err(DbErr::Custom(
                        "bulk write: rows of unequal length".to_owned(),
                    ));
                };
                if i == 0 {
                    types.push(postgres_type(value)?);
                }
                if i > 0 {
                    literal.push(',');
                }
                match postgres_text(value)? {
                    None => literal.push_str("NULL"),
                    Some(text) => {
                        literal.push('"');
                        for c in text.chars() {
                            if c == '"' || c == '\\' {
                                literal.push('\\');
                            }
                            literal.push(c);
                        }
                        literal.push('"');
                    }
                }
            }
        }
        Ok(Self {
            literals: literals
                .into_iter()
                .map(|mut l| {
                    l.push('}');
                    Value::from(l)
                })
                .collect(),
            types,
        })
    }

    /// `$1::uuid[], $2::text[], …`
    fn parameters(&self) -> String {
        self.types
            .iter()
            .enumerate()
            .map(|(i, t)| format!("${}::{t}[]", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The PostgreSQL type a value is written as.
fn postgres_type(value: &Value) -> Result<&'static str, DbErr> {
    Ok(match value {
        Value::Bool(_) => "bool",
        Value::TinyInt(_) | Value::SmallInt(_) | Value::TinyUnsigned(_) => "int2",
        Value::Int(_) | Value::SmallUnsigned(_) => "int4",
        Value::BigInt(_) | Value::Unsigned(_) | Value::BigUnsigned(_) => "int8",
        Value::Float(_) => "float4",
        Value::Double(_) => "float8",
        Value::String(_) | Value::Char(_) => "text",
        Value::Json(_) => "jsonb",
        Value::ChronoDate(_) => "date",
        Value::ChronoDateTime(_) => "timestamp",
        Value::ChronoDateTimeUtc(_) => "timestamptz",
        Value::Uuid(_) => "uuid",
        other => {
            return Err(DbErr::Custom(format!(
                "bulk write: no PostgreSQL array type for {other:?}"
            )));
        }
    })
}

/// A value as PostgreSQL reads it in text form; `None` for NULL.
fn postgres_text(value: &Value) -> Result<Option<String>, DbErr> {
    fn text<T: ToString>(v: &Option<T>) -> Option<String> {
        v.as_ref().map(ToString::to_string)
    }
    Ok(match value {
        Value::Bool(v) => text(v),
        Value::TinyInt(v) => text(v),
        Value::SmallInt(v) => text(v),
        Value::Int(v) => text(v),
        Value::BigInt(v) => text(v),
        Value::TinyUnsigned(v) => text(v),
        Value::SmallUnsigned(v) => text(v),
        Value::Unsigned(v) => text(v),
        Value::BigUnsigned(v) => text(v),
        Value::Float(v) => text(v),
        Value::Double(v) => text(v),
        Value::String(v) => v.clone(),
        Value::Char(v) => text(v),
        Value::Json(v) => text(v),
        Value::ChronoDate(v) => v.map(|d| d.format("%Y-%m-%d").to_string()),
        Value::ChronoDateTime(v) => v.map(|d| d.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
        Value::ChronoDateTimeUtc(v) => v.map(|d| d.format("%Y-%m-%d %H:%M:%S%.f+00").to_string()),
        Value::Uuid(v) => text(v),
        other => {
            return Err(DbErr::Custom(format!(
                "bulk write: no PostgreSQL text form for {other:?}"
            )));
        }
    })
}

fn values_statement(
    backend: DbBackend,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<Statement, DbErr> {
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(table))
        .columns(columns.iter().map(|c| Alias::new(*c)));
    for row in rows {
        insert
            .values(row.into_iter().map(SimpleExpr::from))
            .map_err(|e| DbErr::Custom(format!("bulk insert into {table}: {e}")))?;
    }
    let statement = backend.build(&insert);
    Ok(statement)
}

/// Keys one lookup statement carries on SQLite and MySQL.
const LOOKUP_KEYS_PER_STATEMENT: usize = 10_000;

/// The rows of `E` whose `columns` (one or two) equal one of `keys`, found with few
/// statements however many keys there are.
///
/// On PostgreSQL the keys are joined as arrays (`JOIN unnest($1, $2)`), which the planner
/// reads as a small set to probe the unique index with, even while the table's statistics
/// still describe it as empty (as they do during a first import). Elsewhere they are `IN`
/// lists, grouped by the first column when there are two.
pub async fn find_by_keys<E>(
    db: &impl ConnectionTrait,
    columns: &[E::Column],
    keys: Vec<Vec<Value>>,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
{
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let table = E::default().table_name().to_owned();
    let mut found = Vec::new();
    match (backend, columns) {
        (DbBackend::Postgres, _) => {
            let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
            let join: Vec<String> = names
                .iter()
                .map(|c| format!("t.\"{c}\" = k.\"{c}\""))
                .collect();
            let mut keys = keys.into_iter().peekable();
            while keys.peek().is_some() {
                let chunk: Vec<Vec<Value>> =
                    keys.by_ref().take(POSTGRES_ROWS_PER_STATEMENT).collect();
                let arrays = PostgresArrays::of(chunk)?;
                let sql = format!(
                    "SELECT t.* FROM \"{table}\" AS t JOIN unnest({}) AS k({}) ON {}",
                    arrays.parameters(),
                    names
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    join.join(" AND ")
                );
                let statement = Statement::from_sql_and_values(backend, sql, arrays.literals);
                found.extend(E::find().from_raw_sql(statement).all(db).await?);
            }
        }
        (_, [only]) => {
            let values: Vec<Value> = keys
                .into_iter()
                .filter_map(|k| k.into_iter().next())
                .collect();
            for chunk in values.chunks(LOOKUP_KEYS_PER_STATEMENT) {
                found.extend(
                    E::find()
                        .filter(only.is_in(chunk.iter().cloned()))
                        .all(db)
                        .await?,
                );
            }
        }
        (_, [first, second]) => {
            let mut groups: HashMap<String, (Value, Vec<Value>)> = HashMap::new();
            for key in keys {
                let mut key = key.into_iter();
                let (Some(a), Some(b)) = (key.next(), key.next()) else {
                    continue;
                };
                groups
                    .entry(format!("{a:?}"))
                    .or_insert_with(|| (a, Vec::new()))
                    .1
                    .push(b);
            }
            for (a, bs) in groups.into_values() {
                for chunk in bs.chunks(LOOKUP_KEYS_PER_STATEMENT) {
                    found.extend(
                        E::find()
                            .filter(first.eq(a.clone()))
                            .filter(second.is_in(chunk.iter().cloned()))
                            .all(db)
                            .await?,
                    );
                }
            }
        }
        _ => {
            return Err(DbErr::Custom(format!(
                "lookup in {table}: keys of {} columns are not supported",
                columns.len()
            )));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn postgres_array_literals_quote_every_element_and_escape_quotes_and_backslashes() {
        let arrays = PostgresArrays::of(vec![
            vec![Value::from("O\"Brien \\ {a,b}"), Value::Int(Some(1))],
            vec![Value::String(None), Value::Int(None)],
            vec![Value::from("NULL"), Value::Int(Some(-3))],
        ])
        .unwrap();
        assert_eq!(arrays.parameters(), "$1::text[], $2::int4[]");
        assert_eq!(
            arrays.literals,
            vec![
                Value::from(r#"{"O\"Brien \\ {a,b}",NULL,"NULL"}"#),
                Value::from(r#"{"1",NULL,"-3"}"#),
            ]
        );
    }

    #[test]
    fn a_value_without_a_postgres_array_type_is_an_error_not_a_panic() {
        let refused = PostgresArrays::of(vec![vec![Value::Bytes(Some(vec![1, 2]))]]);
        assert!(refused.is_err());
    }
}
