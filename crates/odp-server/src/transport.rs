//! LSP's base protocol under the server: frames of `Content-Length` headers and a JSON-RPC body, read and written
//! on two threads that feed the same channels of `lsp_server::Message` as `Connection::stdio`.
//!
//! lsp-server's own reader ends the connection at the first body it cannot parse, so one bad message from a
//! client stopped the server. Here a body that is not a JSON-RPC message is logged and, when it carries an id,
//! answered with a `-32700` (not JSON) or `-32600` (not a message) error by the reader itself; the reader then
//! goes on with the next frame. Only a stream that cannot be framed (bad headers, input ending inside a frame)
//! stops the reader, and the reason is kept for the server to report.

use std::io::{self, BufRead, Read, Write};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use serde_json::{Map, Value};

use crate::surrogates::replace_lone_surrogates;

/// A header line longer than this is not a header: the reader stops rather than buffer garbage without end.
const MAX_HEADER_LINE: u64 = 8 * 1024;

/// Why the client's input cannot be read any further.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("reading the client's input: {0}")]
    Io(#[from] io::Error),
    #[error("the client's input cannot be framed at byte {offset}: {reason}")]
    Unframeable { offset: u64, reason: String },
}

/// A body the server cannot take, and the error answered when the body carries an id.
#[derive(Debug)]
pub(crate) struct Rejected {
    pub code: ErrorCode,
    pub id: Option<RequestId>,
    pub reason: String,
}

/// The reader and writer threads of a connection.
pub(crate) struct Transport {
    reader: JoinHandle<Result<(), StreamError>>,
    writer: JoinHandle<io::Result<()>>,
}

/// Starts reading frames from `input` and writing the server's messages to `output`.
pub(crate) fn spawn(
    input: impl BufRead + Send + 'static,
    output: impl Write + Send + 'static,
) -> (Connection, Transport) {
    // Unbuffered, as in lsp-server: a message is read only when the server takes the previous one.
    let (to_server, from_client) = bounded::<Message>(0);
    let (to_client, from_server) = bounded::<Message>(0);
    let answers = to_client.clone();
    let reader = std::thread::Builder::new()
        .name("odp-lsp-reader".into())
        .spawn(move || read_messages(input, &to_server, &answers))
        .expect("spawns the reader thread");
    let writer = std::thread::Builder::new()
        .name("odp-lsp-writer".into())
        .spawn(move || write_messages(output, &from_server))
        .expect("spawns the writer thread");
    (
        Connection {
            sender: to_client,
            receiver: from_client,
        },
        Transport { reader, writer },
    )
}

impl Transport {
    /// Why the reader stopped: `Ok` at `exit` or at the end of the input. Call it only once the reader has
    /// stopped (the server's receiver is disconnected, or `exit` was read), or it waits for more input.
    pub(crate) fn join_reader(self) -> Result<(), StreamError> {
        self.reader.join().unwrap_or_else(|panic| {
            std::panic::resume_unwind(panic);
        })
    }

    /// Waits for the reader (stopped at `exit`) and for the writer, which ends when every sender of the server's
    /// messages is dropped.
    pub(crate) fn join(self) -> Result<(), StreamError> {
        let writer = self.writer;
        let read = self.reader.join().unwrap_or_else(|panic| {
            std::panic::resume_unwind(panic);
        });
        let written = writer.join().unwrap_or_else(|panic| {
            std::panic::resume_unwind(panic);
        });
        read?;
        Ok(written?)
    }
}

fn read_messages(
    input: impl BufRead,
    to_server: &Sender<Message>,
    answers: &Sender<Message>,
) -> Result<(), StreamError> {
    let mut frames = FrameReader::new(input);
    while let Some((offset, body)) = frames.next_body()? {
        let message = match decode(&body) {
            Ok(message) => message,
            Err(rejected) => {
                tracing::warn!(
                    code = rejected.code as i32,
                    "rejected the client's message at byte {offset}: {}",
                    rejected.reason
                );
                if let Some(id) = rejected.id {
                    let answer = Response::new_err(
                        id,
                        rejected.code as i32,
                        format!("the message at byte {offset}: {}", rejected.reason),
                    );
                    let _ = answers.send(Message::Response(answer));
                }
                continue;
            }
        };
        let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
        if to_server.send(message).is_err() || exit {
            // The server stopped, or is stopping: nothing more is read.
            return Ok(());
        }
    }
    Ok(())
}

fn write_messages(mut output: impl Write, from_server: &Receiver<Message>) -> io::Result<()> {
    for message in from_server {
        message.write(&mut output)?;
    }
    Ok(())
}

/// Reads frames: header lines up to an empty line, then `Content-Length` bytes of body.
pub(crate) struct FrameReader<R> {
    input: R,
    /// Bytes read so far, for locating errors.
    offset: u64,
}

impl<R: BufRead> FrameReader<R> {
    pub(crate) fn new(input: R) -> Self {
        Self { input, offset: 0 }
    }

