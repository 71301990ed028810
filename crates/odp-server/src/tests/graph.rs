//! `odp.showGraph`: the picture of the open text (unsaved edits included) and the nodes' ranges for a client to
//! jump to; an unknown document is an error and the server serves on.

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use super::{Client, PIPELINE, URI};

fn show_graph(client: &mut Client, arguments: Value) -> Result<Value, (i32, String)> {
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.showGraph", "arguments": arguments}),
    );
    client.response(id)
}

/// The nodes, one a line: id, kind, name, range and selection range as `line:col-line:col`.
fn nodes(result: &Value) -> String {
    let range = |r: &Value| {
        if r.is_null() {
            return "-".to_string();
        }
        let p = |p: &Value| format!("{}:{}", p["line"], p["character"]);
        format!("{}-{}", p(&r["start"]), p(&r["end"]))
    };
    result["nodes"]
        .as_array()
        .expect("a list of nodes")
        .iter()
        .map(|n| {
            format!(
                "{} {} {} {} {}",
                n["id"].as_str().unwrap(),
                n["kind"].as_str().unwrap(),
                n["name"].as_str().unwrap(),
                range(&n["range"]),
                range(&n["selectionRange"]),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check(text: &str, utf8: bool, arguments: Value, expect: Expect) -> Value {
    let mut client = Client::start(json!({}), utf8);
    client.open(URI, text);
    let result = show_graph(&mut client, arguments).expect("odp.showGraph answers");
    expect.assert_eq(&format!(
        "current {}\n{}",
        result["current"],
        nodes(&result)
    ));
    client.shutdown();
    result
}

#[test]
fn the_graph_of_an_open_document_with_its_nodes_ranges() {
    let result = check(
        PIPELINE,
        false,
        json!([URI, {"position": {"line": 11, "character": 6}}]),
        expect![[r#"
            current "odp-node-n2"
            odp-node-n0 input query 2:2-2:36 2:2-2:7
            odp-node-n1 source tweets 4:4-7:31 4:10-4:16
            odp-node-n2 transform mood 9:4-12:41 9:10-9:14"#]],
    );
    assert_eq!(result["uri"], URI);
    assert_eq!(result["version"], 1);
    assert_eq!(result["errors"], 0);
    let svg = result["svg"].as_str().unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    for (id, name) in [("n0", "query"), ("n1", "tweets"), ("n2", "mood")] {
        assert!(
            svg.contains(&format!(r#"id="odp-node-{id}" data-name="{name}""#)),
            "{id} {name}: {svg}"
        );
    }
    // The edge from tweets to mood, labelled with the field path it reads.
    assert!(svg.contains("results[*].text"), "{svg}");
}

#[test]
fn ranges_follow_the_negotiated_position_encoding() {
    let text = PIPELINE.replace("default: ai}", "default: \"😀😀\"}");
    let utf16 = check(
        &text,
        false,
        json!([URI]),
        expect![[r#"
            current null
            odp-node-n0 input query 2:2-2:40 2:2-2:7
            odp-node-n1 source tweets 4:4-7:31 4:10-4:16
            odp-node-n2 transform mood 9:4-12:41 9:10-9:14"#]],
    );
    let utf8 = check(
        &text,
        true,
        json!([URI]),
        expect![[r#"
            current null
            odp-node-n0 input query 2:2-2:44 2:2-2:7
            odp-node-n1 source tweets 4:4-7:31 4:10-4:16
            odp-node-n2 transform mood 9:4-12:41 9:10-9:14"#]],
    );
    assert_eq!(utf16["svg"], utf8["svg"]);
}

#[test]
fn the_graph_follows_unsaved_edits() {
    let mut client = Client::start(json!({}), false);
    client.open(URI, PIPELINE);
    let before = show_graph(&mut client, json!([URI])).unwrap();
    assert!(
        before["svg"]
            .as_str()
            .unwrap()
            .contains(r#"data-name="mood""#)
    );
    // Rename the step `mood` to `feeling` (line 9: `  - name: mood`), and misspell the template's step.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 9, "character": 10}, "end": {"line": 9, "character": 14}}, "text": "feeling"},
            {"range": {"start": {"line": 12, "character": 16}, "end": {"line": 12, "character": 22}}, "text": "twets"}
        ]}),
    );
    let after = show_graph(&mut client, json!([URI])).unwrap();
    assert_eq!(after["version"], 2);
    let svg = after["svg"].as_str().unwrap();
    assert!(svg.contains(r#"data-name="feeling""#), "{svg}");
    assert!(!svg.contains(r#"data-name="mood""#), "{svg}");
    expect![[r#"
        odp-node-n0 input query 2:2-2:36 2:2-2:7
        odp-node-n1 source tweets 4:4-7:31 4:10-4:16
        odp-node-n2 transform feeling 9:4-12:40 9:10-9:17
        odp-node-n3 missing twets - -"#]]
    .assert_eq(&nodes(&after));
    assert!(after["errors"].as_u64().unwrap() > 0, "{after}");
    client.shutdown();
}

#[test]
fn an_unknown_document_or_bad_arguments_are_errors_and_the_server_serves_on() {
    let mut client = Client::start(json!({}), false);
    client.open(URI, PIPELINE);
    let (code, message) = show_graph(
        &mut client,
        json!(["file:///tmp/odp-server-tests/nowhere.odp.yaml"]),
    )
    .unwrap_err();
    assert_eq!(code, -32602, "{message}");
    expect![[r#"odp.showGraph: file:///tmp/odp-server-tests/nowhere.odp.yaml is not an open pipeline the server is in sync with"#]]
    .assert_eq(&message);
    let (code, message) = show_graph(&mut client, json!([])).unwrap_err();
    assert_eq!(code, -32602, "{message}");
    // A YAML file that is not a pipeline has no graph either.
    client.open("file:///tmp/odp-server-tests/other.yaml", "a: 1\n");
    assert!(
        show_graph(
            &mut client,
            json!(["file:///tmp/odp-server-tests/other.yaml"])
        )
        .is_err()
    );
    // The server lives on: the open pipeline still has its graph.
    let result = show_graph(&mut client, json!([URI])).unwrap();
    assert_eq!(result["nodes"].as_array().unwrap().len(), 3);
    client.shutdown();
}

#[test]
fn the_command_is_advertised() {
    let client = Client::start(json!({}), false);
    let commands = client.init["capabilities"]["executeCommandProvider"]["commands"]
        .as_array()
        .unwrap()
        .clone();
    assert!(commands.contains(&json!("odp.showGraph")), "{commands:?}");
    client.shutdown();
}
