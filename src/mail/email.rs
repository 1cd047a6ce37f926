//! The emails the system sends, each rendered from a typed context.
//!
//! An email is a folder, `templates/emails/<name>/<locale>/{subject.txt,body.txt,body.html}.j2`,
//! plus one variant of [`Email`] holding the context its templates read. Nothing else lists it.

use serde::Serialize;

use crate::templates::{Templates, supported_locale};

/// Every email, with what its templates are rendered from.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Email {
    /// `emails/invitation`: a registry holder is invited to activate their account.
    Invitation(LinkEmail),
    /// `emails/activation`: someone who signed up confirms their address.
    Activation(LinkEmail),
    /// `emails/password_reset`: a link to choose a new password.
    PasswordReset(LinkEmail),
    /// `emails/reminder`: the digest of a person's certifications that need attention.
    Reminder(super::reminder::ReminderEmail),
    /// `emails/credit_reviewed`: staff approved or rejected a self-reported credit.
    CreditReviewed(CreditReviewedEmail),
    /// `emails/audit_requested`: a sample audit asks for the evidence behind a credit.
    AuditRequested(AuditRequestedEmail),
}

impl Email {
    /// The folder under `templates/emails/`, and the name a queued notification stores.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Invitation(_) => "invitation",
            Self::Activation(_) => "activation",
            Self::PasswordReset(_) => "password_reset",
            Self::Reminder(_) => super::reminder::NAME,
            Self::CreditReviewed(_) => CREDIT_REVIEWED,
            Self::AuditRequested(_) => AUDIT_REQUESTED,
        }
    }
}

/// What the invitation, activation and reset templates are rendered from.
#[derive(Debug, Clone, Serialize)]
pub struct LinkEmail {
    /// The person's display name (or legal name) when the registry knows it.
    pub name: Option<String>,
    /// The single-use link.
    pub link: String,
    /// When the link stops working, in the recipient's time zone and words.
    pub expires_at: String,
}

/// The name of the review email's folder and of its queued notifications.
pub const CREDIT_REVIEWED: &str = "credit_reviewed";

/// What the review email is rendered from; queued whole as the notification's payload.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct CreditReviewedEmail {
    pub name: Option<String>,
    pub title: String,
    pub provider_name: String,
    /// The completion day as written in the recipient's language.
    pub completed_on: String,
    pub hours: String,
    pub approved: bool,
    /// The reviewer's reason (required for a rejection).
    pub reason: Option<String>,
    /// The professional's list of credits.
    pub link: String,
}

/// The name of the sample audit's email folder and of its queued notifications.
pub const AUDIT_REQUESTED: &str = "audit_requested";

/// What the sample audit's request for evidence is rendered from; queued whole as the
/// notification's payload.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct AuditRequestedEmail {
    pub name: Option<String>,
    /// The self-reported activity's title.
    pub title: String,
    /// The completion day as written in the recipient's language.
    pub completed_on: String,
    pub hours: String,
    /// The scheme whose sample drew it, in the recipient's language.
    pub scheme_name: String,
    /// The last day evidence is accepted, as written in the recipient's language.
    pub due_on: String,
    /// The page that lists the professional's open requests.
    pub link: String,
}

/// A rendered email, ready for [`super::Mailer::compose`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe link (RFC 8058) for the `List-Unsubscribe` header, when the
    /// email offers one.
    pub list_unsubscribe: Option<String>,
}

/// Renders `email` in `locale` (Japanese when we do not ship that locale).
pub fn render(
    templates: &Templates,
    email: &Email,
    locale: &str,
) -> Result<RenderedEmail, minijinja::Error> {
    let locale = supported_locale(locale);
    let name = email.name();
    let context = minijinja::context! { lang => locale, ..minijinja::Value::from_serialize(email) };
    let part = |file: &str| templates.render(&format!("emails/{name}/{locale}/{file}"), &context);
    Ok(RenderedEmail {
        subject: part("subject.txt.j2")?.trim().replace(['\r', '\n'], " "),
        text: part("body.txt.j2")?,
        html: part("body.html.j2")?,
        list_unsubscribe: match email {
            Email::Reminder(reminder) => reminder.unsubscribe.as_ref().map(|u| u.all.clone()),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Email> {
        let link = LinkEmail {
            name: Some("Ada <Lovelace>".to_owned()),
            link: "https://ledger.example/activate?token=t&x=1".to_owned(),
            expires_at: "1 April 2026, 09:00 (JST)".to_owned(),
        };
        vec![
            Email::Invitation(link.clone()),
            Email::Activation(link.clone()),
            Email::PasswordReset(link),
        ]
    }

    #[test]
    fn every_email_renders_in_every_locale_with_its_link_and_an_escaped_name() {
        let templates = Templates::load(None).expect("embedded templates");
        for email in samples() {
            for locale in crate::templates::LOCALES {
                let rendered = render(&templates, &email, locale)
                    .unwrap_or_else(|e| panic!("{} in {locale}: {e}", email.name()));
                assert!(!rendered.subject.is_empty());
                assert!(!rendered.subject.contains('\n'));
                assert!(rendered.text.contains("token=t&x=1"), "{}", rendered.text);
                assert!(
                    rendered.html.contains("token=t&amp;x=1"),
                    "{}",
                    rendered.html
                );
                assert!(!rendered.html.contains("<Lovelace>"));
            }
        }
    }
}
