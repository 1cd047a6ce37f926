//! Integration tests: one binary, every database-touching test on every backend.
#![allow(clippy::unwrap_used)]

mod harness;
mod support_clients;

mod admin_api;
mod authorization_matrix;
mod health;
mod jwks;
mod oauth_clients;
mod token_suite;
