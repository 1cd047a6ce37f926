//! Integration tests: one binary, every database-touching test on every backend.
#![allow(clippy::unwrap_used)]

mod harness;

mod configuration;
mod health;
mod holders_import;
mod schemes;
mod standing;
