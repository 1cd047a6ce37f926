//! Status credentials: a holding's standing at a moment, signed (RS256, `typ: vc+jwt`) as a
//! W3C Verifiable Credential 2.0 shaped as an Open Badges 3.0 `OpenBadgeCredential`, verifiable
//! offline with nothing but `/.well-known/jwks.json`.
//!
//! Each credential is recorded (`issued_credentials`), so its holder can revoke it; the verify
//! route and page consult that record. The payload carries the JWT claims Open Badges asks for
//! beside the VC properties: `iss` = `issuer.id`, `jti` = `id`, `sub` = `credentialSubject.id`,
//! `iat`, `nbf` = `validFrom`, `exp` = `validUntil`.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, SubsecRound, TimeZone, Utc};
use entity::issued_credentials;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::credential_keys::{CREDENTIAL_TYP, CredentialKeys};
use crate::auth::keys::KeyError;
use crate::services::audit::{self, Actor, Event};
use crate::services::holding_facts::{self, HoldingFacts, status_str};
use crate::services::holdings::{self, Holding};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::StandingError;

/// The longest a credential lives; shorter when the holding's cycle ends sooner.
pub const LIFETIME: Duration = Duration::days(30);
/// Clock skew tolerated when judging `exp` and `nbf`.
pub const LEEWAY_SECONDS: i64 = 30;
const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
const OB_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Standing(#[from] StandingError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// Who asked for a credential.
#[derive(Debug, Clone)]
pub enum Requester {
    /// The holder, signed in.
    Professional { user_id: Uuid },
    /// A procurement client, by its `client_id`.
    Client { client_id: String },
}

impl Requester {
    fn recorded(&self) -> String {
        match self {
            Requester::Professional { user_id } => format!("professional:{user_id}"),
            Requester::Client { client_id } => format!("client:{client_id}"),
        }
    }

    fn actor(&self) -> Actor {
        match self {
            Requester::Professional { user_id } => Actor::user(*user_id),
            Requester::Client { client_id } => Actor::client(client_id),
        }
    }
}

/// A credential just signed.
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: Uuid,
    /// The compact JWS.
    pub token: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub facts: HoldingFacts,
}

/// Where a credential's verdict is shown to people: `<public URL>/verify/<token>`.
pub fn verify_page_url(public_url: &url::Url, token: &str) -> String {
    format!(
        "{}/verify/{token}",
        public_url.as_str().trim_end_matches('/')
    )
}

/// The instant a holding stops being valid: the end of its last valid day in the holder's time
/// zone.
fn end_of_day(day: NaiveDate, time_zone: &str) -> Option<DateTime<Utc>> {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
    tz.from_local_datetime(&next)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Signs a credential about `holding` for `requester`, and records it. `name` is the holder's
/// name when they consented to show it to this audience, else `None`; `level` the holding's
/// level on the common ladder, when known.
#[allow(
    clippy::too_many_arguments,
    reason = "each argument is one independent input of the credential"
)]
pub async fn issue(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    keys: &CredentialKeys,
    public_url: &url::Url,
    holding: &Holding,
    requester: Requester,
    name: Option<String>,
    level: Option<String>,
) -> Result<Issued, CredentialError> {
    let facts = holding_facts::of(db, catalog, holding).await?;
    let professional = holdings::professional(db, holding.professional_id)
        .await?
        .ok_or_else(|| {
            DbErr::RecordNotFound(format!("professional {}", holding.professional_id))
        })?;
    let issued_at = Utc::now().trunc_subsecs(0);
    let mut expires_at = issued_at + LIFETIME;
    if let Some(end) = facts
        .valid_until
        .and_then(|day| end_of_day(day, &professional.time_zone))
        && end > issued_at
        && end < expires_at
    {
        expires_at = end;
    }
    let id = Uuid::now_v7();
    let issuer = public_url.as_str().trim_end_matches('/').to_owned();
    let scheme_name = catalog
        .in_force_on(&facts.scheme, issued_at.date_naive())
        .or_else(|| catalog.all().find(|s| s.definition.id == facts.scheme))
        .map(|s| (s.definition.name.en.clone(), s.definition.owner.clone()));
    let claims = payload(&PayloadInput {
        id,
        issuer: &issuer,
        facts: &facts,
        scheme_name: scheme_name.as_ref().map(|(n, _)| n.as_str()),
        scheme_owner: scheme_name.as_ref().map(|(_, o)| o.as_str()),
        name: name.as_deref(),
        level: level.as_deref(),
        issued_at,
        expires_at,
    });
    let token = keys.sign(&claims)?;
    let kid = keys.signing_thumbprint().unwrap_or_default();
    issued_credentials::ActiveModel {
        id: Set(id),
        holding_id: Set(holding.id),
        professional_id: Set(holding.professional_id),
        requested_by: Set(requester.recorded()),
        kid: Set(kid),
        issued_at: Set(issued_at),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        &requester.actor(),
        Event {
            action: "credential.issue",
            subject_kind: "holding",
            subject_id: Some(holding.id.to_string()),
            before: None,
            after: Some(json!({
                "credential": id,
                "expires_at": expires_at,
                "name_disclosed": name.is_some(),
            })),
        },
    )
    .await?;
    Ok(Issued {
        id,
        token,
        issued_at,
        expires_at,
        facts,
    })
}

