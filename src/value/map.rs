//! `Map`: an object's members in document order, in one vector.
//!
//! serde_json's ordered map keeps a 112-byte entry and a hash table per object, whatever its
//! size; schema objects have two or three members. Here an entry is its key and value (56
//! bytes), found by comparing the few keys in order; an object with more than `INDEXED`
//! members (a `$defs`, `properties` or `channels` map) also gets a table of positions by hash.
//!
//! Behaviour follows serde_json's `Map` with `preserve_order`: `insert` keeps a present key's
//! place, `remove` swaps the last member into the removed one's place, equality ignores order.

use super::{Str, Value};

/// Objects with more members than this are looked up through a hash table.
const INDEXED: usize = 12;

#[derive(Clone, Default)]
pub struct Map {
    entries: Vec<(Str, Value)>,
    index: Option<Box<Index>>,
}

/// Open addressing: each slot holds a position plus one, or 0 when empty; at most half full.
#[derive(Clone)]
struct Index {
    slots: Box<[u32]>,
    bits: u32,
}

/// A key's hash (Fx-style: a multiply per 8 bytes), from a seed drawn once per process, so
/// that no set of keys collides the same way in every run.
fn hash(key: &str) -> u64 {
    static SEED: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u64)
    });
    let mut h = *SEED ^ key.len() as u64;
    let mut chunks = key.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(c.try_into().expect("8 bytes"))).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(0x517c_c1b7_2722_0a95)
}

impl Index {
    fn build(entries: &[(Str, Value)]) -> Box<Index> {
        let bits = (entries.len() * 2).next_power_of_two().max(32).trailing_zeros();
        let mut index = Box::new(Index { slots: vec![0; 1 << bits].into_boxed_slice(), bits });
        for (i, (k, _)) in entries.iter().enumerate() {
            index.place(k, i);
        }
        index
    }

    fn start(&self, key: &str) -> usize {
        (hash(key) >> (64 - self.bits)) as usize
    }

    fn place(&mut self, key: &str, position: usize) {
        let mask = self.slots.len() - 1;
        let mut at = self.start(key);
        while self.slots[at] != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = u32::try_from(position + 1).expect("fewer than 2^32 members");
    }

    fn find(&self, entries: &[(Str, Value)], key: &str) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut at = self.start(key);
        loop {
            let slot = self.slots[at] as usize;
            if slot == 0 {
                return None;
            }
            if entries[slot - 1].0 == key {
                return Some(slot - 1);
            }
            at = (at + 1) & mask;
        }
    }
}

pub type Iter<'a> = std::iter::Map<std::slice::Iter<'a, (Str, Value)>, fn(&'a (Str, Value)) -> (&'a Str, &'a Value)>;
pub type IterMut<'a> =
    std::iter::Map<std::slice::IterMut<'a, (Str, Value)>, fn(&'a mut (Str, Value)) -> (&'a Str, &'a mut Value)>;
