//! Decoding CSV the way Japanese spreadsheets save it, and writing CSV that spreadsheets
//! cannot mistake for formulas.

use std::borrow::Cow;

/// Text decoded from an uploaded file, with the places where the bytes were not valid in the
/// encoding chosen for the whole file. Each such place holds U+FFFD in `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Borrowed from the file's bytes when they are valid UTF-8 already.
    pub text: Cow<'a, str>,
    /// `"UTF-8"` or `"Shift_JIS"`.
    pub encoding: &'static str,
    /// (line, column), both from 1, column counted in characters, of each invalid sequence.
    pub invalid: Vec<(u64, u64)>,
}

impl Decoded<'_> {
    /// The first invalid sequence on lines `from..until`, as a message for a rejected row.
    pub fn invalid_between(&self, from: u64, until: u64) -> Option<String> {
        self.invalid
            .iter()
            .find(|(line, _)| (from..until).contains(line))
            .map(|(line, column)| {
                format!(
                    "a byte sequence at line {line}, column {column} is not valid {}; the file was read as {} as a whole",
                    self.encoding, self.encoding
                )
            })
    }
}

/// Decodes a whole file in one encoding, chosen from the whole file:
/// - a UTF-8 byte-order mark, or bytes that are valid UTF-8: UTF-8;
/// - otherwise, when valid multi-byte UTF-8 characters outnumber invalid sequences, the file is
///   UTF-8 with stray bytes (one Latin-1 `é` in a UTF-8 file): still UTF-8;
/// - otherwise Shift_JIS as Windows writes it (CP932, which the WHATWG `Shift_JIS` decoder
///   implements).
///
/// Bytes invalid in the chosen encoding are never guessed at: they become U+FFFD and their
/// position is reported, so the row holding them can be refused instead of stored changed.
pub fn decode(bytes: &[u8]) -> Decoded<'_> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return decode_utf8(rest);
    }
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        multibyte += chunk.valid().chars().filter(|c| c.len_utf8() > 1).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    if invalid == 0 || multibyte > invalid {
        decode_utf8(bytes)
    } else {
        decode_shift_jis(bytes)
    }
}

/// Where the next character written to a growing text will stand.
struct Cursor {
    line: u64,
    column: u64,
}

impl Cursor {
    fn new() -> Self {
        Self { line: 1, column: 1 }
    }

    fn advance(&mut self, text: &str) {
        for c in text.chars() {
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
    }
}

fn decode_utf8(bytes: &[u8]) -> Decoded<'_> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Decoded {
            text: Cow::Borrowed(text),
            encoding: "UTF-8",
            invalid: Vec::new(),
        };
    }
    let mut text = String::with_capacity(bytes.len());
    let mut invalid = Vec::new();
    let mut at = Cursor::new();
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        at.advance(chunk.valid());
        if !chunk.invalid().is_empty() {
            invalid.push((at.line, at.column));
            text.push(char::REPLACEMENT_CHARACTER);
            at.advance("\u{FFFD}");
        }
    }
    Decoded {
        text: Cow::Owned(text),
        encoding: "UTF-8",
        invalid,
    }
}

fn decode_shift_jis(bytes: &[u8]) -> Decoded<'static> {
    use encoding_rs::DecoderResult;
    let mut decoder = encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len() * 3);
    let mut text = String::with_capacity(capacity);
    let mut invalid = Vec::new();
    let mut at = Cursor::new();
    let mut rest = bytes;
    loop {
        let before = text.len();
        let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut text, true);
        at.advance(&text[before..]);
        rest = &rest[read..];
        match result {
            DecoderResult::InputEmpty => break,
            DecoderResult::Malformed(_, _) => {
                invalid.push((at.line, at.column));
                text.push(char::REPLACEMENT_CHARACTER);
                at.advance("\u{FFFD}");
            }
            DecoderResult::OutputFull => {
                text.reserve(rest.len() * 3 + 16);
            }
        }
    }
    Decoded {
        text: Cow::Owned(text),
        encoding: "Shift_JIS",
        invalid,
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
        let decoded = decode(b"\xEF\xBB\xBFscheme,name\n");
        assert_eq!(decoded.text, "scheme,name\n");
        assert!(decoded.invalid.is_empty());
    }

    #[test]
    fn a_shift_jis_file_decodes_to_japanese() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("山田 太郎,ヤマダ タロウ");
        let decoded = decode(&bytes);
        assert_eq!(decoded.text, "山田 太郎,ヤマダ タロウ");
        assert_eq!(decoded.encoding, "Shift_JIS");
        assert!(decoded.invalid.is_empty());
    }

    #[test]
    fn one_latin1_byte_in_a_utf8_file_leaves_the_file_utf8_and_is_located() {
        let clean = "name\n山田 太郎\nCaf\n";
        assert!(decode(clean.as_bytes()).invalid.is_empty());
        let mut bytes = "name\n山田 太郎\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"Caf\xe9\n");
        let decoded = decode(&bytes);
        assert_eq!(decoded.encoding, "UTF-8");
        assert_eq!(decoded.text, "name\n山田 太郎\nCaf\u{FFFD}\n");
        assert_eq!(decoded.invalid, vec![(3, 4)]);
    }

    #[test]
    fn a_byte_invalid_in_shift_jis_is_located_not_guessed() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("名前\n山田\n");
        let mut bytes = bytes.into_owned();
        // A lead byte followed by a line feed is not Shift_JIS.
        bytes.extend_from_slice(b"ab\x81\nok\n");
        let decoded = decode(&bytes);
        assert_eq!(decoded.encoding, "Shift_JIS");
        assert!(
            decoded.text.starts_with("名前\n山田\nab\u{FFFD}"),
            "{}",
            decoded.text
        );
        assert_eq!(decoded.invalid, vec![(3, 3)]);
    }

    #[test]
    fn formula_like_cells_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("-1"), "'-1");
        assert_eq!(neutralise("山田"), "山田");
    }
}
