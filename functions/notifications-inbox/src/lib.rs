//! `GET /notifications/me?limit&cursor`: what the caller was sent (or
//! skipped, or failed), newest first, `{items, next_cursor}`.

use http_kit::{
    ApiError, Body, FieldError, HttpContext, Request, Response, StatusCode, json, query_param,
};
use notifications::{DeliveryHistory, HistoryError};

const DEFAULT_LIMIT: u32 = 20;

pub async fn handle<H: DeliveryHistory>(
    history: &H,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let limit = match query_param(&req, "limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| {
                ApiError::Validation(vec![FieldError::new(
                    "limit",
                    "must be an integer from 1 to 100",
                )])
            })?,
    };
    let cursor = query_param(&req, "cursor");
    let page = history
        .history(caller.user_id, cursor.as_deref(), limit)
        .await
        .map_err(|e| match e {
            HistoryError::BadCursor => ApiError::Validation(vec![FieldError::new(
                "cursor",
                "is not a cursor returned by this endpoint",
            )]),
            HistoryError::Other(e) => ApiError::Internal(e),
        })?;
    json(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use contracts::{EventId, UserId};
    use http_kit::Caller;
    use lambda_http::RequestExt;
    use notifications::{Channel, DeliveryEntry, DeliveryLog, DeliveryStatus, InMemoryDeliveryLog};
    use time::macros::datetime;

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

    fn get(pairs: &[(&str, &str)]) -> Request {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Request::new(Body::Empty).with_query_string_parameters(map)
    }

    fn body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).expect("json")
    }

    async fn seed(log: &InMemoryDeliveryLog, user: UserId, minute: i64, status: DeliveryStatus) {
        let subject = format!("Message {minute}");
        log.record(
            &DeliveryEntry {
                event_id: EventId::new(),
                user_id: user,
                channel: Channel::Email,
                template: "welcome".into(),
                status,
                recipient: Some("ada@example.com".into()),
                subject: Some(subject.clone()),
                preview: Some(format!("{subject} preview")),
                provider_message_id: None,
                provider_response: "accepted by test".into(),
                body_key: None,
                at: datetime!(2026-11-21 10:00 UTC) + time::Duration::minutes(minute),
            },
            None,
        )
        .await
        .expect("seeded");
    }

    #[tokio::test]
    async fn pages_through_the_callers_history_newest_first() {
        let log = InMemoryDeliveryLog::new();
        let me = UserId::new();
        for minute in 0..5 {
            seed(&log, me, minute, DeliveryStatus::Sent).await;
        }
        seed(&log, UserId::new(), 9, DeliveryStatus::Sent).await;

        let mut subjects = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut query = vec![("limit", "2")];
            if let Some(c) = &cursor {
                query.push(("cursor", c));
            }
            let response = handle(&log, get(&query), caller(me)).await.expect("page");
            assert_eq!(response.status(), StatusCode::OK);
            let page = body(&response);
            pages += 1;
            for item in page["items"].as_array().expect("items") {
                subjects.push(item["subject"].as_str().expect("subject").to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
            assert!(pages < 10, "pagination does not end");
        }

        assert_eq!(
            subjects,
            vec![
                "Message 4",
                "Message 3",
                "Message 2",
                "Message 1",
                "Message 0"
            ]
        );
        assert_eq!(pages, 3);
    }

    #[tokio::test]
    async fn items_have_the_documented_shape() {
        let log = InMemoryDeliveryLog::new();
        let me = UserId::new();
        seed(&log, me, 0, DeliveryStatus::Skipped).await;

        let response = handle(&log, get(&[]), caller(me)).await.expect("ok");

        let page = body(&response);
        let item = &page["items"][0];
        assert!(item["id"].as_str().expect("id").starts_with("ntf_"));
        assert_eq!(item["channel"], "email");
        assert_eq!(item["template"], "welcome");
        assert_eq!(item["status"], "skipped");
        assert_eq!(item["created_at"], "2026-11-21T10:00:00Z");
        assert_eq!(item["subject"], "Message 0");
        assert_eq!(item["preview"], "Message 0 preview");
        assert!(item.get("recipient").is_none(), "{item}");
        assert_eq!(page["next_cursor"], serde_json::Value::Null);
    }

    #[tokio::test]
    async fn another_users_history_is_invisible_even_with_their_cursor() {
        let log = InMemoryDeliveryLog::new();
        let (me, other) = (UserId::new(), UserId::new());
        for minute in 0..3 {
            seed(&log, other, minute, DeliveryStatus::Sent).await;
        }
        let theirs = body(
            &handle(&log, get(&[("limit", "1")]), caller(other))
                .await
                .expect("ok"),
        );
        let their_cursor = theirs["next_cursor"].as_str().expect("cursor").to_owned();

        let mine = body(
            &handle(&log, get(&[("cursor", &their_cursor)]), caller(me))
                .await
                .expect("ok"),
        );

        assert_eq!(mine["items"], serde_json::json!([]));
    }

    #[tokio::test]
    async fn limit_cursor_and_caller_are_validated() {
        let log = InMemoryDeliveryLog::new();
        let me = UserId::new();
        for limit in ["0", "101", "ten", "-1", ""] {
            let err = handle(&log, get(&[("limit", limit)]), caller(me))
                .await
                .expect_err("bad limit");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{limit:?}");
        }
        let err = handle(&log, get(&[("cursor", "bogus")]), caller(me))
            .await
            .expect_err("bad cursor");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let err = handle(&log, get(&[]), HttpContext::new("r", None))
            .await
            .expect_err("anonymous");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        let ok = handle(&log, get(&[("limit", "100")]), caller(me))
            .await
            .expect("ok");
        assert_eq!(ok.status(), StatusCode::OK);
    }
}
