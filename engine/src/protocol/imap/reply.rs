//! The server's own words, read from the raw lines it sent: the status line that ended a command
//! (`tag NO [CODE] text`) and its capabilities (`* CAPABILITY …` or `[CAPABILITY …]`). async-imap
//! hands back a NO as its own debug text; what is shown and classified comes from here instead.
//! Pure functions over bytes, so they are table-tested.

pub use crate::protocol::failure::Meaning;
use std::collections::BTreeSet;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    Bye,
}

/// A status line: `tag OK|NO|BAD [CODE …] text`, or an untagged `* BYE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub status: Status,
    /// The response code's atom, upper-cased (`AUTHENTICATIONFAILED`), if any.
    pub code: Option<String>,
    /// The line from the status on, as the server wrote it (`NO [CODE] Text.`).
    pub text: String,
}

fn parse_status_line(line: &str) -> Option<StatusLine> {
    let (tag, rest) = line.split_once(' ')?;
    if tag.is_empty() || tag == "+" {
        return None;
    }
    let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = match word.to_ascii_uppercase().as_str() {
        "OK" => Status::Ok,
        "NO" => Status::No,
        "BAD" => Status::Bad,
        "BYE" => Status::Bye,
        _ => return None,
    };
    if tag == "*" && status != Status::Bye {
        return None;
    }
    let code = after.strip_prefix('[').and_then(|c| {
        let end = c.find([']', ' '])?;
        Some(c[..end].to_ascii_uppercase()).filter(|a| !a.is_empty())
    });
    Some(StatusLine { status, code, text: rest.trim_end().to_owned() })
}

fn lines(raw: &[u8]) -> impl DoubleEndedIterator<Item = String> + '_ {
    raw.split(|&b| b == b'\n').map(|l| String::from_utf8_lossy(l).trim_end_matches('\r').to_owned())
}

/// The last status line that ended a command (or a `* BYE`) in `raw`.
pub fn last_status(raw: &[u8]) -> Option<StatusLine> {
    lines(raw).rev().find_map(|l| parse_status_line(&l))
}

/// Capabilities, upper-cased (`IMAP4REV1`, `STARTTLS`, `AUTH=PLAIN`, `LOGINDISABLED`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(pub BTreeSet<String>);

impl Capabilities {
    fn from_words<'a>(words: impl Iterator<Item = &'a str>) -> Capabilities {
        Capabilities(words.filter(|w| !w.is_empty()).map(str::to_ascii_uppercase).collect())
    }

    pub fn has(&self, atom: &str) -> bool {
        self.0.contains(&atom.to_ascii_uppercase())
    }

    /// Whether SASL mechanism `m` is offered (`AUTH=m`).
    pub fn offers(&self, mechanism: &str) -> bool {
        self.has(&format!("AUTH={mechanism}"))
    }

    /// RFC 3501 §6.2.3: LOGIN must not be used.
    pub fn login_disabled(&self) -> bool {
        self.has("LOGINDISABLED")
    }

    /// The SASL mechanisms offered, for messages.
    pub fn mechanisms(&self) -> String {
        let m: Vec<_> = self.0.iter().filter_map(|c| c.strip_prefix("AUTH=")).collect();
        m.join(" ")
    }
}

/// The capabilities in `raw`: the last `* CAPABILITY` line, else a `[CAPABILITY …]` response
/// code (in a greeting or a tagged OK).
pub fn capabilities(raw: &[u8]) -> Option<Capabilities> {
    let all: Vec<String> = lines(raw).collect();
    let untagged = all.iter().rev().find_map(|l| {
        let (star, rest) = l.split_once(' ')?;
        let (word, caps) = rest.split_once(' ')?;
        (star == "*" && word.eq_ignore_ascii_case("CAPABILITY")).then(|| Capabilities::from_words(caps.split(' ')))
    });
    untagged.or_else(|| {
        all.iter().rev().find_map(|l| {
            let upper = l.to_ascii_uppercase();
            let start = upper.find("[CAPABILITY ")? + "[CAPABILITY ".len();
            let end = start + upper[start..].find(']')?;
            Some(Capabilities::from_words(l[start..end].split(' ')))
        })
    })
}

