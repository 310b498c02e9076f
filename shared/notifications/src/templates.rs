//! Message templates: text files with `{{placeholder}}`s, filled in one
//! pass. Values are HTML-escaped for HTML bodies; a value is never scanned
//! for placeholders itself, so a name like `{{email}}` stays literal.

use contracts::{Email, PersonName};

use crate::provider::EmailMessage;

const WELCOME_SUBJECT: &str = "Welcome, {{name}}!";
const WELCOME_HTML: &str = include_str!("../templates/welcome.html");
const WELCOME_TEXT: &str = include_str!("../templates/welcome.txt");

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

pub fn render_welcome(name: &PersonName, email: &Email) -> Rendered {
    let values = [("name", name.as_str()), ("email", email.as_str())];
    Rendered {
        // `PersonName` admits no control characters, so the name cannot
        // break out of the subject header.
        subject: fill(WELCOME_SUBJECT, &values, str::to_owned),
        html: fill(WELCOME_HTML, &values, escape_html),
        text: fill(WELCOME_TEXT, &values, str::to_owned),
    }
}

/// Replaces each `{{key}}` with its escaped value; unknown keys stay as they
/// are, so a template typo shows up in the output (and in the tests).
fn fill(template: &str, values: &[(&str, &str)], escape: fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after_open = &rest[open + 2..];
        let Some(close) = after_open.find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        let key = after_open[..close].trim();
        match values.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => out.push_str(&escape(value)),
            None => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after_open[close + 2..];
    }
    out.push_str(rest);
    out
}

pub fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> PersonName {
        PersonName::parse(raw).expect("valid name")
    }

    fn email(raw: &str) -> Email {
        Email::parse(raw).expect("valid email")
    }

    #[test]
    fn welcome_fills_every_placeholder() {
        let r = render_welcome(&name("Ada Lovelace"), &email("ada@example.com"));
        assert_eq!(r.subject, "Welcome, Ada Lovelace!");
        for body in [&r.html, &r.text] {
            assert!(body.contains("Ada Lovelace"), "{body}");
            assert!(body.contains("ada@example.com"), "{body}");
            assert!(!body.contains("{{"), "unfilled placeholder in {body}");
        }
        assert!(r.html.starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn html_body_escapes_the_name_but_text_keeps_it() {
        let evil = name(r#"<script>alert("x")</script> & 'friends'"#);
        let r = render_welcome(&evil, &email("ada@example.com"));
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.html.contains(
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;friends&#x27;"
        ));
        assert!(
            r.text
                .contains(r#"<script>alert("x")</script> & 'friends'"#)
        );
    }

    #[test]
    fn values_are_not_rescanned_for_placeholders() {
        let r = render_welcome(&name("{{email}}"), &email("ada@example.com"));
        assert_eq!(r.subject, "Welcome, {{email}}!");
    }

    #[test]
    fn fill_leaves_unknown_and_unclosed_placeholders_alone() {
        let values = [("a", "1")];
        assert_eq!(fill("{{a}} {{ a }}", &values, str::to_owned), "1 1");
        assert_eq!(fill("{{b}} {{a}}", &values, str::to_owned), "{{b}} 1");
        assert_eq!(fill("x {{a", &values, str::to_owned), "x {{a");
        assert_eq!(fill("é{{a}}ü", &values, str::to_owned), "é1ü");
    }
}
