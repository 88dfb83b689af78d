//! Semantic rules on channels: name templates and their params, overlapping names, and
//! identifiers that collide once converted to Rust or TypeScript names.

use ahash::AHashMap as HashMap;

use super::ChannelDef;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::ParamType;
use crate::naming;
use crate::source::{Location, Target};
use crate::template::{self, Overlap};

/// Parse each channel's name template and check it against the channel's params.
pub fn check_templates(channels: &mut [ChannelDef], diags: &mut Diagnostics) {
    for ch in channels.iter_mut() {
        let (raw, name_at, target) = match &ch.channel.name {
            Some(n) => (n.clone(), ch.at.child("name"), Target::Value),
            None => (ch.id.clone(), ch.at.clone(), Target::Key),
        };
        let point = |d: Diagnostic| {
            if target == Target::Key { d.at_key(&name_at) } else { d.at(&name_at) }
        };
        match template::parse(&raw) {
            Err((_, message)) => {
                diags.push(point(Diagnostic::error("invalid-template", format!("channel name `{raw}`: {message}"))));
            }
            Ok(t) => {
                for p in t.params() {
                    if !ch.channel.params.contains_key(p) {
                        let mut d = Diagnostic::error(
                            "undeclared-param",
                            format!("`{{{p}}}` in `{raw}` is not a declared param"),
                        )
                        .hint(format!("declare it under `params:`, e.g. `{p}: {{ type: string }}`"));
                        if let Some(close) =
                            crate::diagnostic::did_you_mean(p, ch.channel.params.keys().map(String::as_str))
                        {
                            d = d.hint(format!("did you mean `{{{close}}}`?"));
                        }
                        diags.push(point(d));
                    }
                }
                for name in ch.channel.params.keys() {
                    if !t.params().any(|p| p == name) {
                        diags.push(
                            Diagnostic::error(
                                "unused-param",
                                format!("param `{name}` does not appear in the channel name `{raw}`"),
                            )
                            .at_key(&ch.at.child("params").child(name))
                            .hint(format!("use it as `{{{name}}}` in `name`, or remove it")),
                        );
                    }
                }
                ch.template = Some(t);
            }
        }
        check_params(ch, diags);
    }
}

/// Keywords that only fit one param type, bounds, and patterns that must compile.
fn check_params(ch: &ChannelDef, diags: &mut Diagnostics) {
    for (name, p) in &ch.channel.params {
        let at = ch.at.child("params").child(name);
        let misplaced: &[(&str, bool)] = match p.ty {
            ParamType::Integer => {
                &[("format", p.format.is_some()), ("pattern", p.pattern.is_some()), ("enum", p.values.is_some())]
            }
            ParamType::String => &[("minimum", p.minimum.is_some()), ("maximum", p.maximum.is_some())],
        };
        for (keyword, present) in misplaced {
            if *present {
                let ty = if p.ty == ParamType::Integer { "an integer" } else { "a string" };
                diags.push(
                    Diagnostic::error("param-keyword", format!("`{keyword}` does not apply to {ty} param"))
                        .at_key(&at.child(keyword)),
                );
            }
        }
        if let (Some(min), Some(max)) = (p.minimum, p.maximum)
            && min > max
        {
            diags.push(
                Diagnostic::error("invalid-value", format!("`minimum` {min} is greater than `maximum` {max}"))
                    .at(&at.child("minimum")),
            );
        }
        if let Some(pattern) = &p.pattern
            && let Err(e) = super::schemas::compile_pattern(pattern)
        {
            diags.push(
                Diagnostic::error("invalid-pattern", format!("`{pattern}` is not a valid regular expression: {e}"))
                    .at(&at.child("pattern")),
            );
        }
    }
}

/// Two channels whose templates can produce the same runtime name.
pub fn check_overlaps(channels: &[ChannelDef], diags: &mut Diagnostics) {
    let parsed: Vec<(&ChannelDef, &template::Template)> =
        channels.iter().filter_map(|c| c.template.as_ref().map(|t| (c, t))).collect();
    for (i, (b, tb)) in parsed.iter().enumerate() {
        for (a, ta) in &parsed[..i] {
            let (message, severity_error, example) =
                match template::overlap(ta, &a.channel.params, tb, &b.channel.params) {
                    Overlap::None => continue,
                    Overlap::Certain { example } => ("can produce the same runtime name as", true, example),
                    Overlap::Possible { example } => ("may produce the same runtime name as", false, example),
                };
            let text = format!(
                "channel `{}` (`{}`) {message} channel `{}` (`{}`), e.g. `{example}`",
                b.id,
                b.name(),
                a.id,
                a.name()
            );
            let d = if severity_error {
                Diagnostic::error("overlapping-channels", text)
                    .hint("a published name must identify one channel: give them different literal prefixes, or narrow the params (an `integer` type, an `enum`, `format: uuid`)")
            } else {
                Diagnostic::warning("possibly-overlapping-channels", text)
                    .hint("chanspec cannot prove that the params' `pattern`, `format` or bounds keep these names apart")
            };
            diags.push(b.point_at_name(d).related(
                &a.name_location(),
                Target::Value,
                format!("channel `{}` is declared here", a.id),
            ));
        }
    }
}

