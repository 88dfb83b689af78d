//! Channel definitions at run time: what the hub needs to know about the channels it
//! carries. Generated modules embed them (`chanspec_definitions()`), and `chanspec serve`
//! builds the same value from definition files; both come from one conversion in the
//! `chanspec` crate.
//!
//! This is plain data (serde only). Matching a runtime name such as `pipeline:7` to its
//! channel is here too, with a hook for `pattern`s, which need a regex engine the core does
//! not carry.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::SEPARATOR;

/// Every channel of one set of definitions, and the bundled payload schemas.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Definitions {
    pub channels: Vec<ChannelDef>,
    /// Named payload schemas (`$ref`s written `#/definitions/Name`).
    #[serde(default)]
    pub schemas: Map<String, Value>,
}

/// One channel: its name template, params and topics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelDef {
    /// The identifier in the definitions (`pipeline`).
    pub id: String,
    /// The runtime name template (`pipeline:{runId}`).
    pub template: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ParamDef>,
    pub topics: Vec<TopicDef>,
}

/// A placeholder of a name template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamDef {
    pub name: String,
    pub kind: ParamKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    String,
    Integer,
}

/// A topic and the name of its payload schema in [`Definitions::schemas`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicDef {
    pub name: String,
    pub payload: String,
}

/// A part of a name template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part<'a> {
    Literal(&'a str),
    Param(&'a str),
}

/// The parts of a template (`pipeline:{runId}` → `pipeline:`, `runId`).
pub fn parts(template: &str) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Part::Literal(&rest[..open]));
        }
        let Some(close) = rest[open..].find('}') else {
            out.push(Part::Literal(&rest[open..]));
            return out;
        };
        out.push(Part::Param(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Part::Literal(rest));
    }
    out
}

/// Longest runtime name the hub considers; longer names match nothing.
pub const MAX_NAME_LEN: usize = 1024;

impl Definitions {
    /// Definitions from the JSON of their channels and of their schemas, as generated code
    /// embeds them.
    pub fn from_json(channels: &str, schemas: &str) -> Result<Self, serde_json::Error> {
        Ok(Definitions { channels: serde_json::from_str(channels)?, schemas: serde_json::from_str(schemas)? })
    }

    /// The channel whose template produces `name`, with its params' values checked (kinds,
    /// enums, UUIDs, integer bounds, and `pattern` through `pattern_ok`).
    pub fn find(&self, name: &str, pattern_ok: &dyn Fn(&str, &str) -> bool) -> Option<&ChannelDef> {
        if name.len() > MAX_NAME_LEN {
            return None;
        }
        self.channels.iter().find(|ch| ch.matches(name, pattern_ok))
    }
}

impl ChannelDef {
    pub fn topic(&self, name: &str) -> Option<&TopicDef> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// Does `name` come from this channel's template with acceptable param values?
    pub fn matches(&self, name: &str, pattern_ok: &dyn Fn(&str, &str) -> bool) -> bool {
        let parts = parts(&self.template);
        self.match_from(&parts, name, pattern_ok)
    }

    fn match_from(&self, parts: &[Part<'_>], rest: &str, pattern_ok: &dyn Fn(&str, &str) -> bool) -> bool {
        match parts.split_first() {
            None => rest.is_empty(),
            Some((Part::Literal(l), tail)) => {
                rest.strip_prefix(l).is_some_and(|r| self.match_from(tail, r, pattern_ok))
            }
            Some((Part::Param(p), tail)) => {
                let Some(param) = self.params.iter().find(|x| x.name == *p) else { return false };
                // A value is one or more characters up to the next separator; try each length.
                let limit = rest.find(SEPARATOR).unwrap_or(rest.len());
                (1..=limit).rev().any(|n| {
                    rest.is_char_boundary(n)
                        && param.accepts(&rest[..n], pattern_ok)
                        && self.match_from(tail, &rest[n..], pattern_ok)
                })
            }
        }
    }
}

impl ParamDef {
    /// Is `value` an acceptable value of this param?
    pub fn accepts(&self, value: &str, pattern_ok: &dyn Fn(&str, &str) -> bool) -> bool {
        match self.kind {
            ParamKind::Integer => {
                // Canonical decimal only, as generated code writes it.
                let Ok(n) = value.parse::<i64>() else { return false };
                n.to_string() == value && self.minimum.is_none_or(|m| n >= m) && self.maximum.is_none_or(|m| n <= m)
            }
            ParamKind::String => {
                crate::check_param("", value, &self.values.iter().map(String::as_str).collect::<Vec<_>>(), {
                    self.format.as_deref() == Some("uuid")
                })
                .is_ok()
                    && self.pattern.as_deref().is_none_or(|p| pattern_ok(p, value))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Definitions {
        let channels = r#"[
          {"id":"pipeline","template":"pipeline:{runId}","params":[{"name":"runId","kind":"string"}],
           "topics":[{"name":"status","payload":"S"}]},
          {"id":"shard","template":"shard:{n}:x","params":[{"name":"n","kind":"integer","minimum":0,"maximum":9}],
           "topics":[{"name":"t","payload":"S"}]},
          {"id":"env","template":"env-{e}","params":[{"name":"e","kind":"string","enum":["prod","dev"]}],
           "topics":[{"name":"t","payload":"S"}]},
          {"id":"announcements","template":"announcements","topics":[{"name":"posted","payload":"S"}]}
        ]"#;
        Definitions::from_json(channels, "{}").unwrap()
    }

    #[test]
    fn names_match_their_channel() {
        let d = defs();
        let yes = |_: &str, _: &str| true;
        let id = |n: &str| d.find(n, &yes).map(|c| c.id.as_str());
        assert_eq!(id("pipeline:7"), Some("pipeline"));
        assert_eq!(id("pipeline:"), None);
        assert_eq!(id("pipeline:7:8"), None);
        assert_eq!(id("shard:3:x"), Some("shard"));
        assert_eq!(id("shard:10:x"), None);
        assert_eq!(id("shard:03:x"), None);
        assert_eq!(id("env-prod"), Some("env"));
        assert_eq!(id("env-qa"), None);
        assert_eq!(id("announcements"), Some("announcements"));
        assert_eq!(id("announcements:1"), None);
        assert_eq!(id(&"x".repeat(5000)), None);
    }
}
