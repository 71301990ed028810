//! The formatter on arbitrary text: `odp_fmt::format` and `odp_fmt::format_range` may refuse a text (a syntax
//! error, a template over several lines) but never panic; what they format must format again to itself, and a
//! range's edits must be well-formed slices that apply cleanly.
//!
//! Invalid UTF-8 input is skipped: the front ends read files as UTF-8 and refuse anything else first.

use odp_fmt::{FormatOptions, format, format_range};

/// Runs the checks on one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for reorder_keys in [false, true] {
        let options = FormatOptions {
            reorder_keys,
            ..FormatOptions::default()
        };
        if let Ok(formatted) = format(text, &options) {
            let again = format(&formatted, &options)
                .unwrap_or_else(|e| panic!("the formatted text is refused: {e}\n{formatted}"));
            assert_eq!(again, formatted, "formatting twice changed the text");
        }
    }
    // A range from the input's own bytes: its first two bytes pick where it starts and how long it is.
    let start = data
        .first()
        .map_or(0, |b| usize::from(*b) * text.len() / 256);
    let len = data.get(1).map_or(0, |b| usize::from(*b));
    let range = start..(start + len).min(text.len());
    if let Ok(edits) = format_range(text, range, &FormatOptions::default()) {
        let mut at = 0;
        for e in &edits {
            assert!(
                at <= e.start && e.start <= e.end && e.end <= text.len(),
                "edit {e:?}"
            );
            assert!(
                text.is_char_boundary(e.start) && text.is_char_boundary(e.end),
                "edit {e:?}"
            );
            at = e.end;
        }
    }
}
