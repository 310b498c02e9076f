use http_kit::{
    ApiError, Body, FieldError, HttpContext, Request, Response, StatusCode, json, query_param,
};
use orders::service::orders_of;
use orders::store::OrdersStore;

pub const DEFAULT_LIMIT: u32 = 20;

/// The caller's orders, newest first, `?limit=1..100&cursor=...`. The
/// cursor is checked against the caller, so it can only continue the
/// caller's own list.
pub async fn handle<S: OrdersStore>(
    store: &S,
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
    json(
        StatusCode::OK,
        &orders_of(store, caller.user_id, cursor.as_deref(), limit).await?,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use contracts::UserId;
    use lambda_http::RequestExt;
    use orders::memory::InMemoryOrdersStore;
    use orders::testing::{caller, place_order};

    use super::*;

    fn get(pairs: &[(&str, &str)]) -> Request {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Request::new(Body::Empty).with_query_string_parameters(map)
    }

    async fn page(
        store: &InMemoryOrdersStore,
        user: UserId,
        query: &[(&str, &str)],
    ) -> serde_json::Value {
        let response = handle(store, get(query), caller(user, false))
            .await
            .expect("200");
        assert_eq!(response.status(), StatusCode::OK);
        serde_json::from_slice(response.body().as_ref()).expect("json")
    }

    fn quantities(page: &serde_json::Value) -> Vec<u64> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|o| o["items"][0]["quantity"].as_u64().expect("quantity"))
            .collect()
    }

    #[tokio::test]
    async fn pages_the_callers_orders_newest_first() {
        let store = InMemoryOrdersStore::new();
        let user = UserId::new();
        for quantity in 1..=5 {
            place_order(&store, user, quantity).await;
        }
        place_order(&store, UserId::new(), 77).await;

        let first = page(&store, user, &[("limit", "2")]).await;
        assert_eq!(quantities(&first), vec![5, 4]);
        let order = &first["items"][0];
        assert_eq!(order["status"], "pending");
        assert_eq!(order["history"][0]["status"], "pending");
        let cursor = first["next_cursor"].as_str().expect("cursor");
        let second = page(&store, user, &[("limit", "2"), ("cursor", cursor)]).await;
        assert_eq!(quantities(&second), vec![3, 2]);
        let cursor = second["next_cursor"].as_str().expect("cursor");
        let third = page(&store, user, &[("limit", "2"), ("cursor", cursor)]).await;
        assert_eq!(quantities(&third), vec![1]);
        assert!(third.get("next_cursor").is_none());

        assert_eq!(
            quantities(&page(&store, user, &[]).await),
            vec![5, 4, 3, 2, 1]
        );
        assert_eq!(
            quantities(&page(&store, UserId::new(), &[]).await),
            Vec::<u64>::new()
        );
    }

    #[tokio::test]
    async fn bad_cursors_and_limits_are_400() {
        let store = InMemoryOrdersStore::new();
        let (me, other) = (UserId::new(), UserId::new());
        for user in [me, me, other, other] {
            place_order(&store, user, 1).await;
        }
        let others = page(&store, other, &[("limit", "1")]).await["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        for cursor in ["bogus", "", "e30", others.as_str()] {
            let err = handle(&store, get(&[("cursor", cursor)]), caller(me, false))
                .await
                .expect_err("bad cursor");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{cursor:?}");
        }
        for limit in ["0", "101", "ten", "-1", "2.5"] {
            let err = handle(&store, get(&[("limit", limit)]), caller(me, false))
                .await
                .expect_err("bad limit");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{limit}");
        }
        let err = handle(&store, get(&[]), HttpContext::new("r", None))
            .await
            .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}
