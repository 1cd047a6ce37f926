//! Background work. The job bodies are plain async functions that tests call directly; the
//! loops here only trigger them.

pub mod outbox;
pub mod running;
pub mod schedule;
pub mod webhook_delivery;
