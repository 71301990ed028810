//! Type hints and signature help: fixtures with `$0` cursors, the results as snapshots.

use expect_test::{Expect, expect};
use odp_analysis::{Environment, Registry, TextRange, analyze};

use super::{PIPELINE, with_cursor};
use crate::{HintOrigin, Snapshot};

/// The fixture with each type hint written where it goes (`⟨: string⟩`), and each hint's origin. Two `$0` markers
/// make the requested range; without them it is the whole text.
fn check_type_hints(fixture: &str, expect: Expect) {
    let marks: Vec<usize> = fixture.match_indices("$0").map(|(i, _)| i).collect();
    let text = fixture.replace("$0", "");
    let range = match marks.as_slice() {
        [] => TextRange::new(0, text.len()),
        [start, end] => TextRange::new(*start, end - 2),
        _ => panic!("none or two $0 markers"),
    };
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let analysis = analyze(&text, &env);
    let snapshot = Snapshot {
        text: &text,
        analysis: &analysis,
        env: &env,
    };
    let hints = snapshot.type_hints(range);
    let mut shown = text.clone();
    for h in hints.iter().rev() {
        shown.insert_str(h.offset, &format!("⟨{}⟩", h.label));
    }
    let lines: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains('⟨'))
        .map(str::trim)
        .collect();
    let origins: Vec<String> = hints
        .iter()
        .map(|h| match &h.origin {
            HintOrigin::Step { name, method } => format!("step {name} ({method:?})"),
            HintOrigin::Input(name) => format!("input {name}"),
        })
        .collect();
    expect.assert_eq(&format!(
        "{}\n--\n{}\n",
        lines.join("\n"),
        origins.join("\n")
    ));
}

