//! Text from a pipeline in each format: control characters escaped first (as everywhere odp shows file text:
//! [`odp_analysis::escape_control`]), then what the format itself needs — XML entities in SVG, backslashes and
//! quotes in DOT's quoted strings, Mermaid's `#…;` entity codes in its quoted labels.

use std::borrow::Cow;

/// A one-line text with its control characters (and bidirectional overrides) escaped.
pub fn visible(text: &str) -> Cow<'_, str> {
    odp_analysis::escape_control(text)
}

/// For SVG text and attribute values.
pub fn xml(text: &str) -> String {
    xml_entities(&visible(text))
}

/// The characters XML and HTML give a meaning to, as entities; the one HTML escape odp has (the kernel's tables
/// use it too).
pub fn xml_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// For the inside of a DOT quoted string (`"..."`): a backslash would start an escape of DOT's own (`\N`, `\l`),
/// a quote would end the string.
pub fn dot(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in visible(text).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// For the inside of a Mermaid quoted label (`["..."]`, `|"..."|`): quotes end it, `<`, `>` and `&` would be
/// read as HTML, `#` starts an entity code, and a backtick at the start makes it Markdown.
pub fn mermaid(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in visible(text).chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '#' => out.push_str("#35;"),
            '`' => out.push_str("#96;"),
            c => out.push(c),
        }
    }
    out
}

/// How many monospace cells a text takes: two for East Asian wide characters and most emoji, none for combining
/// marks, one for the rest. The SVG's boxes are sized from it (its font is monospace).
pub fn cells(text: &str) -> usize {
    text.chars().map(char_cells).sum()
}

fn char_cells(c: char) -> usize {
    match c as u32 {
        0x0300..=0x036F | 0x200B..=0x200D | 0xFE00..=0xFE0F => 0,
        0x1100..=0x115F
        | 0x2E80..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1FAFF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

/// A text cut to at most `max` cells, with `…` where it was cut.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if cells(text) <= max {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_cells(c);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_escapes_what_it_must() {
        let nasty = "a\"b<c>&d'e\\f#g`h\u{1b}[31m\ni";
        assert_eq!(
            xml(nasty),
            "a&quot;b&lt;c&gt;&amp;d&#39;e\\f#g`h\\u{1b}[31m\\ni"
        );
        assert_eq!(dot(nasty), "a\\\"b<c>&d'e\\\\f#g`h\\\\u{1b}[31m\\\\ni");
        assert_eq!(
            mermaid(nasty),
            "a#quot;b#lt;c#gt;#amp;d'e\\f#35;g#96;h\\u{1b}[31m\\ni"
        );
    }

    #[test]
    fn wide_characters_take_two_cells_and_long_texts_are_cut() {
        assert_eq!(cells("abc"), 3);
        assert_eq!(cells("日本"), 4);
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcd", 4), "abcd");
    }
}
