//! Message templates: the files under `templates/`, embedded at compile time
//! and registered once in a minijinja environment.
//!
//! Escaping follows the file extension: `.html` values are HTML-escaped,
//! `.md` (Discord) values have markdown escaped so a name cannot bold,
//! link or mention, `.txt` is left as written. Undefined variables are
//! errors, so a template typo fails a test instead of sending a hole.

use std::sync::LazyLock;

use anyhow::anyhow;
use contracts::{Currency, Email, PersonName};
use minijinja::{
    AutoEscape, Environment, UndefinedBehavior, Value, context, default_auto_escape_callback,
    escape_formatter,
};
use time::OffsetDateTime;

use crate::email::EmailMessage;
use crate::money::format_money;

mod commerce;
pub use commerce::*;

/// Template names (the stem of the files), as stored in delivery entries.
pub const WELCOME: &str = "welcome";
pub const DEPOSIT_CONFIRMATION: &str = "deposit_confirmation";
pub const REGISTRATION_DISCORD: &str = "registration_discord";
pub const DEPOSIT_DISCORD: &str = "deposit_discord";

const SOURCES: &[(&str, &str)] = &[
    (
        "welcome.subject.txt",
        include_str!("../templates/welcome.subject.txt"),
    ),
    ("welcome.html", include_str!("../templates/welcome.html")),
    ("welcome.txt", include_str!("../templates/welcome.txt")),
    (
        "deposit_confirmation.subject.txt",
        include_str!("../templates/deposit_confirmation.subject.txt"),
    ),
    (
        "deposit_confirmation.html",
        include_str!("../templates/deposit_confirmation.html"),
    ),
    (
        "deposit_confirmation.txt",
        include_str!("../templates/deposit_confirmation.txt"),
    ),
    (
        "registration_discord.md",
        include_str!("../templates/registration_discord.md"),
    ),
    (
        "deposit_discord.md",
        include_str!("../templates/deposit_discord.md"),
    ),
];

/// The custom escape mode of `.md` templates.
const MARKDOWN: &str = "markdown";

static ENVIRONMENT: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".md") {
            AutoEscape::Custom(MARKDOWN.into())
        } else {
            default_auto_escape_callback(name)
        }
    });
    env.set_formatter(|out, state, value| {
        let markdown = matches!(state.auto_escape(), AutoEscape::Custom(mode) if mode == MARKDOWN);
        if markdown && !value.is_safe() {
            out.write_str(&escape_markdown(&value.to_string()))?;
            Ok(())
        } else {
            escape_formatter(out, state, value)
        }
    });
    for (name, source) in SOURCES.iter().chain(commerce::SOURCES) {
        env.add_template(name, source)
            .map_err(|e| format!("template {name}: {e:#}"))?;
    }
    Ok(env)
});

fn render(name: &str, ctx: Value) -> anyhow::Result<String> {
    let env = ENVIRONMENT
        .as_ref()
        .map_err(|e| anyhow!("the templates do not compile: {e}"))?;
    let rendered = env
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| anyhow!("rendering {name}: {e:#}"))?;
    Ok(rendered)
}

/// A rendered email, before it is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl Rendered {
    pub fn into_message(self, to: Email) -> EmailMessage {
        EmailMessage {
            to,
            subject: self.subject,
            html: self.html,
            text: self.text,
        }
    }
}

fn render_email(stem: &str, ctx: Value) -> anyhow::Result<Rendered> {
    Ok(Rendered {
        // Subjects are one line: `PersonName` and the other values admit no
        // control characters, and the template's own newline is trimmed.
        subject: render(&format!("{stem}.subject.txt"), ctx.clone())?
            .trim()
            .to_owned(),
        html: render(&format!("{stem}.html"), ctx.clone())?,
        text: render(&format!("{stem}.txt"), ctx)?,
    })
}

pub fn render_welcome(name: &PersonName, email: &Email) -> anyhow::Result<Rendered> {
    render_email(
        WELCOME,
        context! { name => name.as_str(), email => email.as_str() },
    )
}

/// What the deposit messages show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositView<'a> {
    pub name: &'a str,
    pub amount: i64,
    pub balance_after: i64,
    pub currency: Currency,
    pub description: &'a str,
    pub transaction_id: &'a str,
    pub deposited_at: OffsetDateTime,
}

impl DepositView<'_> {
    fn context(&self) -> Value {
        context! {
            name => self.name,
            amount => format_money(self.amount, self.currency),
            balance => format_money(self.balance_after, self.currency),
            description => self.description,
            transaction_id => self.transaction_id,
            deposited_at => human_time(self.deposited_at),
        }
    }
}

pub fn render_deposit_confirmation(view: &DepositView<'_>) -> anyhow::Result<Rendered> {
    render_email(DEPOSIT_CONFIRMATION, view.context())
}

pub fn render_registration_discord(name: &PersonName) -> anyhow::Result<String> {
    Ok(render(
        "registration_discord.md",
        context! { name => name.as_str() },
    )?
    .trim()
    .to_owned())
}

/// The team-channel alert. It leaves the balance out on purpose: the
/// channel is shared, the balance is the user's business.
pub fn render_deposit_discord(view: &DepositView<'_>) -> anyhow::Result<String> {
    Ok(render("deposit_discord.md", view.context())?
        .trim()
        .to_owned())
}