/// Identifiers that become the same Rust or TypeScript name.
pub fn check_names<'a>(channels: &'a [ChannelDef], defs: &'a [super::DefEntry], diags: &mut Diagnostics) {
    // What declared a generated type: described only when a collision is reported.
    #[derive(Clone, Copy)]
    enum Claimant<'a> {
        Schema(&'a str),
        Channel(&'a str),
        Topic(&'a str, &'a str),
    }
    impl std::fmt::Display for Claimant<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            match self {
                Claimant::Schema(name) => write!(f, "schema `{name}`"),
                Claimant::Channel(id) => write!(f, "channel `{id}`"),
                Claimant::Topic(id, topic) => write!(f, "topic `{id}.{topic}`"),
            }
        }
    }
    let mut types: HashMap<String, (Claimant<'a>, Location)> = HashMap::with_capacity(defs.len() + 9 * channels.len());
    let mut claim = |name: String, what: Claimant<'a>, at: &Location, diags: &mut Diagnostics| {
        if let Some((first, first_at)) = types.get(&name) {
            diags.push(
                Diagnostic::error("name-collision", format!("{what} and {first} both generate the type `{name}`"))
                    .at_key(at)
                    .hint("rename one of them")
                    .related(first_at, Target::Key, format!("{first} is declared here")),
            );
        } else {
            types.insert(name, (what, at.clone()));
        }
    };
    for d in defs {
        claim(naming::type_name(&d.name), Claimant::Schema(&d.name), &d.at, diags);
    }
    let mut idents: HashMap<String, &ChannelDef> = HashMap::with_capacity(channels.len());
    for ch in channels {
        let key = naming::type_name(&ch.id);
        if let Some(first) = idents.get(&key) {
            diags.push(
                Diagnostic::error(
                    "name-collision",
                    format!(
                        "channel `{}` and channel `{}` both become `{}` in Rust and `{}` in TypeScript",
                        ch.id,
                        first.id,
                        naming::channel_type(&ch.id),
                        naming::ts_binding(&ch.id)
                    ),
                )
                .at_key(&ch.at)
                .hint("rename one of them")
                .related(&first.at, Target::Key, format!("channel `{}` is declared here", first.id)),
            );
            continue;
        }
        idents.insert(key, ch);
        let what = Claimant::Channel(&ch.id);
        claim(naming::channel_type(&ch.id), what, &ch.at, diags);
        claim(naming::message_enum(&ch.id), what, &ch.at, diags);
        claim(naming::ts_params(&ch.id), what, &ch.at, diags);
        claim(naming::ts_topics(&ch.id), what, &ch.at, diags);
        collide_within(ch, ch.channel.topics.keys(), "topics", "topic", naming::type_name, diags);
        collide_within(ch, ch.channel.params.keys(), "params", "param", naming::rust_snake, diags);
        for topic in ch.channel.topics.keys() {
            if !ch.is_bare_ref(topic) {
                let at = ch.at.child("topics").child(topic);
                claim(naming::topic_payload(&ch.id, topic), Claimant::Topic(&ch.id, topic), &at, diags);
            }
        }
    }
}

/// Names of one kind within a channel (`names`, found under `field`) that convert to the same
/// generated name.
fn collide_within<'a>(
    ch: &ChannelDef,
    names: impl Iterator<Item = &'a String>,
    field: &str,
    what: &str,
    convert: fn(&str) -> String,
    diags: &mut Diagnostics,
) {
    let mut seen: HashMap<String, &String> = HashMap::new();
    for name in names {
        let converted = convert(name);
        if let Some(first) = seen.get(&converted) {
            diags.push(
                Diagnostic::error(
                    "name-collision",
                    format!("{what} `{name}` and {what} `{first}` of channel `{}` both become `{converted}`", ch.id),
                )
                .at_key(&ch.at.child(field).child(name))
                .hint("rename one of them")
                .related(
                    &ch.at.child(field).child(first),
                    Target::Key,
                    format!("{what} `{first}` is declared here"),
                ),
            );
        } else {
            seen.insert(converted, name);
        }
    }
}

/// A schema that is only a reference (plus annotations): its type is the referenced one.
pub fn is_bare_ref(schema: &crate::value::Value) -> bool {
    schema.as_object().is_some_and(|o| {
        o.contains_key("$ref")
            && o.keys()
                .all(|k| k == "$ref" || crate::keywords::support(k) == Some(crate::keywords::Support::Annotation))
    })
}
