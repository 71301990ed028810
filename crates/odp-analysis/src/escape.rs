//! Text from a pipeline file, shown to a person: control characters escaped, so that none reaches a terminal,
//! a CI log, a notebook or an editor raw. An escape sequence (`ESC [ 31 m`) restyles or rewrites a terminal, and
//! a line break inside a message starts a new line of output — which a CI log may read as a command of its own
//! (`::error file=…` in GitHub Actions). Every human-facing rendering (the human format of `check` and `run`,
//! kernel errors, hover text) shows file text through this module; machine formats (JSON, SARIF) carry the text
//! exactly, as their own encoding already escapes it.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether a character is shown escaped: C0 and C1 control characters and DEL, and the bidirectional
/// formatting characters, which reorder what a reader sees without being visible themselves ("Trojan Source",
/// CVE-2021-42574).
pub fn must_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// How `must_escape` characters are written: Rust's escapes (`\n`, `\r`, `\t`, `\u{1b}`), which read the same
/// everywhere and contain no character that needs escaping itself.
pub fn push_escaped(out: &mut String, c: char) {
    let _ = write!(out, "{}", c.escape_default());
}

/// A one-line text (a message, a path, a name) with every control character escaped, line breaks and tabs
/// included.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    escape_where(text, |c, _| must_escape(c))
}

/// A text of several lines (markdown, an error with details) with its control characters escaped but its line
/// breaks (`\n` and `\r\n`) and tabs kept. A `\r` elsewhere is escaped: on a terminal it would return to the start
/// of the line and let what follows overwrite what came before.
pub fn escape_control_in_lines(text: &str) -> Cow<'_, str> {
    escape_where(text, escaped_in_lines)
}

/// Whether `escape_control_in_lines` escapes `c`, followed by `rest`: for renderings that escape a text of
/// several lines character by character.
pub fn escaped_in_lines(c: char, rest: &str) -> bool {
    match c {
        '\n' | '\t' => false,
        '\r' => !rest.starts_with('\n'),
        c => must_escape(c),
    }
}

/// Escapes the characters for which `escape(c, text after c)` holds.
fn escape_where(text: &str, escape: impl Fn(char, &str) -> bool) -> Cow<'_, str> {
    let needs = |(i, c): &(usize, char)| escape(*c, &text[i + c.len_utf8()..]);
    let Some((first, _)) = text.char_indices().find(needs) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for (i, c) in text[first..].char_indices() {
        if needs(&(first + i, c)) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_texts_escape_every_control_character() {
        assert_eq!(
            escape_control("a\u{1b}[31mb\r\n::error file=x::y\tz\u{7f}\u{85}"),
            "a\\u{1b}[31mb\\r\\n::error file=x::y\\tz\\u{7f}\\u{85}"
        );
        assert_eq!(
            escape_control("abc \u{202e}cba"),
            "abc \\u{202e}cba",
            "bidirectional overrides are escaped"
        );
        assert!(matches!(
            escape_control("plain `text` é ✓"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn texts_of_several_lines_keep_their_line_breaks() {
        assert_eq!(
            escape_control_in_lines("one\r\ntwo\n\tthree\rfour\u{1b}[2J"),
            "one\r\ntwo\n\tthree\\rfour\\u{1b}[2J"
        );
        assert_eq!(escape_control_in_lines("end\r"), "end\\r");
    }
}