struct PayloadInput<'a> {
    id: Uuid,
    issuer: &'a str,
    facts: &'a HoldingFacts,
    scheme_name: Option<&'a str>,
    scheme_owner: Option<&'a str>,
    name: Option<&'a str>,
    level: Option<&'a str>,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The identifier of a holding as a credential subject.
fn subject_id(issuer: &str, facts: &HoldingFacts) -> String {
    format!(
        "{issuer}/registry/{}/{}",
        facts.scheme,
        url::form_urlencoded::byte_serialize(facts.registration_number.as_bytes())
            .collect::<String>()
    )
}

fn payload(input: &PayloadInput<'_>) -> Value {
    let facts = input.facts;
    let jti = format!("urn:uuid:{}", input.id);
    let subject = subject_id(input.issuer, facts);
    let scheme_title = input.scheme_name.unwrap_or(&facts.scheme);
    let mut credential_subject = json!({
        "id": subject,
        "type": ["AchievementSubject"],
        "achievement": {
            "id": format!("{}/schemes/{}", input.issuer, facts.scheme),
            "type": ["Achievement"],
            "name": scheme_title,
            "description": format!(
                "Holder of {scheme_title}{}, with continuing education tracked by this ledger.",
                input.scheme_owner.map(|o| format!(" ({o})")).unwrap_or_default()
            ),
            "criteria": {
                "narrative": "Certified by the scheme's owner and kept current by the scheme's continuing-education rules."
            },
        },
        "scheme": facts.scheme,
        "registrationNumber": facts.registration_number,
        "status": status_str(facts.status),
        "standing": facts.state.map(|s| s.as_str()),
        "inGoodStanding": facts.in_good_standing,
        "certificationValidUntil": facts.valid_until.map(|d| d.to_string()),
    });
    if let Some(level) = input.level {
        credential_subject["level"] = Value::from(level);
    }
    if let Some(name) = input.name {
        credential_subject["name"] = Value::from(name);
    }
    json!({
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": jti,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": format!("{scheme_title} {}: {}", facts.registration_number, status_str(facts.status)),
        "issuer": { "id": input.issuer, "type": ["Profile"], "name": "cpe-ledger" },
        "validFrom": rfc3339(input.issued_at),
        "validUntil": rfc3339(input.expires_at),
        "credentialSubject": credential_subject,
        "iss": input.issuer,
        "jti": jti,
        "sub": subject,
        "iat": input.issued_at.timestamp(),
        "nbf": input.issued_at.timestamp(),
        "exp": input.expires_at.timestamp(),
    })
}

/// A credential as its holder lists it.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedRecord {
    pub id: Uuid,
    pub holding_id: Uuid,
    pub scheme: String,
    pub registration_number: String,
    /// `professional` (the holder) or `client` (a procurement system).
    pub requested_by: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

async fn record_of(
    db: &impl ConnectionTrait,
    row: issued_credentials::Model,
) -> Result<IssuedRecord, DbErr> {
    let holding = entity::holdings::Entity::find_by_id(row.holding_id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("holding {}", row.holding_id)))?;
    Ok(IssuedRecord {
        id: row.id,
        holding_id: row.holding_id,
        scheme: holding.scheme_id,
        registration_number: holding.registration_number,
        requested_by: row
            .requested_by
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned(),
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
    })
}

/// Every credential issued about the professional's holdings, newest first.
pub async fn of_professional(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
) -> Result<Vec<IssuedRecord>, DbErr> {
    let rows = issued_credentials::Entity::find()
        .filter(issued_credentials::Column::ProfessionalId.eq(professional_id))
        .order_by_desc(issued_credentials::Column::IssuedAt)
        .order_by_desc(issued_credentials::Column::Id)
        .all(db)
        .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        records.push(record_of(db, row).await?);
    }
    Ok(records)
}

