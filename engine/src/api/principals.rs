//! Users and queues. Creating one creates its mailbox with the organisation's default email
//! settings; the mailbox's address and the owner's address are one value, kept equal both ways.

use super::wire::{self, Wire};
use super::{non_empty, profile_of};
use crate::domain::principal::{QUEUE_FILTERING_DEFAULT, USER_FILTERING_DEFAULT};
use crate::domain::rules::{apply_default_email_settings, is_valid_email, validate_mailbox};
use crate::domain::{Mailbox, MailboxId, Queue, QueueChanges, QueueId, RecordState, User, UserChanges, UserId};
use crate::store;
use crate::{Engine, Error, Result};
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

/// A new user.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub full_name: String,
    pub primary_email: String,
    #[serde(default)]
    pub can_approve_email: bool,
    #[serde(default)]
    pub incoming_filtering_method: Option<wire::FilteringMethod>,
}

/// A new queue.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct CreateQueue {
    pub name: String,
    pub email_address: String,
    #[serde(default)]
    pub owner_user_id: Option<wire::UserId>,
    #[serde(default)]
    pub incoming_filtering_method: Option<wire::FilteringMethod>,
}

/// Active / Inactive / All, for users and queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PrincipalView {
    #[default]
    Active,
    Inactive,
    All,
}

impl PrincipalView {
    pub(crate) fn state(self) -> Option<RecordState> {
        match self {
            PrincipalView::Active => Some(RecordState::Active),
            PrincipalView::Inactive => Some(RecordState::Inactive),
            PrincipalView::All => None,
        }
    }
}

fn check_name(field: &'static str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::validation("field.required").param("field", field));
    }
    if name.chars().count() > 200 {
        return Err(Error::validation("field.too_long").param("field", field).param("max", 200));
    }
    Ok(())
}

fn check_email(field: &'static str, email: &str) -> Result<()> {
    if email.chars().count() > 100 {
        return Err(Error::validation("field.too_long").param("field", field).param("max", 100));
    }
    if !email.is_empty() && !is_valid_email(email) {
        return Err(Error::validation("field.not_an_email").param("field", field).param("value", email));
    }
    Ok(())
}

/// A user or a queue: a record whose mailbox follows its state.
trait MailboxOwner: Sized {
    type Id: Copy + Send + 'static;
    fn load(c: &rusqlite::Connection, id: Self::Id) -> Result<Self>;
    fn save(tx: &Transaction<'_>, r: &Self) -> Result<()>;
    fn set_state(&mut self, state: RecordState, now: crate::domain::Timestamp);
    fn mailbox(&self) -> Option<MailboxId>;
}

impl MailboxOwner for User {
    type Id = UserId;
    fn load(c: &rusqlite::Connection, id: UserId) -> Result<User> {
        store::principals::user(c, id)
    }
    fn save(tx: &Transaction<'_>, r: &User) -> Result<()> {
        store::principals::update_user(tx, r)
    }
    fn set_state(&mut self, state: RecordState, now: crate::domain::Timestamp) {
        self.state = state;
        self.modified_on = now;
    }
    fn mailbox(&self) -> Option<MailboxId> {
        self.mailbox_id
    }
}

impl MailboxOwner for Queue {
    type Id = QueueId;
    fn load(c: &rusqlite::Connection, id: QueueId) -> Result<Queue> {
        store::principals::queue(c, id)
    }
    fn save(tx: &Transaction<'_>, r: &Queue) -> Result<()> {
        store::principals::update_queue(tx, r)
    }
    fn set_state(&mut self, state: RecordState, now: crate::domain::Timestamp) {
        self.state = state;
        self.modified_on = now;
    }
    fn mailbox(&self) -> Option<MailboxId> {
        self.mailbox_id
    }
}

/// Activates or deactivates users or queues, and their mailboxes with them, all or none.
async fn set_owner_state<R>(engine: &Engine, ids: Vec<R::Id>, state: RecordState) -> Result<Vec<R>>
where
    R: MailboxOwner + Send + 'static,
{
    non_empty(&ids)?;
    engine
        .write(move |tx, ctx| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let mut r = R::load(tx, id)?;
                r.set_state(state, ctx.now());
                R::save(tx, &r)?;
                if let Some(mid) = r.mailbox() {
                    let mut m = store::mailboxes::get(tx, mid)?;
                    m.set_state(state, ctx.now());
                    store::mailboxes::update(tx, &m)?;
                }
                out.push(r);
            }
            Ok(out)
        })
        .await
}

/// Creates and validates the mailbox of a new user or queue with the organisation's defaults.
fn create_owned_mailbox(tx: &Transaction<'_>, mut m: Mailbox) -> Result<MailboxId> {
    let settings = store::settings::get(tx)?;
    apply_default_email_settings(&mut m, &settings);
    validate_mailbox(&m, profile_of(tx, &m)?.as_ref(), &settings)?;
    store::mailboxes::insert(tx, &m)
}

