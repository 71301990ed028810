//! End-to-end tests: the real message loop on an in-memory connection, driven like an editor would.

use std::collections::VecDeque;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use expect_test::{Expect, expect};
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use odp_syntax::random_edits::Rng;
use serde_json::{Value, json};

mod drafts;
mod format;
mod graph;
mod hints;
mod keys;
mod malformed;
mod runs;

struct Client {
    conn: Connection,
    next_id: i32,
    pending: VecDeque<Notification>,
    /// Requests the server sent (answered: `workspace/applyEdit` with `applied: true`, the rest with null).
    server_requests: Vec<Request>,
    /// The ids of the responses the server sent, in order (a request must be answered once).
    answered: Vec<RequestId>,
    server: Option<JoinHandle<Result<(), crate::ServerError>>>,
    /// What the server answered to `initialize`.
    init: Value,
}

impl Client {
    fn start(options: Value, utf8: bool) -> Client {
        Client::start_in(options, utf8, Value::Null)
    }

    /// With a workspace root (`rootUri`), or `null`.
    fn start_in(options: Value, utf8: bool, root_uri: Value) -> Client {
        Client::start_with(options, utf8, root_uri, json!({}))
    }

    /// With client capabilities added under `workspace` (e.g. `{"codeLens": {"refreshSupport": true}}`).
    fn start_with(options: Value, utf8: bool, root_uri: Value, workspace: Value) -> Client {
        Client::start_caps(options, utf8, root_uri, json!({ "workspace": workspace }))
    }

    /// With client capabilities added: `{"textDocument": {"signatureHelp": {...}}}` sets
    /// `capabilities.textDocument.signatureHelp`.
    fn start_caps(options: Value, utf8: bool, root_uri: Value, extra: Value) -> Client {
        let (server, conn) = Connection::memory();
        let handle = std::thread::spawn(move || crate::run(server));
        let mut client = Client {
            conn,
            next_id: 0,
            pending: VecDeque::new(),
            server_requests: Vec::new(),
            answered: Vec::new(),
            server: Some(handle),
            init: Value::Null,
        };
        let mut caps = json!({
            "textDocument": {"completion": {"completionItem": {"snippetSupport": true}}},
            "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}, "applyEdit": true},
            "window": {"workDoneProgress": true}
        });
        if utf8 {
            caps["general"] = json!({"positionEncodings": ["utf-8", "utf-16"]});
        }
        for (group, values) in extra.as_object().into_iter().flatten() {
            for (key, value) in values.as_object().into_iter().flatten() {
                caps[group][key] = value.clone();
            }
        }
        let init = client.request(
            "initialize",
            json!({"capabilities": caps, "initializationOptions": options, "processId": null, "rootUri": root_uri}),
        );
        assert_eq!(init["serverInfo"]["name"], "odp-lsp");
        assert_eq!(init["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
        client.notify("initialized", json!({}));
        client.init = init;
        client
    }

    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )))
            .unwrap();
    }

    fn send_request(&mut self, method: &str, params: Value) -> RequestId {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Message::Request(Request::new(
                id.clone(),
                method.into(),
                params,
            )))
            .unwrap();
        id
    }

    /// Waits for the response to `id`, keeping notifications for later; answers the server's own requests.
    fn response(&mut self, id: RequestId) -> Result<Value, (i32, String)> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let msg = self
                .conn
                .receiver
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the server answers in time");
            if let Message::Response(r) = &msg {
                self.answered.push(r.id.clone());
            }
            match msg {
                Message::Response(r) if r.id == id => {
                    return r.response_result.map_err(|e| (e.code, e.message));
                }
                Message::Response(_) => {}
                Message::Notification(n) => self.pending.push_back(n),
                Message::Request(r) => self.answer_server_request(r),
            }
        }
    }

    /// client/registerCapability and the like get null; workspace/applyEdit gets `applied: true`.
    fn answer_server_request(&mut self, r: Request) {
        let result = if r.method == "workspace/applyEdit" {
            json!({"applied": true})
        } else {
            Value::Null
        };
        self.conn
            .sender
            .send(Message::Response(lsp_server::Response::new_ok(
                r.id.clone(),
                result,
            )))
            .unwrap();
        self.server_requests.push(r);
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.response(id)
            .unwrap_or_else(|e| panic!("{method} failed: {e:?}"))
    }

    /// The diagnostics published for `uri` at `version` (earlier publications are skipped).
    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            while let Some(n) = self.pending.pop_front() {
                if n.method == "textDocument/publishDiagnostics"
                    && n.params["uri"] == uri
                    && n.params["version"] == version
                {
                    return n.params["diagnostics"].as_array().unwrap().clone();
                }
            }
            let msg = self
                .conn
                .receiver
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("diagnostics arrive in time");
            match msg {
                Message::Notification(n) => self.pending.push_back(n),
                Message::Request(r) => self.answer_server_request(r),
                Message::Response(r) => self.answered.push(r.id),
            }
        }
    }

    fn open(&self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
    }

    fn shutdown(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        self.server.take().unwrap().join().unwrap().unwrap();
    }
}

