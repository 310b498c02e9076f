use std::time::Duration;

use contracts::Role;
use documents::DownloadLinks;
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json, path_param};
use invoices::{InvoiceId, InvoiceStore, Reader, invoice_download};

/// `GET /invoices/{id}`: the invoice and a short-lived download link of its
/// PDF, for its owner or an admin. Anyone else, and any id that does not
/// name an invoice, gets 404.
pub async fn handle<S: InvoiceStore, L: DownloadLinks>(
    store: &S,
    links: &L,
    link_ttl: Duration,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let id: InvoiceId = path_param(&req, "id")?;
    let reader = Reader {
        user_id: caller.user_id,
        is_admin: caller.has_role(Role::Admin),
    };
    json(
        StatusCode::OK,
        &invoice_download(store, links, reader, &id, link_ttl).await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::events::PaymentKind;
    use contracts::{Currency, OrderId, UserId};
    use documents::InMemoryDocuments;
    use http_kit::Caller;
    use invoices::Invoice;
    use invoices::memory::InMemoryInvoiceStore;
    use invoices::model::document_key;
    use lambda_http::RequestExt;
    use time::macros::datetime;

    const TTL: Duration = Duration::from_secs(300);

    fn ctx(user_id: UserId, roles: Vec<Role>) -> HttpContext {
        HttpContext::new("req", Some(Caller { user_id, roles }))
    }

    fn request(id: &str) -> Request {
        Request::new(Body::Empty).with_path_parameters(
            [("id".to_owned(), vec![id.to_owned()])]
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        )
    }

    fn seeded(owner: UserId) -> (InMemoryInvoiceStore, Invoice) {
        let id = InvoiceId::for_payment("pay_1");
        let invoice = Invoice {
            document_key: document_key(owner, &id),
            id,
            user_id: owner,
            order_id: OrderId::new(),
            payment_id: "pay_1".into(),
            amount: 2_599,
            currency: Currency::GBP,
            method: PaymentKind::Card,
            created_at: datetime!(2026-11-21 10:06 UTC),
        };
        let store = InMemoryInvoiceStore::new();
        store.insert(invoice.clone());
        (store, invoice)
    }

    async fn get(
        store: &InMemoryInvoiceStore,
        id: &str,
        ctx: HttpContext,
    ) -> Result<Response<Body>, ApiError> {
        handle(store, &InMemoryDocuments::new(), TTL, request(id), ctx).await
    }

    #[tokio::test]
    async fn the_owner_gets_the_invoice_and_a_download_link() {
        let owner = UserId::new();
        let (store, invoice) = seeded(owner);
        let response = get(&store, invoice.id.as_str(), ctx(owner, vec![Role::User]))
            .await
            .expect("200");
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        assert_eq!(
            body,
            serde_json::json!({
                "id": invoice.id.as_str(),
                "order_id": invoice.order_id.to_string(),
                "amount": 2599,
                "currency": "GBP",
                "created_at": "2026-11-21T10:06:00Z",
                "download_url": format!("memory://{}?valid_for=300", invoice.document_key),
                "expires_in": 300,
            })
        );
    }

    #[tokio::test]
    async fn an_admin_may_read_any_invoice() {
        let (store, invoice) = seeded(UserId::new());
        let response = get(
            &store,
            invoice.id.as_str(),
            ctx(UserId::new(), vec![Role::User, Role::Admin]),
        )
        .await
        .expect("200");
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn other_users_unknown_and_malformed_ids_are_not_found() {
        let (store, invoice) = seeded(UserId::new());
        let stranger = || ctx(UserId::new(), vec![Role::User]);
        let unknown = InvoiceId::for_payment("pay_404");
        for id in [
            invoice.id.as_str(),
            unknown.as_str(),
            "not-an-invoice",
            "inv_",
        ] {
            let err = get(&store, id, stranger()).await.expect_err("404");
            assert_eq!(err.status(), StatusCode::NOT_FOUND, "{id}");
        }
    }

    #[tokio::test]
    async fn a_request_without_a_caller_is_unauthorized() {
        let (store, invoice) = seeded(UserId::new());
        let err = get(&store, invoice.id.as_str(), HttpContext::new("r", None))
            .await
            .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}
