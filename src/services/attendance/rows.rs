//! Reading attendance as providers send it: a JSON batch or a CSV file, in English or Japanese
//! headers, each row read on its own so one bad row never hides the others.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::{AttendanceRow, Completion, PersonRef, Rejection};
use crate::domain::calendar_date::parse_date;
use crate::domain::email::EmailAddress;
use crate::domain::points::Points;
use crate::domain::registration_number::RegistrationNumber;
use crate::domain::scheme::normalise_scheme_id;
use crate::services::csv_text;

/// One row as sent, read or refused.
pub type Reported = Result<AttendanceRow, Rejection>;

/// A field of a row and the header names it may have in a CSV file, English first.
pub const COLUMNS: [(&str, &[&str]); 8] = [
    ("reference", &["reference", "参照番号", "受講番号"]),
    ("course", &["course", "講座コード", "コースコード"]),
    ("scheme", &["scheme", "資格"]),
    ("registration_number", &["registration_number", "登録番号"]),
    ("email", &["email", "メールアドレス"]),
    ("completed", &["completed", "修了日時", "修了日"]),
    ("hours", &["hours", "受講時間"]),
    ("points", &["points", "ポイント"]),
];

/// A whole request refused before any row is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Unreadable {
    pub field: String,
    pub message: String,
}

fn unreadable(field: impl Into<String>, message: impl Into<String>) -> Unreadable {
    Unreadable {
        field: field.into(),
        message: message.into(),
    }
}

