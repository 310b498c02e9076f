//! The commerce messages: receipt, order status and low-stock alert. Same
//! environment, escaping and helpers as the templates in the parent
//! module; only the files and views are new.

use contracts::Currency;
use contracts::events::{CancelReason, OrderLine};
use minijinja::{Value, context};
use time::OffsetDateTime;

use super::{Rendered, human_time, render, render_email};
use crate::money::format_money;

pub const RECEIPT: &str = "receipt";
pub const ORDER_CONFIRMED: &str = "order_confirmed";
pub const ORDER_CANCELLED: &str = "order_cancelled";
pub const ORDER_SHIPPED: &str = "order_shipped";
pub const LOW_STOCK_ALERT: &str = "low_stock_alert";
pub const LOW_STOCK_DISCORD: &str = "low_stock_discord";

pub(super) const SOURCES: &[(&str, &str)] = &[
    (
        "receipt.subject.txt",
        include_str!("../../templates/receipt.subject.txt"),
    ),
    ("receipt.html", include_str!("../../templates/receipt.html")),
    ("receipt.txt", include_str!("../../templates/receipt.txt")),
    (
        "order_confirmed.subject.txt",
        include_str!("../../templates/order_confirmed.subject.txt"),
    ),
    (
        "order_confirmed.html",
        include_str!("../../templates/order_confirmed.html"),
    ),
    (
        "order_confirmed.txt",
        include_str!("../../templates/order_confirmed.txt"),
    ),
    (
        "order_cancelled.subject.txt",
        include_str!("../../templates/order_cancelled.subject.txt"),
    ),
    (
        "order_cancelled.html",
        include_str!("../../templates/order_cancelled.html"),
    ),
    (
        "order_cancelled.txt",
        include_str!("../../templates/order_cancelled.txt"),
    ),
    (
        "order_shipped.subject.txt",
        include_str!("../../templates/order_shipped.subject.txt"),
    ),
    (
        "order_shipped.html",
        include_str!("../../templates/order_shipped.html"),
    ),
    (
        "order_shipped.txt",
        include_str!("../../templates/order_shipped.txt"),
    ),
    (
        "low_stock_alert.subject.txt",
        include_str!("../../templates/low_stock_alert.subject.txt"),
    ),
    (
        "low_stock_alert.html",
        include_str!("../../templates/low_stock_alert.html"),
    ),
    (
        "low_stock_alert.txt",
        include_str!("../../templates/low_stock_alert.txt"),
    ),
    (
        "low_stock_discord.md",
        include_str!("../../templates/low_stock_discord.md"),
    ),
];

/// What the receipt email shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptView<'a> {
    pub name: &'a str,
    pub invoice_id: &'a str,
    pub order_id: &'a str,
    pub amount: i64,
    pub currency: Currency,
    /// Presigned link to the PDF.
    pub download_url: &'a str,
    pub link_valid_days: u64,
    pub generated_at: OffsetDateTime,
}

/// A URL as an HTML attribute value. The auto-escaper would also encode
/// every `/` (harmless, but unreadable in the source of the mail); a URL
/// only needs the characters that end or break an attribute escaped.
fn href(url: &str) -> Value {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    Value::from_safe_string(out)
}

pub fn render_receipt(view: &ReceiptView<'_>) -> anyhow::Result<Rendered> {
    render_email(
        RECEIPT,
        context! {
            name => view.name,
            invoice_id => view.invoice_id,
            order_id => view.order_id,
            amount => format_money(view.amount, view.currency),
            download_url => view.download_url,
            download_href => href(view.download_url),
            link_valid_days => view.link_valid_days,
            generated_at => human_time(view.generated_at),
        },
    )
}

fn lines_value(lines: &[OrderLine], currency: Currency) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            let amount = l.unit_price.saturating_mul(i64::from(l.quantity));
            context! {
                name => l.name.as_str(),
                quantity => l.quantity,
                amount => format_money(amount, currency),
            }
        })
        .collect()
}

pub fn render_order_confirmed(
    name: &str,
    order_id: &str,
    lines: &[OrderLine],
    total: i64,
    currency: Currency,
    confirmed_at: OffsetDateTime,
) -> anyhow::Result<Rendered> {
    render_email(
        ORDER_CONFIRMED,
        context! {
            name => name,
            order_id => order_id,
            lines => lines_value(lines, currency),
            total => format_money(total, currency),
            confirmed_at => human_time(confirmed_at),
        },
    )
}

