//! DOT, for Graphviz and the tools that read it (`dot -Tsvg`, xdot, online viewers).

use std::fmt::Write;

use crate::escape::dot as esc;
use crate::model::{Graph, NodeKind};

/// The graph in the DOT language.
pub fn to_dot(graph: &Graph) -> String {
    let mut out = String::new();
    let name = graph.title.as_deref().unwrap_or("pipeline");
    let _ = writeln!(out, "digraph \"{}\" {{", esc(name));
    out.push_str("  rankdir=LR;\n");
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fontname=\"monospace\", fontsize=11];\n",
    );
    out.push_str("  edge [fontname=\"monospace\", fontsize=9, color=\"#6b7280\"];\n");
    for node in &graph.nodes {
        let mut label = esc(&node.name);
        for line in node.detail.iter().cloned().chain(node.status()) {
            label.push_str("\\n");
            label.push_str(&esc(&line));
        }
        let (shape, fill, color) = match node.kind {
            NodeKind::Input => ("ellipse", "#eef1f5", "#6b7a90"),
            NodeKind::Source => ("box", "#e3effc", "#2f6db5"),
            NodeKind::Transform => ("box", "#e6f4ea", "#2f8a4c"),
            NodeKind::External => ("box3d", "#f3f0fa", "#6b5aa6"),
            NodeKind::Missing => ("hexagon", "#fdecec", "#c62828"),
        };
        let marks = node.marks();
        let mut style = vec!["filled"];
        if node.kind != NodeKind::Input {
            style.push("rounded");
        }
        if node.unused || marks.contains(&"not-run") || node.kind == NodeKind::Missing {
            style.push("dashed");
        }
        let (fill, color, width) = if node.failed() {
            ("#fdecec", "#c62828", 2.5)
        } else {
            (fill, color, 1.0)
        };
        let mut class = vec![node.kind.key()];
        class.extend(marks);
        let _ = writeln!(
            out,
            "  {} [label=\"{label}\", shape={shape}, style=\"{}\", fillcolor=\"{fill}\", color=\"{color}\", penwidth={width}, class=\"{}\"];",
            node.id,
            style.join(","),
            class.join(" ")
        );
    }
    for edge in &graph.edges {
        let (from, to) = (&graph.nodes[edge.from].id, &graph.nodes[edge.to].id);
        if edge.labels.is_empty() {
            let _ = writeln!(out, "  {from} -> {to};");
        } else {
            let label: Vec<String> = edge.labels.iter().map(|l| esc(l)).collect();
            let _ = writeln!(out, "  {from} -> {to} [label=\"{}\"];", label.join("\\n"));
        }
    }
    out.push_str("}\n");
    out
}
