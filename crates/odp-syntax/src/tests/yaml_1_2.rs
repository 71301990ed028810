//! Each class of silent misreading the yaml-test-suite found, in the shape pipelines have: read as YAML 1.2 reads
//! it, or reported.

use expect_test::expect;

use super::check;
use crate::{JsonValue, SyntaxErrorKind, parse};

/// The document as JSON, with its errors' kinds and texts.
fn read(text: &str) -> (JsonValue, Vec<(SyntaxErrorKind, String)>) {
    let parse = parse(text);
    let errors = parse
        .errors
        .iter()
        .map(|e| (e.kind, text[e.range.as_range()].to_string()))
        .collect();
    (parse.root.map_or(JsonValue::Null, |r| r.to_json()), errors)
}

fn value_of(text: &str, key: &str) -> JsonValue {
    let (JsonValue::Object(entries), errors) = read(text) else {
        panic!("not a mapping: {text:?}");
    };
    assert_eq!(errors, [], "{text:?}");
    entries.into_iter().find(|(k, _)| k == key).expect(key).1
}

#[test]
fn whitespace_only_lines_of_a_block_scalar_keep_what_is_beyond_the_indentation() {
    // A folded prompt whose blank line between paragraphs is indented one space deeper: that space is content.
    let prompt = "prompt: >\n  First paragraph.\n   \n  Second.\nnext: 1\n";
    assert_eq!(
        value_of(prompt, "prompt"),
        JsonValue::String("First paragraph.\n \nSecond.\n".into())
    );
    // A tab after the indentation is content too, on a line of its own.
    let tab = "text: |\n  a\n  \t\n  b\n";
    assert_eq!(
        value_of(tab, "text"),
        JsonValue::String("a\n\t\nb\n".into())
    );
    // The indentation is that of the first line with text, not of a whitespace-only line before it.
    let leading = "text: |\n\n    deeper\n";
    assert_eq!(
        value_of(leading, "text"),
        JsonValue::String("\ndeeper\n".into())
    );
}