#[test]
fn type_hints_follow_each_template() {
    check_type_hints(
        PIPELINE,
        expect![[r#"
            query: "{{inputs.query}}"⟨: string⟩
            texts: "{{tweets.results[*].text}}"⟨: list<string>⟩
            texts: "{{tweets.results[*].text}}"⟨: list<string>⟩
            focus: "{{mood.summary}}"⟨: object{negative, neutral, positive}⟩
            --
            input query
            step tweets (Some("social.twitter.search"))
            step tweets (Some("social.twitter.search"))
            step mood (Some("nlp.sentiment.analyze"))
        "#]],
    );
}

#[test]
fn type_hints_inside_a_longer_string_follow_the_template() {
    // Text around templates makes a string: each hint follows its own `}}`. An unknown root gets none, an input
    // of another type its own.
    check_type_hints(
        "name: x\ninputs:\n  n: {type: integer, default: 3}\nsources:\n  - name: a\n    method: web.page.fetch\n    params:\n      url: \"https://x.org/{{inputs.n}}/{{nope.x}} and {{inputs.n}}\"\n",
        expect![[r#"
            url: "https://x.org/{{inputs.n}}⟨: integer⟩/{{nope.x}} and {{inputs.n}}⟨: integer⟩"
            --
            input n
            input n
        "#]],
    );
    // Unquoted, in a list, in a flow mapping; none for an unknown field.
    check_type_hints(
        "name: x\nsources:\n  - name: a\n    method: web.page.fetch\n    params: {url: https://x.org}\ntransforms:\n  - name: m\n    method: data.records.merge\n    params:\n      lists:\n        - {{a.status}}\n        - [\"{{a.title}}\", \"{{a.links}}\"]\n",
        expect![[r#"
            - {{a.status}}⟨: integer⟩
            - ["{{a.title}}"⟨: string⟩, "{{a.links}}"]
            --
            step a (Some("web.page.fetch"))
            step a (Some("web.page.fetch"))
        "#]],
    );
}

#[test]
fn type_hints_only_in_the_requested_range() {
    // The range starts inside the `mood` step and ends before `focus`'s template.
    let fixture = PIPELINE
        .replacen("  - name: mood", "  - $0name: mood", 1)
        .replacen("focus: ", "focus: $0", 1);
    check_type_hints(
        &fixture,
        expect![[r#"
            texts: "{{tweets.results[*].text}}"⟨: list<string>⟩
            texts: "{{tweets.results[*].text}}"⟨: list<string>⟩
            --
            step tweets (Some("social.twitter.search"))
            step tweets (Some("social.twitter.search"))
        "#]],
    );
    // A range that ends at a hint's position includes it.
    let fixture = PIPELINE.replacen("\"{{inputs.query}}\"", "$0\"{{inputs.query}}\"$0", 1);
    check_type_hints(
        &fixture,
        expect![[r#"
            query: "{{inputs.query}}"⟨: string⟩
            --
            input query
        "#]],
    );
    // One that ends before the closing quote does not: the hint is after it.
    let fixture = PIPELINE.replacen("\"{{inputs.query}}\"", "$0\"{{inputs.query}}$0\"", 1);
    check_type_hints(
        &fixture,
        expect![[r#"

        --

    "#]],
    );
}

#[test]
fn type_hint_tooltips_document_the_method_or_the_input() {
    let (_, tips) = with_cursor(&format!("{PIPELINE}$0"), |s, _| {
        [
            HintOrigin::Step {
                name: "tweets".into(),
                method: Some("social.twitter.search".into()),
            },
            HintOrigin::Input("query".into()),
            HintOrigin::Input("gone".into()),
            HintOrigin::Step {
                name: "x".into(),
                method: None,
            },
        ]
        .map(|o| s.type_hint_tooltip(&o))
    });
    let shown: Vec<String> = tips
        .iter()
        .map(|t| match t {
            Some(t) => t.lines().take(3).collect::<Vec<_>>().join("\n"),
            None => "(none)".into(),
        })
        .collect();
    expect![[r#"
        from step `tweets`

        ---
        **input `query`**: `string`

        What to search for.
        (none)
        (none)"#]]
    .assert_eq(&shown.join("\n"));
}

fn check_signature(fixture: &str, expect: Expect) {
    let (_, help) = with_cursor(fixture, |s, o| s.signature_help(o));
    let Some(help) = help else {
        expect.assert_eq("(none)\n");
        return;
    };
    let active = match help.active_parameter {
        Some(i) => {
            let p = &help.parameters[i];
            format!("{} `{}`", p.name, &help.label[p.label.clone()])
        }
        None => "(none)".into(),
    };
    let doc = help.documentation.lines().next().unwrap_or("");
    expect.assert_eq(&format!("{}\nactive: {active}\n{doc}\n", help.label));
}

const SEARCH: &str =
    "name: x\nsources:\n  - name: a\n    method: social.twitter.search\n    params:\n";

#[test]
fn signature_help_shows_the_params_and_the_one_at_the_cursor() {
    // In a param's value.
    check_signature(
        &format!("{SEARCH}      query: ai\n      limit: 5$0\n"),
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            active: limit `limit?: integer = 100`
            source — Search recent posts on Twitter/X.
        "#]],
    );
    // Right after the colon (the trigger character).
    check_signature(
        &format!("{SEARCH}      language:$0\n"),
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            active: language `language?: string`
            source — Search recent posts on Twitter/X.
        "#]],
    );
    // A key being typed: the param it starts.
    check_signature(
        &format!("{SEARCH}      query: ai\n      inc$0\n"),
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            active: include_retweets `include_retweets?: boolean = false`
            source — Search recent posts on Twitter/X.
        "#]],
    );
    // Inside a template in a value.
    check_signature(
        &PIPELINE.replace("\"{{mood.summary}}\"", "\"{{mood.$0\""),
        expect![[r#"
            nlp.summary.generate(text?: string, texts?: list<string>, max_words?: integer = 150, style?: "paragraph" | "bullets" | "headline" = "paragraph", focus?: string, language?: string)
            active: focus `focus?: string`
            transform — Write a short summary and key points of one text or many texts.
        "#]],
    );
    // An enum shows its values.
    check_signature(
        "name: x\nsources:\n  - name: a\n    method: social.reddit.search\n    params:\n      sort: $0\n",
        expect![[r#"
            social.reddit.search(query: string, subreddit?: string, sort?: "relevance" | "hot" | "top" | "new" | "comments" = "relevance", time_range?: string = "week", limit?: integer = 100, include_nsfw?: boolean = false)
            active: sort `sort?: "relevance" | "hot" | "top" | "new" | "comments" = "relevance"`
            source — Search Reddit submissions, optionally within one subreddit.
        "#]],
    );
}

#[test]
fn signature_help_on_a_new_line_points_at_what_is_still_required() {
    // Nothing given yet: the required `query`.
    check_signature(
        &format!("{SEARCH}      $0\n"),
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            active: query `query: string`
            source — Search recent posts on Twitter/X.
        "#]],
    );
    // The required param given (above or below): none is next, the signature still shows.
    check_signature(
        &format!("{SEARCH}      limit: 5\n      $0\n      query: ai\n"),
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            active: (none)
            source — Search recent posts on Twitter/X.
        "#]],
    );
    // An unknown key being typed names none.
    check_signature(
        &format!("{SEARCH}      query: ai\n      zz$0\n"),
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            active: (none)
            source — Search recent posts on Twitter/X.
        "#]],
    );
}

#[test]
fn signature_help_in_a_flow_mapping_and_after_params() {
    let step = "name: x\nsources:\n  - name: a\n    method: social.twitter.search\n";
    check_signature(
        &format!("{step}    params: $0\n"),
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            active: query `query: string`
            source — Search recent posts on Twitter/X.
        "#]],
    );
    check_signature(
        &format!("{step}    params: {{query: \"a, b\", lim$0\n"),
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            active: limit `limit?: integer = 100`
            source — Search recent posts on Twitter/X.
        "#]],
    );
    check_signature(
        &format!("{step}    params: {{query: ai, min_likes: $0\n"),
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            active: min_likes `min_likes?: integer = 0`
            source — Search recent posts on Twitter/X.
        "#]],
    );
    // After the flow mapping is closed: no longer in the params.
    check_signature(
        &format!("{step}    params: {{query: ai}} $0\n"),
        expect!["(none)\n"],
    );
}

#[test]
fn no_signature_help_outside_params_or_without_a_method() {
    check_signature(
        &format!("{SEARCH}      query: ai\n    timeout: $0\n"),
        expect!["(none)\n"],
    );
    check_signature(
        "name: x\nsources:\n  - name: a\n    method: $0\n",
        expect!["(none)\n"],
    );
    check_signature(
        "name: x\nsources:\n  - name: a\n    method: no.such.method\n    params:\n      $0\n",
        expect!["(none)\n"],
    );
    check_signature("name: x\ninputs:\n  q:\n    $0\n", expect!["(none)\n"]);
}
