//! Integration tests: one binary, every database-touching test on every backend.
#![allow(clippy::unwrap_used)]

mod harness;
mod support_accounts;

mod accounts;
mod browser;
mod health;
mod mail;
mod pages;
