//! Correlation (spec §3.9): which tracked email a new one continues. The candidates of each
//! method are looked up by the caller (an indexed query each); choosing among them is pure:
//! In-Reply-To, then the tracking token, then the conversation index, then smart matching (off by
//! default), the first that finds one wins.

use crate::domain::{ActivityId, CorrelationMethod, RecordRef, UserId};
use std::collections::BTreeSet;

/// A tracked email a new one may correlate with: what the new one copies from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub id: ActivityId,
    pub regarding: Option<RecordRef>,
    pub owner: Option<UserId>,
}

/// What each method found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub in_reply_to: Option<Tracked>,
    pub tracking_token: Option<Tracked>,
    pub conversation_index: Option<Tracked>,
    pub smart_matching: Option<Tracked>,
}

/// Which methods the organisation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Methods {
    /// "Use correlation to track email conversations": In-Reply-To and the conversation index.
    pub correlation: bool,
    pub tracking_tokens: bool,
    pub smart_matching: bool,
}

/// The first method, in the order of §3.9, that found a tracked email.
pub fn correlate(found: &Found, methods: Methods) -> Option<(CorrelationMethod, Tracked)> {
    let order = [
        (methods.correlation, CorrelationMethod::InReplyTo, &found.in_reply_to),
        (methods.tracking_tokens, CorrelationMethod::TrackingToken, &found.tracking_token),
        (methods.correlation, CorrelationMethod::ConversationIndex, &found.conversation_index),
        (methods.smart_matching, CorrelationMethod::SmartMatching, &found.smart_matching),
    ];
    order.into_iter().find_map(|(on, method, t)| if on { t.clone().map(|t| (method, t)) } else { None })
}

/// Whether a correlated email becomes the new one's parent (`parentactivityid`): only for
/// In-Reply-To and the conversation index.
pub fn is_parent(method: CorrelationMethod) -> bool {
    matches!(method, CorrelationMethod::InReplyTo | CorrelationMethod::ConversationIndex)
}

/// The tracking token in a subject: one of `prefixes`, a colon and at least three digits (the
/// designator, the deployment base, the user number and the counter), standing alone.
/// Prefixes compare case-insensitively; the token is returned with the prefix as configured.
pub fn find_token(subject: &str, prefixes: &[&str]) -> Option<String> {
    for prefix in prefixes.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let n = prefix.len();
        for (at, _) in subject.char_indices() {
            let Some(word) = subject.get(at..at + n) else { continue };
            let Some(rest) = subject.get(at + n..).and_then(|r| r.strip_prefix(':')) else { continue };
            if !word.eq_ignore_ascii_case(prefix) {
                continue;
            }
            let before_ok = subject[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
            let digits = &rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())];
            let after_ok = rest[digits.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
            if before_ok && after_ok && (3..=40).contains(&digits.len()) {
                return Some(format!("{prefix}:{digits}"));
            }
        }
    }
    None
}

/// The thread root of a conversation index: its first 22 bytes, in hex.
pub fn conversation_root(index: &[u8]) -> String {
    hex::encode(index.get(..22).unwrap_or(index))
}

/// Among tracked emails of the same thread (same root), the one a new email with conversation
/// index `index` answers: the longest index that `index` extends; otherwise (a reply in another
/// branch) the one sharing the longest beginning; the most recent among equals.
pub fn conversation_parent(index: &[u8], candidates: &[(ActivityId, Vec<u8>)]) -> Option<ActivityId> {
    let common = |other: &[u8]| index.iter().zip(other).take_while(|(a, b)| a == b).count();
    candidates
        .iter()
        .filter(|(_, c)| c.len() >= 22 && common(c) >= 22)
        .max_by_key(|(id, c)| {
            let ancestor = c.len() <= index.len() && index.starts_with(c) && c.as_slice() != index;
            (ancestor, common(c), *id)
        })
        .map(|(id, _)| *id)
}

