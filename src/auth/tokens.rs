//! Access tokens: short-lived EdDSA JWTs for professionals, admins and machine clients.
//!
//! Verification is strict by construction: the algorithm is pinned to EdDSA (so `none`,
//! HS256-with-the-public-key and any other family are refused before a signature is checked),
//! the key comes only from our own key ring by `kid`, `exp`, `nbf`, `iat`, `iss`, `aud` and `sub`
//! are required, `nbf` is enforced, and the token's kind (`typ` header and `token_use` claim)
//! must match what the route expects.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

use sha2::Digest;

use crate::auth::keys::{self, KeyError};

/// JWT `typ` header of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The audience every access token names; other audiences are refused.
pub const AUDIENCE: &str = "cpe-ledger-api";
/// How long an access token lives. Disabling an account or client also stops its tokens
/// at once (checked on every request), so this bounds only what a stolen token can do.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// Clock skew tolerated on `exp`/`nbf`.
pub const LEEWAY_SECONDS: u64 = 30;

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenUse {
    /// A person who logged in: a professional or the certification body's staff.
    User,
    /// A machine client (provider or procurement system) after the client-credentials grant.
    Client,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// User id or client id.
    pub sub: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    pub token_use: TokenUse,
    /// Space-separated scopes (clients) or the role (users: `professional` or `admin`).
    pub scope: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token names no key or an unknown key")]
    UnknownKey,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("the token is of the wrong kind for this route")]
    WrongUse,
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// A key that may verify access tokens, and until when.
struct Verifying {
    key: DecodingKey,
    /// `None` while the key signs; for a retired key, the end of the life of the last token it
    /// can have signed (see [`KeyRing::access_token_window`]).
    trusted_until: Option<chrono::DateTime<Utc>>,
}

struct Loaded {
    kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, Verifying>,
    loaded_at: Instant,
}

