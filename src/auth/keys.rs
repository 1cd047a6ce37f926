//! Token signing keys. Each key is an Ed25519 pair with a `kid` equal to its RFC 7638
//! thumbprint. (The RS256 key that signs status credentials shares the table and the JWKS; see
//! `credential_keys`. Everything here about signing, rotating and verifying concerns the
//! Ed25519 token keys only.) The newest unretired key signs. A retired key verifies access tokens only for as
//! long as the tokens it signed live (see `tokens::KeyRing`); it stays in the published JWKS
//! until its `publish_until`, for offline verifiers of longer-lived signed statements.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use entity::signing_keys;
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

/// How long a retired key stays in the JWKS: as long as a signed statement (not an access token)
/// may need verifying offline. Access tokens are checked against a much shorter window.
pub const PUBLISH_AFTER_RETIREMENT: Duration = Duration::days(400);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error("cannot encode a new signing key: {0}")]
    Encode(String),
    #[error("stored signing key {kid} is unusable: {reason}")]
    Stored { kid: String, reason: String },
    #[error("no signing key has the kid {0:?}; the JWKS (/.well-known/jwks.json) lists the kids")]
    UnknownKid(String),
    #[error(
        "{0} is the active signing key; run `cpe-ledger admin rotate-keys` first, then distrust it"
    )]
    StillActive(String),
}

/// Makes sure one active key exists; creates it on first run.
pub async fn ensure_signing_key(
    db: &impl ConnectionTrait,
) -> Result<signing_keys::Model, KeyError> {
    match active_key(db).await? {
        Some(key) => Ok(key),
        None => create_key(db).await,
    }
}

/// The newest token key that has not been retired.
pub async fn active_key(
    db: &impl ConnectionTrait,
) -> Result<Option<signing_keys::Model>, KeyError> {
    Ok(signing_keys::Entity::find()
        .filter(signing_keys::Column::Algorithm.eq(signing_keys::SigningAlgorithm::EdDsa))
        .filter(signing_keys::Column::RetiredAt.is_null())
        .order_by_desc(signing_keys::Column::CreatedAt)
        .one(db)
        .await?)
}

/// Adds a new key and retires the previous ones (they stay published for a while).
pub async fn rotate(db: &impl ConnectionTrait) -> Result<signing_keys::Model, KeyError> {
    let now = Utc::now();
    let previous = signing_keys::Entity::find()
        .filter(signing_keys::Column::Algorithm.eq(signing_keys::SigningAlgorithm::EdDsa))
        .filter(signing_keys::Column::RetiredAt.is_null())
        .all(db)
        .await?;
    let new_key = create_key(db).await?;
    for key in previous {
        let mut active: signing_keys::ActiveModel = key.into();
        active.retired_at = Set(Some(now));
        active.publish_until = Set(Some(now + PUBLISH_AFTER_RETIREMENT));
        active.update(db).await?;
    }
    Ok(new_key)
}

/// Distrusts a leaked key at once: it leaves the JWKS, and every token or credential it signed
/// is refused (by running instances once they re-read their keys, within
/// `CPE_LEDGER_KEY_REFRESH_INTERVAL`). Only a retired key can be distrusted, so that something
/// always signs. `kid` is a token key's kid, or a credential key's kid as a credential names it
/// (the JWKS URL form, from any instance) or its bare thumbprint. Distrusting a key twice changes nothing.
pub async fn distrust(
    db: &impl ConnectionTrait,
    kid: &str,
) -> Result<signing_keys::Model, KeyError> {
    // A credential key's kid is `<JWKS URL>#<thumbprint>`, with whatever public URL the
    // instance it was copied from has; the thumbprint is what is stored.
    let stored_kid = kid
        .rsplit_once('#')
        .map_or(kid, |(_, thumbprint)| thumbprint);
    let key = signing_keys::Entity::find()
        .filter(signing_keys::Column::Kid.eq(stored_kid))
        .one(db)
        .await?
        .ok_or_else(|| KeyError::UnknownKid(kid.to_owned()))?;
    if key.retired_at.is_none() {
        return Err(KeyError::StillActive(key.kid));
    }
    let now = Utc::now();
    if key.publish_until.is_some_and(|until| until <= now) {
        return Ok(key);
    }
    let mut active: signing_keys::ActiveModel = key.into();
    active.publish_until = Set(Some(now));
    Ok(active.update(db).await?)
}