/// Writes a mailbox after a change made through its user or queue, validating it again.
fn save_owned_mailbox(tx: &Transaction<'_>, m: &Mailbox) -> Result<()> {
    let settings = store::settings::get(tx)?;
    validate_mailbox(m, profile_of(tx, m)?.as_ref(), &settings)?;
    store::mailboxes::update(tx, m)
}

/// Creates a user and the user's mailbox.
pub async fn create_user(engine: &Engine, req: CreateUser) -> Result<wire::User> {
    engine.write(move |tx, ctx| insert_user(tx, req, ctx.now())).await.map(Wire::wire)
}

/// Imports users (each with a mailbox, as if created one by one), all or none: one refused
/// user refuses the import, naming its line.
pub async fn import_users(engine: &Engine, users: Vec<CreateUser>) -> Result<u32> {
    non_empty(&users)?;
    engine
        .write(move |tx, ctx| {
            let now = ctx.now();
            let n = users.len() as u32;
            for (i, req) in users.into_iter().enumerate() {
                insert_user(tx, req, now).map_err(|e| e.param("line", i + 1))?;
            }
            Ok(n)
        })
        .await
}

fn insert_user(tx: &Transaction<'_>, req: CreateUser, now: crate::domain::Timestamp) -> Result<User> {
    let email = req.primary_email.trim().to_owned();
    check_name("full_name", &req.full_name)?;
    check_email("primary_email", &email)?;
    let mut u = User {
        id: UserId(0),
        full_name: req.full_name.trim().to_owned(),
        primary_email: email.clone(),
        can_approve_email: req.can_approve_email,
        incoming_filtering_method: req.incoming_filtering_method.map_or(USER_FILTERING_DEFAULT, Into::into),
        state: RecordState::Active,
        created_on: now,
        modified_on: now,
        mailbox_id: None,
    };
    u.id = store::principals::insert_user(tx, &u)?;
    let mut m = Mailbox::new(u.full_name.clone(), email, now);
    m.user_id = Some(u.id);
    m.owner_user_id = Some(u.id);
    u.mailbox_id = Some(create_owned_mailbox(tx, m)?);
    Ok(u)
}

/// Changes a user; a new primary email becomes the mailbox's address (and withdraws its approval).
pub async fn update_user(engine: &Engine, id: wire::UserId, changes: wire::UserChanges) -> Result<wire::User> {
    let id = UserId::from(id);
    let changes = UserChanges::from(changes);
    engine
        .write(move |tx, ctx| {
            let mut u = store::principals::user(tx, id)?;
            changes.apply_to(&mut u);
            u.full_name = u.full_name.trim().to_owned();
            u.primary_email = u.primary_email.trim().to_owned();
            check_name("full_name", &u.full_name)?;
            check_email("primary_email", &u.primary_email)?;
            u.modified_on = ctx.now();
            store::principals::update_user(tx, &u)?;
            if let Some(mid) = u.mailbox_id {
                let mut m = store::mailboxes::get(tx, mid)?;
                m.change_email_address(&u.primary_email);
                m.name.clone_from(&u.full_name);
                m.modified_on = ctx.now();
                save_owned_mailbox(tx, &m)?;
            }
            Ok(u)
        })
        .await
        .map(Wire::wire)
}

/// One user.
pub async fn get_user(engine: &Engine, id: wire::UserId) -> Result<wire::User> {
    let id = UserId::from(id);
    engine.read(move |c, _| store::principals::user(c, id)).await.map(Wire::wire)
}

/// Users of a view, by name.
pub async fn list_users(engine: &Engine, view: PrincipalView) -> Result<Vec<wire::User>> {
    engine.read(move |c, _| store::principals::users(c, view.state())).await.map(Wire::wire)
}

/// The columns the Users and Queues grids sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PrincipalSortKey {
    #[default]
    Name,
    EmailAddress,
}

/// A Users or Queues grid's sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields, default)]
pub struct PrincipalSort {
    pub key: PrincipalSortKey,
    pub descending: bool,
}

/// One window of a Users grid view and the view's size.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserPage {
    pub rows: Vec<wire::User>,
    pub total: u32,
}

/// One window of a Queues grid view and the view's size.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QueuePage {
    pub rows: Vec<wire::Queue>,
    pub total: u32,
}

async fn principal_page<R: store::principals::PrincipalTable + Send + 'static>(
    engine: &Engine,
    query: super::RecordQuery,
    sort: PrincipalSort,
    offset: u32,
    limit: u32,
) -> Result<(Vec<R>, u32)> {
    let limit = limit.clamp(1, super::MAX_RECORD_PAGE_ROWS);
    engine
        .read(move |c, _| {
            let (rows, total) = store::principals::page::<R>(
                c,
                query.view.state(),
                query.search.as_deref(),
                sort.key == PrincipalSortKey::EmailAddress,
                sort.descending,
                offset,
                limit,
            )?;
            Ok((rows, u32::try_from(total).unwrap_or(u32::MAX)))
        })
        .await
}

