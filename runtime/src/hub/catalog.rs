//! Definitions compiled for the hub: payload schemas as validators (param patterns are
//! compiled once, by `crate::pattern`, when first used). Finds the channel of a runtime name and checks published payloads.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::definitions::{ChannelDef, Definitions};

pub struct Catalog {
    definitions: Definitions,
    validators: HashMap<String, jsonschema::Validator>,
    /// The same schemas for chanspec's own check, which explains a refusal better than the
    /// validator's errors (the variant a `oneOf`'s tag selects, the keyword broken).
    explain: crate::check::Schemas,
}

impl Catalog {
    /// Compile every payload schema; an error names the one that does not compile.
    pub fn new(definitions: Definitions) -> Result<Self, String> {
        let mut validators = HashMap::new();
        let bundle = Value::Object(definitions.schemas.clone());
        // Topic payloads, and lifecycle results and errors.
        let topics = definitions.channels.iter().flat_map(|c| c.topics.iter().map(|t| &t.payload));
        let lifecycles = definitions.channels.iter().filter_map(|c| c.lifecycle.as_ref());
        let named = topics.chain(lifecycles.flat_map(|l| l.result.iter().chain(&l.error)));
        for name in named {
            if validators.contains_key(name) {
                continue;
            }
            let schema = json!({ "$ref": format!("#/definitions/{name}"), "definitions": bundle });
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&schema)
                .map_err(|e| format!("the schema of `{name}` does not compile: {e}"))?;
            validators.insert(name.clone(), validator);
        }
        let explain = crate::check::Schemas::from_map(definitions.schemas.clone());
        Ok(Catalog { definitions, validators, explain })
    }

    pub fn definitions(&self) -> &Definitions {
        &self.definitions
    }

    /// The channel a runtime name belongs to.
    pub fn channel(&self, name: &str) -> Option<&ChannelDef> {
        self.definitions.find(name)
    }

    /// Why no channel matches `name` ([`Definitions::no_channel`]).
    pub fn no_channel(&self, name: &str) -> String {
        self.definitions.no_channel(name)
    }

    /// Check a payload against its schema; the error says where and why. The validator
    /// decides; chanspec's own check explains, except for what it does not check (`pattern`,
    /// `format`), where the validator's first errors are given.
    pub fn validate(&self, payload: &str, data: &Value) -> Result<(), String> {
        let Some(validator) = self.validators.get(payload) else {
            return Err(format!("no schema named `{payload}`"));
        };
        if validator.is_valid(data) {
            return Ok(());
        }
        self.explain.check(payload, data)?;
        let errors: Vec<String> = validator
            .iter_errors(data)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("{}: {e}", if at.is_empty() { "/" } else { &at })
            })
            .collect();
        Err(errors.join("; "))
    }
}
