//! The reminder digest: one email per person per sweep, one section per certification that
//! needs attention, each listing why (its reasons) and the person's own numbers.

use serde::{Deserialize, Serialize};

use crate::domain::reminders::Reason;

/// The name a queued reminder notification stores, and its template folder.
pub const NAME: &str = "reminder";

/// What `emails/reminder/<locale>/…` is rendered from. Stored as the notification's payload,
/// so it holds text already written for the reader (dates in their locale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderEmail {
    /// The person's display name (or legal name).
    pub name: Option<String>,
    /// Their dashboard.
    pub dashboard_link: String,
    pub certifications: Vec<CertificationReminder>,
}

/// One certification in the digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificationReminder {
    /// The scheme's name in the reader's language (`CISSP`, `情報処理安全確保支援士`).
    pub scheme: String,
    pub registration_number: String,
    /// Why this certification is in the email, in section order.
    pub reasons: Vec<Reason>,
    /// The last day the certification is valid (the cycle's exclusive end minus one day).
    pub last_valid_day: String,
    /// The day by which the renewal must be complete.
    pub deadline: String,
    /// Days from the sweep's date to the deadline; negative once past.
    pub days_left: i64,
    /// The last day of the grace period.
    pub grace_until: String,
    /// Whether the scheme counts points at all (RISS does not: it is made of courses).
    pub counts_points: bool,
    pub required: String,
    pub counted: String,
    pub missing: String,
    /// Categories with a minimum or some points, each with what is still missing.
    pub categories: Vec<CategoryLine>,
    /// Cycle years whose minimum is still open and ends soon.
    pub years: Vec<YearLine>,
    /// Required courses not yet taken.
    pub unmet_slots: Vec<SlotLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryLine {
    pub name: String,
    pub counted: String,
    pub minimum: Option<String>,
    /// Points still missing toward the minimum; `None` when there is none or it is met.
    pub missing: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearLine {
    pub year: u32,
    /// The year's last day.
    pub last_day: String,
    pub counted: String,
    pub minimum: String,
    pub missing: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotLine {
    pub name: String,
    /// Cycle year for a course due every year.
    pub year: Option<u32>,
    /// Last day on which taking it counts.
    pub due_by: String,
}
