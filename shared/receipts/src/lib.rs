//! The receipt document: a PDF rendered from a successful payment and the
//! confirmed order it paid for.
//!
//! Kept apart from the payments crates so that only the function that
//! renders receipts compiles and ships a PDF writer. The writer is
//! `pdf-writer` (the Typst project's, no dependencies of weight); text uses
//! the standard Helvetica fonts every PDF reader has, so no font file is
//! embedded. Rendering is deterministic: the same receipt gives the same
//! bytes, so a retried upload rewrites an identical object.

mod money;
mod text;

use contracts::events::{OrderLine, PaymentKind};
use contracts::{Currency, OrderId, UserId};
use pdf_writer::{Content, Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use time::OffsetDateTime;

pub use money::format as format_money;

/// What a receipt shows.
#[derive(Debug, Clone, Copy)]
pub struct Receipt<'a> {
    /// The shop's name, printed in the header.
    pub seller: &'a str,
    pub invoice_id: &'a str,
    pub order_id: OrderId,
    pub customer_id: UserId,
    pub payment_id: &'a str,
    pub method: PaymentKind,
    /// The provider's id for the charge (wallet ledger entry, PaymentIntent).
    pub provider_reference: &'a str,
    pub paid_at: OffsetDateTime,
    /// What was charged, in minor units.
    pub amount: i64,
    pub currency: Currency,
    pub lines: &'a [OrderLine],
}

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
const ROW: f32 = 16.0;
/// Rows stop above the footer.
const BOTTOM: f32 = 80.0;
const FIRST_TABLE_TOP: f32 = 615.0;
const NEXT_TABLE_TOP: f32 = 760.0;
/// Rows the totals block takes below the last line.
const TOTAL_ROWS: usize = 3;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Columns: item and SKU from the left, figures right-aligned.
const ITEM_X: f32 = LEFT;
const ITEM_WIDTH: f32 = 170.0;
const SKU_X: f32 = 225.0;
const SKU_WIDTH: f32 = 85.0;
const QTY_RIGHT: f32 = 350.0;
const PRICE_RIGHT: f32 = 445.0;
const AMOUNT_RIGHT: f32 = RIGHT;

fn rows_per_page(first: bool) -> usize {
    let top = if first {
        FIRST_TABLE_TOP
    } else {
        NEXT_TABLE_TOP
    };
    // The header row, then one row per line down to the bottom margin.
    ((top - ROW - BOTTOM) / ROW) as usize + 1
}

/// Lines per page. The totals go below the last line, on a page of their
/// own if the last one is full.
fn paginate(lines: &[OrderLine]) -> Vec<&[OrderLine]> {
    let mut pages = Vec::new();
    let mut rest = lines;
    loop {
        let capacity = rows_per_page(pages.is_empty());
        if rest.len() + TOTAL_ROWS <= capacity {
            pages.push(rest);
            return pages;
        }
        let take = rest.len().min(capacity);
        let (page, tail) = rest.split_at(take);
        pages.push(page);
        rest = tail;
        if rest.is_empty() {
            pages.push(rest);
            return pages;
        }
    }
}

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

fn method_label(method: PaymentKind) -> &'static str {
    match method {
        PaymentKind::Wallet => "Wallet",
        PaymentKind::Card => "Card",
    }
}

struct Page<'c> {
    content: &'c mut Content,
}

impl Page<'_> {
    fn text(&mut self, font: Name, size: f32, x: f32, y: f32, s: &str) {
        self.content
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(&text::win_ansi(s)))
            .end_text();
    }

    fn text_right(&mut self, font: Name, size: f32, right: f32, y: f32, s: &str) {
        self.text(font, size, right - text::width(s, size), y, s);
    }

    fn rule(&mut self, y: f32, from: f32) {
        self.content
            .set_line_width(0.5)
            .move_to(from, y)
            .line_to(RIGHT, y)
            .stroke();
    }

    fn table_header(&mut self, y: f32) {
        self.text(BOLD, 9.0, ITEM_X, y, "Item");
        self.text(BOLD, 9.0, SKU_X, y, "SKU");
        self.text_right(BOLD, 9.0, QTY_RIGHT, y, "Qty");
        self.text_right(BOLD, 9.0, PRICE_RIGHT, y, "Unit price");
        self.text_right(BOLD, 9.0, AMOUNT_RIGHT, y, "Amount");
        self.rule(y - 5.0, LEFT);
    }

    fn line(&mut self, y: f32, line: &OrderLine, currency: Currency) {
        let total = i128::from(line.unit_price) * i128::from(line.quantity);
        self.text(
            REGULAR,
            9.0,
            ITEM_X,
            y,
            &text::fit(&line.name, 9.0, ITEM_WIDTH),
        );
        self.text(
            REGULAR,
            9.0,
            SKU_X,
            y,
            &text::fit(&line.sku, 9.0, SKU_WIDTH),
        );
        self.text_right(REGULAR, 9.0, QTY_RIGHT, y, &line.quantity.to_string());
        self.text_right(
            REGULAR,
            9.0,
            PRICE_RIGHT,
            y,
            &money::format(i128::from(line.unit_price), currency),
        );
        self.text_right(
            REGULAR,
            9.0,
            AMOUNT_RIGHT,
            y,
            &money::format(total, currency),
        );
    }

    fn footer(&mut self, receipt: &Receipt<'_>, number: usize, count: usize) {
        self.text(
            REGULAR,
            8.0,
            LEFT,
            40.0,
            &format!("{} - receipt {}", receipt.seller, receipt.invoice_id),
        );
        self.text_right(
            REGULAR,
            8.0,
            RIGHT,
            40.0,
            &format!("Page {number} of {count}"),
        );
    }
}

