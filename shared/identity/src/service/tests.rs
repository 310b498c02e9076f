use security::{JwtSettings, SigningKey, TokenVerifier};
use time::Duration;

use super::*;
use crate::memory::InMemoryIdentityStore;

const SECRET: &str = "0123456789abcdef0123456789abcdef-test-key";

fn settings() -> JwtSettings {
    JwtSettings {
        issuer: "iss".into(),
        audience: "aud".into(),
        access_ttl: Duration::minutes(15),
    }
}

fn issuer() -> TokenIssuer {
    TokenIssuer::new(SigningKey::from_secret(SECRET).expect("key"), settings())
}

fn limits() -> LoginLimits {
    LoginLimits {
        window_secs: 300,
        max_failures_per_account: 3,
        max_failures_per_ip: 10,
    }
}

fn policy() -> TokenPolicy {
    TokenPolicy {
        refresh_ttl: Duration::days(30),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn email(s: &str) -> Email {
    Email::parse(s).expect("valid email")
}

async fn registered(store: &InMemoryIdentityStore, address: &str) -> UserView {
    register(
        store,
        &PasswordHasher::new(),
        &[email("boss@example.com")],
        Registration {
            name: PersonName::parse("Ada").expect("name"),
            email: email(address),
            password: Password::new("correct horse".into()),
        },
        CorrelationId::new(),
        now(),
    )
    .await
    .expect("registers")
}

async fn login_as(
    store: &InMemoryIdentityStore,
    address: &str,
    password: &str,
    ip: &str,
) -> Result<TokenResponse, IdentityError> {
    let deps = LoginDeps {
        store: store.clone(),
        hasher: PasswordHasher::new(),
        issuer: issuer(),
        limits: limits(),
        policy: policy(),
    };
    login(
        &deps,
        Credentials {
            email: email(address),
            password: Password::new(password.into()),
        },
        Some(ip),
        now(),
    )
    .await
}

#[tokio::test]
async fn register_records_user_registered_in_the_outbox() {
    let store = InMemoryIdentityStore::new();
    let user = registered(&store, "Ada@Example.com").await;
    assert_eq!(user.email.as_str(), "ada@example.com");
    assert_eq!(user.roles, vec![Role::User]);
    let outbox = store.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].event_type, "user.registered");
    assert_eq!(outbox[0].subject, user.id.to_string());
}

#[tokio::test]
async fn duplicate_email_is_rejected_case_insensitively() {
    let store = InMemoryIdentityStore::new();
    registered(&store, "ada@example.com").await;
    let again = register(
        &store,
        &PasswordHasher::new(),
        &[],
        Registration {
            name: PersonName::parse("Other").expect("name"),
            email: email("ADA@example.com"),
            password: Password::new("another pass".into()),
        },
        CorrelationId::new(),
        now(),
    )
    .await;
    assert!(matches!(again, Err(IdentityError::EmailTaken)));
    assert_eq!(
        store.outbox().len(),
        1,
        "no event for the failed registration"
    );
}

#[tokio::test]
async fn bootstrap_admin_gets_the_admin_role() {
    let store = InMemoryIdentityStore::new();
    let boss = registered(&store, "boss@example.com").await;
    assert_eq!(boss.roles, vec![Role::User, Role::Admin]);
}

