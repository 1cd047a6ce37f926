//! The transcript as PDF, A4 portrait, in the reader's language. Text is set in IPAex Gothic,
//! embedded (only the glyphs used) so that Japanese names print and extract on any reader;
//! long titles wrap within their column and the table continues on further pages under its
//! header.

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::{Transcript, Words};
use crate::services::schemes::SchemeCatalog;

/// The font's path under `templates/`.
pub const FONT_FILE: &str = "fonts/ipaexg.ttf";

const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 48.0;
const BODY: f32 = 9.5;
const LINE: f32 = 13.0;
/// The size of the second line of an activity: where it came from.
const SMALL: f32 = 8.0;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the transcript font {FONT_FILE} is missing or unreadable")]
    Font,
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// Widths of text in this font, from its own advances (shaped as the PDF will draw it).
struct Measure {
    face: rustybuzz::Face<'static>,
}

impl Measure {
    fn width(&self, text: &str, size: f32) -> f32 {
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        let shaped = rustybuzz::shape(&self.face, &[], buffer);
        let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
        units as f32 * size / self.face.units_per_em() as f32
    }

    /// `text` broken into lines no wider than `width`: at spaces where there are any, and
    /// between any two characters of a word too long for one line (Japanese has no spaces).
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_inclusive(' ') {
            let candidate = format!("{line}{word}");
            if self.width(candidate.trim_end(), size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(line.trim_end().to_owned());
                line.clear();
            }
            for ch in word.chars() {
                let candidate = format!("{line}{ch}");
                if self.width(candidate.trim_end(), size) > width && !line.is_empty() {
                    lines.push(line.trim_end().to_owned());
                    line = ch.to_string();
                } else {
                    line = candidate;
                }
            }
        }
        if !line.trim().is_empty() || lines.is_empty() {
            lines.push(line.trim_end().to_owned());
        }
        lines
    }
}

/// A column of the credit table: its heading, left edge and width.
struct Column {
    heading: String,
    x: f32,
    width: f32,
    right_aligned: bool,
}

fn columns(words: &Words) -> Vec<Column> {
    let spec: [(&str, f32, bool); 6] = [
        (&words.transcript_date, 60.0, false),
        (&words.transcript_activity, 165.0, false),
        (&words.transcript_category, 140.0, false),
        (&words.transcript_claimed, 40.0, true),
        (&words.transcript_counted, 40.0, true),
        (&words.transcript_credit_state, 54.0, false),
    ];
    let mut x = MARGIN;
    spec.into_iter()
        .map(|(heading, width, right_aligned)| {
            let column = Column {
                heading: heading.to_owned(),
                x,
                width,
                right_aligned,
            };
            x += width;
            column
        })
        .collect()
}

/// Draws pages one after another, starting a new one when the next block does not fit.
struct Writer<'a> {
    document: Document,
    font: Font,
    measure: &'a Measure,
    /// The text drawn on the current page, as (x, y, size, text), flushed when it ends.
    page: Vec<(f32, f32, f32, String)>,
    rules: Vec<Rect>,
    y: f32,
}

impl Writer<'_> {
    fn text(&mut self, x: f32, size: f32, text: &str) {
        self.page.push((x, self.y, size, text.to_owned()));
    }

    fn rule(&mut self) {
        if let Some(rect) = Rect::from_xywh(MARGIN, self.y, PAGE_WIDTH - 2.0 * MARGIN, 0.5) {
            self.rules.push(rect);
        }
    }

    fn fits(&self, height: f32) -> bool {
        self.y + height <= PAGE_HEIGHT - MARGIN
    }

    fn finish_page(&mut self) {
        let Some(settings) = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT) else {
            return;
        };
        let mut page = self.document.start_page_with(settings);
        let mut surface: Surface<'_> = page.surface();
        for (x, y, size, text) in self.page.drain(..) {
            surface.draw_text(
                Point::from_xy(x, y),
                self.font.clone(),
                size,
                &text,
                false,
                TextDirection::Auto,
            );
        }
        for rect in self.rules.drain(..) {
            let mut path = PathBuilder::new();
            path.push_rect(rect);
            if let Some(path) = path.finish() {
                surface.draw_path(&path);
            }
        }
        surface.finish();
        page.finish();
        self.y = MARGIN + LINE;
    }

    fn table_header(&mut self, columns: &[Column]) {
        for column in columns {
            let x = self.cell_x(column, &column.heading, BODY);
            self.text(x, BODY, &column.heading);
        }
        self.y += 4.0;
        self.rule();
        self.y += LINE;
    }

    fn cell_x(&self, column: &Column, text: &str, size: f32) -> f32 {
        if column.right_aligned {
            column.x + column.width - 6.0 - self.measure.width(text, size)
        } else {
            column.x
        }
    }
}

