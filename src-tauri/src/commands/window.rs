//! The window itself.

/// The window's first page has painted (`at_unix_ms`, the page's clock): the app logs how long
/// it took from the process's start, so a slow start on an administrator's machine can be seen.
#[tauri::command]
#[specta::specta]
pub fn window_interactive(at_unix_ms: f64) {
    crate::log_start_up(at_unix_ms);
}
