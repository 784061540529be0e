//! Email Configuration Settings.

use super::wire::{OrgSettings, SettingsChanges};
use crate::domain;
use crate::domain::rules::validate_settings;
use crate::store;
use crate::{Engine, Result};
use serde::Serialize;

/// The organisation's email settings.
pub async fn get_settings(engine: &Engine) -> Result<OrgSettings> {
    engine.read(|c, _| store::settings::get(c)).await.map(Into::into)
}

/// Changes the organisation's email settings; refused whole if any value breaks a rule.
pub async fn update_settings(engine: &Engine, changes: SettingsChanges) -> Result<OrgSettings> {
    engine
        .write(move |tx, ctx| {
            let mut s = store::settings::get(tx)?;
            let before = s.tracking_prefix.clone();
            domain::SettingsChanges::from(changes).apply_to(&mut s);
            domain::rules::remember_tracking_prefix(&mut s, &before);
            let default_profile = s.default_profile_id.map(|id| store::profiles::get(tx, id)).transpose()?;
            validate_settings(&s, default_profile.as_ref())?;
            s.modified_on = ctx.now();
            store::settings::update(tx, &s)?;
            Ok(s.into())
        })
        .await
}

/// How far the organisation has come through the first-run steps: what the window's checklist
/// ticks. Each is one indexed existence test, whatever the number of mailboxes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FirstRunProgress {
    /// An active email server profile exists.
    pub profile: bool,
    /// A default profile is set for new mailboxes.
    pub default_profile: bool,
    /// An active user or queue exists (each brings a mailbox).
    pub users_or_queues: bool,
    /// An active mailbox has its email address approved.
    pub approved: bool,
    /// An active mailbox passed Test & Enable for incoming or outgoing email.
    pub enabled: bool,
}

/// The first-run steps done so far.
pub async fn first_run_progress(engine: &Engine) -> Result<FirstRunProgress> {
    let [profile, default_profile, users_or_queues, approved, enabled] =
        engine.read(|c, _| store::settings::first_run(c)).await?;
    Ok(FirstRunProgress { profile, default_profile, users_or_queues, approved, enabled })
}
