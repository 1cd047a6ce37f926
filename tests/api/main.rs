//! Integration tests: one binary, every database-touching test on every backend.
#![allow(clippy::unwrap_used)]

#[allow(
    dead_code,
    reason = "shared helpers: each area of tests uses some of them, none uses all"
)]
mod harness;
mod support_accounts;

mod accounts;
mod browser;
mod health;
mod mail;
mod pages;
