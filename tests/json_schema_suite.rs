//! The JSON Schema Test Suite (draft 2020-12, found by `support/corpus.rs`): every test group
//! whose schema `chanspec check` accepts is generated in both languages, and every case is
//! run through the Rust types and the TypeScript guards and compared with the suite's
//! `valid` flag. Groups `check` rejects must be rejected with a diagnostic, never a panic.
//!
//! Beside the suite's own cases, every accepted group gets instances generated from its schema
//! and mutations of them (`chanspec::sample`, seeded per group, [`GENERATED_PER_GROUP`]
//! each), judged by the `jsonschema` crate: both languages must agree with it, and a Rust
//! decode must encode back to an equal JSON value.
//!
//! Rust types accept a superset where a schema uses value-narrowing keywords (documented
//! warnings): a Rust type accepting an invalid instance of such a schema is excepted.
//! TypeScript guards check every keyword and have no exception. The driver prints the
//! counts and lists every disagreement; the list is kept as a snapshot (a new disagreement
//! fails the test, and so does a fixed one until the snapshot is updated).

mod common;
#[path = "support/corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};

use chanspec::sample as instances;
use serde_json::{Value, json};

const SUITE: &str = "json-schema-test-suite/tests/draft2020-12";

/// JSON equality as JSON Schema defines it (numbers by value, objects in any order), in the
/// generated checker: whether a decoded value encodes back to what was received.
const SAME: &str = "fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64() == y.as_f64() && (x.as_i64() == y.as_i64() || x.is_f64() || y.is_f64())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}";

/// Instances generated per accepted group, each also mutated once: fixed, so the counts in the
/// snapshot do not move.
const GENERATED_PER_GROUP: usize = 10;

struct Group {
    key: String,
    module: String,
    /// Whether the Rust generator produced types (it refuses some schemas with an error).
    rust: bool,
    narrowing: bool,
    cases: Vec<(String, Value, bool)>,
    /// Generated instances, with jsonschema's verdict.
    generated: Vec<(Value, bool)>,
}

fn uses_narrowing(schema: &Value) -> bool {
    match schema {
        Value::Object(obj) => obj.iter().any(|(k, v)| {
            chanspec::keywords::support(k) == Some(chanspec::keywords::Support::Narrowing) || uses_narrowing(v)
        }),
        Value::Array(items) => items.iter().any(uses_narrowing),
        _ => false,
    }
}

