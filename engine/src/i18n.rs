//! Message catalogs for the codes the engine returns. `engine/i18n/en.json` is the source; fr, ja
//! and vi must hold exactly the same keys (a test checks it). The desktop UI imports the same
//! files, so a code has one wording per language across the app and the CLI.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// A language ServerSync speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Fr,
    Ja,
    Vi,
}

impl Lang {
    /// Every language.
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Fr, Lang::Ja, Lang::Vi];

    /// The BCP 47 primary tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ja => "ja",
            Lang::Vi => "vi",
        }
    }

    /// From a locale such as `fr_FR.UTF-8`, `ja-JP` or `vi`; None when not one of ours.
    pub fn from_locale(locale: &str) -> Option<Lang> {
        let primary = locale.split(['_', '-', '.', '@']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// The language of the environment (LC_ALL, LC_MESSAGES, LANG), English by default.
    pub fn from_env() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Lang::from_locale(&v))
            .unwrap_or(Lang::En)
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../i18n/en.json"),
            Lang::Fr => include_str!("../i18n/fr.json"),
            Lang::Ja => include_str!("../i18n/ja.json"),
            Lang::Vi => include_str!("../i18n/vi.json"),
        }
    }
}

type Catalog = HashMap<String, String>;

fn catalogs() -> &'static HashMap<Lang, Catalog> {
    static CATALOGS: OnceLock<HashMap<Lang, Catalog>> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        Lang::ALL
            .into_iter()
            .map(|lang| {
                // A catalog that does not parse is caught by the catalog tests; at run time the
                // code itself is shown rather than failing.
                let catalog: Catalog = serde_json::from_str(lang.source()).unwrap_or_default();
                (lang, catalog)
            })
            .collect()
    })
}

/// The keys of one language's catalog.
pub fn keys(lang: Lang) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> =
        catalogs().get(&lang).map(|c| c.keys().map(String::as_str).collect()).unwrap_or_default();
    keys.sort_unstable();
    keys
}

/// Whether `code` has a message in `lang`.
pub fn has(lang: Lang, code: &str) -> bool {
    catalogs().get(&lang).is_some_and(|c| c.contains_key(code))
}

fn lookup(lang: Lang, key: &str) -> Option<&'static String> {
    catalogs().get(&lang).and_then(|c| c.get(key)).or_else(|| catalogs().get(&Lang::En).and_then(|c| c.get(key)))
}

/// The label namespaces a parameter's value is looked up in (`label.{namespace}.{value}`).
fn label_namespaces(param: &str) -> &'static [&'static str] {
    match param {
        "field" => &["field"],
        "server_type" => &["server_type"],
        "mode" => &["credential_mode"],
        "protocol" => &["auth_protocol"],
        "workload" => &["workload"],
        "allowed" => &["credential_mode", "auth_protocol", "server_type"],
        "entity" => &["entity"],
        "filters" => &["filtering_method"],
        _ => &[],
    }
}