/// Revokes one of the professional's credentials (again: no change). `None` when no credential
/// of theirs has that id.
pub async fn revoke(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    id: Uuid,
    actor: &Actor,
) -> Result<Option<IssuedRecord>, DbErr> {
    let Some(row) = issued_credentials::Entity::find_by_id(id)
        .filter(issued_credentials::Column::ProfessionalId.eq(professional_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row.revoked_at.is_some() {
        return record_of(db, row).await.map(Some);
    }
    let now = Utc::now();
    let mut active: issued_credentials::ActiveModel = row.into();
    active.revoked_at = Set(Some(now));
    let row = active.update(db).await?;
    audit::record(
        db,
        actor,
        Event {
            action: "credential.revoke",
            subject_kind: "credential",
            subject_id: Some(id.to_string()),
            before: Some(json!({ "revoked_at": null })),
            after: Some(json!({ "revoked_at": now })),
        },
    )
    .await?;
    record_of(db, row).await.map(Some)
}

/// A credential's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Signed by this ledger, not revoked, not expired.
    Valid,
    /// Signed by this ledger and not revoked, but past its `exp`.
    Expired,
    /// Signed by this ledger, and revoked by its holder (or unknown to this ledger).
    Revoked,
    /// The signature does not verify with any of this ledger's credential keys.
    Tampered,
    /// Not a credential: not a JWS, not of this kind, or missing what a credential must carry.
    Malformed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Expired => "expired",
            Verdict::Revoked => "revoked",
            Verdict::Tampered => "tampered",
            Verdict::Malformed => "malformed",
        }
    }
}

/// What verification found.
#[derive(Debug, Clone)]
pub struct Verification {
    pub verdict: Verdict,
    /// Why, in a few words (for logs and the API's `reason`).
    pub reason: String,
    /// The verified payload; only when the signature verified.
    pub claims: Option<Value>,
}

impl Verification {
    fn refused(verdict: Verdict, reason: impl Into<String>) -> Self {
        Self {
            verdict,
            reason: reason.into(),
            claims: None,
        }
    }
}

/// Verifies a compact credential: our signature by the `kid` it names, its shape, then the
/// record (revoked?) and the clock (expired?).
pub async fn verify(
    db: &impl ConnectionTrait,
    keys: &CredentialKeys,
    issuer: &str,
    token: &str,
) -> Result<Verification, CredentialError> {
    use jsonwebtoken::errors::ErrorKind;
    use jsonwebtoken::{Algorithm, Validation};

    let token = token.trim();
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Ok(Verification::refused(
            Verdict::Malformed,
            "not a signed JWT",
        ));
    };
    if !matches!(header.typ.as_deref(), Some(CREDENTIAL_TYP | "JWT")) {
        return Ok(Verification::refused(
            Verdict::Malformed,
            "not a credential (typ)",
        ));
    }
    if header.alg != Algorithm::RS256 {
        return Ok(Verification::refused(
            Verdict::Tampered,
            "not signed with this ledger's credential algorithm (RS256)",
        ));
    }
    let Some(kid) = header.kid.as_deref() else {
        return Ok(Verification::refused(Verdict::Tampered, "names no key"));
    };
    let Some(key) = keys.verifying_key(db, kid).await? else {
        return Ok(Verification::refused(
            Verdict::Tampered,
            "names a key this ledger does not publish",
        ));
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["iss", "sub", "jti", "iat", "nbf", "exp"]);
    validation.set_issuer(&[issuer]);
    validation.validate_exp = false;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.leeway = LEEWAY_SECONDS as u64;
    let claims = match jsonwebtoken::decode::<Value>(token, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            let verdict = match e.kind() {
                ErrorKind::InvalidSignature => Verdict::Tampered,
                _ => Verdict::Malformed,
            };
            return Ok(Verification::refused(verdict, e.to_string()));
        }
    };
    let jti = claims["jti"].as_str().unwrap_or_default();
    let shaped = claims["id"].as_str() == Some(jti)
        && claims["issuer"]["id"].as_str() == Some(issuer)
        && claims["credentialSubject"]["id"] == claims["sub"];
    let Some(id) = jti
        .strip_prefix("urn:uuid:")
        .and_then(|u| Uuid::parse_str(u).ok())
        .filter(|_| shaped)
    else {
        return Ok(Verification::refused(
            Verdict::Malformed,
            "its claims do not match its credential properties",
        ));
    };
    let record = issued_credentials::Entity::find_by_id(id).one(db).await?;
    let verdict = match record {
        None => (Verdict::Revoked, "this ledger has no record of it"),
        Some(row) if row.revoked_at.is_some() => (Verdict::Revoked, "revoked by its holder"),
        Some(_) => {
            let exp = claims["exp"].as_i64().unwrap_or(i64::MIN);
            if exp + LEEWAY_SECONDS <= Utc::now().timestamp() {
                (Verdict::Expired, "past its expiry")
            } else {
                (Verdict::Valid, "verified")
            }
        }
    };
    Ok(Verification {
        verdict: verdict.0,
        reason: verdict.1.to_owned(),
        claims: Some(claims),
    })
}
