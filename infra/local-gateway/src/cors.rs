//! CORS as API Gateway HTTP APIs do it when `CorsConfiguration` is set: the
//! gateway answers preflight requests itself and sets the CORS headers of
//! every response, replacing any the function returned.

use crate::event::HttpRequest;
use crate::response::HttpResponse;
use crate::template::CorsConfig;

#[derive(Debug, Clone)]
pub struct Cors {
    config: CorsConfig,
}

impl Cors {
    pub fn new(config: CorsConfig) -> Self {
        Self { config }
    }

    /// `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
    pub fn is_preflight(request: &HttpRequest) -> bool {
        request.method == "OPTIONS"
            && request.header("origin").is_some()
            && request.header("access-control-request-method").is_some()
    }

    /// The 204 answer to a preflight request. Without an allowed origin and
    /// method it carries no CORS headers, so the browser refuses the call.
    pub fn preflight(&self, request: &HttpRequest) -> HttpResponse {
        let mut response = HttpResponse {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        };
        let origin = request.header("origin").unwrap_or_default();
        let method = request
            .header("access-control-request-method")
            .unwrap_or_default();
        let Some(allow_origin) = self.allowed_origin(&origin) else {
            return response;
        };
        let method_allowed = self
            .config
            .allow_methods
            .iter()
            .any(|m| m == "*" || m.eq_ignore_ascii_case(method.trim()));
        if !method_allowed {
            return response;
        }
        response.set_header("access-control-allow-origin", allow_origin);
        response.set_header(
            "access-control-allow-methods",
            if self.config.allow_methods.iter().any(|m| m == "*") {
                method.trim().to_owned()
            } else {
                self.config.allow_methods.join(",")
            },
        );
        let requested_headers = request.header("access-control-request-headers");
        if self.config.allow_headers.iter().any(|h| h == "*") {
            if let Some(requested) = requested_headers {
                response.set_header("access-control-allow-headers", requested);
            }
        } else if !self.config.allow_headers.is_empty() {
            response.set_header(
                "access-control-allow-headers",
                self.config.allow_headers.join(","),
            );
        }
        if let Some(max_age) = self.config.max_age {
            response.set_header("access-control-max-age", max_age.to_string());
        }
        if self.config.allow_credentials {
            response.set_header("access-control-allow-credentials", "true");
        }
        response
    }

