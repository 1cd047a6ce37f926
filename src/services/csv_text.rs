//! Decoding CSV the way Japanese spreadsheets save it, and writing CSV that spreadsheets
//! cannot mistake for formulas.

use std::borrow::Cow;

/// UTF-8 (with or without a byte-order mark) when the bytes are valid UTF-8; otherwise
/// Shift_JIS as Windows writes it (CP932, which the WHATWG `Shift_JIS` decoder implements).
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            let (text, _, _) = encoding_rs::SHIFT_JIS.decode(bytes);
            text
        }
    }
}

/// Prefixes a cell that a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR) with `'`.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_utf8_file_with_a_bom_decodes_without_it() {
        assert_eq!(decode(b"\xEF\xBB\xBFscheme,name\n"), "scheme,name\n");
    }

    #[test]
    fn a_shift_jis_file_decodes_to_japanese() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("山田 太郎,ヤマダ タロウ");
        assert_eq!(decode(&bytes), "山田 太郎,ヤマダ タロウ");
    }

    #[test]
    fn formula_like_cells_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("-1"), "'-1");
        assert_eq!(neutralise("山田"), "山田");
    }
}
