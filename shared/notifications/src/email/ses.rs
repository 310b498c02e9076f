use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{DisplayErrorContext, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::email::{EmailMessage, EmailProvider};
use crate::provider::{DeliveryReceipt, ProviderError};

const PROVIDER: &str = "ses";

/// Sends email through Amazon SES (API v2) from one verified address.
#[derive(Clone)]
pub struct SesEmailProvider {
    client: Client,
    from: String,
}

impl SesEmailProvider {
    pub fn new(client: Client, from: String) -> Self {
        Self { client, from }
    }
}

impl EmailProvider for SesEmailProvider {
    async fn send(&self, msg: &EmailMessage) -> Result<DeliveryReceipt, ProviderError> {
        let message = Message::builder()
            .subject(utf8(&msg.subject)?)
            .body(
                Body::builder()
                    .html(utf8(&msg.html)?)
                    .text(utf8(&msg.text)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(msg.to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let message_id = out.message_id().filter(|id| !id.is_empty());
        if message_id.is_none() {
            tracing::warn!("SES accepted the message but returned no message id");
        }
        Ok(DeliveryReceipt {
            provider: PROVIDER,
            message_id: message_id.map(str::to_owned),
        })
    }
}

fn utf8(data: &str) -> Result<Content, ProviderError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| ProviderError::Permanent(format!("building the SES request: {e}")))
}

/// Only errors that say "this message can never be sent" are permanent.
/// Everything else (throttling, 5xx, timeouts, dispatch failures, and errors
/// we do not know, such as a missing IAM permission) is retryable: the record
/// is retried and finally parked in the DLQ, from where it can be redriven
/// once the cause is fixed, instead of the email being dropped for good.
pub fn classify(err: &SdkError<SendEmailError, HttpResponse>) -> ProviderError {
    match err.as_service_error() {
        Some(e) if is_permanent(e) => ProviderError::Permanent(e.to_string()),
        _ => ProviderError::Retryable(DisplayErrorContext(err).to_string()),
    }
}

fn is_permanent(e: &SendEmailError) -> bool {
    e.is_message_rejected()
        || e.is_mail_from_domain_not_verified_exception()
        || e.is_bad_request_exception()
        || e.is_account_suspended_exception()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_sesv2::error::ConnectorError;
    use aws_sdk_sesv2::operation::send_email::{SendEmailInput, SendEmailOutput};
    use aws_sdk_sesv2::types::error::{
        AccountSuspendedException, BadRequestException, MailFromDomainNotVerifiedException,
        MessageRejected, NotFoundException, TooManyRequestsException,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use contracts::Email;

    use super::*;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(
            StatusCode::try_from(status).expect("valid status"),
            SdkBody::empty(),
        )
    }

    fn service(err: SendEmailError, status: u16) -> SdkError<SendEmailError, HttpResponse> {
        SdkError::service_error(err, response(status))
    }

    fn message() -> EmailMessage {
        EmailMessage {
            to: Email::parse("ada@example.com").expect("valid"),
            subject: "Welcome".into(),
            html: "<p>Hi</p>".into(),
            text: "Hi".into(),
        }
    }

    #[test]
    fn refusals_of_the_message_itself_are_permanent() {
        let cases = [
            SendEmailError::MessageRejected(
                MessageRejected::builder()
                    .message("Email address is not verified")
                    .build(),
            ),
            SendEmailError::MailFromDomainNotVerifiedException(
                MailFromDomainNotVerifiedException::builder().build(),
            ),
            SendEmailError::BadRequestException(BadRequestException::builder().build()),
            SendEmailError::AccountSuspendedException(AccountSuspendedException::builder().build()),
        ];
        for err in cases {
            let classified = classify(&service(err, 400));
            assert!(
                matches!(classified, ProviderError::Permanent(_)),
                "{classified:?}"
            );
        }
    }

    #[test]
    fn the_permanent_reason_names_the_error() {
        let err = SendEmailError::MessageRejected(
            MessageRejected::builder()
                .message("Email address is not verified")
                .build(),
        );
        let ProviderError::Permanent(reason) = classify(&service(err, 400)) else {
            panic!("expected a permanent error");
        };
        assert!(reason.contains("MessageRejected"), "{reason}");
        assert!(reason.contains("not verified"), "{reason}");
    }

    #[test]
    fn transient_and_unknown_failures_are_retryable() {
        let cases = [
            service(
                SendEmailError::TooManyRequestsException(
                    TooManyRequestsException::builder().build(),
                ),
                429,
            ),
            service(
                SendEmailError::NotFoundException(NotFoundException::builder().build()),
                404,
            ),
            service(SendEmailError::unhandled("InternalFailure".to_owned()), 500),
            SdkError::timeout_error("operation timed out".to_owned()),
            SdkError::dispatch_failure(ConnectorError::io("connection reset".into())),
            SdkError::response_error("truncated body".to_owned(), response(502)),
        ];
        for err in cases {
            let classified = classify(&err);
            assert!(
                matches!(classified, ProviderError::Retryable(_)),
                "{classified:?}"
            );
        }
    }

    #[tokio::test]
    async fn sends_html_and_text_from_the_configured_address() {
        let seen: Arc<Mutex<Option<SendEmailInput>>> = Arc::default();
        let capture = seen.clone();
        let rule = mock!(Client::send_email)
            .match_requests(move |req| {
                *capture.lock().expect("lock") = Some(req.clone());
                true
            })
            .then_output(|| SendEmailOutput::builder().message_id("ses-123").build());
        let client = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&rule]);
        let provider = SesEmailProvider::new(client, "noreply@example.com".into());

        let receipt = provider.send(&message()).await.expect("sent");

        assert_eq!(receipt.provider, "ses");
        assert_eq!(receipt.message_id.as_deref(), Some("ses-123"));
        let input = seen
            .lock()
            .expect("lock")
            .clone()
            .expect("request captured");
        assert_eq!(input.from_email_address(), Some("noreply@example.com"));
        let to = input.destination().map(|d| d.to_addresses().to_vec());
        assert_eq!(to, Some(vec!["ada@example.com".to_owned()]));
        let simple = input
            .content()
            .and_then(|c| c.simple())
            .expect("simple content");
        assert_eq!(simple.subject().map(|c| c.data()), Some("Welcome"));
        let body = simple.body().expect("body");
        assert_eq!(body.html().map(|c| c.data()), Some("<p>Hi</p>"));
        assert_eq!(body.text().map(|c| c.data()), Some("Hi"));
    }

    #[tokio::test]
    async fn a_rejected_message_is_a_permanent_failure() {
        let rule = mock!(Client::send_email).then_error(|| {
            SendEmailError::MessageRejected(MessageRejected::builder().message("nope").build())
        });
        let client = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&rule]);
        let provider = SesEmailProvider::new(client, "noreply@example.com".into());

        let err = provider.send(&message()).await.expect_err("rejected");

        assert!(matches!(err, ProviderError::Permanent(_)), "{err:?}");
    }
}