/// Public keys to publish: the active keys (token and credential) and retired keys still inside
/// their window. A credential key is published under the `kid` its credentials name, a URL
/// into this key set (see `credential_keys::kid_url`), built from `public_url`.
pub async fn published_keys(
    db: &impl ConnectionTrait,
    public_url: &url::Url,
) -> Result<Vec<Jwk>, KeyError> {
    let now = Utc::now();
    let keys = signing_keys::Entity::find()
        .order_by_desc(signing_keys::Column::CreatedAt)
        .all(db)
        .await?;
    keys.into_iter()
        .filter(|k| k.publish_until.is_none_or(|until| until > now))
        .map(|k| {
            let mut jwk = public_jwk(&k)?;
            if k.algorithm == signing_keys::SigningAlgorithm::Rs256 {
                jwk.common.key_id = Some(crate::auth::credential_keys::kid_url(public_url, &k.kid));
            }
            Ok(jwk)
        })
        .collect()
}

/// Token keys that may still verify something: unretired, or retired and still published. The
/// caller narrows this to what it accepts.
pub async fn verifying_keys(
    db: &impl ConnectionTrait,
) -> Result<Vec<signing_keys::Model>, KeyError> {
    let now = Utc::now();
    Ok(signing_keys::Entity::find()
        .filter(signing_keys::Column::Algorithm.eq(signing_keys::SigningAlgorithm::EdDsa))
        .order_by_desc(signing_keys::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .filter(|k| k.publish_until.is_none_or(|until| until > now))
        .collect())
}

/// The public half of a stored key, as published.
pub fn public_jwk(key: &signing_keys::Model) -> Result<Jwk, KeyError> {
    serde_json::from_value::<Jwk>(key.public_jwk.clone()).map_err(|e| KeyError::Stored {
        kid: key.kid.clone(),
        reason: e.to_string(),
    })
}

/// The signing half of a stored key.
pub fn encoding_key(key: &signing_keys::Model) -> Result<EncodingKey, KeyError> {
    EncodingKey::from_ed_pem(key.private_key_pem.as_bytes()).map_err(|e| KeyError::Stored {
        kid: key.kid.clone(),
        reason: e.to_string(),
    })
}

async fn create_key(db: &impl ConnectionTrait) -> Result<signing_keys::Model, KeyError> {
    let secret: [u8; 32] = rand::random();
    let signing = SigningKey::from_bytes(&secret);
    let pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode(e.to_string()))?;
    // RFC 8037 OKP key; built by hand because the library's helper only reads PKCS#8 v1
    // documents, and ours carry the public key (v2).
    let public = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
    let mut jwk: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "x": public, "alg": "EdDSA", "use": "sig",
    }))
    .map_err(|e| KeyError::Encode(e.to_string()))?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| KeyError::Encode(e.to_string()))?;
    jwk.common.key_id = Some(kid.clone());
    let public_jwk = serde_json::to_value(&jwk).map_err(|e| KeyError::Encode(e.to_string()))?;
    let model = signing_keys::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        kid: Set(kid),
        algorithm: Set(signing_keys::SigningAlgorithm::EdDsa),
        private_key_pem: Set(pem.to_string()),
        public_jwk: Set(public_jwk),
        created_at: Set(Utc::now()),
        retired_at: Set(None),
        publish_until: Set(None),
    };
    Ok(model.insert(db).await?)
}
