//! Values read in (`Deserialize`, from any serde format), and read from (`&Value` as a serde
//! `Deserializer`, as serde_json's `&Value` is: the format's types, and typify's schemars
//! schemas, are read from a document's nodes this way). What is accepted, and how it is read,
//! is serde_json's (map keys read as numbers or booleans where asked, variants as serde_json
//! reads them); errors are serde_json's type, some worded differently.

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use super::{Map, Value};

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_i128<E: de::Error>(self, n: i128) -> Result<Value, E> {
        super::Number::from_i128(n).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_u128<E: de::Error>(self, n: u128) -> Result<Value, E> {
        super::Number::from_u128(n).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.into()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s.into()))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Deserialize::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::with_capacity(access.size_hint().unwrap_or(0));
        while let Some((k, v)) = access.next_entry::<String, Value>()? {
            map.insert(k.into(), v);
        }
        Ok(Value::Object(map))
    }
}

type Error = serde_json::Error;

impl<'de> IntoDeserializer<'de, Error> for &'de Value {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for &'de Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, Some(f)) => visitor.visit_f64(f),
                (None, None, None) => Err(de::Error::custom("a number out of range")),
            },
            Value::String(s) => visitor.visit_borrowed_str(s.as_str()),
            Value::Array(items) => {
                let mut seq = de::value::SeqDeserializer::new(items.iter());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Object(map) => {
                let mut access = de::value::MapDeserializer::new(map.iter().map(|(k, v)| (Key(k.as_str()), v)));
                let out = visitor.visit_map(&mut access)?;
                access.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Value::String(s) => visitor.visit_enum(Key(s.as_str())),
            Value::Object(map) if map.len() == 1 => {
                let (k, v) = map.first().expect("one member");
                visitor.visit_enum(Variant { name: k.as_str(), value: v })
            }
            _ => Err(de::Error::invalid_type(unexpected(self), &"a string or an object with one member")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    /// Strings only (a field name is never a number).
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::String(s) => visitor.visit_borrowed_str(s.as_str()),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("number"),
        Value::String(s) => de::Unexpected::Str(s.as_str()),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

/// A member's key, or a unit variant's name: a borrowed string, read as a number or a boolean
/// where one is asked for, as serde_json reads map keys.
#[derive(Clone, Copy)]
struct Key<'de>(&'de str);

impl<'de> IntoDeserializer<'de, Error> for Key<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// A key read as a number: JSON number text and nothing else (no sign but `-`, no spaces).
macro_rules! numeric_key {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let numeric = self.0.starts_with(|c: char| c.is_ascii_digit() || c == '-');
            if !numeric || self.0.bytes().any(|b| b.is_ascii_whitespace()) {
                return Err(de::Error::invalid_type(de::Unexpected::Str(self.0), &"a numeric key"));
            }
            let mut text = serde_json::Deserializer::from_str(self.0);
            let value = Deserializer::$method(&mut text, visitor)?;
            text.end()?;
            Ok(value)
        }
    )*};
}

impl<'de> Deserializer<'de> for Key<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.0)
    }

    numeric_key!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            other => Err(de::Error::invalid_type(de::Unexpected::Str(other), &visitor)),
        }
    }

    /// Keys are never null.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(self)
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

impl<'de> de::EnumAccess<'de> for Key<'de> {
    type Error = Error;
    type Variant = Unit;
    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Unit), Error> {
        seed.deserialize(de::value::BorrowedStrDeserializer::<Error>::new(self.0)).map(|v| (v, Unit))
    }
}

/// The rest of a unit variant: nothing.
struct Unit;

impl<'de> de::VariantAccess<'de> for Unit {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _seed: S) -> Result<S::Value, Error> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"newtype variant"))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"tuple variant"))
    }
    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"struct variant"))
    }
}

/// An externally tagged variant: `{"name": value}`.
struct Variant<'de> {
    name: &'de str,
    value: &'de Value,
}

impl<'de> de::EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = &'de Value;
    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, &'de Value), Error> {
        seed.deserialize(de::value::BorrowedStrDeserializer::<Error>::new(self.name)).map(|v| (v, self.value))
    }
}

