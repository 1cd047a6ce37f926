//! The common ladder of levels that schemes map onto (by default the UK Cyber Security
//! Council's titles), defined as data in `schemes/levels.toml`, so a buyer may ask for "this
//! level or above" instead of naming certifications.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One rung of the ladder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// What the API says: `associate`, `practitioner`, …
    pub id: String,
    /// Orders the ladder: higher is more senior.
    pub rank: u32,
    pub en: String,
    pub ja: String,
}

/// The ladder and which level each scheme sits at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ladder {
    pub name: String,
    #[serde(default)]
    pub source: Option<String>,
    /// Lowest first once loaded.
    pub levels: Vec<Level>,
    /// Scheme id → level id.
    #[serde(default)]
    pub schemes: BTreeMap<String, String>,
}

/// A ladder file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct LadderError {
    pub file: String,
    pub message: String,
}

impl Ladder {
    /// Reads and checks a ladder file: level ids and ranks unique, and every scheme mapped to
    /// a level of the ladder. `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, LadderError> {
        let error = |message: String| LadderError {
            file: file.to_owned(),
            message,
        };
        let mut ladder: Ladder = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        if ladder.levels.is_empty() {
            return Err(error("the ladder has no levels".to_owned()));
        }
        ladder.levels.sort_by_key(|l| l.rank);
        for pair in ladder.levels.windows(2) {
            if pair[0].rank == pair[1].rank {
                return Err(error(format!(
                    "levels {} and {} share rank {}",
                    pair[0].id, pair[1].id, pair[0].rank
                )));
            }
        }
        for (i, level) in ladder.levels.iter().enumerate() {
            if level.id.trim().is_empty() {
                return Err(error("a level has an empty id".to_owned()));
            }
            if ladder.levels[..i].iter().any(|l| l.id == level.id) {
                return Err(error(format!("level id {} appears twice", level.id)));
            }
        }
        for (scheme, level) in &ladder.schemes {
            if ladder.find(level).is_none() {
                return Err(error(format!(
                    "scheme {scheme} is mapped to level {level}, which is not on the ladder ({})",
                    ladder.ids().join(", ")
                )));
            }
        }
        Ok(ladder)
    }

    /// The level with this id (as a buyer types it, in any case).
    pub fn find(&self, id: &str) -> Option<&Level> {
        let id = id.trim();
        self.levels.iter().find(|l| l.id.eq_ignore_ascii_case(id))
    }

    /// Every level id, lowest first.
    pub fn ids(&self) -> Vec<&str> {
        self.levels.iter().map(|l| l.id.as_str()).collect()
    }

    /// The level of a scheme; `None` when the ladder does not place it.
    pub fn level_of(&self, scheme_id: &str) -> Option<&Level> {
        self.schemes.get(scheme_id).and_then(|id| self.find(id))
    }

    /// Whether a holding of `scheme_id` is at `minimum` or above. A scheme the ladder does
    /// not place meets no minimum.
    pub fn meets(&self, scheme_id: &str, minimum: &Level) -> bool {
        self.level_of(scheme_id)
            .is_some_and(|l| l.rank >= minimum.rank)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    const BUILT_IN: &str = include_str!("../../schemes/levels.toml");

    #[test]
    fn the_built_in_ladder_is_the_four_uk_council_titles_lowest_first() {
        let ladder = Ladder::parse(BUILT_IN, "levels.toml").unwrap();
        assert_eq!(
            ladder.ids(),
            ["associate", "practitioner", "principal", "chartered"]
        );
        assert_eq!(ladder.level_of("cissp").unwrap().en, "Principal");
        assert_eq!(ladder.level_of("riss").unwrap().id, "practitioner");
        assert_eq!(ladder.level_of("no-such-scheme"), None);
    }

    #[test]
    fn a_minimum_is_met_at_that_level_and_above_and_never_by_an_unplaced_scheme() {
        let ladder = Ladder::parse(BUILT_IN, "levels.toml").unwrap();
        let practitioner = ladder.find("Practitioner").unwrap().clone();
        assert!(ladder.meets("cissp", &practitioner));
        assert!(ladder.meets("riss", &practitioner));
        assert!(!ladder.meets("comptia-secplus", &practitioner));
        assert!(!ladder.meets("unplaced", &practitioner));
    }

    #[test]
    fn a_scheme_mapped_to_a_level_off_the_ladder_is_refused_naming_both() {
        let text = "name = \"x\"\n[[levels]]\nid = \"a\"\nrank = 1\nen = \"A\"\nja = \"A\"\n[schemes]\ncissp = \"b\"\n";
        let refused = Ladder::parse(text, "mine.toml").unwrap_err();
        assert!(refused.message.contains("cissp"), "{refused}");
        assert!(refused.message.contains("level b"), "{refused}");
        assert_eq!(refused.file, "mine.toml");
    }

    #[test]
    fn two_levels_of_one_rank_are_refused() {
        let text = "name = \"x\"\n[[levels]]\nid = \"a\"\nrank = 1\nen = \"A\"\nja = \"A\"\n[[levels]]\nid = \"b\"\nrank = 1\nen = \"B\"\nja = \"B\"\n";
        assert!(Ladder::parse(text, "mine.toml").is_err());
    }
}
