//! The SMS channel: text messages sent through Amazon SNS (`Publish` with a
//! phone number).

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use aws_sdk_sns::Client;
use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{DisplayErrorContext, SdkError};
use aws_sdk_sns::operation::publish::PublishError;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::provider::{DeliveryReceipt, ProviderError};

/// A phone number in E.164 form (`+` and 8 to 15 digits, no leading zero),
/// the only form SNS accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        let digits = compact
            .strip_prefix('+')
            .ok_or("must start with + and the country code (E.164)")?;
        if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("must be + followed by 8 to 15 digits");
        }
        if digits.starts_with('0') {
            return Err("country code cannot start with 0");
        }
        Ok(Self(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PhoneNumber {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub to: PhoneNumber,
    pub text: String,
}

pub trait SmsProvider: Send + Sync {
    fn send(
        &self,
        msg: &SmsMessage,
    ) -> impl Future<Output = Result<DeliveryReceipt, ProviderError>> + Send;
}

const PROVIDER: &str = "sns-sms";

/// Publishes transactional SMS through SNS. An optional sender id is shown
/// instead of a number where the destination country supports it.
#[derive(Clone)]
pub struct SnsSmsProvider {
    client: Client,
    sender_id: Option<String>,
}

impl SnsSmsProvider {
    pub fn new(client: Client, sender_id: Option<String>) -> Self {
        Self { client, sender_id }
    }
}

fn string_attr(value: &str) -> Result<MessageAttributeValue, ProviderError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| ProviderError::Permanent(format!("building the SNS request: {e}")))
}

impl SmsProvider for SnsSmsProvider {
    async fn send(&self, msg: &SmsMessage) -> Result<DeliveryReceipt, ProviderError> {
        let mut publish = self
            .client
            .publish()
            .phone_number(msg.to.as_str())
            .message(&msg.text)
            // Transactional: higher delivery priority, not subject to
            // marketing opt-out rules (these are account notifications).
            .message_attributes("AWS.SNS.SMS.SMSType", string_attr("Transactional")?);
        if let Some(sender) = &self.sender_id {
            publish = publish.message_attributes("AWS.SNS.SMS.SenderID", string_attr(sender)?);
        }
        let out = publish.send().await.map_err(|e| classify(&e))?;
        Ok(DeliveryReceipt {
            provider: PROVIDER,
            message_id: out.message_id().map(str::to_owned),
        })
    }
}

/// Parameter errors (an unreachable number, a malformed message) are
/// permanent; throttling, outages, permissions and unknown errors are
/// retryable, so the DLQ keeps the message until the cause is fixed.
pub fn classify(err: &SdkError<PublishError, HttpResponse>) -> ProviderError {
    match err.as_service_error() {
        Some(e)
            if e.is_invalid_parameter_exception() || e.is_invalid_parameter_value_exception() =>
        {
            ProviderError::Permanent(e.to_string())
        }
        _ => ProviderError::Retryable(DisplayErrorContext(err).to_string()),
    }
}

/// Keeps what it is asked to send; fails every send while a failure is set.
#[derive(Clone, Default)]
pub struct InMemorySms {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    sent: Vec<SmsMessage>,
    failure: Option<ProviderError>,
}

impl InMemorySms {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn failing_with(error: ProviderError) -> Self {
        let provider = Self::default();
        provider.lock().failure = Some(error);
        provider
    }

