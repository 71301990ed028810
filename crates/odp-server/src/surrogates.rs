//! Unpaired UTF-16 surrogates in JSON text. A JavaScript client serialises a string holding half of a surrogate
//! pair (an editor buffer can hold one) as a lone `\uD83D` escape, which serde_json refuses in a Rust string. Such
//! an escape is rewritten to `\uFFFD`, the replacement character: it is one UTF-16 code unit like the surrogate it
//! stands for, so every UTF-16 position the client sends afterwards still points at the same place.

/// The JSON text with every `\uXXXX` escape of a surrogate that is not half of a pair (a high one followed by a
/// low one) rewritten to `\uFFFD`, and how many were rewritten; `None` when there is none. Only escapes inside
/// strings are looked at; anything malformed is left for the JSON parser to report.
pub(crate) fn replace_lone_surrogates(json: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut copied = 0;
    let mut replaced = 0;
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        match (in_string, json[i]) {
            (false, b'"') => in_string = true,
            (true, b'"') => in_string = false,
            (true, b'\\') if json.get(i + 1) == Some(&b'u') => {
                let Some(unit) = hex_escape(json, i) else {
                    i += 2;
                    continue;
                };
                let paired = is_high(unit) && hex_escape(json, i + 6).is_some_and(is_low);
                if paired {
                    i += 12;
                    continue;
                }
                if is_high(unit) || is_low(unit) {
                    out.extend_from_slice(&json[copied..i]);
                    out.extend_from_slice(b"\\uFFFD");
                    copied = i + 6;
                    replaced += 1;
                }
                i += 6;
                continue;
            }
            // Any other escape: its second byte is never the end of the string.
            (true, b'\\') => {
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if replaced == 0 {
        return None;
    }
    out.extend_from_slice(&json[copied..]);
    Some((out, replaced))
}

/// The code unit of a `\uXXXX` escape starting at `at`.
fn hex_escape(json: &[u8], at: usize) -> Option<u16> {
    let escape = json.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

fn is_high(unit: u16) -> bool {
    (0xD800..=0xDBFF).contains(&unit)
}

fn is_low(unit: u16) -> bool {
    (0xDC00..=0xDFFF).contains(&unit)
}

#[cfg(test)]
mod tests {
    use super::replace_lone_surrogates;

    fn repaired(json: &str) -> Option<(String, usize)> {
        replace_lone_surrogates(json.as_bytes())
            .map(|(out, n)| (String::from_utf8(out).unwrap(), n))
    }

    #[test]
    fn lone_halves_become_the_replacement_character_and_pairs_stay() {
        let json = r#"{"a\ud800": "x\uDC00y\ud83d\ude00z\ud83d", "b": "\ud800\ud83d\ude00"}"#;
        let (out, n) = repaired(json).expect("lone surrogates found");
        assert_eq!(
            out,
            r#"{"a\uFFFD": "x\uFFFDy\ud83d\ude00z\uFFFD", "b": "\uFFFD\ud83d\ude00"}"#
        );
        assert_eq!(n, 4);
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["b"], "\u{FFFD}😀");
        // The original is what serde_json refuses.
        assert!(serde_json::from_str::<serde_json::Value>(json).is_err());
    }

    #[test]
    fn escaped_backslashes_text_outside_strings_and_malformed_escapes_are_left_alone() {
        // `\\ud800` is a backslash and the letters `ud800`; the last escape is cut short.
        for json in [
            r#"{"a": "\\ud800", "b": "\n\"\ud83d\ude00", "c": 1}"#,
            r#"{"a": "\u12"#,
            r#"["\ud8"#,
            r#"{"ok": "plain text"}"#,
        ] {
            assert_eq!(repaired(json), None, "{json}");
        }
        // A lone surrogate after an escaped quote is still inside the string.
        assert_eq!(
            repaired(r#"["\"\udc00"]"#),
            Some((r#"["\"\uFFFD"]"#.to_string(), 1))
        );
    }
}