    /// Sets the CORS headers of a normal response for the request's `Origin`.
    pub fn decorate(&self, origin: Option<&str>, response: &mut HttpResponse) {
        response
            .headers
            .retain(|(name, _)| !name.starts_with("access-control-"));
        let Some(allow_origin) = origin.and_then(|o| self.allowed_origin(o)) else {
            return;
        };
        response.set_header("access-control-allow-origin", allow_origin);
        if !self.config.expose_headers.is_empty() {
            response.set_header(
                "access-control-expose-headers",
                self.config.expose_headers.join(","),
            );
        }
        if self.config.allow_credentials {
            response.set_header("access-control-allow-credentials", "true");
        }
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    fn allowed_origin(&self, origin: &str) -> Option<String> {
        let origin = origin.trim();
        if origin.is_empty() {
            return None;
        }
        for allowed in &self.config.allow_origins {
            if allowed == "*" {
                // `*` cannot be combined with credentials: echo the origin then.
                return Some(if self.config.allow_credentials {
                    origin.to_owned()
                } else {
                    "*".to_owned()
                });
            }
            if origin_matches(allowed, origin) {
                return Some(origin.to_owned());
            }
        }
        None
    }
}

/// Exact (case-insensitive) match, or a `scheme://*.domain` wildcard.
fn origin_matches(allowed: &str, origin: &str) -> bool {
    if allowed.eq_ignore_ascii_case(origin) {
        return true;
    }
    let Some((scheme, host_pattern)) = allowed.split_once("://") else {
        return false;
    };
    let Some(suffix) = host_pattern.strip_prefix("*.") else {
        return false;
    };
    let Some((origin_scheme, origin_host)) = origin.split_once("://") else {
        return false;
    };
    scheme.eq_ignore_ascii_case(origin_scheme)
        && origin_host.len() > suffix.len() + 1
        && origin_host
            .to_ascii_lowercase()
            .ends_with(&format!(".{}", suffix.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn config() -> CorsConfig {
        CorsConfig {
            allow_origins: vec!["*".to_owned()],
            allow_methods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
                .map(str::to_owned)
                .to_vec(),
            allow_headers: ["authorization", "content-type"]
                .map(str::to_owned)
                .to_vec(),
            expose_headers: ["x-request-id", "x-correlation-id"]
                .map(str::to_owned)
                .to_vec(),
            max_age: Some(600),
            allow_credentials: false,
        }
    }

    fn request(method: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            raw_path: "/users/me".to_owned(),
            raw_query: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
            source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            protocol: "HTTP/1.1".to_owned(),
            local_port: 3000,
        }
    }

    #[test]
    fn preflight_detection_needs_origin_and_requested_method() {
        let full = [
            ("origin", "http://localhost:5173"),
            ("access-control-request-method", "POST"),
        ];
        assert!(Cors::is_preflight(&request("OPTIONS", &full)));
        assert!(!Cors::is_preflight(&request("OPTIONS", &full[..1])));
        assert!(!Cors::is_preflight(&request("GET", &full)));
    }

    #[test]
    fn preflight_gets_the_allow_headers() {
        let cors = Cors::new(config());
        let response = cors.preflight(&request(
            "OPTIONS",
            &[
                ("origin", "http://localhost:5173"),
                ("access-control-request-method", "POST"),
            ],
        ));
        assert_eq!(response.status, 204);
        assert!(response.body.is_empty());
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            response.header("access-control-allow-methods"),
            Some("GET,POST,PUT,DELETE,OPTIONS")
        );
        assert_eq!(
            response.header("access-control-allow-headers"),
            Some("authorization,content-type")
        );
        assert_eq!(response.header("access-control-max-age"), Some("600"));
        assert_eq!(response.header("access-control-allow-credentials"), None);
    }

    #[test]
    fn preflight_for_a_disallowed_method_or_origin_has_no_cors_headers() {
        let mut cfg = config();
        cfg.allow_origins = vec!["https://app.example.com".to_owned()];
        let cors = Cors::new(cfg);
        let bad_method = cors.preflight(&request(
            "OPTIONS",
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "PATCH"),
            ],
        ));
        assert_eq!(bad_method.status, 204);
        assert!(bad_method.headers.is_empty());
        let bad_origin = cors.preflight(&request(
            "OPTIONS",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "GET"),
            ],
        ));
        assert!(bad_origin.headers.is_empty());
    }

    #[test]
    fn decorate_sets_origin_and_expose_and_drops_backend_cors_headers() {
        let cors = Cors::new(config());
        let mut response = HttpResponse::not_found();
        response.headers.push((
            "access-control-allow-origin".to_owned(),
            "https://x".to_owned(),
        ));
        cors.decorate(Some("http://localhost:5173"), &mut response);
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            response.header("access-control-expose-headers"),
            Some("x-request-id,x-correlation-id")
        );

        let mut no_origin = HttpResponse::not_found();
        cors.decorate(None, &mut no_origin);
        assert_eq!(no_origin.header("access-control-allow-origin"), None);
    }

    #[test]
    fn specific_and_wildcard_origins_with_credentials_echo_the_origin() {
        let mut cfg = config();
        cfg.allow_origins = vec![
            "http://localhost:5173".to_owned(),
            "https://*.example.com".to_owned(),
        ];
        cfg.allow_credentials = true;
        let cors = Cors::new(cfg);
        for origin in ["http://localhost:5173", "https://shop.example.com"] {
            let mut response = HttpResponse::not_found();
            cors.decorate(Some(origin), &mut response);
            assert_eq!(response.header("access-control-allow-origin"), Some(origin));
            assert_eq!(
                response.header("access-control-allow-credentials"),
                Some("true")
            );
        }
        let mut response = HttpResponse::not_found();
        cors.decorate(Some("https://example.com.evil"), &mut response);
        assert_eq!(response.header("access-control-allow-origin"), None);
    }
}
