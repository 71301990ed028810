//! Feature tests: a fixture with `$0` at the cursor, the result as a snapshot.

use expect_test::{Expect, expect};
use odp_analysis::{Environment, Registry, TextRange, analyze};

use crate::Snapshot;

const PIPELINE: &str = r#"name: ide fixture
inputs:
  query: {type: string, default: ai, description: What to search for.}
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: "{{inputs.query}}"
transforms:
  - name: mood
    method: nlp.sentiment.analyze
    params:
      texts: "{{tweets.results[*].text}}"
  - name: brief
    method: nlp.summary.generate
    params:
      texts: "{{tweets.results[*].text}}"
      focus: "{{mood.summary}}"
"#;

/// Runs `f` on the fixture with the cursor at `$0`.
fn with_cursor<T>(fixture: &str, f: impl FnOnce(Snapshot<'_>, usize) -> T) -> (String, T) {
    let offset = fixture.find("$0").expect("a $0 cursor");
    let text = fixture.replacen("$0", "", 1);
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let analysis = analyze(&text, &env);
    let out = f(
        Snapshot {
            text: &text,
            analysis: &analysis,
            env: &env,
        },
        offset,
    );
    (text, out)
}

fn show(text: &str, r: TextRange) -> String {
    format!("{:?} {:?}", r, &text[r.as_range()])
}

fn check_completion(fixture: &str, expect: Expect) {
    let (text, items) = with_cursor(fixture, |s, o| s.completions(o));
    let mut sorted = items.clone();
    sorted.sort_by(|a, b| a.sort_text.cmp(&b.sort_text));
    let shown: Vec<String> = sorted
        .iter()
        .take(12)
        .map(|i| {
            format!(
                "{:?} {} -> {:?} @ {}{}",
                i.kind,
                i.label,
                i.insert_text,
                show(&text, i.replace),
                i.detail
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let more = if sorted.len() > 12 {
        format!("\n… {} more", sorted.len() - 12)
    } else {
        String::new()
    };
    expect.assert_eq(&format!("{}{more}\n", shown.join("\n")));
}

#[test]
fn completes_top_level_and_step_keys() {
    check_completion(
        "name: x\n$0\nsources: []\n",
        expect![[r#"
            Key description -> "description: " @ 8..8 ""
            Key inputs -> "inputs: " @ 8..8 ""
            Key transforms -> "transforms: " @ 8..8 ""
        "#]],
    );
    check_completion(
        "name: x\nsources:\n  - name: a\n    me$0\n",
        expect![[r#"
            Key description -> "description: " @ 33..35 "me"
            Key method -> "method: " @ 33..35 "me"
            Key params -> "params: " @ 33..35 "me"
            Key retry -> "retry: " @ 33..35 "me"
            Key timeout -> "timeout: " @ 33..35 "me"
        "#]],
    );
}

#[test]
fn completes_methods_sources_first() {
    check_completion(
        "name: x\nsources:\n  - name: a\n    method: soc$0\n",
        expect![[r#"
            Method finance.market.quotes -> "finance.market.quotes" @ 41..44 "soc" (Latest quotes and recent price history for stock tickers.)
            Method news.newsapi.search -> "news.newsapi.search" @ 41..44 "soc" (Search news articles from thousands of outlets through NewsAPI.)
            Method social.mastodon.search -> "social.mastodon.search" @ 41..44 "soc" (Search public posts (toots) on a Mastodon instance.)
            Method social.reddit.search -> "social.reddit.search" @ 41..44 "soc" (Search Reddit submissions, optionally within one subreddit.)
            Method social.twitter.search -> "social.twitter.search" @ 41..44 "soc" (Search recent posts on Twitter/X.)
            Method web.page.fetch -> "web.page.fetch" @ 41..44 "soc" (Fetch one web page and extract its readable text.)
            Method web.rss.read -> "web.rss.read" @ 41..44 "soc" (Read the entries of an RSS or Atom feed.)
            Method data.custom.transform -> "data.custom.transform" @ 41..44 "soc" (Reshape data with a jq or JSONata expression.)
            Method data.records.dedupe -> "data.records.dedupe" @ 41..44 "soc" (Remove duplicate records by a key field or by near-identical text.)
            Method data.records.filter -> "data.records.filter" @ 41..44 "soc" (Keep the records whose field matches a condition.)
            Method data.records.merge -> "data.records.merge" @ 41..44 "soc" (Concatenate several lists of records into one.)
            Method data.records.sort -> "data.records.sort" @ 41..44 "soc" (Sort records by a field and optionally keep only the first few.)
            … 7 more
        "#]],
    );
}

#[test]
fn method_completion_right_after_the_colon_inserts_the_space() {
    // `method:|` (no space yet): the accepted item must leave `method: data.records.dedupe`, a key and its value,
    // not the plain scalar `method:data.records.dedupe` (ODP100).
    let fixture = "name: x\ntransforms:\n  - name: a\n    method:$0\n";
    let (text, items) = with_cursor(fixture, |s, offset| s.completions(offset));
    let item = items
        .iter()
        .find(|i| i.label == "data.records.dedupe")
        .expect("the method is offered");
    assert_eq!(item.insert_text, " data.records.dedupe");
    let mut edited = text.clone();
    edited.replace_range(item.replace.as_range(), &item.insert_text);
    assert!(
        edited.contains("    method: data.records.dedupe\n"),
        "{edited}"
    );
    // With the space already typed, none is added.
    let (_, items) = with_cursor(
        "name: x\ntransforms:\n  - name: a\n    method: $0\n",
        |s, offset| s.completions(offset),
    );
    let item = items
        .iter()
        .find(|i| i.label == "data.records.dedupe")
        .expect("offered");
    assert_eq!(item.insert_text, "data.records.dedupe");
}

#[test]
fn completes_params_required_first_with_snippets() {
    check_completion(
        "name: x\nsources:\n  - name: a\n    method: social.reddit.search\n    params:\n      $0\n",
        expect![[r#"
            Param query -> "query: $1" @ 80..80 "" (string (required))
            Param include_nsfw -> "include_nsfw: $1" @ 80..80 "" (boolean)
            Param limit -> "limit: $1" @ 80..80 "" (integer)
            Param sort -> "sort: ${1|relevance,hot,top,new,comments|}" @ 80..80 "" (string)
            Param subreddit -> "subreddit: $1" @ 80..80 "" (string)
            Param time_range -> "time_range: ${1|hour,day,week,month,year,all|}" @ 80..80 "" (string)
        "#]],
    );
    check_completion(
        "name: x\nsources:\n  - name: a\n    method: social.reddit.search\n    params:\n      query: ai\n      sort: $0\n",
        expect![[r#"
            Value relevance -> "relevance" @ 102..102 ""
            Value hot -> "hot" @ 102..102 ""
            Value top -> "top" @ 102..102 ""
            Value new -> "new" @ 102..102 ""
            Value comments -> "comments" @ 102..102 ""
        "#]],
    );
}

#[test]
fn completes_template_roots_inputs_and_fields() {
    // In a transform: inputs, sources and earlier transforms — not itself, not later steps.
    check_completion(
        &PIPELINE.replace("\"{{mood.summary}}\"", "\"{{$0\""),
        expect![[r#"
        Input inputs -> "inputs" @ 435..435 "" (the pipeline's inputs)
        Step tweets -> "tweets" @ 435..435 "" (social.twitter.search → object{count, results})
        Step mood -> "mood" @ 435..435 "" (nlp.sentiment.analyze → object{average_score, results, summary})
    "#]],
    );
    // In a source: only inputs.
    check_completion(
        &PIPELINE.replace("\"{{inputs.query}}\"", "\"{{$0}}\""),
        expect![[r#"
        Input inputs -> "inputs" @ 185..185 "" (the pipeline's inputs)
    "#]],
    );
    check_completion(
        &PIPELINE.replace("\"{{inputs.query}}\"", "\"{{inputs.$0}}\""),
        expect![[r#"
        Input query -> "query" @ 192..192 "" (string)
    "#]],
    );
    check_completion(
        &PIPELINE.replace("\"{{mood.summary}}\"", "\"{{tweets.results[*].$0\""),
        expect![[r#"
            Field author -> "author" @ 453..453 "" (string)
            Field author_name -> "author_name" @ 453..453 "" (string)
            Field created_at -> "created_at" @ 453..453 "" (string)
            Field hashtags -> "hashtags" @ 453..453 "" (list<string>)
            Field id -> "id" @ 453..453 "" (string)
            Field language -> "language" @ 453..453 "" (string)
            Field likes -> "likes" @ 453..453 "" (integer)
            Field replies -> "replies" @ 453..453 "" (integer)
            Field retweets -> "retweets" @ 453..453 "" (integer)
            Field text -> "text" @ 453..453 "" (string)
            Field url -> "url" @ 453..453 "" (string)
        "#]],
    );
    // Still works while the line is broken (an unquoted, unclosed template being typed).
    check_completion(
        &PIPELINE.replace("\"{{mood.summary}}\"", "{{mood.$0"),
        expect![[r#"
        Field average_score -> "average_score" @ 439..439 "" (number)
        Field results -> "results" @ 439..439 "" (list<object{label, score, text}>)
        Field summary -> "summary" @ 439..439 "" (object{negative, neutral, positive})
    "#]],
    );
}

fn check_hover(fixture: &str, expect: Expect) {
    let (text, hover) = with_cursor(fixture, |s, o| s.hover(o));
    let shown = match hover {
        Some(h) => format!("{}\n{}", show(&text, h.range), h.markdown),
        None => "(none)\n".into(),
    };
    expect.assert_eq(&shown);
}

#[test]
fn hovers() {
    check_hover(
        &PIPELINE.replace("method: nlp.sentiment", "method: nlp.sent$0iment"),
        expect![[r#"
        240..261 "nlp.sentiment.analyze"
        **nlp.sentiment.analyze** (transform) — Classify the sentiment of each text as positive, neutral or negative.

        Runs a multilingual sentiment classifier over each text. Every result carries the winning `label` and
        its `score` (the model's confidence, 0 to 1); `summary` counts the labels over all texts.

        Texts longer than about 2000 characters are truncated before classification. Sarcasm and mixed
        opinions are often labelled `neutral`. For a list of records, pass the projection of their text
        field, for example `texts: "{{tweets.results[*].text}}"`.

        | param | type | required | description |
        |---|---|---|---|
        | `texts` | list<string> | yes | The texts to classify. |
        | `language` | string |  | Language of all texts (ISO 639-1); detected per text when omitted. |
        | `neutral_threshold` | number |  | A text whose positive or negative score stays below this is labelled `neutral`. |

        Output: `object{average_score, results, summary}`
    "#]],
    );
    check_hover(
        &PIPELINE.replace(
            "\"{{tweets.results[*].text}}\"\n  - name: brief",
            "\"{{tweets.res$0ults[*].text}}\"\n  - name: brief",
        ),
        expect![[r#"
        288..314 "{{tweets.results[*].text}}"
        `{{tweets.results[*].text}}`: `list<string>`

        from step `tweets` (social.twitter.search)"#]],
    );
    check_hover(
        &PIPELINE.replace("      query: \"{{", "      qu$0ery: \"{{"),
        expect![[r#"
        175..180 "query"
        **query**: `string` (required)

        Search query in Twitter/X search syntax.
    "#]],
    );
    check_hover(
        &PIPELINE.replace("transforms:", "transf$0orms:"),
        expect![[r#"
            201..211 "transforms"
            **transforms**

            Steps that process results, in the order written; they may use inputs, sources and earlier transforms."#]],
    );
}

#[test]
fn hover_text_escapes_control_characters() {
    // From the file: an input's description (decoded from a quoted scalar's escapes). Markdown keeps its line
    // breaks.
    let fixture = PIPELINE
        .replace(
            "description: What to search for.",
            "description: \"What\\e[2J to \\u202esearch\\rfor.\\n::error::x\"",
        )
        .replace("\"{{inputs.query}}\"", "\"{{inputs.qu$0ery}}\"");
    let (_, hover) = with_cursor(&fixture, |s, o| s.hover(o));
    let markdown = hover.expect("a hover").markdown;
    expect![[r#"
        `{{inputs.query}}`: `string`

        from input `query` — What\u{1b}[2J to \u{202e}search\rfor.
        ::error::x"#]]
    .assert_eq(&markdown);
    // From the registry: a method's documentation.
    let registry_text = Registry::bundled_text().replacen(
        "Classify the sentiment",
        "Classify\u{1b}]8;;https://evil.example\u{7}the sentiment",
        1,
    );
    let (registry, errors) = Registry::from_yaml(&registry_text);
    assert!(errors.is_empty(), "{errors:?}");
    let method = registry.get("nlp.sentiment.analyze").expect("the method");
    let markdown = crate::method_markdown(method);
    assert!(
        markdown.starts_with(
            "**nlp.sentiment.analyze** (transform) — Classify\\u{1b}]8;;https://evil.example\\u{7}the sentiment"
        ),
        "{markdown}"
    );
    assert!(
        !markdown.contains(|c: char| odp_analysis::escape::must_escape(c) && c != '\n'),
        "{markdown:?}"
    );
}

fn check_nav(fixture: &str, expect: Expect) {
    let (text, (def, refs)) = with_cursor(fixture, |s, o| (s.definition(o), s.references(o, true)));
    let mut out = format!(
        "definition: {}\n",
        def.map_or("(none)".into(), |r| show(&text, r))
    );
    for r in refs {
        out.push_str(&format!("reference: {}\n", show(&text, r)));
    }
    expect.assert_eq(&out);
}

#[test]
fn definition_and_references() {
    check_nav(
        &PIPELINE.replace(
            "texts: \"{{tweets.results[*].text}}\"\n  - name: brief",
            "texts: \"{{twe$0ets.results[*].text}}\"\n  - name: brief",
        ),
        expect![[r#"
        definition: 116..122 "tweets"
        reference: 116..122 "tweets"
        reference: 290..296 "tweets"
        reference: 393..399 "tweets"
    "#]],
    );
    check_nav(
        &PIPELINE.replace("- name: tweets", "- name: tw$0eets"),
        expect![[r#"
        definition: 116..122 "tweets"
        reference: 116..122 "tweets"
        reference: 290..296 "tweets"
        reference: 393..399 "tweets"
    "#]],
    );
    check_nav(
        &PIPELINE.replace("{{inputs.query}}", "{{inputs.qu$0ery}}"),
        expect![[r#"
        definition: 28..33 "query"
        reference: 28..33 "query"
        reference: 192..197 "query"
    "#]],
    );
}

fn check_rename(fixture: &str, new_name: &str, expect: Expect) {
    let (text, result) = with_cursor(fixture, |s, o| (s.prepare_rename(o), s.rename(o, new_name)));
    let out = match result {
        (Ok(range), Ok(edits)) => {
            let (renamed, _) = odp_analysis::apply_edits(&text, &edits);
            format!("prepare: {}\n{renamed}", show(&text, range))
        }
        (prepare, rename) => {
            // (Shown as the messages the server answers with.)
            let prepare = prepare.map_err(|e| e.to_string());
            let rename = rename.map_err(|e| e.to_string());
            format!("prepare: {prepare:?}\nrename: {rename:?}\n")
        }
    };
    expect.assert_eq(&out);
}

#[test]
fn renames_steps_and_inputs_everywhere() {
    check_rename(
        &PIPELINE.replace("- name: tweets", "- name: tw$0eets"),
        "posts",
        expect![[r#"
        prepare: 116..122 "tweets"
        name: ide fixture
        inputs:
          query: {type: string, default: ai, description: What to search for.}
        sources:
          - name: posts
            method: social.twitter.search
            params:
              query: "{{inputs.query}}"
        transforms:
          - name: mood
            method: nlp.sentiment.analyze
            params:
              texts: "{{posts.results[*].text}}"
          - name: brief
            method: nlp.summary.generate
            params:
              texts: "{{posts.results[*].text}}"
              focus: "{{mood.summary}}"
    "#]],
    );
    check_rename(
        &PIPELINE.replace("  query: {type", "  qu$0ery: {type"),
        "terms",
        expect![[r#"
        prepare: 28..33 "query"
        name: ide fixture
        inputs:
          terms: {type: string, default: ai, description: What to search for.}
        sources:
          - name: tweets
            method: social.twitter.search
            params:
              query: "{{inputs.terms}}"
        transforms:
          - name: mood
            method: nlp.sentiment.analyze
            params:
              texts: "{{tweets.results[*].text}}"
          - name: brief
            method: nlp.summary.generate
            params:
              texts: "{{tweets.results[*].text}}"
              focus: "{{mood.summary}}"
    "#]],
    );
    check_rename(
        &PIPELINE.replace("- name: tweets", "- name: tw$0eets"),
        "mood",
        expect![[r#"
        prepare: Ok(116..122)
        rename: Err("`mood` is already used")
    "#]],
    );
    check_rename(
        &PIPELINE.replace("method: nlp.sentiment", "method: nlp.sent$0iment"),
        "x",
        expect![[r#"
        prepare: Err("only step and input names can be renamed")
        rename: Err("only step and input names can be renamed")
    "#]],
    );
}

#[test]
fn code_actions_offer_fixes_and_suppressions() {
    let (text, actions) = with_cursor(
        "name: x\nsources:\n  - name: a\n    method: social.twiter.se$0arch\n    params: {query: q}\n",
        |s, o| s.code_actions(TextRange::empty(o)),
    );
    let shown: Vec<String> = actions
        .iter()
        .map(|a| {
            let (fixed, _) = odp_analysis::apply_edits(&text, &a.edits);
            format!(
                "{} (preferred: {})\n{}",
                a.title,
                a.preferred,
                fixed.lines().nth(3).unwrap_or("")
            )
        })
        .collect();
    expect![[r#"
        Replace with `social.twitter.search` (preferred: false)
            method: social.twitter.search
        Suppress ODP300 (unknown-method) on this line (preferred: false)
            method: social.twiter.search  # odp: ignore[ODP300]"#]]
    .assert_eq(&shown.join("\n"));
}

#[test]
fn symbols_folds_and_tokens() {
    let (text, (symbols, folds, tokens)) = with_cursor(&format!("$0{PIPELINE}"), |s, _| {
        (s.symbols(), s.folds(), s.semantic_tokens())
    });
    fn render(text: &str, s: &crate::Symbol, depth: usize, out: &mut String) {
        out.push_str(&format!(
            "{}{:?} {} {:?} @ {:?}\n",
            "  ".repeat(depth),
            s.kind,
            s.name,
            s.detail,
            &text[s.selection_range.as_range()]
        ));
        for c in &s.children {
            render(text, c, depth + 1, out);
        }
    }
    let mut out = String::new();
    for s in &symbols {
        render(&text, s, 0, &mut out);
    }
    for f in &folds {
        out.push_str(&format!(
            "fold {}..{} {:?}\n",
            f.start_line, f.end_line, f.kind
        ));
    }
    for t in &tokens {
        out.push_str(&format!(
            "token {:?} {:?}\n",
            t.kind,
            &text[t.range.as_range()]
        ));
    }
    expect![[r#"
        Pipeline ide fixture None @ "ide fixture"
          Section inputs None @ "inputs"
            Input query Some("string") @ "query"
          Section sources None @ "sources"
            Step tweets Some("social.twitter.search") @ "tweets"
          Section transforms None @ "transforms"
            Step mood Some("nlp.sentiment.analyze") @ "mood"
            Step brief Some("nlp.summary.generate") @ "brief"
        fold 1..2 Region
        fold 3..7 Region
        fold 4..7 Region
        fold 6..7 Region
        fold 8..17 Region
        fold 9..12 Region
        fold 11..12 Region
        fold 13..17 Region
        fold 15..17 Region
        token Function "social.twitter.search"
        token Operator "{{"
        token Namespace "inputs"
        token Property "query"
        token Operator "}}"
        token Function "nlp.sentiment.analyze"
        token Operator "{{"
        token Variable "tweets"
        token Property "results"
        token Property "[*]"
        token Property "text"
        token Operator "}}"
        token Function "nlp.summary.generate"
        token Operator "{{"
        token Variable "tweets"
        token Property "results"
        token Property "[*]"
        token Property "text"
        token Operator "}}"
        token Operator "{{"
        token Variable "mood"
        token Property "summary"
        token Operator "}}"
    "#]]
    .assert_eq(&out);
}

mod types;
