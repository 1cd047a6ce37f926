//! Identity: signing keys and the JWKS they publish.

pub mod keys;
pub mod tokens;