/// `2026-11-21 10:05 UTC`.
fn human_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Backslash-escapes Discord markdown (emphasis, code, quotes, headings,
/// links, spoilers, mentions, emoji codes and auto-linked `scheme://`) and
/// folds line breaks, so a value renders as the literal text it is. Values
/// always sit inside a line, so list markers need no escaping.
pub fn escape_markdown(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '[' | ']' | '(' | ')' | '@'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn name(raw: &str) -> PersonName {
        PersonName::parse(raw).expect("valid name")
    }

    fn email(raw: &str) -> Email {
        Email::parse(raw).expect("valid email")
    }

    fn deposit<'a>(name: &'a str, description: &'a str) -> DepositView<'a> {
        DepositView {
            name,
            amount: 2500,
            balance_after: 12_050,
            currency: Currency::USD,
            description,
            transaction_id: "txn_1",
            deposited_at: datetime!(2026-11-21 11:05 +01:00),
        }
    }

    #[test]
    fn every_template_compiles() {
        let env = ENVIRONMENT.as_ref().expect("templates compile");
        for (file, _) in SOURCES.iter().chain(commerce::SOURCES) {
            assert!(env.get_template(file).is_ok(), "{file}");
        }
    }

    #[test]
    fn welcome_fills_every_placeholder() {
        let r = render_welcome(&name("Ada Lovelace"), &email("ada@example.com")).expect("renders");
        assert_eq!(r.subject, "Welcome, Ada Lovelace!");
        for body in [&r.html, &r.text] {
            assert!(body.contains("Ada Lovelace"), "{body}");
            assert!(body.contains("ada@example.com"), "{body}");
            assert!(!body.contains("{{"), "unfilled placeholder in {body}");
        }
        assert!(r.html.starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn html_body_escapes_the_name_but_text_and_subject_keep_it() {
        let raw = r#"<script>alert("x")</script> & 'friends'"#;
        let r = render_welcome(&name(raw), &email("ada@example.com")).expect("renders");
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(
            r.html.contains(
                "&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt; &amp; &#x27;friends&#x27;"
            ),
            "{}",
            r.html
        );
        assert!(r.text.contains(raw), "{}", r.text);
        assert_eq!(r.subject, format!("Welcome, {raw}!"));
    }

    #[test]
    fn values_are_not_rendered_as_templates() {
        let r = render_welcome(
            &name("{{ email }} {% if 1 %}x{% endif %}"),
            &email("ada@example.com"),
        )
        .expect("renders");
        assert_eq!(r.subject, "Welcome, {{ email }} {% if 1 %}x{% endif %}!");
    }

    #[test]
    fn deposit_confirmation_formats_money_and_time() {
        let r = render_deposit_confirmation(&deposit("Ada", "Top-up")).expect("renders");
        assert_eq!(r.subject, "Deposit received: 25.00 USD");
        for body in [&r.html, &r.text] {
            assert!(body.contains("Hi Ada"), "{body}");
            assert!(body.contains("25.00 USD"), "{body}");
            assert!(body.contains("120.50 USD"), "{body}");
            assert!(body.contains("Top-up"), "{body}");
            assert!(body.contains("txn_1"), "{body}");
            assert!(body.contains("2026-11-21 10:05 UTC"), "{body}");
        }
    }

    #[test]
    fn deposit_confirmation_escapes_the_description_in_html() {
        let r = render_deposit_confirmation(&deposit("Ada", "<b>bonus</b>")).expect("renders");
        assert!(!r.html.contains("<b>bonus"), "{}", r.html);
        assert!(r.html.contains("&lt;b&gt;bonus"), "{}", r.html);
        assert!(r.text.contains("<b>bonus</b>"), "{}", r.text);
    }

    #[test]
    fn registration_discord_names_the_member() {
        assert_eq!(
            render_registration_discord(&name("Ada Lovelace")).expect("renders"),
            "New member: Ada Lovelace"
        );
    }

    #[test]
    fn discord_messages_escape_markdown_and_mentions() {
        let text = render_registration_discord(&name("**Boss** @everyone [x](http://evil)"))
            .expect("renders");
        assert_eq!(
            text,
            r"New member: \*\*Boss\*\* \@everyone \[x\]\(http\://evil\)"
        );
    }

    #[test]
    fn deposit_discord_leaves_the_balance_out() {
        let text = render_deposit_discord(&deposit("Ada", "Top-up")).expect("renders");
        assert!(text.contains("Ada"), "{text}");
        assert!(text.contains("**25.00 USD**"), "{text}");
        assert!(text.contains("(Top-up)"), "{text}");
        assert!(!text.contains("120"), "{text}");
        let no_description = render_deposit_discord(&deposit("Ada", "")).expect("renders");
        assert!(!no_description.contains("()"), "{no_description}");
    }

    #[test]
    fn markdown_escaping_covers_the_syntax() {
        assert_eq!(escape_markdown("a_b*c~d`e|f"), r"a\_b\*c\~d\`e\|f");
        assert_eq!(escape_markdown("> quote\n# head"), r"\> quote \# head");
        assert_eq!(escape_markdown("<@123>"), r"\<\@123\>");
        assert_eq!(escape_markdown("plain text"), "plain text");
    }
}
