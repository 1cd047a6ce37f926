//! The pure core: scheme rules, standing, points arithmetic, and parsing of identifiers.
//!
//! Nothing in here performs I/O, reads the clock, or knows about HTTP or the database; every
//! function takes what it needs and returns a value, so the rules can be tested exhaustively.

pub mod allocation;
pub mod audit_sample;
pub mod calendar_date;
pub mod dashboard;
pub mod email;
pub mod levels;
pub mod planner;
pub mod points;
pub mod registration_number;
pub mod reminders;
pub mod renewal;
pub mod scheme;
pub mod self_report;
pub mod standing;
pub mod xapi;

pub use allocation::{HoldingCycle, MultiCredit, SchemeClaim, allocate};
pub use calendar_date::{CalendarDate, CalendarDateError, parse_date};
pub use email::{EmailAddress, EmailAddressError};
pub use points::{Points, PointsError};
pub use registration_number::{RegistrationNumber, RegistrationNumberError};
pub use scheme::{SchemeDefinition, SchemeError, Unplaceable, normalise_scheme_id};
pub use standing::{
    Claim, CreditEntry, CreditState, CyclePeriod, IgnoredClaim, IgnoredReason, Standing,
    StandingInput, StandingState, deadline, evaluate, grace_until,
};