/// Why the order was cancelled and what happens to the money, as the
/// customer reads it.
fn cancel_wording(reason: CancelReason) -> (&'static str, &'static str) {
    match reason {
        CancelReason::OutOfStock => ("some items were out of stock", "Nothing was charged."),
        CancelReason::PaymentFailed => ("the payment did not go through", "Nothing was charged."),
        CancelReason::CustomerRequest => (
            "you asked us to cancel it",
            "If you were charged, the full amount is refunded to the way you paid.",
        ),
        CancelReason::TimedOut => (
            "it could not be completed in time",
            "If you were charged, the full amount is refunded to the way you paid.",
        ),
    }
}

pub fn render_order_cancelled(
    name: &str,
    order_id: &str,
    reason: CancelReason,
    lines: &[OrderLine],
    cancelled_at: OffsetDateTime,
) -> anyhow::Result<Rendered> {
    let (reason, money) = cancel_wording(reason);
    let lines: Vec<Value> = lines
        .iter()
        .map(|l| context! { name => l.name.as_str(), quantity => l.quantity })
        .collect();
    render_email(
        ORDER_CANCELLED,
        context! {
            name => name,
            order_id => order_id,
            reason => reason,
            money => money,
            lines => lines,
            cancelled_at => human_time(cancelled_at),
        },
    )
}

pub fn render_order_shipped(
    name: &str,
    order_id: &str,
    shipped_at: OffsetDateTime,
) -> anyhow::Result<Rendered> {
    render_email(
        ORDER_SHIPPED,
        context! {
            name => name,
            order_id => order_id,
            shipped_at => human_time(shipped_at),
        },
    )
}

/// What the low-stock alerts show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowStockView<'a> {
    pub sku: &'a str,
    pub product_id: &'a str,
    pub available: u32,
    pub threshold: u32,
    pub detected_at: OffsetDateTime,
}

impl LowStockView<'_> {
    fn context(&self) -> Value {
        context! {
            sku => self.sku,
            product_id => self.product_id,
            available => self.available,
            threshold => self.threshold,
            detected_at => human_time(self.detected_at),
        }
    }
}

pub fn render_low_stock_alert(view: &LowStockView<'_>) -> anyhow::Result<Rendered> {
    render_email(LOW_STOCK_ALERT, view.context())
}

pub fn render_low_stock_discord(view: &LowStockView<'_>) -> anyhow::Result<String> {
    Ok(render("low_stock_discord.md", view.context())?
        .trim()
        .to_owned())
}

#[cfg(test)]
mod tests {
    use contracts::ProductId;
    use time::macros::datetime;

    use super::*;

    fn line(name: &str, unit_price: i64, quantity: u32) -> OrderLine {
        OrderLine {
            product_id: ProductId::new(),
            sku: "SKU".into(),
            name: name.into(),
            unit_price,
            quantity,
        }
    }

    fn no_placeholder_left(bodies: &[&String]) {
        for body in bodies {
            assert!(!body.contains("{{") && !body.contains("{%"), "{body}");
        }
    }

    const URL: &str =
        "https://docs.example/invoices/u/inv_1.pdf?X-Amz-Signature=abc&X-Amz-Expires=604800";