/// A parameter as shown: codes of fields and options become their labels in `lang`.
pub fn localize_param(lang: Lang, param: &str, value: &str) -> String {
    let namespaces = label_namespaces(param);
    if namespaces.is_empty() {
        return value.to_owned();
    }
    value
        .split(", ")
        .map(|piece| {
            namespaces
                .iter()
                .find_map(|ns| lookup(lang, &format!("label.{ns}.{piece}")))
                .cloned()
                .unwrap_or_else(|| piece.to_owned())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The label of `key` (e.g. `label.field.name`) in `lang`, English if missing, else the key.
pub fn label(lang: Lang, key: &str) -> String {
    lookup(lang, key).cloned().unwrap_or_else(|| key.to_owned())
}

/// Renders `code` in `lang` with `{name}` placeholders filled from `params` (field and option
/// codes shown as their labels); falls back to English, then to the code itself.
pub fn render(lang: Lang, code: &str, params: &BTreeMap<String, String>) -> String {
    let Some(template) = lookup(lang, code) else {
        return code.to_owned();
    };
    // A refusal about one line of an imported file says which line, whatever the refusal.
    if let Some(line) = params.get("line")
        && !template.contains("{line}")
        && let Some(prefix) = lookup(lang, "import.at_line")
    {
        return prefix.replace("{line}", line).replace("{message}", &fill(lang, template, params));
    }
    let text = fill(lang, template, params);
    // A sync failure's alert says what follows (spec §3.13): the workload disabled, or a retry
    // (once: a transient error's own words may already say it).
    match params.get("consequence").and_then(|c| lookup(lang, &format!("sync.consequence.{c}"))) {
        Some(then) if !text.contains(then.trim_end_matches(['.', '。'])) => {
            format!("{text} {}", fill(lang, then, params))
        }
        _ => text,
    }
}

/// `template` with its `{name}` placeholders filled from `params`.
fn fill(lang: Lang, template: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match params.get(name) {
                    Some(v) => out.push_str(&localize_param(lang, name, v)),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_exactly_the_english_keys() {
        let en = keys(Lang::En);
        assert!(en.len() > 20, "the English catalog did not load ({} keys)", en.len());
        for lang in [Lang::Fr, Lang::Ja, Lang::Vi] {
            let other = keys(lang);
            let missing: Vec<_> = en.iter().filter(|k| !other.contains(k)).collect();
            let extra: Vec<_> = other.iter().filter(|k| !en.contains(k)).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}, extra {extra:?}", lang.tag());
        }
    }

    #[test]
    fn every_placeholder_of_english_appears_in_each_translation() {
        let placeholders = |s: &str| {
            let mut v: Vec<String> =
                s.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned())).collect();
            v.sort();
            v
        };
        for code in keys(Lang::En) {
            let en = render(Lang::En, code, &BTreeMap::new());
            for lang in [Lang::Fr, Lang::Ja, Lang::Vi] {
                let other = render(lang, code, &BTreeMap::new());
                assert_eq!(placeholders(&en), placeholders(&other), "{code} in {}", lang.tag());
            }
        }
    }

    /// Every field an error of the engine names (`.param("field", "…")`) has its label, so the
    /// message shows the field's name and never its code.
    #[test]
    fn every_field_an_error_names_has_a_label() {
        fn sources(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(std::fs::read_to_string(&path).unwrap_or_default());
                }
            }
        }
        let mut texts = Vec::new();
        sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut texts);
        let marker = "param(\"field\", \"";
        let mut fields: Vec<&str> = texts
            .iter()
            .flat_map(|t| t.split(marker).skip(1))
            .filter_map(|rest| rest.split_once('"').map(|(name, _)| name))
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
            })
            .collect();
        fields.sort_unstable();
        fields.dedup();
        assert!(fields.len() > 5, "the sources were not read: {fields:?}");
        let missing: Vec<&&str> = fields.iter().filter(|f| !has(Lang::En, &format!("label.field.{f}"))).collect();
        assert!(missing.is_empty(), "fields named by errors without a label: {missing:?}");
    }

    #[test]
    fn render_fills_parameters_and_falls_back_to_the_code() {
        let mut p = BTreeMap::new();
        p.insert("field".to_owned(), "name".to_owned());
        p.insert("max".to_owned(), "100".to_owned());
        let text = render(Lang::En, "field.too_long", &p);
        assert!(text.contains("Name") && text.contains("100"), "field codes become labels: {text}");
        assert_eq!(render(Lang::Fr, "no.such.code", &p), "no.such.code");
    }

    #[test]
    fn a_sync_alert_says_what_follows() {
        let mut p = BTreeMap::new();
        p.insert("mailbox".to_owned(), "Sales".to_owned());
        p.insert("workload".to_owned(), "incoming".to_owned());
        p.insert("consequence".to_owned(), "disabled".to_owned());
        let text = render(Lang::En, "mailbox.not_approved", &p);
        assert!(
            text.ends_with(
                "The mailbox Sales has been disabled for incoming: fix the cause, then run Test & Enable Mailboxes."
            ),
            "{text}"
        );
        p.insert("consequence".to_owned(), "retry".to_owned());
        assert!(render(Lang::Fr, "storage.busy", &p).ends_with("Le système réessaiera plus tard."));
        let timeout = render(Lang::Fr, "mail.timeout", &p);
        assert_eq!(timeout.matches("Le système réessaiera plus tard").count(), 1, "said once: {timeout}");
    }

    #[test]
    fn locales_map_to_languages() {
        assert_eq!(Lang::from_locale("fr_FR.UTF-8"), Some(Lang::Fr));
        assert_eq!(Lang::from_locale("ja-JP"), Some(Lang::Ja));
        assert_eq!(Lang::from_locale("vi"), Some(Lang::Vi));
        assert_eq!(Lang::from_locale("de_DE"), None);
        assert_eq!(Lang::from_locale("C.UTF-8"), None);
    }
}
