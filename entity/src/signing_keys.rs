//! A key that signs access tokens and status credentials.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// JWS algorithm of a signing key (stored with its JOSE name).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SigningAlgorithm {
    #[sea_orm(string_value = "EdDSA")]
    #[serde(rename = "EdDSA")]
    EdDsa,
    #[sea_orm(string_value = "ES256")]
    #[serde(rename = "ES256")]
    Es256,
    #[sea_orm(string_value = "RS256")]
    #[serde(rename = "RS256")]
    Rs256,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(128))", unique)]
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    /// PKCS#8 PEM; never serialized.
    #[sea_orm(column_type = "Text")]
    #[serde(skip_serializing, default)]
    pub private_key_pem: String,
    /// The public half as a JWK, as published in the JWKS.
    #[sea_orm(column_type = "Json")]
    pub public_jwk: Json,
    pub created_at: DateTimeUtc,
    /// No longer used to sign from this instant.
    pub retired_at: Option<DateTimeUtc>,
    /// Kept in the JWKS until this instant (after its last token expires).
    pub publish_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
