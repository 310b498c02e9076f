use contracts::{OrderId, Role};
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json, path_param};
use orders::service::{Viewer, order_for};
use orders::store::OrdersStore;

/// One order with its status history, for its owner or an admin; for
/// anyone else it does not exist (404).
pub async fn handle<S: OrdersStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let id: OrderId = path_param(&req, "id")?;
    let viewer = Viewer {
        user_id: caller.user_id,
        is_admin: caller.has_role(Role::Admin),
    };
    json(StatusCode::OK, &order_for(store, viewer, id).await?)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use contracts::UserId;
    use lambda_http::RequestExt;
    use orders::memory::InMemoryOrdersStore;
    use orders::testing::{caller, place_order};

    use super::*;

    fn get(id: &str) -> Request {
        Request::default().with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]))
    }

    #[tokio::test]
    async fn the_owner_and_admins_see_the_order_with_its_history() {
        let store = InMemoryOrdersStore::new();
        let owner = UserId::new();
        let id = place_order(&store, owner, 2).await;

        for ctx in [caller(owner, false), caller(UserId::new(), true)] {
            let response = handle(&store, get(&id.to_string()), ctx)
                .await
                .expect("200");
            assert_eq!(response.status(), StatusCode::OK);
            let order: serde_json::Value =
                serde_json::from_slice(response.body().as_ref()).expect("json");
            assert_eq!(order["id"], id.to_string());
            assert_eq!(order["user_id"], owner.to_string());
            assert_eq!(order["status"], "pending");
            assert_eq!(order["total"], 2_000);
            let history = order["history"].as_array().expect("history");
            assert_eq!(history.len(), 1);
            assert_eq!(history[0]["status"], "pending");
            assert!(history[0]["at"].as_str().is_some());
        }
    }

    #[tokio::test]
    async fn anyone_else_gets_404() {
        let store = InMemoryOrdersStore::new();
        let id = place_order(&store, UserId::new(), 1).await;
        for path in [id.to_string(), OrderId::new().to_string(), "nope".into()] {
            let err = handle(&store, get(&path), caller(UserId::new(), false))
                .await
                .expect_err("404");
            assert_eq!(err.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let err = handle(&store, get(&id.to_string()), HttpContext::new("r", None))
            .await
            .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}
