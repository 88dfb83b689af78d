//! Conformance across languages: every instance in `fixtures/payloads/`, and instances
//! generated from each topic's schema with mutations of them (seeded, `chanspec::sample`),
//! go through the
//! `jsonschema` crate, the generated Rust types (decoding through the channel's message
//! enum) and the generated TypeScript decoders (run with Node), and every disagreement is
//! listed.
//!
//! - TypeScript guards check every keyword (narrowing ones too): they must agree with
//!   `jsonschema` on every instance, with no exception.
//! - Rust types must agree on `valid` and `invalid` instances, and an accepted instance must
//!   re-serialize to an equal JSON value; instances rejected only by value-narrowing
//!   keywords (`narrowing`) may be accepted by the types.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use chanspec::sample as instances;
use serde_json::{Value, json};

struct Case {
    fixture: String,
    channel: String,
    topic: String,
    kind: String,
    data: Value,
    schema_valid: bool,
}

fn module_name(stem: &str) -> String {
    stem.replace('-', "_")
}

#[test]
fn generated_rust_types_agree_with_json_schema() {
    let dir = common::generated_crate("conformance-rust");
    let ts = common::ts_project("conformance-ts", &["gen/*.ts"]);
    let mut ts_cases = Vec::new();
    let mut cases = Vec::new();
    let mut dispatch = Vec::new();
    let mut modules = String::new();
    for fixture in common::valid_fixtures() {
        let stem = fixture.file_stem().unwrap().to_string_lossy().to_string();
        let payloads: BTreeMap<String, BTreeMap<String, Vec<Value>>> = serde_json::from_str(
            &std::fs::read_to_string(format!("fixtures/payloads/{stem}.json")).expect("payloads for every fixture"),
        )
        .unwrap();
        let checked = chanspec::check_files(std::slice::from_ref(&fixture));
        let spec = chanspec::lower::lower(&checked).unwrap();
        let module = module_name(&stem);
        std::fs::write(dir.join(format!("src/{module}.rs")), chanspec::emit::rust::emit(&spec).unwrap()).unwrap();
        std::fs::write(ts.join(format!("gen/{stem}.ts")), chanspec::emit::ts::emit(&spec).unwrap()).unwrap();
        modules.push_str(&format!("#[allow(dead_code, deprecated, clippy::all)]\nmod {module};\n"));
        let sampled: chanspec::value::Map = spec.types.iter().map(|t| (t.name.clone(), t.schema.clone())).collect();
        let definitions: serde_json::Map<String, Value> =
            spec.types.iter().map(|t| (t.name.clone(), t.schema.to_serde())).collect();
        for ch in &spec.channels {
            dispatch
                .push(format!("(\"{stem}\", \"{}\") => roundtrip::<{module}::{}>(topic, data),", ch.id, ch.message));
            for topic in &ch.topics {
                let key = format!("{}/{}", ch.id, topic.name);
                let instances = payloads.get(&key).unwrap_or_else(|| panic!("{stem}: no payloads for {key}"));
                let schema = json!({ "$ref": format!("#/definitions/{}", topic.payload), "definitions": definitions });
                let validator = jsonschema::draft202012::new(&schema).unwrap();
                for (kind, list) in instances {
                    for data in list {
                        ts_cases.push((stem.clone(), ch.ts_decoder.clone(), topic.name.clone(), data.clone()));
                        cases.push(Case {
                            fixture: stem.clone(),
                            channel: ch.id.clone(),
                            topic: topic.name.clone(),
                            kind: kind.clone(),
                            data: data.clone(),
                            schema_valid: validator.is_valid(data),
                        });
                    }
                }
                // Generated instances and mutations of them, seeded per topic: the reference
                // verdict is jsonschema's, and both languages must agree with it.
                let mut rng =
                    instances::Rng::new(key.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b.into())));
                let root = json!({ "$ref": format!("#/definitions/{}", topic.payload) });
                for _ in 0..generated_per_topic() {
                    let made = instances::instance(&root.clone().into(), &sampled, &mut rng, 0);
                    let mutated = instances::mutate(&made, &mut rng);
                    for data in [made.to_serde(), mutated.to_serde()] {
                        ts_cases.push((stem.clone(), ch.ts_decoder.clone(), topic.name.clone(), data.clone()));
                        cases.push(Case {
                            fixture: stem.clone(),
                            channel: ch.id.clone(),
                            topic: topic.name.clone(),
                            kind: "generated".into(),
                            schema_valid: validator.is_valid(&data),
                            data,
                        });
                    }
                }
            }
        }
    }
    std::fs::write(
        dir.join("src/main.rs"),
        format!(
            "{modules}\nuse chanspec_runtime::ChannelMessage;\nuse std::io::BufRead;\n\n\
             fn roundtrip<M: ChannelMessage>(topic: &str, data: serde_json::Value) -> serde_json::Value {{\n\
             \x20   match M::decode(topic, data) {{\n\
             \x20       Ok(m) => serde_json::json!({{ \"ok\": true, \"back\": m.encode().unwrap() }}),\n\
             \x20       Err(e) => serde_json::json!({{ \"ok\": false, \"error\": e.to_string() }}),\n\
             \x20   }}\n}}\n\n\
             fn main() {{\n\
             \x20   for line in std::io::stdin().lock().lines() {{\n\
             \x20       let case: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();\n\
             \x20       let (fixture, channel, topic) = (case[\"fixture\"].as_str().unwrap(), case[\"channel\"].as_str().unwrap(), case[\"topic\"].as_str().unwrap());\n\
             \x20       let data = case[\"data\"].clone();\n\
             \x20       let out = match (fixture, channel) {{\n            {}\n            _ => panic!(\"unknown channel\"),\n        }};\n\
             \x20       println!(\"{{out}}\");\n    }}\n}}\n",
            dispatch.join("\n            ")
        ),
    )
    .unwrap();
    let build = common::cargo(&dir, &["build", "--quiet"]);
    common::assert_success(&build, "cargo build");
    let mut child = Command::new(common::target_dir().join("debug/conformance-rust"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = cases
        .iter()
        .map(|c| {
            format!("{}\n", json!({ "fixture": c.fixture, "channel": c.channel, "topic": c.topic, "data": c.data }))
        })
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let results: Vec<Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(results.len(), cases.len());

    let tsc = common::tsc(&ts);
    common::assert_success(&tsc, "tsc");
    let ts_verdicts = common::run_ts_decoders(&ts, &ts_cases);
    let ts_problems: Vec<String> = cases
        .iter()
        .zip(&ts_verdicts)
        .filter(|(c, ok)| c.schema_valid != **ok)
        .map(|(c, ok)| {
            format!(
                "TypeScript {} where jsonschema {}: {} {}/{} [{}] {}",
                if *ok { "accepts" } else { "rejects" },
                if c.schema_valid { "accepts" } else { "rejects" },
                c.fixture,
                c.channel,
                c.topic,
                c.kind,
                c.data
            )
        })
        .collect();
    let generated: Vec<&Case> = cases.iter().filter(|c| c.kind == "generated").collect();
    let generated_valid = generated.iter().filter(|c| c.schema_valid).count();
    eprintln!(
        "conformance: {} generated instances ({} valid, {} invalid per jsonschema), {} per topic with mutations",
        generated.len(),
        generated_valid,
        generated.len() - generated_valid,
        2 * generated_per_topic()
    );
    eprintln!(
        "conformance (TypeScript): {} instances, {} agree, {} disagreements",
        cases.len(),
        cases.len() - ts_problems.len(),
        ts_problems.len()
    );
    assert!(ts_problems.is_empty(), "TypeScript guards disagree with jsonschema:\n{}", ts_problems.join("\n"));

    let mut problems = Vec::new();
    for (c, r) in cases.iter().zip(&results) {
        let where_ = format!("{} {}/{} [{}] {}", c.fixture, c.channel, c.topic, c.kind, c.data);
        let rust_ok = r["ok"] == true;
        let expected_schema = c.kind == "valid";
        if c.kind != "generated" && c.schema_valid != expected_schema {
            problems.push(format!("fixture data: jsonschema says valid={} for {where_}", c.schema_valid));
        }
        match (c.kind.as_str(), c.schema_valid, rust_ok) {
            (_, true, false) => problems.push(format!("Rust rejects a valid instance: {where_}: {}", r["error"])),
            (_, true, true) if !json_equal(&r["back"], &c.data) => {
                problems.push(format!("round trip changed the value: {where_} came back as {}", r["back"]))
            }
            ("invalid" | "generated", false, true) => {
                problems.push(format!("Rust accepts an invalid instance: {where_}"))
            }
            _ => {}
        }
    }
    let agreed = cases.len() - problems.len();
    eprintln!("conformance (Rust): {} instances, {agreed} agree, {} disagreements", cases.len(), problems.len());
    assert!(problems.is_empty(), "Rust types disagree with jsonschema:\n{}", problems.join("\n"));
}

/// How many instances to generate per topic (each with a mutation): `CHANSPEC_PROPERTY_CASES`,
/// 50 by default (`scripts/bench-conformance` runs many more).
fn generated_per_topic() -> usize {
    std::env::var("CHANSPEC_PROPERTY_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(50)
}

/// Equality of JSON values as JSON Schema defines it: numbers compare by value (`3` equals
/// `3.0`), objects regardless of key order.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64() == y.as_f64() && (x.as_i64() == y.as_i64() || x.is_f64() || y.is_f64())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}