/// Rows `offset..offset + limit` of a Users grid view, sorted and searched in SQL.
pub async fn list_user_page(
    engine: &Engine,
    query: super::RecordQuery,
    sort: PrincipalSort,
    offset: u32,
    limit: u32,
) -> Result<UserPage> {
    let (rows, total) = principal_page::<User>(engine, query, sort, offset, limit).await?;
    Ok(UserPage { rows: rows.wire(), total })
}

/// Rows `offset..offset + limit` of a Queues grid view, sorted and searched in SQL.
pub async fn list_queue_page(
    engine: &Engine,
    query: super::RecordQuery,
    sort: PrincipalSort,
    offset: u32,
    limit: u32,
) -> Result<QueuePage> {
    let (rows, total) = principal_page::<Queue>(engine, query, sort, offset, limit).await?;
    Ok(QueuePage { rows: rows.wire(), total })
}

/// Activates or deactivates users; their mailboxes follow.
pub async fn set_user_state(
    engine: &Engine,
    ids: Vec<wire::UserId>,
    state: wire::RecordState,
) -> Result<Vec<wire::User>> {
    let ids: Vec<UserId> = ids.wire();
    let state = RecordState::from(state);
    set_owner_state::<User>(engine, ids, state).await.map(Wire::wire)
}

/// Creates a queue and the queue's mailbox (owned by the queue's owner).
pub async fn create_queue(engine: &Engine, req: CreateQueue) -> Result<wire::Queue> {
    engine
        .write(move |tx, ctx| {
            let now = ctx.now();
            let email = req.email_address.trim().to_owned();
            check_name("name", &req.name)?;
            check_email("email_address", &email)?;
            let owner_user_id: Option<UserId> = req.owner_user_id.wire();
            if let Some(owner) = owner_user_id {
                store::principals::user(tx, owner)?;
            }
            let mut q = Queue {
                id: QueueId(0),
                name: req.name.trim().to_owned(),
                email_address: email.clone(),
                owner_user_id,
                incoming_filtering_method: req.incoming_filtering_method.map_or(QUEUE_FILTERING_DEFAULT, Into::into),
                state: RecordState::Active,
                created_on: now,
                modified_on: now,
                mailbox_id: None,
            };
            q.id = store::principals::insert_queue(tx, &q)?;
            let mut m = Mailbox::new(q.name.clone(), email, now);
            m.queue_id = Some(q.id);
            m.owner_user_id = q.owner_user_id;
            q.mailbox_id = Some(create_owned_mailbox(tx, m)?);
            Ok(q)
        })
        .await
        .map(Wire::wire)
}

/// Changes a queue; its mailbox follows (address, name, owner).
pub async fn update_queue(engine: &Engine, id: wire::QueueId, changes: wire::QueueChanges) -> Result<wire::Queue> {
    let id = QueueId::from(id);
    let changes = QueueChanges::from(changes);
    engine
        .write(move |tx, ctx| {
            let mut q = store::principals::queue(tx, id)?;
            changes.apply_to(&mut q);
            q.name = q.name.trim().to_owned();
            q.email_address = q.email_address.trim().to_owned();
            check_name("name", &q.name)?;
            check_email("email_address", &q.email_address)?;
            if let Some(owner) = q.owner_user_id {
                store::principals::user(tx, owner)?;
            }
            q.modified_on = ctx.now();
            store::principals::update_queue(tx, &q)?;
            if let Some(mid) = q.mailbox_id {
                let mut m = store::mailboxes::get(tx, mid)?;
                m.change_email_address(&q.email_address);
                m.name.clone_from(&q.name);
                m.owner_user_id = q.owner_user_id;
                m.modified_on = ctx.now();
                save_owned_mailbox(tx, &m)?;
            }
            Ok(q)
        })
        .await
        .map(Wire::wire)
}

/// One queue.
pub async fn get_queue(engine: &Engine, id: wire::QueueId) -> Result<wire::Queue> {
    let id = QueueId::from(id);
    engine.read(move |c, _| store::principals::queue(c, id)).await.map(Wire::wire)
}

/// Queues of a view, by name.
pub async fn list_queues(engine: &Engine, view: PrincipalView) -> Result<Vec<wire::Queue>> {
    engine.read(move |c, _| store::principals::queues(c, view.state())).await.map(Wire::wire)
}

/// Activates or deactivates queues; their mailboxes follow.
pub async fn set_queue_state(
    engine: &Engine,
    ids: Vec<wire::QueueId>,
    state: wire::RecordState,
) -> Result<Vec<wire::Queue>> {
    let ids: Vec<QueueId> = ids.wire();
    let state = RecordState::from(state);
    set_owner_state::<Queue>(engine, ids, state).await.map(Wire::wire)
}
