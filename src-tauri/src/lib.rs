//! ServerSync's desktop shell. It opens the engine at start-up, registers one command per
//! operation (each a few lines around one `serversync::api` call), and closes the engine when the
//! app exits. Nothing here knows SQLite, the keychain or a mail protocol.

pub mod commands;
pub mod events;

use serversync::{Engine, EngineConfig, Flavor, default_data_dir};
use tauri::Manager;
use tauri_specta::{Builder, collect_commands, collect_events};

/// Every command the UI may call, listed once: registered with Tauri and exported as typed
/// bindings to `ui/src/bindings/`.
pub fn specta_builder() -> Builder<tauri::Wry> {
    use commands::*;
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            settings::get_settings,
            settings::update_settings,
            settings::first_run_progress,
            settings::form_catalog,
            profiles::list_profiles,
            profiles::get_profile,
            profiles::create_profile,
            profiles::update_profile,
            profiles::set_profile_state,
            profiles::set_default_profile,
            profiles::delete_profile,
            profiles::set_profile_secret,
            profiles::clear_profile_secret,
            profiles::profile_form_fields,
            profiles::new_profile_draft,
            profiles::test_profile_connection,
            principals::list_user_page,
            principals::get_user,
            principals::get_queue,
            principals::list_queue_page,
            principals::create_user,
            principals::update_user,
            principals::set_user_state,
            principals::create_queue,
            principals::update_queue,
            principals::set_queue_state,
            mailboxes::list_mailbox_page,
            mailboxes::selected_mailbox_ids,
            mailboxes::get_mailbox,
            mailboxes::create_forward_mailbox,
            mailboxes::delete_forward_mailbox,
            mailboxes::update_mailbox,
            mailboxes::edit_mailboxes,
            mailboxes::set_mailbox_state,
            mailboxes::approve_mailboxes,
            mailboxes::reject_mailboxes,
            mailboxes::apply_default_settings,
            mailboxes::set_mailbox_credentials,
            mailboxes::clear_mailbox_credentials,
            alerts::list_alerts,
            alerts::list_alert_page,
            alerts::delete_alerts,
            jobs::start_test_and_enable,
            jobs::get_job,
            jobs::cancel_job,
            records::list_contacts,
            records::list_contact_page,
            records::selected_contact_ids,
            records::get_contact,
            records::create_contact,
            records::update_contact,
            records::set_contact_state,
            records::import_contacts,
            records::list_accounts,
            records::list_account_page,
            records::selected_account_ids,
            records::get_account,
            records::create_account,
            records::update_account,
            records::set_account_state,
            records::import_accounts,
            records::list_leads,
            records::list_lead_page,
            records::selected_lead_ids,
            records::get_lead,
            records::create_lead,
            records::update_lead,
            records::set_lead_state,
            records::import_leads,
            activities::list_email_activities,
            activities::get_email_activity,
            activities::set_email_regarding,
            activities::export_email,
            activities::export_attachment,
            activities::sync_mailboxes,
            activities::get_sync_state,
            activities::list_item_outcomes,
            activities::send_email,
            activities::list_outbox_page,
            activities::retry_email,
            activities::send_pending,
            scheduler::scheduler_status,
            scheduler::run_due_workloads,
            scheduler::get_mailbox_schedule,
            scheduler::list_sync_runs,
            scheduler::export_mailbox_details,
            scheduler::monitoring_summary,
            window::window_interactive,
        ])
        .events(collect_events![events::JobChanged, events::SyncChanged])
        .dangerously_cast_bigints_to_number()
}

/// Writes the TypeScript bindings to `path`: the commands and DTOs as specta exports them, with
/// every id type branded (`number & { readonly __brand: "MailboxId" }`) so that the UI cannot pass
/// one entity's id where another's is wanted.
pub fn export_bindings(exporter: specta_typescript::Typescript, path: &std::path::Path) -> Result<(), String> {
    specta_builder().export(exporter, path).map_err(|e| format!("export: {e}"))?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let branded = brand_ids(&text, &serversync::api::id_type_names());
    std::fs::write(path, branded).map_err(|e| format!("write {}: {e}", path.display()))
}

/// Turns each `export type XId = number;` of `names` into a branded number type.
fn brand_ids(bindings: &str, names: &[&str]) -> String {
    let mut out = bindings.to_owned();
    for name in names {
        let plain = format!("export type {name} = number;");
        let branded = format!("export type {name} = number & {{ readonly __brand: \"{name}\" }};");
        out = out.replace(&plain, &branded);
    }
    out
}

