//! The templates of emails and pages: the whole `templates/` folder, embedded in the binary at
//! compile time, in one minijinja environment that each [`crate::app::App`] owns.
//!
//! - Emails are folders: `emails/<name>/<locale>/{subject.txt,body.txt,body.html}.j2`, each
//!   with one variant of [`crate::mail::Email`]. Adding an email is adding its folder and its
//!   variant; no list of files is kept by hand.
//! - Pages are `pages/<name>.html.j2`, with their words per locale in
//!   `pages/i18n/<locale>.toml`.
//!
//! HTML templates are auto-escaped; text templates are not. An operator may replace any
//! embedded file by one of the same relative path under `CPE_LEDGER_TEMPLATES_DIR`; the
//! overrides are read once, when the app is built, and belong to that app alone.

use std::borrow::Cow;
use std::path::Path;

use include_dir::{Dir, File, include_dir};
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

/// The locales we ship words for; anything else falls back to the first.
pub const LOCALES: [&str; 2] = ["ja", "en"];

/// Everything under `templates/`, as it was when the binary was built.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// Where the words of the pages live, per locale (`<locale>.toml`).
const PAGE_WORDS_DIR: &str = "pages/i18n/";
/// The one stylesheet of the pages (they carry no inline style).
const STYLESHEET: &str = "pages/pages.css";

/// A template (built in or an override) that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct TemplateError {
    pub name: String,
    pub reason: String,
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

/// The compiled templates and page words of one app.
pub struct Templates {
    env: Environment<'static>,
    /// The words of the pages, per locale.
    words: Vec<(String, Value)>,
    /// The pages' stylesheet (`pages/pages.css`), served at `/assets/pages.css`.
    stylesheet: String,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("templates", &self.env.templates().count())
            .field(
                "locales",
                &self.words.iter().map(|(l, _)| l).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Templates {
    /// Every embedded file, each replaced by the file of the same relative path under
    /// `overrides` when there is one. Fails on the first file that cannot be read or compiled,
    /// so a broken override stops start-up with a message instead of failing the first email.
    pub fn load(overrides: Option<&Path>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html.j2") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_keep_trailing_newline(true);
        let mut words = Vec::new();
        let mut stylesheet = String::new();
        for file in embedded_files() {
            let name = relative_name(file);
            if name == STYLESHEET {
                stylesheet = source_of(file, &name, overrides)?.into_owned();
                continue;
            }
            let words_file = name.starts_with(PAGE_WORDS_DIR) && name.ends_with(".toml");
            if !name.ends_with(".j2") && !words_file {
                // Not a template: the transcript's font and its licence, read by their users.
                continue;
            }
            let source = source_of(file, &name, overrides)?;
            let failed = |reason: String| TemplateError {
                name: name.clone(),
                reason,
            };
            if name.ends_with(".j2") {
                env.add_template_owned(name.clone(), source)
                    .map_err(|e| failed(e.to_string()))?;
            } else if let Some(file_name) = name.strip_prefix(PAGE_WORDS_DIR)
                && let Some(locale) = file_name.strip_suffix(".toml")
            {
                let table: toml::Table =
                    toml::from_str(&source).map_err(|e| failed(e.to_string()))?;
                words.push((locale.to_owned(), Value::from_serialize(&table)));
            }
        }
        Ok(Self {
            env,
            words,
            stylesheet,
        })
    }

    /// The pages' stylesheet, with the override of `pages/pages.css` if there is one.
    pub fn stylesheet(&self) -> &str {
        &self.stylesheet
    }

    /// Renders template `name` (its path under `templates/`).
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }

    /// Renders page `name` (`pages/<name>.html.j2`) with the words of `locale` as `t`.
    pub fn render_page(
        &self,
        name: &str,
        locale: &str,
        context: Value,
    ) -> Result<String, minijinja::Error> {
        let locale = supported_locale(locale);
        let full = minijinja::context! { t => self.page_words(locale), lang => locale, ..context };
        self.render(&format!("pages/{name}.html.j2"), full)
    }

    /// The words of the pages in `locale`, for messages a handler picks.
    pub fn page_words(&self, locale: &str) -> Value {
        let locale = supported_locale(locale);
        self.words
            .iter()
            .find(|(l, _)| l == locale)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The names of every template, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.env.templates().map(|(name, _)| name).collect();
        names.sort_unstable();
        names
    }
}

/// Every file under `templates/`, depth first.
/// A file shipped under `templates/` that is not a template (the transcript's font), by its
/// path there.
pub fn embedded_file(path: &str) -> Option<&'static [u8]> {
    EMBEDDED.get_file(path).map(File::contents)
}

fn embedded_files() -> Vec<&'static File<'static>> {
    fn walk(dir: &'static Dir<'static>, out: &mut Vec<&'static File<'static>>) {
        out.extend(dir.files());
        for sub in dir.dirs() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&EMBEDDED, &mut out);
    out
}

