//! Cold-start construction shared by the catalog functions, so each
//! `main.rs` stays a few lines of visible wiring.

use aws_config::SdkConfig;
use platform::Env;

use crate::dynamo::DynamoCatalogStore;
use crate::images::S3Images;
use crate::search::dynamo::DynamoSearchStore;

/// The catalog table named by `TABLE_NAME`.
pub fn store(env: &Env, sdk: &SdkConfig) -> anyhow::Result<DynamoCatalogStore> {
    Ok(DynamoCatalogStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("TABLE_NAME")?,
    ))
}

/// The search read model named by `SEARCH_TABLE_NAME`.
pub fn search_store(env: &Env, sdk: &SdkConfig) -> anyhow::Result<DynamoSearchStore> {
    Ok(DynamoSearchStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("SEARCH_TABLE_NAME")?,
    ))
}

/// The image bucket named by `IMAGES_BUCKET`. `S3_FORCE_PATH_STYLE=true`
/// makes presigned URLs path-style (`<endpoint>/<bucket>/<key>`), for S3
/// endpoints without virtual-host DNS; AWS itself needs no setting.
pub fn images(env: &Env, sdk: &SdkConfig) -> anyhow::Result<S3Images> {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(env.parsed_or("S3_FORCE_PATH_STYLE", false)?)
        .build();
    Ok(S3Images::new(
        aws_sdk_s3::Client::from_conf(config),
        env.required("IMAGES_BUCKET")?,
    ))
}
