//! The kernel's message handling. The harness signs each message with the connection key, as Jupyter does, so that
//! inputs pass the HMAC check (an unsigned input would stop there) and reach the decoder and the session: the first
//! byte picks the message type, the rest is the content frame as sent on the wire.
//!
//! Properties: a signed message verifies; decoding never panics (malformed content is an error or a `problem` the
//! kernel answers); the session handles every request without panicking (the server also isolates panics, which
//! the harness does not, so that they are found); completions replace a range inside the code, on character
//! boundaries.

use std::path::PathBuf;

use bytes::Bytes;
use jupyter_protocol::JupyterMessageContent;
use jupyter_zmq_client::RawMessage;
use odp_analysis::Registry;
use odp_exec::{RunOutcome, RunStatus, StepReport, StepStatus};
use odp_kernel::server::decode;
use odp_kernel::session::{Begin, Session, byte_to_char, char_to_byte};
use ring::hmac;
use serde_json::json;

/// The request types a client sends on the shell channel, and one no kernel knows.
const MSG_TYPES: &[&str] = &[
    "execute_request",
    "complete_request",
    "inspect_request",
    "is_complete_request",
    "history_request",
    "kernel_info_request",
    "comm_info_request",
    "comm_open",
    "interrupt_request",
    "shutdown_request",
    "usage_request",
];

const KEY: &[u8] = b"fuzz-connection-key";

/// The frames of a message signed with `key`, as a client puts them on the wire.
pub fn signed_frames(key: &hmac::Key, msg_type: &str, content: &[u8]) -> zeromq::ZmqMessage {
    let header = json!({
        "msg_id": "fuzz-1", "session": "fuzz", "username": "fuzz", "date": "2026-12-06T00:00:00Z",
        "msg_type": msg_type, "version": "5.3",
    });
    let jparts: [Vec<u8>; 4] = [
        header.to_string().into_bytes(),
        b"{}".to_vec(),
        b"{}".to_vec(),
        content.to_vec(),
    ];
    let signature = hmac::sign(key, &jparts.concat());
    let hex: String = signature
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut frames: Vec<Bytes> = vec![
        Bytes::from_static(b"client-identity"),
        Bytes::from_static(b"<IDS|MSG>"),
        Bytes::from(hex.into_bytes()),
    ];
    frames.extend(jparts.into_iter().map(Bytes::from));
    zeromq::ZmqMessage::try_from(frames).expect("frames are not empty")
}

/// Runs the checks on one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    let msg_type = MSG_TYPES[usize::from(selector) % MSG_TYPES.len()];
    let key = hmac::Key::new(hmac::HMAC_SHA256, KEY);
    let frames = signed_frames(&key, msg_type, content);
    let raw = RawMessage::from_multipart(frames, &Some(key)).expect("a signed message verifies");
    let Ok(incoming) = decode(raw) else {
        return;
    };
    if incoming.problem.is_some() {
        return;
    }
    let mut session = Session::new(Registry::bundled(), scratch_dir());
    match &incoming.msg.content {
        JupyterMessageContent::ExecuteRequest(req) => {
            // `%export` writes where the cell says: never from a fuzzer.
            if req.code.contains("%export") {
                return;
            }
            let count = session.start_cell(req.store_history);
            if let Begin::Run(job) = session.begin(&req.code, count) {
                // What the executor would report if every step succeeded, with a result of each JSON kind.
                let results = [
                    json!(null),
                    json!({"results": [{"text": "a"}]}),
                    json!([1, 2]),
                    json!("x"),
                ];
                let runs = job
                    .sources
                    .iter()
                    .chain(&job.transforms)
                    .enumerate()
                    .map(|(i, step)| {
                        let report = StepReport {
                            name: step.name.clone(),
                            method: step.method.clone(),
                            status: StepStatus::Completed,
                            attempts: 1,
                            duration_ms: 0,
                            error: None,
                        };
                        (report, results[i % results.len()].clone())
                    })
                    .collect::<Vec<_>>();
                let outcome = RunOutcome {
                    run_id: uuid::Uuid::nil(),
                    pipeline: "notebook".into(),
                    status: RunStatus::Completed,
                    duration_ms: 0,
                    error: None,
                    results: runs
                        .iter()
                        .map(|(r, v)| (r.name.clone(), v.clone()))
                        .collect(),
                    steps: runs.into_iter().map(|(r, _)| r).collect(),
                };
                let out = session.finish(job, &outcome, count);
                let text = out.result_text();
                session.end_cell(count, &req.code, text, req.store_history);
                // The session's steps are now in scope: the same cell again is checked against them.
                let _ = session.begin(&req.code, count + 1);
            }
        }
        JupyterMessageContent::CompleteRequest(req) => {
            let cursor = char_to_byte(&req.code, req.cursor_pos);
            let c = session.complete(&req.code, cursor);
            assert!(
                c.start <= c.end && c.end <= req.code.len(),
                "{}..{} in {}",
                c.start,
                c.end,
                req.code.len()
            );
            assert!(req.code.is_char_boundary(c.start) && req.code.is_char_boundary(c.end));
            let _ = (
                byte_to_char(&req.code, c.start),
                byte_to_char(&req.code, c.end),
            );
        }
        JupyterMessageContent::InspectRequest(req) => {
            let _ = session.inspect(&req.code, char_to_byte(&req.code, req.cursor_pos));
        }
        JupyterMessageContent::IsCompleteRequest(req) => {
            let _ = session.is_complete(&req.code);
        }
        _ => {}
    }
}

/// Where the session's relative paths point: a folder of the fuzzer's own.
fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("odp-fuzz-kernel");
    let _ = std::fs::create_dir_all(&dir);
    dir
}