    pub fn sent(&self) -> Vec<SmsMessage> {
        self.lock().sent.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SmsProvider for InMemorySms {
    async fn send(&self, msg: &SmsMessage) -> Result<DeliveryReceipt, ProviderError> {
        let mut state = self.lock();
        if let Some(error) = &state.failure {
            return Err(error.clone());
        }
        state.sent.push(msg.clone());
        Ok(DeliveryReceipt {
            provider: "in-memory",
            message_id: Some(format!("in-memory-{}", state.sent.len())),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_sns::error::ConnectorError;
    use aws_sdk_sns::operation::publish::{PublishInput, PublishOutput};
    use aws_sdk_sns::types::error::{
        AuthorizationErrorException, InternalErrorException, InvalidParameterException,
        InvalidParameterValueException,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service(err: PublishError, status: u16) -> SdkError<PublishError, HttpResponse> {
        SdkError::service_error(
            err,
            HttpResponse::new(
                StatusCode::try_from(status).expect("status"),
                SdkBody::empty(),
            ),
        )
    }

    fn message() -> SmsMessage {
        SmsMessage {
            to: PhoneNumber::parse("+44 20 7946 0958").expect("valid"),
            text: "Your code is 123456".into(),
        }
    }

    #[test]
    fn phone_numbers_must_be_e164() {
        assert_eq!(
            PhoneNumber::parse(" +1 (415) 555-0100 ").map(|p| p.to_string()),
            Ok("+14155550100".to_owned())
        );
        for bad in [
            "",
            "4155550100",
            "+",
            "+0123456789",
            "+12",
            "+1415555abcd",
            &format!("+{}", "1".repeat(16)),
        ] {
            assert!(
                PhoneNumber::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[tokio::test]
    async fn publishes_a_transactional_sms_to_the_number() {
        let seen: Arc<Mutex<Option<PublishInput>>> = Arc::default();
        let capture = seen.clone();
        let rule = mock!(Client::publish)
            .match_requests(move |req| {
                *capture.lock().expect("lock") = Some(req.clone());
                true
            })
            .then_output(|| PublishOutput::builder().message_id("sns-1").build());
        let client = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&rule]);
        let provider = SnsSmsProvider::new(client, Some("SHOP".into()));

        let receipt = provider.send(&message()).await.expect("sent");

        assert_eq!(receipt.provider, "sns-sms");
        assert_eq!(receipt.message_id.as_deref(), Some("sns-1"));
        let input = seen.lock().expect("lock").clone().expect("captured");
        assert_eq!(input.phone_number(), Some("+442079460958"));
        assert_eq!(input.topic_arn(), None);
        assert_eq!(input.message(), Some("Your code is 123456"));
        let attrs = input.message_attributes().expect("attributes");
        assert_eq!(
            attrs["AWS.SNS.SMS.SMSType"].string_value(),
            Some("Transactional")
        );
        assert_eq!(attrs["AWS.SNS.SMS.SenderID"].string_value(), Some("SHOP"));
    }

    #[tokio::test]
    async fn an_invalid_number_is_permanent() {
        let rule = mock!(Client::publish).then_error(|| {
            PublishError::InvalidParameterException(
                InvalidParameterException::builder()
                    .message("Invalid parameter: PhoneNumber")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&rule]);

        let err = SnsSmsProvider::new(client, None)
            .send(&message())
            .await
            .expect_err("refused");

        assert!(matches!(err, ProviderError::Permanent(_)), "{err:?}");
    }

    #[test]
    fn outages_throttling_and_permissions_are_retryable() {
        let permanent = service(
            PublishError::InvalidParameterValueException(
                InvalidParameterValueException::builder().build(),
            ),
            400,
        );
        assert!(matches!(classify(&permanent), ProviderError::Permanent(_)));
        let cases = [
            service(PublishError::unhandled("Throttling".to_owned()), 400),
            service(
                PublishError::InternalErrorException(InternalErrorException::builder().build()),
                500,
            ),
            service(
                PublishError::AuthorizationErrorException(
                    AuthorizationErrorException::builder().build(),
                ),
                403,
            ),
            service(PublishError::unhandled("InternalError".to_owned()), 500),
            SdkError::timeout_error("timed out".to_owned()),
            SdkError::dispatch_failure(ConnectorError::io("reset".into())),
        ];
        for err in cases {
            let classified = classify(&err);
            assert!(
                matches!(classified, ProviderError::Retryable(_)),
                "{classified:?}"
            );
        }
    }
}
