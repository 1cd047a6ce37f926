//! Reading a registry file into rows: every cell checked, every problem of a row reported,
//! duplicates and rows that disagree about one person found before anything is written.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, RandomState};

use chrono::NaiveDate;

use super::{HolderRow, ImportError, REQUIRED_COLUMNS, Rejection};
use crate::domain::calendar_date;
use crate::domain::email::EmailAddress;
use crate::domain::registration_number::RegistrationNumber;
use crate::services::csv_text;
use crate::services::schemes::SchemeCatalog;

/// One registry record as the file has it, read by column name. Every cell is text here and
/// may be empty (a short row leaves the rest empty); [`parse_row`] checks each, so a bad cell
/// is reported with its line and column rather than failing the whole record.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct RegistryRecord {
    scheme: String,
    registration_number: String,
    email: String,
    legal_name: String,
    legal_name_kana: String,
    display_name: String,
    certified_on: String,
    cycle_start: String,
    locale: String,
    time_zone: String,
}

/// The rows of a registry file, read one at a time: each a valid row or the reason it is not.
pub struct RowReader<'a> {
    decoded: &'a csv_text::Decoded<'a>,
    catalog: &'a SchemeCatalog,
    headers: csv::StringRecord,
    records: csv::StringRecordsIntoIter<&'a [u8]>,
    /// The line of each (scheme, registration number) read so far, by a 128-bit hash of the
    /// pair: a million rows then take some 40 MiB to check for duplicates.
    seen: HashMap<u128, u64>,
    hashers: (RandomState, RandomState),
    /// Records in the file, counted before the first is read.
    records_in_file: u64,
    /// Emails whose rows disagree about the person: the line first seen on and the first
    /// line that differs, by a 128-bit hash of the email.
    conflicts: HashMap<u128, (u64, u64)>,
    /// Records read so far.
    pub(super) total: usize,
    /// The line a record starts on, as a spreadsheet shows it: blank lines are skipped by the
    /// reader and a quoted cell may span lines, so counting records would drift.
    next_line: u64,
}

impl<'a> RowReader<'a> {
    /// Reads the header line and surveys the records; refuses a file without the required
    /// columns. Iterating then reads each record.
    pub fn new(
        decoded: &'a csv_text::Decoded<'a>,
        catalog: &'a SchemeCatalog,
    ) -> Result<Self, ImportError> {
        let mut reader = Self::builder().from_reader(decoded.text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| ImportError::File(format!("cannot read the header line: {e}")))?
            .clone();
        let missing: Vec<&str> = REQUIRED_COLUMNS
            .iter()
            .copied()
            .filter(|c| !headers.iter().any(|h| h == *c))
            .collect();
        if !missing.is_empty() {
            return Err(ImportError::File(format!(
                "missing column(s): {} (expected: {})",
                missing.join(", "),
                REQUIRED_COLUMNS.join(", ")
            )));
        }
        let hashers = (RandomState::new(), RandomState::new());
        let (records_in_file, conflicts) = survey(decoded, &headers, &hashers);
        Ok(Self {
            decoded,
            catalog,
            headers,
            records: reader.into_records(),
            seen: HashMap::new(),
            hashers,
            records_in_file,
            conflicts,
            total: 0,
            next_line: 2,
        })
    }

    fn builder() -> csv::ReaderBuilder {
        let mut builder = csv::ReaderBuilder::new();
        builder.trim(csv::Trim::All).flexible(true);
        builder
    }

    /// How many records the file holds.
    pub(super) fn records_in_file(&self) -> u64 {
        self.records_in_file
    }

