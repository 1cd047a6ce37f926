//! Writing many rows at once, at the database's own bulk speed.
//!
//! This is the one path for every bulk write: the registry import and the reminder sweep's
//! queueing today, provider attendance ingestion when it lands. Rows are given as sea-orm
//! active models and written
//! - on PostgreSQL as `INSERT … SELECT * FROM unnest($1::uuid[], $2::text[], …)`: one array
//!   parameter per column, so a statement is parsed and planned once whatever its row count.
//!   A multi-row `VALUES` list of 500 rows binds thousands of parameters, and PostgreSQL spends
//!   longer planning it than writing the rows;
//! - on SQLite and MySQL/MariaDB as multi-row `INSERT … VALUES`, each statement as large as
//!   the engine's limit on bound parameters allows.
//!
//! The caller owns the transaction: these functions write into it and never commit, so a
//! failure anywhere in a batch leaves nothing of it.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, Query, SimpleExpr, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait,
    FromQueryResult, IdenStatic, Iterable, Statement, TryGetableMany,
};

/// Rows per SQLite statement: their JSON text stays a few megabytes, far below SQLite's limit
/// on the length of a value.
const SQLITE_ROWS_PER_STATEMENT: usize = 10_000;
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
    for mut model in models {
        let mut row = Vec::with_capacity(columns.len());
        for (column, name) in columns.iter().zip(&names) {
            // Taken, not copied: a JSON payload is not cloned on its way to the statement.
            match model.take(*column).into_value() {
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
async fn insert_rows(
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
        _ => SQLITE_ROWS_PER_STATEMENT,
    }
    .max(1);
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(rows_per_statement).collect();
        let statement = match backend {
            DbBackend::Postgres => unnest_statement(table, columns, chunk)?,
            DbBackend::Sqlite => json_each_statement(table, columns, chunk)?,
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

/// On SQLite, the rows as one JSON text bound as a single parameter and unpacked by SQLite
/// itself: `INSERT … SELECT unhex(value->>0), value->>1, … FROM jsonb_each(?)`. Binding tens of
/// thousands of parameters one by one costs more than SQLite's own writing of the rows; the
/// binary form (`jsonb_each`) hands each row to `->>` already parsed.
///
/// Each value is written as the driver would bind it, so a row stored this way reads back, and
/// compares in SQL, exactly like one the ORM inserts: uuids and bytes as blobs (hex in the
/// text, turned back by `unhex`), dates and times as the driver's text forms, JSON as its text.
fn json_each_statement(
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<Statement, DbErr> {
    let mut text = String::with_capacity(rows.len() * columns.len() * 16);
    let mut blobs = vec![false; columns.len()];
    text.push('[');
    for (i, row) in rows.iter().enumerate() {
        if row.len() != columns.len() {
            return Err(DbErr::Custom(
                "bulk write: rows of unequal length".to_owned(),
            ));
        }
        if i > 0 {
            text.push(',');
        }
        text.push('[');
        for (column, value) in row.iter().enumerate() {
            if column > 0 {
                text.push(',');
            }
            let blob = sqlite_json(value, &mut text)?;
            if let Some(seen) = blobs.get_mut(column) {
                *seen |= blob;
            }
        }
        text.push(']');
    }
    text.push(']');
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let picked: Vec<String> = blobs
        .iter()
        .enumerate()
        .map(|(i, blob)| {
            if *blob {
                format!("unhex(value->>{i})")
            } else {
                format!("value->>{i}")
            }
        })
        .collect();
    let sql = format!(
        "INSERT INTO \"{table}\" ({}) SELECT {} FROM jsonb_each(?)",
        quoted.join(", "),
        picked.join(", ")
    );
    Ok(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        sql,
        [Value::from(text)],
    ))
}

/// Writes `value` into `out` as a JSON value holding what the SQLite driver binds for it, and
/// answers whether it is a blob written as hex.
fn sqlite_json(value: &Value, out: &mut String) -> Result<bool, DbErr> {
    use std::fmt::Write;
    fn number<T: std::fmt::Display>(v: &Option<T>, out: &mut String) {
        match v {
            Some(v) => {
                let _ = write!(out, "{v}");
            }
            None => out.push_str("null"),
        }
    }
    fn string(v: Option<&str>, out: &mut String) -> Result<(), DbErr> {
        match v {
            Some(v) => {
                let quoted = serde_json::to_string(v)
                    .map_err(|e| DbErr::Custom(format!("bulk write: {e}")))?;
                out.push_str(&quoted);
            }
            None => out.push_str("null"),
        }
        Ok(())
    }
    fn hex(bytes: Option<&[u8]>, out: &mut String) {
        match bytes {
            Some(bytes) => {
                out.push('"');
                for b in bytes {
                    let _ = write!(out, "{b:02x}");
                }
                out.push('"');
            }
            None => out.push_str("null"),
        }
    }
    fn float(v: Option<f64>, out: &mut String) -> Result<(), DbErr> {
        match v {
            Some(v) if v.is_finite() => {
                let _ = write!(out, "{v:?}");
            }
            Some(v) => {
                return Err(DbErr::Custom(format!(
                    "bulk write: {v} cannot be stored through JSON"
                )));
            }
            None => out.push_str("null"),
        }
        Ok(())
    }
    match value {
        Value::Bool(v) => number(&v.map(i64::from), out),
        Value::TinyInt(v) => number(v, out),
        Value::SmallInt(v) => number(v, out),
        Value::Int(v) => number(v, out),
        Value::BigInt(v) => number(v, out),
        Value::TinyUnsigned(v) => number(v, out),
        Value::SmallUnsigned(v) => number(v, out),
        Value::Unsigned(v) => number(v, out),
        Value::BigUnsigned(v) => {
            let v = v
                .map(i64::try_from)
                .transpose()
                .map_err(|e| DbErr::Custom(format!("bulk write: {e}")))?;
            number(&v, out);
        }
        Value::Float(v) => float(v.map(f64::from), out)?,
        Value::Double(v) => float(*v, out)?,
        Value::String(v) => string(v.as_deref(), out)?,
        Value::Char(v) => string(v.map(|c| c.to_string()).as_deref(), out)?,
        Value::Enum(v) => match v {
            sea_orm::sea_query::OptionEnum::Some(v) => string(Some(&v.value), out)?,
            sea_orm::sea_query::OptionEnum::None(_) => out.push_str("null"),
        },
        Value::Bytes(v) => {
            hex(v.as_deref(), out);
            return Ok(true);
        }
        Value::Uuid(v) => {
            hex(v.as_ref().map(|u| &u.as_bytes()[..]), out);
            return Ok(true);
        }
        Value::Json(v) => {
            let text = v
                .as_deref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| DbErr::Custom(format!("bulk write: {e}")))?;
            string(text.as_deref(), out)?;
        }
        Value::ChronoDate(v) => string(v.map(|d| d.format("%F").to_string()).as_deref(), out)?,
        Value::ChronoTime(v) => string(v.map(|t| t.format("%T%.f").to_string()).as_deref(), out)?,
        Value::ChronoDateTime(v) => {
            string(v.map(|d| d.format("%F %T%.f").to_string()).as_deref(), out)?;
        }
        Value::ChronoDateTimeUtc(v) => string(
            v.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
                .as_deref(),
            out,
        )?,
        Value::ChronoDateTimeLocal(v) => string(
            v.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
                .as_deref(),
            out,
        )?,
        Value::ChronoDateTimeWithTimeZone(v) => string(
            v.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
                .as_deref(),
            out,
        )?,
        other => {
            return Err(DbErr::Custom(format!(
                "bulk write: no SQLite JSON form for {other:?}"
            )));
        }
    }
    Ok(false)
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

/// `column IN (values)`. On SQLite the list is bound as one JSON array: the statement's text
/// is then the same however many values there are, so a connection prepares it once and
/// keeps it, where an `IN` list of placeholders is a new statement for every length (each
/// parsed with all its placeholders, prepared, and cached in place of one in use).
pub fn is_one_of<'v, C: ColumnTrait>(
    backend: DbBackend,
    column: C,
    values: impl IntoIterator<Item = &'v Value>,
) -> Result<SimpleExpr, DbErr> {
    if backend != DbBackend::Sqlite {
        return Ok(column.is_in(values.into_iter().cloned()));
    }
    let mut text = String::from("[");
    let mut blob = false;
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        blob |= sqlite_json(value, &mut text)?;
    }
    text.push(']');
    let picked = if blob { "unhex(value)" } else { "value" };
    Ok(Expr::cust_with_values(
        format!(
            "\"{}\".\"{}\" IN (SELECT {picked} FROM json_each(?))",
            column.entity_name(),
            column.as_str()
        ),
        [Value::from(text)],
    ))
}

/// Keys one lookup statement carries on SQLite and MySQL.
const LOOKUP_KEYS_PER_STATEMENT: usize = 10_000;

/// The rows of `E` whose `columns` (one or two) equal one of `keys`, found with few
/// statements however many keys there are.
///
/// On PostgreSQL the keys are joined as arrays (`JOIN unnest($1, $2)`), which the planner
/// reads as a small set to probe the unique index with, even while the table's statistics
/// still describe it as empty (as they do during a first import). On SQLite they are one JSON
/// array (`IN (SELECT value FROM json_each(?))`), on MySQL/MariaDB `IN` lists; both grouped by
/// the first column when there are two.
pub async fn find_by_keys<E>(
    db: &impl ConnectionTrait,
    columns: &[E::Column],
    keys: Vec<Vec<Value>>,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
{
    let every: Vec<E::Column> = E::Column::iter().collect();
    let mut found = Vec::new();
    for statement in lookup_statements::<E>(db.get_database_backend(), columns, &every, keys)? {
        for row in db.query_all_raw(statement).await? {
            found.push(E::Model::from_query_result(&row, "")?);
        }
    }
    Ok(found)
}

/// [`find_by_keys`] reading only the `selected` columns, as a tuple of their values in that
/// order: a batch that needs two columns of thousands of rows does not decode all of them.
pub async fn find_columns_by_keys<E, T>(
    db: &impl ConnectionTrait,
    columns: &[E::Column],
    keys: Vec<Vec<Value>>,
    selected: &[E::Column],
) -> Result<Vec<T>, DbErr>
where
    E: EntityTrait,
    T: TryGetableMany,
{
    let mut found = Vec::new();
    for statement in lookup_statements::<E>(db.get_database_backend(), columns, selected, keys)? {
        for row in db.query_all_raw(statement).await? {
            found.push(row.try_get_many_by_index::<T>()?);
        }
    }
    Ok(found)
}

/// The statements [`find_by_keys`] runs: `selected` columns of the rows whose key `columns`
/// equal one of `keys`.
fn lookup_statements<E>(
    backend: DbBackend,
    columns: &[E::Column],
    selected: &[E::Column],
    keys: Vec<Vec<Value>>,
) -> Result<Vec<Statement>, DbErr>
where
    E: EntityTrait,
{
    let table = E::default().table_name().to_owned();
    let mut statements = Vec::new();
    if keys.is_empty() {
        return Ok(statements);
    }
    let select = |filter: sea_orm::Condition| {
        let mut query = Query::select();
        query
            .columns(selected.iter().map(|c| Alias::new(c.as_str())))
            .from(Alias::new(&table))
            .cond_where(filter);
        backend.build(&query)
    };
    match (backend, columns) {
        (DbBackend::Postgres, _) => {
            let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
            let join: Vec<String> = names
                .iter()
                .map(|c| format!("t.\"{c}\" = k.\"{c}\""))
                .collect();
            let picked: Vec<String> = selected
                .iter()
                .map(|c| format!("t.\"{}\"", c.as_str()))
                .collect();
            let mut keys = keys.into_iter().peekable();
            while keys.peek().is_some() {
                let chunk: Vec<Vec<Value>> =
                    keys.by_ref().take(POSTGRES_ROWS_PER_STATEMENT).collect();
                let arrays = PostgresArrays::of(chunk)?;
                let sql = format!(
                    "SELECT {} FROM \"{table}\" AS t JOIN unnest({}) AS k({}) ON {}",
                    picked.join(", "),
                    arrays.parameters(),
                    names
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    join.join(" AND ")
                );
                statements.push(Statement::from_sql_and_values(
                    backend,
                    sql,
                    arrays.literals,
                ));
            }
        }
        (_, [only]) => {
            for chunk in keys.chunks(LOOKUP_KEYS_PER_STATEMENT) {
                let values = chunk.iter().filter_map(|k| k.first());
                statements.push(select(
                    sea_orm::Condition::all().add(is_one_of(backend, *only, values)?),
                ));
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
                    statements.push(select(
                        sea_orm::Condition::all()
                            .add(first.eq(a.clone()))
                            .add(is_one_of(backend, *second, chunk)?),
                    ));
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
    Ok(statements)
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
