//! Visiting every subschema of a JSON Schema, with its location.

use crate::value::Value;

use crate::keywords::{Children, children};
use crate::source::{Location, push_token};

/// Call `visit` on `schema` and each of its subschemas (depth first, document order).
/// Boolean schemas are visited too. `visit` returns whether to descend into the node.
/// One location is reused for the whole walk: clone it to keep it.
pub fn walk(schema: &Value, at: &Location, visit: &mut dyn FnMut(&Value, &Location) -> bool) {
    let mut cursor = at.clone();
    walk_in(schema, &mut cursor, visit);
}

fn walk_in(schema: &Value, at: &mut Location, visit: &mut dyn FnMut(&Value, &Location) -> bool) {
    if !visit(schema, at) {
        return;
    }
    let Value::Object(obj) = schema else { return };
    for (keyword, value) in obj {
        let Some(kind) = children(keyword) else { continue };
        let len = at.pointer.len();
        push_token(&mut at.pointer, keyword);
        match (kind, value) {
            (Children::List | Children::One, Value::Array(list)) => {
                for (i, v) in list.iter().enumerate() {
                    let inner = at.pointer.len();
                    push_index(&mut at.pointer, i);
                    walk_in(v, at, visit);
                    at.pointer.truncate(inner);
                }
            }
            (Children::One, v) => walk_in(v, at, visit),
            (Children::Map, Value::Object(map)) => {
                for (name, v) in map {
                    let inner = at.pointer.len();
                    push_token(&mut at.pointer, name);
                    walk_in(v, at, visit);
                    at.pointer.truncate(inner);
                }
            }
            _ => {}
        }
        at.pointer.truncate(len);
    }
}

fn itoa(i: usize) -> String {
    i.to_string()
}

/// An index appended to a pointer, without allocating.
fn push_index(pointer: &mut String, i: usize) {
    use std::fmt::Write;
    let _ = write!(pointer, "/{i}");
}

/// Every `$ref` (with a string value) in `schema` and its subschemas, in the order [`walk`]
/// visits them: the location of the schema holding it, and the reference. The walk keeps
/// the path as borrowed tokens; a location is built only where a `$ref` is.
pub fn refs(schema: &Value, at: &Location) -> Vec<(Location, String)> {
    enum Token<'a> {
        Key(&'a str),
        Index(usize),
    }
    fn visit<'a>(schema: &'a Value, path: &mut Vec<Token<'a>>, at: &Location, out: &mut Vec<(Location, String)>) {
        let Value::Object(obj) = schema else { return };
        // The schema's own reference first, then those below it, as `walk` visits them.
        if let Some((_, Value::String(r))) = obj.iter().find(|(k, _)| *k == "$ref") {
            let mut here = at.clone();
            for token in path.iter() {
                match token {
                    Token::Key(k) => push_token(&mut here.pointer, k),
                    Token::Index(i) => push_index(&mut here.pointer, *i),
                }
            }
            out.push((here, r.to_string()));
        }
        for (keyword, value) in obj {
            let Some(kind) = children(keyword) else { continue };
            path.push(Token::Key(keyword));
            match (kind, value) {
                (Children::List | Children::One, Value::Array(list)) => {
                    for (i, v) in list.iter().enumerate() {
                        path.push(Token::Index(i));
                        visit(v, path, at, out);
                        path.pop();
                    }
                }
                (Children::One, v) => visit(v, path, at, out),
                (Children::Map, Value::Object(map)) => {
                    for (name, v) in map {
                        path.push(Token::Key(name));
                        visit(v, path, at, out);
                        path.pop();
                    }
                }
                _ => {}
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    visit(schema, &mut Vec::new(), at, &mut out);
    out
}

/// The value of `keyword` rebuilt with `f` applied to each subschema it holds; `f` also gets
/// the token below the keyword (an index or a property name), or `None` for a single
/// subschema. The value of a keyword that holds no subschemas is cloned.
pub fn map_subschemas(keyword: &str, value: &Value, f: &mut dyn FnMut(&Value, Option<&str>) -> Value) -> Value {
    match (children(keyword), value) {
        (Some(Children::List | Children::One), Value::Array(list)) => {
            Value::Array(list.iter().enumerate().map(|(i, v)| f(v, Some(itoa(i).as_str()))).collect())
        }
        (Some(Children::One), v) => f(v, None),
        (Some(Children::Map), Value::Object(map)) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), f(v, Some(k)))).collect())
        }
        _ => value.clone(),
    }
}

/// Apply `f` to each subschema the value of `keyword` holds, in place; `f` also gets the
/// token below the keyword (an index or a property name), or `None` for a single subschema.
pub fn each_subschema_mut(keyword: &str, value: &mut Value, f: &mut dyn FnMut(&mut Value, Option<&str>)) {
    match (children(keyword), value) {
        (Some(Children::List | Children::One), Value::Array(list)) => {
            for (i, v) in list.iter_mut().enumerate() {
                f(v, Some(itoa(i).as_str()));
            }
        }
        (Some(Children::One), v) => f(v, None),
        (Some(Children::Map), Value::Object(map)) => {
            for (k, v) in map.iter_mut() {
                f(v, Some(k));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use crate::source::FileId;

    /// `refs` finds what a `walk` finds, in the same order, at the same locations: keys that
    /// need escaping, lists, maps, a `$ref` after or before its siblings, and data that only
    /// looks like a schema (`const`, `enum`) left alone.
    #[test]
    fn refs_are_the_refs_walk_visits() {
        let schema = json!({
            "properties": {
                "a/b": {"$ref": "#/$defs/A"},
                "t~n": {"items": {"$ref": "#/$defs/B"}, "$ref": "#/$defs/C"},
                "c": {"const": {"$ref": "#/not-a-schema"}, "enum": [{"$ref": "#/no"}]},
            },
            "allOf": [{"$ref": "#/$defs/D"}, {"oneOf": [true, {"$ref": 7}, {"$ref": "#/$defs/E"}]}],
            "prefixItems": [{"type": "string"}, {"$ref": "other.json#/x"}],
            "$ref": "#/$defs/Root",
        });
        let at = Location::new(FileId(3), "/$defs/S");
        let mut walked = Vec::new();
        walk(&schema, &at, &mut |node, here| {
            if let Some(Value::String(r)) = node.get("$ref") {
                walked.push((here.clone(), r.to_string()));
            }
            true
        });
        assert_eq!(refs(&schema, &at), walked);
        assert_eq!(walked.len(), 7);
        assert_eq!(walked[1].0.pointer, "/$defs/S/properties/a~1b");
    }
}
