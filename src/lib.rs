//! cpe-ledger: the continuing-education record of certified professionals.
//!
//! The binary is a thin shell over this library so that tests boot exactly what production
//! boots: [`startup::Application::build`] then [`startup::Application::run_until_stopped`].

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod templates;
