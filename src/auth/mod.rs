//! Identity: passwords, signing keys and the JWKS they publish, and each machine client's request budget.

pub mod client_limits;
pub mod credential_keys;
pub mod keys;
pub mod password;
pub mod tokens;
pub mod unsubscribe_token;
