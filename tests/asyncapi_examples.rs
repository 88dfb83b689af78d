//! The AsyncAPI 3 specification's example documents (found by `support/corpus.rs`), written
//! elsewhere, as chanspec definitions: each document's channels become channels (the address
//! the name template, its `{parameters}` string params) and each message with a payload a
//! topic, with `components.schemas` as `$defs` and references into other files (the
//! `social-media` example) kept as file references.
//!
//! Every document must end in a clean check or in diagnostics, never a panic; which it is, per
//! document, is kept as a snapshot. Every accepted one is generated in both languages, and all
//! of them must pass `cargo clippy -D warnings` as one crate and `tsc --strict`.

mod common;
#[path = "support/corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

const EXAMPLES: &str = "asyncapi-examples/examples";

fn load(path: &Path) -> Value {
    let mut sources = chanspec::source::Sources::default();
    chanspec::load::load_file(&mut sources, path)
        .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()))
        .value
        .to_serde()
}

/// Follow a `$ref` to a component or another file; returns the node and the file it is in.
fn resolve(doc: &Value, file: &Path, node: &Value) -> (Value, PathBuf) {
    let (mut node, mut doc, mut file) = (node.clone(), doc.clone(), file.to_path_buf());
    for _ in 0..8 {
        let Some(r) = node.get("$ref").and_then(Value::as_str).map(String::from) else { break };
        let (path, pointer) = r.split_once('#').unwrap_or((r.as_str(), ""));
        if !path.is_empty() {
            file = file.parent().unwrap().join(path);
            doc = load(&file);
        }
        node = doc.pointer(pointer).cloned().unwrap_or(Value::Null);
    }
    (node, file)
}

/// `#/components/schemas/X` → `#/$defs/X`; a reference into another file → that file's
/// absolute path, so it resolves from wherever the definition is written.
fn rewrite(v: &Value, file: &Path) -> Value {
    match v {
        Value::Object(obj) => Value::Object(
            obj.iter()
                .map(|(k, x)| match (k.as_str(), x.as_str()) {
                    ("$ref", Some(r)) if r.starts_with("#/components/schemas/") => {
                        (k.clone(), json!(format!("#/$defs/{}", r.rsplit('/').next().unwrap())))
                    }
                    ("$ref", Some(r)) if !r.starts_with('#') && !r.contains("://") => {
                        let (path, pointer) = r.split_once('#').unwrap_or((r, ""));
                        let target = file.parent().unwrap().join(path);
                        (k.clone(), json!(format!("{}#{pointer}", target.display())))
                    }
                    // A reference within another file stays within it.
                    ("$ref", Some(r)) if r.starts_with('#') && !r.starts_with("#/components/") => {
                        (k.clone(), json!(format!("{}{r}", file.display())))
                    }
                    _ => (k.clone(), rewrite(x, file)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|x| rewrite(x, file)).collect()),
        _ => v.clone(),
    }
}

fn definition(path: &Path) -> Option<Value> {
    let doc = load(path);
    let defs: Map<String, Value> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), rewrite(v, path)))
        .collect();
    let mut channels = Map::new();
    for (id, channel) in doc.get("channels").and_then(Value::as_object).into_iter().flatten() {
        let (channel, file) = resolve(&doc, path, channel);
        let name = channel.get("address").and_then(Value::as_str).unwrap_or(id).to_string();
        let params: Map<String, Value> = name
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(p, _)| (p.to_string(), json!({"type": "string"}))))
            .collect();
        let mut topics = Map::new();
        for (topic, message) in channel.get("messages").and_then(Value::as_object).into_iter().flatten() {
            let (message, file) = resolve(&load(&file), &file, message);
            let Some(payload) = message.get("payload") else { continue };
            // A multi-format schema object holds the schema under `schema`.
            let payload = if payload.get("schemaFormat").is_some() { &payload["schema"] } else { payload };
            topics.insert(topic.clone(), json!({ "schema": rewrite(payload, &file) }));
        }
        if topics.is_empty() {
            continue;
        }
        let mut c = json!({ "name": name, "topics": topics });
        if !params.is_empty() {
            c["params"] = Value::Object(params);
        }
        channels.insert(id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-', "-"), c);
    }
    if channels.is_empty() {
        return None;
    }
    let mut out = json!({ "chanspec": 1, "channels": channels });
    if !defs.is_empty() {
        out["$defs"] = Value::Object(defs);
    }
    Some(out)
}

fn documents(root: &Path) -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    for service in std::fs::read_dir(root.join("social-media")).unwrap() {
        let doc = service.unwrap().path().join("asyncapi.yaml");
        if doc.is_file() {
            docs.push(doc);
        }
    }
    docs.sort();
    docs
}

#[test]
fn asyncapi_examples_check_and_generate() {
    let Some(root) = corpus::corpus(EXAMPLES, "asyncapi_examples_check_and_generate") else { return };
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/asyncapi-examples");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let crate_dir = common::generated_crate("asyncapi-examples-rust");
    let ts = common::ts_project("asyncapi-examples-ts", &["gen/*.ts"]);
    let _ = std::fs::remove_dir_all(ts.join("gen"));
    std::fs::create_dir_all(ts.join("gen")).unwrap();
    let mut outcomes = Vec::new();
    let mut modules = Vec::new();
    for doc in documents(&root) {
        let shown = doc.strip_prefix(&root).unwrap().display().to_string();
        let Some(def) = definition(&doc) else {
            outcomes.push(format!("{shown}: no channel with a payload"));
            continue;
        };
        let module = shown.trim_end_matches(".yml").trim_end_matches(".yaml").replace(['-', '/', '.'], "_");
        let file = work.join(format!("{module}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&def).unwrap()).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let checked = chanspec::check_files(std::slice::from_ref(&file));
            if checked.has_errors() {
                let mut codes: Vec<&str> = checked
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == chanspec::Severity::Error)
                    .map(|d| d.code)
                    .collect();
                codes.sort();
                codes.dedup();
                return Err(codes.join(", "));
            }
            let spec = chanspec::lower::lower(&checked).map_err(|d| format!("lowering failed: {d:?}"))?;
            let rust = chanspec::emit::rust::emit(&spec).map_err(|e| format!("Rust generation failed: {e}"))?;
            let ts = chanspec::emit::ts::emit(&spec).map_err(|e| format!("TypeScript generation failed: {e}"))?;
            Ok((spec.channels.len(), rust, ts))
        });
        match outcome {
            Err(_) => panic!("{shown}: chanspec panicked"),
            Ok(Err(codes)) => outcomes.push(format!("{shown}: refused ({codes})")),
            Ok(Ok((channels, rust, ts_code))) => {
                outcomes.push(format!("{shown}: {channels} channel(s) generated"));
                std::fs::write(crate_dir.join(format!("src/{module}.rs")), rust).unwrap();
                std::fs::write(ts.join(format!("gen/{module}.ts")), ts_code).unwrap();
                modules.push(module);
            }
        }
    }
    insta::assert_snapshot!(outcomes.join("\n"));
    assert!(modules.len() >= 10, "only {} documents generated", modules.len());

    let lib: String = modules.iter().map(|m| format!("pub mod {m};\n")).collect();
    std::fs::write(crate_dir.join("src/lib.rs"), lib).unwrap();
    let out = common::cargo(&crate_dir, &["clippy", "--quiet", "--", "-D", "warnings"]);
    common::assert_success(&out, "clippy");
    let out = common::tsc(&ts);
    common::assert_success(&out, "tsc --strict");
}
