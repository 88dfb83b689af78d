//! The document tree every stage shares: load, check, lower, both emitters, diff and samples.
//!
//! `Value` has serde_json's variants and the parts of its API this crate uses, laid out for
//! schemas: 32 bytes a node, keys and strings inline up to 24 bytes, an object's members in
//! one vector (`map.rs`) found by comparing their few keys, a hash table only for large
//! objects. serde_json's `Value` with ordered maps takes 80 bytes a node and a 112-byte entry
//! plus a hash table per member and object, and an allocation per key: resident memory after
//! loading the 11 MB benchmark definition went from 81 to 48 MiB (its text and the program
//! included). `get` compares a small object's keys instead of hashing: schema objects have two
//! or three members, and the emitters and checks ask each for every keyword they know. Numbers are serde_json's `Number`,
//! so they read, compare and print exactly as before. `to_serde` and `From<serde_json::Value>`
//! cross to serde_json where a library takes its values (jsonschema, typify, the runtime).

mod de;
mod map;
mod ser;

pub use map::{Entry, Map};
pub use serde_json::Number;

/// A key or a string of the tree: inline up to 24 bytes (most keys and keyword values), so
/// that reading a document allocates for containers and long strings only.
pub type Str = compact_str::CompactString;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Str),
    Array(Vec<Value>),
    Object(Map),
}

/// A value built with serde_json's `json!` syntax.
#[macro_export]
macro_rules! json {
    ($($t:tt)+) => {
        $crate::value::Value::from(::serde_json::json!($($t)+))
    };
}

static NULL: Value = Value::Null;

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn is_boolean(&self) -> bool {
        matches!(self, Value::Bool(_))
    }
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Number(_))
    }
    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
    pub fn is_u64(&self) -> bool {
        self.as_number().is_some_and(Number::is_u64)
    }
    pub fn is_f64(&self) -> bool {
        self.as_number().is_some_and(Number::is_f64)
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(Number::as_f64)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// An object's member or an array's item; `None` for anything else.
    pub fn get<I: ValueIndex>(&self, index: I) -> Option<&Value> {
        index.index_into(self)
    }

    pub fn get_mut<I: ValueIndex>(&mut self, index: I) -> Option<&mut Value> {
        index.index_into_mut(self)
    }

    /// The value, leaving `null` in its place.
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }

    /// The node at a JSON pointer (RFC 6901), as serde_json's `pointer` finds it, allocating
    /// only for a token with escapes.
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        pointer.strip_prefix('/')?.split('/').try_fold(self, |node, token| match node {
            Value::Object(map) => map.get(&crate::source::unescape_token(token)),
            Value::Array(list) => parse_index(token).and_then(|i| list.get(i)),
            _ => None,
        })
    }

    pub fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        pointer.strip_prefix('/')?.split('/').try_fold(self, |node, token| match node {
            Value::Object(map) => map.get_mut(&crate::source::unescape_token(token)),
            Value::Array(list) => parse_index(token).and_then(|i| list.get_mut(i)),
            _ => None,
        })
    }

    /// The same value as serde_json's.
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Value::to_serde).collect()),
            Value::Object(m) => {
                let mut out = serde_json::Map::with_capacity(m.len());
                for (k, v) in m {
                    out.insert(k.to_string(), v.to_serde());
                }
                serde_json::Value::Object(out)
            }
        }
    }
}

/// An array index as serde_json's pointer reads one: digits, no sign, no leading zero.
fn parse_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

/// What `get` takes: a key or an index.
pub trait ValueIndex {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value>;
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value>;
}

impl ValueIndex for str {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.as_object().and_then(|m| m.get(self))
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        v.as_object_mut().and_then(|m| m.get_mut(self))
    }
}

impl ValueIndex for String {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        self.as_str().index_into(v)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        self.as_str().index_into_mut(v)
    }
}

impl ValueIndex for usize {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.as_array().and_then(|a| a.get(*self))
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        v.as_array_mut().and_then(|a| a.get_mut(*self))
    }
}

impl<T: ValueIndex + ?Sized> ValueIndex for &T {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        (**self).index_into(v)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        (**self).index_into_mut(v)
    }
}

/// `value["key"]` and `value[0]`: `null` where there is nothing, as in serde_json.
impl<I: ValueIndex> std::ops::Index<I> for Value {
    type Output = Value;
    fn index(&self, index: I) -> &Value {
        index.index_into(self).unwrap_or(&NULL)
    }
}

/// `value["key"] = …`: the member added when missing, and `null` made an object first, as in
/// serde_json; anything else panics.
impl std::ops::IndexMut<&str> for Value {
    fn index_mut(&mut self, key: &str) -> &mut Value {
        if self.is_null() {
            *self = Value::Object(Map::new());
        }
        match self {
            Value::Object(map) => map.entry(key).or_insert(Value::Null),
            other => panic!("cannot access key {key:?} in JSON {other:?}"),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s.into()),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect()),
        }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> serde_json::Value {
        v.to_serde()
    }
}

impl From<Value> for serde_json::Value {
    fn from(v: Value) -> serde_json::Value {
        v.to_serde()
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s.into())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.into())
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<f64> for Value {
    /// `null` for a number JSON cannot hold, as serde_json does.
    fn from(f: f64) -> Value {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

macro_rules! from_integer {
    ($($t:ty)*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Number(Number::from(n))
            }
        }
    )*};
}
from_integer!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize);

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Value {
        Value::Array(a)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Object(m)
    }
}

impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Value {
        Value::Array(iter.into_iter().collect())
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
    }

    #[test]
    fn pointers_resolve_as_serde_json_resolves_them() {
        let theirs = serde_json::json!({
            "a": [1, {"b/c": 2, "d~e": [3]}], "": {"": 4}, "01": 5,
            "a/b": {"~": [1, {"": 2}]}, "x": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        });
        let mut ours = Value::from(theirs.clone());
        let pointers = [
            "",
            "/a",
            "/a/0",
            "/a/1",
            "/a/01",
            "/a/+1",
            "/a/2",
            "/a/1/b~1c",
            "/a/1/d~0e/0",
            "/",
            "//",
            "/01",
            "a",
            "/a/1/x",
            "/a/-",
            "/a~1b",
            "/a~1b/~0",
            "/a~1b/~0/1/",
            "/a~1b/~0/01",
            "/a~1b/~0/2",
            "/x/10",
            "/x/010",
            "/x/-1",
            "/x/0",
            "/missing",
            "/a~1b/~0/1",
            "/x/99999999999999999999",
        ];
        for p in pointers {
            assert_eq!(ours.pointer(p).map(Value::to_serde), theirs.pointer(p).cloned(), "{p}");
            let found = ours.pointer_mut(p).map(|v| v.to_serde());
            assert_eq!(found, theirs.pointer(p).cloned(), "{p}");
        }
    }

    #[test]
    fn converts_to_serde_json_and_back_in_order() {
        let theirs = serde_json::json!({"z": 1, "a": [true, null, -1, 1.5, "s"], "m": {"y": {}, "x": []}});
        let ours = Value::from(theirs.clone());
        assert_eq!(serde_json::to_string(&ours.to_serde()).unwrap(), serde_json::to_string(&theirs).unwrap());
        assert_eq!(ours.to_string(), theirs.to_string());
        assert_eq!(ours["a"][3], Value::from(1.5));
        assert_eq!(ours["nothing"], Value::Null);
    }
}
