//! The template language: `template::parse` on any string, and `evaluate` against any JSON value. Input: the
//! string, then optionally a NUL byte and the JSON text every root resolves to.
//!
//! Properties: no panic; every template and error span is in bounds, on character boundaries, in order and not
//! overlapping; a path never has more than [`MAX_PATH_ACCESSORS`] accessors; a path of plain field names, indexes
//! and wildcards reads back the same after printing; evaluation either fails with an error or gives a value (a
//! whole template gives the resolved value itself).

use odp_analysis::template::{self, Accessor, MAX_PATH_ACCESSORS};
use serde_json::Value;

/// Runs the checks on one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let (text, json) = match data.iter().position(|b| *b == 0) {
        Some(nul) => (&data[..nul], Some(&data[nul + 1..])),
        None => (data, None),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let root: Value = json
        .and_then(|j| serde_json::from_slice(j).ok())
        .unwrap_or(Value::Null);

    let parsed = template::parse(text);
    let mut spans: Vec<_> = parsed
        .templates
        .iter()
        .map(|t| t.span.clone())
        .chain(parsed.errors.iter().map(|e| e.span.clone()))
        .collect();
    for span in &spans {
        assert!(
            span.start <= span.end && span.end <= text.len(),
            "span {span:?} out of bounds"
        );
        assert!(
            text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
            "span {span:?} splits a character"
        );
    }
    spans.sort_by_key(|s| (s.start, s.end));
    for pair in spans.windows(2) {
        assert!(
            pair[0].end <= pair[1].start,
            "spans {:?} and {:?} overlap",
            pair[0],
            pair[1]
        );
    }
    if parsed.whole {
        assert_eq!(parsed.templates.len(), 1);
        assert!(parsed.errors.is_empty());
    }
    for t in &parsed.templates {
        let path = &t.path;
        assert!(path.segments.len() <= MAX_PATH_ACCESSORS);
        assert!(text[t.span.clone()].starts_with("{{") && text[t.span.clone()].ends_with("}}"));
        for seg in &path.segments {
            assert!(seg.span.start <= seg.span.end && seg.span.end <= text.len());
            assert!(text.is_char_boundary(seg.span.start) && text.is_char_boundary(seg.span.end));
        }
        let plain = path.segments.iter().all(|s| match &s.accessor {
            Accessor::Field(name) => {
                !name.is_empty()
                    && !name.as_bytes()[0].is_ascii_digit()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }
            _ => true,
        });
        if plain {
            let printed = format!("{{{{{path}}}}}");
            let again = template::parse(&printed);
            assert!(
                again.errors.is_empty(),
                "{printed:?} does not read back: {:?}",
                again.errors
            );
            assert_eq!(again.templates.len(), 1);
            assert_eq!(again.templates[0].path.root, path.root);
            let accessors = |p: &template::Path| -> Vec<Accessor> {
                p.segments.iter().map(|s| s.accessor.clone()).collect()
            };
            assert_eq!(
                accessors(&again.templates[0].path),
                accessors(path),
                "{printed:?}"
            );
        }
        // Resolution follows the path or says why not; it never panics.
        let _ = path.resolve(&root);
    }
    match template::evaluate(text, |_| Some(&root)) {
        Ok(value) => {
            if parsed.whole {
                assert_eq!(
                    Ok(value),
                    parsed.templates[0].path.resolve(&root).map_err(|_| ())
                );
            } else {
                assert!(value.is_string(), "interpolation gives a string: {value}");
            }
        }
        Err(_) => {
            assert!(!parsed.errors.is_empty() || !parsed.templates.is_empty());
        }
    }
}
