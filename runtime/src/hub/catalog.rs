//! Definitions compiled for the hub: param patterns as regexes, payload schemas as
//! validators. Finds the channel of a runtime name and checks published payloads.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::definitions::{ChannelDef, Definitions};

pub struct Catalog {
    definitions: Definitions,
    patterns: HashMap<String, Option<regex::Regex>>,
    validators: HashMap<String, jsonschema::Validator>,
}

impl Catalog {
    /// Compile every pattern and payload schema; an error names the one that does not compile.
    pub fn new(definitions: Definitions) -> Result<Self, String> {
        let mut patterns = HashMap::new();
        for p in definitions.channels.iter().flat_map(|c| &c.params) {
            if let Some(pattern) = &p.pattern {
                // A pattern regex cannot compile (lookaround) is checked by nothing: `check`
                // warns about it already; names with such params are refused.
                patterns.entry(pattern.clone()).or_insert_with(|| regex::Regex::new(pattern).ok());
            }
        }
        let mut validators = HashMap::new();
        let bundle = Value::Object(definitions.schemas.clone());
        for t in definitions.channels.iter().flat_map(|c| &c.topics) {
            if validators.contains_key(&t.payload) {
                continue;
            }
            let schema = json!({ "$ref": format!("#/definitions/{}", t.payload), "definitions": bundle });
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&schema)
                .map_err(|e| format!("the schema of `{}` does not compile: {e}", t.payload))?;
            validators.insert(t.payload.clone(), validator);
        }
        Ok(Catalog { definitions, patterns, validators })
    }

    pub fn definitions(&self) -> &Definitions {
        &self.definitions
    }

    /// The channel a runtime name belongs to.
    pub fn channel(&self, name: &str) -> Option<&ChannelDef> {
        let pattern_ok = |pattern: &str, value: &str| {
            self.patterns.get(pattern).and_then(Option::as_ref).is_some_and(|r| r.is_match(value))
        };
        self.definitions.find(name, &pattern_ok)
    }

    /// Check a payload against its schema; the error says where and why.
    pub fn validate(&self, payload: &str, data: &Value) -> Result<(), String> {
        let Some(validator) = self.validators.get(payload) else { return Ok(()) };
        let errors: Vec<String> = validator
            .iter_errors(data)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("{}: {e}", if at.is_empty() { "/" } else { &at })
            })
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
    }
}
