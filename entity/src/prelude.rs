//! Entities under their table's name, plus the value types they use.

pub use super::audit_events::{ActorKind, Entity as AuditEvents};
pub use super::audit_requests::{AuditOutcome, Entity as AuditRequests};
pub use super::calendar_feeds::Entity as CalendarFeeds;
pub use super::client_request_budgets::Entity as ClientRequestBudgets;
pub use super::clients::{ClientKind, Entity as Clients};
pub use super::consents::Entity as Consents;
pub use super::course_awards::Entity as CourseAwards;
pub use super::courses::Entity as Courses;
pub use super::credit_claims::Entity as CreditClaims;
pub use super::credits::{CreditSource, CreditState, Entity as Credits};
pub use super::cycles::{CycleOutcome, Entity as Cycles};
pub use super::disclosures::Entity as Disclosures;
pub use super::holdings::{Entity as Holdings, HoldingStatus};
pub use super::import_runs::Entity as ImportRuns;
pub use super::login_failures::Entity as LoginFailures;
pub use super::memberships::Entity as Memberships;
pub use super::notifications::{Entity as Notifications, NotificationState};
pub use super::one_time_tokens::{Entity as OneTimeTokens, TokenPurpose};
pub use super::organisations::Entity as Organisations;
pub use super::professionals::Entity as Professionals;
pub use super::providers::{Accreditation, Accreditations, Entity as Providers, ProviderStatus};
pub use super::scheme_versions::{Entity as SchemeVersions, SchemeVersionStatus};
pub use super::signing_keys::{Entity as SigningKeys, SigningAlgorithm};
pub use super::standing_projection::Entity as StandingProjection;
pub use super::users::{Entity as Users, UserRole};
pub use super::xapi_statements::Entity as XapiStatements;