fn rejected(field: &str, reason: impl Into<String>) -> Rejection {
    Rejection {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// The longest reference a provider may use (the column's width).
const MAX_REFERENCE: usize = 128;

/// Reads one row from its fields by name. Missing optional fields are absent or empty.
fn row_from(get: impl Fn(&str) -> Option<String>) -> Reported {
    // No field may carry control characters (a NUL would not even reach some databases).
    for (name, _) in COLUMNS {
        if get(name).is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(rejected(name, "must not contain control characters"));
        }
    }
    let text = |name: &str| {
        get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let reference = text("reference").ok_or_else(|| rejected("reference", "is required"))?;
    if reference.chars().count() > MAX_REFERENCE {
        return Err(rejected(
            "reference",
            format!("must be at most {MAX_REFERENCE} characters"),
        ));
    }
    let course = text("course").ok_or_else(|| rejected("course", "is required"))?;
    if course.chars().count() > MAX_REFERENCE {
        return Err(rejected(
            "course",
            format!("must be at most {MAX_REFERENCE} characters"),
        ));
    }
    let person = match (text("scheme"), text("registration_number"), text("email")) {
        (Some(scheme), Some(number), _) => PersonRef::Registration {
            scheme: normalise_scheme_id(&scheme),
            registration_number: RegistrationNumber::parse(&number)
                .map_err(|e| rejected("registration_number", e.to_string()))?
                .as_str()
                .to_owned(),
        },
        (None, Some(_), _) => {
            return Err(rejected("scheme", "is required with registration_number"));
        }
        (Some(_), None, None) => {
            return Err(rejected("registration_number", "is required with scheme"));
        }
        (_, None, Some(email)) => PersonRef::Email(
            EmailAddress::parse(&email)
                .map_err(|e| rejected("email", e.to_string()))?
                .as_str()
                .to_owned(),
        ),
        (None, None, None) => {
            return Err(rejected(
                "person",
                "name the person by scheme and registration_number, or by email",
            ));
        }
    };
    let completed = text("completed").ok_or_else(|| rejected("completed", "is required"))?;
    let completed = completion(&completed)?;
    let amount = |name: &str| -> Result<Option<Points>, Rejection> {
        text(name)
            .map(|v| {
                v.parse::<Points>()
                    .map_err(|e| rejected(name, format!("'{v}': {e}")))
            })
            .transpose()
    };
    let hours = amount("hours")?;
    let points = amount("points")?;
    for (name, value) in [("hours", hours), ("points", points)] {
        if value.is_some_and(|v| !v.is_positive()) {
            return Err(rejected(name, "must be more than 0"));
        }
    }
    Ok(AttendanceRow {
        reference,
        course,
        person,
        completed,
        hours,
        points,
    })
}

/// An instant with its offset (RFC 3339), or a day (`YYYY-MM-DD` or `YYYY/MM/DD`).
fn completion(text: &str) -> Result<Completion, Rejection> {
    if text.len() > 10 {
        return DateTime::<FixedOffset>::parse_from_rfc3339(text)
            .map(Completion::At)
            .map_err(|_| {
                rejected(
                    "completed",
                    format!(
                        "'{text}' is neither a date (2026-11-30) nor a time with its offset (2026-11-30T15:00:00+09:00)"
                    ),
                )
            });
    }
    parse_date(text)
        .map(Completion::On)
        .map_err(|e| rejected("completed", e.to_string()))
}

/// Each element of a JSON batch, read on its own.
pub fn from_json(rows: &[Value]) -> Vec<Reported> {
    rows.iter()
        .map(|row| {
            let Some(object) = row.as_object() else {
                return Err(rejected("row", "must be an object"));
            };
            if let Some(unknown) = object
                .keys()
                .find(|k| !COLUMNS.iter().any(|(name, _)| name == k))
            {
                return Err(rejected(
                    unknown,
                    format!(
                        "is not a field of an attendance row (they are: {})",
                        COLUMNS.map(|(name, _)| name).join(", ")
                    ),
                ));
            }
            for (name, value) in object {
                if !(value.is_string() || value.is_number() || value.is_null()) {
                    return Err(rejected(name, "must be a string or a number"));
                }
            }
            row_from(|name| match object.get(name) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
        })
        .collect()
}

/// The rows of a CSV file (UTF-8 with or without BOM, or Shift_JIS), with a header row whose
/// names may be English or Japanese (see [`COLUMNS`]). A row whose bytes were not valid in the
/// file's encoding is refused, naming where.
pub fn from_csv(bytes: &[u8], max_rows: usize) -> Result<Vec<Reported>, Unreadable> {
    Ok(read_csv(bytes, max_rows)?.rows)
}

/// A CSV upload read row by row, with each row's cells as sent (blank lines skipped), so that
/// the rejected ones can be handed back as they were.
#[derive(Debug, Clone)]
pub struct CsvUpload {
    pub header: Vec<String>,
    pub cells: Vec<Vec<String>>,
    pub rows: Vec<Reported>,
}

/// [`from_csv`], keeping the header and every row's cells.
pub fn read_csv(bytes: &[u8], max_rows: usize) -> Result<CsvUpload, Unreadable> {
    let decoded = csv_text::decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(decoded.text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| unreadable("file", format!("the header row cannot be read: {e}")))?
        .clone();
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, header) in headers.iter().enumerate() {
        let header = header.trim().trim_start_matches('\u{feff}').to_lowercase();
        let Some((name, _)) = COLUMNS
            .iter()
            .find(|(_, names)| names.iter().any(|n| *n == header))
        else {
            return Err(unreadable(
                "file",
                format!(
                    "column {} is headed '{header}', which is not an attendance column (they are: {})",
                    i + 1,
                    COLUMNS
                        .iter()
                        .map(|(name, names)| format!("{name} ({})", names[1..].join(", ")))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ));
        };
        if index.insert(name, i).is_some() {
            return Err(unreadable(
                "file",
                format!("two columns are headed '{name}'"),
            ));
        }
    }
    for required in ["reference", "course", "completed"] {
        if !index.contains_key(required) {
            return Err(unreadable(
                "file",
                format!("the header row has no '{required}' column"),
            ));
        }
    }
    let mut rows = Vec::new();
    let mut cells = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                rows.push(Err(rejected("row", format!("cannot be read: {e}"))));
                cells.push(Vec::new());
                continue;
            }
        }
        if rows.len() == max_rows {
            return Err(unreadable(
                "file",
                format!("has more than {max_rows} rows; send it in parts"),
            ));
        }
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        cells.push(record.iter().map(str::to_owned).collect());
        let next = reader.position().line();
        if let Some(message) = decoded.invalid_between(line, next.max(line + 1)) {
            rows.push(Err(rejected("row", message)));
            continue;
        }
        rows.push(row_from(|name| {
            index
                .get(name)
                .and_then(|&i| record.get(i))
                .map(str::to_owned)
        }));
    }
    Ok(CsvUpload {
        header: headers.iter().map(str::to_owned).collect(),
        cells,
        rows,
    })
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn japanese_headers_name_the_same_fields_as_english_ones() {
        let csv = "参照番号,講座コード,資格,登録番号,修了日,受講時間\nA-1,SEC-101,riss,012345,2026/11/30,3.5\n";
        let rows = from_csv(csv.as_bytes(), 10).unwrap();
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.reference, "A-1");
        assert_eq!(
            row.person,
            PersonRef::Registration {
                scheme: "riss".into(),
                registration_number: "012345".into()
            }
        );
        assert_eq!(row.hours, Some("3.5".parse().unwrap()));
    }

    #[test]
    fn a_time_with_its_offset_is_kept_as_an_instant() {
        let rows = from_json(&[serde_json::json!({
            "reference": "r", "course": "c", "email": "A@Example.com",
            "completed": "2026-11-30T23:30:00+09:00"
        })]);
        let row = rows[0].as_ref().unwrap();
        assert!(
            matches!(row.completed, Completion::At(at) if at.offset().local_minus_utc() == 9 * 3600)
        );
        // The address as the one email rule reads it: the domain in lower case.
        assert_eq!(row.person, PersonRef::Email("A@example.com".into()));
    }

    #[test]
    fn each_bad_row_names_its_field_and_the_others_are_still_read() {
        let rows = from_json(&[
            serde_json::json!({"reference": "r1", "course": "c", "email": "a@example.com", "completed": "30/11/2026"}),
            serde_json::json!({"reference": "r2", "course": "c", "completed": "2026-11-30"}),
            serde_json::json!({"reference": "r3", "course": "c", "email": "a@example.com", "completed": "2026-11-30", "hours": 0}),
            serde_json::json!({"reference": "r4", "course": "c", "email": "a@example.com", "completed": "2026-11-30", "colour": "red"}),
            serde_json::json!({"reference": "r5", "course": "c", "email": "a@example.com", "completed": "2026-11-30"}),
        ]);
        let fields: Vec<&str> = rows
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| e.field.as_str(), |_| "ok"))
            .collect();
        assert_eq!(fields, ["completed", "person", "hours", "colour", "ok"]);
    }

    #[test]
    fn a_header_that_is_no_attendance_column_refuses_the_file_listing_the_columns() {
        let error = from_csv(b"reference,course,colour\n", 10).unwrap_err();
        assert!(error.message.contains("'colour'"), "{}", error.message);
        assert!(error.message.contains("修了日"), "{}", error.message);
    }

    #[test]
    fn a_file_over_the_row_limit_is_refused_whole() {
        let mut csv = String::from("reference,course,email,completed\n");
        for i in 0..3 {
            csv.push_str(&format!("r{i},c,a@example.com,2026-11-30\n"));
        }
        assert!(from_csv(csv.as_bytes(), 2).is_err());
        assert_eq!(from_csv(csv.as_bytes(), 3).unwrap().len(), 3);
    }
}
