//! POP3 responses (RFC 1939, 2449, 5034), parsed without I/O: the client feeds bytes and gets
//! either a complete response and how many bytes it used, or "need more". Anything a server
//! sends — truncated, oversized, binary, hostile — yields a value or an error, never a panic.
//! Property tests below; a `cargo fuzz` target in `engine/fuzz/`.

use std::fmt;

/// The longest status line accepted (RFC 2449 allows 512 octets; some servers send more).
pub const MAX_LINE: usize = 4096;
/// The most lines a multi-line answer to CAPA, LIST or UIDL may have before it is refused.
pub const MAX_LINES: usize = 1_000_000;
/// The longest line of a message body accepted from RETR (RFC 5322 allows 998 octets; HTML
/// written by some clients runs longer, so the bound is generous but finite).
pub const MAX_BODY_LINE: usize = 1024 * 1024;

/// A status indicator: `+OK`, `-ERR`, or `+ ` (a SASL continuation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indicator {
    Ok,
    Err,
    Continue,
}

/// An RFC 2449 extended response code, e.g. `[AUTH]`, `[IN-USE]`, `[SYS/TEMP]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RespCode {
    /// `[AUTH]`: the credentials were wrong.
    Auth,
    /// `[IN-USE]`: the mailbox is locked by another session.
    InUse,
    /// `[LOGIN-DELAY]`: signed in too soon after the last time.
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary problem on the server.
    SysTemp,
    /// `[SYS/PERM]`: a permanent problem on the server.
    SysPerm,
    /// Any other code.
    Other(String),
}

impl RespCode {
    fn parse(s: &str) -> RespCode {
        match s.to_ascii_uppercase().as_str() {
            "AUTH" => RespCode::Auth,
            "IN-USE" => RespCode::InUse,
            "LOGIN-DELAY" => RespCode::LoginDelay,
            "SYS/TEMP" => RespCode::SysTemp,
            "SYS/PERM" => RespCode::SysPerm,
            _ => RespCode::Other(s.to_owned()),
        }
    }

    /// Whether the server says to try again later.
    /// The code as the server wrote it (`AUTH`, `SYS/TEMP`).
    pub fn name(&self) -> &str {
        match self {
            RespCode::Auth => "AUTH",
            RespCode::InUse => "IN-USE",
            RespCode::LoginDelay => "LOGIN-DELAY",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::SysPerm => "SYS/PERM",
            RespCode::Other(s) => s,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, RespCode::InUse | RespCode::LoginDelay | RespCode::SysTemp)
    }
}

/// A status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub indicator: Indicator,
    pub code: Option<RespCode>,
    /// The human-readable rest of the line (after the code), lossily decoded.
    pub text: String,
}

/// Why bytes are not a POP3 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A line longer than [`MAX_LINE`].
    LineTooLong,
    /// A multi-line answer longer than [`MAX_LINES`].
    TooManyLines,
    /// A status line that starts with neither `+OK`, `-ERR` nor `+ `.
    BadIndicator(String),
    /// A STAT answer without two numbers.
    BadStat(String),
    /// A line of a UIDL or LIST answer that is not `<number> <value>`.
    BadListing(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::LineTooLong => write!(f, "a response line is longer than {MAX_LINE} bytes"),
            ParseError::TooManyLines => write!(f, "a multi-line response has more than {MAX_LINES} lines"),
            ParseError::BadIndicator(l) => write!(f, "not a POP3 status line: {l:?}"),
            ParseError::BadStat(l) => write!(f, "not a STAT answer: {l:?}"),
            ParseError::BadListing(l) => write!(f, "not a UIDL or LIST line: {l:?}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// The result of feeding bytes: a value and the bytes it used, or a need for more bytes.
pub type Parsed<T> = Result<Option<(T, usize)>, ParseError>;

/// Finds one CRLF- (or bare LF-) terminated line at the start of `buf`; returns it without its
/// terminator, and the bytes used.
pub fn line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, ParseError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) if i > MAX_LINE => Err(ParseError::LineTooLong),
        Some(i) => {
            let end = if i > 0 && buf[i - 1] == b'\r' { i - 1 } else { i };
            Ok(Some((&buf[..end], i + 1)))
        }
        None if buf.len() > MAX_LINE => Err(ParseError::LineTooLong),
        None => Ok(None),
    }
}