    fn read(
        &mut self,
        record: Result<csv::StringRecord, csv::Error>,
    ) -> Result<HolderRow, Vec<Rejection>> {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(self.next_line, |p| p.line());
                self.next_line = line + 1;
                return Err(vec![Rejection {
                    line,
                    registration_number: String::new(),
                    field: "row".to_owned(),
                    message: format!("unreadable CSV: {e}"),
                }]);
            }
        };
        let line = record.position().map_or(self.next_line, |p| p.line());
        self.next_line = line + 1;
        let headers = &self.headers;
        if record.len() > headers.len() {
            return Err(vec![Rejection {
                line,
                registration_number: record.get(1).unwrap_or_default().to_owned(),
                field: "row".to_owned(),
                message: format!(
                    "has {} columns; the header has {}",
                    record.len(),
                    headers.len()
                ),
            }]);
        }
        // A short row (the reader is flexible) leaves its last cells empty, as a spreadsheet shows it.
        let mut record = record;
        while record.len() < headers.len() {
            record.push_field("");
        }
        let cells: RegistryRecord = record.deserialize(Some(headers)).map_err(|e| {
            vec![Rejection {
                line,
                registration_number: String::new(),
                field: deserialize_field(&e, headers),
                message: format!("unreadable CSV: {e}"),
            }]
        })?;
        // A byte the file's encoding cannot hold: refuse the row rather than store a changed name.
        if let Some(field) = headers
            .iter()
            .zip(record.iter())
            .find(|(_, cell)| cell.contains(char::REPLACEMENT_CHARACTER))
            .map(|(name, _)| name.to_owned())
        {
            let until = line
                + record
                    .iter()
                    .map(|c| c.matches('\n').count() as u64)
                    .sum::<u64>()
                + 1;
            return Err(vec![Rejection {
                line,
                registration_number: cells.registration_number.clone(),
                field,
                message: self
                    .decoded
                    .invalid_between(line, until)
                    .unwrap_or_else(|| {
                        "holds U+FFFD, the mark of a character lost in an earlier conversion"
                            .to_owned()
                    }),
            }]);
        }
        let row = parse_row(line, &cells, self.catalog).map_err(|errors| {
            errors
                .into_iter()
                .map(|(field, message)| Rejection {
                    line,
                    registration_number: cells.registration_number.clone(),
                    field: field.to_owned(),
                    message,
                })
                .collect::<Vec<_>>()
        })?;
        if let Some(email) = &row.email
            && let Some((first, differing)) = self.conflicts.get(&hash128(&self.hashers, email))
        {
            return Err(vec![Rejection {
                line,
                registration_number: row.registration_number,
                field: "email".to_owned(),
                message: format!(
                    "the rows with this email disagree about the person (names, locale or time zone differ between lines {first} and {differing}); nothing is changed for this person until the file agrees with itself"
                ),
            }]);
        }
        let key = hash128(&self.hashers, (&row.scheme, &row.registration_number));
        match self.seen.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(line);
                Ok(row)
            }
            Entry::Occupied(first) => Err(vec![Rejection {
                line,
                registration_number: row.registration_number,
                field: "registration_number".to_owned(),
                message: format!("appears earlier in the same file, on line {}", first.get()),
            }]),
        }
    }
}

/// A 128-bit hash: for a million keys, the chance of two colliding is about 10^-27.
fn hash128(hashers: &(RandomState, RandomState), key: impl std::hash::Hash + Copy) -> u128 {
    u128::from(hashers.0.hash_one(key)) << 64 | u128::from(hashers.1.hash_one(key))
}

/// One pass over the raw records before any is imported: how many there are, and which
/// emails stand on rows that disagree about the person they name (one row says 佐藤 花子,
/// another Hanako Sato). Those rows are all refused, so that a re-run does not flip the name
/// back and forth.
fn survey(
    decoded: &csv_text::Decoded<'_>,
    headers: &csv::StringRecord,
    hashers: &(RandomState, RandomState),
) -> (u64, HashMap<u128, (u64, u64)>) {
    let column = |name: &str| headers.iter().position(|h| h == name);
    let email_at = column("email");
    let person_at: Vec<Option<usize>> = [
        "legal_name",
        "legal_name_kana",
        "display_name",
        "locale",
        "time_zone",
    ]
    .iter()
    .map(|name| column(name))
    .collect();
    let mut reader = RowReader::builder().from_reader(decoded.text.as_bytes());
    let mut record = csv::ByteRecord::new();
    let mut count = 0;
    let mut people: HashMap<u128, (u128, u64)> = HashMap::new();
    let mut conflicts = HashMap::new();
    while let Ok(true) = reader.read_byte_record(&mut record) {
        count += 1;
        let cell = |at: Option<usize>| {
            at.and_then(|i| record.get(i))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default()
        };
        let Ok(email) = EmailAddress::parse(cell(email_at)) else {
            continue;
        };
        let defaults = ["", "", "", "ja", "Asia/Tokyo"];
        let person: Vec<&str> = person_at
            .iter()
            .zip(defaults)
            .map(|(at, default)| match cell(*at) {
                "" => default,
                text => text,
            })
            .collect();
        let line = record.position().map_or(0, |p| p.line());
        let email = hash128(hashers, email.as_str());
        let person = hash128(hashers, &person);
        match people.entry(email) {
            Entry::Vacant(slot) => {
                slot.insert((person, line));
            }
            Entry::Occupied(first) if first.get().0 != person => {
                conflicts.entry(email).or_insert((first.get().1, line));
            }
            Entry::Occupied(_) => {}
        }
    }
    (count, conflicts)
}

impl Iterator for RowReader<'_> {
    type Item = Result<HolderRow, Vec<Rejection>>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = self.records.next()?;
        self.total += 1;
        Some(self.read(record))
    }
}

/// The column a record could not be read at, named by its header; else `row`.
fn deserialize_field(err: &csv::Error, headers: &csv::StringRecord) -> String {
    match err.kind() {
        csv::ErrorKind::Deserialize { err, .. } => err
            .field()
            .and_then(|i| headers.get(i as usize))
            .unwrap_or("row")
            .to_owned(),
        _ => "row".to_owned(),
    }
}

