//! Dependency checks for the health endpoints: can this function reach the
//! tables, topics and buckets it depends on?

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Table,
    Topic,
    Bucket,
}

/// One dependency of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub service: String,
    pub kind: Kind,
    pub name: String,
}

/// Parses `service.kind=name;...` (kind: table, topic or bucket). ARNs
/// contain `:` but never `;` or `=`, hence the separators.
pub fn parse_checks(spec: &str) -> Result<Vec<Check>, String> {
    spec.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (target, name) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?}: expected service.kind=name"))?;
            let (service, kind) = target
                .split_once('.')
                .ok_or_else(|| format!("{entry:?}: expected service.kind=name"))?;
            let kind = match kind {
                "table" => Kind::Table,
                "topic" => Kind::Topic,
                "bucket" => Kind::Bucket,
                other => return Err(format!("{entry:?}: unknown kind {other:?}")),
            };
            Ok(Check {
                service: service.to_owned(),
                kind,
                name: name.to_owned(),
            })
        })
        .collect()
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    pub status: &'static str,
    /// service -> dependency kind -> "ok" | "unreachable"
    pub services: BTreeMap<String, BTreeMap<&'static str, &'static str>>,
}

impl Report {
    pub fn healthy(&self) -> bool {
        self.status == "ok"
    }
}

pub struct Clients {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub s3: aws_sdk_s3::Client,
}

async fn reachable(clients: &Clients, check: &Check) -> bool {
    let result = match check.kind {
        Kind::Table => clients
            .dynamo
            .describe_table()
            .table_name(&check.name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()),
        Kind::Topic => clients
            .sns
            .get_topic_attributes()
            .topic_arn(&check.name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(e).to_string()),
        Kind::Bucket => clients
            .s3
            .head_bucket()
            .bucket(&check.name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string()),
    };
    if let Err(e) = &result {
        tracing::warn!(service = %check.service, dependency = %check.name, error = %e, "dependency unreachable");
    }
    result.is_ok()
}

/// Runs every check concurrently. Names stay in the logs; the report only
/// says which kind of dependency of which service is down.
pub async fn run_checks(clients: &Clients, checks: &[Check]) -> Report {
    let results = futures::future::join_all(checks.iter().map(|c| reachable(clients, c))).await;
    let mut services: BTreeMap<String, BTreeMap<&'static str, &'static str>> = BTreeMap::new();
    let mut healthy = true;
    for (check, ok) in checks.iter().zip(results) {
        healthy &= ok;
        let kind = match check.kind {
            Kind::Table => "table",
            Kind::Topic => "topic",
            Kind::Bucket => "bucket",
        };
        services
            .entry(check.service.clone())
            .or_default()
            .insert(kind, if ok { "ok" } else { "unreachable" });
    }
    Report {
        status: if healthy { "ok" } else { "degraded" },
        services,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_check_list() {
        let checks = parse_checks(
            "identity.table=IdTable; identity.topic=arn:aws:sns:us-east-1:000000000000:t;analytics.bucket=b",
        )
        .expect("parses");
        assert_eq!(checks.len(), 3);
        assert_eq!(checks[1].kind, Kind::Topic);
        assert_eq!(checks[1].name, "arn:aws:sns:us-east-1:000000000000:t");
        assert!(parse_checks("identity=t").is_err());
        assert!(parse_checks("identity.queue=t").is_err());
        assert_eq!(parse_checks("").expect("empty").len(), 0);
    }
}
