//! Planning an incoming cycle: a pure function of the stored cursor, the Inbox's state and the
//! server's listing. It says what to fetch, what to record without fetching (too large, before
//! the Process Email From date) and, for POP3, what to delete and what to forget. Applying the
//! plan is the caller's (`sync::incoming`).

use crate::domain::{SyncState, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// Incoming emails larger than this are not created as activities (spec §3.8 step 3).
pub const MAX_MESSAGE_BYTES: u64 = 150 * 1024 * 1024;

/// The Inbox as SELECT reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InboxStatus {
    pub exists: u32,
    pub uid_validity: Option<u32>,
    pub uid_next: Option<u32>,
    /// With CONDSTORE.
    pub highest_modseq: Option<u64>,
}

/// Which UIDs to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Nothing arrived since the last cycle: no listing.
    Nothing,
    /// UIDs from this one on.
    From(u32),
}

/// What the cycle starts from: whether the stored cursor still holds, and what to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// The last UID handled that still counts (0 after a reset).
    pub last_uid: u32,
    /// Why the cursor was reset, if it was.
    pub rescan: Option<Rescan>,
    pub listing: Listing,
}

/// Why the whole Inbox is listed again (duplicates are then recognised by Message-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rescan {
    /// The first cycle of this mailbox.
    First,
    /// The server changed UIDVALIDITY: the stored UIDs mean nothing any more.
    UidValidityChanged,
    /// The effective Process Email From date moved back: earlier mail is to be processed again.
    StartDateMovedBack,
    /// The server no longer knows the stored cursor (Graph's delta link expired).
    CursorExpired,
}

/// The Process Email From dates of a cycle (spec §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dates {
    /// Messages received on or before this are passed over: the later of the profile's date and
    /// the mailbox's date as the administrator set it.
    pub filter_from: Option<Timestamp>,
    /// The administrator moved the mailbox's date back, before what the last cycle wrote: the
    /// Inbox is read again from that date.
    pub moved_back: bool,
}

/// The dates of a cycle. Each cycle advances the mailbox's date to the last message it processed
/// (`written` is what it wrote); that value only records progress: new mail is found by the
/// cursor, so a message delivered in the same second, or appended later with an older date, is
/// still processed. A mailbox date that differs from `written` was set by the administrator and
/// counts as a filter.
pub fn start_dates(
    profile_from: Option<Timestamp>,
    mailbox_from: Option<Timestamp>,
    written: Option<Timestamp>,
) -> Dates {
    let admin = if mailbox_from == written { None } else { mailbox_from };
    let moved_back = matches!((admin, written), (Some(a), Some(w)) if a < w);
    Dates { filter_from: crate::domain::rules::effective_process_email_from(profile_from, admin), moved_back }
}

/// Where an IMAP cycle starts.
pub fn imap_start(cursor: &SyncState, inbox: &InboxStatus, dates: Dates) -> Start {
    let rescan = match (cursor.uid_validity, inbox.uid_validity) {
        (None, _) => Some(Rescan::First),
        (Some(old), Some(new)) if old != new => Some(Rescan::UidValidityChanged),
        _ if dates.moved_back && cursor.last_uid > 0 => Some(Rescan::StartDateMovedBack),
        _ => None,
    };
    let last_uid = if rescan.is_some() { 0 } else { cursor.last_uid };
    let unchanged = rescan.is_none()
        && match (cursor.highest_modseq, inbox.highest_modseq, cursor.uid_next, inbox.uid_next) {
            // CONDSTORE: nothing at all changed in the Inbox.
            (Some(a), Some(b), _, _) if a == b => true,
            // No new UID was given out.
            (_, _, Some(a), Some(b)) => a == b,
            _ => false,
        };
    let listing = if inbox.exists == 0 || unchanged { Listing::Nothing } else { Listing::From(last_uid + 1) };
    Start { last_uid, rescan, listing }
}

/// Where a cycle on a server's own cursor (Graph's delta link) starts: from the stored link, or
/// from a new round over the whole Inbox (the first cycle; the start date moved back).
pub fn cursor_start(cursor: &SyncState, dates: Dates) -> (Option<String>, Option<Rescan>) {
    if cursor.server_cursor.is_empty() {
        (None, Some(Rescan::First))
    } else if dates.moved_back {
        (None, Some(Rescan::StartDateMovedBack))
    } else {
        (Some(cursor.server_cursor.clone()), None)
    }
}

