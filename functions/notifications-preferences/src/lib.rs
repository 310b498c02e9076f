//! `PUT /notifications/preferences` {email?, discord?, sms?, push?}: turns
//! channels on or off for the caller and answers with all four.

use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json,
};
use notifications::{Channel, PreferenceStore, PreferencesUpdate};
use serde_json::{Map, Value};

const CHANNELS: &str = "email, discord, sms or push";

pub async fn handle<S: PreferenceStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let body: Map<String, Value> = parse_json(&req, DEFAULT_BODY_LIMIT)?;
    let update = parse_update(body)?;
    let preferences = store
        .update(caller.user_id, &update, time::OffsetDateTime::now_utc())
        .await?;
    json(StatusCode::OK, &preferences)
}

/// Every problem at once: unknown fields, non-boolean values, an empty body.
fn parse_update(body: Map<String, Value>) -> Result<PreferencesUpdate, ApiError> {
    let mut v = Validator::new();
    let mut update = PreferencesUpdate::default();
    for (field, value) in &body {
        let known = field.parse::<Channel>().is_ok();
        match (known, value) {
            (true, Value::Bool(on)) => {
                update.set(field, *on);
            }
            (true, _) => v.reject(field, "must be true or false"),
            (false, _) => v.reject(
                field,
                format!("is not a notification channel (expected {CHANNELS})"),
            ),
        }
    }
    if body.is_empty() {
        v.reject("body", format!("must set at least one of {CHANNELS}"));
    }
    v.finish(Some(update))
}

#[cfg(test)]
mod tests {
    use contracts::UserId;
    use http_kit::{Caller, FieldError};
    use notifications::{InMemoryPreferenceStore, Preferences};

    use super::*;

    fn caller(user_id: UserId) -> HttpContext {
        HttpContext::new(
            "req",
            Some(Caller {
                user_id,
                roles: vec![contracts::Role::User],
            }),
        )
    }

    fn put(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method("PUT")
            .uri("/notifications/preferences")
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .expect("request")
    }

    fn body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).expect("json")
    }

    fn field_errors(err: ApiError) -> Vec<FieldError> {
        match err {
            ApiError::Validation(errors) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn updates_the_named_channels_and_returns_all_four() {
        let store = InMemoryPreferenceStore::new();
        let user = UserId::new();

        let response = handle(&store, put(r#"{"email": false}"#), caller(user))
            .await
            .expect("ok");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            body(&response),
            serde_json::json!({"email": false, "discord": true, "sms": true, "push": true})
        );

        let response = handle(
            &store,
            put(r#"{"discord": false, "email": true}"#),
            caller(user),
        )
        .await
        .expect("ok");
        assert_eq!(
            body(&response),
            serde_json::json!({"email": true, "discord": false, "sms": true, "push": true})
        );
        assert_eq!(
            store.get(user).await.expect("stored"),
            Preferences {
                email: true,
                discord: false,
                sms: true,
                push: true
            }
        );
    }

    #[tokio::test]
    async fn unknown_fields_and_non_booleans_are_400_with_field_details() {
        let store = InMemoryPreferenceStore::new();
        let user = UserId::new();

        let err = handle(
            &store,
            put(r#"{"email": "no", "sms": null, "pigeon": false}"#),
            caller(user),
        )
        .await
        .expect_err("invalid");

        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let errors = field_errors(err);
        let message = |field: &str| {
            errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone())
                .unwrap_or_default()
        };
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(message("email"), "must be true or false");
        assert_eq!(message("sms"), "must be true or false");
        assert!(message("pigeon").contains("not a notification channel"));
        assert_eq!(
            store.get(user).await.expect("read"),
            Preferences::default(),
            "nothing changed"
        );
    }

    #[tokio::test]
    async fn an_empty_update_is_400() {
        let store = InMemoryPreferenceStore::new();
        let err = handle(&store, put("{}"), caller(UserId::new()))
            .await
            .expect_err("empty");
        let errors = field_errors(err);
        assert_eq!(errors[0].field, "body");
        assert!(errors[0].message.contains("at least one"));
    }

    #[tokio::test]
    async fn bodies_that_are_not_objects_are_400() {
        let store = InMemoryPreferenceStore::new();
        for bad in ["[true]", "true", "", "{\"email\": tru"] {
            let err = handle(&store, put(bad), caller(UserId::new()))
                .await
                .expect_err("bad body");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn anonymous_callers_are_401() {
        let store = InMemoryPreferenceStore::new();
        let err = handle(
            &store,
            put(r#"{"email": false}"#),
            HttpContext::new("r", None),
        )
        .await
        .expect_err("anonymous");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}
