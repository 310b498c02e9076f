//! Cold-start construction for the invoice functions.
//!
//! | variable | meaning |
//! |---|---|
//! | `TABLE_NAME` | payments table (invoices, receipt parts, outbox) |
//! | `DOCUMENTS_BUCKET_NAME` | bucket of the receipt PDFs |
//! | `DOWNLOAD_URL_TTL_SECONDS` | validity of download links (300) |
//! | `S3_FORCE_PATH_STYLE` | `true` to presign path-style URLs (`false`) |

use aws_config::SdkConfig;
use documents::S3Documents;
use platform::{ConfigError, Env};

use crate::dynamo::DynamoInvoiceStore;

pub fn store(env: &Env, sdk: &SdkConfig) -> Result<DynamoInvoiceStore, ConfigError> {
    Ok(DynamoInvoiceStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("TABLE_NAME")?,
    ))
}

pub fn documents(env: &Env, sdk: &SdkConfig) -> Result<S3Documents, ConfigError> {
    Ok(S3Documents::from_sdk(
        sdk,
        env.required("DOCUMENTS_BUCKET_NAME")?,
        env.parsed_or("S3_FORCE_PATH_STYLE", false)?,
    ))
}
