//! Framing and decoding, on bytes in memory.

use lsp_server::{ErrorCode, Message, RequestId};
use serde_json::json;

use super::{FrameReader, decode};

/// Every body of `input`, then the error that stopped the reader (`None` at a clean end).
fn frames(input: &[u8]) -> (Vec<(u64, String)>, Option<String>) {
    let mut reader = FrameReader::new(input);
    let mut bodies = Vec::new();
    loop {
        match reader.next_body() {
            Ok(Some((offset, body))) => {
                bodies.push((offset, String::from_utf8_lossy(&body).into_owned()))
            }
            Ok(None) => return (bodies, None),
            Err(e) => return (bodies, Some(e.to_string())),
        }
    }
}

#[test]
fn frames_split_on_content_length_whatever_the_body_holds() {
    // Headers in any case and order, extra headers, a bare `\n` line break; the body may hold `\r\n\r\n` and
    // anything else, even bytes that are not UTF-8.
    let input = b"Content-Length: 5\r\n\r\nhelloContent-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length:8\r\n\r\na\r\n\r\nb\xff\xfeCONTENT-LENGTH: 2\n\n{}";
    let (bodies, end) = frames(input);
    assert_eq!(end, None);
    assert_eq!(
        bodies,
        vec![
            (0, "hello".to_string()),
            (26, "a\r\n\r\nb\u{FFFD}\u{FFFD}".to_string()),
            (111, "{}".to_string()),
        ]
    );
}

#[test]
fn an_unframeable_stream_says_where_and_why() {
    let cases: [(&[u8], &str); 7] = [
        (
            b"Content-Length: 2\r\n\r\n{}{\"jsonrpc\":\"2.0\"}\r\n\r\n",
            "at byte 23: not a header name: \"{\\\"jsonrpc\\\"",
        ),
        (
            b"hello\r\n\r\n",
            "at byte 0: a header line without `name: value`: \"hello\"",
        ),
        (
            b"Content-Type: x\r\n\r\n{}",
            "at byte 0: a frame without Content-Length",
        ),
        (
            b"Content-Length: -3\r\n\r\n",
            "Content-Length is not a byte count: \"-3\"",
        ),
        (
            b"Content-Length: 10\r\n\r\n{}",
            "the input ended inside a message: 2 of its 10 bytes",
        ),
        (
            b"Content-Length: 10\r\n",
            "at byte 0: the input ended inside the headers",
        ),
        (b"Content-Len", "the input ended inside the headers"),
    ];
    for (input, expected) in cases {
        let (_, end) = frames(input);
        let end = end.expect("the reader stops");
        assert!(end.contains(expected), "{end}\nexpected: {expected}");
    }
    // Garbage without a line break is not buffered without end: the reader stops after one header line's worth.
    let total = 1u64 << 24;
    let mut garbage = std::io::Read::take(std::io::repeat(b'a'), total);
    let error = FrameReader::new(std::io::BufReader::new(&mut garbage))
        .next_body()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("at byte 0: a header line longer than 8192 bytes"),
        "{error}"
    );
    let consumed = total - garbage.limit();
    assert!(consumed < 64 * 1024, "read {consumed} bytes of garbage");
    // A huge announced length allocates nothing up front: the input ends first.
    let (_, end) = frames(b"Content-Length: 18446744073709551615\r\n\r\n{}");
    assert!(end.unwrap().contains("2 of its 18446744073709551615 bytes"));
}

#[test]
fn bodies_become_requests_notifications_and_responses() {
    let decoded = |body: &str| decode(body.as_bytes()).expect(body);
    match decoded(r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#) {
        Message::Request(r) => {
            assert_eq!((r.id, r.method.as_str()), (RequestId::from(3), "shutdown"));
            assert!(r.params.is_null());
        }
        other => panic!("{other:?}"),
    }
    match decoded(r#"{"jsonrpc":"2.0","method":"initialized","params":{"a":1}}"#) {
        Message::Notification(n) => assert_eq!(n.params, json!({"a": 1})),
        other => panic!("{other:?}"),
    }
    match decoded(r#"{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"no"}}"#) {
        Message::Response(r) => {
            assert_eq!(r.id, RequestId::from("x".to_string()));
            assert_eq!(r.response_result.unwrap_err().code, -32601);
        }
        other => panic!("{other:?}"),
    }
    match decoded(r#"{"jsonrpc":"2.0","id":4,"result":null}"#) {
        Message::Response(r) => assert!(r.response_result.unwrap().is_null()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bodies_that_are_not_messages_are_rejected_with_the_id_when_there_is_one() {
    let rejected = |body: &[u8]| {
        let r = decode(body).expect_err(&String::from_utf8_lossy(body));
        (r.code as i32, r.id, r.reason)
    };
    let parse = ErrorCode::ParseError as i32;
    let invalid = ErrorCode::InvalidRequest as i32;
    let cases: Vec<(&[u8], i32, Option<RequestId>, &str)> = vec![
        (
            b"{\"id\": 1, ",
            parse,
            None,
            "the body is not JSON: EOF while parsing",
        ),
        (
            b"{\"id\":1,\"method\":\"a\xff\"}",
            parse,
            None,
            "invalid unicode code point",
        ),
        (b"[]", invalid, None, "a batch"),
        (
            b"\"hello\"",
            invalid,
            None,
            "not a JSON-RPC message (an object) but a string",
        ),
        (
            br#"{"id":7,"method":5}"#,
            invalid,
            Some(RequestId::from(7)),
            "the method is a number, not a string",
        ),
        (
            br#"{"id":"s","method":null}"#,
            invalid,
            Some(RequestId::from("s".to_string())),
            "the method is null, not a string",
        ),
        (
            br#"{"id":{"n":1},"method":"x"}"#,
            invalid,
            None,
            "the id is an object, neither an integer nor a string",
        ),
        (
            br#"{"id":4294967296,"method":"x"}"#,
            invalid,
            None,
            "not a 32-bit integer",
        ),
        (
            br#"{"params":{}}"#,
            invalid,
            None,
            "neither a method nor an id",
        ),
        // A malformed response is never answered.
        (
            br#"{"id":2}"#,
            invalid,
            None,
            "a response to 2: it needs exactly one of",
        ),
        (
            br#"{"id":2,"error":"no"}"#,
            invalid,
            None,
            "its error is malformed",
        ),
    ];
    for (body, code, id, reason) in cases {
        let (got_code, got_id, got_reason) = rejected(body);
        assert_eq!((got_code, got_id), (code, id), "{got_reason}");
        assert!(
            got_reason.contains(reason),
            "{got_reason}\nexpected: {reason}"
        );
    }
}

#[test]
fn a_lone_surrogate_escape_decodes_to_the_replacement_character() {
    let body = br#"{"method":"m","params":{"text":"a\ud83db\ud83d\ude00"}}"#;
    match decode(body).expect("decodes") {
        Message::Notification(n) => assert_eq!(n.params["text"], "a\u{FFFD}b😀"),
        other => panic!("{other:?}"),
    }
    // Still a parse error when something else is wrong too, and the error is the remaining one.
    let r = decode(br#"{"method":"m","params":"\ud83d" x}"#).unwrap_err();
    assert_eq!(r.code as i32, ErrorCode::ParseError as i32);
    assert!(
        r.reason.contains("trailing characters") || r.reason.contains("expected"),
        "{}",
        r.reason
    );
}
