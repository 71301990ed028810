//! The server survives malformed input: bodies that are not JSON-RPC are answered (or logged) and the server reads
//! on; a lone surrogate keeps the text in sync; a change that cannot be applied leaves the document out of sync
//! until the whole text comes again; only a stream that cannot be framed ends the server, with the reason.

use std::collections::VecDeque;
use std::io::{BufReader, Read, Write};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use lsp_server::{Message, Notification, RequestId, Response};
use odp_syntax::random_edits::Rng;
use serde_json::{Value, json};

use super::{Client, PIPELINE, URI};
use crate::ServerError;

/// The server's stdin: chunks of bytes written by the test, the end of input when the test drops its sender.
struct PipeReader {
    chunks: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.chunks.recv_timeout(Duration::from_secs(20)) {
                Ok(chunk) => (self.chunk, self.at) = (chunk, 0),
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(0),
                Err(timeout) => return Err(std::io::Error::other(timeout)),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The server's stdout.
struct PipeWriter(Sender<Vec<u8>>);

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.send(buf.to_vec()).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn pipe() -> (Sender<Vec<u8>>, PipeReader) {
    let (tx, rx) = unbounded();
    (
        tx,
        PipeReader {
            chunks: rx,
            chunk: Vec::new(),
            at: 0,
        },
    )
}

/// A client that speaks to `crate::serve` in bytes, as an editor does over stdio.
struct ByteClient {
    input: Option<Sender<Vec<u8>>>,
    /// Bytes written so far.
    sent: std::cell::Cell<usize>,
    output: BufReader<PipeReader>,
    notifications: VecDeque<Notification>,
    server: JoinHandle<Result<(), ServerError>>,
}

impl ByteClient {
    fn start() -> ByteClient {
        let (input, server_in) = pipe();
        let (server_out, output) = pipe();
        let server = std::thread::spawn(move || {
            crate::serve(BufReader::new(server_in), PipeWriter(server_out))
        });
        let mut client = ByteClient {
            input: Some(input),
            sent: Default::default(),
            output: BufReader::new(output),
            notifications: VecDeque::new(),
            server,
        };
        client.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"capabilities": {}, "processId": null, "initializationOptions": {"testing": true}}}));
        let init = client.response(RequestId::from(0));
        assert_eq!(
            init.response_result.unwrap()["serverInfo"]["name"],
            "odp-lsp"
        );
        client.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
        client
    }

    fn write(&self, bytes: &[u8]) {
        self.sent.set(self.sent.get() + bytes.len());
        self.input
            .as_ref()
            .expect("the input is open")
            .send(bytes.to_vec())
            .unwrap();
    }

    /// One frame with this body.
    fn send_body(&self, body: &[u8]) {
        self.write(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        self.write(body);
    }

    fn send(&self, message: Value) {
        self.send_body(message.to_string().as_bytes());
    }

    fn message(&mut self) -> Message {
        Message::read(&mut self.output)
            .expect("the server writes frames")
            .expect("the server is still writing")
    }

    /// The responses up to and including the one to `last`, in the order they came.
    fn responses_until(&mut self, last: RequestId) -> Vec<Response> {
        let mut responses = Vec::new();
        loop {
            match self.message() {
                Message::Response(r) => {
                    let done = r.id == last;
                    responses.push(r);
                    if done {
                        return responses;
                    }
                }
                Message::Notification(n) => self.notifications.push_back(n),
                Message::Request(r) => panic!("the server asked {r:?}"),
            }
        }
    }

    fn response(&mut self, id: RequestId) -> Response {
        self.responses_until(id).pop().unwrap()
    }

    fn debug_text(&mut self, id: i32) -> Value {
        self.send(
            json!({"jsonrpc": "2.0", "id": id, "method": "odp/debugText", "params": {"uri": URI}}),
        );
        self.response(RequestId::from(id))
            .response_result
            .expect("debugText answers")
    }

    /// Closes the input and waits for the server.
    fn hang_up(mut self) -> Result<(), ServerError> {
        self.input = None;
        self.server.join().unwrap()
    }
}