/// The subject smart matching compares: without the prefixes `keywords` matches at its start
/// (RE:, FW:, AW:…), without the tracking token, lower-cased, spaces collapsed.
pub fn subject_key(subject: &str, keywords: Option<&regex::Regex>, token: Option<&str>) -> String {
    let mut s = subject.to_owned();
    if let Some(t) = token {
        s = s.replace(t, " ");
    }
    if let Some(re) = keywords {
        s = re.replace(&s, "").into_owned();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Smart matching: among tracked emails with the same subject key, the one sharing the most
/// addresses with the new email, if it shares at least `min_common`; the most recent among equals.
pub fn smart_match(
    addresses: &BTreeSet<String>,
    candidates: &[(ActivityId, BTreeSet<String>)],
    min_common: u32,
) -> Option<ActivityId> {
    candidates
        .iter()
        .map(|(id, set)| (set.intersection(addresses).count(), *id))
        .filter(|(n, _)| *n >= min_common as usize && *n > 0)
        .max()
        .map(|(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: i64) -> Tracked {
        Tracked { id: ActivityId(id), regarding: None, owner: None }
    }

    #[test]
    fn correlation_order_truth_table() {
        let all = Found {
            in_reply_to: Some(t(1)),
            tracking_token: Some(t(2)),
            conversation_index: Some(t(3)),
            smart_matching: Some(t(4)),
        };
        let on = Methods { correlation: true, tracking_tokens: true, smart_matching: true };
        let only = |f: Found| f;
        // (rule, found, methods, expected method and activity)
        type Row = (&'static str, Found, Methods, Option<(CorrelationMethod, i64)>);
        let rows: Vec<Row> = vec![
            ("In-Reply-To comes first", all.clone(), on, Some((CorrelationMethod::InReplyTo, 1))),
            (
                "then the tracking token",
                Found { in_reply_to: None, ..all.clone() },
                on,
                Some((CorrelationMethod::TrackingToken, 2)),
            ),
            (
                "then the conversation index",
                only(Found { conversation_index: Some(t(3)), smart_matching: Some(t(4)), ..Default::default() }),
                on,
                Some((CorrelationMethod::ConversationIndex, 3)),
            ),
            (
                "then smart matching",
                only(Found { smart_matching: Some(t(4)), ..Default::default() }),
                on,
                Some((CorrelationMethod::SmartMatching, 4)),
            ),
            (
                "smart matching is off by default",
                only(Found { smart_matching: Some(t(4)), ..Default::default() }),
                Methods { smart_matching: false, ..on },
                None,
            ),
            (
                "correlation off: no In-Reply-To, no conversation index, tokens still count",
                all.clone(),
                Methods { correlation: false, ..on },
                Some((CorrelationMethod::TrackingToken, 2)),
            ),
            (
                "tokens off: skip to the conversation index",
                Found { in_reply_to: None, ..all.clone() },
                Methods { tracking_tokens: false, ..on },
                Some((CorrelationMethod::ConversationIndex, 3)),
            ),
            ("nothing found", Found::default(), on, None),
        ];
        for (rule, found, methods, want) in rows {
            let got = correlate(&found, methods).map(|(m, t)| (m, t.id.0));
            assert_eq!(got, want, "{rule}");
        }
        assert!(is_parent(CorrelationMethod::InReplyTo) && is_parent(CorrelationMethod::ConversationIndex));
        assert!(!is_parent(CorrelationMethod::TrackingToken) && !is_parent(CorrelationMethod::SmartMatching));
    }

    #[test]
    fn tracking_tokens_are_found_standing_alone_with_any_known_prefix() {
        let rows = [
            ("RE: Order status CRM:0001002", vec!["CRM"], Some("CRM:0001002")),
            ("re: order status crm:0001002", vec!["CRM"], Some("CRM:0001002")),
            ("Order CRM:0001002 shipped", vec!["CRM"], Some("CRM:0001002")),
            ("XCRM:0001002", vec!["CRM"], None),
            ("CRM:12", vec!["CRM"], None),
            ("CRM:0001002x", vec!["CRM"], None),
            ("Ticket OLD:0004005", vec!["CRM", "OLD"], Some("OLD:0004005")),
            ("no token here", vec!["CRM"], None),
            ("Réunion CRM:0001003", vec!["CRM"], Some("CRM:0001003")),
            ("CRM:abc then CRM:0002001", vec!["CRM"], Some("CRM:0002001")),
        ];
        for (subject, prefixes, want) in rows {
            assert_eq!(find_token(subject, &prefixes).as_deref(), want, "{subject}");
        }
    }

    #[test]
    fn a_reply_continues_the_deepest_ancestor_of_its_thread() {
        let root: Vec<u8> = (0..22).collect();
        let child = [root.clone(), vec![1, 2, 3, 4, 5]].concat();
        let grandchild = [child.clone(), vec![6, 7, 8, 9, 10]].concat();
        let sibling = [root.clone(), vec![9, 9, 9, 9, 9]].concat();
        let other_thread: Vec<u8> = (1..23).collect();
        let cands = vec![
            (ActivityId(1), root.clone()),
            (ActivityId(2), child.clone()),
            (ActivityId(3), sibling.clone()),
            (ActivityId(4), other_thread),
        ];
        assert_eq!(conversation_parent(&grandchild, &cands), Some(ActivityId(2)));
        assert_eq!(conversation_parent(&child, &cands[..1]), Some(ActivityId(1)));
        let cousin = [sibling, vec![1, 1, 1, 1, 1]].concat();
        assert_eq!(conversation_parent(&cousin, &cands), Some(ActivityId(3)));
        assert_eq!(conversation_parent(&(50..72).collect::<Vec<u8>>(), &cands), None);
        assert_eq!(conversation_root(&grandchild), hex::encode(&root));
    }

    #[test]
    fn smart_matching_needs_the_same_subject_and_enough_common_addresses() {
        let re = regex::Regex::new(r"^[\s]*([\w]+\s?:[\s]*)+").ok();
        assert_eq!(subject_key("RE: FW:  Quarterly   Report", re.as_ref(), None), "quarterly report");
        assert_eq!(subject_key("Re: Report CRM:0001002", re.as_ref(), Some("CRM:0001002")), "report");
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        let mine = set(&["a@x", "b@x", "c@x"]);
        let cands =
            vec![(ActivityId(1), set(&["a@x"])), (ActivityId(2), set(&["a@x", "b@x"])), (ActivityId(3), set(&["z@x"]))];
        assert_eq!(smart_match(&mine, &cands, 2), Some(ActivityId(2)));
        assert_eq!(smart_match(&mine, &cands[..1], 2), None);
        assert_eq!(smart_match(&mine, &cands[2..], 0), None, "no common address is never a match");
    }
}