#[tokio::test]
async fn login_issues_a_verifiable_access_token() {
    let store = InMemoryIdentityStore::new();
    let user = registered(&store, "ada@example.com").await;
    let tokens = login_as(&store, "ada@example.com", "correct horse", "1.1.1.1")
        .await
        .expect("logs in");
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 900);
    let verifier = TokenVerifier::new(SigningKey::from_secret(SECRET).expect("key"), settings());
    let claims = verifier.verify(&tokens.access_token).expect("valid token");
    assert_eq!(claims.sub, user.id.to_string());
    assert_eq!(claims.roles, vec!["user".to_owned()]);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let store = InMemoryIdentityStore::new();
    registered(&store, "ada@example.com").await;
    assert!(matches!(
        login_as(&store, "ada@example.com", "wrong password", "1.1.1.1").await,
        Err(IdentityError::InvalidCredentials)
    ));
    assert!(matches!(
        login_as(&store, "nobody@example.com", "whatever1", "1.1.1.1").await,
        Err(IdentityError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn account_is_throttled_after_repeated_failures_even_with_the_right_password() {
    let store = InMemoryIdentityStore::new();
    registered(&store, "ada@example.com").await;
    for _ in 0..3 {
        assert!(matches!(
            login_as(&store, "ada@example.com", "wrong password", "1.1.1.1").await,
            Err(IdentityError::InvalidCredentials)
        ));
    }
    match login_as(&store, "ada@example.com", "correct horse", "2.2.2.2").await {
        Err(IdentityError::RateLimited { retry_after_secs }) => {
            assert!((1..=300).contains(&retry_after_secs));
        }
        other => panic!("expected throttling, got {other:?}"),
    }
}

#[tokio::test]
async fn client_ip_is_throttled_across_accounts() {
    let store = InMemoryIdentityStore::new();
    for i in 0..10 {
        let _ = login_as(&store, &format!("u{i}@example.com"), "guess1234", "6.6.6.6").await;
    }
    assert!(matches!(
        login_as(&store, "fresh@example.com", "guess1234", "6.6.6.6").await,
        Err(IdentityError::RateLimited { .. })
    ));
    // Another client is unaffected.
    assert!(matches!(
        login_as(&store, "fresh@example.com", "guess1234", "7.7.7.7").await,
        Err(IdentityError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let store = InMemoryIdentityStore::new();
    registered(&store, "ada@example.com").await;
    let first = login_as(&store, "ada@example.com", "correct horse", "1.1.1.1")
        .await
        .expect("login");
    let second = refresh(&store, &issuer(), &policy(), &first.refresh_token, now())
        .await
        .expect("rotates");
    assert_ne!(second.refresh_token, first.refresh_token);

    // Replaying the rotated token is reuse: rejected, and the family dies...
    assert!(matches!(
        refresh(&store, &issuer(), &policy(), &first.refresh_token, now()).await,
        Err(IdentityError::InvalidRefreshToken)
    ));
    // ...so even the legitimately rotated successor no longer works.
    assert!(matches!(
        refresh(&store, &issuer(), &policy(), &second.refresh_token, now()).await,
        Err(IdentityError::InvalidRefreshToken)
    ));
}

#[tokio::test]
async fn logout_revokes_the_family_and_is_idempotent() {
    let store = InMemoryIdentityStore::new();
    registered(&store, "ada@example.com").await;
    let tokens = login_as(&store, "ada@example.com", "correct horse", "1.1.1.1")
        .await
        .expect("login");
    logout(&store, &tokens.refresh_token, now())
        .await
        .expect("logout");
    logout(&store, &tokens.refresh_token, now())
        .await
        .expect("again");
    logout(&store, "garbage", now())
        .await
        .expect("garbage is fine");
    assert!(matches!(
        refresh(&store, &issuer(), &policy(), &tokens.refresh_token, now()).await,
        Err(IdentityError::InvalidRefreshToken)
    ));
}

#[tokio::test]
async fn expired_or_unknown_refresh_tokens_are_rejected() {
    let store = InMemoryIdentityStore::new();
    registered(&store, "ada@example.com").await;
    let tokens = login_as(&store, "ada@example.com", "correct horse", "1.1.1.1")
        .await
        .expect("login");
    let later = now() + Duration::days(31);
    assert!(matches!(
        refresh(&store, &issuer(), &policy(), &tokens.refresh_token, later).await,
        Err(IdentityError::InvalidRefreshToken)
    ));
    let unknown = RefreshToken::generate();
    assert!(matches!(
        refresh(&store, &issuer(), &policy(), unknown.expose(), now()).await,
        Err(IdentityError::InvalidRefreshToken)
    ));
}

#[tokio::test]
async fn roles_can_be_replaced_and_unknown_users_are_not_found() {
    let store = InMemoryIdentityStore::new();
    let user = registered(&store, "ada@example.com").await;
    let updated = set_roles(
        &store,
        user.id,
        vec![Role::Admin, Role::User, Role::Admin],
        now(),
    )
    .await
    .expect("updated");
    assert_eq!(updated.roles, vec![Role::User, Role::Admin]);
    assert!(matches!(
        set_roles(&store, UserId::new(), vec![Role::User], now()).await,
        Err(IdentityError::UserNotFound)
    ));
    assert!(matches!(
        me(&store, UserId::new()).await,
        Err(IdentityError::UserNotFound)
    ));
}

#[tokio::test]
async fn listing_pages_through_all_users() {
    let store = InMemoryIdentityStore::new();
    for i in 0..5 {
        registered(&store, &format!("u{i}@example.com")).await;
    }
    let first = list_users(&store, None, 2).await.expect("page 1");
    assert_eq!(first.items.len(), 2);
    let mut seen = first.items.len();
    let mut cursor = first.next_cursor;
    while let Some(c) = cursor {
        let page = list_users(&store, Some(&c), 2).await.expect("page");
        seen += page.items.len();
        cursor = page.next_cursor;
    }
    assert_eq!(seen, 5);
    assert!(matches!(
        list_users(&store, Some("bogus"), 2).await,
        Err(IdentityError::BadCursor)
    ));
}
