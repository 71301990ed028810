//! The graph: inputs, sources and transforms as nodes, template references as edges labelled with the field path
//! they read. Built from an [`Analysis`] ([`Graph::from_analysis`]) or node by node (the kernel's session, whose
//! steps come from many cells).

use odp_analysis::template::{Accessor, Path};
use odp_analysis::{Analysis, Code, LineIndex, Section, Severity, Target, TextRange};

/// What a node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Input,
    Source,
    Transform,
    /// A step defined outside the text (an earlier notebook cell).
    External,
    /// What a template names but nothing defines (`{{twets.results}}`): drawn so the broken edge shows.
    Missing,
}

impl NodeKind {
    /// The word used in class names and legends.
    pub fn key(self) -> &'static str {
        match self {
            NodeKind::Input => "input",
            NodeKind::Source => "source",
            NodeKind::Transform => "transform",
            NodeKind::External => "external",
            NodeKind::Missing => "missing",
        }
    }
}

/// How a step's last run went (the kernel's session knows; a file's graph does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Ok,
    Failed,
    NotRun,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// `n0`, `n1`, ...: safe as an identifier in every format (and as an SVG element id's suffix).
    pub id: String,
    pub kind: NodeKind,
    /// The step's or input's name, as written (renderers escape it).
    pub name: String,
    /// The method of a step, the type of an input.
    pub detail: Option<String>,
    /// Where it is defined in the text: the step's list item, the input's declaration.
    pub range: Option<TextRange>,
    /// Its name's range (where an editor puts the cursor).
    pub name_range: Option<TextRange>,
    /// The 0-based line of its name.
    pub line: Option<usize>,
    /// How many errors the checker found inside it: more than none marks it failed.
    pub errors: usize,
    /// A source no transform uses, an input no template uses (the checker's ODP500/ODP501).
    pub unused: bool,
    pub run: Option<RunStatus>,
}

