//! Route selection the way API Gateway HTTP APIs do it.
//!
//! Among the routes whose method is the request's (or `ANY`) and whose path
//! matches, the most specific path wins: segment by segment, a static segment
//! beats a `{param}`, which beats a greedy `{proxy+}`. For the same path, an
//! exact method beats `ANY`. `$default` catches what nothing else matched.

use std::collections::{BTreeMap, BTreeSet};

use crate::template::{RouteAuth, RouteSpec};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteError {
    #[error("route {route_key}: {reason}")]
    InvalidPath { route_key: String, reason: String },
    #[error("route {0} is declared twice")]
    Duplicate(String),
    #[error("route {route_key}: {method} is not an HTTP method")]
    InvalidMethod { route_key: String, method: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param(String),
    Greedy(String),
}

impl Segment {
    /// Lower is more specific.
    fn rank(&self) -> u8 {
        match self {
            Segment::Static(_) => 0,
            Segment::Param(_) => 1,
            Segment::Greedy(_) => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Default,
    Segments(Vec<Segment>),
}

#[derive(Debug, Clone)]
pub struct Route {
    /// `GET /users/{id}`, `ANY /files/{proxy+}` or `$default`.
    pub route_key: String,
    /// Upper-case method, or `ANY`.
    pub method: String,
    pub path: String,
    /// Logical id of the function.
    pub function: String,
    pub auth: RouteAuth,
    pattern: Pattern,
}

#[derive(Debug)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    /// URL-decoded path parameters.
    pub path_parameters: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(specs: &[RouteSpec]) -> Result<Self, RouteError> {
        let mut keys = BTreeSet::new();
        let mut routes = Vec::with_capacity(specs.len());
        for spec in specs {
            let route_key = if spec.path == "$default" {
                "$default".to_owned()
            } else {
                format!("{} {}", spec.method, spec.path)
            };
            let valid_method = !spec.method.is_empty()
                && spec
                    .method
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'-');
            if !valid_method {
                return Err(RouteError::InvalidMethod {
                    route_key,
                    method: spec.method.clone(),
                });
            }
            let pattern = parse_pattern(&spec.path).map_err(|reason| RouteError::InvalidPath {
                route_key: route_key.clone(),
                reason,
            })?;
            if !keys.insert(route_key.clone()) {
                return Err(RouteError::Duplicate(route_key));
            }
            routes.push(Route {
                route_key,
                method: spec.method.clone(),
                path: spec.path.clone(),
                function: spec.function.clone(),
                auth: spec.auth.clone(),
                pattern,
            });
        }
        Ok(Self { routes })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route API Gateway would pick for `method` and the raw (still
    /// percent-encoded) request path, or `None` for a 404.
    pub fn find(&self, method: &str, raw_path: &str) -> Option<RouteMatch<'_>> {
        let request: Vec<&str> = raw_path.strip_prefix('/')?.split('/').collect();
        let mut best: Option<(Specificity, RouteMatch<'_>)> = None;
        for route in &self.routes {
            let any_method = if route.method == method {
                false
            } else if route.method == "ANY" {
                true
            } else {
                continue;
            };
            let (specificity, path_parameters) = match &route.pattern {
                Pattern::Default => (
                    Specificity {
                        catch_all: true,
                        segments: Vec::new(),
                        any_method,
                    },
                    BTreeMap::new(),
                ),
                Pattern::Segments(segments) => match match_segments(segments, &request) {
                    Some(params) => (
                        Specificity {
                            catch_all: false,
                            segments: segments.iter().map(Segment::rank).collect(),
                            any_method,
                        },
                        params,
                    ),
                    None => continue,
                },
            };
            if best
                .as_ref()
                .is_none_or(|(current, _)| specificity < *current)
            {
                best = Some((
                    specificity,
                    RouteMatch {
                        route,
                        path_parameters,
                    },
                ));
            }
        }
        best.map(|(_, found)| found)
    }
}

/// Orders matching routes: smaller is more specific. Fields compare in
/// declaration order: `$default` last, then segment by segment, then an exact
/// method before `ANY`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Specificity {
    catch_all: bool,
    segments: Vec<u8>,
    any_method: bool,
}

fn parse_pattern(path: &str) -> Result<Pattern, String> {
    if path == "$default" {
        return Ok(Pattern::Default);
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err("path must start with /".to_owned());
    };
    let raw: Vec<&str> = rest.split('/').collect();
    let mut names = BTreeSet::new();
    let mut segments = Vec::with_capacity(raw.len());
    for (i, part) in raw.iter().enumerate() {
        let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(inner) => {
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(name) => (name, true),
                    None => (inner, false),
                };
                if name.is_empty() || name.contains(['{', '}', '+']) {
                    return Err(format!("bad path variable {part}"));
                }
                if !names.insert(name) {
                    return Err(format!("path variable {name} appears twice"));
                }
                if greedy {
                    if i + 1 != raw.len() {
                        return Err("a greedy path variable must be the last segment".to_owned());
                    }
                    Segment::Greedy(name.to_owned())
                } else {
                    Segment::Param(name.to_owned())
                }
            }
            None if part.contains(['{', '}']) => {
                return Err(format!("segment {part} mixes text and a path variable"));
            }
            None => Segment::Static((*part).to_owned()),
        };
        segments.push(segment);
    }
    Ok(Pattern::Segments(segments))
}

