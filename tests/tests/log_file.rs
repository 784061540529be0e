//! The desktop app's log file. A test binary of its own: the log subscriber is process-wide.

use serversync::logging::{LOG_QUEUE_LINES, init_file};

/// A burst of lines many times longer than the writer thread's queue, from several threads at
/// once, reaches the file whole: a line waits for room rather than being dropped.
#[test]
fn a_burst_longer_than_the_queue_loses_no_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let guard = init_file(dir.path()).unwrap_or_else(|| panic!("no log file"));
    const THREADS: usize = 4;
    let per_thread = LOG_QUEUE_LINES * 5;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..per_thread {
                    tracing::info!(thread = t, line = i, "burst");
                }
            });
        }
    });
    drop(guard); // flushes what is still queued
    let mut text = String::new();
    for entry in std::fs::read_dir(dir.path().join("logs")).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        text.push_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    let lines = text.lines().filter(|l| l.contains("burst")).count();
    assert_eq!(lines, THREADS * per_thread, "lines were dropped");
    for t in 0..THREADS {
        let last = format!("thread={t} line={}", per_thread - 1);
        assert!(text.contains(&last), "thread {t}'s last line is missing");
    }
}
