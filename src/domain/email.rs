//! Email addresses of professionals.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An email address that passed a deliberately simple check: one `@`, a non-empty local part,
/// a dotted domain without empty labels, no whitespace or control characters, RFC 5321 length
/// limits. The domain is lowercased (domains are case-insensitive); the local part is kept as
/// typed, because some mail systems treat it case-sensitively. Deliverability is proved by the
/// activation email, not here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailAddressError {
    #[error("email address must not be empty")]
    Empty,
    #[error("email address must contain exactly one '@'")]
    AtSign,
    #[error("email address has an empty or too long part before '@'")]
    LocalPart,
    #[error("email address has an invalid domain {0:?}")]
    Domain(String),
    #[error("email address must not contain spaces or control characters")]
    Whitespace,
    #[error("email address is longer than 254 characters")]
    TooLong,
}

impl EmailAddress {
    pub fn parse(text: &str) -> Result<Self, EmailAddressError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        if trimmed.len() > 254 {
            return Err(EmailAddressError::TooLong);
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailAddressError::Whitespace);
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailAddressError::AtSign);
        };
        if local.is_empty() || local.len() > 64 {
            return Err(EmailAddressError::LocalPart);
        }
        let domain = domain.to_lowercase();
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !domain.contains('.') || !labels_ok {
            return Err(EmailAddressError::Domain(domain));
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailAddressError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> String {
        value.0
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn the_domain_is_lowercased_and_the_local_part_kept() {
        let email = EmailAddress::parse(" Taro.Yamada@Example.CO.JP ").unwrap();
        assert_eq!(email.as_str(), "Taro.Yamada@example.co.jp");
        assert_eq!(email.domain(), "example.co.jp");
    }

    #[test]
    fn plus_addressing_is_accepted() {
        assert!(EmailAddress::parse("taro+cpe@example.com").is_ok());
    }

    #[test]
    fn addresses_without_exactly_one_at_sign_are_rejected() {
        assert_eq!(
            EmailAddress::parse("taro.example.com"),
            Err(EmailAddressError::AtSign)
        );
        assert_eq!(
            EmailAddress::parse("a@b@example.com"),
            Err(EmailAddressError::AtSign)
        );
    }

    #[test]
    fn empty_parts_and_undotted_domains_are_rejected() {
        assert_eq!(EmailAddress::parse(""), Err(EmailAddressError::Empty));
        assert_eq!(
            EmailAddress::parse("@example.com"),
            Err(EmailAddressError::LocalPart)
        );
        for bad in [
            "taro@",
            "taro@localhost",
            "taro@example..com",
            "taro@-x.com",
        ] {
            assert!(
                matches!(EmailAddress::parse(bad), Err(EmailAddressError::Domain(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn whitespace_inside_is_rejected() {
        assert_eq!(
            EmailAddress::parse("taro yamada@example.com"),
            Err(EmailAddressError::Whitespace)
        );
    }

    #[test]
    fn overly_long_addresses_are_rejected() {
        let long = format!("{}@example.com", "a".repeat(65));
        assert_eq!(
            EmailAddress::parse(&long),
            Err(EmailAddressError::LocalPart)
        );
        let very_long = format!("a@{}.com", "b".repeat(260));
        assert_eq!(
            EmailAddress::parse(&very_long),
            Err(EmailAddressError::TooLong)
        );
    }
}
