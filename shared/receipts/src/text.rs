//! Text for the PDF's standard Type 1 fonts: encoding to WinAnsi bytes and
//! the glyph widths needed to right-align and truncate without embedding a
//! font file.

/// Helvetica advance widths (thousandths of the font size) of the printable
/// ASCII characters 32..=126, from Adobe's published font metrics. Helvetica
/// Bold differs by a few units on some letters, never on digits.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0..9
    278, 278, 584, 584, 584, 556, 1015, // :..@
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // A..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // P..Z
    278, 278, 278, 469, 556, 333, // [..`
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // a..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // p..z
    334, 260, 334, 584, // {..~
];

/// Width of the glyphs outside printable ASCII (accented letters are close
/// to their base letter; this errs on the wide side).
const OTHER_WIDTH: u16 = 600;

/// Encodes text for a font with `/WinAnsiEncoding`. Latin-1 letters and the
/// common typographic characters keep their glyph; anything the encoding
/// cannot show becomes `?`, and control characters become spaces, so a
/// product name can never break the content stream.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars().map(win_ansi_byte).collect()
}

fn win_ansi_byte(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        c if c.is_control() => b' ',
        _ => b'?',
    }
}

/// Width in points of `text` set in Helvetica at `size`.
pub fn width(text: &str, size: f32) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| match c {
            ' '..='~' => u32::from(HELVETICA[(c as usize) - 32]),
            _ => u32::from(OTHER_WIDTH),
        })
        .sum();
    units as f32 * size / 1000.0
}

/// `text` cut (with an ellipsis) so that it fits `max_width` points.
pub fn fit(text: &str, size: f32, max_width: f32) -> String {
    if width(text, size) <= max_width {
        return text.to_owned();
    }
    let budget = max_width - width("…", size);
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if width(&out, size) > budget {
            out.pop();
            break;
        }
    }
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_passes_and_the_rest_is_mapped_or_replaced() {
        assert_eq!(win_ansi("Order #12 (x)"), b"Order #12 (x)".to_vec());
        assert_eq!(win_ansi("Café €5 – ok"), b"Caf\xe9 \x805 \x96 ok".to_vec());
        assert_eq!(win_ansi("日本\n\t"), b"??  ".to_vec());
    }

    #[test]
    fn widths_follow_the_font_metrics() {
        assert!((width("0", 10.0) - 5.56).abs() < 1e-4);
        assert!((width("1,234.56 USD", 1000.0) - 6_281.0).abs() < 1e-2);
        assert!(width("WWW", 10.0) > width("iii", 10.0));
    }

    #[test]
    fn long_text_is_cut_to_fit() {
        let name = "An extraordinarily long product name that cannot fit";
        let cut = fit(name, 10.0, 100.0);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(width(&cut, 10.0) <= 100.0, "{cut}");
        assert_eq!(fit("Mug", 10.0, 100.0), "Mug");
    }
}