#[test]
fn malformed_bodies_are_answered_where_they_have_an_id_and_the_server_reads_on() {
    let mut client = ByteClient::start();
    client.send_body(b"{\"jsonrpc\": \"2.0\", \"id\": 1, ");
    client.send_body(br#"{"jsonrpc":"2.0","id":2,"method":5}"#);
    client.send_body(b"[]");
    client.send_body(b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"x\xff\"}");
    client.send_body(br#"{"jsonrpc":"2.0","id":{"a":1},"method":"shutdown"}"#);
    client.send_body(br#"{"jsonrpc":"2.0","id":"four","method":["shutdown"]}"#);
    client.send(json!({"jsonrpc": "2.0", "id": 5, "method": "shutdown"}));
    // Only the bodies whose id could be read are answered, in order, and then the next request is.
    let responses = client.responses_until(RequestId::from(5));
    let answers: Vec<(String, Option<i32>)> = responses
        .iter()
        .map(|r| {
            (
                r.id.to_string(),
                r.response_result.as_ref().err().map(|e| e.code),
            )
        })
        .collect();
    assert_eq!(
        answers,
        [
            ("2".into(), Some(-32600)),
            ("\"four\"".into(), Some(-32600)),
            ("5".into(), None)
        ]
    );
    let error = responses[0].response_result.as_ref().unwrap_err();
    assert!(
        error
            .message
            .contains("the method is a number, not a string"),
        "{}",
        error.message
    );
    client.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    client.hang_up().expect("a clean exit");
}

/// UTF-16 code units as a JSON string's contents, escaping every unit outside printable ASCII.
fn json_string(units: &[u16]) -> String {
    let mut out = String::new();
    for &u in units {
        match u {
            0x22 => out.push_str("\\\""),
            0x5C => out.push_str("\\\\"),
            0x20..0x7F => out.push(u as u8 as char),
            _ => out.push_str(&format!("\\u{u:04x}")),
        }
    }
    out
}

/// The UTF-16 position of a unit index, lines broken at `\n`.
fn utf16_position(units: &[u16], at: usize) -> Value {
    let line_start = units[..at]
        .iter()
        .rposition(|&u| u == 0x0A)
        .map_or(0, |i| i + 1);
    let line = units[..at].iter().filter(|&&u| u == 0x0A).count();
    json!({"line": line, "character": at - line_start})
}

#[test]
fn lone_surrogates_decode_to_one_replacement_character_and_later_positions_still_match() {
    let mut client = ByteClient::start();
    // Pieces of text as the client holds them, in UTF-16: lone halves, a pair, the halves in the wrong order, a
    // lone half before a pair, and a backslash with `ud800` after it, which is text, not an escape.
    let pieces: Vec<Vec<u16>> = [
        vec![0xD83D],
        vec![0xDC00],
        vec![0xD83D, 0xDE00],
        vec![0xDE00, 0xD83D],
        vec![0xD83D, 0xD83D, 0xDE00],
        "\\ud800".encode_utf16().collect(),
        "a".encode_utf16().collect(),
        "é\n".encode_utf16().collect(),
        "\"".encode_utf16().collect(),
        Vec::new(),
    ]
    .into();
    // What the server should hold: each lone half is U+FFFD, one code unit like the half it replaces.
    let decoded = |units: &[u16]| -> Vec<u16> {
        char::decode_utf16(units.iter().copied())
            .map(|c| c.unwrap_or('\u{FFFD}'))
            .collect::<String>()
            .encode_utf16()
            .collect()
    };
    let opened: Vec<u16> = [0xDC00, 0x61, 0x0A, 0x62].into();
    client.send_body(
        format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{URI}","languageId":"yaml","version":1,"text":"{}"}}}}}}"#,
            json_string(&opened)
        )
        .as_bytes(),
    );
    let mut text = decoded(&opened);
    let mut rng = Rng(11);
    let mut version = 1;
    for _ in 0..300 {
        // Never split a pair: positions address whole characters.
        let splits_a_pair =
            |at: usize| at > 0 && at < text.len() && (0xD800..0xDC00).contains(&text[at - 1]);
        let mut start = rng.below(text.len() + 1);
        if splits_a_pair(start) {
            start += 1;
        }
        let mut end = (start + rng.below(3)).min(text.len());
        if splits_a_pair(end) {
            end += 1;
        }
        let piece = &pieces[rng.below(pieces.len())];
        let range =
            json!({"start": utf16_position(&text, start), "end": utf16_position(&text, end)});
        text.splice(start..end, decoded(piece));
        version += 1;
        client.send_body(
            format!(
                r#"{{"jsonrpc":"2.0","method":"textDocument/didChange","params":{{"textDocument":{{"uri":"{URI}","version":{version}}},"contentChanges":[{{"range":{range},"text":"{}"}}]}}}}"#,
                json_string(piece)
            )
            .as_bytes(),
        );
    }
    let server = client.debug_text(1);
    assert_eq!(server["version"], version, "every change was taken");
    assert_eq!(server["outOfSync"], Value::Null);
    let server_text: Vec<u16> = server["text"].as_str().unwrap().encode_utf16().collect();
    assert_eq!(
        String::from_utf16_lossy(&server_text),
        String::from_utf16_lossy(&text)
    );
    assert!(text.contains(&0xFFFD) && text.windows(2).any(|w| w == [0xD83D, 0xDE00]));
    client.send(json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}));
    client.response(RequestId::from(2));
    client.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    client.hang_up().expect("a clean exit");
}