pub type Keys<'a> = std::iter::Map<std::slice::Iter<'a, (Str, Value)>, fn(&'a (Str, Value)) -> &'a Str>;
pub type Values<'a> = std::iter::Map<std::slice::Iter<'a, (Str, Value)>, fn(&'a (Str, Value)) -> &'a Value>;
pub type ValuesMut<'a> =
    std::iter::Map<std::slice::IterMut<'a, (Str, Value)>, fn(&'a mut (Str, Value)) -> &'a mut Value>;

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn with_capacity(n: usize) -> Map {
        Map { entries: Vec::with_capacity(n), index: None }
    }

    /// The members as they are, or the first key that repeats one before it.
    pub fn from_entries(entries: Vec<(Str, Value)>) -> Result<Map, String> {
        let mut map = Map { entries, index: None };
        map.reindex();
        match map.first_repeat() {
            Some(i) => Err(map.entries[i].0.to_string()),
            None => Ok(map),
        }
    }

    fn first_repeat(&self) -> Option<usize> {
        let entries = &self.entries;
        match &self.index {
            Some(index) => entries.iter().enumerate().position(|(i, (k, _))| index.find(entries, k) != Some(i)),
            None => entries.iter().enumerate().position(|(i, (k, _))| entries[..i].iter().any(|(o, _)| o == k)),
        }
    }

    fn reindex(&mut self) {
        self.index = (self.entries.len() > INDEXED).then(|| Index::build(&self.entries));
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.find(&self.entries, key),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.position(key).map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// The value at `key` replaced (its place kept), or added last.
    pub fn insert(&mut self, key: Str, value: Value) -> Option<Value> {
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        self.push(key, value);
        None
    }

    fn push(&mut self, key: Str, value: Value) {
        self.entries.push((key, value));
        let n = self.entries.len();
        match &mut self.index {
            Some(index) if n * 2 <= index.slots.len() => index.place(&self.entries[n - 1].0, n - 1),
            _ => self.reindex(),
        }
    }

    /// Removed with the last member moved into its place (serde_json's `remove` with
    /// `preserve_order`).
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        let (_, v) = self.entries.swap_remove(i);
        self.reindex();
        Some(v)
    }

    pub fn remove_entry(&mut self, key: &str) -> Option<(Str, Value)> {
        let i = self.position(key)?;
        let entry = self.entries.swap_remove(i);
        self.reindex();
        Some(entry)
    }

    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        let (_, v) = self.entries.remove(i);
        self.reindex();
        Some(v)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Str, &mut Value) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
        self.reindex();
    }

    pub fn entry(&mut self, key: impl Into<Str>) -> Entry<'_> {
        let key = key.into();
        match self.position(&key) {
            Some(at) => Entry::Occupied(OccupiedEntry { map: self, at }),
            None => Entry::Vacant(VacantEntry { map: self, key }),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(&mut self) -> IterMut<'_> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> Keys<'_> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> Values<'_> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> ValuesMut<'_> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The same map as serde_json's.
    pub fn to_serde(&self) -> serde_json::Map<String, serde_json::Value> {
        self.iter().map(|(k, v)| (k.to_string(), v.to_serde())).collect()
    }

    pub fn first(&self) -> Option<(&Str, &Value)> {
        self.entries.first().map(|(k, v)| (k, v))
    }
}

pub enum Entry<'a> {
    Vacant(VacantEntry<'a>),
    Occupied(OccupiedEntry<'a>),
}

pub struct VacantEntry<'a> {
    map: &'a mut Map,
    key: Str,
}

pub struct OccupiedEntry<'a> {
    map: &'a mut Map,
    at: usize,
}

impl<'a> Entry<'a> {
    pub fn or_insert(self, default: Value) -> &'a mut Value {
        self.or_insert_with(|| default)
    }

    pub fn or_insert_with(self, default: impl FnOnce() -> Value) -> &'a mut Value {
        match self {
            Entry::Vacant(v) => v.insert(default()),
            Entry::Occupied(o) => o.into_mut(),
        }
    }

    pub fn key(&self) -> &Str {
        match self {
            Entry::Vacant(v) => &v.key,
            Entry::Occupied(o) => o.key(),
        }
    }
}

impl<'a> VacantEntry<'a> {
    pub fn key(&self) -> &Str {
        &self.key
    }

    pub fn insert(self, value: Value) -> &'a mut Value {
        self.map.push(self.key, value);
        &mut self.map.entries.last_mut().expect("just pushed").1
    }
}

impl<'a> OccupiedEntry<'a> {
    pub fn key(&self) -> &Str {
        &self.map.entries[self.at].0
    }

    pub fn get(&self) -> &Value {
        &self.map.entries[self.at].1
    }

    pub fn get_mut(&mut self) -> &mut Value {
        &mut self.map.entries[self.at].1
    }

    pub fn into_mut(self) -> &'a mut Value {
        &mut self.map.entries[self.at].1
    }

    pub fn insert(&mut self, value: Value) -> Value {
        std::mem::replace(self.get_mut(), value)
    }

    pub fn remove(self) -> Value {
        let (_, v) = self.map.entries.swap_remove(self.at);
        self.map.reindex();
        v
    }
}

/// Equal members, in any order (as serde_json's ordered map compares).
impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Eq for Map {}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Str>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Map {
        let mut map = Map::new();
        map.extend(iter);
        map
    }
}

impl<K: Into<Str>> Extend<(K, Value)> for Map {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k.into(), v);
        }
    }
}

impl IntoIterator for Map {
    type Item = (Str, Value);
    type IntoIter = std::vec::IntoIter<(Str, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a Str, &'a Value);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Map {
    type Item = (&'a Str, &'a mut Value);
    type IntoIter = IterMut<'a>;
    fn into_iter(self) -> IterMut<'a> {
        self.iter_mut()
    }
}

