//! Integration tests: one binary, every database-touching test on every backend.
#![allow(clippy::unwrap_used)]

#[allow(
    dead_code,
    reason = "shared helpers: each area of tests uses some of them, none uses all"
)]
mod harness;
mod support_accounts;
mod support_clients;
mod support_credentials;
#[allow(
    dead_code,
    reason = "shared helpers: the provider, xAPI and page tests each use some of them"
)]
mod support_process;
mod support_providers;

mod accounts;
mod admin_api;
mod attendance;
mod attendance_killed;
mod authorization_matrix;
mod browser;
mod browser_dashboard;
mod bulk_write;
mod claims;
mod client_budgets;
mod configuration;
mod connections;
mod credentials;
mod dashboard;
mod dashboard_cache;
mod demo;
mod faults;
mod fuzz_corpus;
mod health;
mod holders_import;
mod jwks;
mod log_secrets;
mod mail;
mod oauth_clients;
mod observability;
mod openapi_contract;
mod operator_cli;
mod operator_errors;
mod pages;
mod plan;
mod procurement_consents;
mod procurement_course_history;
mod procurement_organisations;
mod procurement_projection;
mod procurement_verify;
mod read_replica;
mod readme_walkthrough;
mod records;
mod registry_page;
mod reminders;
mod reminders_killed_drain;
mod reminders_status;
mod reminders_unsubscribe;
mod renewal;
mod reset_requests;
mod sample_audit;
mod scale_out;
mod schemes;
mod security;
mod self_report;
mod self_report_page;
mod standing;
mod templates;
mod token_suite;
mod webhooks;
mod xapi;
mod xapi_client;
mod xapi_credit;