const URI: &str = "file:///tmp/odp-server-tests/flow.odp.yaml";

const PIPELINE: &str = r#"name: server fixture
inputs:
  query: {type: string, default: ai}
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
"#;

/// The position of `$0` in a fixture (UTF-16), and the text without it.
fn cursor(fixture: &str) -> (String, Value) {
    let offset = fixture.find("$0").expect("a $0 cursor");
    let before = &fixture[..offset];
    let line = before.matches('\n').count();
    let col: usize = before
        .rsplit('\n')
        .next()
        .unwrap()
        .chars()
        .map(char::len_utf16)
        .sum();
    (
        fixture.replacen("$0", "", 1),
        json!({"line": line, "character": col}),
    )
}

fn pos_params(position: Value) -> Value {
    json!({"textDocument": {"uri": URI}, "position": position})
}

/// Opens the fixture, waits for its diagnostics, and runs `method` at the cursor.
fn check(
    fixture: &str,
    method: &str,
    extra: Value,
    render: impl Fn(&Value) -> String,
    expect: Expect,
) {
    let (text, position) = cursor(fixture);
    let mut client = Client::start(json!({}), false);
    client.open(URI, &text);
    client.diagnostics(URI, 1);
    let mut params = pos_params(position);
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let result = client.request(method, params);
    expect.assert_eq(&render(&result));
    client.shutdown();
}