impl Node {
    pub fn new(kind: NodeKind, name: impl Into<String>) -> Node {
        Node {
            id: String::new(),
            kind,
            name: name.into(),
            detail: None,
            range: None,
            name_range: None,
            line: None,
            errors: 0,
            unused: false,
            run: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Node {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_run(mut self, run: RunStatus) -> Node {
        self.run = Some(run);
        self
    }

    /// Failed: the checker found errors in it, or its last run failed (or it names nothing that exists).
    pub fn failed(&self) -> bool {
        self.errors > 0 || self.run == Some(RunStatus::Failed) || self.kind == NodeKind::Missing
    }

    /// The marks a renderer shows, as class names: `failed`, `unused`, `not-run`, `ok`.
    pub fn marks(&self) -> Vec<&'static str> {
        let mut marks = Vec::new();
        if self.failed() {
            marks.push("failed");
        }
        if self.unused {
            marks.push("unused");
        }
        match self.run {
            Some(RunStatus::NotRun) => marks.push("not-run"),
            Some(RunStatus::Ok) if !self.failed() => marks.push("ok"),
            _ => {}
        }
        marks
    }

    /// One short line about its state, if there is something to say: `2 errors`, `unused`, `not run`, ...
    pub fn status(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.kind == NodeKind::Missing {
            parts.push("not defined".to_string());
        }
        if self.errors > 0 {
            parts.push(format!(
                "{} error{}",
                self.errors,
                if self.errors == 1 { "" } else { "s" }
            ));
        }
        match self.run {
            Some(RunStatus::Ok) => parts.push("ok".into()),
            Some(RunStatus::Failed) => parts.push("failed".into()),
            Some(RunStatus::NotRun) => parts.push("not run".into()),
            None => {}
        }
        if self.unused {
            parts.push("unused".into());
        }
        (!parts.is_empty()).then(|| parts.join(" · "))
    }
}

/// `from` is used by `to`: data flows along it. Several templates of one step reading one node make one edge with
/// their paths as its labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// Indices into [`Graph::nodes`].
    pub from: usize,
    pub to: usize,
    /// The field paths read, without the root (`results[*].text`); none for a whole input or step.
    pub labels: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// The pipeline's name.
    pub title: Option<String>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Errors outside every node (a YAML error between steps, a missing `name`): the picture may be incomplete.
    pub other_errors: usize,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Adds a node and returns its index; its id is set from the index.
    pub fn add_node(&mut self, mut node: Node) -> usize {
        let index = self.nodes.len();
        node.id = format!("n{index}");
        self.nodes.push(node);
        index
    }

    /// The first node of this kind and name.
    pub fn find(&self, kind: NodeKind, name: &str) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.kind == kind && n.name == name)
    }

    /// Adds `label` (if any) to the edge from `from` to `to`, making the edge if there is none yet.
    pub fn add_edge(&mut self, from: usize, to: usize, label: Option<&str>) {
        let index = match self.edges.iter().position(|e| e.from == from && e.to == to) {
            Some(i) => i,
            None => {
                self.edges.push(Edge {
                    from,
                    to,
                    labels: Vec::new(),
                });
                self.edges.len() - 1
            }
        };
        let labels = &mut self.edges[index].labels;
        if let Some(label) = label.filter(|l| !l.is_empty())
            && !labels.iter().any(|l| l == label)
        {
            labels.push(label.to_string());
        }
    }

    /// The node whose range holds `offset` most closely (a step, else an input): what an editor shows for the
    /// cursor.
    pub fn node_at(&self, offset: usize) -> Option<&Node> {
        self.nodes
            .iter()
            .filter(|n| {
                n.range
                    .is_some_and(|r| r.start() <= offset && offset <= r.end())
            })
            .min_by_key(|n| n.range.map_or(usize::MAX, |r| r.len()))
    }

    /// The graph of a pipeline text and its analysis: its inputs, then its steps in the order written; a template's
    /// root that names nothing becomes a [`NodeKind::Missing`] node, one defined outside the text (a notebook's
    /// earlier cell) a [`NodeKind::External`] one.
    pub fn from_analysis(text: &str, analysis: &Analysis) -> Graph {
        let lines = LineIndex::new(text);
        let line = |r: TextRange| (r.start() <= text.len()).then(|| lines.line_of(r.start()));
        let pipeline = &analysis.pipeline;
        let mut graph = Graph {
            title: pipeline.name.as_ref().map(|n| n.value.clone()),
            ..Graph::default()
        };
        let errors: Vec<TextRange> = analysis
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.range)
            .collect();
        let unused = |code: Code, range: TextRange| {
            analysis
                .diagnostics
                .iter()
                .any(|d| d.code == code && d.range == range)
        };
        let mut inputs = Vec::with_capacity(pipeline.inputs.len());
        for input in &pipeline.inputs {
            let mut node = Node::new(NodeKind::Input, input.name.value.clone());
            node.detail = input.type_name.clone();
            node.range = Some(input.range);
            node.name_range = Some(input.name.range);
            node.line = line(input.name.range);
            node.unused = unused(Code::UnusedInput, input.name.range);
            inputs.push(graph.add_node(node));
        }
        let mut steps = Vec::with_capacity(pipeline.steps.len());
        for (i, step) in pipeline.steps.iter().enumerate() {
            let kind = match step.section {
                Section::Sources => NodeKind::Source,
                Section::Transforms => NodeKind::Transform,
            };
            let name = step.name.as_ref().map_or_else(
                || format!("(step {} has no name)", i + 1),
                |n| n.value.clone(),
            );
            let mut node = Node::new(kind, name);
            node.detail = step.method.as_ref().map(|m| m.value.clone());
            node.range = Some(step.range);
            node.name_range = step.name.as_ref().map(|n| n.range);
            node.line = line(step.name.as_ref().map_or(step.range, |n| n.range));
            node.unused = step
                .name
                .as_ref()
                .is_some_and(|n| unused(Code::UnusedSource, n.range));
            steps.push(graph.add_node(node));
        }
        // Each error to the innermost node that holds it (a step's range holds none of another's).
        for range in &errors {
            let holder = graph.nodes.iter().position(|n| {
                n.range.is_some_and(|r| {
                    r.start() <= range.start() && range.start() < r.end().max(r.start() + 1)
                })
            });
            match holder {
                Some(i) => graph.nodes[i].errors += 1,
                None => graph.other_errors += 1,
            }
        }
        for reference in &analysis.references {
            let Some(to) = reference.from_step.and_then(|i| steps.get(i).copied()) else {
                continue;
            };
            let path = &reference.path;
            let (from, label) = match &reference.target {
                Target::Input(name) => {
                    let from = match pipeline.inputs.iter().position(|i| *i.name.value == **name) {
                        Some(i) => inputs[i],
                        None => graph.find_or_add(NodeKind::Input, name),
                    };
                    (from, field_path(path, 2))
                }
                Target::Step(j) => match steps.get(*j) {
                    Some(&from) => (from, field_path(path, 1)),
                    None => continue,
                },
                Target::External(name) => (
                    graph.find_or_add(NodeKind::External, name),
                    field_path(path, 1),
                ),
                Target::Unresolved => {
                    // `inputs.nope` names the input `nope`; any other root names a step.
                    let (name, skip) = match path.segments.first() {
                        Some(s) if path.root == "inputs" => match &s.accessor {
                            Accessor::Field(f) => (format!("inputs.{f}"), 2),
                            _ => (path.root.clone(), 1),
                        },
                        _ => (path.root.clone(), 1),
                    };
                    (
                        graph.find_or_add(NodeKind::Missing, &name),
                        field_path(path, skip),
                    )
                }
            };
            graph.add_edge(from, to, Some(&label));
        }
        graph
    }

    fn find_or_add(&mut self, kind: NodeKind, name: &str) -> usize {
        match self.find(kind, name) {
            Some(i) => i,
            None => self.add_node(Node::new(kind, name)),
        }
    }
}