/// Whether a message received at `received` is passed over by the start date (one without a
/// date is processed).
pub fn before_start(received: Option<Timestamp>, dates: Dates) -> bool {
    matches!((received, dates.filter_from), (Some(r), Some(from)) if r <= from)
}

/// One message of an IMAP listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    pub uid: u32,
    pub size: u64,
    /// INTERNALDATE: when the server received it.
    pub internal_date: Option<Timestamp>,
}

/// What to do with one listed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Fetch(Listed),
    /// Over [`MAX_MESSAGE_BYTES`]: recorded as failed, never fetched, left on the server.
    TooLarge(Listed),
    /// Received before the effective Process Email From: passed over.
    BeforeStartDate(Listed),
}

impl Step {
    pub fn uid(&self) -> u32 {
        match self {
            Step::Fetch(l) | Step::TooLarge(l) | Step::BeforeStartDate(l) => l.uid,
        }
    }
}

/// The steps of an IMAP cycle, in UID order: every listed UID above `last_uid` (a listing of
/// `n:*` also returns the last message when there is none above `n`), at most `max_fetch`
/// messages fetched; the cursor then stops at the last step planned.
pub fn plan_imap(
    last_uid: u32,
    listed: &[Listed],
    effective_from: Option<Timestamp>,
    max_fetch: Option<usize>,
) -> Vec<Step> {
    let mut listed: Vec<Listed> = listed.iter().copied().filter(|l| l.uid > last_uid).collect();
    listed.sort_by_key(|l| l.uid);
    listed.dedup_by_key(|l| l.uid);
    let mut steps = Vec::with_capacity(listed.len());
    let mut fetched = 0usize;
    for l in listed {
        let step = if l.size > MAX_MESSAGE_BYTES {
            Step::TooLarge(l)
        } else if let (Some(from), Some(at)) = (effective_from, l.internal_date)
            && at <= from
        {
            Step::BeforeStartDate(l)
        } else {
            Step::Fetch(l)
        };
        if matches!(step, Step::Fetch(_)) {
            if max_fetch.is_some_and(|m| fetched >= m) {
                break;
            }
            fetched += 1;
        }
        steps.push(step);
    }
    steps
}

/// One message of a POP3 listing (UIDL joined with LIST).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Listed {
    pub number: u32,
    pub uidl: String,
    pub size: u64,
}

/// The work of a POP3 cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pop3Plan {
    /// New messages to retrieve, in server order.
    pub fetch: Vec<Pop3Listed>,
    /// New messages over [`MAX_MESSAGE_BYTES`]: recorded as failed and as seen, left on the server.
    pub too_large: Vec<Pop3Listed>,
    /// Messages an activity already holds that are still on the server, to delete now ("Delete
    /// Emails after Processing", when a DELE did not take effect last time). A message that was
    /// seen but not tracked (skipped, failed) is never deleted.
    pub delete: Vec<Pop3Listed>,
    /// UIDLs remembered for messages no longer on the server: forgotten.
    pub forget: Vec<String>,
}

