//! Evidence files: a certificate of completion or an attendance record a professional attaches
//! to a self-reported credit.
//!
//! A file is a PDF, PNG or JPEG of at most [`MAX_BYTES`]. Its type is read from its content
//! (its magic bytes), never from its name or the declared content type; a name or a declared
//! type that says otherwise is refused as a lie, so a reviewer never opens something that is
//! not what it claims to be. A refused file leaves nothing behind. The bytes are stored in the
//! database with their SHA-256, size and type, so every instance reads them and a database
//! backup holds them.

use chrono::Utc;
use entity::evidence;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::services::audit::{self, Actor, Event};

/// Largest evidence file: 5 MiB.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// Longest file name kept (longer names are cut).
const MAX_NAME: usize = 255;

/// The types accepted, with the file name extensions that may name them.
const ACCEPTED: [(&str, &[&str]); 3] = [
    ("application/pdf", &["pdf"]),
    ("image/png", &["png"]),
    ("image/jpeg", &["jpg", "jpeg"]),
];

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("the file is larger than {} bytes (5 MiB)", MAX_BYTES)]
    TooLarge,
    #[error("the file is empty")]
    Empty,
    /// The content is not a PDF, PNG or JPEG.
    #[error("the file is not a PDF, PNG or JPEG: its content reads as {0}")]
    UnsupportedType(String),
    /// The name or the declared type says something other than the content.
    #[error("{field}: {message}")]
    Mismatch {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What is known of a stored file, without its bytes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct EvidenceMeta {
    pub id: Uuid,
    /// The type read from the content: `application/pdf`, `image/png` or `image/jpeg`.
    pub media_type: String,
    pub size_bytes: i64,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    pub file_name: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
}

/// What the uploader said about the file, checked against its content.
#[derive(Debug, Clone, Default)]
pub struct Declared<'a> {
    pub file_name: Option<&'a str>,
    /// The content type sent with it (a header or a multipart part's type).
    pub content_type: Option<&'a str>,
}

/// The accepted type of `bytes`, read from their content, checked against what was declared.
pub fn check(bytes: &[u8], declared: &Declared<'_>) -> Result<&'static str, EvidenceError> {
    if bytes.len() > MAX_BYTES {
        return Err(EvidenceError::TooLarge);
    }
    if bytes.is_empty() {
        return Err(EvidenceError::Empty);
    }
    let detected = infer::get(bytes);
    let Some((media_type, extensions)) = detected
        .and_then(|kind| ACCEPTED.iter().find(|(m, _)| *m == kind.mime_type()))
        .copied()
    else {
        return Err(EvidenceError::UnsupportedType(detected.map_or_else(
            || "an unknown type".to_owned(),
            |k| k.mime_type().to_owned(),
        )));
    };
    let label = label(media_type);
    if let Some(name) = declared.file_name
        && name.chars().count() > MAX_NAME
    {
        return Err(EvidenceError::Mismatch {
            field: "file_name",
            message: format!("a file name has at most {MAX_NAME} characters"),
        });
    }
    if let Some(name) = declared.file_name.filter(|n| !n.trim().is_empty())
        && let Some((_, extension)) = name.trim().rsplit_once('.')
    {
        let extension = extension.to_ascii_lowercase();
        if !extensions.contains(&extension.as_str()) {
            return Err(EvidenceError::Mismatch {
                field: "file_name",
                message: format!(
                    "the name '{name}' says .{extension}, but the content is a {label}; \
                     rename the file or send the right one"
                ),
            });
        }
    }
    if let Some(declared_type) = declared.content_type {
        let essence = declared_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let neutral = essence.is_empty() || essence == "application/octet-stream";
        if !neutral && essence != media_type {
            return Err(EvidenceError::Mismatch {
                field: "content-type",
                message: format!(
                    "the file was sent as {essence}, but its content is a {label} ({media_type})"
                ),
            });
        }
    }
    Ok(media_type)
}

fn label(media_type: &str) -> &'static str {
    match media_type {
        "application/pdf" => "PDF",
        "image/png" => "PNG image",
        _ => "JPEG image",
    }
}