/// Parses the text of one status line (without its terminator).
pub fn parse_status_line(l: &[u8]) -> Result<Status, ParseError> {
    let text = String::from_utf8_lossy(l);
    let (indicator, rest) = if let Some(r) = strip_prefix_ci(&text, "+OK") {
        (Indicator::Ok, r)
    } else if let Some(r) = strip_prefix_ci(&text, "-ERR") {
        (Indicator::Err, r)
    } else if text == "+" || text.starts_with("+ ") {
        (Indicator::Continue, text.get(1..).unwrap_or_default())
    } else {
        return Err(ParseError::BadIndicator(text.chars().take(80).collect()));
    };
    // After the indicator comes nothing, or a space and the text.
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return Err(ParseError::BadIndicator(text.chars().take(80).collect()));
    }
    let rest = rest.trim_start_matches(' ');
    let (code, text) = match rest.strip_prefix('[').and_then(|r| r.find(']').map(|i| (r, i))) {
        Some((r, i)) if indicator != Indicator::Continue => {
            (Some(RespCode::parse(&r[..i])), r[i + 1..].trim_start_matches(' ').to_owned())
        }
        _ => (None, rest.to_owned()),
    };
    Ok(Status { indicator, code, text })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len() && s.is_char_boundary(prefix.len()) && s[..prefix.len()].eq_ignore_ascii_case(prefix) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// Parses one status line from the start of `buf`.
pub fn status(buf: &[u8]) -> Parsed<Status> {
    match line(buf)? {
        Some((l, used)) => Ok(Some((parse_status_line(l)?, used))),
        None => Ok(None),
    }
}

/// Parses a multi-line answer body (after its `+OK` line): lines up to the lone `.`, with the
/// leading dot of "byte-stuffed" lines removed. Returns the lines and the bytes used.
pub fn multiline(buf: &[u8]) -> Parsed<Vec<Vec<u8>>> {
    let mut lines = Vec::new();
    let mut pos = 0;
    loop {
        match line(&buf[pos..])? {
            None => return Ok(None),
            Some((l, used)) => {
                pos += used;
                if l == b"." {
                    return Ok(Some((lines, pos)));
                }
                if lines.len() >= MAX_LINES {
                    return Err(ParseError::TooManyLines);
                }
                let unstuffed = if l.first() == Some(&b'.') { &l[1..] } else { l };
                lines.push(unstuffed.to_vec());
            }
        }
    }
}

/// Capabilities from a CAPA answer (RFC 2449): keywords upper-cased, with their arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(pub Vec<(String, Vec<String>)>);

impl Capabilities {
    pub fn from_lines(lines: &[Vec<u8>]) -> Capabilities {
        Capabilities(
            lines
                .iter()
                .filter_map(|l| {
                    let text = String::from_utf8_lossy(l);
                    let mut words = text.split_ascii_whitespace();
                    let keyword = words.next()?.to_ascii_uppercase();
                    Some((keyword, words.map(str::to_owned).collect()))
                })
                .collect(),
        )
    }

    /// Whether the server offers `keyword` (e.g. `STLS`, `USER`).
    pub fn has(&self, keyword: &str) -> bool {
        self.0.iter().any(|(k, _)| k.eq_ignore_ascii_case(keyword))
    }

    /// Whether the server offers the SASL mechanism `mech`.
    pub fn has_sasl(&self, mech: &str) -> bool {
        self.0.iter().any(|(k, args)| k == "SASL" && args.iter().any(|a| a.eq_ignore_ascii_case(mech)))
    }
}

