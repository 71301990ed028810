//! The pipeline as a picture: [`Graph::from_analysis`] makes a graph of a pipeline's inputs, sources and transforms
//! from the analysis core's model, references and diagnostics — template references as edges labelled with the
//! field path they read (`results[*].text`), steps with errors and unused steps marked — and [`render`] draws it as
//! Mermaid, DOT or SVG. The SVG is laid out here ([`layout`]: layered, left to right), with no Graphviz.
//!
//! No IO: text in, text out. Front ends: `odp graph` (crates/odp), the kernel's `%graph` (which builds its graph
//! node by node from the session: [`Graph::add_node`], [`Graph::add_edge`]). For an editor's view, each node keeps
//! its id, name and source range ([`Node`]), and the SVG carries them as `data-` attributes.

mod dot;
pub mod escape;
pub mod layout;
mod mermaid;
mod model;
mod svg;

pub use dot::to_dot;
pub use mermaid::{Direction, to_mermaid};
pub use model::{Edge, Graph, Node, NodeKind, RunStatus, field_path};
pub use svg::to_svg;

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Mermaid,
    Dot,
    Svg,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Mermaid => "mermaid",
            Format::Dot => "dot",
            Format::Svg => "svg",
        }
    }
}

/// The graph in a format (Mermaid left to right).
pub fn render(graph: &Graph, format: Format) -> String {
    match format {
        Format::Mermaid => to_mermaid(graph, Direction::LeftRight),
        Format::Dot => to_dot(graph),
        Format::Svg => to_svg(graph),
    }
}

/// The graph of a pipeline text, checked against `env`: [`Graph::from_analysis`] of [`odp_analysis::analyze`].
pub fn graph_of(text: &str, env: &odp_analysis::Environment<'_>) -> Graph {
    Graph::from_analysis(text, &odp_analysis::analyze(text, env))
}
