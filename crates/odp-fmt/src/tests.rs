//! The formatter's style, its refusals, and the safety tests: on every example, broken example and thousands of
//! random edits of them that still parse, formatting keeps the analysis (modulo positions) and every comment, and
//! formatting twice changes nothing.

use expect_test::{Expect, expect};
use odp_analysis::{Analysis, Environment, Registry, analyze};
use odp_syntax::random_edits::{Rng, edit, examples};

use crate::{FormatError, FormatOptions, format, format_range};

const REORDER: FormatOptions = FormatOptions {
    line_width: 120,
    reorder_keys: true,
};

fn check(options: &FormatOptions, input: &str, expected: Expect) {
    let out = match format(input, options) {
        Ok(out) => out,
        Err(e) => format!("error: {e}"),
    };
    expected.assert_eq(&out);
}

#[test]
fn quotes_templates_indents_by_two_and_separates_steps() {
    check(
        &FormatOptions::default(),
        "name: x\nsources:\n    -   name: a   # the first\n        method: m\n        params:\n            q: {{inputs.q}}\n            list: [ 'a',  \"b\" ]\n    # the second\n    - name: b\n      method: m\n",
        expect![[r#"
            name: x
            sources:
              - name: a # the first
                method: m
                params:
                  q: "{{inputs.q}}"
                  list: ["a", "b"]

              # the second
              - name: b
                method: m
        "#]],
    );
}

#[test]
fn reorders_keys_with_their_comments_when_asked() {
    let input = "\
# the pipeline
sources:
  - params:
      q: x
      # about q
    # the method
    method: m   # end of line
    name: a

    retry:
      initial_interval: 1s
      max_attempts: 2
name: x
inputs:
  q:
    default: y

    # a type
    type: string
";
    check(
        &REORDER,
        input,
        expect![[r#"
        # the pipeline
        name: x
        inputs:
          q:
            # a type
            type: string

            default: y
        sources:
          - name: a
            # the method
            method: m # end of line
            params:
              q: x
              # about q

            retry:
              max_attempts: 2
              initial_interval: 1s
    "#]],
    );
    // Off by default: only the layout changes.
    check(
        &FormatOptions::default(),
        input,
        expect![[r#"
        # the pipeline
        sources:
          - params:
              q: x
              # about q
            # the method
            method: m # end of line
            name: a

            retry:
              initial_interval: 1s
              max_attempts: 2
        name: x
        inputs:
          q:
            default: y

            # a type
            type: string
    "#]],
    );
}

#[test]
fn keeps_trailing_spaces_inside_block_scalars() {
    // Found by the random edits: they are part of the value.
    check(
        &FormatOptions::default(),
        "description: |\n  a  \n  b\n",
        expect!["description: |\n  a  \n  b\n"],
    );
}

#[test]
fn leaves_files_with_syntax_errors_alone_and_says_why() {
    check(
        &FormatOptions::default(),
        "name: x\nsources:\n  - name: a\n    params:\n      types: [a, b\n",
        expect![
            "error: left unformatted: 5:14: `[` is never closed: expected `]` (fix the syntax error first)"
        ],
    );
}

#[test]
fn range_formatting_touches_only_the_steps_in_the_range() {
    let text = "name: x\nsources:\n  - name: a\n    method:    m\n  - name: b\n    method:    m\n";
    let at = text.find("b\n").unwrap();
    let edits = format_range(text, at..at, &FormatOptions::default()).unwrap();
    let out = crate::edits::apply_edits(text, &edits);
    expect![[r#"
        name: x
        sources:
          - name: a
            method:    m

          - name: b
            method: m
    "#]]
    .assert_eq(&out);
}

#[test]
fn line_breaks_follow_the_first_one_and_a_range_keeps_what_is_outside() {
    let crlf = "name: x\r\nsources:\r\n  - name: a\r\n    method:    m\r\n";
    check(
        &FormatOptions::default(),
        crlf,
        expect!["name: x\r\nsources:\r\n  - name: a\r\n    method: m\r\n"],
    );
    // A file that mixes them (found by the random edits): a range's edits stay inside the range.
    let mixed =
        "name: x\nsources:\r\n  - name: a\n    method:    m\n  - name: b\n    method:    m\n";
    let at = mixed.find("b\n").unwrap();
    let edits = format_range(mixed, at..at, &FormatOptions::default()).unwrap();
    expect![[r#"
        name: x
        sources:\r
          - name: a
            method:    m

          - name: b
            method: m
    "#]]
    .assert_eq(&crate::edits::apply_edits(mixed, &edits).replace('\r', "\\r"));
}

/// What formatting must keep: the model and the diagnostics, positions left out.
fn meaning(a: &Analysis) -> (String, Vec<String>) {
    let mut diagnostics: Vec<String> = a
        .diagnostics
        .iter()
        .map(|d| scrub(&format!("{:?} {:?} {}", d.code, d.severity, d.message)))
        .collect();
    diagnostics.sort();
    (scrub(&format!("{:?}", a.pipeline)), diagnostics)
}

/// Byte ranges (`12..40`) and line numbers in messages left out.
fn scrub(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if s[j..].starts_with("..") && s[j + 2..].starts_with(|c: char| c.is_ascii_digit()) {
                let mut k = j + 2;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                out.push('_');
                i = k;
                continue;
            }
            if s[..i].ends_with("line ") {
                out.push('_');
                i = j;
                continue;
            }
            out.push_str(&s[i..j]);
            i = j;
            continue;
        }
        let c = s[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn comments(text: &str) -> Vec<String> {
    let parse = odp_syntax::parse(text);
    parse
        .comments
        .iter()
        .map(|c| text[c.range.as_range()].trim_end().to_string())
        .collect()
}

/// Formats and checks everything the safety tests ask; `Err` when the formatter left the file alone.
fn assert_safe(
    text: &str,
    options: &FormatOptions,
    env: &Environment,
    context: &str,
) -> Result<(), FormatError> {
    let out = format(text, options)?;
    let (before, after) = (analyze(text, env), analyze(&out, env));
    let (mut model_before, mut diags_before) = meaning(&before);
    let (mut model_after, diags_after) = meaning(&after);
    // ODP102 is what quoting a template removes; nothing else may change.
    diags_before.retain(|d| !d.starts_with("UnquotedTemplate"));
    if options.reorder_keys {
        // The model keeps the sections' order, which moving `sources` and `transforms` may change.
        model_before = model_before.replace("sections", "");
        model_after = model_after.replace("sections", "");
    }
    if !options.reorder_keys {
        assert_eq!(model_before, model_after, "model: {context}\n{out}");
    }
    assert_eq!(diags_before, diags_after, "diagnostics: {context}\n{out}");
    let (mut c_before, mut c_after) = (comments(text), comments(&out));
    if options.reorder_keys {
        c_before.sort();
        c_after.sort();
    }
    assert_eq!(c_before, c_after, "comments: {context}\n{out}");
    let edits = crate::minimal_edits(text, &out);
    assert_eq!(
        crate::edits::apply_edits(text, &edits),
        out,
        "edits: {context}"
    );
    let twice = format(&out, options).expect("formatted text formats");
    assert_eq!(out, twice, "not idempotent: {context}");
    Ok(())
}

#[test]
fn formatting_every_example_keeps_its_meaning_and_comments() {
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    for (path, text) in examples() {
        for options in [FormatOptions::default(), REORDER] {
            match assert_safe(&text, &options, &env, &path) {
                Ok(()) => {}
                Err(FormatError::Syntax { .. }) if path.ends_with("yaml-syntax.odp.yaml") => {}
                Err(e) => panic!("{path}: {e}"),
            }
        }
    }
}

/// Rounds of random edits per example: 150 in CI (2,347 texts that parse); more with `ODP_RANDOM_EDIT_ROUNDS` (e.g. 5000) locally.
fn rounds() -> usize {
    std::env::var("ODP_RANDOM_EDIT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(150)
}

#[test]
fn formatting_random_edits_that_parse_keeps_their_meaning_and_comments() {
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let (mut formatted, mut refused) = (0, 0);
    for (seed, (path, original)) in examples().into_iter().enumerate() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (seed as u64 + 1));
        let mut text = original.clone();
        for round in 0..rounds() {
            text = if round % 5 == 4 {
                original.clone()
            } else {
                edit(&mut rng, &text)
            };
            let parse = odp_syntax::parse(&text);
            if parse
                .errors
                .iter()
                .any(|e| e.kind != odp_syntax::SyntaxErrorKind::UnquotedTemplate)
            {
                continue;
            }
            if round % 3 == 0 {
                // A random range: its edits are kept only if the result means the same.
                let a = rng.below(text.len() + 1);
                let b = (a + rng.below(200)).min(text.len());
                if let Err(FormatError::WouldChangeMeaning { what }) =
                    format_range(&text, a..b, &FormatOptions::default())
                {
                    panic!("{path}, round {round}, range {a}..{b}: would change {what}:\n{text}");
                }
            }
            let options = if round % 2 == 0 {
                FormatOptions::default()
            } else {
                REORDER
            };
            match assert_safe(
                &text,
                &options,
                &env,
                &format!("{path}, round {round}:\n{text}"),
            ) {
                Ok(()) => formatted += 1,
                Err(FormatError::WouldChangeMeaning { what }) => {
                    panic!("{path}, round {round}: would change {what}:\n{text}")
                }
                // pretty_yaml refusing what our parser accepts, or a multi-line unquoted template.
                Err(_) => refused += 1,
            }
        }
    }
    eprintln!("random edits: {formatted} formatted, {refused} left alone");
    assert!(
        formatted > 1000,
        "only {formatted} texts formatted ({refused} refused)"
    );
    assert!(
        refused * 20 < formatted,
        "{refused} refused, {formatted} formatted"
    );
}

#[test]
fn flow_collections_go_on_one_line_or_wrap_inside_brackets_deeper_than_their_key() {
    let long = vec!["an_item"; 14].join(", ");
    check(
        &FormatOptions::default(),
        &format!(
            "a:\n  joined: [\n    1,\n    {{x: 2,\n     y: [3]}}\n    ]  # end\n  wide: [{long}]\n  map: {{first: \"{long}\", second: [{long}]}}\nitems:\n  - [{long}]\n"
        ),
        expect![[r#"
            a:
              joined: [1, { x: 2, y: [3] }] # end
              wide:
                [
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item
                ]
              map:
                {
                  first: "an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item",
                  second: [an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item, an_item]
                }
            items:
              - [
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item,
                  an_item
                ]
        "#]],
    );
}

#[test]
fn a_kept_block_scalar_keeps_its_trailing_empty_lines() {
    // pretty_yaml drops them (the guard refused the file); the printer keeps them.
    check(
        &FormatOptions::default(),
        "a:\n    text: |+\n        kept\n\n\n    b: 1\nend: >+\n   x\n\n",
        expect![[r#"
            a:
              text: |+
                kept


              b: 1
            end: >+
              x

        "#]],
    );
}
