//! Mailboxes: the grid's views and commands, the form's save, credentials and approval.

use super::wire::{self, Wire};
use super::{non_empty, profile_of};
use crate::domain::rules::{
    Actor, apply_default_email_settings, approve, may_change_approval, reject, validate_mailbox,
};
use crate::domain::{Mailbox, MailboxChanges, MailboxId, MailboxKind, RecordState, UserId};
use crate::secrets::Secret;
use crate::store::{self, mailboxes::MailboxFilter};
use crate::{Engine, Error, Result};
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

/// A mailbox as the UI and `--json` receive it: the record and its kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MailboxDto {
    #[serde(flatten)]
    pub mailbox: wire::Mailbox,
    pub kind: wire::MailboxKind,
}

impl From<Mailbox> for MailboxDto {
    fn from(mailbox: Mailbox) -> Self {
        MailboxDto { kind: mailbox.kind().into(), mailbox: mailbox.into() }
    }
}

/// A new forward mailbox.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct CreateForwardMailbox {
    pub name: String,
    pub email_address: String,
    #[serde(default)]
    pub changes: wire::MailboxChanges,
}

/// The mailbox grid's views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "view", content = "owner")]
pub enum MailboxView {
    /// Active Mailboxes.
    #[default]
    Active,
    /// My Active Mailboxes: active mailboxes owned by this user.
    MyActive(wire::UserId),
    /// Inactive Mailboxes.
    Inactive,
    All,
}

/// What the mailbox grid asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields, default)]
pub struct MailboxQuery {
    pub view: MailboxView,
    /// Case-insensitive text found in the name or the email address.
    pub search: Option<String>,
    pub profile_id: Option<wire::ProfileId>,
    /// Only the mailboxes that can send email (the New Email sender): forward mailboxes are left
    /// out.
    pub senders_only: bool,
}

fn save(tx: &Transaction<'_>, m: &Mailbox) -> Result<()> {
    let settings = store::settings::get(tx)?;
    validate_mailbox(m, profile_of(tx, m)?.as_ref(), &settings).map_err(|e| e.param("mailbox", &m.name))?;
    store::mailboxes::update(tx, m)
}

/// Keeps the owner's address equal to the mailbox's.
fn propagate_address(tx: &Transaction<'_>, m: &Mailbox) -> Result<()> {
    if let Some(uid) = m.user_id {
        let mut u = store::principals::user(tx, uid)?;
        if u.primary_email != m.email_address {
            u.primary_email.clone_from(&m.email_address);
            u.modified_on = m.modified_on;
            store::principals::update_user(tx, &u)?;
        }
    }
    if let Some(qid) = m.queue_id {
        let mut q = store::principals::queue(tx, qid)?;
        if q.email_address != m.email_address {
            q.email_address.clone_from(&m.email_address);
            q.modified_on = m.modified_on;
            store::principals::update_queue(tx, &q)?;
        }
    }
    Ok(())
}

fn apply_changes(m: &mut Mailbox, changes: MailboxChanges) {
    let address = changes.email_address.clone();
    let mut changes = changes;
    changes.email_address = None;
    changes.apply_to(m);
    if let Some(a) = address {
        m.change_email_address(&a);
    }
}

/// Creates a forward mailbox: no owner record, outgoing None, the default profile.
pub async fn create_forward_mailbox(engine: &Engine, req: CreateForwardMailbox) -> Result<MailboxDto> {
    engine
        .write(move |tx, ctx| {
            let settings = store::settings::get(tx)?;
            let mut m = Mailbox::new(req.name.trim().to_owned(), req.email_address.trim().to_owned(), ctx.now());
            m.is_forward_mailbox = true;
            apply_default_email_settings(&mut m, &settings);
            apply_changes(&mut m, req.changes.into());
            validate_mailbox(&m, profile_of(tx, &m)?.as_ref(), &settings)?;
            m.id = store::mailboxes::insert(tx, &m)?;
            Ok(m.into())
        })
        .await
}

