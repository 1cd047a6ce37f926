//! Every template the binary ships, embedded at compile time, in one minijinja environment.
//!
//! Emails are folders: `emails/<name>/<locale>/{subject.txt,body.txt,body.html}.j2`. Pages live
//! under `pages/`, with their words per locale in `pages/i18n/<locale>.toml`. HTML templates are
//! auto-escaped; text templates are not.

use std::path::Path;
use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

/// The locales we ship words for; anything else falls back to the first.
pub const LOCALES: [&str; 2] = ["ja", "en"];

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $name)))),*]
    };
}

static SOURCES: &[(&str, &str)] = embedded![
    "emails/invitation/ja/subject.txt.j2",
    "emails/invitation/ja/body.txt.j2",
    "emails/invitation/ja/body.html.j2",
    "emails/invitation/en/subject.txt.j2",
    "emails/invitation/en/body.txt.j2",
    "emails/invitation/en/body.html.j2",
    "emails/activation/ja/subject.txt.j2",
    "emails/activation/ja/body.txt.j2",
    "emails/activation/ja/body.html.j2",
    "emails/activation/en/subject.txt.j2",
    "emails/activation/en/body.txt.j2",
    "emails/activation/en/body.html.j2",
    "emails/password_reset/ja/subject.txt.j2",
    "emails/password_reset/ja/body.txt.j2",
    "emails/password_reset/ja/body.html.j2",
    "emails/password_reset/en/subject.txt.j2",
    "emails/password_reset/en/body.txt.j2",
    "emails/password_reset/en/body.html.j2",
    "emails/layout.html.j2",
    "pages/base.html.j2",
    "pages/login.html.j2",
    "pages/home.html.j2",
    "pages/set_password.html.j2",
    "pages/forgot.html.j2",
    "pages/link_invalid.html.j2",
    "pages/notice.html.j2",
];

static PAGE_WORDS: &[(&str, &str)] = embedded!["pages/i18n/ja.toml", "pages/i18n/en.toml"];

static ENV: OnceLock<Environment<'static>> = OnceLock::new();

/// A template override that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct TemplateError {
    pub name: String,
    pub reason: String,
}

/// The environment: every embedded template, each replaced by the file of the same name under
/// `overrides` when there is one.
pub fn build_environment(overrides: Option<&Path>) -> Result<Environment<'static>, TemplateError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html.j2") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_keep_trailing_newline(true);
    for (name, source) in SOURCES {
        let replacement = overrides
            .map(|dir| dir.join(name))
            .filter(|path| path.is_file())
            .map(|path| {
                std::fs::read_to_string(&path).map_err(|e| TemplateError {
                    name: path.display().to_string(),
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        let result = match replacement {
            Some(text) => env.add_template_owned(*name, text),
            None => env.add_template(name, source),
        };
        result.map_err(|e| TemplateError {
            name: (*name).to_owned(),
            reason: e.to_string(),
        })?;
    }
    Ok(env)
}

/// Loads the operator's overrides once, at start-up, so a broken one stops the process with a
/// message instead of failing the first email. Later calls (tests build many apps in one
/// process) only validate.
pub fn configure(overrides: Option<&Path>) -> Result<(), TemplateError> {
    let env = build_environment(overrides)?;
    let _ = ENV.set(env);
    Ok(())
}

fn environment() -> &'static Environment<'static> {
    ENV.get_or_init(|| match build_environment(None) {
        Ok(env) => env,
        // The sources are part of the binary and covered by tests; a syntax error is a bug.
        Err(e) => panic!("embedded template {e}"),
    })
}

/// The locale to render in: the one asked for when we ship it, else Japanese.
pub fn supported_locale(locale: &str) -> &'static str {
    let primary = locale
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    LOCALES
        .iter()
        .find(|l| **l == primary)
        .copied()
        .unwrap_or(LOCALES[0])
}

/// A rendered email, ready for [`super::Mailer::compose`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders email `name` in `locale` from its typed context.
pub fn render(
    name: &str,
    locale: &str,
    context: &impl Serialize,
) -> Result<RenderedEmail, minijinja::Error> {
    let env = environment();
    let locale = supported_locale(locale);
    let context =
        minijinja::context! { lang => locale, ..minijinja::Value::from_serialize(context) };
    let part = |file: &str| -> Result<String, minijinja::Error> {
        env.get_template(&format!("emails/{name}/{locale}/{file}"))?
            .render(&context)
    };
    Ok(RenderedEmail {
        subject: part("subject.txt.j2")?.trim().replace(['\r', '\n'], " "),
        text: part("body.txt.j2")?,
        html: part("body.html.j2")?,
    })
}

/// Renders page `name` (`pages/<name>.html.j2`) with the words of `locale` as `t`.
pub fn render_page(
    name: &str,
    locale: &str,
    context: minijinja::Value,
) -> Result<String, minijinja::Error> {
    let locale = supported_locale(locale);
    let words = page_words(locale);
    let full = minijinja::context! { t => words, lang => locale, ..context };
    environment()
        .get_template(&format!("pages/{name}.html.j2"))?
        .render(full)
}

/// The words of the pages in `locale`, for messages a handler picks.
pub fn page_words_for(locale: &str) -> minijinja::Value {
    page_words(supported_locale(locale))
}

fn page_words(locale: &str) -> minijinja::Value {
    static PARSED: OnceLock<Vec<(&'static str, minijinja::Value)>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        PAGE_WORDS
            .iter()
            .map(|(name, text)| {
                let table: toml::Table = match toml::from_str(text) {
                    Ok(table) => table,
                    Err(e) => panic!("embedded {name} does not parse: {e}"),
                };
                let locale = name
                    .trim_start_matches("pages/i18n/")
                    .trim_end_matches(".toml");
                let locale = LOCALES
                    .iter()
                    .find(|l| **l == locale)
                    .copied()
                    .unwrap_or(LOCALES[0]);
                (locale, minijinja::Value::from_serialize(&table))
            })
            .collect()
    });
    parsed
        .iter()
        .find(|(l, _)| *l == locale)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_parses() {
        for (name, _) in SOURCES {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn both_locales_have_the_same_page_words() {
        let keys = |locale: &str| {
            let mut keys: Vec<String> = page_words(locale)
                .try_iter()
                .map(|it| it.map(|k| k.to_string()).collect())
                .unwrap_or_default();
            keys.sort();
            keys
        };
        assert!(!keys("ja").is_empty());
        assert_eq!(keys("ja"), keys("en"));
    }

    #[test]
    fn a_file_in_the_override_folder_replaces_the_built_in_template() {
        let dir = tempfile::tempdir().expect("temp dir");
        let folder = dir.path().join("emails/invitation/en");
        std::fs::create_dir_all(&folder).expect("folder");
        std::fs::write(folder.join("subject.txt.j2"), "Welcome, {{ name }}").expect("write");
        let env = build_environment(Some(dir.path())).expect("valid overrides");
        let subject = env
            .get_template("emails/invitation/en/subject.txt.j2")
            .and_then(|t| t.render(minijinja::context! { name => "Ada" }))
            .expect("renders");
        assert_eq!(subject, "Welcome, Ada");
        // Everything else is still the built-in.
        assert!(
            env.get_template("emails/invitation/ja/subject.txt.j2")
                .is_ok()
        );

        std::fs::write(folder.join("body.txt.j2"), "{% if %}").expect("write");
        assert!(build_environment(Some(dir.path())).is_err());
    }

    #[test]
    fn an_unknown_locale_falls_back_to_japanese() {
        assert_eq!(supported_locale("en-GB"), "en");
        assert_eq!(supported_locale("fr"), "ja");
    }
}
