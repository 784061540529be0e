//! Feeds arbitrary bytes, as a hostile or broken Exchange server would send them, to the readers
//! of EWS answers (streamed ones included) and Autodiscover answers: they must return a value or an error, never panic or
//! recurse without bound.
#![no_main]

// The readers are pure: the target compiles the engine's own source file rather than the whole
// engine with its TLS and SQLite dependencies.
#[path = "../../src/protocol/ews/reply.rs"]
#[allow(dead_code)]
mod reply;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A GetStreamingEvents stream: cut into envelopes wherever they end.
    let mut rest = data;
    while let Some(end) = reply::envelope_end(rest) {
        if let Ok(envelope) = reply::parse(&rest[..end]) {
            for m in reply::messages(&envelope) {
                let _ = reply::stream_envelope(m.node);
            }
        }
        rest = &rest[end..];
    }
    let Ok(root) = reply::parse(data) else { return };
    let _ = reply::fault(&root);
    for m in reply::messages(&root) {
        let _ = m.is_error();
        let _ = reply::sync_page(m.node);
        let _ = reply::mime(m.node);
        let _ = reply::folders(m.node);
    }
    // Autodiscover: the POX answer and the SOAP GetUserSettings answer.
    let _ = reply::read_pox(&root);
    let _ = reply::read_soap(&root);
});
