//! The AWS side: Lambda `Invoke` and CloudFormation stack reads, through the
//! endpoint aws-config resolves (`AWS_ENDPOINT_URL` for the local emulator).

use std::collections::HashMap;

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;

use crate::lambda::{
    CatalogError, FunctionCatalog, Invocation, InvokeError, Invoker, StackSnapshot,
};

/// Hint appended to errors that look like the emulator is not running.
fn endpoint_hint() -> String {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => format!("is the emulator at {url} running? (`./dev up`)"),
        _ => "AWS_ENDPOINT_URL is not set, so the real AWS endpoint was used: \
              export AWS_ENDPOINT_URL=http://localhost:4566 for the local emulator"
            .to_owned(),
    }
}

fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            // The innermost cause ("Connection refused") says it all.
            let mut cause: &dyn std::error::Error = error;
            while let Some(next) = cause.source() {
                cause = next;
            }
            format!(
                "cannot reach the AWS endpoint ({cause}); {}",
                endpoint_hint()
            )
        }
        _ => DisplayErrorContext(error).to_string(),
    }
}

pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        // API Gateway calls an integration once; a retried Invoke could run a
        // non-idempotent function twice.
        let config = aws_sdk_lambda::config::Builder::from(config)
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .build();
        Self {
            client: aws_sdk_lambda::Client::from_conf(config),
        }
    }
}

impl Invoker for LambdaInvoker {
    async fn invoke(&self, function_name: &str, payload: &[u8]) -> Result<Invocation, InvokeError> {
        let result = self
            .client
            .invoke()
            .function_name(function_name)
            .payload(Blob::new(payload))
            .send()
            .await;
        match result {
            Ok(output) => Ok(Invocation {
                payload: output.payload.map(Blob::into_inner).unwrap_or_default(),
                function_error: output.function_error,
            }),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Err(InvokeError::NotFound(function_name.to_owned()))
            }
            Err(error) => Err(InvokeError::Failed(describe(&error))),
        }
    }
}

pub struct CloudFormationCatalog {
    client: aws_sdk_cloudformation::Client,
    stack_name: String,
}

impl CloudFormationCatalog {
    pub fn new(config: &aws_config::SdkConfig, stack_name: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_cloudformation::Client::new(config),
            stack_name: stack_name.into(),
        }
    }

    fn unavailable(&self, reason: String) -> CatalogError {
        CatalogError::Unavailable {
            stack: self.stack_name.clone(),
            reason,
        }
    }
}

impl FunctionCatalog for CloudFormationCatalog {
    async fn load(&self) -> Result<StackSnapshot, CatalogError> {
        let stacks = match self
            .client
            .describe_stacks()
            .stack_name(&self.stack_name)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let missing = error.as_service_error().is_some_and(|e| {
                    e.code() == Some("ValidationError")
                        || e.message().is_some_and(|m| m.contains("does not exist"))
                });
                return Err(if missing {
                    CatalogError::StackNotFound(self.stack_name.clone())
                } else {
                    self.unavailable(describe(&error))
                });
            }
        };
        let Some(stack) = stacks.stacks().first() else {
            return Err(CatalogError::StackNotFound(self.stack_name.clone()));
        };
        if let Some(status) = stack.stack_status() {
            let status = status.as_str();
            if status.contains("FAILED")
                || status.contains("ROLLBACK")
                || status.starts_with("DELETE")
            {
                tracing::warn!(stack = %self.stack_name, "stack status is {status}: routes may fail");
            }
        }
        // arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>
        let account_id = stack
            .stack_id()
            .and_then(|arn| arn.split(':').nth(4))
            .filter(|account| !account.is_empty())
            .map(str::to_owned);

        let mut functions = HashMap::new();
        let mut resources = HashMap::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_stack_resources()
                .stack_name(&self.stack_name)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| self.unavailable(describe(&error)))?;
            for summary in page.stack_resource_summaries() {
                let (Some(logical), Some(physical)) = (
                    summary.logical_resource_id(),
                    summary.physical_resource_id(),
                ) else {
                    continue;
                };
                if summary.resource_type() == Some("AWS::Lambda::Function") {
                    functions.insert(logical.to_owned(), physical.to_owned());
                }
                resources.insert(logical.to_owned(), physical.to_owned());
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(StackSnapshot {
            functions,
            resources,
            account_id,
        })
    }
}
