//! Document symbols: the pipeline, its sections, its inputs and steps.

use odp_analysis::TextRange;

use crate::Snapshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Pipeline,
    Section,
    Step,
    Input,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Symbol {
    pub name: String,
    pub detail: Option<String>,
    pub kind: SymbolKind,
    pub range: TextRange,
    pub selection_range: TextRange,
    pub children: Vec<Symbol>,
}

impl Snapshot<'_> {
    pub fn symbols(&self) -> Vec<Symbol> {
        let p = &self.analysis.pipeline;
        let Some(root) = self.analysis.parse.root.as_ref() else {
            return Vec::new();
        };
        let mut sections = Vec::new();
        if let Some(entry) = root.get("inputs") {
            sections.push(Symbol {
                name: "inputs".into(),
                detail: None,
                kind: SymbolKind::Section,
                range: entry.range(),
                selection_range: entry.key_range,
                children: p
                    .inputs
                    .iter()
                    .map(|i| Symbol {
                        name: i.name.value.clone(),
                        detail: i.type_name.clone(),
                        kind: SymbolKind::Input,
                        range: i.range,
                        selection_range: i.name.range,
                        children: Vec::new(),
                    })
                    .collect(),
            });
        }
        for (section, range) in &p.sections {
            let key = root.get(section.key()).map_or(*range, |e| e.key_range);
            sections.push(Symbol {
                name: section.key().into(),
                detail: None,
                kind: SymbolKind::Section,
                range: *range,
                selection_range: key,
                children: p
                    .steps
                    .iter()
                    .filter(|s| s.section == *section)
                    .map(|s| Symbol {
                        name: s
                            .name
                            .as_ref()
                            .map_or("(unnamed)".into(), |n| n.value.clone()),
                        detail: s.method.as_ref().map(|m| m.value.clone()),
                        kind: SymbolKind::Step,
                        range: s.range,
                        selection_range: s.name.as_ref().map_or(s.range, |n| n.range),
                        children: Vec::new(),
                    })
                    .collect(),
            });
        }
        vec![Symbol {
            name: p
                .name
                .as_ref()
                .map_or("pipeline".into(), |n| n.value.clone()),
            detail: p.description.as_ref().map(|d| {
                let first = d.value.lines().next().unwrap_or("");
                first.chars().take(80).collect()
            }),
            kind: SymbolKind::Pipeline,
            range: root.range,
            selection_range: p.name.as_ref().map_or(root.range, |n| n.range),
            children: sections,
        }]
    }
}
