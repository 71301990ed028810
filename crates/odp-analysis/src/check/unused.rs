//! After every body: sources no transform uses and inputs no template uses.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn unused(&mut self) {
        let has_transforms = self
            .pipeline
            .steps
            .iter()
            .any(|s| s.section == Section::Transforms);
        if has_transforms {
            for (i, step) in self.pipeline.steps.iter().enumerate() {
                if step.section == Section::Sources
                    && !self.scope.is_step_used(i)
                    && let Some(name) = &step.name
                    // A duplicate's name is reported as such; references go to the first definition.
                    && self.scope.is_first_of_its_name(&name.value, i)
                {
                    self.diags.push(
                        Diagnostic::new(
                            Code::UnusedSource,
                            name.range,
                            format!("no transform uses the result of source `{}`", name.value),
                        )
                        .with_help(format!(
                            "use it as `{{{{{}.…}}}}` in a transform, or remove it",
                            name.value
                        )),
                    );
                }
            }
        }
        for input in &self.pipeline.inputs {
            // An input whose name is not an identifier is reported as such already.
            if !self.scope.is_input_used(&input.name.value) && is_identifier(&input.name.value) {
                self.diags.push(
                    Diagnostic::new(
                        Code::UnusedInput,
                        input.name.range,
                        format!("no template uses input `{}`", input.name.value),
                    )
                    .with_help(format!(
                        "use it as `{{{{inputs.{}}}}}`, or remove it",
                        input.name.value
                    )),
                );
            }
        }
    }
}
