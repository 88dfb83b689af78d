//! Channel definitions at run time: what the hub needs to know about the channels it
//! carries. Generated modules embed them (`chanspec_definitions()`), and `chanspec serve`
//! builds the same value from definition files; both come from one conversion in the
//! `chanspec` crate.
//!
//! This is plain data (serde only). Matching a runtime name such as `pipeline:7` to its
//! channel is here too, with the params checked as generated constructors check them
//! (`pattern`s read as ECMA-262 by `crate::pattern`).

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
    /// The run lifecycle, when declared: the channel has a status, and `POST /v1/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleDef>,
}

/// A channel's lifecycle: the names (in [`Definitions::schemas`]) of a completed run's result
/// schema and a failed run's error schema, when declared.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LifecycleDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    /// enums, UUIDs, integer bounds, `pattern`s): the same rules as generated constructors.
    pub fn find(&self, name: &str) -> Option<&ChannelDef> {
        if name.len() > MAX_NAME_LEN {
            return None;
        }
        self.channels.iter().find(|ch| ch.matches(name))
    }

    /// Why no channel matches `name`: the channel it has the shape of and the param value
    /// refused, when there is one (`` `room:ab` has the shape of `room:{roomId}` but param
    /// `roomId` = "ab": it does not match the pattern `^[a-z]{3,}$` ``), or that no
    /// template has its shape.
    pub fn no_channel(&self, name: &str) -> String {
        self.refusal(name).unwrap_or_else(|| format!("no channel matches `{name}`"))
    }

    /// When `name` has the shape of a channel's template but a param value is refused: which
    /// channel, which param and why.
    pub fn refusal(&self, name: &str) -> Option<String> {
        self.channels
            .iter()
            .find_map(|ch| ch.refusal(name).map(|why| format!("`{name}` has the shape of `{}` but {why}", ch.template)))
    }
}

impl ChannelDef {
    pub fn topic(&self, name: &str) -> Option<&TopicDef> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// Does `name` come from this channel's template with acceptable param values?
    pub fn matches(&self, name: &str) -> bool {
        let parts = parts(&self.template);
        self.match_from(&parts, name, &mut |param, value| param.accepts(value), &mut Vec::new())
    }

    /// When `name` has this channel's shape but a param value is refused: which param, which
    /// value and why (`param `roomId` = "ab": it does not match the pattern `^[a-z]{3,}$``).
    pub fn refusal(&self, name: &str) -> Option<String> {
        let parts = parts(&self.template);
        let mut values = Vec::new();
        let mut shaped = |param: &ParamDef, value: &str| match param.kind {
            ParamKind::Integer => value.parse::<i64>().is_ok(),
            ParamKind::String => true,
        };
        if !self.match_from(&parts, name, &mut shaped, &mut values) {
            return None;
        }
        values.into_iter().find_map(|(param, value)| {
            param.refusal(value).map(|why| format!("param `{}` = {value:?}: {why}", param.name))
        })
    }

    /// Match `rest` against the template's `parts`, each param value accepted by `accept`;
    /// on success `values` holds each param with its value.
    fn match_from<'a, 'n>(
        &'a self,
        parts: &[Part<'_>],
        rest: &'n str,
        accept: &mut dyn FnMut(&ParamDef, &str) -> bool,
        values: &mut Vec<(&'a ParamDef, &'n str)>,
    ) -> bool {
        match parts.split_first() {
            None => rest.is_empty(),
            Some((Part::Literal(l), tail)) => {
                rest.strip_prefix(l).is_some_and(|r| self.match_from(tail, r, accept, values))
            }
            Some((Part::Param(p), tail)) => {
                let Some(param) = self.params.iter().find(|x| x.name == *p) else { return false };
                // A value is one or more characters up to the next separator; try each length.
                let limit = rest.find(SEPARATOR).unwrap_or(rest.len());
                (1..=limit).rev().any(|n| {
                    if !rest.is_char_boundary(n) || !accept(param, &rest[..n]) {
                        return false;
                    }
                    values.push((param, &rest[..n]));
                    let matched = self.match_from(tail, &rest[n..], accept, values);
                    if !matched {
                        values.pop();
                    }
                    matched
                })
            }
        }
    }
}

impl ParamDef {
    /// Is `value` an acceptable value of this param?
    pub fn accepts(&self, value: &str) -> bool {
        self.refusal(value).is_none()
    }

    /// Why `value` is not an acceptable value of this param, if it is not: the rules of
    /// generated constructors, [`crate::check_param`] and [`crate::check_int_param`].
    pub fn refusal(&self, value: &str) -> Option<String> {
        match self.kind {
            ParamKind::Integer => {
                // Canonical decimal only, as generated code writes it.
                let n = match value.parse::<i64>() {
                    Ok(n) if n.to_string() == value => n,
                    _ => return Some("it is not an integer in canonical decimal form".into()),
                };
                crate::check_int_param("", n, self.minimum, self.maximum).err().map(|e| e.reason)
            }
            ParamKind::String => {
                let allowed: Vec<&str> = self.values.iter().map(String::as_str).collect();
                let uuid = self.format.as_deref() == Some("uuid");
                crate::check_param("", value, &allowed, uuid, self.pattern.as_deref()).err().map(|e| e.reason)
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
        let id = |n: &str| d.find(n).map(|c| c.id.as_str());
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
