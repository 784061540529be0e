//! The window itself.

/// The window's first page has painted (`at_unix_ms`, the page's clock; the page started loading
/// at `page_start_unix_ms`): the app logs how long it took from the process's start, and how much
/// of it went before the page started loading, so a slow start on an administrator's machine can
/// be seen and placed.
#[tauri::command]
#[specta::specta]
pub fn window_interactive(at_unix_ms: f64, page_start_unix_ms: f64) {
    crate::log_start_up(at_unix_ms, page_start_unix_ms);
}
