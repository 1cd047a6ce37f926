//! Loading scheme definitions (built in, plus an operator's folder) and recording which
//! versions exist, so every cycle can name the rule version it is judged by.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{NaiveDate, Utc};
use entity::scheme_versions;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use sha2::{Digest, Sha256};

use entity::scheme_versions::SchemeVersionStatus;

use crate::domain::levels::{Ladder, LadderError};
use crate::domain::scheme::{
    BUILTIN_SCHEME_FILES, SchemeDefinition, SchemeError, SchemeStatus, normalise_scheme_id,
};

/// One definition and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedScheme {
    pub definition: SchemeDefinition,
    pub source_file: String,
    pub sha256: String,
}

/// Every scheme version this deployment knows, ordered by scheme id then effective date.
#[derive(Debug, Clone, Default)]
pub struct SchemeCatalog {
    by_scheme: BTreeMap<String, Vec<LoadedScheme>>,
    /// The common ladder of levels the schemes map onto.
    ladder: Ladder,
}

/// The file that holds the ladder of levels, built in and in an operator's folder.
pub const LADDER_FILE: &str = "levels.toml";

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Definition(#[from] SchemeError),
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

impl SchemeCatalog {
    /// The built-in definitions, then every `*.toml` in `dir` (which may replace a built-in
    /// of the same id and version). The ladder of levels is the built-in `levels.toml`,
    /// replaced whole by a `levels.toml` in `dir`.
    pub fn load(dir: Option<&Path>) -> Result<Self, CatalogError> {
        let mut catalog = Self::default();
        for (file, text) in BUILTIN_SCHEME_FILES {
            catalog.insert(parse(text, file)?);
        }
        catalog.ladder =
            Ladder::parse(BUILTIN_LADDER, "schemes/levels.toml").map_err(ladder_error)?;
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|e| CatalogError::File {
                file: dir.display().to_string(),
                message: format!("CPE_LEDGER_SCHEMES_DIR: cannot read the folder: {e}"),
            })?;
            let mut paths: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                if path.file_name().is_some_and(|n| n == LADDER_FILE) {
                    let text = std::fs::read_to_string(&path).map_err(|e| CatalogError::File {
                        file: path.display().to_string(),
                        message: format!("cannot read the file: {e}"),
                    })?;
                    catalog.ladder =
                        Ladder::parse(&text, &path.display().to_string()).map_err(ladder_error)?;
                    continue;
                }
                catalog.insert(check_file(&path)?);
            }
        }
        if let Some(unknown) = catalog
            .ladder
            .schemes
            .keys()
            .find(|scheme| !catalog.by_scheme.contains_key(*scheme))
        {
            return Err(CatalogError::File {
                file: LADDER_FILE.to_owned(),
                message: format!(
                    "places scheme '{unknown}' on the ladder, but {}",
                    catalog.unknown(unknown)
                ),
            });
        }
        Ok(catalog)
    }

    /// The common ladder of levels and where each scheme sits on it.
    pub fn ladder(&self) -> &Ladder {
        &self.ladder
    }

    fn insert(&mut self, loaded: LoadedScheme) {
        let versions = self
            .by_scheme
            .entry(loaded.definition.id.clone())
            .or_default();
        versions.retain(|v| v.definition.version != loaded.definition.version);
        versions.push(loaded);
        versions.sort_by_key(|v| v.definition.effective_from);
    }

    /// All versions of all schemes.
    pub fn all(&self) -> impl Iterator<Item = &LoadedScheme> {
        self.by_scheme.values().flatten()
    }

    /// What to say of a scheme id this catalog does not have, listing the ones it has:
    /// `unknown scheme 'cism'; known: cisa, cissp, riss`.
    pub fn unknown(&self, scheme_id: &str) -> String {
        let known: Vec<&str> = self.by_scheme.keys().map(String::as_str).collect();
        format!("unknown scheme '{scheme_id}'; known: {}", known.join(", "))
    }

    /// Scheme ids are matched in any case: `RISS` is `riss`.
    pub fn contains(&self, scheme_id: &str) -> bool {
        self.by_scheme.contains_key(&normalise_scheme_id(scheme_id))
    }

    /// The version in force on `date`: the latest whose `effective_from` is not after it
    /// (the earliest version when the date precedes them all).
    pub fn in_force_on(&self, scheme_id: &str, date: NaiveDate) -> Option<&LoadedScheme> {
        let versions = self.by_scheme.get(&normalise_scheme_id(scheme_id))?;
        versions
            .iter()
            .rev()
            .find(|v| v.definition.effective_from <= date)
            .or_else(|| versions.first())
    }

    /// A specific version.
    pub fn version(&self, scheme_id: &str, version: &str) -> Option<&LoadedScheme> {
        self.by_scheme
            .get(&normalise_scheme_id(scheme_id))?
            .iter()
            .find(|v| v.definition.version == version)
    }
}

