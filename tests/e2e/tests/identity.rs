//! Identity through the gateway: registration, login, tokens, admin routes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{PASSWORD, stack, unique_email};
use reqwest::{Method, StatusCode};
use security::{JwtSettings, SigningKey, TokenIssuer};
use serde_json::json;

#[tokio::test]
async fn register_then_duplicate_is_409() {
    let s = stack().await;
    let email = unique_email("dup");
    let first = s.register(&email, PASSWORD).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(first.body["email"], email.as_str());
    assert!(first.body.get("password_hash").is_none());
    assert!(first.header("x-request-id").is_some());
    let again = s.register(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    assert_eq!(
        again.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn ten_racing_registrations_of_one_email_make_exactly_one_account() {
    let s = stack().await;
    let email = unique_email("race");
    let replies = futures::future::join_all((0..10).map(|_| s.register(&email, PASSWORD))).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let conflicts = replies
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (created, conflicts),
        (1, 9),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn invalid_registrations_are_400_with_details() {
    let s = stack().await;
    let malformed = s
        .send(
            s.http
                .post(format!("{}/auth/register", s.api))
                .header("content-type", "application/json")
                .body("{\"name\": \"x\", "),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        malformed.header("content-type"),
        Some("application/problem+json")
    );

    let missing = s
        .call(Method::POST, "/auth/register", None, Some(json!({})))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.error_fields(), vec!["name", "email", "password"]);

    let bad = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"name": "A", "email": "not-an-email", "password": "short"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_fields(), vec!["email", "password"]);

    let wrong_type = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"name": 5, "email": "a@example.com", "password": "long enough"})),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_type.error_fields(), vec!["name"]);

    let not_json = s
        .send(
            s.http
                .post(format!("{}/auth/register", s.api))
                .header("content-type", "text/plain")
                .body("hello"),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"name": "x".repeat(40_000), "email": "a@example.com", "password": "long enough"})),
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn login_with_wrong_password_is_401() {
    let s = stack().await;
    let user = s.new_user().await;
    let wrong = s.login(&user.email, "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = s.login(&unique_email("ghost"), PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_response_uses_oauth_field_names() {
    let s = stack().await;
    let user = s.new_user().await;
    let tokens = s.login(&user.email, PASSWORD).await;
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert!(tokens.body["expires_in"].as_i64().unwrap_or_default() > 0);
    assert!(tokens.body["access_token"].is_string());
    assert!(tokens.body["refresh_token"].is_string());
}

fn settings(audience: &str) -> JwtSettings {
    JwtSettings {
        issuer: "serverless-commerce".into(),
        audience: audience.into(),
        access_ttl: time::Duration::minutes(5),
    }
}

#[tokio::test]
async fn users_me_requires_a_valid_token() {
    let s = stack().await;
    let user = s.new_user().await;
    let me = s
        .call(Method::GET, "/users/me", Some(&user.access_token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_eq!(me.body["id"], user.id.as_str());

    let none = s.call(Method::GET, "/users/me", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);

    let secret = s.jwt_secret().await;
    let key = || SigningKey::from_secret(&secret).expect("key");
    let expired = TokenIssuer::new(key(), settings("serverless-commerce-api"))
        .issue(
            &user.id,
            &["user".into()],
            time::OffsetDateTime::now_utc() - time::Duration::hours(1),
        )
        .expect("token")
        .token;
    let wrong_audience = TokenIssuer::new(key(), settings("someone-else"))
        .issue(&user.id, &["user".into()], time::OffsetDateTime::now_utc())
        .expect("token")
        .token;
    let valid_with_right_key = TokenIssuer::new(key(), settings("serverless-commerce-api"))
        .issue(&user.id, &["user".into()], time::OffsetDateTime::now_utc())
        .expect("token")
        .token;
    let mut parts: Vec<String> = valid_with_right_key.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64")).expect("json");
    payload["roles"] = json!(["user", "admin"]);
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = parts.join(".");
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );

    for (name, token) in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let r = s.call(Method::GET, "/users/me", Some(&token), None).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{name} token was accepted"
        );
    }
    // A token the right key signed for this user still works: the rejections
    // above are about the token, not the user.
    let ok = s
        .call(Method::GET, "/users/me", Some(&valid_with_right_key), None)
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn admin_routes_are_forbidden_to_users_and_work_for_admins() {
    let s = stack().await;
    let user = s.new_user().await;
    let list = s
        .call(Method::GET, "/users", Some(&user.access_token), None)
        .await;
    assert_eq!(list.status, StatusCode::FORBIDDEN);
    let promote = s
        .call(
            Method::PUT,
            &format!("/users/{}/roles", user.id),
            Some(&user.access_token),
            Some(json!({"roles": ["user", "admin"]})),
        )
        .await;
    assert_eq!(promote.status, StatusCode::FORBIDDEN);

    let admin = s.admin().await;
    let page = s
        .call(
            Method::GET,
            "/users?limit=2",
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    assert!(
        page.body["items"]
            .as_array()
            .is_some_and(|i| !i.is_empty() && i.len() <= 2)
    );
    if let Some(cursor) = page.body["next_cursor"].as_str() {
        let next = s
            .call(
                Method::GET,
                &format!("/users?limit=2&cursor={cursor}"),
                Some(&admin.access_token),
                None,
            )
            .await;
        assert_eq!(next.status, StatusCode::OK);
    }
    let bad_cursor = s
        .call(
            Method::GET,
            "/users?cursor=bogus",
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(bad_cursor.status, StatusCode::BAD_REQUEST);
    let bad_limit = s
        .call(
            Method::GET,
            "/users?limit=0",
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(bad_limit.status, StatusCode::BAD_REQUEST);

    let set = s
        .call(
            Method::PUT,
            &format!("/users/{}/roles", user.id),
            Some(&admin.access_token),
            Some(json!({"roles": ["user", "admin"]})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(set.body["roles"], json!(["user", "admin"]));
    let bad_role = s
        .call(
            Method::PUT,
            &format!("/users/{}/roles", user.id),
            Some(&admin.access_token),
            Some(json!({"roles": ["root"]})),
        )
        .await;
    assert_eq!(bad_role.status, StatusCode::BAD_REQUEST);
    let unknown = s
        .call(
            Method::PUT,
            &format!("/users/{}/roles", uuid::Uuid::new_v4()),
            Some(&admin.access_token),
            Some(json!({"roles": ["user"]})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let not_an_id = s
        .call(
            Method::PUT,
            "/users/not-an-id/roles",
            Some(&admin.access_token),
            Some(json!({"roles": ["user"]})),
        )
        .await;
    assert_eq!(not_an_id.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let s = stack().await;
    let user = s.new_user().await;
    let refresh = |token: String| {
        s.call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": token})),
        )
    };
    let second = refresh(user.refresh_token.clone()).await;
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    let second_token = second.body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(second_token, user.refresh_token);
    let new_access = second.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let me = s
        .call(Method::GET, "/users/me", Some(&new_access), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);

    // Replay of the rotated token: refused, and the whole family is revoked.
    assert_eq!(
        refresh(user.refresh_token.clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refresh(second_token).await.status, StatusCode::UNAUTHORIZED);

    let missing = s
        .call(Method::POST, "/auth/refresh", None, Some(json!({})))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refresh("garbage".into()).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let s = stack().await;
    let user = s.new_user().await;
    let out = s
        .call(
            Method::POST,
            "/auth/logout",
            None,
            Some(json!({"refresh_token": user.refresh_token})),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let again = s
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": user.refresh_token})),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_with_retry_after() {
    let s = stack().await;
    let user = s.new_user().await;
    for attempt in 0..5 {
        let r = s.login(&user.email, "wrong password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let throttled = s.login(&user.email, PASSWORD).await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?}",
        throttled.body
    );
    let retry_after: u64 = throttled
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After header");
    assert!((1..=300).contains(&retry_after));
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let s = stack().await;
    let r = s.call(Method::GET, "/no/such/route", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let wrong_method = s.call(Method::DELETE, "/auth/register", None, None).await;
    assert_eq!(wrong_method.status, StatusCode::NOT_FOUND);
}
