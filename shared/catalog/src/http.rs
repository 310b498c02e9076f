//! Request parsing and response shaping shared by the catalog's HTTP
//! functions: the product body (POST and PUT), `If-Match`, and `ETag`.

use contracts::Currency;
use http_kit::{ApiError, Body, DEFAULT_BODY_LIMIT, Request, Response, Validator, parse_json};
use lambda_http::http::{HeaderValue, header};
use serde::Deserialize;
use serde_json::Value;

use crate::model::{Category, Price, Product, ProductDescription, ProductInput, ProductName, Sku};
use crate::precondition::IfMatch;

/// Fields are taken as raw JSON so that every problem is reported at once,
/// each with its own message. Unknown fields are ignored, so a product read
/// with GET can be sent back with PUT as it is.
#[derive(Deserialize)]
struct ProductBody {
    sku: Option<Value>,
    name: Option<Value>,
    description: Option<Value>,
    category: Option<Value>,
    price: Option<Value>,
    currency: Option<Value>,
    version: Option<Value>,
}

fn present(value: Option<Value>) -> Option<Value> {
    value.filter(|v| !v.is_null())
}

fn text<T>(
    parse: impl FnOnce(&str) -> Result<T, &'static str>,
) -> impl FnOnce(Value) -> Result<T, String> {
    move |value| match value {
        Value::String(s) => parse(&s).map_err(str::to_owned),
        _ => Err("must be a string".to_owned()),
    }
}

fn whole_number(value: &Value) -> Result<i64, &'static str> {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(v) => Ok(v),
            None if n.is_u64() => Err("is far too large"),
            None => Err("must be a whole number, not a decimal"),
        },
        Value::String(_) => Err("must be a JSON number, not a string"),
        _ => Err("must be a whole number"),
    }
}

fn price(value: Value) -> Result<Price, String> {
    let minor_units = match whole_number(&value) {
        Ok(v) => v,
        Err(_) if value.is_f64() => {
            return Err(
                "must be a whole number of minor units (e.g. 1250 for 12.50), not a decimal".into(),
            );
        }
        Err(e) => return Err(e.to_owned()),
    };
    Price::new(minor_units)
}

fn currency(value: Value) -> Result<Currency, &'static str> {
    match value {
        Value::String(code) => code.parse(),
        _ => Err("must be an ISO 4217 currency code string such as \"EUR\""),
    }
}

fn version(value: Value) -> Result<u64, &'static str> {
    match whole_number(&value)? {
        v if v >= 1 => u64::try_from(v).map_err(|_| "must be a positive whole number"),
        _ => Err("must be a positive whole number (the version you read)"),
    }
}

/// The product fields of a POST or PUT body, and the `version` it names
/// (PUT only; POST ignores it).
pub fn product_input(req: &Request) -> Result<(ProductInput, Option<u64>), ApiError> {
    let body: ProductBody = parse_json(req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let sku = v.parse("sku", present(body.sku), text(Sku::parse));
    let name = v.parse("name", present(body.name), text(ProductName::parse));
    let description = match present(body.description) {
        None => Some(ProductDescription::default()),
        Some(d) => v.check("description", text(ProductDescription::parse)(d)),
    };
    let category = v.parse("category", present(body.category), text(Category::parse));
    let price = v.parse("price", present(body.price), price);
    let currency = v.parse("currency", present(body.currency), currency);
    let version = match present(body.version) {
        None => Some(None),
        Some(raw) => v.check("version", version(raw)).map(Some),
    };
    let fields = sku
        .zip(name)
        .zip(description)
        .zip(category)
        .zip(price)
        .zip(currency);
    let ((((((sku, name), description), category), price), currency), version) =
        v.finish(fields.zip(version))?;
    Ok((
        ProductInput {
            sku,
            name,
            description,
            category,
            price,
            currency,
        },
        version,
    ))
}

/// The request's `If-Match`, if any; malformed values are a 400.
pub fn if_match(req: &Request) -> Result<Option<IfMatch>, ApiError> {
    let Some(raw) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let mut v = Validator::new();
    let parsed = v.check(
        "If-Match",
        raw.to_str()
            .map_err(|_| "must be * or a list of entity tags such as \"3\"")
            .and_then(IfMatch::parse),
    );
    v.finish(parsed).map(Some)
}

/// Sets the product's `ETag` on a response.
pub fn with_etag(mut response: Response<Body>, product: &Product) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(&product.etag()) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_kit::FieldError;

    fn req(body: &str) -> Request {
        let mut req = Request::new(Body::from(body.to_owned()));
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        req
    }

    fn fields(err: ApiError) -> Vec<FieldError> {
        match err {
            ApiError::Validation(errors) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_full_body_parses_and_normalises() {
        let (input, version) = product_input(&req(
            r#"{"sku":" mug-001 ","name":"Café mug","description":"Stoneware.","category":"Kitchen","price":1250,"currency":"EUR","version":3,"id":"ignored","images":[]}"#,
        ))
        .expect("valid");
        assert_eq!(input.sku.as_str(), "MUG-001");
        assert_eq!(input.category.as_str(), "kitchen");
        assert_eq!(input.price.minor_units(), 1250);
        assert_eq!(version, Some(3));
        let (input, version) = product_input(&req(
            r#"{"sku":"A","name":"A","category":"a","price":1,"currency":"USD","description":null}"#,
        ))
        .expect("valid");
        assert_eq!(input.description.as_str(), "");
        assert_eq!(version, None);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = fields(
            product_input(&req(
                r#"{"sku":"a b","name":"","category":"Not a slug!","price":12.5,"currency":"euro","description":7,"version":0}"#,
            ))
            .expect_err("invalid"),
        );
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            names,
            [
                "sku",
                "name",
                "description",
                "category",
                "price",
                "currency",
                "version"
            ]
        );
        assert!(
            errors[4].message.contains("not a decimal"),
            "{}",
            errors[4].message
        );

        let missing = fields(product_input(&req("{}")).expect_err("invalid"));
        let names: Vec<&str> = missing.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["sku", "name", "category", "price", "currency"]);
        assert!(missing.iter().all(|e| e.message == "is required"));
    }

    #[test]
    fn prices_are_bounded_whole_minor_units() {
        for (price, ok) in [
            ("1", true),
            ("100000000", true),
            ("0", false),
            ("-5", false),
            ("100000001", false),
            ("\"1250\"", false),
            ("1e3", false),
            ("18446744073709551616", false),
        ] {
            let body = format!(
                r#"{{"sku":"A","name":"A","category":"a","price":{price},"currency":"USD"}}"#
            );
            assert_eq!(product_input(&req(&body)).is_ok(), ok, "price {price}");
        }
    }

    #[test]
    fn if_match_is_parsed_or_refused() {
        let mut r = req("{}");
        assert_eq!(if_match(&r).expect("none"), None);
        r.headers_mut()
            .insert(header::IF_MATCH, HeaderValue::from_static("\"4\""));
        assert!(if_match(&r).expect("tag").expect("some").matches(4));
        r.headers_mut()
            .insert(header::IF_MATCH, HeaderValue::from_static("4"));
        let errors = fields(if_match(&r).expect_err("bad"));
        assert_eq!(errors[0].field, "If-Match");
    }
}
