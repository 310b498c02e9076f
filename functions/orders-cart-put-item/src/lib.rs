use contracts::ProductId;
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json, path_param,
};
use orders::model::Quantity;
use orders::service::set_cart_item;
use orders::store::OrdersStore;
use serde_json::{Map, Value};

fn quantity(value: Value) -> Result<Quantity, &'static str> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|q| u32::try_from(q).ok())
            .ok_or("must be a whole number from 1 to 99")
            .and_then(Quantity::new),
        Value::String(_) => Err("must be a JSON number, not a string"),
        _ => Err("must be a whole number from 1 to 99"),
    }
}

/// Puts a product in the caller's cart with this quantity (adding the line
/// or replacing its quantity) and answers the whole cart, priced now. The
/// client sends no price: prices come from the product projection.
pub async fn handle<S: OrdersStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let product_id: ProductId = path_param(&req, "product_id")?;
    // A JSON object taken as raw values, so that a string, a decimal or a
    // negative number each get their own message instead of serde's (and
    // an array is not read as a struct).
    let mut body: Map<String, Value> = parse_json(&req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let quantity = v.parse(
        "quantity",
        body.remove("quantity").filter(|q| !q.is_null()),
        quantity,
    );
    let quantity = v.finish(quantity)?;
    let view = set_cart_item(
        store,
        caller.user_id,
        product_id,
        quantity,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    json(StatusCode::OK, &view)
}

#[cfg(test)]
mod tests;
