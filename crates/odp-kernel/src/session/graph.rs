//! `%graph`: the session's steps as a picture ([`odp_graph`]), each with how its last run went.

use odp_analysis::Section;
use odp_graph::{Graph, Node, NodeKind, RunStatus};
use serde_json::Value;

use super::outputs::Output;
use super::{Session, Tried, Use};
use crate::mime::Bundle;

impl Session {
    /// Keeps a step's last run (replacing the one before).
    pub(super) fn record_try(&mut self, tried: Tried) {
        match self.tried.iter_mut().find(|t| t.def.name == tried.def.name) {
            Some(t) => *t = tried,
            None => self.tried.push(tried),
        }
    }

    /// The session as a graph: the inputs its steps use, its steps (as last run: a failed step with its failed
    /// definition), and what each reads.
    pub fn graph(&self) -> Graph {
        let mut graph = Graph::new();
        graph.title = Some("notebook session".into());
        // Every step: the kept ones in their order, then those that never completed.
        let mut steps: Vec<(String, String, Section, Vec<Use>, RunStatus)> = Vec::new();
        for s in &self.steps {
            let (method, section, uses, status) =
                match self.tried.iter().find(|t| t.def.name == s.name) {
                    Some(t) => (
                        t.def.method.clone(),
                        t.def.section,
                        t.def.uses.clone(),
                        t.status,
                    ),
                    None => (s.method.clone(), s.section, s.uses.clone(), RunStatus::Ok),
                };
            steps.push((s.name.clone(), method, section, uses, status));
        }
        for t in &self.tried {
            if !steps.iter().any(|s| s.0 == t.def.name) {
                steps.push((
                    t.def.name.clone(),
                    t.def.method.clone(),
                    t.def.section,
                    t.def.uses.clone(),
                    t.status,
                ));
            }
        }
        for i in &self.inputs {
            if steps
                .iter()
                .any(|s| s.3.iter().any(|u| u.input && u.name == i.name))
            {
                graph.add_node(
                    Node::new(NodeKind::Input, i.name.clone()).with_detail(i.type_name.clone()),
                );
            }
        }
        let mut ids = Vec::with_capacity(steps.len());
        for (name, method, section, _, status) in &steps {
            let kind = match section {
                Section::Sources => NodeKind::Source,
                Section::Transforms => NodeKind::Transform,
            };
            ids.push(
                graph.add_node(
                    Node::new(kind, name.clone())
                        .with_detail(method.clone())
                        .with_run(*status),
                ),
            );
        }
        for ((_, _, _, uses, _), &to) in steps.iter().zip(&ids) {
            for u in uses {
                let found = if u.input {
                    graph.find(NodeKind::Input, &u.name)
                } else {
                    steps.iter().position(|s| s.0 == u.name).map(|k| ids[k])
                };
                let from = match found {
                    Some(from) => from,
                    None => {
                        let name = if u.input {
                            format!("inputs.{}", u.name)
                        } else {
                            u.name.clone()
                        };
                        match graph.find(NodeKind::Missing, &name) {
                            Some(i) => i,
                            None => graph.add_node(Node::new(NodeKind::Missing, name)),
                        }
                    }
                };
                graph.add_edge(from, to, Some(&u.path));
            }
        }
        graph
    }

    /// `%graph`: the picture as SVG (JupyterLab shows it), and as Mermaid text for front ends without SVG.
    pub(super) fn graph_magic(&self) -> Output {
        let graph = self.graph();
        let mut bundle = Bundle::new();
        let mut plain = odp_graph::to_mermaid(&graph, odp_graph::Direction::LeftRight);
        if graph.nodes.is_empty() {
            plain = "no steps yet: run a cell with a step, then %graph\n".into();
        }
        bundle.insert("text/plain".into(), Value::String(plain));
        if !graph.nodes.is_empty() {
            bundle.insert(
                "image/svg+xml".into(),
                Value::String(odp_graph::to_svg(&graph)),
            );
        }
        Output::Display(bundle)
    }
}
