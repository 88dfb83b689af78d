//! The IR as the hub's run-time definitions. Generated Rust modules embed the result
//! (`chanspec_definitions()`), and `chanspec serve` builds it from the files: one conversion,
//! so both hubs know the same channels.

use chanspec_runtime::definitions::{ChannelDef, Definitions, LifecycleDef, ParamDef, ParamKind, TopicDef};

use crate::ir::Spec;
use crate::model::ParamType;

pub fn definitions(spec: &Spec) -> Definitions {
    let schemas = spec.types.iter().map(|t| (t.name.clone(), t.schema.to_serde())).collect();
    Definitions { channels: channels(spec), schemas }
}

/// The JSON text of [`definitions`]' `schemas`, written from the IR without copying it (a
/// generated module embeds it; a copy of every schema was a large part of generating Rust).
pub fn schemas_json(spec: &Spec) -> Result<String, serde_json::Error> {
    struct Schemas<'a>(&'a Spec);
    impl serde::Serialize for Schemas<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.types.iter().map(|t| (&t.name, &t.schema)))
        }
    }
    serde_json::to_string(&Schemas(spec))
}

/// The channels of [`definitions`].
pub fn channels(spec: &Spec) -> Vec<ChannelDef> {
    spec.channels
        .iter()
        .map(|ch| ChannelDef {
            id: ch.id.clone(),
            template: ch.template.clone(),
            params: ch
                .params
                .iter()
                .map(|p| ParamDef {
                    name: p.name.clone(),
                    kind: match p.ty {
                        ParamType::String => ParamKind::String,
                        ParamType::Integer => ParamKind::Integer,
                    },
                    format: p.format.clone(),
                    pattern: p.pattern.clone(),
                    values: p.values.clone(),
                    minimum: p.minimum,
                    maximum: p.maximum,
                })
                .collect(),
            topics: ch.topics.iter().map(|t| TopicDef { name: t.name.clone(), payload: t.payload.clone() }).collect(),
            lifecycle: ch.lifecycle.as_ref().map(|l| LifecycleDef { result: l.result.clone(), error: l.error.clone() }),
        })
        .collect()
}

/// Check and lower definition files into run-time definitions; the error is the rendered
/// report of every problem (as `chanspec check` prints it).
pub fn from_files(files: &[std::path::PathBuf]) -> Result<Definitions, String> {
    use crate::report::{self, Format};
    let checked = crate::check_files(files);
    let render =
        |diags: Vec<crate::Diagnostic>| report::render(&diags, &checked.workspace.sources, Format::Human, false);
    if checked.has_errors() {
        return Err(render(checked.diagnostics.iter().cloned().collect()));
    }
    let spec = crate::lower::lower(&checked).map_err(|d| render(d.into_vec()))?;
    Ok(definitions(&spec))
}
