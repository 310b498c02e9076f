use contracts::events::UserRegistered;
use contracts::{CorrelationId, Email, EventEnvelope, PersonName, Role, UserId};
use security::{Password, PasswordHasher, RefreshToken, TokenIssuer};
use time::OffsetDateTime;

use crate::config::{LoginLimits, TokenPolicy};
use crate::error::IdentityError;
use crate::model::{Page, RefreshRecord, RefreshStatus, TokenResponse, User, UserView};
use crate::store::{IdentityStore, StoreError};

pub struct Registration {
    pub name: PersonName,
    pub email: Email,
    pub password: Password,
}

/// Creates an account and announces it with `user.registered`, in one
/// transaction. Addresses listed in `admin_emails` (a deployment parameter
/// used to bootstrap the first administrator) also get the admin role.
pub async fn register<S: IdentityStore>(
    store: &S,
    hasher: &PasswordHasher,
    admin_emails: &[Email],
    cmd: Registration,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<UserView, IdentityError> {
    let password_hash = {
        let hasher = hasher.clone();
        let password = cmd.password;
        tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(|e| anyhow::anyhow!("hashing task failed: {e}"))?
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?
    };
    let mut roles = vec![Role::User];
    if admin_emails.contains(&cmd.email) {
        roles.push(Role::Admin);
    }
    let user = User {
        id: UserId::new(),
        email: cmd.email,
        name: cmd.name,
        roles,
        password_hash,
        created_at: now,
        updated_at: now,
    };
    let event = EventEnvelope::new(
        UserRegistered {
            user_id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            registered_at: now,
        },
        correlation_id,
        now,
    )
    .into_raw()
    .map_err(anyhow::Error::from)?;
    match store.create_user(&user, &event, now).await {
        Ok(()) => {
            tracing::info!(user_id = %user.id, event_id = %event.id, "user registered");
            Ok(UserView::from(&user))
        }
        Err(StoreError::Conflict) => Err(IdentityError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// What a login needs, built once per cold start.
pub struct LoginDeps<S> {
    pub store: S,
    pub hasher: PasswordHasher,
    pub issuer: TokenIssuer,
    pub limits: LoginLimits,
    pub policy: TokenPolicy,
}

pub struct Credentials {
    pub email: Email,
    pub password: Password,
}

fn window_start(now: OffsetDateTime, window_secs: i64) -> i64 {
    let t = now.unix_timestamp();
    t - t.rem_euclid(window_secs)
}

/// Verifies credentials and opens a new refresh-token family.
///
/// Failed attempts are counted per account and per client IP; once either
/// reaches its limit, further attempts (even correct ones) get 429 until the
/// window ends, which stops online guessing without locking accounts forever.
pub async fn login<S: IdentityStore>(
    deps: &LoginDeps<S>,
    creds: Credentials,
    source_ip: Option<&str>,
    now: OffsetDateTime,
) -> Result<TokenResponse, IdentityError> {
    let LoginDeps {
        store,
        hasher,
        issuer,
        limits,
        policy,
    } = deps;
    let limits = *limits;
    let window = window_start(now, limits.window_secs);
    let retry_after_secs = u64::try_from(window + limits.window_secs - now.unix_timestamp())
        .unwrap_or(1)
        .max(1);
    let account_key = format!("login#account#{}", creds.email);
    let ip_key = source_ip.map(|ip| format!("login#ip#{ip}"));

    if store.failures(&account_key, window).await? >= limits.max_failures_per_account {
        tracing::warn!("login throttled for account");
        return Err(IdentityError::RateLimited { retry_after_secs });
    }
    if let Some(ip_key) = &ip_key
        && store.failures(ip_key, window).await? >= limits.max_failures_per_ip
    {
        tracing::warn!(source_ip, "login throttled for client ip");
        return Err(IdentityError::RateLimited { retry_after_secs });
    }

    let user = store.user_by_email(&creds.email).await?;
    let verified = {
        let hasher = hasher.clone();
        let password = creds.password;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        tokio::task::spawn_blocking(move || match stored {
            Some(hash) => hasher.verify(&password, &hash),
            // Same cost as a real check, so timing does not reveal whether
            // the address is registered.
            None => {
                hasher.verify_dummy(&password);
                false
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("verification task failed: {e}"))?
    };
    let user = match (verified, user) {
        (true, Some(user)) => user,
        _ => {
            let expires = window + limits.window_secs * 2;
            store.record_failure(&account_key, window, expires).await?;
            if let Some(ip_key) = &ip_key {
                store.record_failure(ip_key, window, expires).await?;
            }
            return Err(IdentityError::InvalidCredentials);
        }
    };

    let refresh = RefreshToken::generate();
    let record = RefreshRecord {
        fingerprint: refresh.fingerprint(),
        user_id: user.id,
        family_id: uuid::Uuid::new_v4().to_string(),
        status: RefreshStatus::Active,
        expires_at: now + policy.refresh_ttl,
    };
    store.start_family(&record, now).await?;
    tracing::info!(user_id = %user.id, family_id = %record.family_id, "login succeeded");
    token_response(issuer, &user, refresh, now)
}

fn token_response(
    issuer: &TokenIssuer,
    user: &User,
    refresh: RefreshToken,
    now: OffsetDateTime,
) -> Result<TokenResponse, IdentityError> {
    let roles: Vec<String> = user.roles.iter().map(|r| r.as_str().to_owned()).collect();
    let access = issuer
        .issue(&user.id.to_string(), &roles, now)
        .map_err(|e| anyhow::anyhow!("issuing access token: {e}"))?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: refresh.expose().to_owned(),
    })
}

/// Exchanges a refresh token for a new pair. The presented token is rotated
/// out; presenting a rotated token again means it leaked (or a client bug),
/// so the whole family is revoked and every holder must log in again.
pub async fn refresh<S: IdentityStore>(
    store: &S,
    issuer: &TokenIssuer,
    policy: &TokenPolicy,
    presented: &str,
    now: OffsetDateTime,
) -> Result<TokenResponse, IdentityError> {
    let presented =
        RefreshToken::parse(presented).map_err(|_| IdentityError::InvalidRefreshToken)?;
    let Some(record) = store.refresh_record(&presented.fingerprint()).await? else {
        return Err(IdentityError::InvalidRefreshToken);
    };
    if record.status == RefreshStatus::Rotated {
        tracing::warn!(family_id = %record.family_id, user_id = %record.user_id, "refresh token reuse detected; revoking family");
        store.revoke_family(&record.family_id, now).await?;
        return Err(IdentityError::InvalidRefreshToken);
    }
    if record.expires_at <= now || store.family_revoked(&record.family_id).await? {
        return Err(IdentityError::InvalidRefreshToken);
    }
    let Some(user) = store.user(record.user_id).await? else {
        return Err(IdentityError::InvalidRefreshToken);
    };
    let next = RefreshToken::generate();
    let next_record = RefreshRecord {
        fingerprint: next.fingerprint(),
        user_id: user.id,
        family_id: record.family_id.clone(),
        status: RefreshStatus::Active,
        expires_at: now + policy.refresh_ttl,
    };
    match store.rotate(&record.fingerprint, &next_record).await {
        Ok(()) => token_response(issuer, &user, next, now),
        // Lost a race with another use of the same token: that is reuse too.
        Err(StoreError::Conflict) => {
            tracing::warn!(family_id = %record.family_id, "concurrent refresh token use; revoking family");
            store.revoke_family(&record.family_id, now).await?;
            Err(IdentityError::InvalidRefreshToken)
        }
        Err(e) => Err(e.into()),
    }
}

/// Revokes the family of the presented refresh token. Unknown or malformed
/// tokens are accepted silently: logout is idempotent and reveals nothing.
pub async fn logout<S: IdentityStore>(
    store: &S,
    presented: &str,
    now: OffsetDateTime,
) -> Result<(), IdentityError> {
    let Ok(token) = RefreshToken::parse(presented) else {
        return Ok(());
    };
    if let Some(record) = store.refresh_record(&token.fingerprint()).await? {
        store.revoke_family(&record.family_id, now).await?;
        tracing::info!(family_id = %record.family_id, user_id = %record.user_id, "logged out");
    }
    Ok(())
}

pub async fn me<S: IdentityStore>(store: &S, id: UserId) -> Result<UserView, IdentityError> {
    store
        .user(id)
        .await?
        .map(|u| UserView::from(&u))
        .ok_or(IdentityError::UserNotFound)
}

pub async fn list_users<S: IdentityStore>(
    store: &S,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<UserView>, IdentityError> {
    let page = store.list_users(cursor, limit.clamp(1, 100)).await?;
    Ok(Page {
        items: page.items.iter().map(UserView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

pub async fn set_roles<S: IdentityStore>(
    store: &S,
    id: UserId,
    mut roles: Vec<Role>,
    now: OffsetDateTime,
) -> Result<UserView, IdentityError> {
    roles.sort();
    roles.dedup();
    store
        .set_roles(id, &roles, now)
        .await?
        .map(|u| UserView::from(&u))
        .ok_or(IdentityError::UserNotFound)
}

#[cfg(test)]
mod tests;
