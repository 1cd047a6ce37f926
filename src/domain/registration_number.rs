//! A holding's registration number as the certification body issued it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A registration (or member, or certificate) number: ASCII letters, digits and `-`, at most
/// 64 characters. Surrounding whitespace is dropped; case is kept because some bodies print
/// letters in their numbers and buyers paste them as printed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegistrationNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationNumberError {
    #[error("registration number must not be empty")]
    Empty,
    #[error("registration number must be at most {max} characters, got {0}", max = RegistrationNumber::MAX_LEN)]
    TooLong(usize),
    #[error("registration number may contain only ASCII letters, digits and '-', found {0:?}")]
    InvalidCharacter(char),
}

impl RegistrationNumber {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Self, RegistrationNumberError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(RegistrationNumberError::Empty);
        }
        let length = trimmed.chars().count();
        if length > Self::MAX_LEN {
            return Err(RegistrationNumberError::TooLong(length));
        }
        if let Some(bad) = trimmed
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(RegistrationNumberError::InvalidCharacter(bad));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RegistrationNumber {
    type Error = RegistrationNumberError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RegistrationNumber> for String {
    fn from(value: RegistrationNumber) -> String {
        value.0
    }
}

impl AsRef<str> for RegistrationNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistrationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn a_riss_style_number_is_accepted_and_trimmed() {
        let number = RegistrationNumber::parse("  012345 ").unwrap();
        assert_eq!(number.as_str(), "012345");
    }

    #[test]
    fn letters_digits_and_hyphens_are_accepted() {
        assert!(RegistrationNumber::parse("GIAC-GCIH-12345").is_ok());
    }

    #[test]
    fn an_empty_or_blank_number_is_rejected() {
        assert_eq!(
            RegistrationNumber::parse("   "),
            Err(RegistrationNumberError::Empty)
        );
    }

    #[test]
    fn a_number_longer_than_64_characters_is_rejected() {
        let long = "1".repeat(65);
        assert_eq!(
            RegistrationNumber::parse(&long),
            Err(RegistrationNumberError::TooLong(65))
        );
        assert!(RegistrationNumber::parse(&"1".repeat(64)).is_ok());
    }

    #[test]
    fn spaces_inside_punctuation_and_full_width_digits_are_rejected() {
        for bad in ["12 34", "12/34", "１２３", "12_34", "12;DROP"] {
            assert!(
                matches!(
                    RegistrationNumber::parse(bad),
                    Err(RegistrationNumberError::InvalidCharacter(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn deserializing_runs_the_same_checks() {
        assert!(serde_json::from_str::<RegistrationNumber>("\"A-1\"").is_ok());
        assert!(serde_json::from_str::<RegistrationNumber>("\"A 1\"").is_err());
    }
}
