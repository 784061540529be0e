//! Email Configuration Settings.

use super::wire::{OrgSettings, SettingsChanges};
use crate::domain;
use crate::domain::rules::validate_settings;
use crate::store;
use crate::{Engine, Result};

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
