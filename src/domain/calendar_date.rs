//! Calendar dates as people type them: one rule for the command line, the API and the
//! registry import.
//!
//! A date is `YYYY-MM-DD` (ISO 8601, what the API answers with) or `YYYY/MM/DD` (how Japanese
//! spreadsheets save a date cell as text). Month and day may have one or two digits
//! (`2026/5/1`), the year has four, and one date uses one separator throughout. Anything else is
//! refused with a message that names the format, so a typo is never read as another day.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// The format every date error names.
pub const DATE_FORMAT: &str = "YYYY-MM-DD (or YYYY/MM/DD)";

/// A day of the calendar, read by [`CalendarDate::parse`]. Serialises as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CalendarDate(NaiveDate);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarDateError {
    #[error("expected a date as {DATE_FORMAT}, got nothing")]
    Empty,
    #[error("expected a date as {DATE_FORMAT}, e.g. 2026-05-10, got '{0}'")]
    Malformed(String),
    #[error("'{0}' is not a day of the calendar (expected a date as {DATE_FORMAT})")]
    NoSuchDay(String),
}

impl CalendarDate {
    pub fn parse(text: &str) -> Result<Self, CalendarDateError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(CalendarDateError::Empty);
        }
        let malformed = || CalendarDateError::Malformed(trimmed.to_owned());
        let separator = if trimmed.contains('/') { '/' } else { '-' };
        let parts: Vec<&str> = trimmed.split(separator).collect();
        let [year, month, day] = parts.as_slice() else {
            return Err(malformed());
        };
        let digits = |part: &str, lengths: &[usize]| {
            lengths.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(year, &[4]) || !digits(month, &[1, 2]) || !digits(day, &[1, 2]) {
            return Err(malformed());
        }
        let number = |part: &str| part.parse::<u32>().map_err(|_| malformed());
        let year = i32::try_from(number(year)?).map_err(|_| malformed())?;
        NaiveDate::from_ymd_opt(year, number(month)?, number(day)?)
            .map(Self)
            .ok_or_else(|| CalendarDateError::NoSuchDay(trimmed.to_owned()))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// [`CalendarDate::parse`] for callers that want the plain date.
pub fn parse_date(text: &str) -> Result<NaiveDate, CalendarDateError> {
    CalendarDate::parse(text).map(CalendarDate::date)
}

impl FromStr for CalendarDate {
    type Err = CalendarDateError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl TryFrom<String> for CalendarDate {
    type Error = CalendarDateError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CalendarDate> for String {
    fn from(value: CalendarDate) -> String {
        value.to_string()
    }
}

impl From<CalendarDate> for NaiveDate {
    fn from(value: CalendarDate) -> NaiveDate {
        value.0
    }
}

impl From<NaiveDate> for CalendarDate {
    fn from(value: NaiveDate) -> Self {
        Self(value)
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month(),
            self.0.day()
        )
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn iso_dates_are_read_as_written() {
        assert_eq!(parse_date("2026-05-10").unwrap(), day(2026, 5, 10));
        assert_eq!(parse_date("  2024-02-29 ").unwrap(), day(2024, 2, 29));
    }

    #[test]
    fn slashed_dates_as_japanese_spreadsheets_save_them_mean_the_same_day() {
        assert_eq!(parse_date("2026/05/10").unwrap(), day(2026, 5, 10));
        assert_eq!(parse_date("2022/4/1").unwrap(), day(2022, 4, 1));
        assert_eq!(parse_date("2022-4-1").unwrap(), day(2022, 4, 1));
    }

    #[test]
    fn anything_else_is_refused_naming_the_format() {
        for text in [
            "2026.05.10",
            "10/05/2026",
            "2026-05/10",
            "2026/05-10",
            "26-05-10",
            "2026-005-10",
            "2026-05-10T00:00",
            "２０２６-05-10",
            "2026-05",
            "tomorrow",
            "+2026-05-10",
        ] {
            let error = parse_date(text).unwrap_err();
            assert!(
                matches!(error, CalendarDateError::Malformed(_)),
                "{text}: {error:?}"
            );
            let message = error.to_string();
            assert!(message.contains("YYYY-MM-DD (or YYYY/MM/DD)"), "{message}");
            assert!(message.contains(text.trim()), "{message}");
        }
    }

    #[test]
    fn a_day_that_does_not_exist_is_refused_as_such() {
        for text in ["2026-02-29", "2026/13/01", "2026-04-31", "2026-00-10"] {
            let error = parse_date(text).unwrap_err();
            assert_eq!(error, CalendarDateError::NoSuchDay(text.to_owned()));
            assert!(error.to_string().contains("not a day of the calendar"));
        }
    }

    #[test]
    fn nothing_is_refused_as_a_missing_date() {
        assert_eq!(parse_date("  "), Err(CalendarDateError::Empty));
    }

    #[test]
    fn a_date_is_written_back_as_iso_whatever_separator_it_was_read_with() {
        let read = CalendarDate::parse("2026/5/1").unwrap();
        assert_eq!(read.to_string(), "2026-05-01");
        assert_eq!(
            serde_json::to_value(read).unwrap(),
            serde_json::json!("2026-05-01")
        );
        let back: CalendarDate = serde_json::from_value(serde_json::json!("2026/05/01")).unwrap();
        assert_eq!(back, read);
        let refused = serde_json::from_value::<CalendarDate>(serde_json::json!("01.05.2026"));
        assert!(refused.unwrap_err().to_string().contains("YYYY-MM-DD"));
    }
}
