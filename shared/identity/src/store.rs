use std::future::Future;

use contracts::{Email, RawEnvelope, Role, UserId};
use time::OffsetDateTime;

use crate::model::{Page, RefreshRecord, User};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or state condition failed (email taken, token already
    /// rotated, family revoked).
    #[error("conflicting write")]
    Conflict,
    #[error("invalid pagination cursor")]
    BadCursor,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Storage port of the identity service.
pub trait IdentityStore: Send + Sync {
    /// Creates the user, claims the e-mail address and records `event` in the
    /// outbox, atomically. `Conflict` when the address is taken.
    fn create_user(
        &self,
        user: &User,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn user_by_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;

    fn user(&self, id: UserId) -> impl Future<Output = StoreResult<Option<User>>> + Send;

    /// Users, oldest first. `cursor` is what the previous page returned.
    fn list_users(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<User>>> + Send;

    /// Replaces the roles; `None` when the user does not exist.
    fn set_roles(
        &self,
        id: UserId,
        roles: &[Role],
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;

    /// Starts a token family (a login) with its first refresh token.
    fn start_family(
        &self,
        first: &RefreshRecord,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn refresh_record(
        &self,
        fingerprint: &str,
    ) -> impl Future<Output = StoreResult<Option<RefreshRecord>>> + Send;

    /// Marks `old` rotated and stores `new`, atomically, only if `old` is
    /// still active and its family not revoked; otherwise `Conflict`.
    fn rotate(
        &self,
        old_fingerprint: &str,
        new: &RefreshRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn revoke_family(
        &self,
        family_id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn family_revoked(&self, family_id: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Failed login attempts counted under `key` in the window starting at
    /// `window_start` (epoch seconds).
    fn failures(
        &self,
        key: &str,
        window_start: i64,
    ) -> impl Future<Output = StoreResult<u32>> + Send;

    /// Counts one more failure, atomically; returns the new count.
    fn record_failure(
        &self,
        key: &str,
        window_start: i64,
        expires_at: i64,
    ) -> impl Future<Output = StoreResult<u32>> + Send;
}