#[test]
fn only_an_unframeable_stream_or_the_end_of_input_ends_the_server_and_it_says_which() {
    let client = ByteClient::start();
    let garbage_at = client.sent.get() + 23;
    client.write(b"Content-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\n\r\n");
    let error = client.server.join().unwrap().expect_err("the server stops");
    assert!(
        matches!(
            error,
            ServerError::Stream(crate::StreamError::Unframeable { .. })
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "the client's input cannot be framed at byte {garbage_at}: \
             a header line without `name: value`: \"GET / HTTP/1.1\""
        )
    );

    let client = ByteClient::start();
    client.write(b"Content-Length: 40\r\n\r\n{\"jsonrpc\"");
    let error = client.hang_up().expect_err("the server stops");
    assert!(
        error
            .to_string()
            .contains("the input ended inside a message: 10 of its 40 bytes"),
        "{error}"
    );

    let client = ByteClient::start();
    let error = client.hang_up().expect_err("no exit was sent");
    assert_eq!(
        error.to_string(),
        "the connection closed: the client hung up"
    );
}

/// The notifications up to the diagnostics of `version`.
fn notifications_until_diagnostics(client: &mut Client, version: i64) -> Vec<Notification> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let n = match client.pending.pop_front() {
            Some(n) => n,
            None => match client
                .conn
                .receiver
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("diagnostics arrive in time")
            {
                Message::Notification(n) => n,
                Message::Request(r) => {
                    client.answer_server_request(r);
                    continue;
                }
                Message::Response(_) => continue,
            },
        };
        let done = n.method == "textDocument/publishDiagnostics"
            && n.params["uri"] == URI
            && n.params["version"] == version;
        seen.push(n);
        if done {
            return seen;
        }
    }
}

fn change(client: &Client, version: i64, changes: Value) {
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": changes}),
    );
}

