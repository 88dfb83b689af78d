//! Reading JSON values: a member of an object found by comparing keys in order.
//!
//! serde_json's ordered map hashes the key (SipHash) for every `get`. Schema objects have a
//! few members each (2.2 on average in the benchmark corpus), and the emitters and checks ask
//! each one for every keyword they know: comparing the few keys costs a fraction of hashing.

use serde_json::{Map, Value};

/// Objects with more members than this are looked up through their index.
const SCAN: usize = 12;

/// A member by key: `get`, without hashing small objects.
pub trait Member {
    fn member(&self, key: &str) -> Option<&Value>;
}

impl Member for Map<String, Value> {
    #[inline]
    fn member(&self, key: &str) -> Option<&Value> {
        if self.len() <= SCAN { self.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v) } else { self.get(key) }
    }
}

impl Member for Value {
    #[inline]
    fn member(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(map) => map.member(key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_agrees_with_get_on_small_and_large_objects() {
        for n in [0, 1, 3, SCAN, SCAN + 1, 40] {
            let obj: Map<String, Value> = (0..n).map(|i| (format!("k{i}"), Value::from(i))).collect();
            let value = Value::Object(obj.clone());
            for key in (0..n + 2).map(|i| format!("k{i}")).chain(["".into(), "k".into()]) {
                assert_eq!(obj.member(&key), obj.get(&key), "{n} {key}");
                assert_eq!(value.member(&key), value.get(&key), "{n} {key}");
            }
        }
        assert_eq!(Value::from(1).member("a"), None);
    }
}
