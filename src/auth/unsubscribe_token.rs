//! The token in a reminder's unsubscribe link: an EdDSA JWT (`typ: unsubscribe+jwt`) naming a
//! professional and the reminder reasons the link stops, signed with the key that signs access
//! tokens.
//!
//! It needs no login and is not stored: whoever holds the link may stop those reasons for that
//! person, which is what RFC 8058 asks of a one-click link. It has no expiry, because a reader
//! may click it months after the email came; it works for as long as the key that signed it is
//! published in the JWKS (see [`keys::PUBLISH_AFTER_RETIREMENT`]). Verification pins the
//! algorithm and the type, takes the key only from our own key set by `kid`, and requires
//! `iss`, `aud`, `sub` and `iat`; an access token is refused here as an unsubscribe token is
//! refused as an access token.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::keys::{self, KeyError};
use crate::auth::tokens::{KeyRing, TokenError};
use crate::domain::reminders::Reason;

/// The JWT `typ` of an unsubscribe token.
pub const TYP: &str = "unsubscribe+jwt";
/// The audience every unsubscribe token names.
pub const AUDIENCE: &str = "cpe-ledger-unsubscribe";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsubscribeClaims {
    pub iss: String,
    pub aud: String,
    /// The professional's id.
    pub sub: String,
    pub iat: i64,
    /// The reasons the link stops.
    pub reasons: Vec<Reason>,
}

/// Why a presented token is refused.
#[derive(Debug, thiserror::Error)]
pub enum UnsubscribeTokenError {
    /// Not one of ours, altered, of another kind, or signed by a key no longer published.
    #[error("the unsubscribe token is not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// Signs the token that stops `reasons` for `professional`.
pub fn sign(keys: &KeyRing, professional: Uuid, reasons: &[Reason]) -> Result<String, TokenError> {
    let claims = UnsubscribeClaims {
        iss: keys.issuer().to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: professional.to_string(),
        iat: chrono::Utc::now().timestamp(),
        reasons: reasons.to_vec(),
    };
    keys.sign(TYP, &claims)
}

/// The professional and reasons a token names, if it verifies.
pub async fn verify(
    db: &impl ConnectionTrait,
    issuer: &str,
    token: &str,
) -> Result<(Uuid, Vec<Reason>), UnsubscribeTokenError> {
    let invalid = |why: &str| UnsubscribeTokenError::Invalid(why.to_owned());
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
    if header.alg != Algorithm::EdDSA {
        return Err(invalid("algorithm not accepted"));
    }
    if header.typ.as_deref() != Some(TYP) {
        return Err(invalid("not an unsubscribe token"));
    }
    let kid = header.kid.ok_or_else(|| invalid("no key named"))?;
    let Some(stored) = keys::verifying_keys(db)
        .await?
        .into_iter()
        .find(|k| k.kid == kid)
    else {
        return Err(invalid("unknown key"));
    };
    let jwk = keys::public_jwk(&stored)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError::Stored {
        kid: stored.kid.clone(),
        reason: e.to_string(),
    })?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_required_spec_claims(&["iss", "aud", "sub", "iat"]);
    validation.validate_exp = false;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[AUDIENCE]);
    let data = jsonwebtoken::decode::<UnsubscribeClaims>(token, &key, &validation)
        .map_err(|e| UnsubscribeTokenError::Invalid(e.to_string()))?;
    let professional = Uuid::parse_str(&data.claims.sub).map_err(|_| invalid("bad subject"))?;
    if data.claims.reasons.is_empty() {
        return Err(invalid("names no reason"));
    }
    Ok((professional, data.claims.reasons))
}
