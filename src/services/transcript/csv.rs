//! The transcript as CSV: UTF-8 with a byte-order mark and CRLF line ends, which Excel in
//! Japan opens as UTF-8 (without the mark it guesses Shift_JIS), and every cell that a
//! spreadsheet would evaluate as a formula neutralised.

use super::{Transcript, Words};
use crate::services::csv_text::neutralise;
use crate::services::schemes::SchemeCatalog;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A header block (holder, scheme, number, cycle, state, points) then one row per claim.
pub fn to_csv(transcript: &Transcript, words: &Words, catalog: &SchemeCatalog) -> Vec<u8> {
    let scheme = catalog
        .in_force_on(&transcript.scheme_id, transcript.starts_on)
        .map(|s| &s.definition);
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .from_writer(BOM.to_vec());
    let mut write = |cells: &[&str]| {
        // Writing to a Vec cannot fail.
        let _ = out.write_record(cells.iter().map(|cell| neutralise(cell).into_owned()));
    };
    let holder = match &transcript.holder_name_kana {
        Some(kana) => format!("{} ({kana})", transcript.holder_name),
        None => transcript.holder_name.clone(),
    };
    write(&[&words.transcript_holder, &holder]);
    write(&[
        &words.transcript_scheme,
        words.scheme_name(scheme, &transcript.scheme_id),
    ]);
    write(&[
        &words.transcript_registration_number,
        &transcript.registration_number,
    ]);
    write(&[&words.transcript_cycle, &words.cycle(transcript)]);
    write(&[&words.transcript_deadline, &transcript.deadline.to_string()]);
    write(&[&words.transcript_state, words.state(transcript.state)]);
    write(&[&words.transcript_points, &words.points(transcript)]);
    write(&[&words.transcript_pending, &transcript.pending.to_string()]);
    for total in &transcript.by_category {
        let minimum = total.minimum.map(|p| p.to_string()).unwrap_or_default();
        let cap = total.cap.map(|p| p.to_string()).unwrap_or_default();
        write(&[
            words.category_name(scheme, &total.category),
            &total.counted.to_string(),
            &words.transcript_minimum,
            &minimum,
            &words.transcript_cap,
            &cap,
        ]);
    }
    write(&[&words.transcript_as_of, &transcript.as_of.to_string()]);
    write(&[
        &words.transcript_generated_at,
        &transcript.generated_at.to_rfc3339(),
    ]);
    write(&[]);
    write(&[
        &words.transcript_date,
        &words.transcript_activity,
        &words.transcript_provider,
        &words.transcript_source,
        &words.transcript_activity_type,
        &words.transcript_category,
        &words.transcript_claimed,
        &words.transcript_counted,
        &words.transcript_credit_state,
    ]);
    for row in &transcript.rows {
        write(&[
            &row.completed_on.to_string(),
            &row.title,
            row.provider.as_deref().unwrap_or(""),
            words.source(row.source),
            words.activity_type_name(scheme, &row.activity_type),
            words.category_name(scheme, &row.category),
            &row.claimed.to_string(),
            &row.counted.to_string(),
            words.credit_state(row.state),
        ]);
    }
    out.into_inner().unwrap_or_default()
}
