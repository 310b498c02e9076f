use contracts::Email;
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json,
};
use identity::service::{Credentials, LoginDeps, login};
use identity::store::IdentityStore;
use security::Password;
use serde::Deserialize;

#[derive(Deserialize)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
}

pub async fn handle<S: IdentityStore>(
    deps: &LoginDeps<S>,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let body: LoginBody = parse_json(&req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let email = v.parse("email", body.email, |e| Email::parse(&e));
    let password = v.parse("password", body.password, |p| {
        if p.is_empty() || p.len() > 1024 {
            Err("must be 1 to 1024 bytes")
        } else {
            Ok(Password::new(p))
        }
    });
    let (email, password) = v.finish(email.zip(password))?;
    let tokens = login(
        deps,
        Credentials { email, password },
        ctx.source_ip.as_deref(),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    json(StatusCode::OK, &tokens)
}