fn labels(v: &Value) -> String {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {}",
                i["label"].as_str().unwrap(),
                i["textEdit"]["newText"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn publishes_diagnostics_with_codes_and_links() {
    let mut client = Client::start(json!({}), false);
    client.open(
        URI,
        &PIPELINE.replace("social.twitter.search", "social.twiter.search"),
    );
    let diags = client.diagnostics(URI, 1);
    expect![[r#"
        [
          {
            "range": {
              "start": {
                "line": 5,
                "character": 12
              },
              "end": {
                "line": 5,
                "character": 32
              }
            },
            "severity": 1,
            "code": "ODP300",
            "codeDescription": {
              "href": "https://github.com/odp-dev/odp/blob/main/docs/codes.md#odp300"
            },
            "source": "odp",
            "message": "unknown method `social.twiter.search`\nhelp: did you mean `social.twitter.search`?",
            "data": {
              "name": "unknown-method"
            }
          }
        ]"#]]
    .assert_eq(&serde_json::to_string_pretty(&diags).unwrap());
    // A YAML file that is not a pipeline gets nothing.
    client.open("file:///tmp/odp-server-tests/other.yaml", "a: {{b}}\n");
    assert!(
        client
            .diagnostics("file:///tmp/odp-server-tests/other.yaml", 1)
            .is_empty()
    );
    // ... until it gains the modeline.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///tmp/odp-server-tests/other.yaml", "version": 2},
               "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "# odp: pipeline\n"}]}),
    );
    let diags = client.diagnostics("file:///tmp/odp-server-tests/other.yaml", 2);
    assert!(diags.iter().any(|d| d["code"] == "ODP102"), "{diags:?}");
    client.shutdown();
}

#[test]
fn completes_methods_and_template_fields() {
    check(
        &PIPELINE.replace("method: nlp.sentiment.analyze", "method: nlp.sent$0"),
        "textDocument/completion",
        json!({}),
        |v| {
            labels(v)
                .lines()
                .filter(|l| l.starts_with("nlp."))
                .collect::<Vec<_>>()
                .join("\n")
        },
        expect![[r#"
            nlp.sentiment.analyze nlp.sentiment.analyze
            nlp.entities.extract nlp.entities.extract
            nlp.summary.generate nlp.summary.generate
            nlp.language.detect nlp.language.detect
            nlp.translation.translate nlp.translation.translate
            nlp.keywords.extract nlp.keywords.extract"#]],
    );
    check(
        &PIPELINE.replace("{{tweets.results[*].text}}", "{{tweets.results[*].$0}}"),
        "textDocument/completion",
        json!({}),
        labels,
        expect![[r#"
            author author
            author_name author_name
            created_at created_at
            hashtags hashtags
            id id
            language language
            likes likes
            replies replies
            retweets retweets
            text text
            url url"#]],
    );
}

#[test]
fn hover_definition_references() {
    check(
        &PIPELINE.replace("{{tweets.results[*].text}}", "{{tweets.res$0ults[*].text}}"),
        "textDocument/hover",
        json!({}),
        |v| v["contents"]["value"].as_str().unwrap().to_string(),
        expect![[r#"
            `{{tweets.results[*].text}}`: `list<string>`

            from step `tweets` (social.twitter.search)"#]],
    );
    check(
        &PIPELINE.replace("{{tweets.results[*].text}}", "{{twe$0ets.results[*].text}}"),
        "textDocument/definition",
        json!({}),
        |v| v["range"].to_string(),
        expect![[r#"{"start":{"line":4,"character":10},"end":{"line":4,"character":16}}"#]],
    );
    check(
        &PIPELINE.replace("- name: tweets", "- name: twe$0ets"),
        "textDocument/references",
        json!({"context": {"includeDeclaration": true}}),
        |v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|l| l["range"].to_string())
                .collect::<Vec<_>>()
                .join("\n")
        },
        expect![[r#"
            {"start":{"line":4,"character":10},"end":{"line":4,"character":16}}
            {"start":{"line":12,"character":16},"end":{"line":12,"character":22}}"#]],
    );
}

#[test]
fn renames_and_refuses_elsewhere() {
    check(
        &PIPELINE.replace("- name: tweets", "- name: twe$0ets"),
        "textDocument/rename",
        json!({"newName": "posts"}),
        |v| serde_json::to_string(&v["changes"][URI]).unwrap(),
        expect![[
            r#"[{"range":{"start":{"line":4,"character":10},"end":{"line":4,"character":16}},"newText":"posts"},{"range":{"start":{"line":12,"character":16},"end":{"line":12,"character":22}},"newText":"posts"}]"#
        ]],
    );
    let (text, position) = cursor(&PIPELINE.replace("name: server", "na$0me: server"));
    let mut client = Client::start(json!({}), false);
    client.open(URI, &text);
    let id = client.send_request("textDocument/prepareRename", pos_params(position));
    assert_eq!(
        client.response(id),
        Err((-32803, "only step and input names can be renamed".into()))
    );
    client.shutdown();
}

#[test]
fn code_actions_symbols_folding_tokens() {
    check(
        &PIPELINE.replace("query: \"{{inputs.query}}\"", "query: {{inputs.q$0uery}}"),
        "textDocument/codeAction",
        json!({"range": {"start": {"line": 7, "character": 16}, "end": {"line": 7, "character": 16}}, "context": {"diagnostics": []}}),
        |v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    format!(
                        "{} {}",
                        a["title"].as_str().unwrap(),
                        a["edit"]["changes"][URI]
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        expect![[r#"
            Quote the template [{"range":{"start":{"line":7,"character":13},"end":{"line":7,"character":29}},"newText":"\"{{inputs.query}}\""}]
            Suppress ODP102 (unquoted-template) on this line [{"range":{"start":{"line":7,"character":29},"end":{"line":7,"character":29}},"newText":"  # odp: ignore[ODP102]"}]"#]],
    );
    check(
        &format!("$0{PIPELINE}"),
        "textDocument/documentSymbol",
        json!({}),
        |v| {
            fn walk(v: &Value, depth: usize, out: &mut String) {
                for s in v.as_array().unwrap() {
                    out.push_str(&format!(
                        "{}{} {}\n",
                        "  ".repeat(depth),
                        s["name"].as_str().unwrap(),
                        s["kind"]
                    ));
                    walk(&s["children"], depth + 1, out);
                }
            }
            let mut out = String::new();
            walk(v, 0, &mut out);
            out
        },
        expect![[r#"
            server fixture 2
              inputs 3
                query 13
              sources 3
                tweets 12
              transforms 3
                mood 12
        "#]],
    );
    check(
        &format!("$0{PIPELINE}"),
        "textDocument/foldingRange",
        json!({}),
        |v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|f| format!("{}-{}", f["startLine"], f["endLine"]))
                .collect::<Vec<_>>()
                .join(" ")
        },
        expect!["1-2 3-7 4-7 6-7 8-12 9-12 11-12"],
    );
    check(
        &format!("$0{PIPELINE}"),
        "textDocument/semanticTokens/full",
        json!({}),
        |v| v["data"].to_string(),
        expect![
            "[5,12,21,3,0,2,14,2,4,0,0,2,6,0,0,0,7,5,2,0,0,5,2,4,0,3,12,21,3,0,2,14,2,4,0,0,2,6,1,0,0,7,7,2,0,0,7,3,2,0,0,4,4,2,0,0,4,2,4,0]"
        ],
    );
}

#[test]
fn a_panicking_handler_answers_with_an_error_and_the_server_lives_on() {
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, PIPELINE);
    let id = client.send_request("odp/debugPanic", json!({"textDocument": {"uri": URI}}));
    let (code, message) = client.response(id).unwrap_err();
    assert_eq!(code, -32603);
    assert!(message.contains("debug panic requested"), "{message}");
    let hover = client.request(
        "textDocument/hover",
        pos_params(json!({"line": 5, "character": 15})),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("social.twitter.search")
    );
    client.shutdown();
}

/// A notification handler that panics is caught by the dispatcher: the server lives on and answers.
#[test]
fn a_panicking_notification_handler_leaves_the_server_serving() {
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, PIPELINE);
    client.notify("odp/debugPanicNotification", json!({}));
    let hover = client.request(
        "textDocument/hover",
        pos_params(json!({"line": 5, "character": 15})),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("social.twitter.search")
    );
    client.shutdown();
}

/// The test hooks answer only for a client that asks for them.
#[test]
fn test_hooks_are_unknown_without_the_testing_option() {
    let mut client = Client::start(json!({}), false);
    client.open(URI, PIPELINE);
    let id = client.send_request("odp/debugPanic", json!({"textDocument": {"uri": URI}}));
    assert_eq!(client.response(id).unwrap_err().0, -32601);
    let id = client.send_request("odp/debugText", json!({"uri": URI}));
    assert_eq!(client.response(id).unwrap_err().0, -32601);
    client.shutdown();
}

/// A workspace whose registry is at a URL that never answers loads on a thread of its own: edits are applied and
/// the server answers at once meanwhile.
#[test]
fn a_registry_url_that_hangs_holds_up_no_edit() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts and never answers (the connections stay open until the test ends).
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let mut client = Client::start(
        json!({"testing": true, "registry": format!("http://{addr}/registry.yaml")}),
        false,
    );
    let started = Instant::now();
    client.open(URI, PIPELINE);
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2},
               "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "# edited\n"}]}),
    );
    let server = client.request("odp/debugText", json!({"uri": URI}));
    assert_eq!(server["version"], 2);
    assert!(server["text"].as_str().unwrap().starts_with("# edited\n"));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    client.shutdown();
}

#[test]
fn utf8_positions_when_the_client_offers_them() {
    let mut client = Client::start(json!({}), true);
    let text = PIPELINE.replace(
        "name: server fixture",
        "name: é😀 fixture\ndescription: 😀😀 x",
    );
    client.open(
        URI,
        &text.replace("social.twitter.search", "social.twiter.search"),
    );
    let diags = client.diagnostics(URI, 1);
    // Line 6 (0-based) holds the method; no multi-byte text before it on that line.
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": 6, "character": 12})
    );
    client.shutdown();
}

/// LSP position (UTF-16) of a char index in a Vec<char> text, lines broken at \n, \r\n and \r.
fn position_of(chars: &[char], idx: usize) -> (usize, usize) {
    let (mut line, mut col) = (0, 0);
    let mut i = 0;
    while i < idx {
        match chars[i] {
            '\r' if chars.get(i + 1) == Some(&'\n') && i + 1 < idx => {
                line += 1;
                col = 0;
                i += 2;
                continue;
            }
            '\r' | '\n' => {
                line += 1;
                col = 0;
            }
            c => col += c.len_utf16(),
        }
        i += 1;
    }
    (line, col)
}

#[test]
fn thousands_of_incremental_edits_keep_server_and_client_texts_equal() {
    let mut client = Client::start(json!({"testing": true}), false);
    let mut text: Vec<char> = PIPELINE.chars().collect();
    client.open(URI, PIPELINE);
    let pieces = [
        "a", "😀", "é", "\r\n", "\n", "{{", "}}", "- ", "  ", "x: y", "\r", "中文", "",
    ];
    let mut rng = Rng(42);
    let mut version = 1;
    for _ in 0..3000 {
        // Never split a CRLF or a surrogate pair: positions address whole characters.
        let mut a = rng.below(text.len() + 1);
        let mut b = (a + rng.below(4)).min(text.len());
        for p in [&mut a, &mut b] {
            if *p > 0 && *p < text.len() && text[*p - 1] == '\r' && text[*p] == '\n' {
                *p += 1;
            }
        }
        let (sl, sc) = position_of(&text, a);
        let (el, ec) = position_of(&text, b);
        let insert = pieces[rng.below(pieces.len())];
        text.splice(a..b, insert.chars());
        version += 1;
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": version},
                   "contentChanges": [{"range": {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}, "text": insert}]}),
        );
    }
    let server = client.request("odp/debugText", json!({"uri": URI}));
    let expected: String = text.iter().collect();
    assert_eq!(server["version"], version);
    assert_eq!(server["text"].as_str().unwrap(), expected);
    // And the last version's diagnostics arrive (earlier ones may be dropped, never published late).
    client.diagnostics(URI, version);
    client.shutdown();
}

/// Every version's published diagnostics equal a fresh analysis of its text, while the server re-analyses only
/// the steps each edit touched (random edits of a pipeline with many steps, each waited for).
#[test]
fn incremental_re_analysis_publishes_what_a_fresh_analysis_finds() {
    let mut text = String::from(PIPELINE);
    for i in 0..20 {
        text.push_str(&format!(
            "  - name: mood_{i}\n    method: nlp.sentiment.analyze\n    params:\n      texts: \"{{{{tweets.results[*].text}}}}\"\n"
        ));
    }
    let original = text.clone();
    let registry = odp_analysis::Registry::bundled();
    let env = odp_analysis::Environment::new(&registry);
    let summary = |diags: &[Value]| -> Vec<String> {
        let mut out: Vec<String> = diags
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}",
                    d["range"]["start"]["line"],
                    d["code"],
                    d["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        out.sort();
        out
    };
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, &text);
    client.diagnostics(URI, 1);
    let mut rng = Rng(7);
    let (mut reparsed, mut reused) = (0, 0);
    for version in 2..150 {
        text = if version % 30 == 0 {
            original.clone()
        } else {
            odp_syntax::random_edits::edit(&mut rng, &text)
        };
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": version},
                   "contentChanges": [{"text": text}]}),
        );
        let published = client.diagnostics(URI, version);
        let fresh = odp_analysis::analyze(&text, &env);
        // LSP lines break at `\n`, `\r\n` and a lone `\r` (which random edits leave behind).
        let lsp_line = |offset: usize| {
            let b = &text.as_bytes()[..offset];
            b.iter()
                .enumerate()
                .filter(|&(i, &c)| {
                    c == b'\n' || (c == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n'))
                })
                .count()
        };
        let mut expected: Vec<String> = fresh
            .diagnostics
            .iter()
            .map(|d| {
                let help = d
                    .help
                    .as_ref()
                    .map(|h| format!("\nhelp: {h}"))
                    .unwrap_or_default();
                format!(
                    "{} \"{}\" {}{help}",
                    lsp_line(d.range.start()),
                    d.code,
                    d.message
                )
            })
            .collect();
        expected.sort();
        assert_eq!(summary(&published), expected, "version {version}:\n{text}");
        let state = client.request("odp/debugText", json!({"uri": URI}));
        let last = &state["lastAnalysis"];
        reparsed += usize::from(last["reparsed"] == true);
        reused += last["reusedSteps"].as_u64().unwrap_or(0) as usize;
    }
    assert!(
        reparsed > 20,
        "only {reparsed} edits were re-parsed incrementally"
    );
    assert!(reused > 1000, "only {reused} step bodies were reused");
    client.shutdown();
}

#[test]
fn registry_edits_reload_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("odp.toml"), "registry = \"reg.yaml\"\n").unwrap();
    let registry = |id: &str| {
        format!(
            "version: 1\nmethods:\n  - id: {id}\n    kind: source\n    service: crawler\n    summary: s\n    endpoint: /s\n    params: {{type: object}}\n    output: dynamic\n"
        )
    };
    std::fs::write(root.join("reg.yaml"), registry("my.first.source")).unwrap();
    let uri = format!("file://{}/p.odp.yaml", root.display());
    let mut client = Client::start(json!({}), false);
    client.open(
        &uri,
        "name: reload\nsources:\n  - name: s\n    method: my.second.source\n",
    );
    let diags = client.diagnostics(&uri, 1);
    assert_eq!(diags[0]["code"], "ODP300");
    std::fs::write(root.join("reg.yaml"), registry("my.second.source")).unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": format!("file://{}/reg.yaml", root.display()), "type": 2}]}),
    );
    // The same version is analysed again with the new registry.
    let diags = client.diagnostics(&uri, 1);
    assert!(diags.is_empty(), "{diags:?}");
    client.shutdown();
}

