//! In-memory [`IdentityStore`] with the same semantics as the DynamoDB one,
//! for unit tests of the use cases and handlers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use contracts::{Email, RawEnvelope, Role, UserId};
use time::OffsetDateTime;

use crate::model::{Page, RefreshRecord, RefreshStatus, User};
use crate::store::{IdentityStore, StoreError, StoreResult};

#[derive(Default)]
struct State {
    users: BTreeMap<UserId, User>,
    emails: HashMap<Email, UserId>,
    tokens: HashMap<String, RefreshRecord>,
    revoked: HashSet<String>,
    failures: HashMap<(String, i64), u32>,
    outbox: Vec<RawEnvelope>,
}

/// Clones share one state, like handles on one table.
#[derive(Default, Clone)]
pub struct InMemoryIdentityStore {
    state: Arc<Mutex<State>>,
}

impl InMemoryIdentityStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Events recorded for publication, in order.
    pub fn outbox(&self) -> Vec<RawEnvelope> {
        self.state().outbox.clone()
    }
}

impl IdentityStore for InMemoryIdentityStore {
    async fn create_user(
        &self,
        user: &User,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut s = self.state();
        if s.emails.contains_key(&user.email) {
            return Err(StoreError::Conflict);
        }
        s.emails.insert(user.email.clone(), user.id);
        s.users.insert(user.id, user.clone());
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let s = self.state();
        Ok(s.emails.get(email).and_then(|id| s.users.get(id)).cloned())
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.state().users.get(&id).cloned())
    }

    async fn list_users(&self, cursor: Option<&str>, limit: u32) -> StoreResult<Page<User>> {
        let s = self.state();
        let after: Option<UserId> = match cursor {
            Some(c) => Some(c.parse().map_err(|_| StoreError::BadCursor)?),
            None => None,
        };
        let items: Vec<User> = s
            .users
            .values()
            .filter(|u| after.is_none_or(|a| u.id > a))
            .take(limit as usize)
            .cloned()
            .collect();
        let next_cursor = (items.len() == limit as usize)
            .then(|| items.last().map(|u| u.id.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    async fn set_roles(
        &self,
        id: UserId,
        roles: &[Role],
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>> {
        let mut s = self.state();
        Ok(s.users.get_mut(&id).map(|u| {
            u.roles = roles.to_vec();
            u.updated_at = now;
            u.clone()
        }))
    }

    async fn start_family(&self, first: &RefreshRecord, _now: OffsetDateTime) -> StoreResult<()> {
        self.state()
            .tokens
            .insert(first.fingerprint.clone(), first.clone());
        Ok(())
    }

    async fn refresh_record(&self, fingerprint: &str) -> StoreResult<Option<RefreshRecord>> {
        Ok(self.state().tokens.get(fingerprint).cloned())
    }

    async fn rotate(&self, old_fingerprint: &str, new: &RefreshRecord) -> StoreResult<()> {
        let mut s = self.state();
        let family_revoked = s.revoked.contains(&new.family_id);
        match s.tokens.get_mut(old_fingerprint) {
            Some(old) if old.status == RefreshStatus::Active && !family_revoked => {
                old.status = RefreshStatus::Rotated;
            }
            _ => return Err(StoreError::Conflict),
        }
        s.tokens.insert(new.fingerprint.clone(), new.clone());
        Ok(())
    }

    async fn revoke_family(&self, family_id: &str, _now: OffsetDateTime) -> StoreResult<()> {
        self.state().revoked.insert(family_id.to_owned());
        Ok(())
    }

    async fn family_revoked(&self, family_id: &str) -> StoreResult<bool> {
        Ok(self.state().revoked.contains(family_id))
    }

    async fn failures(&self, key: &str, window_start: i64) -> StoreResult<u32> {
        Ok(self
            .state()
            .failures
            .get(&(key.to_owned(), window_start))
            .copied()
            .unwrap_or(0))
    }

    async fn record_failure(
        &self,
        key: &str,
        window_start: i64,
        _expires_at: i64,
    ) -> StoreResult<u32> {
        let mut s = self.state();
        let count = s
            .failures
            .entry((key.to_owned(), window_start))
            .or_insert(0);
        *count += 1;
        Ok(*count)
    }
}