fn first_page_header(page: &mut Page<'_>, r: &Receipt<'_>) {
    page.text(BOLD, 22.0, LEFT, 780.0, "Receipt");
    page.text_right(BOLD, 12.0, RIGHT, 784.0, r.seller);
    page.text(REGULAR, 10.0, LEFT, 760.0, "Thank you for your order.");
    let details = [
        ("Receipt number", r.invoice_id.to_owned()),
        ("Order", r.order_id.to_string()),
        ("Date", human_time(r.paid_at)),
        ("Payment method", method_label(r.method).to_owned()),
        ("Payment reference", r.provider_reference.to_owned()),
        ("Payment id", r.payment_id.to_owned()),
        ("Customer", r.customer_id.to_string()),
    ];
    let mut y = 730.0;
    for (label, value) in details {
        page.text(BOLD, 10.0, LEFT, y, label);
        page.text(
            REGULAR,
            10.0,
            160.0,
            y,
            &text::fit(&value, 10.0, RIGHT - 160.0),
        );
        y -= 15.0;
    }
}

fn totals(page: &mut Page<'_>, y: f32, r: &Receipt<'_>) {
    page.rule(y + ROW - 5.0, 300.0);
    page.text_right(BOLD, 11.0, PRICE_RIGHT, y, "Total paid");
    page.text_right(
        BOLD,
        11.0,
        AMOUNT_RIGHT,
        y,
        &money::format(i128::from(r.amount), r.currency),
    );
    page.text_right(
        REGULAR,
        9.0,
        AMOUNT_RIGHT,
        y - ROW,
        &format!(
            "Paid by {} on {}",
            method_label(r.method).to_lowercase(),
            human_time(r.paid_at)
        ),
    );
}

fn pdf_date(t: OffsetDateTime) -> Date {
    let t = t.to_offset(time::UtcOffset::UTC);
    Date::new(t.year().clamp(0, 9999) as u16)
        .month(u8::from(t.month()))
        .day(t.day())
        .hour(t.hour())
        .minute(t.minute())
        .second(t.second())
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// Renders the receipt as a PDF document.
pub fn render(receipt: &Receipt<'_>) -> Vec<u8> {
    let pages = paginate(receipt.lines);
    let count = pages.len();

    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let regular_id = Ref::new(3);
    let bold_id = Ref::new(4);
    let info_id = Ref::new(5);
    // Page n is object 6 + 2n, its content stream the next one.
    let page_ids: Vec<(Ref, Ref)> = (0..count)
        .map(|n| {
            let base = 6 + 2 * n as i32;
            (Ref::new(base), Ref::new(base + 1))
        })
        .collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(count as i32);
    pdf.type1_font(regular_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold_id)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let title = format!("Receipt {}", receipt.invoice_id);
    pdf.document_info(info_id)
        .title(TextStr(&title))
        .author(TextStr(receipt.seller))
        .producer(TextStr("serverless-commerce receipts"))
        .creation_date(pdf_date(receipt.paid_at));
    // Derived from the receipt, not random: the same receipt, the same file.
    let file_id = receipt.invoice_id.as_bytes().to_vec();
    pdf.set_file_id((file_id.clone(), file_id));

    for (number, (lines, (page_id, content_id))) in pages.iter().zip(&page_ids).enumerate() {
        let mut content = Content::new();
        let mut page = Page {
            content: &mut content,
        };
        let mut y = if number == 0 {
            first_page_header(&mut page, receipt);
            FIRST_TABLE_TOP
        } else {
            page.text(BOLD, 12.0, LEFT, 790.0, &format!("{title} (continued)"));
            NEXT_TABLE_TOP
        };
        if !lines.is_empty() {
            page.table_header(y);
            y -= ROW + 4.0;
            for line in lines.iter() {
                page.line(y, line, receipt.currency);
                y -= ROW;
            }
        }
        if number + 1 == count {
            totals(&mut page, y - 4.0, receipt);
        }
        page.footer(receipt, number + 1, count);

        let mut writer = pdf.page(*page_id);
        writer
            .parent(tree_id)
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .contents(*content_id);
        writer
            .resources()
            .fonts()
            .pair(REGULAR, regular_id)
            .pair(BOLD, bold_id);
        writer.finish();
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests;
