//! Requests about the code rather than runs of it: `complete_request`, `inspect_request` and `history_request`.

use jupyter_protocol::{
    CompleteReply, HistoryEntry, HistoryReply, HistoryRequest, InspectReply, JupyterMessage, Media,
    ReplyStatus,
};
use serde_json::{Map, Value, json};

use super::Kernel;
use super::replies::{isolate, media, reply_error};
use crate::session::{HISTORY_SESSION, byte_to_char, char_to_byte};

impl Kernel {
    pub(super) fn complete(
        &self,
        parent: &JupyterMessage,
        code: &str,
        cursor_pos: usize,
    ) -> JupyterMessage {
        let cursor = char_to_byte(code, cursor_pos);
        match isolate("complete_request", || self.session().complete(code, cursor)) {
            Ok(c) => {
                let start = byte_to_char(code, c.start);
                let end = byte_to_char(code, c.end);
                let types: Vec<Value> = c
                    .types
                    .iter()
                    .map(|(text, ty, detail)| {
                        json!({"start": start, "end": end, "text": text, "type": ty, "signature": detail})
                    })
                    .collect();
                let mut metadata = Map::new();
                metadata.insert("_jupyter_types_experimental".into(), Value::Array(types));
                CompleteReply {
                    matches: c.matches,
                    cursor_start: start,
                    cursor_end: end,
                    metadata,
                    status: ReplyStatus::Ok,
                    error: None,
                }
                .as_child_of(parent)
            }
            Err(e) => CompleteReply {
                matches: Vec::new(),
                cursor_start: cursor_pos,
                cursor_end: cursor_pos,
                metadata: Map::new(),
                status: ReplyStatus::Error,
                error: reply_error(&e),
            }
            .as_child_of(parent),
        }
    }

    pub(super) fn inspect(
        &self,
        parent: &JupyterMessage,
        code: &str,
        cursor_pos: usize,
    ) -> JupyterMessage {
        let cursor = char_to_byte(code, cursor_pos);
        match isolate("inspect_request", || self.session().inspect(code, cursor)) {
            Ok(found) => {
                let mut data = Map::new();
                if let Some(md) = &found {
                    data.insert("text/plain".into(), Value::String(md.clone()));
                    data.insert("text/markdown".into(), Value::String(md.clone()));
                }
                InspectReply {
                    found: found.is_some(),
                    data: media(data),
                    metadata: Map::new(),
                    status: ReplyStatus::Ok,
                    error: None,
                }
                .as_child_of(parent)
            }
            Err(e) => InspectReply {
                found: false,
                data: Media::default(),
                metadata: Map::new(),
                status: ReplyStatus::Error,
                error: reply_error(&e),
            }
            .as_child_of(parent),
        }
    }

    pub(super) fn history(&self, parent: &JupyterMessage, req: &HistoryRequest) -> JupyterMessage {
        let result = isolate("history_request", || {
            let session = self.session();
            let items = session.history();
            let (selected, output): (Vec<_>, bool) = match req {
                HistoryRequest::Tail { n, output, .. } => {
                    let n = (*n).max(0) as usize;
                    let skip = if n == 0 {
                        0
                    } else {
                        items.len().saturating_sub(n)
                    };
                    (items.iter().skip(skip).collect(), *output)
                }
                HistoryRequest::Range {
                    start,
                    stop,
                    output,
                    ..
                } => {
                    let (start, stop) = (*start as i64, *stop as i64);
                    (
                        items
                            .iter()
                            .filter(|i| {
                                let line = i.line as i64;
                                line >= start && (stop <= 0 || line < stop)
                            })
                            .collect(),
                        *output,
                    )
                }
                HistoryRequest::Search {
                    pattern,
                    unique,
                    output,
                    n,
                    ..
                } => {
                    let matcher = crate::session::history_matcher(pattern);
                    let mut found: Vec<_> = items
                        .iter()
                        .filter(|i| matcher.as_ref().is_some_and(|m| m.is_match(&i.input)))
                        .collect();
                    if *unique {
                        let mut seen = std::collections::HashSet::new();
                        let mut kept: Vec<_> = found
                            .into_iter()
                            .rev()
                            .filter(|i| seen.insert(i.input.clone()))
                            .collect();
                        kept.reverse();
                        found = kept;
                    }
                    let n = (*n).max(0) as usize;
                    if n > 0 && found.len() > n {
                        found = found.split_off(found.len() - n);
                    }
                    (found, *output)
                }
            };
            selected
                .into_iter()
                .map(|i| {
                    if output {
                        HistoryEntry::InputOutput(
                            HISTORY_SESSION,
                            i.line,
                            (i.input.clone(), i.output.clone()),
                        )
                    } else {
                        HistoryEntry::Input(HISTORY_SESSION, i.line, i.input.clone())
                    }
                })
                .collect::<Vec<_>>()
        });
        match result {
            Ok(history) => HistoryReply {
                history,
                status: ReplyStatus::Ok,
                error: None,
            }
            .as_child_of(parent),
            Err(e) => HistoryReply {
                history: Vec::new(),
                status: ReplyStatus::Error,
                error: reply_error(&e),
            }
            .as_child_of(parent),
        }
    }
}
