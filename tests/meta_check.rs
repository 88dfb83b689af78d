//! `validate::meta::plainly_valid`, the quick meta-schema check that lets clean definitions skip
//! the meta-schema, must never accept a schema the meta-schema refuses. Held against the
//! meta-schema itself (the `jsonschema` crate's) on the JSON Schema Test Suite's schemas and
//! on generated schemas built from every keyword with good and bad values.

#[path = "support/corpus.rs"]
mod corpus;

use chanspec::validate::meta::plainly_valid;
use proptest::prelude::*;
use serde_json::{Value, json};

fn meta_valid(schema: &Value) -> bool {
    static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        jsonschema::draft202012::new(&json!({"$ref": "https://json-schema.org/draft/2020-12/schema"})).unwrap()
    })
    .is_valid(schema)
}

/// Every schema in `value` (a schema and its subschemas, found by walking every value).
fn all_values(value: &Value, out: &mut Vec<Value>) {
    out.push(value.clone());
    match value {
        Value::Object(m) => m.values().for_each(|v| all_values(v, out)),
        Value::Array(l) => l.iter().for_each(|v| all_values(v, out)),
        _ => {}
    }
}

/// The crate's value of a serde_json one.
fn ours(v: impl std::borrow::Borrow<Value>) -> chanspec::value::Value {
    v.borrow().clone().into()
}

#[test]
fn never_accepts_what_the_meta_schema_refuses_in_the_test_suite() {
    let Some(suite) = corpus::corpus(
        "json-schema-test-suite/tests/draft2020-12",
        "never_accepts_what_the_meta_schema_refuses_in_the_test_suite",
    ) else {
        return;
    };
    let (mut decided, mut left) = (0, 0);
    for entry in std::fs::read_dir(&suite).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let groups: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut values = Vec::new();
        for g in &groups {
            all_values(&g["schema"], &mut values);
        }
        for v in values {
            if plainly_valid(&ours(&v)) {
                assert!(meta_valid(&v), "{}: accepted, but the meta-schema refuses {v}", path.display());
                decided += 1;
            } else {
                left += 1;
            }
        }
    }
    // Both kinds occur: the check decides most schemas and leaves the unusual ones.
    assert!(decided > 1000 && left > 100, "decided {decided}, left {left}");
}

#[test]
fn decides_the_schemas_definitions_are_made_of() {
    let schema = json!({
        "type": "object",
        "description": "A run's status.",
        "required": ["id", "state"],
        "additionalProperties": false,
        "properties": {
            "id": {"type": "string", "format": "uuid", "minLength": 1},
            "state": {"enum": ["queued", "running"]},
            "kind": {"const": "status"},
            "progress": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
            "meta": {"type": "object", "additionalProperties": {"type": "string"}},
            "step": {"$ref": "#/$defs/Step", "deprecated": true},
            "result": {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^x"}]}
        }
    });
    assert!(plainly_valid(&ours(&schema)));
    for bad in [
        json!({"type": "strin"}),
        json!({"type": []}),
        json!({"type": ["string", "string"]}),
        json!({"required": ["a", "a"]}),
        json!({"required": "a"}),
        json!({"minLength": -1}),
        json!({"minLength": 1.5}),
        json!({"multipleOf": 0}),
        json!({"properties": {"a": 1}}),
        json!({"allOf": []}),
        json!({"items": [{}]}),
        json!({"enum": {}}),
        json!({"description": 1}),
        json!(1),
    ] {
        assert!(!plainly_valid(&ours(&bad)), "{bad}");
        assert!(!meta_valid(&bad), "{bad}");
    }
    // Strings the meta-schema gives a `format` (which it may or may not assert).
    for edge in [
        json!({"pattern": "[unclosed"}),
        json!({"$ref": "a b"}),
        json!({"$ref": "%zz"}),
        json!({"$ref": "#/$defs/a#b"}),
        json!({"$schema": "not a uri"}),
        json!({"$id": "x#frag"}),
    ] {
        assert!(!plainly_valid(&ours(&edge)) || meta_valid(&edge), "{edge}");
    }
}

/// JSON values, schema-like or not, with the values keywords are given right and wrong.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..5).prop_map(Value::from),
        prop_oneof![Just(0.0), Just(1.0), Just(-1.5), Just(2.5)].prop_map(Value::from),
        prop_oneof![
            Just("string"),
            Just("integer"),
            Just("null"),
            Just("object"),
            Just("strin"),
            Just(""),
            Just("#/$defs/A"),
            Just("a b"),
            Just("%zz"),
            Just("[unclosed"),
            Just("^a+$"),
            Just("#"),
            Just("https://json-schema.org/draft/2020-12/schema"),
            Just("http://json-schema.org/draft-07/schema#"),
            Just("x y#z"),
            Just("a#b#c"),
            Just("\\"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keyword(), inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn keyword() -> impl Strategy<Value = &'static str> {
    let mut names: Vec<&'static str> = chanspec::keywords::ALL.to_vec();
    names.extend([
        "dependencies",
        "$recursiveRef",
        "$recursiveAnchor",
        "$vocabulary",
        "additionalItems",
        "x-ext",
        "a",
        "id",
    ]);
    prop::sample::select(names)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn never_accepts_what_the_meta_schema_refuses(schema in any_value()) {
        if plainly_valid(&ours(&schema)) {
            prop_assert!(meta_valid(&schema), "accepted, but the meta-schema refuses {}", schema);
        }
    }
}

/// A payload schema `plainly_valid` leaves in doubt, but valid, still makes a clean
/// definition: the meta-schema decides for that schema alone.
#[test]
fn schemas_in_doubt_are_decided_by_the_meta_schema() {
    let text = r##"
chanspec: 1
channels:
  a:
    topics:
      t:
        schema:
          $id: "https://example.com/t"
          type: object
          properties: { b: { type: string, $comment: "plain" } }
"##;
    let schema = &serde_json::from_str::<Value>(r#"{"$id": "https://example.com/t"}"#).unwrap();
    assert!(!plainly_valid(&ours(schema)) && meta_valid(schema));
    let checked = chanspec::check_texts(&[("doubt.yaml".into(), text.into())]);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
}