/// The transcript as a PDF document.
pub fn to_pdf(
    transcript: &Transcript,
    words: &Words,
    catalog: &SchemeCatalog,
) -> Result<Vec<u8>, PdfError> {
    let bytes = crate::templates::embedded_file(FONT_FILE).ok_or(PdfError::Font)?;
    let font = Font::new(bytes.into(), 0).ok_or(PdfError::Font)?;
    let measure = Measure {
        face: rustybuzz::Face::from_slice(bytes, 0).ok_or(PdfError::Font)?,
    };
    let scheme = catalog
        .in_force_on(&transcript.scheme_id, transcript.starts_on)
        .map(|s| &s.definition);
    let scheme_name = words.scheme_name(scheme, &transcript.scheme_id);

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!(
                "{} — {scheme_name} {}",
                words.transcript_title, transcript.registration_number
            ))
            .language(words.locale.to_owned()),
    );
    let mut w = Writer {
        document,
        font,
        measure: &measure,
        page: Vec::new(),
        rules: Vec::new(),
        y: MARGIN + 16.0,
    };

    w.text(MARGIN, 16.0, &words.transcript_title);
    w.y += 26.0;
    let holder = match &transcript.holder_name_kana {
        Some(kana) => format!("{} ({kana})", transcript.holder_name),
        None => transcript.holder_name.clone(),
    };
    let mut facts: Vec<(&str, String)> = vec![
        (&words.transcript_holder, holder),
        (&words.transcript_scheme, scheme_name.to_owned()),
        (
            &words.transcript_registration_number,
            transcript.registration_number.clone(),
        ),
        (&words.transcript_cycle, words.cycle(transcript)),
        (&words.transcript_deadline, transcript.deadline.to_string()),
        (
            &words.transcript_state,
            words.state(transcript.state).to_owned(),
        ),
        (&words.transcript_points, words.points(transcript)),
    ];
    if transcript.pending > crate::domain::points::Points::ZERO {
        facts.push((&words.transcript_pending, transcript.pending.to_string()));
    }
    for total in &transcript.by_category {
        let mut limits = Vec::new();
        if let Some(minimum) = total.minimum {
            limits.push(format!("{} {minimum}", words.transcript_minimum));
        }
        if let Some(cap) = total.cap {
            limits.push(format!("{} {cap}", words.transcript_cap));
        }
        let value = if limits.is_empty() {
            total.counted.to_string()
        } else {
            format!("{} ({})", total.counted, limits.join(", "))
        };
        facts.push((words.category_name(scheme, &total.category), value));
    }
    facts.push((&words.transcript_as_of, transcript.as_of.to_string()));
    facts.push((
        &words.transcript_generated_at,
        transcript
            .generated_at
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
    ));
    for (label, value) in facts {
        w.text(MARGIN, BODY + 0.5, label);
        w.text(MARGIN + 150.0, BODY + 0.5, &value);
        w.y += LINE + 1.0;
    }
    w.y += LINE;

    let columns = columns(words);
    w.table_header(&columns);
    if transcript.rows.is_empty() {
        w.text(MARGIN, BODY, &words.transcript_no_credits);
    }
    for row in &transcript.rows {
        let title_width = columns[1].width - 8.0;
        let origin = match &row.provider {
            Some(provider) => format!("{provider} · {}", words.source(row.source)),
            None => words.source(row.source).to_owned(),
        };
        let activity: Vec<(f32, String)> = measure
            .wrap(&row.title, BODY, title_width)
            .into_iter()
            .map(|line| (BODY, line))
            .chain(
                measure
                    .wrap(&origin, SMALL, title_width)
                    .into_iter()
                    .map(|line| (SMALL, line)),
            )
            .collect();
        let category = measure.wrap(
            &format!(
                "{} / {}",
                words.activity_type_name(scheme, &row.activity_type),
                words.category_name(scheme, &row.category)
            ),
            BODY,
            columns[2].width - 8.0,
        );
        let lines = activity.len().max(category.len());
        let height = lines as f32 * LINE + 4.0;
        if !w.fits(height) {
            w.finish_page();
            w.table_header(&columns);
        }
        let top = w.y;
        let cells: [(&Column, Vec<String>); 4] = [
            (&columns[0], vec![row.completed_on.to_string()]),
            (&columns[3], vec![row.claimed.to_string()]),
            (&columns[4], vec![row.counted.to_string()]),
            (&columns[5], vec![words.credit_state(row.state).to_owned()]),
        ];
        for (column, texts) in cells {
            for text in texts {
                let x = w.cell_x(column, &text, BODY);
                w.text(x, BODY, &text);
            }
        }
        for (i, (size, line)) in activity.iter().enumerate() {
            w.y = top + i as f32 * LINE;
            w.text(columns[1].x, *size, line);
        }
        for (i, line) in category.iter().enumerate() {
            w.y = top + i as f32 * LINE;
            w.text(columns[2].x, BODY, line);
        }
        w.y = top + lines as f32 * LINE - LINE + 4.0;
        w.rule();
        w.y += LINE;
    }
    w.finish_page();
    w.document
        .finish()
        .map_err(|e| PdfError::Write(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure() -> Measure {
        let bytes = crate::templates::embedded_file(FONT_FILE).expect("the embedded font");
        Measure {
            face: rustybuzz::Face::from_slice(bytes, 0).expect("a font face"),
        }
    }

    #[test]
    fn a_japanese_title_without_spaces_wraps_between_characters_within_the_width() {
        let m = measure();
        let title = "情報処理安全確保支援士特定講習インシデント対応実践演習コース";
        let lines = m.wrap(title, 10.0, 100.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(lines.iter().all(|l| m.width(l, 10.0) <= 100.0), "{lines:?}");
        assert_eq!(lines.concat(), title);
    }

    #[test]
    fn an_english_title_wraps_at_spaces() {
        let m = measure();
        let lines = m.wrap(
            "Incident response for cloud workloads, day two",
            10.0,
            120.0,
        );
        assert!(lines.len() > 1, "{lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with(' ') && !l.ends_with(' '))
        );
        assert_eq!(
            lines.join(" "),
            "Incident response for cloud workloads, day two"
        );
    }

    #[test]
    fn a_full_width_character_is_about_twice_as_wide_as_a_latin_letter() {
        let m = measure();
        let wide = m.width("情", 10.0);
        let narrow = m.width("a", 10.0);
        assert!((9.0..=10.5).contains(&wide), "{wide}");
        assert!(narrow < wide * 0.7, "{narrow} vs {wide}");
    }
}
