//! Formatting from the editor: the whole document and a range, as minimal edits; a file with syntax errors is
//! refused with the reason.

use serde_json::{Value, json};

use super::{Client, URI};

const UNFORMATTED: &str = "name: format fixture\ninputs:\n  query: {type: string, default: ai}\nsources:\n  # the first\n  - name: tweets\n    method:    social.twitter.search   # search\n    params:\n      query: {{inputs.query}}\n  - name: news\n    method: news.newsapi.search\n    params:\n        query:   \"{{inputs.query}}\"\n";

/// Applies LSP edits to an ASCII text (so that UTF-16 positions are byte columns).
fn apply(text: &str, edits: &Value) -> String {
    let offset = |p: &Value| {
        let (line, col) = (
            p["line"].as_u64().unwrap() as usize,
            p["character"].as_u64().unwrap() as usize,
        );
        text.split_inclusive('\n')
            .take(line)
            .map(str::len)
            .sum::<usize>()
            + col
    };
    let mut edits: Vec<(usize, usize, &str)> = edits
        .as_array()
        .expect("a list of edits")
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap(),
            )
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (start, end, new) in edits {
        out.replace_range(start..end, new);
    }
    out
}

#[test]
fn formatting_answers_minimal_edits_that_give_the_formatted_text() {
    let mut client = Client::start(json!({}), false);
    client.open(URI, UNFORMATTED);
    let edits = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let formatted = odp_fmt::format(UNFORMATTED, &odp_fmt::FormatOptions::default()).unwrap();
    assert_eq!(apply(UNFORMATTED, &edits), formatted);
    // Not one replacement of the document: each edit is a few characters.
    let edits = edits.as_array().unwrap();
    assert!(edits.len() > 3, "{edits:?}");
    for e in edits {
        assert!(e["newText"].as_str().unwrap().len() < 24, "{e}");
        assert_eq!(
            e["range"]["start"]["line"], e["range"]["end"]["line"],
            "{e}"
        );
    }
    assert!(formatted.contains("    method: social.twitter.search # search\n"));
    assert!(formatted.contains("  # the first\n  - name: tweets"));
    client.shutdown();
}

#[test]
fn range_formatting_changes_only_the_steps_in_the_range() {
    let mut client = Client::start(json!({}), false);
    client.open(URI, UNFORMATTED);
    let line = UNFORMATTED
        .lines()
        .position(|l| l.contains("news.newsapi"))
        .unwrap();
    let edits = client.request(
        "textDocument/rangeFormatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true},
               "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 4}}}),
    );
    let out = apply(UNFORMATTED, &edits);
    // The second step is formatted (and set off by a blank line); nothing else is.
    assert_eq!(
        out,
        UNFORMATTED.replace(
            "  - name: news\n    method: news.newsapi.search\n    params:\n        query:   ",
            "\n  - name: news\n    method: news.newsapi.search\n    params:\n      query: "
        )
    );
    client.shutdown();
}

#[test]
fn a_document_with_syntax_errors_is_not_formatted_and_the_error_says_why() {
    let mut client = Client::start(json!({}), false);
    let text = "name: broken\nsources:\n  - name: a\n    params:\n      types: [a, b\n";
    client.open(URI, text);
    let id = client.send_request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let (code, message) = client.response(id).unwrap_err();
    assert_eq!(code, lsp_server::ErrorCode::RequestFailed as i32);
    assert!(message.starts_with("left unformatted: 5:14: "), "{message}");
    client.shutdown();
}