impl<'de> de::VariantAccess<'de> for &'de Value {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        Deserialize::deserialize(self)
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self)
    }
    /// An array (an empty one as unit, as serde_json reads it).
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Array(items) if items.is_empty() => visitor.visit_unit(),
            Value::Array(_) => self.deserialize_any(visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &"tuple variant")),
        }
    }
    /// An object only.
    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &"struct variant")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Shape {
        name: String,
        count: Option<u32>,
        kind: Kind,
        #[serde(default)]
        tags: Vec<String>,
        rest: Option<Value>,
        nested: Option<Box<Shape>>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Plain,
        Sized(u32),
        Named { n: String },
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Keyed {
        by_number: Option<std::collections::BTreeMap<u32, String>>,
        by_float: Option<std::collections::BTreeMap<i64, f64>>,
        by_bool: Option<std::collections::BTreeMap<bool, u8>>,
        by_option: Option<std::collections::BTreeMap<Option<String>, u8>>,
        pair: Option<Pair>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Pair {
        Two(u8, u8),
        Named { n: u8 },
    }

    /// Keys read as numbers and booleans, and tuple and struct variants, as serde_json reads
    /// them.
    #[test]
    fn keys_and_variants_read_as_serde_json_reads_them() {
        let cases = [
            serde_json::json!({"by_number": {"1": "a", "20": "b"}}),
            serde_json::json!({"by_number": {"-1": "a"}}),
            serde_json::json!({"by_number": {"1 ": "a"}}),
            serde_json::json!({"by_number": {" 1": "a"}}),
            serde_json::json!({"by_number": {"+1": "a"}}),
            serde_json::json!({"by_number": {"1.5": "a"}}),
            serde_json::json!({"by_number": {"x": "a"}}),
            serde_json::json!({"by_number": {"": "a"}}),
            serde_json::json!({"by_float": {"3": 1.5}}),
            serde_json::json!({"by_bool": {"true": 1, "false": 2}}),
            serde_json::json!({"by_bool": {"yes": 1}}),
            serde_json::json!({"by_option": {"a": 1}}),
            serde_json::json!({"pair": {"two": [1, 2]}}),
            serde_json::json!({"pair": {"two": []}}),
            serde_json::json!({"pair": {"two": [1]}}),
            serde_json::json!({"pair": {"two": {"a": 1}}}),
            serde_json::json!({"pair": {"named": {"n": 3}}}),
            serde_json::json!({"pair": {"named": [3]}}),
            serde_json::json!({"pair": {"named": 3}}),
            serde_json::json!({"pair": "two"}),
            serde_json::json!({"pair": {"two": [1, 2], "named": {"n": 1}}}),
            serde_json::json!({"0": 1}),
        ];
        for case in cases {
            let ours = Value::from(case.clone());
            let a = Keyed::deserialize(&ours);
            let b = Keyed::deserialize(&case);
            assert_eq!(a.is_ok(), b.is_ok(), "{case}: {a:?} / {b:?}");
            if let (Ok(a), Ok(b)) = (a, b) {
                assert_eq!(a, b, "{case}");
            }
        }
    }

    /// The format's types read from our values as serde_json reads them from its own.
    #[test]
    fn types_read_from_values_as_from_serde_json_values() {
        let cases = [
            serde_json::json!({"name": "a", "kind": "plain"}),
            serde_json::json!({"name": "a", "count": 3, "kind": {"sized": 4}, "tags": ["x"], "rest": {"q": [1, null]}}),
            serde_json::json!({"name": "a", "kind": {"named": {"n": "z"}}, "nested": {"name": "b", "kind": "plain", "count": null}}),
            serde_json::json!({"name": "a", "kind": "plain", "extra": 1}),
            serde_json::json!({"name": 1, "kind": "plain"}),
            serde_json::json!({"name": "a", "kind": "nope"}),
            serde_json::json!({"name": "a", "count": -1, "kind": "plain"}),
            serde_json::json!({"name": "a", "count": 1.5, "kind": "plain"}),
            serde_json::json!({"name": "a", "kind": {"sized": 1, "plain": 2}}),
            serde_json::json!(["a", 1, "plain"]),
        ];
        for case in cases {
            let ours = Value::from(case.clone());
            let a = Shape::deserialize(&ours).map_err(|e| e.to_string());
            let b = Shape::deserialize(&case).map_err(|e| e.to_string());
            assert_eq!(a.is_ok(), b.is_ok(), "{case}: {a:?} / {b:?}");
            if let (Ok(a), Ok(b)) = (a, b) {
                assert_eq!(a, b, "{case}");
            }
            assert_eq!(Value::deserialize(&ours).unwrap(), ours);
            assert_eq!(serde_json::from_str::<Value>(&case.to_string()).unwrap(), ours);
        }
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "[a-z\\u{e9}\"\\\\]{0,30}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 64, 16, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::vec(("[a-z]{0,3}", inner), 0..20)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any JSON value: read through our `&Value` as a `Deserializer` it is serde_json's
        /// value again (every `deserialize_any` path), read from serde_json's it is ours, and
        /// both print the same text.
        #[test]
        fn values_cross_both_ways_exactly(json in any_json()) {
            let ours = Value::from(json.clone());
            let back = serde_json::Value::deserialize(&ours).unwrap();
            proptest::prop_assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&json).unwrap());
            proptest::prop_assert_eq!(Value::deserialize(&json).unwrap(), ours.clone());
            proptest::prop_assert_eq!(ours.to_string(), json.to_string());
            proptest::prop_assert_eq!(format!("{ours:#}"), format!("{json:#}"));
        }
    }
}