const BUILTIN_LADDER: &str = include_str!("../../schemes/levels.toml");

fn ladder_error(e: LadderError) -> CatalogError {
    CatalogError::File {
        file: e.file,
        message: e.message,
    }
}

fn parse(text: &str, file: &str) -> Result<LoadedScheme, SchemeError> {
    let definition = SchemeDefinition::parse(text, file)?;
    Ok(LoadedScheme {
        definition,
        source_file: file.to_owned(),
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
    })
}

/// Reads and validates one definition file.
pub fn check_file(path: &Path) -> Result<LoadedScheme, CatalogError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CatalogError::File {
        file: file.clone(),
        message: format!("cannot read: {e}"),
    })?;
    Ok(parse(&text, &file)?)
}

/// Makes sure `scheme_versions` has a row for every loaded version. A version whose text
/// changed since it was recorded is updated and logged: a version's rules should not change
/// once cycles are judged by it, so operators are told.
pub async fn record_versions(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
) -> Result<(), DbErr> {
    for loaded in catalog.all() {
        let d = &loaded.definition;
        let existing = scheme_versions::Entity::find()
            .filter(scheme_versions::Column::SchemeId.eq(d.id.as_str()))
            .filter(scheme_versions::Column::Version.eq(d.version.as_str()))
            .one(db)
            .await?;
        let definition = serde_json::to_value(d).map_err(|e| DbErr::Custom(e.to_string()))?;
        match existing {
            Some(row) if row.sha256 == loaded.sha256 => {}
            Some(row) => {
                tracing::warn!(scheme = %d.id, version = %d.version, "scheme definition changed since it was recorded");
                let mut active: scheme_versions::ActiveModel = row.into();
                active.definition = Set(definition);
                active.sha256 = Set(loaded.sha256.clone());
                active.source_file = Set(loaded.source_file.clone());
                active.loaded_at = Set(Utc::now());
                active.update(db).await?;
            }
            None => {
                scheme_versions::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    scheme_id: Set(d.id.clone()),
                    version: Set(d.version.clone()),
                    status: Set(match d.status {
                        SchemeStatus::InForce => SchemeVersionStatus::InForce,
                        SchemeStatus::Proposal => SchemeVersionStatus::Proposal,
                    }),
                    effective_from: Set(d.effective_from),
                    definition: Set(definition),
                    source_file: Set(loaded.source_file.clone()),
                    sha256: Set(loaded.sha256.clone()),
                    loaded_at: Set(Utc::now()),
                }
                .insert(db)
                .await?;
            }
        }
    }
    Ok(())
}

/// The id of the recorded row for a version.
pub async fn version_row_id(
    db: &impl ConnectionTrait,
    scheme_id: &str,
    version: &str,
) -> Result<Option<uuid::Uuid>, DbErr> {
    Ok(scheme_versions::Entity::find()
        .filter(scheme_versions::Column::SchemeId.eq(scheme_id))
        .filter(scheme_versions::Column::Version.eq(version))
        .one(db)
        .await?
        .map(|row| row.id))
}

/// `in_force` or `proposal`, as the definition file spells it.
pub fn status_label(definition: &SchemeDefinition) -> &'static str {
    match definition.status {
        SchemeStatus::InForce => "in_force",
        SchemeStatus::Proposal => "proposal",
    }
}
