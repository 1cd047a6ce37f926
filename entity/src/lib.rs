//! sea-orm entities for cpe-ledger: one module per table, no logic.
//!
//! Conventions shared by every table:
//! - `id` is a UUID (except `audit_events`, an auto-increment `i64`,
//!   `job_periods`, keyed by job and period, `reminder_preferences`, keyed by
//!   professional and reason, `consents`, keyed by professional and audience,
//!   `standing_projection`, keyed by holding, `calendar_feeds`, keyed by
//!   professional, and `webhook_watches`, keyed by
//!   subscription and holding);
//! - instants are `DateTimeUtc` (stored as `timestamp with time zone`);
//! - points and hours are `i64` hundredths (`150` = 1.5 points);
//! - closed sets of values are string-backed `ActiveEnum`s (stored as
//!   `varchar(16)`, never native database enums).

pub mod prelude;

pub mod audit_events;
pub mod audit_requests;
pub mod calendar_feeds;
pub mod client_request_budgets;
pub mod clients;
pub mod consents;
pub mod course_awards;
pub mod courses;
pub mod credit_claims;
pub mod credit_reviews;
pub mod credits;
pub mod cycles;
pub mod disclosures;
pub mod evidence;
pub mod holdings;
pub mod import_runs;
pub mod issued_credentials;
pub mod job_periods;
pub mod login_failures;
pub mod memberships;
pub mod notifications;
pub mod one_time_tokens;
pub mod organisations;
pub mod professionals;
pub mod providers;
pub mod reminder_items;
pub mod reminder_preferences;
pub mod scheme_versions;
pub mod self_reports;
pub mod signing_keys;
pub mod standing_projection;
pub mod users;
pub mod webhook_subscriptions;
pub mod webhook_watches;
pub mod xapi_statements;