/// A problem with one cell: its column and what is wrong.
type CellError = (&'static str, String);

/// Checks every cell of a row and reports every problem found, not the first only.
fn parse_row(
    line: u64,
    row: &RegistryRecord,
    catalog: &SchemeCatalog,
) -> Result<HolderRow, Vec<CellError>> {
    let mut errors: Vec<CellError> = Vec::new();
    let mut check = Checked(&mut errors);
    let scheme = check.ok(match row.scheme.to_ascii_lowercase() {
        s if s.is_empty() => Err(("scheme", "is empty".to_owned())),
        s if !catalog.contains(&s) => Err(("scheme", format!("unknown scheme '{s}'"))),
        s => Ok(s),
    });
    let registration_number = check.ok(RegistrationNumber::parse(&row.registration_number)
        .map_err(|e| ("registration_number", e.to_string())));
    let email = check.ok(match row.email.as_str() {
        "" => Ok(None),
        text => EmailAddress::parse(text)
            .map(|e| Some(e.as_str().to_owned()))
            .map_err(|e| ("email", e.to_string())),
    });
    let legal_name = check.ok(match row.legal_name.as_str() {
        "" => Err(("legal_name", "is empty".to_owned())),
        text if text.chars().count() > 254 => {
            Err(("legal_name", "is longer than 254 characters".to_owned()))
        }
        text => Ok(text.to_owned()),
    });
    let optional = |name: &'static str, text: &str| -> Result<Option<String>, CellError> {
        match text {
            "" => Ok(None),
            text if text.chars().count() > 254 => {
                Err((name, "is longer than 254 characters".to_owned()))
            }
            text => Ok(Some(text.to_owned())),
        }
    };
    let legal_name_kana = check.ok(optional("legal_name_kana", &row.legal_name_kana));
    let display_name = check.ok(optional("display_name", &row.display_name));
    let certified_on = check.ok(parse_date(&row.certified_on).map_err(|m| ("certified_on", m)));
    let cycle_start = check.ok(parse_date(&row.cycle_start).map_err(|m| ("cycle_start", m)));
    let locale = check.ok(locale_of(&row.locale).map_err(|m| ("locale", m)));
    let time_zone = check.ok(time_zone_of(&row.time_zone).map_err(|m| ("time_zone", m)));
    if let (Some(certified_on), Some(cycle_start)) = (certified_on, cycle_start)
        && cycle_start < certified_on
    {
        check.ok(Err::<(), _>((
            "cycle_start",
            "is before certified_on".to_owned(),
        )));
    }
    let cycle = match (&scheme, cycle_start) {
        (Some(scheme), Some(cycle_start)) => check.ok(catalog
            .in_force_on(scheme, cycle_start)
            .ok_or(("scheme", format!("no version of '{scheme}' is loaded")))
            .and_then(|loaded| {
                cycle_start
                    .checked_add_months(chrono::Months::new(loaded.definition.cycle_months))
                    .map(|end| (end, loaded.definition.version.clone()))
                    .ok_or(("cycle_start", "is too far in the future".to_owned()))
            })),
        _ => None,
    };
    match (
        scheme,
        registration_number,
        email,
        legal_name,
        legal_name_kana,
        display_name,
        certified_on,
        cycle_start,
        cycle,
        locale,
        time_zone,
    ) {
        (
            Some(scheme),
            Some(registration_number),
            Some(email),
            Some(legal_name),
            Some(legal_name_kana),
            Some(display_name),
            Some(certified_on),
            Some(cycle_start),
            Some((cycle_end, scheme_version)),
            Some(locale),
            Some(time_zone),
        ) if errors.is_empty() => Ok(HolderRow {
            line,
            scheme,
            registration_number: registration_number.as_str().to_owned(),
            email,
            legal_name,
            legal_name_kana,
            display_name,
            certified_on,
            cycle_start,
            cycle_end,
            scheme_version,
            locale,
            time_zone,
        }),
        _ => Err(errors),
    }
}

/// Keeps each error and hands on each value, so that every cell of a row is checked.
struct Checked<'e>(&'e mut Vec<CellError>);

impl Checked<'_> {
    fn ok<T>(&mut self, result: Result<T, CellError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }
}

fn locale_of(text: &str) -> Result<String, String> {
    match text {
        "" => Ok("ja".to_owned()),
        known @ ("ja" | "en") => Ok(known.to_owned()),
        other => Err(format!("'{other}' is not ja or en")),
    }
}

fn time_zone_of(text: &str) -> Result<String, String> {
    match text {
        "" => Ok("Asia/Tokyo".to_owned()),
        text => text
            .parse::<chrono_tz::Tz>()
            .map(|tz| tz.name().to_owned())
            .map_err(|_| format!("'{text}' is not an IANA time zone")),
    }
}

/// The one date rule of the CLI, the API and the import (`YYYY-MM-DD`, or `YYYY/MM/DD` as
/// Japanese spreadsheets write it).
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    calendar_date::parse_date(text).map_err(|e| e.to_string())
}
