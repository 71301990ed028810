//! The language server's message loop, through the real framing reader and dispatcher (`odp_server::serve` on
//! in-memory streams). The input is an initial text, a NUL byte, then a program of operations the harness turns
//! into LSP messages: incremental and full-text edits (including lone surrogate escapes), requests at any position
//! (in range or not), and frames whose body is garbage. The client keeps its own copy of the text.
//!
//! Properties: no panic and no early exit; every request gets a response; after the program the
//! server's text (`odp/debugText`) is the client's, and the document is in sync.

use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

const URI: &str = "file:///fuzz/pipeline.odp.yaml";
const DEBUG_TEXT_ID: i64 = 1_000_000;
/// What edits insert; U+E000 stands for a lone surrogate escape on the wire (the client's text gets U+FFFD).
const PIECES: &[&str] = &[
    "a",
    "😀",
    "é",
    "\r\n",
    "\n",
    "{{",
    "}}",
    "- ",
    "  ",
    "x: y",
    "\r",
    "中文",
    "",
    "\u{E000}",
    "name: t\n",
    "    method: social.twitter.search\n",
    "\"{{inputs.q}}\"",
    "#",
    "[",
    "]",
    ": ",
];
const REQUESTS: &[&str] = &[
    "textDocument/hover",
    "textDocument/completion",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/documentSymbol",
    "textDocument/foldingRange",
    "textDocument/semanticTokens/full",
    "textDocument/codeAction",
    "textDocument/prepareRename",
    "textDocument/rename",
    "textDocument/documentHighlight",
    "textDocument/selectionRange",
    "textDocument/signatureHelp",
    "textDocument/inlayHint",
];

/// An output stream the harness reads after the server has exited.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads the program's bytes.
struct Program<'a> {
    data: &'a [u8],
}

impl Program<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    fn below(&mut self, n: usize) -> Option<usize> {
        let hi = usize::from(self.byte()?);
        let lo = usize::from(self.byte()?);
        Some(((hi << 8) | lo) % n.max(1))
    }
}

/// The LSP position (UTF-16) of a char index; lines break at \n, \r\n and \r.
fn position_of(chars: &[char], idx: usize) -> Value {
    let (mut line, mut col) = (0usize, 0usize);
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
    json!({"line": line, "character": col})
}

fn frame(out: &mut Vec<u8>, body: &[u8]) {
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
}

/// A message, with each U+E000 written as a lone surrogate escape.
fn message(out: &mut Vec<u8>, msg: &Value) {
    let text = msg.to_string().replace('\u{E000}', "\\ud800");
    frame(out, text.as_bytes());
}

