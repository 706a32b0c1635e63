//! An invoice as a one-page A4 PDF: header, the lines as a table, the total. Pure and deterministic (no
//! timestamp, no random id in the file): the same invoice is the same bytes, so a retried job stores the same
//! object.
//!
//! Text is set in the standard Helvetica fonts, which every PDF reader has, so no font is embedded (a few KB
//! instead of hundreds). Their encoding (WinAnsi) covers printable ASCII safely; any other character is printed
//! as `?` ([`ascii`]).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use platform_types::api::{Currency, Invoice};

/// A4 in points (1/72 inch).
const PAGE: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 56.0;
/// Line height of the table rows.
const ROW: f32 = 14.0;

/// Printable ASCII of `s`; any other character becomes `?`.
pub fn ascii(s: &str) -> String {
    s.chars().map(|c| if (' '..='~').contains(&c) { c } else { '?' }).collect()
}

/// `1234` cents in `EUR` as `12.34 EUR`.
pub fn money(cents: u64, currency: Currency) -> String {
    let code = match currency {
        Currency::USD => "USD",
        Currency::EUR => "EUR",
        Currency::GBP => "GBP",
    };
    format!("{}.{:02} {code}", cents / 100, cents % 100)
}

/// Writes `text` at (`x`, `y`) in `font` at `size`.
fn text(c: &mut Content, font: Name<'_>, size: f32, x: f32, y: f32, text: &str) {
    let bytes = ascii(text);
    c.begin_text();
    c.set_font(font, size);
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y]);
    c.show(Str(bytes.as_bytes()));
    c.end_text();
}

/// The invoice's PDF.
pub fn render(invoice: &Invoice) -> Vec<u8> {
    let (catalog, pages, page, regular, bold, contents) =
        (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5), Ref::new(6));
    let (f1, f2) = (Name(b"F1"), Name(b"F2"));
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1));
    p.parent(pages);
    p.contents(contents);
    p.resources().fonts().pair(f1, regular).pair(f2, bold);
    p.finish();
    pdf.type1_font(regular).base_font(Name(b"Helvetica"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold"));

    let mut c = Content::new();
    let left = MARGIN;
    let right = PAGE.0 - MARGIN;
    let mut y = PAGE.1 - MARGIN - 20.0;
    text(&mut c, f2, 20.0, left, y, "Invoice");
    y -= 28.0;
    text(&mut c, f1, 10.0, left, y, &format!("Invoice {}", invoice.invoice_id));
    y -= ROW;
    text(&mut c, f1, 10.0, left, y, &format!("Tenant {}", invoice.tenant_id));
    y -= ROW;
    text(&mut c, f1, 10.0, left, y, &format!("Date {}", invoice.created_at));
    if let Some(r) = &invoice.customer_ref {
        y -= ROW;
        text(&mut c, f1, 10.0, left, y, &format!("Reference {r}"));
    }
    y -= 2.0 * ROW;
    let (qty_x, unit_x, amount_x) = (right - 200.0, right - 150.0, right - 70.0);
    text(&mut c, f2, 10.0, left, y, "Description");
    text(&mut c, f2, 10.0, qty_x, y, "Qty");
    text(&mut c, f2, 10.0, unit_x, y, "Unit price");
    text(&mut c, f2, 10.0, amount_x, y, "Amount");
    y -= 4.0;
    c.move_to(left, y);
    c.line_to(right, y);
    c.stroke();
    for line in &invoice.lines {
        y -= ROW;
        // At most 50 lines (the request schema): 50 x 14 pt fits below the header on one page.
        let amount = line.unit_price_cents.saturating_mul(u64::from(line.quantity));
        text(&mut c, f1, 9.0, left, y, &line.description);
        text(&mut c, f1, 9.0, qty_x, y, &line.quantity.to_string());
        text(&mut c, f1, 9.0, unit_x, y, &money(line.unit_price_cents, invoice.currency));
        text(&mut c, f1, 9.0, amount_x, y, &money(amount, invoice.currency));
    }
    y -= 8.0;
    c.move_to(left, y);
    c.line_to(right, y);
    c.stroke();
    y -= ROW + 2.0;
    text(&mut c, f2, 11.0, unit_x, y, "Total");
    text(&mut c, f2, 11.0, amount_x, y, &money(invoice.amount_cents, invoice.currency));
    let stream = c.finish();
    pdf.stream(contents, &stream);
    pdf.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use platform_types::api::{InvoiceLine, InvoiceStatus};

    use super::*;

    pub(crate) fn invoice(lines: usize) -> Invoice {
        Invoice {
            invoice_id: "01J0000000000000000000000A".into(),
            tenant_id: "acme".into(),
            lines: (0..lines)
                .map(|i| InvoiceLine {
                    description: format!("Seat {i} \u{e9}t\u{e9}"),
                    quantity: 2,
                    unit_price_cents: 1250,
                })
                .collect(),
            currency: Currency::EUR,
            amount_cents: 2500 * lines as u64,
            customer_ref: Some("PO-7".into()),
            created_at: "2026-01-01T00:00:00Z".into(),
            status: InvoiceStatus::Pending,
            pdf_key: None,
            ready_at: None,
            pdf_url: None,
            pdf_url_expires_in_seconds: None,
        }
    }

    #[test]
    fn a_pdf_with_the_invoice_text() {
        let pdf = render(&invoice(3));
        assert!(pdf.starts_with(b"%PDF-"), "PDF header");
        assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"), "PDF trailer");
        let text = String::from_utf8_lossy(&pdf);
        for needle in ["(Invoice 01J0000000000000000000000A)", "(Reference PO-7)", "(Seat 2 ?t?)", "(75.00 EUR)"] {
            assert!(text.contains(needle), "{needle} not in the content stream");
        }
        assert_eq!(render(&invoice(3)), pdf, "deterministic");
        // The largest invoice the schema allows stays small (no embedded font).
        assert!(render(&invoice(50)).len() < 16 * 1024);
    }

    #[test]
    fn money_and_ascii() {
        assert_eq!(money(1234, Currency::EUR), "12.34 EUR");
        assert_eq!(money(5, Currency::USD), "0.05 USD");
        assert_eq!(ascii("a(b)\u{1F600}"), "a(b)?");
    }
}
