use contracts::Role;
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json, path_param};
use inventory::model::Sku;
use inventory::stock::stock_view;
use inventory::store::InventoryStore;

/// `GET /inventory/{sku}` (admin): the SKU's stock. A path that is not a
/// valid SKU cannot name a record, so it is a 404 like an unknown one.
pub async fn handle<S: InventoryStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let sku: Sku = path_param(&req, "sku")?;
    json(StatusCode::OK, &stock_view(store, &sku).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::UserId;
    use http_kit::Caller;
    use inventory::testing::{line, placed, store_with, t0};
    use lambda_http::RequestExt;

    fn ctx(role: Role) -> HttpContext {
        HttpContext::new(
            "req",
            Some(Caller {
                user_id: UserId::new(),
                roles: vec![role],
            }),
        )
    }

    fn get(sku: &str) -> Request {
        Request::default().with_path_parameters(
            [("sku".to_owned(), vec![sku.to_owned()])]
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        )
    }

    #[tokio::test]
    async fn admins_see_the_stock_of_a_sku() {
        let store = store_with(&[("MUG-001", 10, 4)]);
        inventory::reservations::reserve(
            &store,
            &placed(vec![line("MUG-001", 3)]),
            contracts::CorrelationId::new(),
            t0(),
        )
        .await
        .expect("reserved");

        let response = handle(&store, get("MUG-001"), ctx(Role::Admin))
            .await
            .expect("200");
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        assert_eq!(body["sku"], "MUG-001");
        assert_eq!(body["available"], 7);
        assert_eq!(body["reserved"], 3);
        assert_eq!(body["sold"], 0);
        assert_eq!(body["threshold"], 4);
        assert_eq!(body["status"], "active");
        assert!(body["product_id"].as_str().is_some());
        assert_eq!(body["updated_at"], "2026-11-21T10:00:00Z");
    }

    #[tokio::test]
    async fn only_admins_and_only_known_skus() {
        let store = store_with(&[("MUG-001", 10, 4)]);
        let cases = [
            (
                get("MUG-001"),
                HttpContext::new("r", None),
                StatusCode::UNAUTHORIZED,
            ),
            (get("MUG-001"), ctx(Role::User), StatusCode::FORBIDDEN),
            (get("NOPE"), ctx(Role::Admin), StatusCode::NOT_FOUND),
            (get("not a sku"), ctx(Role::Admin), StatusCode::NOT_FOUND),
            (Request::default(), ctx(Role::Admin), StatusCode::NOT_FOUND),
        ];
        for (req, ctx, status) in cases {
            let err = handle(&store, req, ctx).await.expect_err("refused");
            assert_eq!(err.status(), status);
        }
    }
}
