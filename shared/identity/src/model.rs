use contracts::{Email, PersonName, Role, UserId};
use security::PasswordHash;
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: PersonName,
    pub roles: Vec<Role>,
    pub password_hash: PasswordHash,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What clients see of a user: never the password hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserView {
    pub id: UserId,
    pub email: Email,
    pub name: PersonName,
    pub roles: Vec<Role>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            roles: u.roles.clone(),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// OAuth 2.0 token response (RFC 6749 section 5.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshStatus {
    Active,
    /// Exchanged once already; presenting it again is reuse.
    Rotated,
}

/// A stored refresh token. Only its SHA-256 fingerprint is kept.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    pub fingerprint: String,
    pub user_id: UserId,
    pub family_id: String,
    pub status: RefreshStatus,
    pub expires_at: OffsetDateTime,
}

/// A page of results and the opaque cursor for the next one.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
