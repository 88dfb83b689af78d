//! Rust generation: snapshots of every valid fixture's output, determinism, and the output
//! compiling clippy-clean and rustfmt-clean in a crate whose only dependencies are serde,
//! serde_json and chanspec-runtime.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::valid_fixtures;

fn emit(files: &[PathBuf]) -> String {
    chanspec::emit::rust::emit(&common::spec(files)).unwrap()
}

#[test]
fn generated_rust_matches_snapshots() {
    insta::glob!("../fixtures/valid", "*.{yaml,json}", |path| {
        let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().to_path_buf();
        insta::assert_snapshot!(emit(&[rel]));
    });
}

#[test]
fn generation_is_deterministic() {
    let files = valid_fixtures();
    assert_eq!(emit(&files), emit(&files));
}

/// One crate holding every fixture's output as a module (and all of them merged), built
/// with `cargo clippy -D warnings`.
#[test]
fn generated_rust_compiles_clippy_and_rustfmt_clean() {
    let dir = common::generated_crate("generated-check");
    let src = dir.join("src");
    let mut lib = String::from("//! Every fixture's generated bindings, each in its own module.\n");
    let mut modules: Vec<(String, Vec<PathBuf>)> = valid_fixtures()
        .into_iter()
        .map(|f| {
            let stem = f.file_stem().unwrap().to_string_lossy().replace('-', "_");
            (stem, vec![f])
        })
        .collect();
    modules.push(("all_merged".into(), valid_fixtures()));
    // What `chanspec init` writes.
    modules.push(("init_starter".into(), vec![PathBuf::from("templates/init/chanspec.yaml")]));
    modules.sort();
    for (name, files) in &modules {
        let out = src.join(format!("{name}.rs"));
        // rustfmt asked for: its output must then pass `rustfmt --check`.
        chanspec::Builder::new().files(files).rust_out(&out).cargo_output(false).rustfmt(true).generate().unwrap();
        lib.push_str(&format!("pub mod {name};\n"));
    }
    // prettyplease's formatting alone (the default without a rustfmt.toml): clippy-clean too,
    // and kept out of `cargo fmt` the way the README says, with `#[rustfmt::skip]`.
    let out = src.join("all_merged_prettyplease.rs");
    chanspec::Builder::new()
        .files(valid_fixtures())
        .rust_out(&out)
        .cargo_output(false)
        .rustfmt(false)
        .generate()
        .unwrap();
    lib.push_str("#[rustfmt::skip]\npub mod all_merged_prettyplease;\n");
    std::fs::write(src.join("lib.rs"), lib).unwrap();
    let out = common::cargo(&dir, &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"]);
    common::assert_success(&out, "clippy");
    let out = Command::new("rustfmt")
        .args(["--edition", "2024", "--check"])
        .arg(src.join("lib.rs"))
        .current_dir(&dir)
        .output()
        .unwrap();
    common::assert_success(&out, "rustfmt --check");
}

/// build.rs reruns when any file that shaped the output changes: the inputs and every
/// referenced schema file are reported.
#[test]
fn builder_reports_every_file_read() {
    let out = std::env::temp_dir().join(format!("chanspec-inputs-{}.rs", std::process::id()));
    let generated = chanspec::Builder::new()
        .file("fixtures/valid/announcements.yaml")
        .rust_out(&out)
        .cargo_output(false)
        .generate()
        .unwrap();
    let inputs: Vec<String> = generated.inputs.iter().map(|p| p.to_string_lossy().replace('\\', "/")).collect();
    assert!(inputs.iter().any(|p| p.ends_with("fixtures/valid/announcements.yaml")), "{inputs:?}");
    assert!(inputs.iter().any(|p| p.ends_with("fixtures/schemas/announcement.json")), "{inputs:?}");
    std::fs::remove_file(out).ok();
}

/// Output formatted in parts (one per core) concatenates to exactly the single-part output.
#[test]
fn parts_concatenate_to_the_whole() {
    let spec = common::spec(&valid_fixtures());
    let whole = chanspec::emit::rust::emit(&spec).unwrap();
    for parts in [2, 3, 7] {
        let pieces = chanspec::emit::rust::emit_parts(&spec, parts).unwrap();
        assert!(pieces.len() > 2, "{parts} parts: {}", pieces.len());
        assert_eq!(pieces.concat(), whole, "{parts} parts");
    }
    // rustfmt, when installed, gives the same result on the parts as on the whole.
    if let Some(formatted) = chanspec::builder::rustfmt(&whole, None) {
        let format = |part: &str| chanspec::builder::rustfmt(part, None);
        let emitted = chanspec::emit::rust::emit_finished(&spec, 3, &format).unwrap();
        let joined = emitted.finished.expect("rustfmt formats every part").concat();
        if joined != formatted {
            std::fs::write("/tmp/joined.rs", &joined).unwrap();
            std::fs::write("/tmp/formatted.rs", &formatted).unwrap();
        }
        assert!(joined == formatted, "rustfmt on parts differs from rustfmt on the whole");
    }
}

/// Generated definitions (seeded): types that refer to one another at random (shared types,
/// chains and cycles), with nested objects, arrays, enums, nullable and tagged unions. The
/// types converted in groups (each typify instance given its types and all they refer to,
/// merged by name) give exactly what one typify over every type gives.
#[test]
fn types_converted_in_groups_equal_one_conversion_on_generated_definitions() {
    use serde_json::{Value, json};
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut grouped_cases = 0;
    for round in 0..6 {
        let count = 8 + next(40) as usize;
        let names: Vec<String> = (0..count).map(|i| format!("T{round}x{i:02}")).collect();
        let leaf = |next: &mut dyn FnMut(u64) -> u64, depth: u32| -> Value {
            match next(if depth > 1 { 5 } else { 8 }) {
                0 => json!({"type": "string"}),
                1 => json!({"type": ["integer", "null"]}),
                2 => json!({"type": "string", "enum": ["a", "b", "c"]}),
                3 => json!({"$ref": format!("#/$defs/{}", names[next(count as u64) as usize])}),
                4 => {
                    json!({"type": "array", "items": {"$ref": format!("#/$defs/{}", names[next(count as u64) as usize])}})
                }
                5 => {
                    json!({"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "boolean"}}, "required": ["x"]})
                }
                6 => json!({"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}}),
                _ => json!({"type": "boolean"}),
            }
        };
        let mut defs = serde_json::Map::new();
        for name in &names {
            let schema = if next(6) == 0 {
                json!({"oneOf": [
                    {"type": "object", "properties": {"kind": {"const": "one"}, "a": leaf(&mut next, 2)}, "required": ["kind"]},
                    {"type": "object", "properties": {"kind": {"const": "two"}, "b": leaf(&mut next, 2)}, "required": ["kind", "b"]},
                ]})
            } else {
                let mut properties = serde_json::Map::new();
                let mut required = Vec::new();
                for p in 0..1 + next(5) {
                    let prop = format!("p{p}");
                    if next(2) == 0 {
                        required.push(prop.clone());
                    }
                    properties.insert(prop, leaf(&mut next, 0));
                }
                json!({"type": "object", "description": format!("Type {name}."), "properties": properties, "required": required})
            };
            defs.insert(name.clone(), schema);
        }
        let topics: serde_json::Map<String, Value> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 0)
            .map(|(i, n)| (format!("t{i}"), json!({"schema": {"$ref": format!("#/$defs/{n}")}})))
            .collect();
        let definition = json!({"chanspec": 1, "channels": {"gen": {"name": "gen", "topics": topics}}, "$defs": defs});
        let path = std::path::PathBuf::from(format!("generated-{round}.json"));
        let checked = chanspec::check_texts(&[(path, serde_json::to_string_pretty(&definition).unwrap())]);
        assert!(!checked.has_errors(), "round {round}: {:?}", checked.diagnostics);
        let spec = chanspec::lower::lower(&checked).unwrap_or_else(|d| panic!("{d:?}"));
        let (at_once, _) = chanspec::emit::rust::types_at_once(&spec).unwrap();
        let whole = chanspec::emit::rust::emit(&spec).unwrap();
        for groups in [2, 3, 8] {
            // Where it could differ or cost too much, generation converts at once (`None`); it
            // never differs silently.
            if let Some(grouped) = chanspec::emit::rust::types_in_groups(&spec, 2, groups) {
                grouped_cases += 1;
                assert!(
                    grouped.join("\n") == at_once.join("\n"),
                    "round {round}, {groups} groups: differs from one conversion"
                );
            }
            let parts = chanspec::emit::rust::emit_parts(&spec, groups).unwrap();
            assert!(parts.concat() == whole, "round {round}, {groups} parts: differs from the whole");
        }
    }
    eprintln!("{grouped_cases} of 18 cases converted in groups");
    assert!(grouped_cases >= 6, "only {grouped_cases} of 18 cases were converted in groups");
}

/// The embedded schemas are put into the printed glue in place of stand-in literals; a channel
/// whose name is written like a stand-in keeps its name, whichever part its glue lands in.
#[test]
fn a_name_like_a_stand_in_is_never_replaced() {
    let mut channels = serde_json::Map::new();
    for i in 0..12 {
        let name = match i {
            3 => "chanspec-schemas-stand-in".to_string(),
            9 => "chanspec-channels-stand-in".to_string(),
            _ => format!("plain-{i}"),
        };
        // A static name: its literal is exactly the stand-in's.
        channels.insert(
            format!("c{i}"),
            serde_json::json!({"name": name, "topics": {"t": {"schema": {"type": "string"}}}}),
        );
    }
    let definition = serde_json::json!({"chanspec": 1, "channels": channels});
    let checked = chanspec::check_texts(&[("stand-ins.json".into(), definition.to_string())]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let spec = chanspec::lower::lower(&checked).unwrap_or_else(|d| panic!("{d:?}"));
    let whole = chanspec::emit::rust::emit(&spec).unwrap();
    assert!(
        whole.contains("= \"chanspec-schemas-stand-in\";") && whole.contains("= \"chanspec-channels-stand-in\";"),
        "{whole}"
    );
    for parts in [2, 5, 13] {
        assert!(chanspec::emit::rust::emit_parts(&spec, parts).unwrap().concat() == whole, "{parts} parts");
    }
}

/// A long chain of references would have every group convert the rest of the chain: past twice
/// the work of one conversion, the types are converted at once (and the output is the same).
#[test]
fn a_long_chain_of_references_is_converted_at_once() {
    use serde_json::json;
    let n = 64;
    let defs: serde_json::Map<String, serde_json::Value> = (0..n)
        .map(|i| {
            let next =
                if i + 1 < n { json!({"$ref": format!("#/$defs/Link{}", i + 1)}) } else { json!({"type": "string"}) };
            (format!("Link{i}"), json!({"type": "object", "properties": {"next": next, "n": {"type": "integer"}}}))
        })
        .collect();
    let definition = json!({"chanspec": 1, "channels": {"chain": {"name": "chain", "topics": {"t": {"schema": {"$ref": "#/$defs/Link0"}}}}}, "$defs": defs});
    let checked = chanspec::check_texts(&[("chain.json".into(), definition.to_string())]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let spec = chanspec::lower::lower(&checked).unwrap_or_else(|d| panic!("{d:?}"));
    assert!(chanspec::emit::rust::types_in_groups(&spec, 2, 8).is_none(), "8 groups would convert the chain ~4 times");
    // Two groups: the first needs the whole chain, the second half of it (1.5 times): grouped.
    assert!(chanspec::emit::rust::types_in_groups(&spec, 2, 2).is_some());
    let whole = chanspec::emit::rust::emit(&spec).unwrap();
    assert!(chanspec::emit::rust::emit_parts(&spec, 8).unwrap().concat() == whole);
}