/// Deletes a forward mailbox (user and queue mailboxes live and die with their owner).
pub async fn delete_forward_mailbox(engine: &Engine, id: wire::MailboxId) -> Result<()> {
    let id = MailboxId::from(id);
    let m = engine
        .write(move |tx, _| {
            let m = store::mailboxes::get(tx, id)?;
            if m.kind() != MailboxKind::Forward {
                return Err(Error::validation("mailbox.not_forward").param("mailbox", &m.name));
            }
            store::mailboxes::delete(tx, id)?;
            Ok(m)
        })
        .await?;
    if m.is_password_set {
        let _ = engine.delete_secret(secret_path(id)).await;
    }
    Ok(())
}

/// Saves the mailbox form.
pub async fn update_mailbox(engine: &Engine, id: wire::MailboxId, changes: wire::MailboxChanges) -> Result<MailboxDto> {
    let id = MailboxId::from(id);
    let changes = MailboxChanges::from(changes);
    engine
        .write(move |tx, ctx| {
            let mut m = store::mailboxes::get(tx, id)?;
            apply_changes(&mut m, changes);
            m.modified_on = ctx.now();
            save(tx, &m)?;
            propagate_address(tx, &m)?;
            Ok(m.into())
        })
        .await
}

/// The grid's bulk Edit: changes the Synchronization Method section of many mailboxes at once,
/// all or none.
pub async fn edit_mailboxes(
    engine: &Engine,
    ids: Vec<wire::MailboxId>,
    changes: wire::MailboxChanges,
) -> Result<Vec<MailboxDto>> {
    let ids: Vec<MailboxId> = ids.wire();
    let changes = MailboxChanges::from(changes);
    non_empty(&ids)?;
    if !changes.is_sync_method_only() {
        return Err(Error::validation("mailbox.edit.sync_methods_only"));
    }
    engine
        .write(move |tx, ctx| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let mut m = store::mailboxes::get(tx, id)?;
                changes.clone().apply_to(&mut m);
                m.modified_on = ctx.now();
                save(tx, &m)?;
                out.push(m.into());
            }
            Ok(out)
        })
        .await
}

/// One mailbox.
pub async fn get_mailbox(engine: &Engine, id: wire::MailboxId) -> Result<MailboxDto> {
    let id = MailboxId::from(id);
    engine.read(move |c, _| store::mailboxes::get(c, id).map(Into::into)).await
}

impl MailboxQuery {
    pub(crate) fn filter(self) -> MailboxFilter {
        let (state, owner) = match self.view {
            MailboxView::Active => (Some(RecordState::Active), None),
            MailboxView::Inactive => (Some(RecordState::Inactive), None),
            MailboxView::MyActive(owner) => (Some(RecordState::Active), Some(owner.into())),
            MailboxView::All => (None, None),
        };
        MailboxFilter {
            state,
            owner,
            profile: self.profile_id.wire(),
            search: self.search,
            senders_only: self.senders_only,
        }
    }
}

/// The mailboxes of a grid view, by name.
pub async fn list_mailboxes(engine: &Engine, query: MailboxQuery) -> Result<Vec<MailboxDto>> {
    engine.read(move |c, _| Ok(store::mailboxes::list(c, &query.filter())?.into_iter().map(Into::into).collect())).await
}

/// The grid column a page of mailboxes is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum MailboxSortKey {
    #[default]
    Name,
    EmailAddress,
    EmailAddressStatus,
    ProfileId,
    IncomingStatus,
    OutgoingStatus,
    ActStatus,
    Kind,
}

/// How a page of mailboxes is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields, default)]
pub struct MailboxSort {
    pub key: MailboxSortKey,
    pub descending: bool,
}

/// A row of the mailbox grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MailboxRow {
    #[serde(flatten)]
    pub mailbox: MailboxDto,
    /// When a synchronisation of the mailbox last completed (scheduled, any workload, or run by
    /// hand); None: never.
    pub last_synced_on: Option<crate::domain::Timestamp>,
}

/// One window of a grid view and the view's size.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MailboxPage {
    pub rows: Vec<MailboxRow>,
    /// How many mailboxes the view holds.
    pub total: u32,
}

/// The most rows one page may hold.
pub const MAX_PAGE_ROWS: u32 = 1000;

