//! Replies: errors as the protocol has them, MIME bundles, payloads, `kernel_info`, and the guard that turns a
//! handler's panic into an error reply.

use std::panic::AssertUnwindSafe;

use jupyter_protocol::{
    CodeMirrorMode, HelpLink, JupyterMessage, JupyterMessageContent, KernelInfoReply, LanguageInfo,
    Media, Payload, ReplyError, ReplyStatus, UnknownMessage,
};
use serde_json::{Map, Value, json};

use crate::session::{CellError, CellOutput};

pub(super) fn reply_error(e: &CellError) -> Option<Box<ReplyError>> {
    Some(Box::new(ReplyError {
        ename: e.ename.clone(),
        evalue: e.evalue.clone(),
        traceback: e.traceback.clone(),
    }))
}

/// An error reply to a request whose content could not be read or whose type is unknown.
pub(super) fn generic_error_reply(
    msg: &JupyterMessage,
    ename: &str,
    evalue: &str,
) -> Option<JupyterMessage> {
    let msg_type = &msg.header.msg_type;
    let reply_type = msg_type.strip_suffix("_request")?;
    Some(JupyterMessage::new(
        JupyterMessageContent::UnknownMessage(UnknownMessage {
            msg_type: format!("{reply_type}_reply"),
            content: json!({
                "status": "error",
                "ename": ename,
                "evalue": evalue,
                "traceback": [format!("{ename}: {evalue}")],
            }),
        }),
        Some(msg),
    ))
}

pub(super) fn media(bundle: Map<String, Value>) -> Media {
    let plain = bundle
        .get("text/plain")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    serde_json::from_value(Value::Object(bundle))
        .unwrap_or_else(|_| Media::new(vec![jupyter_protocol::MediaType::Plain(plain)]))
}

/// The execute reply's payloads: pages (`%explain`), then the next cell's text (`%%draft`).
pub fn payloads(out: &CellOutput) -> Vec<Payload> {
    let mut payload: Vec<Payload> = out
        .pages
        .iter()
        .map(|page| Payload::Page {
            data: media(page.clone()),
            start: 0,
        })
        .collect();
    if let Some(text) = &out.next_input {
        payload.push(Payload::SetNextInput {
            text: text.clone(),
            replace: false,
        });
    }
    payload
}

/// Runs a handler, turning a panic into an error.
pub(super) fn isolate<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, CellError> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(what, %message, "a handler panicked");
        CellError::new(
            "InternalError",
            format!("odp kernel bug while handling {what}: {message} (the kernel goes on)"),
        )
    })
}

pub fn kernel_info(banner: &str) -> KernelInfoReply {
    KernelInfoReply {
        status: ReplyStatus::Ok,
        protocol_version: "5.3".into(),
        implementation: "odp-kernel".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        language_info: LanguageInfo {
            name: "odp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            mimetype: Some("text/x-yaml".into()),
            file_extension: Some(".yaml".into()),
            pygments_lexer: Some("yaml".into()),
            codemirror_mode: Some(CodeMirrorMode::Simple("yaml".into())),
            nbconvert_exporter: None,
        },
        banner: banner.into(),
        help_links: vec![HelpLink {
            text: "The ODP pipeline language".into(),
            url: format!(
                "{}/blob/main/docs/language.md",
                env!("CARGO_PKG_REPOSITORY")
            ),
        }],
        debugger: false,
        error: None,
    }
}