/// The answer to STAT: `+OK <count> <octets>`.
pub fn parse_stat(text: &str) -> Result<(u32, u64), ParseError> {
    let mut it = text.split_ascii_whitespace();
    let count = it.next().and_then(|n| n.parse().ok());
    let size = it.next().and_then(|n| n.parse().ok());
    match (count, size) {
        (Some(c), Some(s)) => Ok((c, s)),
        _ => Err(ParseError::BadStat(text.chars().take(80).collect())),
    }
}

/// A piece of a message body streamed from RETR: the complete lines found at the start of the
/// buffer, unstuffed and ending in CRLF, the bytes they used, and whether the lone `.` that
/// ends the message was among them (it is not part of the body). An incomplete last line is
/// left for the next call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BodyChunk {
    pub bytes: Vec<u8>,
    pub used: usize,
    pub done: bool,
}

pub fn body_chunk(buf: &[u8]) -> Result<BodyChunk, ParseError> {
    let mut out = BodyChunk::default();
    while let Some(i) = buf[out.used..].iter().position(|&b| b == b'\n') {
        if i > MAX_BODY_LINE {
            return Err(ParseError::LineTooLong);
        }
        let raw = &buf[out.used..out.used + i];
        let l = raw.strip_suffix(b"\r").unwrap_or(raw);
        out.used += i + 1;
        if l == b"." {
            out.done = true;
            return Ok(out);
        }
        out.bytes.extend_from_slice(l.strip_prefix(b".").unwrap_or(l));
        out.bytes.extend_from_slice(b"\r\n");
    }
    if buf.len() - out.used > MAX_BODY_LINE {
        return Err(ParseError::LineTooLong);
    }
    Ok(out)
}