fn match_segments(pattern: &[Segment], request: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for (i, segment) in pattern.iter().enumerate() {
        match segment {
            Segment::Static(text) => {
                if request.get(i)? != text {
                    return None;
                }
            }
            Segment::Param(name) => {
                let value = request.get(i)?;
                if value.is_empty() {
                    return None;
                }
                params.insert(name.clone(), percent_decode(value));
            }
            Segment::Greedy(name) => {
                let rest = request.get(i..)?.join("/");
                if rest.is_empty() {
                    return None;
                }
                params.insert(name.clone(), percent_decode(&rest));
                return Some(params);
            }
        }
    }
    (request.len() == pattern.len()).then_some(params)
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are and invalid
/// UTF-8 is replaced, as a lenient server would.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3);
            if let Some(value) = hex
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(method: &str, path: &str, function: &str) -> RouteSpec {
        RouteSpec {
            method: method.to_owned(),
            path: path.to_owned(),
            function: function.to_owned(),
            event: "E".to_owned(),
            auth: RouteAuth::None,
        }
    }

    fn router(specs: &[(&str, &str, &str)]) -> Router {
        let specs: Vec<RouteSpec> = specs.iter().map(|(m, p, f)| spec(m, p, f)).collect();
        Router::new(&specs).expect("valid routes")
    }

    fn pick(router: &Router, method: &str, path: &str) -> Option<String> {
        router.find(method, path).map(|m| m.route.function.clone())
    }

    #[test]
    fn static_beats_param_beats_greedy() {
        let r = router(&[
            ("GET", "/pets/dog/1", "exact"),
            ("GET", "/pets/dog/{id}", "param"),
            ("GET", "/pets/{proxy+}", "greedy"),
            ("ANY", "/{proxy+}", "root-greedy"),
            ("ANY", "$default", "default"),
        ]);
        assert_eq!(pick(&r, "GET", "/pets/dog/1").as_deref(), Some("exact"));
        assert_eq!(pick(&r, "GET", "/pets/dog/2").as_deref(), Some("param"));
        assert_eq!(pick(&r, "GET", "/pets/cat/1").as_deref(), Some("greedy"));
        // Method does not fit the more specific routes: next best that fits.
        assert_eq!(
            pick(&r, "POST", "/pets/cat/1").as_deref(),
            Some("root-greedy")
        );
        assert_eq!(pick(&r, "GET", "/").as_deref(), Some("default"));
    }

    #[test]
    fn static_route_wins_regardless_of_declaration_order() {
        let r = router(&[
            ("GET", "/users/{userId}", "by-id"),
            ("GET", "/users/me", "me"),
        ]);
        assert_eq!(pick(&r, "GET", "/users/me").as_deref(), Some("me"));
        let m = r.find("GET", "/users/42").expect("match");
        assert_eq!(m.route.function, "by-id");
        assert_eq!(m.route.route_key, "GET /users/{userId}");
        assert_eq!(m.path_parameters["userId"], "42");
    }

    #[test]
    fn exact_method_beats_any_for_the_same_path() {
        let r = router(&[
            ("ANY", "/items/{id}", "any"),
            ("DELETE", "/items/{id}", "delete"),
        ]);
        assert_eq!(pick(&r, "DELETE", "/items/1").as_deref(), Some("delete"));
        assert_eq!(pick(&r, "PUT", "/items/1").as_deref(), Some("any"));
    }

    #[test]
    fn wrong_method_and_unknown_path_do_not_match() {
        let r = router(&[("POST", "/auth/register", "register")]);
        assert!(r.find("GET", "/auth/register").is_none());
        assert!(r.find("POST", "/auth/register/extra").is_none());
        assert!(r.find("POST", "/auth").is_none());
        assert!(r.find("POST", "/nope").is_none());
    }

    #[test]
    fn params_are_url_decoded_and_must_not_be_empty() {
        let r = router(&[("GET", "/orders/{orderId}/lines/{line}", "o")]);
        let m = r
            .find("GET", "/orders/a%20b%2Fc/lines/%C3%A9")
            .expect("match");
        assert_eq!(m.path_parameters["orderId"], "a b/c");
        assert_eq!(m.path_parameters["line"], "é");
        assert!(r.find("GET", "/orders//lines/1").is_none());
    }

    #[test]
    fn greedy_needs_at_least_one_segment_and_takes_the_rest() {
        let r = router(&[("ANY", "/files/{proxy+}", "files")]);
        let m = r.find("PUT", "/files/a/b%20c/d.txt").expect("match");
        assert_eq!(m.path_parameters["proxy"], "a/b c/d.txt");
        assert_eq!(m.route.route_key, "ANY /files/{proxy+}");
        assert!(r.find("GET", "/files").is_none());
        assert!(r.find("GET", "/files/").is_none());
    }

    #[test]
    fn invalid_routes_are_rejected() {
        let bad = |path: &str| Router::new(&[spec("GET", path, "f")]).expect_err(path);
        assert!(matches!(bad("users"), RouteError::InvalidPath { .. }));
        assert!(matches!(bad("/{proxy+}/x"), RouteError::InvalidPath { .. }));
        assert!(matches!(bad("/a-{id}"), RouteError::InvalidPath { .. }));
        assert!(matches!(bad("/{id}/{id}"), RouteError::InvalidPath { .. }));
        let dup = Router::new(&[spec("GET", "/a", "f"), spec("GET", "/a", "g")]).expect_err("dup");
        assert_eq!(dup, RouteError::Duplicate("GET /a".to_owned()));
    }

    #[test]
    fn percent_decode_is_lenient() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("a+b"), "a+b");
    }
}