/// Rows `offset..offset + limit` of a grid view, sorted in SQL, with the view's size: the grid
/// reads the rows it shows, whatever the number of mailboxes.
pub async fn list_mailbox_page(
    engine: &Engine,
    query: MailboxQuery,
    sort: MailboxSort,
    offset: u32,
    limit: u32,
) -> Result<MailboxPage> {
    use store::mailboxes::MailboxSortKey as K;
    let key = match sort.key {
        MailboxSortKey::Name => K::Name,
        MailboxSortKey::EmailAddress => K::EmailAddress,
        MailboxSortKey::EmailAddressStatus => K::EmailAddressStatus,
        MailboxSortKey::ProfileId => K::Profile,
        MailboxSortKey::IncomingStatus => K::IncomingStatus,
        MailboxSortKey::OutgoingStatus => K::OutgoingStatus,
        MailboxSortKey::ActStatus => K::ActStatus,
        MailboxSortKey::Kind => K::Kind,
    };
    let limit = limit.clamp(1, MAX_PAGE_ROWS);
    engine
        .read(move |c, _| {
            let (rows, total) = store::mailboxes::page(c, &query.filter(), key, sort.descending, offset, limit)?;
            let rows = rows
                .into_iter()
                .map(|m| {
                    let last_synced_on = store::sync_state::last_completed(c, m.id)?;
                    Ok(MailboxRow { mailbox: m.into(), last_synced_on })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(MailboxPage { rows, total: u32::try_from(total).unwrap_or(u32::MAX) })
        })
        .await
}

/// A selection of mailboxes: the rows picked one by one, or every row of a view but some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum MailboxSelection {
    Ids { ids: Vec<wire::MailboxId> },
    Query { query: MailboxQuery, except: Vec<wire::MailboxId> },
}

impl MailboxSelection {
    /// The mailboxes selected, in the order given or by id.
    pub(crate) fn resolve(self, c: &rusqlite::Connection) -> Result<Vec<MailboxId>> {
        match self {
            MailboxSelection::Ids { ids } => Ok(ids.wire()),
            MailboxSelection::Query { query, except } => {
                let except: std::collections::HashSet<MailboxId> = except.into_iter().map(MailboxId::from).collect();
                let ids = store::mailboxes::ids(c, &query.filter())?;
                Ok(ids.into_iter().filter(|id| !except.contains(id)).collect())
            }
        }
    }
}

/// The ids of a selection, by id (a view selected with "all" is read in the engine).
pub async fn selected_mailbox_ids(engine: &Engine, selection: MailboxSelection) -> Result<Vec<wire::MailboxId>> {
    let ids = engine.read(move |c, _| selection.resolve(c)).await?;
    Ok(ids.into_iter().map(wire::MailboxId::from).collect())
}

/// Activates or deactivates mailboxes. A user's or queue's mailbox is activated only with its owner.
pub async fn set_mailbox_state(
    engine: &Engine,
    ids: Vec<wire::MailboxId>,
    state: wire::RecordState,
) -> Result<Vec<MailboxDto>> {
    let ids: Vec<MailboxId> = ids.wire();
    let state = RecordState::from(state);
    non_empty(&ids)?;
    engine
        .write(move |tx, ctx| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let mut m = store::mailboxes::get(tx, id)?;
                if state == RecordState::Active {
                    let owner_state = match (m.user_id, m.queue_id) {
                        (Some(u), _) => Some(store::principals::user(tx, u)?.state),
                        (None, Some(q)) => Some(store::principals::queue(tx, q)?.state),
                        (None, None) => None,
                    };
                    if owner_state == Some(RecordState::Inactive) {
                        return Err(Error::validation("mailbox.owner_inactive").param("mailbox", &m.name));
                    }
                }
                m.set_state(state, ctx.now());
                store::mailboxes::update(tx, &m)?;
                out.push(m.into());
            }
            Ok(out)
        })
        .await
}