/// The meaning of a `NO`: by its code; a sign-in refused without a code is taken as wrong
/// credentials (RFC 3501 servers have no codes), any other command's as a refusal.
pub fn meaning(code: Option<&str>, during_sign_in: bool) -> Meaning {
    match code {
        Some("AUTHENTICATIONFAILED" | "AUTHORIZATIONFAILED" | "EXPIRED") => Meaning::Credentials,
        Some("PRIVACYREQUIRED") => Meaning::RequiresTls,
        Some("UNAVAILABLE" | "INUSE" | "LIMIT" | "SERVERBUG" | "OVERQUOTA") => Meaning::Busy,
        None if during_sign_in => Meaning::Credentials,
        _ => Meaning::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_status_line_is_found_with_its_code() {
        type Expected<'a> = Option<(Status, Option<&'a str>, &'a str)>;
        let table: &[(&str, Expected)] = &[
            (
                "* CAPABILITY IMAP4rev1\r\nA0002 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
                Some((Status::No, Some("AUTHENTICATIONFAILED"), "NO [AUTHENTICATIONFAILED] Authentication failed.")),
            ),
            ("A1 OK done\r\nA2 BAD [PARSE] what?\r\n", Some((Status::Bad, Some("PARSE"), "BAD [PARSE] what?"))),
            ("a3 no [unavailable] later\r\n", Some((Status::No, Some("UNAVAILABLE"), "no [unavailable] later"))),
            ("A4 NO no code here\r\n", Some((Status::No, None, "NO no code here"))),
            (
                "* BYE [UNAVAILABLE] Server shutting down\r\n",
                Some((Status::Bye, Some("UNAVAILABLE"), "BYE [UNAVAILABLE] Server shutting down")),
            ),
            ("* OK [CAPABILITY IMAP4rev1] ready\r\n+ go on\r\n", None),
            ("", None),
        ];
        for (raw, expected) in table {
            let got = last_status(raw.as_bytes()).map(|s| (s.status, s.code, s.text));
            let expected = expected.map(|(s, c, t)| (s, c.map(str::to_owned), t.to_owned()));
            assert_eq!(got, expected, "{raw:?}");
        }
    }

    #[test]
    fn capabilities_come_from_the_untagged_line_or_the_response_code() {
        let before = b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.\r\n";
        let c = capabilities(before).unwrap_or_default();
        assert!(c.has("starttls") && c.login_disabled() && !c.offers("PLAIN"), "{c:?}");
        let after = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 MOVE\r\nA1 OK Pre-login capabilities listed\r\n";
        let c = capabilities(after).unwrap_or_default();
        assert!(c.offers("PLAIN") && c.offers("xoauth2") && !c.login_disabled() && c.has("MOVE"), "{c:?}");
        assert_eq!(c.mechanisms(), "PLAIN XOAUTH2");
        assert_eq!(capabilities(b"* OK IMAP4rev1 ready\r\n"), None);
    }

    #[test]
    fn refusals_are_classified_by_their_code() {
        let table = [
            (Some("AUTHENTICATIONFAILED"), true, Meaning::Credentials),
            (Some("EXPIRED"), true, Meaning::Credentials),
            (Some("PRIVACYREQUIRED"), true, Meaning::RequiresTls),
            (Some("UNAVAILABLE"), true, Meaning::Busy),
            (Some("LIMIT"), false, Meaning::Busy),
            (Some("OVERQUOTA"), false, Meaning::Busy),
            (None, true, Meaning::Credentials),
            (Some("CANNOT"), false, Meaning::Refused),
            (Some("CONTACTADMIN"), true, Meaning::Refused),
            (None, false, Meaning::Refused),
        ];
        for (code, sign_in, expected) in table {
            assert_eq!(meaning(code, sign_in), expected, "{code:?} {sign_in}");
        }
    }
}