/// Checks and stores one file for `professional_id`, audit-logged.
pub async fn store(
    db: &DatabaseConnection,
    actor: &Actor,
    professional_id: Uuid,
    bytes: Vec<u8>,
    declared: Declared<'_>,
) -> Result<EvidenceMeta, EvidenceError> {
    let media_type = check(&bytes, &declared)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let file_name = declared
        .file_name
        .map(|n| {
            // Only the last path component, and no control characters.
            let base = n.rsplit(['/', '\\']).next().unwrap_or(n);
            base.chars()
                .filter(|c| !c.is_control())
                .take(MAX_NAME)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty());
    let size_bytes = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let txn = super::begin_write(db).await?;
    let row = evidence::ActiveModel {
        id: Set(Uuid::now_v7()),
        professional_id: Set(professional_id),
        media_type: Set(media_type.to_owned()),
        size_bytes: Set(size_bytes),
        sha256: Set(sha256),
        file_name: Set(file_name),
        content: Set(bytes),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let meta = meta_of(&row);
    audit::record(
        &txn,
        actor,
        Event {
            action: "evidence.uploaded",
            subject_kind: "evidence",
            subject_id: Some(row.id.to_string()),
            before: None,
            after: Some(serde_json::json!({
                "professional_id": professional_id,
                "media_type": meta.media_type,
                "size_bytes": meta.size_bytes,
                "sha256": meta.sha256,
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(meta)
}

pub fn meta_of(row: &evidence::Model) -> EvidenceMeta {
    EvidenceMeta {
        id: row.id,
        media_type: row.media_type.clone(),
        size_bytes: row.size_bytes,
        sha256: row.sha256.clone(),
        file_name: row.file_name.clone(),
        created_at: row.created_at,
    }
}

/// The file with its bytes: the owner's when `owner` is given (another's is not found), any
/// for staff (`owner = None`).
pub async fn file(
    db: &impl ConnectionTrait,
    owner: Option<Uuid>,
    id: Uuid,
) -> Result<Option<evidence::Model>, DbErr> {
    let mut query = evidence::Entity::find_by_id(id);
    if let Some(owner) = owner {
        query = query.filter(evidence::Column::ProfessionalId.eq(owner));
    }
    query.one(db).await
}

/// The columns of [`EvidenceMeta`], in its order.
type MetaRow = (
    Uuid,
    String,
    i64,
    String,
    Option<String>,
    chrono::DateTime<Utc>,
);

/// What is known of the files `ids`, without reading their bytes.
pub async fn metas(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<EvidenceMeta>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<MetaRow> = evidence::Entity::find()
        .select_only()
        .columns([
            evidence::Column::Id,
            evidence::Column::MediaType,
            evidence::Column::SizeBytes,
            evidence::Column::Sha256,
            evidence::Column::FileName,
            evidence::Column::CreatedAt,
        ])
        .filter(evidence::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, media_type, size_bytes, sha256, file_name, created_at)| EvidenceMeta {
                id,
                media_type,
                size_bytes,
                sha256,
                file_name,
                created_at,
            },
        )
        .collect())
}

/// What is known of `id` when it is a file of `owner`'s.
pub async fn owned_by(
    db: &impl ConnectionTrait,
    owner: Uuid,
    id: Uuid,
) -> Result<Option<EvidenceMeta>, DbErr> {
    let found = metas(db, &[id]).await?.into_iter().next();
    let own: Option<(Uuid,)> = evidence::Entity::find_by_id(id)
        .select_only()
        .column(evidence::Column::Id)
        .filter(evidence::Column::ProfessionalId.eq(owner))
        .into_tuple()
        .one(db)
        .await?;
    Ok(found.filter(|_| own.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const PDF: &[u8] =
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

    fn named<'a>(name: &'a str, content_type: Option<&'a str>) -> Declared<'a> {
        Declared {
            file_name: Some(name),
            content_type,
        }
    }

    #[test]
    fn the_type_is_read_from_the_content_and_an_honest_name_or_type_passes() {
        assert_eq!(
            check(PDF, &Declared::default()).ok(),
            Some("application/pdf")
        );
        assert_eq!(
            check(PNG, &named("certificate.PNG", Some("image/png"))).ok(),
            Some("image/png")
        );
        assert_eq!(
            check(PDF, &named("修了証", Some("application/octet-stream"))).ok(),
            Some("application/pdf")
        );
    }

    #[test]
    fn a_name_or_a_declared_type_that_lies_about_the_content_is_refused_naming_it() {
        let lie = check(PNG, &named("certificate.pdf", None));
        assert!(
            matches!(&lie, Err(EvidenceError::Mismatch { field: "file_name", message }) if message.contains("PNG")),
            "{lie:?}"
        );
        let lie = check(PDF, &named("scan.png", Some("application/pdf")));
        assert!(matches!(
            lie,
            Err(EvidenceError::Mismatch {
                field: "file_name",
                ..
            })
        ));
        let lie = check(
            PDF,
            &Declared {
                file_name: None,
                content_type: Some("image/jpeg"),
            },
        );
        assert!(matches!(
            lie,
            Err(EvidenceError::Mismatch {
                field: "content-type",
                ..
            })
        ));
    }

    #[test]
    fn a_file_of_another_type_or_too_large_is_refused() {
        let text = check(
            b"just some text, named .pdf",
            &named("x.pdf", Some("application/pdf")),
        );
        assert!(
            matches!(text, Err(EvidenceError::UnsupportedType(_))),
            "{text:?}"
        );
        let gif = check(b"GIF89a\x01\0\x01\0\0\0\0;", &Declared::default());
        assert!(
            matches!(&gif, Err(EvidenceError::UnsupportedType(t)) if t == "image/gif"),
            "{gif:?}"
        );
        let mut big = PDF.to_vec();
        big.resize(MAX_BYTES + 1, b' ');
        assert!(matches!(
            check(&big, &Declared::default()),
            Err(EvidenceError::TooLarge)
        ));
        assert!(matches!(
            check(b"", &Declared::default()),
            Err(EvidenceError::Empty)
        ));
    }
}
