//! The form catalog: every choice a form offers and every numeric field's bounds, taken from the
//! engine's own lists, so the window copies none of them.

use super::wire::{self, Wire};
use crate::domain;
use crate::domain::rules::{self, Bounds};
use serde::Serialize;

/// A numeric field's inclusive bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldBounds {
    pub field: String,
    pub min: u64,
    pub max: u64,
}

impl From<Bounds> for FieldBounds {
    fn from(b: Bounds) -> FieldBounds {
        FieldBounds { field: b.field.to_owned(), min: b.min, max: b.max }
    }
}

/// What the forms offer, in the order they list it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FormCatalog {
    pub server_types: Vec<wire::ServerType>,
    pub server_authorities: Vec<wire::ServerAuthority>,
    pub oauth_credential_kinds: Vec<wire::OauthCredentialKind>,
    pub tls_modes: Vec<wire::TlsMode>,
    pub incoming_methods: Vec<wire::IncomingMethod>,
    pub outgoing_methods: Vec<wire::OutgoingMethod>,
    pub act_methods: Vec<wire::ActMethod>,
    pub process_email_using: Vec<wire::ProcessEmailUsing>,
    pub filtering_methods: Vec<wire::FilteringMethod>,
    /// What a new user and a new queue track unless the form says otherwise.
    pub user_filtering_default: wire::FilteringMethod,
    pub queue_filtering_default: wire::FilteringMethod,
    /// What the mailbox grid's bulk Edit offers for each synchronization method.
    pub bulk_incoming_methods: Vec<wire::IncomingMethod>,
    pub bulk_outgoing_methods: Vec<wire::OutgoingMethod>,
    pub bulk_act_methods: Vec<wire::ActMethod>,
    /// The bounds of the profile form's numeric fields.
    pub profile_bounds: Vec<FieldBounds>,
    /// The bounds of the Email Configuration Settings page's numeric fields.
    pub settings_bounds: Vec<FieldBounds>,
}

/// The form catalog.
pub fn form_catalog() -> FormCatalog {
    FormCatalog {
        server_types: domain::ServerType::ALL.to_vec().wire(),
        server_authorities: domain::ServerAuthority::ALL.to_vec().wire(),
        oauth_credential_kinds: domain::OauthCredentialKind::ALL.to_vec().wire(),
        tls_modes: domain::TlsMode::ALL.to_vec().wire(),
        incoming_methods: domain::IncomingMethod::ALL.to_vec().wire(),
        outgoing_methods: domain::OutgoingMethod::ALL.to_vec().wire(),
        act_methods: domain::ActMethod::ALL.to_vec().wire(),
        process_email_using: domain::ProcessEmailUsing::ALL.to_vec().wire(),
        filtering_methods: domain::FilteringMethod::ALL.to_vec().wire(),
        user_filtering_default: domain::principal::USER_FILTERING_DEFAULT.into(),
        queue_filtering_default: domain::principal::QUEUE_FILTERING_DEFAULT.into(),
        bulk_incoming_methods: rules::BULK_EDIT_INCOMING.to_vec().wire(),
        bulk_outgoing_methods: rules::BULK_EDIT_OUTGOING.to_vec().wire(),
        bulk_act_methods: rules::BULK_EDIT_ACT.to_vec().wire(),
        profile_bounds: rules::PROFILE_BOUNDS.into_iter().map(Into::into).collect(),
        settings_bounds: rules::SETTINGS_BOUNDS.into_iter().map(Into::into).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bounded_field_is_a_field_of_its_change_set() {
        let c = form_catalog();
        for b in &c.profile_bounds {
            assert!(domain::ProfileChanges::FIELDS.contains(&b.field.as_str()), "{}", b.field);
        }
        for b in &c.settings_bounds {
            assert!(domain::SettingsChanges::FIELDS.contains(&b.field.as_str()), "{}", b.field);
        }
    }

    #[test]
    fn the_profile_fields_are_the_fields_of_the_profile_change_set() {
        let codes: Vec<&str> = domain::ProfileField::ALL.iter().map(|f| f.code()).collect();
        assert_eq!(codes, domain::ProfileChanges::FIELDS);
    }

    #[test]
    fn the_bulk_edit_does_not_offer_the_deprecated_outlook_method() {
        let c = form_catalog();
        assert!(!c.bulk_incoming_methods.contains(&wire::IncomingMethod::Outlook));
        assert!(!c.bulk_outgoing_methods.contains(&wire::OutgoingMethod::Outlook));
        assert!(!c.bulk_act_methods.contains(&wire::ActMethod::Outlook));
        assert_eq!(c.incoming_methods.len(), domain::IncomingMethod::ALL.len());
    }
}
