//! `odp.showGraph`: the pipeline as a picture for an editor's view (VS Code's webview, Neovim's `:OdpGraph`). The
//! picture is odp-graph's SVG of the server's current analysis of the open text, so it follows unsaved edits; with
//! it go the nodes' ranges in the client's position encoding, for a click on a node to jump to its step.
//!
//! Arguments: `[uri]` or `[uri, {"position": Position}]` (the cursor: its node is named as `current`). The answer:
//!
//! ```json
//! {"uri": "...", "version": 3, "svg": "<svg ...>", "errors": 0, "current": "odp-node-n2",
//!  "nodes": [{"id": "odp-node-n0", "name": "query", "kind": "input", "range": Range, "selectionRange": Range}]}
//! ```
//!
//! `id` is the SVG group's id; `range` is the step's list item (or the input's declaration), `selectionRange` its
//! name; both are null for a name that nothing defines.

use lsp_server::{ErrorCode, Message, Request, Response};
use lsp_types as lsp;
use odp_graph::{Format, Graph};
use serde_json::{Value, json};

use crate::dispatch;
use crate::global_state::{GlobalState, RequestTarget};
use crate::{from_proto, to_proto};

pub(crate) const SHOW_GRAPH: &str = "odp.showGraph";

/// The command's arguments.
#[derive(Debug)]
struct GraphArgs {
    uri: lsp::Uri,
    position: Option<lsp::Position>,
}

fn parse_args(arguments: &[Value]) -> Result<GraphArgs, String> {
    let mut args = arguments.iter();
    let uri = args
        .next()
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or("the first argument is the document's URI")?;
    let position = match args.next().map(|options| options.get("position")) {
        None | Some(None) | Some(Some(Value::Null)) => None,
        Some(Some(position)) => Some(
            serde_json::from_value(position.clone())
                .map_err(|e| format!("`position` is an LSP position: {e}"))?,
        ),
    };
    Ok(GraphArgs { uri, position })
}

/// Answers `odp.showGraph` on a worker thread (the analysis may take a while on a large file).
pub(crate) fn execute(state: &mut GlobalState, req: Request, params: lsp::ExecuteCommandParams) {
    let args = match parse_args(&params.arguments) {
        Ok(args) => args,
        Err(e) => {
            return state.send(Message::Response(Response::new_err(
                req.id,
                ErrorCode::InvalidParams as i32,
                format!("{SHOW_GRAPH}: {e}"),
            )));
        }
    };
    let snap = match state.request_target(&args.uri) {
        RequestTarget::Wait => return state.deferred.push(req),
        RequestTarget::Nothing => {
            return state.send(Message::Response(Response::new_err(
                req.id,
                ErrorCode::InvalidParams as i32,
                format!(
                    "{SHOW_GRAPH}: {} is not an open pipeline the server is in sync with",
                    args.uri.as_str()
                ),
            )));
        }
        RequestTarget::Snapshot(snap) => snap,
    };
    let (cache, encoding) = (state.cache.clone(), state.encoding);
    dispatch::spawn(state, req, move |_| {
        let analysis = snap.analysis(&cache);
        let text = snap.text();
        let graph = Graph::from_analysis(text, &analysis);
        let current = args
            .position
            .map(|p| from_proto::offset(&snap.rope, p, encoding))
            .and_then(|offset| graph.node_at(offset))
            .map(|n| format!("odp-node-{}", n.id));
        let range = |r: Option<odp_analysis::TextRange>| {
            r.filter(|r| r.end() <= text.len())
                .map(|r| to_proto::range(&snap.rope, r, encoding))
        };
        let nodes: Vec<Value> = graph
            .nodes
            .iter()
            .map(|n| {
                json!({
                    "id": format!("odp-node-{}", n.id),
                    "name": n.name,
                    "kind": n.kind.key(),
                    "range": range(n.range),
                    "selectionRange": range(n.name_range),
                })
            })
            .collect();
        Ok(json!({
            "uri": snap.uri.as_str(),
            "version": snap.version,
            "svg": odp_graph::render(&graph, Format::Svg),
            "errors": analysis.error_count(),
            "current": current,
            "nodes": nodes,
        }))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_uri_and_an_optional_position() {
        let args = parse_args(&[json!("file:///a.odp.yaml")]).unwrap();
        assert_eq!(args.uri.as_str(), "file:///a.odp.yaml");
        assert_eq!(args.position, None);
        let args = parse_args(&[
            json!("file:///a.odp.yaml"),
            json!({"position": {"line": 2, "character": 4}}),
        ])
        .unwrap();
        assert_eq!(args.position, Some(lsp::Position::new(2, 4)));
        assert!(parse_args(&[]).is_err());
        assert!(parse_args(&[json!(3)]).is_err());
        assert!(parse_args(&[json!("file:///a"), json!({"position": "x"})]).is_err());
    }
}