/// A file's path under `templates/`, with `/` between its parts on every platform.
fn relative_name(file: &File<'_>) -> String {
    file.path()
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The text of an embedded file, or of its override when the operator has one.
fn source_of(
    file: &'static File<'static>,
    name: &str,
    overrides: Option<&Path>,
) -> Result<Cow<'static, str>, TemplateError> {
    if let Some(path) = overrides.map(|dir| dir.join(name)).filter(|p| p.is_file()) {
        return std::fs::read_to_string(&path)
            .map(Cow::Owned)
            .map_err(|e| TemplateError {
                name: path.display().to_string(),
                reason: e.to_string(),
            });
    }
    file.contents_utf8()
        .map(Cow::Borrowed)
        .ok_or_else(|| TemplateError {
            name: name.to_owned(),
            reason: "is not UTF-8".to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built_in() -> Templates {
        Templates::load(None).expect("the embedded templates compile")
    }

    #[test]
    fn every_file_in_the_templates_folder_is_embedded_without_a_list() {
        let templates = built_in();
        let names = templates.names();
        let on_disk = walk_disk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"));
        let expected: Vec<String> = on_disk
            .into_iter()
            .filter(|name| name.ends_with(".j2"))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(names, expected);
    }

    fn walk_disk(root: &Path) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("readable folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let rel = path.strip_prefix(root).expect("under root");
                    out.push(
                        rel.components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .collect::<Vec<_>>()
                            .join("/"),
                    );
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out.sort();
        out
    }

    #[test]
    fn every_email_folder_has_a_subject_and_both_bodies_in_every_locale() {
        let templates = built_in();
        let names = templates.names();
        let emails: std::collections::BTreeSet<&str> = names
            .iter()
            .filter_map(|n| n.strip_prefix("emails/"))
            .filter_map(|n| n.split_once('/'))
            .map(|(email, _)| email)
            .collect();
        assert!(emails.len() >= 3, "{emails:?}");
        for email in emails {
            for locale in LOCALES {
                for part in ["subject.txt.j2", "body.txt.j2", "body.html.j2"] {
                    let name = format!("emails/{email}/{locale}/{part}");
                    assert!(names.contains(&name.as_str()), "missing {name}");
                }
            }
        }
    }

    #[test]
    fn both_locales_have_the_same_page_words() {
        let templates = built_in();
        let keys = |locale: &str| {
            let mut keys: Vec<String> = templates
                .page_words(locale)
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
        let templates = Templates::load(Some(dir.path())).expect("valid overrides");
        let subject = templates
            .render(
                "emails/invitation/en/subject.txt.j2",
                minijinja::context! { name => "Ada" },
            )
            .expect("renders");
        assert_eq!(subject, "Welcome, Ada");
        // Everything else is still the built-in.
        let built_in_ja = built_in()
            .render(
                "emails/invitation/ja/subject.txt.j2",
                minijinja::context! { name => "Ada" },
            )
            .expect("renders");
        assert_eq!(
            templates
                .render(
                    "emails/invitation/ja/subject.txt.j2",
                    minijinja::context! { name => "Ada" }
                )
                .expect("renders"),
            built_in_ja
        );

        std::fs::write(folder.join("body.txt.j2"), "{% if %}").expect("write");
        let err = Templates::load(Some(dir.path())).expect_err("a broken override is refused");
        assert!(
            err.name.ends_with("emails/invitation/en/body.txt.j2"),
            "{err}"
        );
    }

    #[test]
    fn two_template_sets_in_one_process_keep_their_own_overrides() {
        let with_override = |subject: &str| {
            let dir = tempfile::tempdir().expect("temp dir");
            let folder = dir.path().join("emails/activation/en");
            std::fs::create_dir_all(&folder).expect("folder");
            std::fs::write(folder.join("subject.txt.j2"), subject).expect("write");
            Templates::load(Some(dir.path())).expect("valid overrides")
        };
        let first = with_override("first");
        let second = with_override("second");
        let subject = |t: &Templates| {
            t.render("emails/activation/en/subject.txt.j2", ())
                .expect("renders")
        };
        assert_eq!(subject(&first), "first");
        assert_eq!(subject(&second), "second");
        assert_ne!(subject(&built_in()), "first");
    }

    #[test]
    fn page_words_can_be_overridden_too() {
        let dir = tempfile::tempdir().expect("temp dir");
        let folder = dir.path().join("pages/i18n");
        std::fs::create_dir_all(&folder).expect("folder");
        let mut words = built_in_words("en");
        words.insert("login_failed".to_owned(), toml::Value::from("Nope."));
        std::fs::write(
            folder.join("en.toml"),
            toml::to_string(&words).expect("toml"),
        )
        .expect("write");
        let templates = Templates::load(Some(dir.path())).expect("valid overrides");
        let word = templates
            .page_words("en")
            .get_attr("login_failed")
            .expect("a word");
        assert_eq!(word.to_string(), "Nope.");
        std::fs::write(folder.join("en.toml"), "not = [toml").expect("write");
        assert!(Templates::load(Some(dir.path())).is_err());
    }

    fn built_in_words(locale: &str) -> toml::Table {
        let file = EMBEDDED
            .get_file(format!("{PAGE_WORDS_DIR}{locale}.toml"))
            .expect("embedded words");
        toml::from_str(file.contents_utf8().expect("utf-8")).expect("parses")
    }

    #[test]
    fn an_unknown_locale_falls_back_to_japanese() {
        assert_eq!(supported_locale("en-GB"), "en");
        assert_eq!(supported_locale("fr"), "ja");
    }
}
