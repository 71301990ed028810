//! Reading messages: the signature check (HMAC-SHA256, by `jupyter-zmq-client`), the frames, and the content of
//! each request type (with the defaults some clients leave out).

use jupyter_protocol::{Header, JupyterMessage, JupyterMessageContent, UnknownMessage};
use jupyter_zmq_client::{Connection, RawMessage, RuntimeError};
use serde_json::{Value, json};
use zeromq::SocketRecv;

/// A received message; `problem` says why its content could not be read (it is answered with an error).
pub struct Incoming {
    pub msg: JupyterMessage,
    pub problem: Option<String>,
}

/// Fills in what some clients leave out (jupyter_client's `history()` sends only the fields it was given).
fn normalize(msg_type: &str, content: &mut Value) {
    let Some(map) = content.as_object_mut() else {
        return;
    };
    let mut default = |k: &str, v: Value| {
        if map.get(k).is_none_or(Value::is_null) {
            map.insert(k.to_string(), v);
        }
    };
    match msg_type {
        "history_request" => {
            default("output", json!(false));
            default("raw", json!(true));
            default("hist_access_type", json!("tail"));
            default("n", json!(0));
            default("unique", json!(false));
            default("pattern", json!("*"));
            default("start", json!(0));
            default("stop", json!(0));
        }
        "execute_request" => {
            default("silent", json!(false));
            default("store_history", json!(true));
            default("user_expressions", json!({}));
        }
        "shutdown_request" => default("restart", json!(false)),
        "complete_request" | "inspect_request" => default("cursor_pos", json!(0)),
        _ => {}
    }
}

/// Why a message whose signature was checked cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{0} JSON frames, expected 4")]
    Frames(usize),
    #[error("bad header: {0}")]
    Header(#[source] serde_json::Error),
    #[error("bad content: {0}")]
    Content(#[source] serde_json::Error),
}

/// Decodes a raw message whose signature was checked.
pub fn decode(raw: RawMessage) -> Result<Incoming, DecodeError> {
    if raw.jparts.len() < 4 {
        return Err(DecodeError::Frames(raw.jparts.len()));
    }
    let header: Header = serde_json::from_slice(&raw.jparts[0]).map_err(DecodeError::Header)?;
    let parent_header: Option<Header> = serde_json::from_slice(&raw.jparts[1]).ok();
    let metadata: Value = serde_json::from_slice(&raw.jparts[2]).unwrap_or_else(|_| json!({}));
    let mut content: Value =
        serde_json::from_slice(&raw.jparts[3]).map_err(DecodeError::Content)?;
    normalize(&header.msg_type, &mut content);
    let (content, problem) =
        match JupyterMessageContent::from_type_and_content(&header.msg_type, content.clone()) {
            Ok(c) => (c, None),
            Err(e) => (
                JupyterMessageContent::UnknownMessage(UnknownMessage {
                    msg_type: header.msg_type.clone(),
                    content,
                }),
                Some(format!("cannot read a `{}`: {e}", header.msg_type)),
            ),
        };
    Ok(Incoming {
        msg: JupyterMessage {
            zmq_identities: raw.zmq_identities,
            header,
            parent_header,
            metadata,
            content,
            buffers: raw.jparts[4..].to_vec(),
            channel: None,
        },
        problem,
    })
}

/// Reads the next message of a channel. A message with a bad signature or broken frames is logged and dropped
/// (`Ok(None)`); `Err` is a socket error.
pub(super) async fn read<S: SocketRecv>(
    conn: &mut Connection<S>,
    channel: &str,
) -> Result<Option<Incoming>, zeromq::ZmqError> {
    let multipart = conn.socket.recv().await?;
    let raw = match RawMessage::from_multipart(multipart, &conn.mac) {
        Ok(raw) => raw,
        Err(RuntimeError::VerifyError(_)) => {
            tracing::warn!(
                channel,
                "rejected a message with a wrong signature (HMAC-SHA256 does not match the connection key)"
            );
            return Ok(None);
        }
        Err(RuntimeError::DecodeError(_)) => {
            tracing::warn!(
                channel,
                "rejected a message with a malformed signature (not hex)"
            );
            return Ok(None);
        }
        Err(e) => {
            tracing::warn!(channel, error = %e, "rejected a malformed message");
            return Ok(None);
        }
    };
    match decode(raw) {
        Ok(incoming) => Ok(Some(incoming)),
        Err(e) => {
            tracing::warn!(channel, error = %e, "rejected a message that cannot be read");
            Ok(None)
        }
    }
}
