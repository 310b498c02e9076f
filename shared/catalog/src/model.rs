//! The product and the newtypes untrusted input is parsed into at the edge.

use std::fmt;
use std::str::FromStr;

use contracts::events::ProductDetails;
use contracts::{Currency, ProductId};
use serde::Serialize;
use time::OffsetDateTime;

/// Stock keeping unit: 1 to 40 of `A-Z`, `0-9` and `-`. Input is trimmed and
/// upper-cased first, so `mug-001` and `MUG-001` are the same SKU (and can
/// only be claimed once).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Sku(String);

impl Sku {
    pub const MAX_LEN: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim().to_ascii_uppercase();
        if value.is_empty() {
            return Err("must not be empty");
        }
        if value.len() > Self::MAX_LEN {
            return Err("must be at most 40 characters");
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        {
            return Err("may only contain letters A-Z, digits and '-'");
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Display name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ProductName(String);

impl ProductName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("must not be empty");
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err("must be at most 200 characters");
        }
        if value.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text, at most 5000 characters; line breaks and tabs are allowed,
/// other control characters are not. Empty when the client gave none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ProductDescription(String);

impl ProductDescription {
    pub const MAX_CHARS: usize = 5000;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.chars().count() > Self::MAX_CHARS {
            return Err("must be at most 5000 characters");
        }
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("must not contain control characters other than line breaks and tabs");
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category slug: lower-case words of `a-z0-9` joined by single hyphens,
/// 1 to 50 characters (`kitchen`, `home-office`). Input is trimmed and
/// lower-cased first. It becomes part of a search partition key, hence the
/// closed alphabet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Category(String);

impl Category {
    pub const MAX_LEN: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim().to_ascii_lowercase();
        if value.is_empty() {
            return Err("must not be empty");
        }
        if value.len() > Self::MAX_LEN {
            return Err("must be at most 50 characters");
        }
        let words_ok = value.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
        if !words_ok {
            return Err(
                "must be a slug: letters a-z and digits, words joined by single hyphens (e.g. \"home-office\")",
            );
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Category {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Largest accepted price, in minor units (one million major units of a
/// two-decimal currency). Bounds keep sums of order lines far from overflow.
pub const MAX_PRICE: i64 = 100_000_000;

/// A price in minor units: 1 to [`MAX_PRICE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Price(i64);

impl Price {
    pub fn new(minor_units: i64) -> Result<Self, String> {
        if minor_units <= 0 {
            return Err(
                "must be greater than 0 (a price in minor units, e.g. 1250 for 12.50)".into(),
            );
        }
        if minor_units > MAX_PRICE {
            return Err(format!("must be at most {MAX_PRICE} minor units"));
        }
        Ok(Self(minor_units))
    }

    pub fn minor_units(&self) -> i64 {
        self.0
    }
}

/// Everything an admin sets on a product (POST and PUT bodies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInput {
    pub sku: Sku,
    pub name: ProductName,
    pub description: ProductDescription,
    pub category: Category,
    pub price: Price,
    pub currency: Currency,
}

/// Images a product may have.
pub const MAX_IMAGES: usize = 10;

/// A catalog product as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub sku: Sku,
    pub name: ProductName,
    pub description: ProductDescription,
    pub category: Category,
    pub price: Price,
    pub currency: Currency,
    /// S3 keys of the images, in the order they were added.
    pub images: Vec<String>,
    /// 1 when created, incremented by every change (and by the deletion,
    /// whose event carries the next number). Events carry it, so consumers
    /// can order them; clients see it as the `ETag`.
    pub version: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Product {
    pub fn create(input: ProductInput, now: OffsetDateTime) -> Self {
        let now = to_micros(now);
        Self {
            id: ProductId::new(),
            sku: input.sku,
            name: input.name,
            description: input.description,
            category: input.category,
            price: input.price,
            currency: input.currency,
            images: Vec::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The next version of this product with `change` applied. The change
    /// time is at least a microsecond after the previous one, so
    /// `updated_at` grows with `version` even if clocks disagree.
    pub fn revised(&self, now: OffsetDateTime, change: impl FnOnce(&mut Product)) -> Self {
        let mut next = self.clone();
        change(&mut next);
        next.version = self.version + 1;
        next.updated_at = to_micros(now).max(self.updated_at + time::Duration::microseconds(1));
        next
    }

    pub fn apply(&mut self, input: ProductInput) {
        self.sku = input.sku;
        self.name = input.name;
        self.description = input.description;
        self.category = input.category;
        self.price = input.price;
        self.currency = input.currency;
    }

    /// The snapshot that `product.created|updated` carry.
    pub fn details(&self) -> ProductDetails {
        ProductDetails {
            sku: self.sku.as_str().to_owned(),
            name: self.name.as_str().to_owned(),
            description: self.description.as_str().to_owned(),
            category: self.category.as_str().to_owned(),
            price: self.price.minor_units(),
            currency: self.currency,
            images: self.images.clone(),
        }
    }

    /// The entity tag of this version: `"<version>"`.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// A product as clients see it. The price is flat (`price` in minor units
/// plus `currency`) exactly like the request body, so a client can send a
/// fetched product back with `PUT` unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductView {
    pub id: ProductId,
    pub sku: Sku,
    pub name: ProductName,
    pub description: ProductDescription,
    pub category: Category,
    pub price: i64,
    pub currency: Currency,
    pub images: Vec<String>,
    /// Presigned GET URLs of `images`, same order; only `GET /products/{id}`
    /// fills them in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_urls: Option<Vec<String>>,
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id,
            sku: p.sku.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            category: p.category.clone(),
            price: p.price.minor_units(),
            currency: p.currency,
            images: p.images.clone(),
            image_urls: None,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Image formats the catalog accepts, by their content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
    Webp,
}

impl ImageType {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" => Ok(Self::Jpeg),
            "image/png" => Ok(Self::Png),
            "image/webp" => Ok(Self::Webp),
            _ => Err("must be one of image/jpeg, image/png, image/webp"),
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }
}

/// Largest image upload: 5 MiB.
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;

/// The exact size of an image to upload, 1 byte to 5 MiB. It is signed into
/// the upload URL, so the upload must have exactly this length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSize(u64);

impl ImageSize {
    pub fn new(bytes: u64) -> Result<Self, &'static str> {
        if bytes == 0 {
            return Err("must be at least 1 byte");
        }
        if bytes > MAX_IMAGE_BYTES {
            return Err("must be at most 5242880 bytes (5 MiB)");
        }
        Ok(Self(bytes))
    }

    pub fn bytes(&self) -> u64 {
        self.0
    }
}

/// The S3 key of a new image of `product`: under the product's prefix, with
/// a fresh time-ordered name, so keys never collide or get reused.
pub fn image_key(product: ProductId, kind: ImageType) -> String {
    format!(
        "products/{product}/images/{}.{}",
        uuid::Uuid::now_v7().simple(),
        kind.extension()
    )
}

/// Timestamps are kept to the microsecond, the precision DynamoDB items and
/// events hold, so stored and in-memory values compare equal.
pub fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_upper_cased_and_closed() {
        assert_eq!(Sku::parse(" mug-001 ").expect("ok").as_str(), "MUG-001");
        assert!(Sku::parse(&"A".repeat(40)).is_ok());
        for bad in ["", "  ", "MUG 001", "MUG_001", "MUG#1", "é", "A/B"] {
            assert!(Sku::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Sku::parse(&"A".repeat(41)).is_err());
    }

    #[test]
    fn names_and_descriptions_are_bounded() {
        assert_eq!(ProductName::parse("  Mug ").expect("ok").as_str(), "Mug");
        assert!(ProductName::parse(&"é".repeat(200)).is_ok());
        assert!(ProductName::parse(&"x".repeat(201)).is_err());
        assert!(ProductName::parse("").is_err());
        assert!(ProductName::parse("a\nb").is_err());
        assert!(ProductDescription::parse("").is_ok());
        assert!(ProductDescription::parse("line one\nline two\ttab").is_ok());
        assert!(ProductDescription::parse(&"é".repeat(5000)).is_ok());
        assert!(ProductDescription::parse(&"x".repeat(5001)).is_err());
        assert!(ProductDescription::parse("nul\u{0}").is_err());
    }

    #[test]
    fn categories_are_slugs() {
        assert_eq!(Category::parse("Kitchen").expect("ok").as_str(), "kitchen");
        assert!(Category::parse("home-office").is_ok());
        assert!(Category::parse("a1-b2-c3").is_ok());
        for bad in ["", "-a", "a-", "a--b", "a b", "café", "a_b", "a#b"] {
            assert!(Category::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Category::parse(&"a".repeat(51)).is_err());
    }

    #[test]
    fn prices_are_positive_and_bounded() {
        assert!(Price::new(1).is_ok());
        assert!(Price::new(MAX_PRICE).is_ok());
        assert!(Price::new(0).is_err());
        assert!(Price::new(-1).is_err());
        assert!(Price::new(MAX_PRICE + 1).is_err());
    }

    #[test]
    fn image_types_and_sizes() {
        assert_eq!(ImageType::parse("image/PNG"), Ok(ImageType::Png));
        assert_eq!(ImageType::parse("image/webp"), Ok(ImageType::Webp));
        assert!(ImageType::parse("image/gif").is_err());
        assert!(ImageType::parse("text/html").is_err());
        assert!(ImageSize::new(1).is_ok());
        assert!(ImageSize::new(MAX_IMAGE_BYTES).is_ok());
        assert!(ImageSize::new(0).is_err());
        assert!(ImageSize::new(MAX_IMAGE_BYTES + 1).is_err());
        let id = ProductId::new();
        let key = image_key(id, ImageType::Jpeg);
        assert!(key.starts_with(&format!("products/{id}/images/")), "{key}");
        assert!(key.ends_with(".jpg"));
        assert_ne!(key, image_key(id, ImageType::Jpeg));
    }

    #[test]
    fn revisions_bump_version_and_time() {
        let t = time::macros::datetime!(2026-11-21 10:00 UTC);
        let p = Product::create(
            ProductInput {
                sku: Sku::parse("A-1").expect("sku"),
                name: ProductName::parse("A").expect("name"),
                description: ProductDescription::default(),
                category: Category::parse("misc").expect("category"),
                price: Price::new(100).expect("price"),
                currency: Currency::EUR,
            },
            t,
        );
        assert_eq!(p.version, 1);
        assert_eq!(p.etag(), "\"1\"");
        // A clock running behind still moves updated_at forward.
        let next = p.revised(t - time::Duration::seconds(5), |p| {
            p.price = Price::new(200).expect("price")
        });
        assert_eq!(next.version, 2);
        assert!(next.updated_at > p.updated_at);
        assert_eq!(next.price.minor_units(), 200);
        assert_eq!(next.created_at, p.created_at);
    }
}
