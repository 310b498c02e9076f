//! The catalog service: products with unique SKUs and optimistic
//! concurrency (version / ETag), images in S3 through presigned URLs, and a
//! search read model fed by the catalog's own events. Business steps are
//! plain async functions in [`service`] and [`search`] over the ports
//! [`store::CatalogStore`] and [`search::store::SearchStore`]; the Lambda
//! functions in `functions/catalog-*` only wire them to HTTP and SQS.

pub mod dynamo;
pub mod error;
pub mod http;
pub mod images;
mod keys;
pub mod memory;
pub mod model;
pub mod precondition;
pub mod search;
pub mod service;
pub mod store;
pub mod wiring;

pub use error::CatalogError;
