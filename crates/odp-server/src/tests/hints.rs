//! Type hints and signature help over the wire: capabilities, the requested range, the client setting, resolve, and
//! signature help with and without label offsets.

use super::*;

fn range(start: u32, end: u32) -> Value {
    json!({"start": {"line": start, "character": 0}, "end": {"line": end, "character": 0}})
}

/// The hints in lines `start..end`, as `line:character label`.
fn hints_in(client: &mut Client, start: u32, end: u32) -> Vec<String> {
    inlay_hints(client, start, end)
        .iter()
        .map(|h| {
            format!(
                "{}:{} {}",
                h["position"]["line"], h["position"]["character"], h["label"]
            )
        })
        .collect()
}

fn inlay_hints(client: &mut Client, start: u32, end: u32) -> Vec<Value> {
    let hints = client.request(
        "textDocument/inlayHint",
        json!({"textDocument": {"uri": URI}, "range": range(start, end)}),
    );
    hints.as_array().unwrap().clone()
}

#[test]
fn capabilities_offer_resolvable_hints_and_signature_help() {
    let client = Client::start(json!({}), false);
    let caps = &client.init["capabilities"];
    assert_eq!(caps["inlayHintProvider"], json!({"resolveProvider": true}));
    assert_eq!(
        caps["signatureHelpProvider"],
        json!({"triggerCharacters": [":", "\n"], "retriggerCharacters": [","]})
    );
    client.shutdown();
}

#[test]
fn type_hints_in_the_requested_range_only() {
    let mut client = Client::start(json!({}), false);
    client.open(URI, PIPELINE);
    client.diagnostics(URI, 1);
    expect![[r#"
        [
            "7:31 \": string\"",
            "12:41 \": list<string>\"",
        ]
    "#]]
    .assert_debug_eq(&hints_in(&mut client, 0, 100));
    // Lines 10 to 13: the transform's template only.
    expect![[r#"
        [
            "12:41 \": list<string>\"",
        ]
    "#]]
    .assert_debug_eq(&hints_in(&mut client, 10, 13));
    assert_eq!(hints_in(&mut client, 8, 12), Vec::<String>::new());
    client.shutdown();
}

/// `odp.inlayHints.types` off at start: no type hints; turned on: they show, and the client is asked to refresh.
#[test]
fn type_hints_follow_the_client_setting() {
    let mut client = Client::start_with(
        json!({"inlayHints": {"types": false}}),
        false,
        Value::Null,
        json!({"inlayHint": {"refreshSupport": true}}),
    );
    client.open(URI, PIPELINE);
    client.diagnostics(URI, 1);
    assert_eq!(hints_in(&mut client, 0, 100), Vec::<String>::new());
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"odp": {"inlayHints": {"types": true}}}}),
    );
    assert_eq!(hints_in(&mut client, 0, 100).len(), 2);
    assert!(
        client
            .server_requests
            .iter()
            .any(|r| r.method == "workspace/inlayHint/refresh"),
        "{:?}",
        client.server_requests
    );
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"odp": {"inlayHints": {"types": false}}}}),
    );
    assert_eq!(hints_in(&mut client, 0, 100), Vec::<String>::new());
    client.shutdown();
}

#[test]
fn resolve_adds_the_documentation_and_bad_data_is_an_error() {
    let mut client = Client::start(json!({}), false);
    client.open(URI, PIPELINE);
    client.diagnostics(URI, 1);
    let hints = inlay_hints(&mut client, 0, 100);
    // Nothing is computed before it is asked for.
    assert!(
        hints.iter().all(|h| h.get("tooltip").is_none()),
        "{hints:?}"
    );
    let tooltip = |hint: &Value| hint["tooltip"]["value"].as_str().unwrap().to_string();
    let texts = client.request("inlayHint/resolve", hints[1].clone());
    assert_eq!(texts["label"], ": list<string>");
    assert_eq!(texts["tooltip"]["kind"], "markdown");
    let shown = tooltip(&texts);
    assert!(
        shown.starts_with("from step `tweets`")
            && shown.contains("**social.twitter.search** (source)"),
        "{shown}"
    );
    let query = client.request("inlayHint/resolve", hints[0].clone());
    assert!(
        tooltip(&query).starts_with("**input `query`**: `string`"),
        "{query}"
    );

    // Data the server did not write: an error, and the server answers on.
    let mut bad = hints[0].clone();
    bad["data"] = json!({"uri": URI, "what": 1});
    let id = client.send_request("inlayHint/resolve", bad);
    let (code, message) = client.response(id).unwrap_err();
    assert_eq!(code, -32602, "{message}");
    // A hint of a document that is not open comes back as it was.
    let mut closed = hints[0].clone();
    closed["data"]["uri"] = json!("file:///tmp/odp-server-tests/closed.odp.yaml");
    assert_eq!(client.request("inlayHint/resolve", closed.clone()), closed);
    assert_eq!(hints_in(&mut client, 0, 100).len(), 2);
    client.shutdown();
}

