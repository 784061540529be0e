// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[allow(unsafe_code)]
fn main() {
    // SAFETY: the first thing the process does; no other thread runs yet.
    #[cfg(target_os = "linux")]
    unsafe {
        serversync_app::prepare_environment();
    }
    serversync_app::run();
}