/// One line of a UIDL (`<n> <unique-id>`) or LIST (`<n> <octets>`) answer.
pub fn parse_listing(line: &[u8]) -> Result<(u32, String), ParseError> {
    let text = String::from_utf8_lossy(line);
    let mut it = text.split_ascii_whitespace();
    match (it.next().and_then(|n| n.parse().ok()), it.next()) {
        (Some(n), Some(v)) if it.next().is_none() => Ok((n, v.to_owned())),
        _ => Err(ParseError::BadListing(text.chars().take(80).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn done<T: std::fmt::Debug>(r: Parsed<T>) -> (T, usize) {
        match r {
            Ok(Some(v)) => v,
            other => panic!("expected a complete response, got {other:?}"),
        }
    }

    #[test]
    fn status_lines() {
        let (s, used) = done(status(b"+OK Dovecot ready.\r\nrest"));
        assert_eq!((s.indicator, s.code, s.text.as_str(), used), (Indicator::Ok, None, "Dovecot ready.", 20));
        let (s, _) = done(status(b"-ERR [AUTH] Authentication failed.\r\n"));
        assert_eq!(
            (s.indicator, s.code, s.text.as_str()),
            (Indicator::Err, Some(RespCode::Auth), "Authentication failed.")
        );
        let (s, _) = done(status(b"-ERR [IN-USE] locked\n"));
        assert!(s.code.is_some_and(|c| c.is_transient()));
        let (s, _) = done(status(b"+OK\r\n"));
        assert_eq!((s.indicator, s.text.as_str()), (Indicator::Ok, ""));
        let (s, _) = done(status(b"+ \r\n"));
        assert_eq!(s.indicator, Indicator::Continue);
        assert_eq!(status(b"+OK partial"), Ok(None));
        assert!(matches!(status(b"* OK IMAP\r\n"), Err(ParseError::BadIndicator(_))));
        assert!(matches!(status(b"+OKAY\r\n"), Err(ParseError::BadIndicator(_))));
        assert_eq!(status(&[b'+'; MAX_LINE + 2]), Err(ParseError::LineTooLong));
    }

    #[test]
    fn multiline_unstuffs_and_stops_at_the_dot() {
        let body = b"STLS\r\nSASL PLAIN LOGIN\r\n..leading dot\r\n.\r\nNEXT";
        let (lines, used) = done(multiline(body));
        assert_eq!(lines, vec![b"STLS".to_vec(), b"SASL PLAIN LOGIN".to_vec(), b".leading dot".to_vec()]);
        assert_eq!(&body[used..], b"NEXT");
        assert_eq!(multiline(b"STLS\r\nUSER\r\n"), Ok(None));
        let caps = Capabilities::from_lines(&lines);
        assert!(caps.has("stls") && caps.has_sasl("plain") && !caps.has_sasl("XOAUTH2"));
    }

    #[test]
    fn stat_answers() {
        assert_eq!(parse_stat("2 320"), Ok((2, 320)));
        assert!(parse_stat("two 320").is_err());
        assert!(parse_stat("").is_err());
    }

    #[test]
    fn a_body_streams_line_by_line_unstuffed_and_stops_at_the_dot() {
        let wire = b"Subject: hi\r\n\r\n..dot\r\nlast\r\n.\r\n+OK next";
        let mut body = Vec::new();
        let mut pos = 0;
        // Fed three bytes at a time, as a slow server would send it.
        let mut end = 0;
        loop {
            end = (end + 3).min(wire.len());
            let c = body_chunk(&wire[pos..end]).unwrap_or_else(|e| panic!("{e}"));
            body.extend_from_slice(&c.bytes);
            pos += c.used;
            if c.done {
                break;
            }
            assert!(end < wire.len(), "the terminator was never found");
        }
        assert_eq!(body, b"Subject: hi\r\n\r\n.dot\r\nlast\r\n");
        assert_eq!(&wire[pos..], b"+OK next");
        assert_eq!(body_chunk(&vec![b'x'; MAX_BODY_LINE + 2]), Err(ParseError::LineTooLong));
    }

    #[test]
    fn listings_have_a_number_and_a_value() {
        assert_eq!(parse_listing(b"1 whqtswO00WBw418f9t5JxYwZ"), Ok((1, "whqtswO00WBw418f9t5JxYwZ".into())));
        assert_eq!(parse_listing(b"12 3120"), Ok((12, "3120".into())));
        for bad in [&b"x 1"[..], b"1", b"", b"1 a b"] {
            assert!(parse_listing(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any bytes: a value, "need more", or an error — never a panic, never more bytes
        /// used than given.
        #[test]
        fn any_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(Some((_, used))) = status(&buf) { prop_assert!(used <= buf.len()); }
            if let Ok(Some((_, used))) = multiline(&buf) { prop_assert!(used <= buf.len()); }
        }

        /// A status line round-trips: what is written is what is read, whatever the text.
        #[test]
        fn status_round_trips(ok in any::<bool>(), text in "[ -~]{0,100}", tail in proptest::collection::vec(any::<u8>(), 0..20)) {
            let text = text.trim().to_owned();
            prop_assume!(!text.starts_with('['));
            let mut buf = format!("{} {}\r\n", if ok { "+OK" } else { "-ERR" }, text).into_bytes();
            let len = buf.len();
            buf.extend_from_slice(&tail);
            let (s, used) = done(status(&buf));
            prop_assert_eq!(used, len);
            prop_assert_eq!(s.indicator, if ok { Indicator::Ok } else { Indicator::Err });
            prop_assert_eq!(s.text, text);
        }

        /// Dot-stuffing round-trips: lines stuffed as a server sends them come back unchanged,
        /// however the bytes are split into reads.
        #[test]
        fn multiline_round_trips(lines in proptest::collection::vec("[ -~]{0,40}", 0..30), split in 0usize..2000) {
            let mut wire = Vec::new();
            for l in &lines {
                if l.starts_with('.') { wire.push(b'.'); }
                wire.extend_from_slice(l.as_bytes());
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b".\r\n");
            let cut = split % (wire.len() + 1);
            // A prefix is either incomplete or (if it ends exactly at the terminator) complete.
            match multiline(&wire[..cut]) {
                Ok(None) => prop_assert!(cut < wire.len()),
                Ok(Some((_, used))) => prop_assert_eq!(used, wire.len()),
                Err(e) => prop_assert!(false, "{e}"),
            }
            let (got, used) = done(multiline(&wire));
            prop_assert_eq!(used, wire.len());
            let want: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
