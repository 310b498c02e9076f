use contracts::ProductId;
use time::macros::datetime;

use super::*;

fn line(name: &str, sku: &str, unit_price: i64, quantity: u32) -> OrderLine {
    OrderLine {
        product_id: ProductId::new(),
        sku: sku.into(),
        name: name.into(),
        unit_price,
        quantity,
    }
}

fn receipt<'a>(lines: &'a [OrderLine], order_id: OrderId) -> Receipt<'a> {
    Receipt {
        seller: "Serverless Commerce",
        invoice_id: "inv_0123456789abcdef0123456789abcdef",
        order_id,
        customer_id: UserId::new(),
        payment_id: "pay_42",
        method: PaymentKind::Card,
        provider_reference: "pi_3Nabc",
        paid_at: datetime!(2026-11-21 10:05:30 UTC),
        amount: 7_497,
        currency: Currency::USD,
        lines,
    }
}

/// The strings drawn by the content streams (`(...) Tj` and `<...> Tj`),
/// decoded from WinAnsi: what a text extractor would find.
fn shown_text(pdf: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = pdf;
    while let Some(start) = find(rest, b"stream\n") {
        let body = &rest[start + 7..];
        let end = find(body, b"endstream").expect("stream is closed");
        out.extend(strings_in(&body[..end]));
        rest = &body[end + b"endstream".len()..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn strings_in(content: &[u8]) -> Vec<String> {
    let mut strings = Vec::new();
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'(' => {
                let mut bytes = Vec::new();
                let mut depth = 1;
                i += 1;
                while depth > 0 {
                    match content[i] {
                        b'\\' => {
                            i += 1;
                            bytes.push(content[i]);
                        }
                        b'(' => {
                            depth += 1;
                            bytes.push(b'(');
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                bytes.push(b')');
                            }
                        }
                        b => bytes.push(b),
                    }
                    i += 1;
                }
                strings.push(bytes);
            }
            b'<' => {
                let end = i + content[i..].iter().position(|b| *b == b'>').expect("hex");
                let hex = std::str::from_utf8(&content[i + 1..end]).expect("ascii");
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|k| u8::from_str_radix(&hex[k..k + 2], 16).expect("hex digit"))
                    .collect();
                strings.push(bytes);
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    strings
        .into_iter()
        .map(|bytes| {
            bytes
                .into_iter()
                .map(|b| match b {
                    0x80 => '€',
                    0x96 => '–',
                    b => char::from(b),
                })
                .collect()
        })
        .collect()
}

/// Every object the cross-reference table lists starts where it says: a
/// reader can open the file without repairing it.
fn assert_xref_is_exact(pdf: &[u8]) {
    let tail = std::str::from_utf8(&pdf[pdf.len() - 40..]).expect("ascii tail");
    let offset: usize = tail
        .split("startxref")
        .nth(1)
        .expect("startxref")
        .split_whitespace()
        .next()
        .expect("offset")
        .parse()
        .expect("number");
    let table = std::str::from_utf8(&pdf[offset..]).expect("ascii xref");
    let mut lines = table.lines();
    assert_eq!(lines.next(), Some("xref"));
    let header = lines.next().expect("subsection");
    let count: usize = header
        .split_whitespace()
        .nth(1)
        .expect("count")
        .parse()
        .expect("n");
    for (id, entry) in lines.take(count).enumerate().skip(1) {
        let at: usize = entry[..10].parse().expect("offset");
        let expected = format!("{id} 0 obj");
        assert!(
            pdf[at..].starts_with(expected.as_bytes()),
            "object {id} is not at {at}"
        );
    }
    assert!(pdf.ends_with(b"%%EOF\n") || pdf.ends_with(b"%%EOF"));
}

fn page_count(pdf: &[u8]) -> usize {
    let marker = b"/Type /Page";
    pdf.windows(marker.len() + 1)
        .filter(|w| w.starts_with(marker) && w[marker.len()] != b's')
        .count()
}

#[test]
fn a_receipt_is_a_pdf_with_the_order_payment_and_lines() {
    let lines = [
        line("Espresso cup", "CUP-1", 1_299, 3),
        line("Coffee beans 1kg", "BEAN-1K", 3_600, 1),
    ];
    let order_id = OrderId::new();
    let pdf = render(&receipt(&lines, order_id));

    assert!(pdf.starts_with(b"%PDF-1.7"));
    assert_xref_is_exact(&pdf);
    let text = shown_text(&pdf);
    for expected in [
        "Receipt",
        "Serverless Commerce",
        "inv_0123456789abcdef0123456789abcdef",
        order_id.to_string().as_str(),
        "2026-11-21 10:05 UTC",
        "Card",
        "pi_3Nabc",
        "pay_42",
        "Espresso cup",
        "CUP-1",
        "3",
        "12.99 USD",
        "38.97 USD",
        "Coffee beans 1kg",
        "36.00 USD",
        "Total paid",
        "74.97 USD",
        "Page 1 of 1",
    ] {
        assert!(
            text.iter().any(|t| t == expected),
            "{expected:?} not drawn in {text:?}"
        );
    }
    let raw = String::from_utf8_lossy(&pdf);
    assert!(
        raw.contains("/BaseFont /Helvetica"),
        "standard font, nothing embedded"
    );
    assert!(!raw.contains("/FontFile"));
}

#[test]
fn rendering_is_deterministic() {
    let lines = [line("Mug", "MUG", 800, 1)];
    let r = receipt(&lines, OrderId::new());
    assert_eq!(render(&r), render(&r));
}

#[test]
fn names_that_are_not_ascii_or_break_syntax_are_drawn_safely() {
    let lines = [line("Café (large) \\ €", "SKU)(", 500, 2)];
    let pdf = render(&receipt(&lines, OrderId::new()));
    assert_xref_is_exact(&pdf);
    let text = shown_text(&pdf);
    assert!(text.iter().any(|t| t == "Café (large) \\ €"), "{text:?}");
    assert!(text.iter().any(|t| t == "SKU)("), "{text:?}");
}

#[test]
fn many_lines_flow_onto_further_pages_with_the_total_on_the_last() {
    let lines: Vec<OrderLine> = (0..80)
        .map(|i| line(&format!("Item {i}"), &format!("SKU-{i}"), 100, 1))
        .collect();
    let mut r = receipt(&lines, OrderId::new());
    r.amount = 8_000;
    let pdf = render(&r);
    assert_xref_is_exact(&pdf);
    let pages = paginate(&lines);
    assert_eq!(page_count(&pdf), pages.len());
    assert!(pages.len() >= 2);
    assert_eq!(pages.iter().map(|p| p.len()).sum::<usize>(), 80);
    let text = shown_text(&pdf);
    for i in 0..80 {
        let name = format!("Item {i}");
        assert!(text.contains(&name), "{name} missing");
    }
    let last = format!("Page {0} of {0}", pages.len());
    let total_at = text.iter().position(|t| t == "Total paid").expect("total");
    let last_page_at = text.iter().position(|t| *t == last).expect("last page");
    let item_79 = text.iter().position(|t| t == "Item 79").expect("last item");
    assert!(item_79 < total_at && total_at < last_page_at);
}

#[test]
fn a_full_last_page_leaves_the_total_to_a_page_of_its_own() {
    let capacity = rows_per_page(true);
    let lines: Vec<OrderLine> = (0..capacity)
        .map(|i| line("x", &i.to_string(), 1, 1))
        .collect();
    let pages = paginate(&lines);
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].len(), capacity);
    assert!(pages[1].is_empty());
    assert_eq!(paginate(&[]).len(), 1);
}

#[test]
fn yen_amounts_have_no_decimals() {
    let lines = [line("Tea", "TEA", 1_500, 2)];
    let mut r = receipt(&lines, OrderId::new());
    r.currency = Currency::JPY;
    r.amount = 3_000;
    let text = shown_text(&render(&r));
    assert!(text.iter().any(|t| t == "3,000 JPY"), "{text:?}");
}