fn messages_shown(notifications: &[Notification]) -> Vec<String> {
    notifications
        .iter()
        .filter(|n| n.method == "window/showMessage")
        .map(|n| {
            format!(
                "{} {}",
                n.params["type"],
                n.params["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn published(notifications: &[Notification]) -> &Value {
    &notifications.last().unwrap().params["diagnostics"]
}

const BROKEN: &str = "name: out of sync\nsources:\n  - name: tweets\n    method: social.twiter.search\n    params: {query: x}\n";

fn codes(diagnostics: &Value) -> Vec<&str> {
    diagnostics
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect()
}

#[test]
fn a_change_outside_the_text_puts_the_document_out_of_sync_until_the_whole_text_comes() {
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, BROKEN);
    assert!(codes(&json!(client.diagnostics(URI, 1))).contains(&"ODP300"));
    let symbols = json!({"textDocument": {"uri": URI}});
    assert_ne!(
        client.request("textDocument/documentSymbol", symbols.clone()),
        json!([])
    );

    // Line 99 of a 6-line text: the client's text is not the server's.
    change(
        &client,
        2,
        json!([{"range": {"start": {"line": 99, "character": 0}, "end": {"line": 99, "character": 0}}, "text": "x"}]),
    );
    let seen = notifications_until_diagnostics(&mut client, 2);
    assert_eq!(
        messages_shown(&seen),
        [
            "1 odp: lost track of the text of flow.odp.yaml (a change at line 99 of a document of 6 lines); \
          its diagnostics are off until you close and reopen it"
        ]
    );
    assert_eq!(
        published(&seen),
        &json!([]),
        "no diagnostics for a text that may be wrong"
    );

    // Range changes are skipped from now on, without another message, and nothing is answered about the text.
    change(
        &client,
        3,
        json!([{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "y"}]),
    );
    let seen = notifications_until_diagnostics(&mut client, 3);
    assert_eq!(messages_shown(&seen), Vec::<String>::new());
    assert_eq!(published(&seen), &json!([]));
    let state = client.request("odp/debugText", json!({"uri": URI}));
    assert_eq!(state["text"], BROKEN);
    assert_eq!(state["version"], 3);
    assert_eq!(
        state["outOfSync"],
        "a change at line 99 of a document of 6 lines"
    );
    assert_eq!(
        client.request("textDocument/documentSymbol", symbols.clone()),
        json!([])
    );

    // The whole text brings it back, with the changes after it in the same notification.
    change(
        &client,
        4,
        json!([{"text": BROKEN},
               {"range": {"start": {"line": 3, "character": 22}, "end": {"line": 3, "character": 22}}, "text": "t"}]),
    );
    let seen = notifications_until_diagnostics(&mut client, 4);
    assert_eq!(messages_shown(&seen), Vec::<String>::new());
    let state = client.request("odp/debugText", json!({"uri": URI}));
    let fixed = BROKEN.replace("twiter", "twitter");
    assert_eq!(
        (state["text"].as_str(), &state["outOfSync"]),
        (Some(fixed.as_str()), &Value::Null)
    );
    assert!(!codes(published(&seen)).contains(&"ODP300"));
    change(
        &client,
        5,
        json!([{"range": {"start": {"line": 3, "character": 22}, "end": {"line": 3, "character": 23}}, "text": ""}]),
    );
    assert!(codes(&json!(client.diagnostics(URI, 5))).contains(&"ODP300"));
    assert_ne!(
        client.request("textDocument/documentSymbol", symbols),
        json!([])
    );
    client.shutdown();
}

#[test]
fn a_reversed_or_unreadable_change_puts_the_document_out_of_sync_until_it_is_reopened() {
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, PIPELINE);
    client.diagnostics(URI, 1);
    change(
        &client,
        2,
        json!([{"range": {"start": {"line": 1, "character": 5}, "end": {"line": 1, "character": 1}}, "text": "x"}]),
    );
    let seen = notifications_until_diagnostics(&mut client, 2);
    let shown = messages_shown(&seen);
    assert!(
        shown.len() == 1
            && shown[0].contains("(a change whose range ends (1:1) before it starts (1:5))"),
        "{shown:?}"
    );
    assert_eq!(published(&seen), &json!([]));

    // Reopened: in sync again.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": URI}}),
    );
    client.open(URI, BROKEN);
    assert!(codes(&json!(client.diagnostics(URI, 1))).contains(&"ODP300"));

    // A change that cannot even be read (a position without its character) cannot be applied either.
    change(
        &client,
        2,
        json!([{"range": {"start": {"line": 0}, "end": {"line": 0, "character": 1}}, "text": "x"}]),
    );
    let seen = notifications_until_diagnostics(&mut client, 1);
    let shown = messages_shown(&seen);
    assert!(
        shown.len() == 1
            && shown[0].contains("(a change that could not be read: missing field `character`"),
        "{shown:?}"
    );
    assert_eq!(published(&seen), &json!([]));
    let state = client.request("odp/debugText", json!({"uri": URI}));
    assert_eq!(
        (state["text"].as_str(), state["version"].as_i64()),
        (Some(BROKEN), Some(1))
    );
    assert!(state["outOfSync"].is_string());
    client.shutdown();
}

#[test]
fn a_draft_is_refused_for_a_document_out_of_sync() {
    let mut client = Client::start(json!({"testing": true}), false);
    client.open(URI, PIPELINE);
    client.diagnostics(URI, 1);
    change(
        &client,
        2,
        json!([{"range": {"start": {"line": 50, "character": 0}, "end": {"line": 50, "character": 0}}, "text": "x"}]),
    );
    notifications_until_diagnostics(&mut client, 2);
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "odp.generateDraft", "arguments": [{"request": "search tweets", "uri": URI}]}),
    );
    let (code, message) = client.response(id).expect_err("refused");
    assert_eq!(code, lsp_server::ErrorCode::RequestFailed as i32);
    assert!(message.contains("lost track of the text"), "{message}");
    client.shutdown();
}
