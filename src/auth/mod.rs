//! Identity: passwords, signing keys and the JWKS they publish.

pub mod keys;
pub mod password;
pub mod tokens;