/// Runs the checks on one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let (initial, mut program) = match data.iter().position(|b| *b == 0) {
        Some(nul) => (
            String::from_utf8_lossy(&data[..nul]).into_owned(),
            Program {
                data: &data[nul + 1..],
            },
        ),
        None => (String::new(), Program { data }),
    };
    // The wire turns every U+E000 into a lone surrogate escape, which the server reads as U+FFFD.
    let mut text: Vec<char> = initial.replace('\u{E000}', "\u{FFFD}").chars().collect();
    let mut wire = Vec::new();
    let mut requests = Vec::new();
    message(
        &mut wire,
        &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}, "initializationOptions": {"testing": true}, "processId": null, "rootUri": null}}),
    );
    requests.push(0);
    message(
        &mut wire,
        &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    message(
        &mut wire,
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": URI, "languageId": "odp-pipeline", "version": 0, "text": initial}}}),
    );
    let mut version = 0;
    let mut next_id = 1;
    // At most 64 operations: enough for any sequence worth finding, bounded per input.
    for _ in 0..64 {
        let Some(op) = program.byte() else { break };
        match op % 8 {
            0..=3 => {
                // An incremental edit of whole characters (never inside a CRLF).
                let (Some(a), Some(len), Some(piece)) = (
                    program.below(text.len() + 1),
                    program.byte(),
                    program.byte(),
                ) else {
                    break;
                };
                let mut a = a;
                let mut b = (a + usize::from(len % 6)).min(text.len());
                for p in [&mut a, &mut b] {
                    if *p > 0 && *p < text.len() && text[*p - 1] == '\r' && text[*p] == '\n' {
                        *p += 1;
                    }
                }
                let b = b.max(a);
                let insert = PIECES[usize::from(piece) % PIECES.len()];
                let (start, end) = (position_of(&text, a), position_of(&text, b));
                text.splice(a..b, insert.replace('\u{E000}', "\u{FFFD}").chars());
                version += 1;
                message(
                    &mut wire,
                    &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": URI, "version": version},
                        "contentChanges": [{"range": {"start": start, "end": end}, "text": insert}]}}),
                );
            }
            4 => {
                // The whole text, replaced by the next bytes.
                let Some(len) = program.byte() else { break };
                let take = usize::from(len).min(program.data.len());
                let new_text = String::from_utf8_lossy(&program.data[..take]).into_owned();
                program.data = &program.data[take..];
                text = new_text.replace('\u{E000}', "\u{FFFD}").chars().collect();
                version += 1;
                message(
                    &mut wire,
                    &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": URI, "version": version}, "contentChanges": [{"text": new_text}]}}),
                );
            }
            5 | 6 => {
                // A request at any position, in range or not.
                let (Some(which), Some(line), Some(character)) =
                    (program.byte(), program.byte(), program.byte())
                else {
                    break;
                };
                let method = REQUESTS[usize::from(which) % REQUESTS.len()];
                let position = json!({"line": line % 40, "character": character % 90});
                let params = json!({
                    "textDocument": {"uri": URI}, "position": position,
                    "range": {"start": position, "end": position},
                    "context": {"diagnostics": [], "includeDeclaration": true},
                    "newName": "renamed",
                    "positions": [position],
                });
                message(
                    &mut wire,
                    &json!({"jsonrpc": "2.0", "id": next_id, "method": method, "params": params}),
                );
                requests.push(next_id);
                next_id += 1;
            }
            _ => {
                // A well-framed body that is not a message: the reader answers or logs it and reads on.
                let Some(len) = program.byte() else { break };
                let take = usize::from(len).min(program.data.len());
                let body = &program.data[..take];
                program.data = &program.data[take..];
                // A body that is a message after all (an `exit`, a change of the document) would change the
                // program: it is left out.
                let is_message =
                    serde_json::from_slice::<Value>(body).is_ok_and(|v| v.get("method").is_some());
                if !is_message {
                    frame(&mut wire, body);
                }
            }
        }
    }
    message(
        &mut wire,
        &json!({"jsonrpc": "2.0", "id": DEBUG_TEXT_ID, "method": "odp/debugText", "params": {"uri": URI}}),
    );
    requests.push(DEBUG_TEXT_ID);
    message(
        &mut wire,
        &json!({"jsonrpc": "2.0", "id": DEBUG_TEXT_ID + 1, "method": "shutdown"}),
    );
    requests.push(DEBUG_TEXT_ID + 1);
    message(&mut wire, &json!({"jsonrpc": "2.0", "method": "exit"}));

    let sink = Sink::default();
    let served = odp_server::serve(Cursor::new(wire), sink.clone());
    assert!(served.is_ok(), "the server ended with {served:?}");

    let output = sink.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut answered: Vec<i64> = Vec::new();
    let mut server_text = None;
    for msg in read_frames(&output) {
        if let Some(id) = msg.get("id").and_then(Value::as_i64)
            && msg.get("method").is_none()
        {
            assert!(
                msg.get("result").is_some() || msg.get("error").is_some(),
                "{msg}"
            );
            if id == DEBUG_TEXT_ID {
                server_text = Some(msg["result"].clone());
            }
            answered.push(id);
        }
    }
    answered.sort_unstable();
    let mut expected = requests.clone();
    expected.sort_unstable();
    // Garbage frames may carry ids of their own (answered -32600): every request of ours is answered.
    for id in &expected {
        assert!(
            answered.contains(id),
            "request {id} has no answer: {answered:?}"
        );
    }
    let state = server_text.expect("odp/debugText answered");
    let client: String = text.iter().collect();
    assert_eq!(state["outOfSync"], Value::Null, "{state}");
    assert_eq!(
        state["text"].as_str(),
        Some(client.as_str()),
        "the server's text is not the client's"
    );
}

/// The messages in a stream of frames.
fn read_frames(mut bytes: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(header_end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let header = String::from_utf8_lossy(&bytes[..header_end]);
        let len: usize = header
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("every frame has a Content-Length");
        let body = &bytes[header_end + 4..header_end + 4 + len];
        out.push(serde_json::from_slice(body).expect("the server writes JSON"));
        bytes = &bytes[header_end + 4 + len..];
    }
    out
}
