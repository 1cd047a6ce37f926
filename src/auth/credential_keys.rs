//! The key that signs status credentials: RSA 2048 with RS256, the algorithm every Open Badges
//! 3.0 verifier must accept, beside the Ed25519 keys that sign access tokens.
//!
//! It lives in `signing_keys` (algorithm `RS256`) and is generated on the first run against a
//! database. [`rotate`] adds a new one and retires the previous: the new key signs from then on
//! (every serving instance re-reads the keys with the token keys, see
//! `tokens::refresh_periodically`), and a retired key stays published in the JWKS, and keeps
//! verifying here, for [`keys::PUBLISH_AFTER_RETIREMENT`], far beyond the life of any credential
//! it signed. Its stored `kid` is the RFC 7638 thumbprint; credentials and the JWKS
//! name it by a URL into the key set, `<public URL>/.well-known/jwks.json#<thumbprint>`, so the
//! `kid` dereferences to the key.

use std::collections::HashMap;
use std::sync::RwLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use entity::signing_keys::{self, SigningAlgorithm};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;

use crate::auth::keys::{self, KeyError};

/// The JWT `typ` of a status credential (VC-JOSE-COSE).
pub const CREDENTIAL_TYP: &str = "vc+jwt";
/// Modulus size of a new credential key.
pub const RSA_BITS: usize = 2048;
const JWKS_PATH: &str = "/.well-known/jwks.json";

/// `kid` of a credential key as credentials and the JWKS name it: a URL into the key set.
pub fn kid_url(public_url: &url::Url, thumbprint: &str) -> String {
    format!(
        "{}{JWKS_PATH}#{thumbprint}",
        public_url.as_str().trim_end_matches('/')
    )
}

/// The thumbprint a `kid` URL of this deployment names; `None` for any other `kid`.
pub fn thumbprint_of<'a>(public_url: &url::Url, kid: &'a str) -> Option<&'a str> {
    let prefix = kid_url(public_url, "");
    kid.strip_prefix(prefix.as_str()).filter(|t| !t.is_empty())
}

/// The newest unretired credential key; created (2048-bit RSA) when there is none.
pub async fn ensure_credential_key(
    db: &impl ConnectionTrait,
) -> Result<signing_keys::Model, KeyError> {
    if let Some(key) = active_credential_key(db).await? {
        return Ok(key);
    }
    let model = tokio::task::spawn_blocking(new_key)
        .await
        .map_err(|e| KeyError::Encode(e.to_string()))??;
    Ok(model.insert(db).await?)
}

/// Adds a new credential key (2048-bit RSA) and retires every previous one, in one
/// transaction. Retired keys stay published, and verify the credentials they signed, for
/// [`keys::PUBLISH_AFTER_RETIREMENT`].
pub async fn rotate(db: &DatabaseConnection) -> Result<signing_keys::Model, KeyError> {
    let model = tokio::task::spawn_blocking(new_key)
        .await
        .map_err(|e| KeyError::Encode(e.to_string()))??;
    let txn = crate::services::begin_write(db).await?;
    let now = Utc::now();
    let previous = signing_keys::Entity::find()
        .filter(signing_keys::Column::Algorithm.eq(SigningAlgorithm::Rs256))
        .filter(signing_keys::Column::RetiredAt.is_null())
        .all(&txn)
        .await?;
    let created = model.insert(&txn).await?;
    for key in previous {
        let mut retired: signing_keys::ActiveModel = key.into();
        retired.retired_at = Set(Some(now));
        retired.publish_until = Set(Some(now + keys::PUBLISH_AFTER_RETIREMENT));
        retired.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(created)
}

async fn active_credential_key(
    db: &impl ConnectionTrait,
) -> Result<Option<signing_keys::Model>, KeyError> {
    Ok(signing_keys::Entity::find()
        .filter(signing_keys::Column::Algorithm.eq(SigningAlgorithm::Rs256))
        .filter(signing_keys::Column::RetiredAt.is_null())
        .order_by_desc(signing_keys::Column::CreatedAt)
        .one(db)
        .await?)
}

/// Credential keys that may still verify: unretired, or retired and still published.
async fn verifying_credential_keys(
    db: &impl ConnectionTrait,
) -> Result<HashMap<String, DecodingKey>, KeyError> {
    let now = Utc::now();
    let stored = signing_keys::Entity::find()
        .filter(signing_keys::Column::Algorithm.eq(SigningAlgorithm::Rs256))
        .all(db)
        .await?;
    let mut verifying = HashMap::new();
    for key in stored {
        if key.publish_until.is_some_and(|until| until <= now) {
            continue;
        }
        let jwk = keys::public_jwk(&key)?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError::Stored {
            kid: key.kid.clone(),
            reason: e.to_string(),
        })?;
        verifying.insert(key.kid, decoding);
    }
    Ok(verifying)
}