/// A path without its first `skip` parts (the root, and for `inputs.x` the input's name): `results[*].text`.
pub fn field_path(path: &Path, skip: usize) -> String {
    let mut out = String::new();
    for segment in path.segments.iter().skip(skip.saturating_sub(1)) {
        match &segment.accessor {
            Accessor::Field(name)
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Accessor::Field(name) => out.push_str(&format!("[{name:?}]")),
            Accessor::Index(n) => out.push_str(&format!("[{n}]")),
            Accessor::Wildcard => out.push_str("[*]"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(text: &str) -> Graph {
        Graph::from_analysis(text, &odp_analysis::analyze_with_bundled_registry(text))
    }

    #[test]
    fn references_become_labelled_edges_and_unknown_names_missing_nodes() {
        let text = "name: refs\nsources:\n  - name: posts\n    method: social.twitter.search\n    params: {query: \"{{inputs.nope}}\"}\ntransforms:\n  - name: mood\n    method: nlp.sentiment.analyze\n    params:\n      texts: \"{{posts.results[*].text}}\"\n      language: \"{{posts.results[0]['odd key']}}\"\n  - name: again\n    method: nlp.sentiment.analyze\n    params: {texts: \"{{posts.results[*].text}} {{posts.results[*].text}}\"}\n";
        let g = graph(text);
        let names: Vec<(&str, NodeKind)> =
            g.nodes.iter().map(|n| (n.name.as_str(), n.kind)).collect();
        assert_eq!(
            names,
            vec![
                ("posts", NodeKind::Source),
                ("mood", NodeKind::Transform),
                ("again", NodeKind::Transform),
                ("inputs.nope", NodeKind::Missing),
            ]
        );
        let edges: Vec<(usize, usize, Vec<&str>)> = g
            .edges
            .iter()
            .map(|e| (e.from, e.to, e.labels.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            edges,
            vec![
                (3, 0, vec![]),
                (0, 1, vec!["results[*].text", "results[0][\"odd key\"]"]),
                (0, 2, vec!["results[*].text"]),
            ]
        );
        assert!(g.nodes[3].failed() && g.nodes[0].errors > 0);
        // The cursor on `mood`'s method is in `mood`.
        let at = text.find("nlp.sentiment").unwrap();
        assert_eq!(g.node_at(at).map(|n| n.name.as_str()), Some("mood"));
        assert_eq!(g.nodes[1].line, Some(6));
        assert_eq!(g.node_at(0), None);
    }
}