    fn view() -> ReceiptView<'static> {
        ReceiptView {
            name: "Ada",
            invoice_id: "inv_1",
            order_id: "0193-order",
            amount: 4_200,
            currency: Currency::EUR,
            download_url: URL,
            link_valid_days: 7,
            generated_at: datetime!(2026-11-21 10:06 UTC),
        }
    }

    #[test]
    fn the_receipt_email_links_the_pdf() {
        let url = URL;
        let r = render_receipt(&view()).expect("renders");
        assert_eq!(r.subject, "Your receipt for order 0193-order");
        assert!(r.text.contains(url), "{}", r.text);
        // In HTML the query's `&` is escaped, which is what an href needs.
        assert!(
            r.html
                .contains(&format!("href=\"{}\"", url.replace('&', "&amp;"))),
            "{}",
            r.html
        );
        let hostile = render_receipt(&ReceiptView {
            download_url: "https://x.example/a\"><script>",
            ..view()
        })
        .expect("renders");
        assert!(!hostile.html.contains("<script>"), "{}", hostile.html);
        for body in [&r.html, &r.text] {
            assert!(body.contains("Hi Ada"), "{body}");
            assert!(body.contains("42.00 EUR"), "{body}");
            assert!(body.contains("inv_1"), "{body}");
            assert!(body.contains("7 days"), "{body}");
            assert!(body.contains("2026-11-21 10:06 UTC"), "{body}");
        }
        no_placeholder_left(&[&r.html, &r.text]);
    }

    #[test]
    fn the_confirmation_lists_the_lines_and_total() {
        let lines = [line("Mug <large>", 1_250, 2), line("Tea", 300, 1)];
        let r = render_order_confirmed(
            "Ada",
            "o-1",
            &lines,
            2_800,
            Currency::USD,
            datetime!(2026-11-21 10:05 UTC),
        )
        .expect("renders");
        assert_eq!(r.subject, "Order confirmed: o-1");
        assert!(
            r.text.contains("- 2 x Mug <large>: 25.00 USD"),
            "{}",
            r.text
        );
        assert!(r.text.contains("- 1 x Tea: 3.00 USD"), "{}", r.text);
        assert!(r.text.contains("Total: 28.00 USD"), "{}", r.text);
        assert!(r.html.contains("Mug &lt;large&gt;"), "{}", r.html);
        assert!(r.html.contains("28.00 USD"), "{}", r.html);
        no_placeholder_left(&[&r.html, &r.text]);
    }

    #[test]
    fn a_cancellation_says_why_and_what_happens_to_the_money() {
        let lines = [line("Mug", 1_250, 2)];
        let at = datetime!(2026-11-21 11:00 UTC);
        let out = render_order_cancelled("Ada", "o-1", CancelReason::OutOfStock, &lines, at)
            .expect("renders");
        assert_eq!(out.subject, "Order cancelled: o-1");
        assert!(
            out.text.contains("because some items were out of stock"),
            "{}",
            out.text
        );
        assert!(out.text.contains("Nothing was charged."), "{}", out.text);
        assert!(out.text.contains("- 2 x Mug"), "{}", out.text);
        let customer = render_order_cancelled("Ada", "o-1", CancelReason::CustomerRequest, &[], at)
            .expect("renders");
        assert!(
            customer.html.contains("you asked us to cancel it"),
            "{}",
            customer.html
        );
        assert!(customer.html.contains("refunded"), "{}", customer.html);
        assert!(!customer.html.contains("contained"), "{}", customer.html);
        for reason in [CancelReason::PaymentFailed, CancelReason::TimedOut] {
            let r = render_order_cancelled("Ada", "o-1", reason, &lines, at).expect("renders");
            no_placeholder_left(&[&r.html, &r.text]);
        }
    }

    #[test]
    fn the_shipping_notice_names_the_order() {
        let r =
            render_order_shipped("Ada", "o-1", datetime!(2026-11-22 08:00 UTC)).expect("renders");
        assert_eq!(r.subject, "Order shipped: o-1");
        assert!(r.text.contains("2026-11-22 08:00 UTC"), "{}", r.text);
        no_placeholder_left(&[&r.html, &r.text]);
    }

    #[test]
    fn low_stock_alerts_name_the_sku_and_escape_markdown() {
        let view = LowStockView {
            sku: "MUG_*BLUE*",
            product_id: "p-1",
            available: 2,
            threshold: 5,
            detected_at: datetime!(2026-11-21 10:05 UTC),
        };
        let mail = render_low_stock_alert(&view).expect("renders");
        assert_eq!(mail.subject, "Low stock: MUG_*BLUE* (2 left)");
        assert!(mail.text.contains("threshold of 5"), "{}", mail.text);
        assert!(
            mail.text.contains("PUT /inventory/MUG_*BLUE*"),
            "{}",
            mail.text
        );
        no_placeholder_left(&[&mail.html, &mail.text]);
        assert_eq!(
            render_low_stock_discord(&view).expect("renders"),
            r"Low stock: **MUG\_\*BLUE\*** has 2 left (threshold 5)."
        );
    }
}