/// The signing key and the keys that verify access tokens, cached in memory. Every instance
/// re-reads them from the database every `refresh` interval (see [`KeyRing::refresh_every`]), so
/// a rotation reaches all of them within that time, and at most once per
/// [`UNKNOWN_KID_RELOAD_INTERVAL`] when a token names a key not seen yet.
///
/// A retired key verifies access tokens only for as long as a token it signed can live:
/// [`ACCESS_TOKEN_TTL`] after the last moment an instance may still have signed with it (its
/// retirement plus one refresh interval), plus the clock leeway. The JWKS keeps publishing retired
/// keys longer (see [`keys::PUBLISH_AFTER_RETIREMENT`]) for offline verifiers of long-lived signed
/// statements; that publication does not make them valid for access tokens here.
pub struct KeyRing {
    issuer: String,
    refresh: Duration,
    loaded: RwLock<Loaded>,
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

/// A token whose signature and claims were checked, remembered by its SHA-256 so that a
/// client sending the same token again (as it does for its token's whole life) is not checked
/// from scratch. What can change after the first check is checked again on every use: the
/// expiry (with the leeway) and whether the signing key still verifies access tokens.
#[derive(Clone)]
struct Verified {
    kid: String,
    claims: AccessClaims,
}

/// Verified tokens remembered at once; the memory is emptied when it is full.
const VERIFIED_TOKENS: usize = 4_096;

/// An unknown `kid` triggers at most one reload per this interval.
const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

impl KeyRing {
    /// Loads the keys; `refresh` is how often the running server re-reads them.
    pub async fn load(
        db: &impl ConnectionTrait,
        issuer: String,
        refresh: Duration,
    ) -> Result<Self, TokenError> {
        let loaded = load(db, access_token_window(refresh)).await?;
        Ok(Self {
            issuer,
            refresh,
            loaded: RwLock::new(loaded),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// How often the running server re-reads the key set.
    pub fn refresh_every(&self) -> Duration {
        self.refresh
    }

    /// How long after its retirement a key still verifies access tokens.
    pub fn access_token_window(&self) -> Duration {
        access_token_window(self.refresh)
    }

    /// The `kid` new tokens are signed with.
    pub fn signing_kid(&self) -> Option<String> {
        self.loaded.read().ok().map(|l| l.kid.clone())
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Re-reads the keys (after a rotation).
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<(), TokenError> {
        let fresh = load(db, self.access_token_window()).await?;
        if let Ok(mut guard) = self.loaded.write() {
            *guard = fresh;
        }
        Ok(())
    }

    /// Signs an access token for `sub`.
    pub fn issue(
        &self,
        token_use: TokenUse,
        sub: &str,
        scope: &str,
    ) -> Result<(String, i64), TokenError> {
        let now = Utc::now().timestamp();
        let ttl = ACCESS_TOKEN_TTL.as_secs() as i64;
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: sub.to_owned(),
            exp: now + ttl,
            nbf: now,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            token_use,
            scope: scope.to_owned(),
        };
        Ok((self.sign(ACCESS_TOKEN_TYP, &claims)?, ttl))
    }

    /// Signs `claims` as a JWT of type `typ` with the current key, for tokens other than access
    /// tokens (their verifier names the type it accepts, so one kind never passes as another).
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, TokenError> {
        let guard = self
            .loaded
            .read()
            .map_err(|_| TokenError::Invalid("key ring unavailable".to_owned()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(typ.to_owned());
        header.kid = Some(guard.kid.clone());
        jsonwebtoken::encode(&header, claims, &guard.signing)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Verifies a token and checks it is of the expected use.
    pub async fn verify(
        &self,
        db: &impl ConnectionTrait,
        token: &str,
        expected: TokenUse,
    ) -> Result<AccessClaims, TokenError> {
        let claims = self.verify_any_use(db, token).await?;
        if claims.token_use != expected {
            return Err(TokenError::WrongUse);
        }
        Ok(claims)
    }

    /// Verifies a token of either use; the caller decides what each use may do.
    pub async fn verify_any_use(
        &self,
        db: &impl ConnectionTrait,
        token: &str,
    ) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(TokenError::WrongUse);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let stale = self.may_reload(self.refresh);
        if stale {
            // The background refresh has not run (a process that does not serve): catch up.
            self.reload(db).await?;
        }
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.remembered(&digest) {
            return Ok(claims);
        }
        let key = match self.verifying_key(&kid) {
            Some(key) => key,
            None => {
                if !stale && self.may_reload(UNKNOWN_KID_RELOAD_INTERVAL) {
                    self.reload(db).await?;
                }
                self.verifying_key(&kid).ok_or(TokenError::UnknownKey)?
            }
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        self.remember(digest, &kid, &data.claims);
        Ok(data.claims)
    }

    /// The claims of a token verified before, if it has not expired since and its key still
    /// verifies access tokens.
    fn remembered(&self, digest: &[u8; 32]) -> Option<AccessClaims> {
        let found = self.verified.lock().ok()?.get(digest).cloned()?;
        let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(0);
        if found.claims.exp + leeway <= Utc::now().timestamp() {
            if let Ok(mut verified) = self.verified.lock() {
                verified.remove(digest);
            }
            return None;
        }
        self.verifying_key(&found.kid)?;
        Some(found.claims)
    }

    fn remember(&self, digest: [u8; 32], kid: &str, claims: &AccessClaims) {
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= VERIFIED_TOKENS {
                verified.clear();
            }
            verified.insert(
                digest,
                Verified {
                    kid: kid.to_owned(),
                    claims: claims.clone(),
                },
            );
        }
    }

    /// The key for `kid`, if it may still verify access tokens now.
    fn verifying_key(&self, kid: &str) -> Option<DecodingKey> {
        let loaded = self.loaded.read().ok()?;
        let verifying = loaded.verifying.get(kid)?;
        match verifying.trusted_until {
            Some(until) if until <= Utc::now() => None,
            _ => Some(verifying.key.clone()),
        }
    }

    fn may_reload(&self, interval: Duration) -> bool {
        self.loaded
            .read()
            .map(|l| l.loaded_at.elapsed() >= interval)
            .unwrap_or(false)
    }
}

/// Re-reads the key set, token and credential keys both, every `refresh` interval, for as long
/// as the server runs.
pub async fn refresh_periodically(state: crate::app::AppState) {
    let mut ticker = tokio::time::interval(state.keys.refresh_every());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(e) = state.keys.reload(&state.db).await {
            tracing::warn!(error = %e, "re-reading the signing keys failed; keeping the ones loaded");
        }
        if let Err(e) = state.credential_keys.reload(&state.db).await {
            tracing::warn!(error = %e, "re-reading the credential keys failed; keeping the ones loaded");
        }
    }
}

/// How long after retirement a key verifies access tokens: another instance may sign with it for
/// up to one refresh interval after the rotation, and such a token lives [`ACCESS_TOKEN_TTL`].
fn access_token_window(refresh: Duration) -> Duration {
    ACCESS_TOKEN_TTL + refresh + Duration::from_secs(LEEWAY_SECONDS)
}

async fn load(db: &impl ConnectionTrait, window: Duration) -> Result<Loaded, TokenError> {
    let active = keys::ensure_signing_key(db).await?;
    let signing = keys::encoding_key(&active)?;
    let window = chrono::TimeDelta::from_std(window)
        .map_err(|e| TokenError::Invalid(format!("key verification window: {e}")))?;
    let mut verifying = HashMap::new();
    for stored in keys::verifying_keys(db).await? {
        let trusted_until = stored.retired_at.map(|retired| retired + window);
        if trusted_until.is_some_and(|until| until <= Utc::now()) {
            continue;
        }
        let jwk = keys::public_jwk(&stored)?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError::Stored {
            kid: stored.kid.clone(),
            reason: e.to_string(),
        })?;
        verifying.insert(stored.kid, Verifying { key, trusted_until });
    }
    Ok(Loaded {
        kid: active.kid,
        signing,
        verifying,
        loaded_at: Instant::now(),
    })
}