#[test]
fn json_schema_test_suite_agrees() {
    let Some(suite) = corpus::corpus(SUITE, "json_schema_test_suite_agrees") else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/json-schema-suite");
    let _ = std::fs::remove_dir_all(&work);
    let crate_dir = common::generated_crate("json-schema-suite-rust");
    let ts = common::ts_project("json-schema-suite-ts", &["gen/*.ts"]);
    let (mut total, mut rejected, mut panics, mut rust_refused) = (0, 0, Vec::new(), Vec::new());
    let mut rust_degraded: Vec<String> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for file in &files {
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let doc: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for (i, group) in doc.iter().enumerate() {
            total += 1;
            let key = format!("{stem}#{i}");
            let dir = work.join(format!("{stem}-{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("schema.json"), serde_json::to_string_pretty(&group["schema"]).unwrap()).unwrap();
            let def = dir.join("chanspec.json");
            std::fs::write(
                &def,
                json!({"chanspec": 1, "channels": {"g": {"topics": {"t": {"schema": {"$ref": "schema.json"}}}}}})
                    .to_string(),
            )
            .unwrap();
            let outcome = std::panic::catch_unwind(|| {
                let checked = chanspec::check_files(std::slice::from_ref(&def));
                if checked.has_errors() {
                    return Ok(None);
                }
                let spec = chanspec::lower::lower(&checked).map_err(|d| format!("lowering failed: {d:?}"))?;
                let rust =
                    chanspec::emit::rust::emit_parts_with_notes(&spec, 1).map(|(parts, notes)| (parts.concat(), notes));
                let ts = chanspec::emit::ts::emit(&spec)?;
                let definitions: chanspec::value::Map =
                    spec.types.iter().map(|t| (t.name.clone(), t.schema.clone())).collect();
                let payload = spec.channels[0].topics[0].payload.clone();
                Ok::<_, String>(Some((rust, ts, definitions, payload)))
            });
            let (rust, ts_code, definitions, payload) = match outcome {
                Err(_) => {
                    panics.push(format!("{key}: chanspec panicked"));
                    continue;
                }
                Ok(Err(e)) => {
                    panics.push(format!("{key}: accepted by check, then generation failed: {e}"));
                    continue;
                }
                Ok(Ok(None)) => {
                    rejected += 1;
                    continue;
                }
                Ok(Ok(Some(code))) => code,
            };
            let module = format!("{}_{i}", stem.replace('-', "_").to_lowercase());
            std::fs::write(ts.join(format!("gen/{module}.ts")), ts_code).unwrap();
            match &rust {
                Ok((rust, notes)) => {
                    std::fs::write(crate_dir.join(format!("src/{module}.rs")), rust).unwrap();
                    rust_degraded.extend(notes.iter().map(|n| format!("{key}: {n}")));
                }
                Err(e) => rust_refused.push(format!("{key}: {}", e.lines().next().unwrap_or_default())),
            }
            let cases = group["tests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["description"].as_str().unwrap().to_string(), t["data"].clone(), t["valid"] == true))
                .collect();
            let root = json!({ "$ref": format!("#/definitions/{payload}") });
            let validator =
                jsonschema::draft202012::new(&json!({ "$ref": root["$ref"], "definitions": definitions.to_serde() }))
                    .unwrap();
            let mut rng =
                instances::Rng::new(key.bytes().fold(11u64, |h, b| h.wrapping_mul(31).wrapping_add(b.into())));
            let mut generated = Vec::new();
            for _ in 0..GENERATED_PER_GROUP {
                let made = instances::instance(&root.clone().into(), &definitions, &mut rng, 0);
                let mutated = instances::mutate(&made, &mut rng);
                for data in [made.to_serde(), mutated.to_serde()] {
                    let valid = validator.is_valid(&data);
                    generated.push((data, valid));
                }
            }
            groups.push(Group {
                key,
                module,
                rust: rust.is_ok(),
                narrowing: uses_narrowing(&group["schema"]),
                cases,
                generated,
            });
        }
    }
    assert!(panics.is_empty(), "groups that did not end in a diagnostic:\n{}", panics.join("\n"));

    // Rust: one binary deciding every case. A module that does not compile is a bug of the
    // Rust generator: it is listed, taken out, and the rest is built again.
    let mut rust_broken: Vec<String> = Vec::new();
    loop {
        let live: Vec<&Group> = groups.iter().filter(|g| g.rust).collect();
        let modules: String =
            live.iter().map(|g| format!("#[allow(dead_code, deprecated, clippy::all)]\nmod {};\n", g.module)).collect();
        let dispatch: Vec<String> =
            live.iter().map(|g| format!("\"{0}\" => check::<{0}::GMessage>(data),", g.module)).collect();
        std::fs::write(
            crate_dir.join("src/main.rs"),
            format!(
                "{modules}\nuse chanspec_runtime::ChannelMessage;\nuse std::io::BufRead;\n\n\
                 fn check<M: ChannelMessage>(data: serde_json::Value) -> u8 {{\n\
                 \x20   match M::decode(\"t\", data.clone()) {{\n\
                 \x20       Err(_) => 0,\n\
                 \x20       Ok(m) => if m.encode().is_ok_and(|back| same(&back, &data)) {{ 1 }} else {{ 2 }},\n\
                 \x20   }}\n}}\n\n\
                 {SAME}\n\n\
                 fn main() {{\n\
                 \x20   for line in std::io::stdin().lock().lines() {{\n\
                 \x20       let (module, data): (String, serde_json::Value) = serde_json::from_str(&line.unwrap()).unwrap();\n\
                 \x20       let ok = match module.as_str() {{\n            {}\n            _ => panic!(\"unknown module\"),\n        }};\n\
                 \x20       println!(\"{{ok}}\");\n    }}\n}}\n",
                dispatch.join("\n            ")
            ),
        )
        .unwrap();
        let build = common::cargo(&crate_dir, &["build", "--quiet", "--message-format", "short"]);
        if build.status.success() {
            break;
        }
        let stderr = String::from_utf8_lossy(&build.stderr);
        let mut failed: Vec<String> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("src/")?.split_once(".rs:").map(|(m, _)| m.to_string()))
            .collect();
        failed.sort();
        failed.dedup();
        failed.retain(|m| m != "main");
        assert!(!failed.is_empty(), "the Rust conformance crate failed to build:\n{stderr}");
        for g in groups.iter_mut().filter(|g| failed.contains(&g.module)) {
            g.rust = false;
            rust_broken.push(g.key.clone());
        }
    }
    let input: String = groups
        .iter()
        .filter(|g| g.rust)
        .flat_map(|g| {
            let generated = g.generated.iter().map(|(data, _)| data);
            g.cases
                .iter()
                .map(|(_, data, _)| data)
                .chain(generated)
                .map(move |data| format!("{}\n", json!([g.module, data])))
        })
        .collect();
    let rust_verdicts = common::piped_lines(
        std::process::Command::new(common::target_dir().join("debug/json-schema-suite-rust")),
        &input,
    );

    // TypeScript: compiled by tsc --strict, run by Node.
    let tsc = common::tsc(&ts);
    common::assert_success(&tsc, "tsc");
    let ts_cases: Vec<(String, String, String, Value)> = groups
        .iter()
        .flat_map(|g| {
            let generated = g.generated.iter().map(|(data, _)| data);
            g.cases
                .iter()
                .map(|(_, data, _)| data)
                .chain(generated)
                .map(move |data| (g.module.clone(), "decodeG".into(), "t".into(), data.clone()))
        })
        .collect();
    let ts_verdicts = common::run_ts_decoders(&ts, &ts_cases);

    let (mut cases, mut rust_cases) = (0, 0);
    let (mut rust_agree, mut ts_agree, mut excepted) = (0, 0, 0);
    let (mut generated, mut generated_valid, mut generated_ts_agree) = (0, 0, 0);
    let (mut generated_rust, mut generated_rust_agree) = (0, 0);
    let mut problems = Vec::new();
    let mut rust_verdicts = rust_verdicts.iter();
    let mut ts_verdicts = ts_verdicts.iter();
    for g in &groups {
        for (description, data, valid) in &g.cases {
            let ts = *ts_verdicts.next().unwrap();
            cases += 1;
            let case = format!("{} \"{description}\" {data} (valid: {valid})", g.key);
            if ts == *valid {
                ts_agree += 1;
            } else {
                problems.push(format!("TypeScript {}: {case}", if ts { "accepts" } else { "rejects" }));
            }
            if !g.rust {
                continue;
            }
            let verdict = rust_verdicts.next().unwrap();
            let rust = verdict != "0";
            rust_cases += 1;
            if verdict == "2" {
                problems.push(format!("Rust round trip changed the value: {case}"));
            } else if rust == *valid {
                rust_agree += 1;
            } else if rust && g.narrowing {
                excepted += 1;
            } else {
                problems.push(format!("Rust {}: {case}", if rust { "accepts" } else { "rejects" }));
            }
        }
        for (data, valid) in &g.generated {
            let ts = *ts_verdicts.next().unwrap();
            generated += 1;
            generated_valid += usize::from(*valid);
            let case = format!("{} generated {data} (jsonschema: {})", g.key, if *valid { "valid" } else { "invalid" });
            if ts == *valid {
                generated_ts_agree += 1;
            } else {
                problems.push(format!("TypeScript {}: {case}", if ts { "accepts" } else { "rejects" }));
            }
            if !g.rust {
                continue;
            }
            let verdict = rust_verdicts.next().unwrap();
            generated_rust += 1;
            match (verdict.as_str(), *valid) {
                ("1", true) | ("0", false) => generated_rust_agree += 1,
                ("2", _) => problems.push(format!("Rust round trip changed the value: {case}")),
                (v, _) => problems.push(format!("Rust {}: {case}", if v == "1" { "accepts" } else { "rejects" })),
            }
        }
    }
    let summary = format!(
        "{total} groups, {} accepted by check, {rejected} rejected with a diagnostic\n\
         TypeScript: {cases} cases, {ts_agree} agree\n\
         Rust: {} groups refused by the Rust generator with an error; \
         {rust_cases} cases, {rust_agree} agree, {excepted} excepted (narrowing)\n\
         Generated from the accepted groups' schemas, with mutations: {generated} instances ({generated_valid} valid per jsonschema); \
         TypeScript {generated_ts_agree} agree; Rust {generated_rust} decoded, {generated_rust_agree} agree with exact round trips\n\
         {} disagreements\n\nRefused by the Rust generator:\n{}\n\nGenerated Rust that does not compile:\n{}\n\n\
         Rust types that are any JSON value (typify cannot take the schema; decoding still checks it):\n{}",
        groups.len(),
        rust_refused.len(),
        problems.len(),
        rust_refused.join("\n"),
        rust_broken.join("\n"),
        rust_degraded.join("\n")
    );
    eprintln!("{summary}\n{}", problems.join("\n"));
    insta::assert_snapshot!(format!("{summary}\n\n{}", problems.join("\n")));
}
