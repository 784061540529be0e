//! Feeds arbitrary bytes, as a hostile or broken POP3 server would send them, to the POP3
//! response parser: it must return a value, "need more" or an error — never panic, loop, or
//! claim more bytes than it was given.
#![no_main]

// The parser is pure (std only), so the target compiles the engine's own source file rather
// than the whole engine with its TLS and SQLite dependencies.
#[path = "../../src/protocol/pop3/parse.rs"]
#[allow(dead_code)]
mod parse;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((status, used))) = parse::status(data) {
        assert!(used <= data.len());
        let _ = parse::parse_stat(&status.text);
        if let Ok(Some((lines, more))) = parse::multiline(&data[used..]) {
            assert!(used + more <= data.len());
            let caps = parse::Capabilities::from_lines(&lines);
            let _ = caps.has("STLS") || caps.has_sasl("PLAIN");
        }
    }
    if let Ok(Some((lines, used))) = parse::multiline(data) {
        assert!(used <= data.len());
        assert!(lines.iter().all(|l| !l.contains(&b'\n')));
    }
});