impl std::ops::Index<&str> for Map {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).expect("no such key in the map")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Against serde_json's ordered map, operation by operation.
    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i64),
        Remove(u8),
        ShiftRemove(u8),
        Retain(u8),
        Entry(u8, i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..60, any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            1 => (0u8..60).prop_map(Op::Remove),
            1 => (0u8..60).prop_map(Op::ShiftRemove),
            1 => (1u8..5).prop_map(Op::Retain),
            1 => (0u8..60, any::<i64>()).prop_map(|(k, v)| Op::Entry(k, v)),
        ]
    }

    fn same(ours: &Map, theirs: &serde_json::Map<String, serde_json::Value>) {
        let a: Vec<_> = ours.iter().map(|(k, v)| (k.to_string(), v.as_i64())).collect();
        let b: Vec<_> = theirs.iter().map(|(k, v)| (k.clone(), v.as_i64())).collect();
        assert_eq!(a, b);
        for k in 0..62 {
            let key = format!("k{k}");
            assert_eq!(ours.get(&key).and_then(Value::as_i64), theirs.get(&key).and_then(serde_json::Value::as_i64));
            assert_eq!(ours.contains_key(&key), theirs.contains_key(&key));
        }
    }

    proptest! {
        #[test]
        fn behaves_as_serde_jsons_ordered_map(ops in proptest::collection::vec(op(), 0..200)) {
            let mut ours = Map::new();
            let mut theirs = serde_json::Map::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let a = ours.insert(format!("k{k}").into(), v.into()).and_then(|v| v.as_i64());
                        let b = theirs.insert(format!("k{k}"), v.into()).and_then(|v| v.as_i64());
                        prop_assert_eq!(a, b);
                    }
                    Op::Remove(k) => {
                        prop_assert_eq!(ours.remove(&format!("k{k}")).and_then(|v| v.as_i64()), theirs.remove(&format!("k{k}")).and_then(|v| v.as_i64()));
                    }
                    Op::ShiftRemove(k) => {
                        prop_assert_eq!(ours.shift_remove(&format!("k{k}")).and_then(|v| v.as_i64()), theirs.shift_remove(&format!("k{k}")).and_then(|v| v.as_i64()));
                    }
                    Op::Retain(m) => {
                        ours.retain(|k, _| k.len() % m as usize != 0);
                        theirs.retain(|k, _| k.len() % m as usize != 0);
                    }
                    Op::Entry(k, v) => {
                        *ours.entry(format!("k{k}")).or_insert(Value::from(0)) = Value::from(v);
                        *theirs.entry(format!("k{k}")).or_insert(serde_json::Value::from(0)) = serde_json::Value::from(v);
                    }
                }
                same(&ours, &theirs);
            }
        }

        /// Distinct keys in any order (indexed once past 12), sometimes with a key repeated:
        /// the map is serde_json's built one by one, or the repeated key is named.
        #[test]
        fn from_entries_is_serde_jsons_map_or_the_first_repeat(
            keys in (0usize..60).prop_flat_map(|n| Just((0..n).collect::<Vec<_>>()).prop_shuffle()),
            repeat in proptest::option::of((any::<proptest::sample::Index>(), any::<proptest::sample::Index>())),
        ) {
            let mut keys: Vec<String> = keys.iter().map(|k| format!("k{k}")).collect();
            let mut repeated = None;
            if let Some((from, to)) = repeat.filter(|_| !keys.is_empty()) {
                let key = keys[from.index(keys.len())].clone();
                let at = to.index(keys.len() + 1);
                keys.insert(at, key.clone());
                repeated = Some(key);
            }
            let entries: Vec<(Str, Value)> = keys.iter().enumerate().map(|(i, k)| (k.as_str().into(), Value::from(i))).collect();
            match Map::from_entries(entries) {
                Err(key) => prop_assert_eq!(Some(key), repeated),
                Ok(ours) => {
                    prop_assert_eq!(repeated, None);
                    let theirs: serde_json::Map<String, serde_json::Value> =
                        keys.iter().enumerate().map(|(i, k)| (k.clone(), serde_json::Value::from(i))).collect();
                    same(&ours, &theirs);
                    prop_assert_eq!(ours.index.is_some(), ours.len() > INDEXED);
                }
            }
        }
    }

    #[test]
    fn equality_ignores_order() {
        let a: Map = [("x".to_string(), Value::from(1)), ("y".to_string(), Value::from(2))].into_iter().collect();
        let b: Map = [("y".to_string(), Value::from(2)), ("x".to_string(), Value::from(1))].into_iter().collect();
        assert_eq!(a, b);
        let c: Map = [("y".to_string(), Value::from(2))].into_iter().collect();
        assert_ne!(a, c);
    }
}
