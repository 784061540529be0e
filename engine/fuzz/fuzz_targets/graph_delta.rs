//! Feeds arbitrary bytes, as a hostile or broken Graph endpoint would send them, to the parsers of
//! Graph's answers (a delta page, an error body, `Retry-After`): they must return a value or an
//! error, never panic, and never accept a link that leaves the endpoint.
#![no_main]

// The parsers are pure: the target compiles the engine's own source file rather than the whole
// engine with its TLS and SQLite dependencies.
#[path = "../../src/protocol/graph/wire.rs"]
#[allow(dead_code)]
mod wire;

use libfuzzer_sys::fuzz_target;

const BASE: &str = "https://graph.microsoft.com";

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = wire::delta_page(data, BASE) {
        for link in page.next.iter().chain(&page.delta) {
            assert!(wire::same_origin(link, BASE), "a link outside the endpoint was accepted: {link}");
        }
    }
    let _ = wire::odata_error(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let max = std::time::Duration::from_secs(60);
        if let Some(wait) = wire::retry_after(Some(text), chrono::Utc::now(), max) {
            assert!(wait <= max);
        }
    }
});
