use contracts::events::PaymentMethod;
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    parse_json,
};
use lambda_http::http::{HeaderValue, header};
use orders::model::{IdempotencyKey, card_payment};
use orders::service::{CheckoutCommand, checkout};
use orders::store::OrdersStore;
use serde_json::{Map, Value};

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Set on an answer replayed from the idempotency record.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

const PAYMENT_SHAPE: &str =
    "must be {\"type\": \"wallet\"} or {\"type\": \"card\", \"payment_method\": \"pm_...\"}";

/// Reads `payment` field by field, so that each problem is reported on the
/// field it concerns (`payment.type`, `payment.payment_method`).
fn payment(v: &mut Validator, raw: Option<Value>) -> Option<PaymentMethod> {
    let object: Map<String, Value> = match raw.filter(|p| !p.is_null()) {
        None => {
            v.reject("payment", format!("is required; it {PAYMENT_SHAPE}"));
            return None;
        }
        Some(Value::Object(object)) => object,
        Some(_) => {
            v.reject("payment", PAYMENT_SHAPE);
            return None;
        }
    };
    let allowed: &[&str] = match object.get("type") {
        Some(Value::String(t)) if t == "wallet" => &["type"],
        Some(Value::String(t)) if t == "card" => &["type", "payment_method"],
        Some(Value::String(_)) => {
            v.reject("payment.type", "must be \"wallet\" or \"card\"");
            return None;
        }
        None | Some(Value::Null) => {
            v.reject("payment.type", "is required (\"wallet\" or \"card\")");
            return None;
        }
        Some(_) => {
            v.reject("payment.type", "must be the string \"wallet\" or \"card\"");
            return None;
        }
    };
    let unknown: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    for field in &unknown {
        v.reject(
            &format!("payment.{field}"),
            "is not a field of this payment type",
        );
    }
    let method = if allowed.len() == 1 {
        Some(PaymentMethod::Wallet)
    } else {
        match object.get("payment_method") {
            None | Some(Value::Null) => {
                v.reject(
                    "payment.payment_method",
                    "is required for card payments (a payment method id such as \"pm_card_visa\")",
                );
                None
            }
            Some(Value::String(reference)) => {
                v.check("payment.payment_method", card_payment(reference))
            }
            Some(_) => {
                v.reject("payment.payment_method", "must be a string");
                None
            }
        }
    };
    method.filter(|_| unknown.is_empty())
}

/// Checks out the caller's cart: 202 with the `pending` order; the saga
/// goes on asynchronously. Requires an `Idempotency-Key`; a retry with the
/// same key and body answers the original 202 (with `Idempotent-Replayed:
/// true`), the same key with another body 422.
pub async fn handle<S: OrdersStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let user_id = ctx.caller()?.user_id;
    // The body is only how to pay: what is bought, and at which price,
    // comes from the cart and the product projection, never from the
    // client. Read as a raw object so each problem names its field.
    let mut body: Map<String, Value> = parse_json(&req, DEFAULT_BODY_LIMIT)?;

    let mut v = Validator::new();
    let payment = payment(&mut v, body.remove("payment"));
    let key = v.parse(
        "Idempotency-Key",
        req.headers().get(IDEMPOTENCY_KEY_HEADER),
        |raw: &HeaderValue| {
            raw.to_str()
                .map_err(|_| "may only contain letters, digits, '_', '-', ':' and '.'")
                .and_then(IdempotencyKey::parse)
        },
    );
    let (payment, key) = v.finish(payment.zip(key))?;

    let receipt = checkout(
        store,
        CheckoutCommand {
            user_id,
            key,
            payment,
        },
        ctx.correlation_id,
        time::OffsetDateTime::now_utc(),
    )
    .await?;

    // The body is sent exactly as stored, so a replay is byte-for-byte the
    // original answer.
    let mut response = Response::new(Body::from(receipt.body));
    *response.status_mut() = StatusCode::from_u16(receipt.status)
        .map_err(|e| anyhow::anyhow!("stored checkout status is invalid: {e}"))?;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if receipt.replayed {
        headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests;
