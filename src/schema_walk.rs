//! Visiting every subschema of a JSON Schema, with its location.

use serde_json::Value;

use crate::keywords::{Children, children};
use crate::source::Location;

/// Call `visit` on `schema` and each of its subschemas (depth first, document order).
/// Boolean schemas are visited too. `visit` returns whether to descend into the node.
pub fn walk(schema: &Value, at: &Location, visit: &mut dyn FnMut(&Value, &Location) -> bool) {
    if !visit(schema, at) {
        return;
    }
    let Value::Object(obj) = schema else { return };
    for (keyword, value) in obj {
        let Some(kind) = children(keyword) else {
            continue;
        };
        let here = at.child(keyword);
        match (kind, value) {
            (Children::List | Children::One, Value::Array(list)) => {
                for (i, v) in list.iter().enumerate() {
                    walk(v, &here.child(&i.to_string()), visit);
                }
            }
            (Children::One, v) => walk(v, &here, visit),
            (Children::Map, Value::Object(map)) => {
                for (name, v) in map {
                    walk(v, &here.child(name), visit);
                }
            }
            _ => {}
        }
    }
}
