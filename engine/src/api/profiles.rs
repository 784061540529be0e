//! Email Server Profiles.

use super::non_empty;
use super::wire::{self, Wire};
use crate::domain::rules::{
    ProfileSecretKind, accept_profile_secret, normalize_profile, profile_field_visibility, validate_mailbox,
    validate_profile, validate_settings,
};
use crate::domain::{Profile, ProfileChanges, ProfileId, RecordState};
use crate::secrets::Secret;
use crate::store;
use crate::{Engine, Error, Result};
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

/// A new profile: its server type (fixed for life), its name, and any other fields.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct CreateProfile {
    pub server_type: wire::ServerType,
    pub name: String,
    #[serde(default)]
    pub changes: wire::ProfileChanges,
    /// "Set as default profile for new mailboxes".
    #[serde(default)]
    pub set_as_default: bool,
}

/// The Active / Inactive Email Server Profiles views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ProfileView {
    #[default]
    Active,
    Inactive,
    All,
}

/// Checks a profile and the mailboxes that use it: a change to a profile must not leave one of
/// its mailboxes in a configuration the rules refuse.
fn check_profile_and_mailboxes(tx: &Transaction<'_>, p: &Profile) -> Result<()> {
    let settings = store::settings::get(tx)?;
    validate_profile(p, &settings)?;
    // A CA file that cannot be used is refused at Save, next to its field, rather than at the
    // first connection.
    let ca = p.ca_file.trim();
    if !ca.is_empty() {
        crate::protocol::tls::read_ca_file(ca).map_err(|e| {
            let detail = e.detail().unwrap_or_default().to_owned();
            Error::validation(crate::protocol::failure::code::CA_FILE)
                .param("field", "ca_file")
                .param("path", ca)
                .with_detail(detail)
        })?;
    }
    if let Some(owner) = p.owner_user_id {
        store::principals::user(tx, owner)?;
    }
    if p.id.0 != 0 {
        let mailboxes = store::mailboxes::of_profile(tx, p.id)?;
        for m in &mailboxes {
            validate_mailbox(m, Some(p), &settings).map_err(|e| e.param("mailbox", &m.name))?;
        }
    }
    Ok(())
}

/// Creates a profile (Save on a new profile form). Default ports are filled in.
pub async fn create_profile(engine: &Engine, req: CreateProfile) -> Result<wire::Profile> {
    engine
        .write(move |tx, ctx| {
            let mut p = Profile::new(req.server_type.into(), req.name, ctx.now());
            ProfileChanges::from(req.changes).apply_to(&mut p);
            normalize_profile(&mut p);
            check_profile_and_mailboxes(tx, &p)?;
            p.id = store::profiles::insert(tx, &p)?;
            if req.set_as_default {
                make_default(tx, p.id)?;
            }
            Ok(p.into())
        })
        .await
}

fn make_default(tx: &Transaction<'_>, id: ProfileId) -> Result<()> {
    let mut s = store::settings::get(tx)?;
    s.default_profile_id = Some(id);
    let p = store::profiles::get(tx, id)?;
    validate_settings(&s, Some(&p))?;
    store::settings::update(tx, &s)
}

/// Saves changes to a profile. The server type cannot change.
pub async fn update_profile(
    engine: &Engine,
    id: wire::ProfileId,
    changes: wire::ProfileChanges,
) -> Result<wire::Profile> {
    let id = ProfileId::from(id);
    engine
        .write(move |tx, ctx| {
            let mut p = store::profiles::get(tx, id)?;
            ProfileChanges::from(changes).apply_to(&mut p);
            normalize_profile(&mut p);
            check_profile_and_mailboxes(tx, &p)?;
            p.modified_on = ctx.now();
            store::profiles::update(tx, &p)?;
            Ok(p.into())
        })
        .await
}

/// One profile.
pub async fn get_profile(engine: &Engine, id: wire::ProfileId) -> Result<wire::Profile> {
    let id = ProfileId::from(id);
    engine.read(move |c, _| store::profiles::get(c, id)).await.map(Into::into)
}

/// The profiles of a view, by name.
pub async fn list_profiles(engine: &Engine, view: ProfileView) -> Result<Vec<wire::Profile>> {
    engine
        .read(move |c, _| {
            store::profiles::list(
                c,
                match view {
                    ProfileView::Active => Some(RecordState::Active),
                    ProfileView::Inactive => Some(RecordState::Inactive),
                    ProfileView::All => None,
                },
            )
        })
        .await
        .map(wire::list)
}

/// Activates or deactivates profiles. The organisation's default profile cannot be deactivated.
pub async fn set_profile_state(
    engine: &Engine,
    ids: Vec<wire::ProfileId>,
    state: wire::RecordState,
) -> Result<Vec<wire::Profile>> {
    non_empty(&ids)?;
    let (ids, state): (Vec<ProfileId>, RecordState) = (ids.wire(), state.into());
    engine
        .write(move |tx, ctx| {
            let settings = store::settings::get(tx)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let mut p = store::profiles::get(tx, id)?;
                if state == RecordState::Inactive && settings.default_profile_id == Some(id) {
                    return Err(Error::validation("profile.is_default").param("profile", &p.name));
                }
                if p.state != state {
                    p.state = state;
                    p.modified_on = ctx.now();
                    store::profiles::update(tx, &p)?;
                }
                out.push(p);
            }
            Ok(wire::list(out))
        })
        .await
}

/// Makes a profile the default for the mailboxes of new users and queues.
pub async fn set_default_profile(engine: &Engine, id: wire::ProfileId) -> Result<wire::OrgSettings> {
    let id = ProfileId::from(id);
    engine
        .write(move |tx, _| {
            make_default(tx, id)?;
            store::settings::get(tx)
        })
        .await
        .map(Into::into)
}