/// Generates the key pair: CPU work, run off the async workers.
fn new_key() -> Result<signing_keys::ActiveModel, KeyError> {
    let encode = |e: &dyn std::fmt::Display| KeyError::Encode(e.to_string());
    let private =
        rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS).map_err(|e| encode(&e))?;
    let pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| encode(&e))?;
    let public = private.to_public_key();
    let mut jwk: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        "alg": "RS256",
        "use": "sig",
    }))
    .map_err(|e| encode(&e))?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| encode(&e))?;
    jwk.common.key_id = Some(kid.clone());
    let public_jwk = serde_json::to_value(&jwk).map_err(|e| encode(&e))?;
    Ok(signing_keys::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        kid: Set(kid),
        algorithm: Set(SigningAlgorithm::Rs256),
        private_key_pem: Set(pem.to_string()),
        public_jwk: Set(public_jwk),
        created_at: Set(Utc::now()),
        retired_at: Set(None),
        publish_until: Set(None),
    })
}

async fn loaded(db: &impl ConnectionTrait) -> Result<Loaded, KeyError> {
    let active = ensure_credential_key(db).await?;
    let signing = EncodingKey::from_rsa_pem(active.private_key_pem.as_bytes()).map_err(|e| {
        KeyError::Stored {
            kid: active.kid.clone(),
            reason: e.to_string(),
        }
    })?;
    let verifying = verifying_credential_keys(db).await?;
    Ok(Loaded {
        kid: active.kid,
        signing,
        verifying,
    })
}

struct Loaded {
    /// Thumbprint of the signing key.
    kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
}

/// The credential key in memory: signs new credentials, and finds the key that verifies one.
/// A credential naming a key this instance has not loaded (another instance created it) makes
/// it re-read the keys once.
pub struct CredentialKeys {
    public_url: url::Url,
    loaded: RwLock<Loaded>,
}

impl CredentialKeys {
    /// Makes sure a credential key exists (creating it on first run) and loads the keys.
    pub async fn load(db: &impl ConnectionTrait, public_url: url::Url) -> Result<Self, KeyError> {
        Ok(Self {
            public_url,
            loaded: RwLock::new(loaded(db).await?),
        })
    }

    /// Re-reads the keys (after a rotation): the newest unretired key signs from now on.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<(), KeyError> {
        let fresh = loaded(db).await?;
        if let Ok(mut guard) = self.loaded.write() {
            *guard = fresh;
        }
        Ok(())
    }

    /// The thumbprint of the key new credentials are signed with.
    pub fn signing_thumbprint(&self) -> Option<String> {
        self.loaded.read().ok().map(|l| l.kid.clone())
    }

    /// The `kid` new credentials carry (a URL into the JWKS).
    pub fn signing_kid(&self) -> Option<String> {
        self.signing_thumbprint()
            .map(|t| kid_url(&self.public_url, &t))
    }

    /// Signs `claims` as a `vc+jwt` with RS256 and the `kid` URL of the current key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let guard = self
            .loaded
            .read()
            .map_err(|_| KeyError::Encode("credential key unavailable".to_owned()))?;
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(CREDENTIAL_TYP.to_owned());
        header.kid = Some(kid_url(&self.public_url, &guard.kid));
        jsonwebtoken::encode(&header, claims, &guard.signing)
            .map_err(|e| KeyError::Encode(e.to_string()))
    }

    /// The key a credential's `kid` names, if it is one of ours.
    pub async fn verifying_key(
        &self,
        db: &impl ConnectionTrait,
        kid: &str,
    ) -> Result<Option<DecodingKey>, KeyError> {
        let Some(thumbprint) = thumbprint_of(&self.public_url, kid) else {
            return Ok(None);
        };
        let cached = |this: &Self| {
            this.loaded
                .read()
                .ok()
                .and_then(|l| l.verifying.get(thumbprint).cloned())
        };
        if let Some(key) = cached(self) {
            return Ok(Some(key));
        }
        let fresh = verifying_credential_keys(db).await?;
        if !fresh.contains_key(thumbprint) {
            return Ok(None);
        }
        if let Ok(mut guard) = self.loaded.write() {
            guard.verifying = fresh;
        }
        Ok(cached(self))
    }
}