/// Approve Email or Reject Email on the selected mailboxes, all or none.
async fn change_approval(
    engine: &Engine,
    ids: Vec<MailboxId>,
    acting_user: Option<UserId>,
    rejecting: bool,
) -> Result<Vec<MailboxDto>> {
    non_empty(&ids)?;
    engine
        .write(move |tx, ctx| {
            let settings = store::settings::get(tx)?;
            let user = acting_user.map(|u| store::principals::user(tx, u)).transpose()?;
            let actor = user.as_ref().map_or(Actor::Administrator, Actor::User);
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let mut m = store::mailboxes::get(tx, id)?;
                may_change_approval(actor, &m, &settings, rejecting)?;
                if rejecting {
                    reject(&mut m);
                } else {
                    approve(&mut m, actor, ctx.now());
                }
                m.modified_on = ctx.now();
                store::mailboxes::update(tx, &m)?;
                out.push(m.into());
            }
            Ok(out)
        })
        .await
}

/// Approve Email: approves the addresses of the selected mailboxes, all or none. Without an
/// acting user, the administrator running ServerSync approves.
pub async fn approve_mailboxes(
    engine: &Engine,
    ids: Vec<wire::MailboxId>,
    acting_user: Option<wire::UserId>,
) -> Result<Vec<MailboxDto>> {
    let ids: Vec<MailboxId> = ids.wire();
    let acting_user: Option<UserId> = acting_user.wire();
    change_approval(engine, ids, acting_user, false).await
}

/// Reject Email: rejects the addresses of the selected mailboxes (clears Approved By/On), all or none.
pub async fn reject_mailboxes(
    engine: &Engine,
    ids: Vec<wire::MailboxId>,
    acting_user: Option<wire::UserId>,
) -> Result<Vec<MailboxDto>> {
    let ids: Vec<MailboxId> = ids.wire();
    let acting_user: Option<UserId> = acting_user.wire();
    change_approval(engine, ids, acting_user, true).await
}

/// Apply Default Email Settings: the organisation's default profile and synchronization methods
/// on the selected mailboxes, all or none.
pub async fn apply_default_settings(engine: &Engine, ids: Vec<wire::MailboxId>) -> Result<Vec<MailboxDto>> {
    let ids: Vec<MailboxId> = ids.wire();
    non_empty(&ids)?;
    engine
        .write(move |tx, ctx| {
            let settings = store::settings::get(tx)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let mut m = store::mailboxes::get(tx, id)?;
                apply_default_email_settings(&mut m, &settings);
                m.modified_on = ctx.now();
                save(tx, &m)?;
                out.push(m.into());
            }
            Ok(out)
        })
        .await
}

fn secret_path(id: MailboxId) -> String {
    crate::secrets::paths::mailbox_password(id)
}

fn with_credentials(m: &mut Mailbox, user_name: &str) {
    m.allow_credentials = true;
    m.user_name = user_name.trim().to_owned();
    m.is_password_set = true;
}

/// Sets the mailbox's user name and password ("Allow to Use Credentials for Email Processing").
/// The password goes to the keychain only; the database records that one is set.
pub async fn set_mailbox_credentials(
    engine: &Engine,
    id: wire::MailboxId,
    user_name: String,
    password: Secret,
) -> Result<MailboxDto> {
    let id = MailboxId::from(id);
    let name = user_name.clone();
    engine
        .store_secret_then(
            secret_path(id),
            password,
            move |c, _| {
                let mut m = store::mailboxes::get(c, id)?;
                with_credentials(&mut m, &name);
                validate_mailbox(&m, profile_of(c, &m)?.as_ref(), &store::settings::get(c)?)
            },
            move |tx, ctx| {
                let mut m = store::mailboxes::get(tx, id)?;
                with_credentials(&mut m, &user_name);
                m.modified_on = ctx.now();
                save(tx, &m)?;
                Ok(m.into())
            },
        )
        .await
}

/// Removes the mailbox's password from the keychain and turns off its credentials.
pub async fn clear_mailbox_credentials(engine: &Engine, id: wire::MailboxId) -> Result<MailboxDto> {
    let id = MailboxId::from(id);
    engine.read(move |c, _| store::mailboxes::get(c, id)).await?;
    engine.delete_secret(secret_path(id)).await?;
    engine
        .write(move |tx, ctx| {
            let mut m = store::mailboxes::get(tx, id)?;
            m.allow_credentials = false;
            m.is_password_set = false;
            m.modified_on = ctx.now();
            store::mailboxes::update(tx, &m)?;
            Ok(m.into())
        })
        .await
}