/// Deletes a profile. Its mailboxes stay, without a profile; its secrets leave the keychain.
pub async fn delete_profile(engine: &Engine, id: wire::ProfileId) -> Result<()> {
    let id = ProfileId::from(id);
    let p = engine
        .write(move |tx, _| {
            let p = store::profiles::get(tx, id)?;
            store::profiles::delete(tx, id)?;
            Ok(p)
        })
        .await?;
    // After the commit: a secret left behind by a failed delete is unreachable (ids are never
    // reused) and harmless; the profile is gone either way.
    for (kind, set) in [
        (ProfileSecretKind::IncomingPassword, p.is_incoming_password_set),
        (ProfileSecretKind::OutgoingPassword, p.is_outgoing_password_set),
        (ProfileSecretKind::OauthSecret, p.is_oauth_secret_set),
    ] {
        if set {
            let _ = engine.delete_secret(secret_path(id, kind)).await;
        }
    }
    Ok(())
}

fn secret_path(id: ProfileId, kind: ProfileSecretKind) -> String {
    crate::secrets::paths::profile_secret(id, kind)
}

/// Stores a profile's password or OAuth secret in the keychain; the profile records only that it
/// is set. Refused (and nothing stored) when the profile does not use it or when it would travel
/// without TLS.
pub async fn set_profile_secret(
    engine: &Engine,
    id: wire::ProfileId,
    kind: wire::ProfileSecretKind,
    secret: Secret,
) -> Result<wire::Profile> {
    let (id, kind) = (ProfileId::from(id), ProfileSecretKind::from(kind));
    // An app's certificate is read before it reaches the keychain: a PEM without a certificate
    // and its RSA key is refused, and the thumbprint Microsoft Entra shows is kept on the profile.
    let thumbprint = (kind == ProfileSecretKind::OauthSecret).then(|| {
        crate::protocol::graph::assertion::checked_thumbprint(&secret)
            .map_err(|e| e.detail().unwrap_or_default().to_owned())
    });
    let certificate = thumbprint.clone();
    engine
        .store_secret_then(
            secret_path(id, kind),
            secret,
            move |c, _| {
                let mut p = store::profiles::get(c, id)?;
                accept_profile_secret(&mut p, kind, &store::settings::get(c)?)?;
                with_thumbprint(&mut p, certificate)
            },
            move |tx, ctx| {
                let mut p = store::profiles::get(tx, id)?;
                accept_profile_secret(&mut p, kind, &store::settings::get(tx)?)?;
                with_thumbprint(&mut p, thumbprint)?;
                p.modified_on = ctx.now();
                store::profiles::update(tx, &p)?;
                Ok(p)
            },
        )
        .await
        .map(Into::into)
}

/// Records the thumbprint of the certificate just given as the app's credential (`None`: the
/// secret is a password). A profile that signs in with a client secret keeps no thumbprint; one
/// that signs in with a certificate refuses a PEM that holds no usable certificate and key.
fn with_thumbprint(p: &mut Profile, thumbprint: Option<std::result::Result<String, String>>) -> Result<()> {
    let Some(thumbprint) = thumbprint else { return Ok(()) };
    if p.oauth_credential_kind != Some(crate::domain::OauthCredentialKind::Certificate) {
        p.oauth_certificate_thumbprint.clear();
        return Ok(());
    }
    p.oauth_certificate_thumbprint = thumbprint.map_err(|detail| {
        Error::validation(crate::protocol::graph::code::CERTIFICATE).param("field", "oauth_secret").with_detail(detail)
    })?;
    Ok(())
}

/// Removes a profile's password or OAuth secret from the keychain and clears its flag.
pub async fn clear_profile_secret(
    engine: &Engine,
    id: wire::ProfileId,
    kind: wire::ProfileSecretKind,
) -> Result<wire::Profile> {
    let (id, kind) = (ProfileId::from(id), ProfileSecretKind::from(kind));
    engine.read(move |c, _| store::profiles::get(c, id)).await?;
    engine.delete_secret(secret_path(id, kind)).await?;
    engine
        .write(move |tx, ctx| {
            let mut p = store::profiles::get(tx, id)?;
            match kind {
                ProfileSecretKind::IncomingPassword => p.is_incoming_password_set = false,
                ProfileSecretKind::OutgoingPassword => p.is_outgoing_password_set = false,
                ProfileSecretKind::OauthSecret => {
                    p.is_oauth_secret_set = false;
                    p.oauth_certificate_thumbprint.clear();
                }
            }
            p.modified_on = ctx.now();
            store::profiles::update(tx, &p)?;
            Ok(p.into())
        })
        .await
}

/// A new profile form's starting values for a server type (not saved; ports are filled on save
/// from the TLS choices).
pub async fn new_profile_draft(engine: &Engine, server_type: wire::ServerType) -> Result<wire::Profile> {
    let mut p = Profile::new(server_type.into(), String::new(), engine.inner.now());
    normalize_profile(&mut p);
    p.incoming_port = None;
    p.outgoing_port = None;
    Ok(p.into())
}

/// Which fields a profile form shows for a server type and the given choices (credential modes,
/// "use same settings", auto discover…): the UI asks instead of re-implementing the matrix.
pub async fn profile_form_fields(
    engine: &Engine,
    server_type: wire::ServerType,
    changes: wire::ProfileChanges,
) -> Result<wire::ProfileFieldVisibility> {
    let now = engine.inner.now();
    let mut p = Profile::new(server_type.into(), String::new(), now);
    ProfileChanges::from(changes).apply_to(&mut p);
    Ok(profile_field_visibility(&p).into())
}
