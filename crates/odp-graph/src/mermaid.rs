//! Mermaid: a `flowchart` that GitHub, GitLab, JupyterLab's Markdown and mermaid.live draw.

use std::fmt::Write;

use crate::escape::mermaid as esc;
use crate::model::{Graph, NodeKind};

/// Which way a flowchart runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// Left to right (the default: pipelines read as a sequence).
    #[default]
    LeftRight,
    TopBottom,
}

/// The graph as a Mermaid flowchart.
pub fn to_mermaid(graph: &Graph, direction: Direction) -> String {
    let mut out = String::new();
    let dir = match direction {
        Direction::LeftRight => "LR",
        Direction::TopBottom => "TB",
    };
    let _ = writeln!(out, "flowchart {dir}");
    if let Some(title) = &graph.title {
        // A comment: its text ends at the line's end, which escaping keeps it from reaching early.
        let _ = writeln!(out, "  %% pipeline {}", crate::escape::visible(title));
    }
    if graph.other_errors > 0 {
        let _ = writeln!(
            out,
            "  %% {} error(s) outside the steps",
            graph.other_errors
        );
    }
    for node in &graph.nodes {
        let mut label = esc(&node.name);
        for line in node.detail.iter().cloned().chain(node.status()) {
            label.push_str("<br/>");
            label.push_str(&esc(&line));
        }
        let (open, close) = match node.kind {
            NodeKind::Input => ("([", "])"),
            NodeKind::Source => ("[", "]"),
            NodeKind::Transform => ("(", ")"),
            NodeKind::External => ("[[", "]]"),
            NodeKind::Missing => ("{{", "}}"),
        };
        let _ = writeln!(out, "  {}{open}\"{label}\"{close}", node.id);
    }
    for edge in &graph.edges {
        let (from, to) = (&graph.nodes[edge.from].id, &graph.nodes[edge.to].id);
        if edge.labels.is_empty() {
            let _ = writeln!(out, "  {from} --> {to}");
        } else {
            let label: Vec<String> = edge.labels.iter().map(|l| esc(l)).collect();
            let _ = writeln!(out, "  {from} -->|\"{}\"| {to}", label.join("<br/>"));
        }
    }
    let classes: [(&str, &str); 8] = [
        ("input", "fill:#eef1f5,stroke:#6b7a90,color:#1f2937"),
        ("source", "fill:#e3effc,stroke:#2f6db5,color:#1f2937"),
        ("transform", "fill:#e6f4ea,stroke:#2f8a4c,color:#1f2937"),
        ("external", "fill:#f3f0fa,stroke:#6b5aa6,color:#1f2937"),
        (
            "missing",
            "fill:#fdecec,stroke:#c62828,stroke-dasharray:4 3,color:#8e1c1c",
        ),
        (
            "failed",
            "fill:#fdecec,stroke:#c62828,stroke-width:3px,color:#8e1c1c",
        ),
        ("unused", "stroke-dasharray:5 4,color:#6b7280"),
        ("notrun", "stroke-dasharray:2 3,color:#6b7280"),
    ];
    for (class, style) in classes {
        let members: Vec<&str> = graph
            .nodes
            .iter()
            .filter(|n| {
                n.kind.key() == class || n.marks().iter().any(|m| m.replace('-', "") == class)
            })
            .map(|n| n.id.as_str())
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "  classDef {class} {style}");
            let _ = writeln!(out, "  class {} {class}", members.join(","));
        }
    }
    out
}