/// The signature as a client shows it: the label with the active parameter in brackets.
fn shown_signature(help: &Value) -> String {
    if help.is_null() {
        return "null".into();
    }
    let signature = &help["signatures"][0];
    let label = signature["label"].as_str().unwrap();
    let active = help["activeParameter"].as_u64().unwrap() as usize;
    let parameters = signature["parameters"].as_array().unwrap();
    let Some(parameter) = parameters.get(active) else {
        return format!("{label}\n(no parameter active)");
    };
    assert_eq!(signature["activeParameter"], help["activeParameter"]);
    let (start, end) = match &parameter["label"] {
        Value::String(text) => {
            let start = label.find(text.as_str()).unwrap();
            (start, start + text.len())
        }
        offsets => {
            // UTF-16 offsets; the label here is ASCII.
            let o = offsets.as_array().unwrap();
            (
                o[0].as_u64().unwrap() as usize,
                o[1].as_u64().unwrap() as usize,
            )
        }
    };
    assert_eq!(parameter["documentation"]["kind"], "markdown");
    format!(
        "{}[{}]{}",
        &label[..start],
        &label[start..end],
        &label[end..]
    )
}

#[test]
fn signature_help_round_trip() {
    let fixture = "name: x\nsources:\n  - name: a\n    method: social.twitter.search\n    params:\n      query: ai\n      limit:$0\n";
    check(
        fixture,
        "textDocument/signatureHelp",
        json!({"context": {"triggerKind": 2, "triggerCharacter": ":", "isRetrigger": false}}),
        |help| {
            // This client does not take label offsets: the parameters' labels are their text.
            assert!(
                help["signatures"][0]["parameters"][1]["label"].is_string(),
                "{help}"
            );
            shown_signature(help)
        },
        expect![
            "social.twitter.search(query: string, [limit?: integer = 100], language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)"
        ],
    );
    // A new line: the required param still missing.
    check(
        "name: x\nsources:\n  - name: a\n    method: social.twitter.search\n    params:\n      $0\n",
        "textDocument/signatureHelp",
        json!({}),
        shown_signature,
        expect![
            "social.twitter.search([query: string], limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)"
        ],
    );
    check(
        "name: x\nsources:\n  - name: a\n    method: social.twitter.search\n    params:\n      query: ai\n      $0\n",
        "textDocument/signatureHelp",
        json!({}),
        shown_signature,
        expect![[r#"
            social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, min_likes?: integer = 0)
            (no parameter active)"#]],
    );
    check(
        "name: x$0\n",
        "textDocument/signatureHelp",
        json!({}),
        shown_signature,
        expect!["null"],
    );
}

/// A client that reads parameter labels as offsets gets offsets (in UTF-16 code units).
#[test]
fn signature_help_label_offsets_when_the_client_takes_them() {
    let (text, position) = cursor(
        "name: x\nsources:\n  - name: a\n    method: social.twitter.search\n    params:\n      min_likes: $0\n",
    );
    let mut client = Client::start_caps(
        json!({}),
        false,
        Value::Null,
        json!({"textDocument": {"signatureHelp": {"signatureInformation": {"parameterInformation": {"labelOffsetSupport": true}}}}}),
    );
    client.open(URI, &text);
    client.diagnostics(URI, 1);
    let help = client.request("textDocument/signatureHelp", pos_params(position));
    assert_eq!(
        help["signatures"][0]["parameters"][4]["label"],
        json!([115, 138])
    );
    expect!["social.twitter.search(query: string, limit?: integer = 100, language?: string, include_retweets?: boolean = false, [min_likes?: integer = 0])"]
        .assert_eq(&shown_signature(&help));
    client.shutdown();
}