    /// The next body and the byte offset of its frame; `None` when the input ends between frames.
    pub(crate) fn next_body(&mut self) -> Result<Option<(u64, Vec<u8>)>, StreamError> {
        let start = self.offset;
        let unframeable = |reason: String| StreamError::Unframeable {
            offset: start,
            reason,
        };
        let mut length = None;
        let mut first = true;
        loop {
            let line = self.header_line()?;
            if line.is_empty() {
                return if first {
                    Ok(None)
                } else {
                    Err(unframeable("the input ended inside the headers".into()))
                };
            }
            first = false;
            if !line.ends_with(b"\n") {
                return Err(unframeable(if line.len() as u64 > MAX_HEADER_LINE {
                    format!("a header line longer than {MAX_HEADER_LINE} bytes")
                } else {
                    "the input ended inside the headers".into()
                }));
            }
            // LSP ends header lines with `\r\n`; a bare `\n` is taken too.
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            let (name, value) = header(line).map_err(unframeable)?;
            // Content-Type is the only other header LSP defines, and its only charset is utf-8.
            if name.eq_ignore_ascii_case("content-length") {
                let n = value.parse::<usize>().map_err(|_| {
                    unframeable(format!("Content-Length is not a byte count: {value:?}"))
                })?;
                length = Some(n);
            }
        }
        let Some(length) = length else {
            return Err(unframeable("a frame without Content-Length".into()));
        };
        // Read up to the announced length without allocating it up front: a wrong header costs no memory.
        let mut body = Vec::new();
        let read = (&mut self.input)
            .take(length as u64)
            .read_to_end(&mut body)?;
        self.offset += read as u64;
        if read < length {
            return Err(unframeable(format!(
                "the input ended inside a message: {read} of its {length} bytes"
            )));
        }
        Ok(Some((start, body)))
    }

    /// One header line with its line break; empty at the end of the input.
    fn header_line(&mut self) -> Result<Vec<u8>, StreamError> {
        let mut line = Vec::new();
        (&mut self.input)
            .take(MAX_HEADER_LINE + 1)
            .read_until(b'\n', &mut line)?;
        self.offset += line.len() as u64;
        Ok(line)
    }
}

/// A header's name and value. Names are HTTP tokens, which also tells a header from a JSON body sent without one.
fn header(line: &[u8]) -> Result<(&str, &str), String> {
    let shown = || String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
    let text =
        std::str::from_utf8(line).map_err(|_| format!("a header is not text: {:?}", shown()))?;
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("a header line without `name: value`: {:?}", shown()))?;
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!("not a header name: {:?}", shown()));
    }
    Ok((name, value.trim()))
}

/// A body as a message: JSON (a lone surrogate escape decoded to U+FFFD), then an object that is a request, a
/// notification or a response.
pub(crate) fn decode(body: &[u8]) -> Result<Message, Rejected> {
    let value = match serde_json::from_slice::<Value>(body) {
        Ok(value) => value,
        Err(first) => {
            let parsed = match replace_lone_surrogates(body) {
                Some((repaired, count)) => {
                    tracing::debug!(count, "decoded lone surrogate escapes to U+FFFD");
                    serde_json::from_slice::<Value>(&repaired)
                }
                None => Err(first),
            };
            parsed.map_err(|e| Rejected {
                code: ErrorCode::ParseError,
                id: None,
                reason: format!("the body is not JSON: {e}"),
            })?
        }
    };
    let Value::Object(mut object) = value else {
        return Err(invalid(
            None,
            match value {
                Value::Array(_) => "a batch (an array), which LSP does not use".into(),
                other => format!("not a JSON-RPC message (an object) but {}", kind(&other)),
            },
        ));
    };
    let id = match object.get("id") {
        None | Some(Value::Null) => None,
        Some(id) => Some(request_id(id)?),
    };
    let params = object.remove("params").unwrap_or(Value::Null);
    match (object.remove("method"), id) {
        (Some(Value::String(method)), Some(id)) => {
            Ok(Message::Request(Request { id, method, params }))
        }
        (Some(Value::String(method)), None) => {
            Ok(Message::Notification(Notification { method, params }))
        }
        (Some(method), id) => Err(invalid(
            id,
            format!("the method is {}, not a string", kind(&method)),
        )),
        (None, Some(id)) => response(id, object),
        (None, None) => Err(invalid(
            None,
            "a message with neither a method nor an id".into(),
        )),
    }
}

/// What a JSON value is, for errors that must not echo the client's text (it may be a whole document).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn invalid(id: Option<RequestId>, reason: String) -> Rejected {
    Rejected {
        code: ErrorCode::InvalidRequest,
        id,
        reason,
    }
}

/// An id as lsp-server keeps it: an `i32` or a string. Another id cannot be answered.
fn request_id(id: &Value) -> Result<RequestId, Rejected> {
    match id {
        Value::String(s) => Ok(RequestId::from(s.clone())),
        Value::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(RequestId::from)
            .ok_or_else(|| invalid(None, format!("the id {n} is not a 32-bit integer"))),
        other => Err(invalid(
            None,
            format!("the id is {}, neither an integer nor a string", kind(other)),
        )),
    }
}

/// A response to one of the server's requests. A malformed one is never answered: JSON-RPC answers requests only.
fn response(id: RequestId, mut object: Map<String, Value>) -> Result<Message, Rejected> {
    let not_answered = |reason: String| invalid(None, format!("a response to {id}: {reason}"));
    let response_result = match (object.remove("result"), object.remove("error")) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(serde_json::from_value(error)
            .map_err(|e| not_answered(format!("its error is malformed: {e}")))?),
        _ => {
            return Err(not_answered(
                "it needs exactly one of `result` and `error`".into(),
            ));
        }
    };
    Ok(Message::Response(Response {
        id,
        response_result,
    }))
}

#[cfg(test)]
mod tests;
