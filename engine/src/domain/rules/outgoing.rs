//! Outgoing email (spec §3.12, §3.9): the tracking token and the subject that carries it, and what
//! becomes of an email after a try to send it. Pure.

use super::super::{EmailStatus, OrgSettings};

/// `MaximumEmailDeliveryAttempts`: tries before an email that keeps failing for a passing reason
/// is Failed (spec §4, suggested default).
pub const MAX_DELIVERY_ATTEMPTS: u32 = 10;

/// `MaximumSubjectLengthOnMailServer` (spec §3.9).
pub const MAX_SUBJECT_ON_SERVER: usize = 255;

/// The tracking token of a sent email: the prefix, a colon, the online designator (0), the
/// deployment's base number (left out while it is 0), the user number and the message counter,
/// each padded to its configured digits (`CRM:0001002` with the defaults, user 1, message 2). The
/// counter wraps.
pub fn tracking_token(s: &OrgSettings, user_number: u64, counter: u64) -> String {
    let user_mod = 10u64.saturating_pow(s.tracking_user_digits.clamp(1, 10));
    let counter_mod = 10u64.saturating_pow(s.tracking_counter_digits.clamp(1, 9));
    let base = if s.tracking_token_base == 0 { String::new() } else { s.tracking_token_base.to_string() };
    format!(
        "{}:0{}{:0uw$}{:0cw$}",
        s.tracking_prefix.trim(),
        base,
        user_number % user_mod,
        counter % counter_mod,
        uw = s.tracking_user_digits as usize,
        cw = s.tracking_counter_digits as usize,
    )
}

/// The subject as sent: the token after it, the subject cut so that both fit in
/// [`MAX_SUBJECT_ON_SERVER`] characters; when the token alone does not fit, the subject without it.
pub fn subject_with_token(subject: &str, token: Option<&str>) -> String {
    let subject = subject.trim();
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return subject.chars().take(MAX_SUBJECT_ON_SERVER).collect();
    };
    let room = MAX_SUBJECT_ON_SERVER.saturating_sub(token.chars().count() + 1);
    if token.chars().count() > MAX_SUBJECT_ON_SERVER {
        return subject.chars().take(MAX_SUBJECT_ON_SERVER).collect();
    }
    let cut: String = subject.chars().take(room).collect();
    if cut.is_empty() { token.to_owned() } else { format!("{} {token}", cut.trim_end()) }
}

/// What a try to send ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendResult {
    Sent,
    /// Refused for this email (a recipient the server refuses, a message it will not take).
    RefusedForThisEmail,
    /// A passing failure (timeout, connection lost, busy, throttled).
    Transient,
    /// A failure of the mailbox or its server (credentials, TLS, not enabled): no email of the
    /// mailbox can go until it is fixed.
    MailboxLevel,
}

/// The email's status after a try (attempts counted already): Sent; Failed when the server refused
/// this email or a passing failure has used up the attempts; else Pending Send, to be tried again.
pub fn after_try(result: SendResult, attempts: u32) -> EmailStatus {
    match result {
        SendResult::Sent => EmailStatus::Sent,
        SendResult::RefusedForThisEmail => EmailStatus::Failed,
        SendResult::Transient if attempts >= MAX_DELIVERY_ATTEMPTS => EmailStatus::Failed,
        SendResult::Transient | SendResult::MailboxLevel => EmailStatus::PendingSend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_tokens_follow_the_settings() {
        let mut s = OrgSettings::defaults(chrono::Utc::now());
        assert_eq!(tracking_token(&s, 1, 2), "CRM:0001002");
        assert_eq!(tracking_token(&s, 12, 999), "CRM:0012999");
        assert_eq!(tracking_token(&s, 1, 1000), "CRM:0001000", "the counter wraps 999 → 000");
        s.tracking_prefix = "TKT".into();
        s.tracking_token_base = 42;
        s.tracking_user_digits = 2;
        s.tracking_counter_digits = 4;
        assert_eq!(tracking_token(&s, 7, 31), "TKT:042070031");
        assert_eq!(tracking_token(&s, 107, 31), "TKT:042070031", "the user number keeps its digits");
    }

    #[test]
    fn the_subject_keeps_the_token_within_255_characters() {
        assert_eq!(subject_with_token("Order status", Some("CRM:0001002")), "Order status CRM:0001002");
        assert_eq!(subject_with_token("Order status", None), "Order status");
        let long = "é".repeat(300);
        let s = subject_with_token(&long, Some("CRM:0001002"));
        assert_eq!(s.chars().count(), 255);
        assert!(s.ends_with(" CRM:0001002"));
        assert_eq!(subject_with_token("", Some("CRM:0001002")), "CRM:0001002");
        let huge_token = "X".repeat(300);
        assert_eq!(subject_with_token("Hi", Some(&huge_token)), "Hi", "a token that cannot fit is left out");
    }

    #[test]
    fn what_a_try_leaves_truth_table() {
        use EmailStatus as S;
        use SendResult as R;
        let rows = [
            ("sent", R::Sent, 1, S::Sent),
            ("refused for this email: failed at once", R::RefusedForThisEmail, 1, S::Failed),
            ("passing failure: tried again", R::Transient, 3, S::PendingSend),
            ("passing failure, attempts used up: failed", R::Transient, MAX_DELIVERY_ATTEMPTS, S::Failed),
            ("the mailbox cannot send: the email waits", R::MailboxLevel, MAX_DELIVERY_ATTEMPTS + 5, S::PendingSend),
        ];
        for (rule, result, attempts, want) in rows {
            assert_eq!(after_try(result, attempts), want, "{rule}");
        }
    }
}