/// Plans a POP3 cycle from the UIDLs already handled (`seen`, each with whether an activity
/// holds it) and the server's listing.
pub fn plan_pop3(
    seen: &BTreeMap<String, bool>,
    listed: &[Pop3Listed],
    delete_after: bool,
    max_fetch: Option<usize>,
) -> Pop3Plan {
    let mut plan = Pop3Plan::default();
    let mut on_server = BTreeSet::new();
    for l in listed {
        if !on_server.insert(l.uidl.as_str()) {
            // A server that lists one UIDL twice: only the first is used.
            continue;
        }
        if let Some(tracked) = seen.get(&l.uidl) {
            if delete_after && *tracked {
                plan.delete.push(l.clone());
            }
        } else if l.size > MAX_MESSAGE_BYTES {
            plan.too_large.push(l.clone());
        } else if max_fetch.is_none_or(|m| plan.fetch.len() < m) {
            plan.fetch.push(l.clone());
        }
    }
    plan.forget = seen.keys().filter(|u| !on_server.contains(u.as_str())).cloned().collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).single().unwrap_or_default()
    }

    #[test]
    fn server_cursor_start_truth_table() {
        let stored = SyncState { server_cursor: "https://graph.test/delta?$deltatoken=7".into(), ..Default::default() };
        let none = SyncState::default();
        let same = Dates { filter_from: None, moved_back: false };
        let back = Dates { filter_from: Some(at(3)), moved_back: true };
        // (rule, stored state, dates, link to start from, rescan)
        let rows = [
            ("the first cycle reads the whole Inbox", &none, same, None, Some(Rescan::First)),
            ("a stored link goes on from it", &stored, same, Some(stored.server_cursor.clone()), None),
            ("the start date moved back: a new round", &stored, back, None, Some(Rescan::StartDateMovedBack)),
            ("no link and the date moved back: still the first", &none, back, None, Some(Rescan::First)),
        ];
        for (rule, state, dates, link, rescan) in rows {
            assert_eq!(cursor_start(state, dates), (link, rescan), "{rule}");
        }
        let from = Dates { filter_from: Some(at(5)), moved_back: false };
        assert!(before_start(Some(at(4)), from), "received before the date: passed over");
        assert!(before_start(Some(at(5)), from), "received on the date: passed over, as IMAP does");
        assert!(!before_start(Some(at(6)), from), "received after: processed");
        assert!(!before_start(None, from), "no date: processed");
        assert!(!before_start(Some(at(1)), same), "no start date: processed");
    }

    #[test]
    fn process_email_from_dates_truth_table() {
        let d = |day| Some(at(day));
        // (rule, profile date, mailbox date, what the last cycle wrote, filter date, moved back)
        let rows = [
            ("no date anywhere", None, None, None, None, false),
            ("the profile's date applies to a new mailbox", d(5), None, None, d(5), false),
            ("a date the administrator set before the first cycle", d(5), d(9), None, d(9), false),
            ("the later of the profile's and the administrator's", d(9), d(5), None, d(9), false),
            ("the date a cycle wrote is progress, not a filter", d(5), d(20), d(20), d(5), false),
            ("moved back by the administrator: rescan from it", None, d(3), d(20), d(3), true),
            ("moved forward by the administrator: a filter", None, d(25), d(20), d(25), false),
        ];
        for (rule, profile, mailbox, written, filter, back) in rows {
            assert_eq!(
                start_dates(profile, mailbox, written),
                Dates { filter_from: filter, moved_back: back },
                "{rule}"
            );
        }
    }

    #[test]
    fn where_an_imap_cycle_starts_truth_table() {
        let cursor = SyncState {
            uid_validity: Some(7),
            last_uid: 40,
            uid_next: Some(41),
            highest_modseq: None,
            ..Default::default()
        };
        let inbox = InboxStatus { exists: 40, uid_validity: Some(7), uid_next: Some(41), highest_modseq: None };
        let same = Dates { filter_from: None, moved_back: false };
        let back = Dates { filter_from: None, moved_back: true };
        let rows: Vec<(&str, SyncState, InboxStatus, Dates, Start)> = vec![
            (
                "first cycle: list everything",
                SyncState::default(),
                inbox,
                same,
                Start { last_uid: 0, rescan: Some(Rescan::First), listing: Listing::From(1) },
            ),
            (
                "nothing new: UIDNEXT unchanged, no listing",
                cursor.clone(),
                inbox,
                same,
                Start { last_uid: 40, rescan: None, listing: Listing::Nothing },
            ),
            (
                "new mail: list from the next UID",
                cursor.clone(),
                InboxStatus { exists: 42, uid_next: Some(43), ..inbox },
                same,
                Start { last_uid: 40, rescan: None, listing: Listing::From(41) },
            ),
            (
                "UIDVALIDITY changed: rescan the whole Inbox",
                cursor.clone(),
                InboxStatus { uid_validity: Some(8), ..inbox },
                same,
                Start { last_uid: 0, rescan: Some(Rescan::UidValidityChanged), listing: Listing::From(1) },
            ),
            (
                "Process Email From moved back: rescan",
                cursor.clone(),
                inbox,
                back,
                Start { last_uid: 0, rescan: Some(Rescan::StartDateMovedBack), listing: Listing::From(1) },
            ),
            (
                "CONDSTORE: an unchanged HIGHESTMODSEQ means nothing to list",
                SyncState { highest_modseq: Some(900), uid_next: None, ..cursor.clone() },
                InboxStatus { highest_modseq: Some(900), uid_next: None, ..inbox },
                same,
                Start { last_uid: 40, rescan: None, listing: Listing::Nothing },
            ),
            (
                "CONDSTORE: a changed HIGHESTMODSEQ lists what is new",
                SyncState { highest_modseq: Some(900), ..cursor.clone() },
                InboxStatus { highest_modseq: Some(905), uid_next: Some(42), ..inbox },
                same,
                Start { last_uid: 40, rescan: None, listing: Listing::From(41) },
            ),
            (
                "an empty Inbox: nothing to list",
                SyncState::default(),
                InboxStatus { exists: 0, ..inbox },
                same,
                Start { last_uid: 0, rescan: Some(Rescan::First), listing: Listing::Nothing },
            ),
        ];
        for (rule, cursor, inbox, dates, want) in rows {
            assert_eq!(imap_start(&cursor, &inbox, dates), want, "{rule}");
        }
    }

    #[test]
    fn imap_steps_truth_table() {
        let l = |uid, size, day| Listed { uid, size, internal_date: Some(at(day)) };
        let listed = [l(12, 10, 3), l(10, 10, 1), l(11, MAX_MESSAGE_BYTES + 1, 5), l(13, 10, 9), l(9, 10, 9)];
        let uids = |s: &[Step]| s.iter().map(|s| (s.uid(), matches!(s, Step::Fetch(_)))).collect::<Vec<_>>();
        // (rule, last uid, start date, cap, expected (uid, fetched))
        type Row = (&'static str, u32, Option<Timestamp>, Option<usize>, Vec<(u32, bool)>);
        let rows: Vec<Row> = vec![
            (
                "in UID order, only above the cursor",
                9,
                None,
                None,
                vec![(10, true), (11, false), (12, true), (13, true)],
            ),
            ("too large is recorded, never fetched", 10, None, None, vec![(11, false), (12, true), (13, true)]),
            (
                "received on or before the start date is passed over",
                9,
                Some(at(3)),
                None,
                vec![(10, false), (11, false), (12, false), (13, true)],
            ),
            (
                "a cap on fetched messages stops the cursor there",
                9,
                None,
                Some(2),
                vec![(10, true), (11, false), (12, true)],
            ),
            ("n:* answered with the last message below n: nothing", 13, None, None, vec![]),
        ];
        for (rule, last, from, cap, want) in rows {
            assert_eq!(uids(&plan_imap(last, &listed, from, cap)), want, "{rule}");
        }
        assert!(matches!(plan_imap(10, &listed, None, None).first(), Some(Step::TooLarge(_))));
    }

    #[test]
    fn pop3_plan_truth_table() {
        let l = |n, u: &str, size| Pop3Listed { number: n, uidl: u.to_owned(), size };
        let listed = vec![
            l(1, "a", 10),
            l(2, "b", 10),
            l(3, "c", MAX_MESSAGE_BYTES + 1),
            l(4, "d", 10),
            l(5, "b", 10),
            l(6, "e", 10),
        ];
        // "a" is tracked, "e" was skipped, "gone" left the server.
        let seen: BTreeMap<String, bool> =
            [("a", true), ("e", false), ("gone", true)].iter().map(|(s, t)| ((*s).to_owned(), *t)).collect();
        let names = |v: &[Pop3Listed]| v.iter().map(|l| l.uidl.clone()).collect::<Vec<_>>();

        let keep = plan_pop3(&seen, &listed, false, None);
        assert_eq!(names(&keep.fetch), vec!["b", "d"], "new messages, a repeated UIDL once");
        assert_eq!(names(&keep.too_large), vec!["c"]);
        assert!(keep.delete.is_empty(), "a user mailbox never deletes");
        assert_eq!(keep.forget, vec!["gone".to_owned()], "a UIDL no longer on the server is forgotten");

        let delete = plan_pop3(&seen, &listed, true, None);
        assert_eq!(names(&delete.delete), vec!["a"], "only what an activity holds is deleted, never a skipped one");
        assert_eq!(names(&delete.fetch), vec!["b", "d"], "new messages are fetched before any delete");

        let capped = plan_pop3(&seen, &listed, false, Some(1));
        assert_eq!(names(&capped.fetch), vec!["b"]);
    }
}
