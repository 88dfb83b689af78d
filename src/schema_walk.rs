//! Visiting every subschema of a JSON Schema, with its location.

use serde_json::Value;

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
                    push_token(&mut at.pointer, itoa(i).as_str());
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