/// The one loader's fallback rule: a broken odp.toml gives the message every command prints (`odp check`, `run`,
/// `kernel`, `draft`, `stubs`: crates/odp/tests/cli/config_loader.rs), shown as an error, and the server carries on
/// with the defaults.
#[test]
fn a_broken_odp_toml_is_shown_with_the_same_message_as_every_command_and_the_defaults_serve() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("odp.toml"), "registry = [\n").unwrap();
    let uri = format!("file://{}/p.odp.yaml", root.display());
    let mut client = Client::start_in(
        json!({}),
        false,
        json!(format!("file://{}", root.display())),
    );
    client.open(&uri, PIPELINE);
    // Answered after the document is opened: its workspace is loaded by then.
    client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    let errors: Vec<String> = client
        .pending
        .iter()
        .filter(|n| n.method == "window/showMessage" && n.params["type"] == 1)
        .map(|n| n.params["message"].as_str().unwrap_or("").to_string())
        .collect();
    let expected = format!(
        "odp: {}:1:13: unclosed array, expected `]`",
        root.join("odp.toml").display()
    );
    assert_eq!(errors, vec![expected]);
    // The defaults serve: the bundled registry knows the pipeline's methods.
    let diags = client.diagnostics(&uri, 1);
    assert!(diags.is_empty(), "{diags:?}");
    client.shutdown();
}