/// Where the app keeps its data: `SERVERSYNC_DATA_DIR`, or the user's data directory for this
/// build's flavor (release and development builds never share data or keychain entries).
fn data_dir() -> Result<std::path::PathBuf, serversync::Error> {
    match std::env::var_os("SERVERSYNC_DATA_DIR") {
        Some(d) if !d.is_empty() => Ok(d.into()),
        _ => default_data_dir(Flavor::current()),
    }
}

/// The window's web view, made lighter: the window shows one local page and its data arrive
/// through IPC, so WebKit's caches for browsing (memory cache of resources, back/forward page
/// cache) and WebGL only cost memory here; and its flat pages paint faster, in less memory,
/// without GPU compositing (most of all where Mesa draws on the CPU). See docs/adr/0016.
#[cfg(target_os = "linux")]
fn lighten_webview(window: &tauri::WebviewWindow) {
    let done = window.with_webview(|wv| {
        use webkit2gtk::{CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt};
        let view = wv.inner();
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_enable_page_cache(false);
            settings.set_enable_webgl(false);
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    if let Err(e) = done {
        tracing::warn!(error = %e, "the web view's settings could not be applied");
    }
}

/// What GTK and WebKit read from the environment only: GTK's own OpenGL, and WebKit's DMA-BUF
/// renderer (the web process's frames shared through GPU buffers). The window needs neither: its
/// web view paints without compositing, so both only load Mesa's drivers and cost about 10 MB
/// idle (docs/adr/0016). A variable already set is left as it is.
pub const PAINT_WITHOUT_GL: [(&str, &str); 2] = [("GDK_GL", "disable"), ("WEBKIT_DISABLE_DMABUF_RENDERER", "1")];

/// Sets [`PAINT_WITHOUT_GL`] where the environment does not say otherwise.
///
/// # Safety
/// No other thread may run: call it first thing in `main`.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub unsafe fn prepare_environment() {
    for (name, value) in PAINT_WITHOUT_GL {
        if std::env::var_os(name).is_none() {
            // SAFETY: the caller guarantees that no other thread runs (see above).
            unsafe { std::env::set_var(name, value) };
        }
    }
}

/// Logs the start-up time: from the process's start (on Linux, as the kernel recorded it, so the
/// loading of the libraries counts) to `at_unix_ms`, when the window's first page painted; and,
/// of it, the time before the page started loading (`page_start_unix_ms`).
pub fn log_start_up(at_unix_ms: f64, page_start_unix_ms: f64) {
    let page_ms = (at_unix_ms - page_start_unix_ms).round() as i64;
    match process_start_unix_ms("self") {
        Some(start) => tracing::info!(
            since_process_start_ms = (at_unix_ms - start).round() as i64,
            before_page_ms = (page_start_unix_ms - start).round() as i64,
            page_ms,
            "window interactive"
        ),
        None => tracing::info!(page_ms, "window interactive"),
    }
}

/// When process `pid` ("self" for this one) started, in milliseconds since the Unix epoch
/// (Linux: `/proc`).
///
/// The kernel records a process's start in clock ticks since boot. The boot's own time is read
/// as now minus the uptime, not from `btime` in `/proc/stat`: that one is rounded down to the
/// second, which would move every start up to a second earlier.
pub fn process_start_unix_ms(pid: &str) -> Option<f64> {
    #[cfg(target_os = "linux")]
    {
        // Field 22 of the stat file (the start in clock ticks since boot) comes after the
        // command name, which may hold spaces: count from its closing parenthesis.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let ticks: f64 = stat.get(stat.rfind(')')? + 2..)?.split(' ').nth(19)?.parse().ok()?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64();
        let uptime: f64 = std::fs::read_to_string("/proc/uptime").ok()?.split(' ').next()?.parse().ok()?;
        // USER_HZ is 100 on every Linux the app runs on.
        Some((now - uptime + ticks / 100.0) * 1000.0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Keeps the log file's writer alive (and flushed at exit).
struct LogGuard(#[allow(dead_code)] serversync::logging::FileLogGuard);

/// Runs the desktop app.
pub fn run() {
    let builder = specta_builder();
    let app = tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let dir = data_dir()?;
            // The log file's writer flushes on drop: the app keeps its guard for its whole life.
            if let Some(guard) = serversync::logging::init_file(&dir) {
                app.manage(LogGuard(guard));
            }
            tracing::info!(data_dir = %dir.display(), "ServerSync desktop app starting");
            let engine = tauri::async_runtime::block_on(Engine::open(EngineConfig::new(dir)))?;
            events::forward_job_changes(app.handle().clone(), &engine);
            events::forward_sync_changes(app.handle().clone(), &engine);
            // The scheduler runs while the window is open, unless the organisation turned it off.
            if let Err(e) = tauri::async_runtime::block_on(serversync::api::follow_desktop_setting(&engine)) {
                tracing::error!(error = %e, "the scheduler could not start");
            }
            app.manage(engine);
            #[cfg(target_os = "linux")]
            if let Some(window) = app.get_webview_window("main") {
                lighten_webview(&window);
            }
            Ok(())
        })
        // The window starts hidden (tauri.conf.json) and shows once its page has loaded, so it
        // appears with its content. Shown before the web process had started, WebKit's first
        // paint of the empty view waited up to half a second for it (one start in five).
        .on_page_load(|webview, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished
                && let Err(e) = webview.window().show()
            {
                tracing::warn!(error = %e, "the window could not be shown");
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("ServerSync could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(engine) = handle.try_state::<Engine>()
        {
            let _ = tauri::async_runtime::block_on(engine.close());
        }
    });
}

#[cfg(test)]
mod tests {
    use specta_typescript::Typescript;

    const BINDINGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings/index.ts");

    fn exporter() -> Typescript {
        Typescript::default()
            .header("// Generated from the Rust commands and DTOs by `cargo test -p serversync-app`. Do not edit.\n")
    }

    /// The committed bindings are what the Rust side exports; `SERVERSYNC_WRITE_BINDINGS=1`
    /// rewrites them.
    #[test]
    fn typescript_bindings_match_the_rust_commands() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let fresh = dir.path().join("index.ts");
        super::export_bindings(exporter(), &fresh).unwrap_or_else(|e| panic!("{e}"));
        let fresh = std::fs::read_to_string(&fresh).unwrap_or_default();
        if std::env::var_os("SERVERSYNC_WRITE_BINDINGS").is_some() {
            std::fs::write(BINDINGS, &fresh).unwrap_or_else(|e| panic!("write {BINDINGS}: {e}"));
        }
        let committed = std::fs::read_to_string(BINDINGS).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/bindings/index.ts is out of date: run SERVERSYNC_WRITE_BINDINGS=1 cargo test -p serversync-app"
        );
    }

    const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings/catalog.json");

    /// The UI's tests answer `form_catalog` with the engine's real catalog, committed beside the
    /// bindings and kept up to date the same way.
    #[test]
    fn the_committed_form_catalog_is_the_engines() {
        let fresh = serde_json::to_string_pretty(&serversync::api::form_catalog()).unwrap_or_default() + "\n";
        if std::env::var_os("SERVERSYNC_WRITE_BINDINGS").is_some() {
            std::fs::write(CATALOG, &fresh).unwrap_or_else(|e| panic!("write {CATALOG}: {e}"));
        }
        let committed = std::fs::read_to_string(CATALOG).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/bindings/catalog.json is out of date: run SERVERSYNC_WRITE_BINDINGS=1 cargo test -p serversync-app"
        );
    }

    /// A process's start as read from /proc lies between the moment just before it was spawned
    /// and now, to the kernel's tick (10 ms) and the uptime's resolution (10 ms). Read from
    /// `btime` (whole seconds) it would be up to a second early.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_process_start_is_read_to_the_tick() {
        let unix_ms = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        };
        for _ in 0..3 {
            let before = unix_ms();
            let mut child =
                std::process::Command::new("sleep").arg("1").spawn().unwrap_or_else(|e| panic!("sleep: {e}"));
            let start = super::process_start_unix_ms(&child.id().to_string());
            let after = unix_ms();
            let _ = child.kill();
            let _ = child.wait();
            let start = start.unwrap_or_else(|| panic!("no start read"));
            assert!(
                start >= before - 25.0 && start <= after + 25.0,
                "started at {start}, spawned between {before} and {after}"
            );
        }
    }

    #[test]
    fn every_id_type_is_branded_in_the_bindings() {
        let committed = std::fs::read_to_string(BINDINGS).unwrap_or_default();
        let names = serversync::api::id_type_names();
        assert!(names.len() >= 6, "{names:?}");
        for name in names {
            let branded = format!("export type {name} = number & {{ readonly __brand: \"{name}\" }};");
            assert!(committed.contains(&branded), "{name} is not branded in the bindings");
        }
    }
}