#[test]
fn a_longer_blank_line_before_a_block_scalars_text_is_reported() {
    check(
        "text: |\n     \n  body\n",
        expect![[r#"
            map 0..20 "text: |\n     \n  body"
              key "text" 0..4
                literal "   \nbody\n" 6..20 = "|\n     \n  body"
            error Invalid 10..13 "   ": this blank line of the block scalar has more spaces than its first line of text (2); YAML reads that as an error: remove them
        "#]],
    );
}

#[test]
fn only_space_and_tab_are_white_space() {
    // A line holding a non-breaking space is a line of text, in a block scalar and out of it.
    let nbsp = "text: |\n  a\n  \u{a0}\n  b\n";
    assert_eq!(
        value_of(nbsp, "text"),
        JsonValue::String("a\n\u{a0}\nb\n".into())
    );
    assert_eq!(
        value_of("text: >\n  a\n  \u{a0}\n  b\n", "text"),
        JsonValue::String("a \u{a0} b\n".into())
    );
    assert_eq!(
        value_of("text: \u{a0}x\u{a0}\n", "text"),
        JsonValue::String("\u{a0}x\u{a0}".into())
    );
}

#[test]
fn keep_chomping_keeps_the_line_breaks_of_an_empty_scalar() {
    assert_eq!(
        value_of("keep: |+\n\n\nnext: 1\n", "keep"),
        JsonValue::String("\n\n".into())
    );
    assert_eq!(
        value_of("keep: >+\n\nnext: 1\n", "keep"),
        JsonValue::String("\n".into())
    );
    assert_eq!(
        value_of("clip: |\n\nnext: 1\n", "clip"),
        JsonValue::String("".into())
    );
}

#[test]
fn complex_and_empty_keys_are_reported_everywhere() {
    for text in [
        "params: {? a: 1}\n",
        "params: [? a : 1]\n",
        ": x\n",
        "params:\n  : x\n",
        "params: {: x}\n",
        "- : x\n",
    ] {
        let (_, errors) = read(text);
        assert!(
            matches!(errors.first(), Some((SyntaxErrorKind::Unsupported, _))),
            "{text:?}: {errors:?}"
        );
    }
    // A plain key may start with `:` or `?` when no blank follows.
    let (json, errors) = read("::x: 1\n?y: 2\n");
    assert_eq!(errors, []);
    assert_eq!(
        json,
        JsonValue::Object(vec![
            ("::x".into(), JsonValue::Int(1)),
            ("?y".into(), JsonValue::Int(2))
        ])
    );
}

#[test]
fn integers_stay_exact_to_64_bits_and_beyond_them_are_reported() {
    let text = "max: 18446744073709551615\nhex: 0xFFFFFFFFFFFFFFFF\nmin: -9223372036854775808\n";
    assert_eq!(value_of(text, "max"), JsonValue::Int(u64::MAX.into()));
    assert_eq!(value_of(text, "hex"), JsonValue::Int(u64::MAX.into()));
    assert_eq!(value_of(text, "min"), JsonValue::Int(i64::MIN.into()));
    for big in [
        "18446744073709551616",
        "-9223372036854775809",
        "0x1FFFFFFFFFFFFFFFF",
        "[123456789012345678901234]",
    ] {
        let (_, errors) = read(&format!("n: {big}\n"));
        assert!(
            matches!(errors.as_slice(), [(SyntaxErrorKind::Unsupported, _)]),
            "{big}: {errors:?}"
        );
    }
    // Quoted, it is the string it says.
    assert_eq!(
        value_of("id: \"18446744073709551616\"\n", "id"),
        JsonValue::String("18446744073709551616".into())
    );
}

#[test]
fn a_bare_carriage_return_is_reported() {
    check(
        "a: 1\rb: 2\n",
        expect![[r#"
            map 0..9 "a: 1\rb: 2"
              key "a" 0..1
                plain "1\rb: 2" 3..9
            error Invalid 6..7 ":": `: ` inside an unquoted value starts a nested mapping; quote the value
            error Unsupported 4..5 "\r": a carriage return without a line feed is a line break in YAML; pipelines support only `\n` and `\r\n` line endings
        "#]],
    );
    // CRLF is a line break like LF.
    let (_, errors) = read("a: 1\r\nb: 2\r\n");
    assert_eq!(errors, []);
}

#[test]
fn values_yaml_rejects_are_reported_with_their_quoted_form() {
    check(
        "user: @alice\nformat: %Y-%m-%d\ncmd: `ls`\nlist: [-, a]\n",
        expect![[r#"
            map 0..52 "user: @alice"…"list: [-, a]"
              key "user" 0..4
                plain "@alice" 6..12
              key "format" 13..19
                plain "%Y-%m-%d" 21..29
              key "cmd" 30..33
                plain "`ls`" 35..39
              key "list" 40..44
                flow-seq 46..52 "[-, a]"
                  plain "-" 47..48
                  plain "a" 50..51
            error NeedsQuotes 6..12 "@alice": `@` is reserved in YAML and cannot start an unquoted value; quote the value
            error NeedsQuotes 21..29 "%Y-%m-%d": `%` is reserved in YAML and cannot start an unquoted value; quote the value
            error NeedsQuotes 35..39 "`ls`": ``` is reserved in YAML and cannot start an unquoted value; quote the value
            error NeedsQuotes 47..48 "-": a lone `-` is not a value in a flow collection; quote it
        "#]],
    );
}

#[test]
fn tabs_separate_but_never_indent() {
    // After `:` or `- `, and after the indentation of a scalar's line, a tab is separation.
    let (json, errors) = read("key: |\n  x\nother:\n \tvalue\nlist:\n - \tx\nflow:\t[a,\tb]\n");
    assert_eq!(errors, []);
    assert_eq!(
        json,
        JsonValue::Object(vec![
            ("key".into(), JsonValue::String("x\n".into())),
            ("other".into(), JsonValue::String("value".into())),
            (
                "list".into(),
                JsonValue::Array(vec![JsonValue::String("x".into())])
            ),
            (
                "flow".into(),
                JsonValue::Array(vec![
                    JsonValue::String("a".into()),
                    JsonValue::String("b".into())
                ])
            ),
        ])
    );
    // Before a key, a list item or a continuation line, it would be indentation.
    for text in [
        "a:\n\tb: 1\n",
        "a:\n\t- 1\n",
        "- \t- 1\n",
        "a: \"x\n\ty\"\n",
        "a:\n  - [\n\tb\n    ]\n",
    ] {
        let (_, errors) = read(text);
        assert!(
            matches!(errors.first(), Some((SyntaxErrorKind::Invalid, _))),
            "{text:?}: {errors:?}"
        );
    }
}

#[test]
fn a_flow_collections_closer_is_indented_like_its_lines() {
    check(
        "params: {\n  a: 1\n}\nok: [\n  1\n  ]\n",
        expect![[r#"
            map 0..32 "params: {\n  a: 1\n}\nok: [\n  1\n  ]"
              key "params" 0..6
                flow-map 8..18 "{\n  a: 1\n}"
                  key "a" 12..13
                    plain "1" 15..16
              key "ok" 19..21
                flow-seq 23..32 "[\n  1\n  ]"
                  plain "1" 27..28
            error Invalid 17..18 "}": this `}` must be indented deeper than the block it is in; indent it by 1 more space
        "#]],
    );
}
