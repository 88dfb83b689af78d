//! `lower_taking` (schemas moved out of the checked documents into the IR) lowers exactly as
//! `lower` (schemas copied): on every valid fixture, and on generated definitions whose
//! references point into the middle of other named schemas, at nested `$defs`, at parts of
//! inline topic schemas and at lifecycles, where a schema must be copied, not moved.

use std::path::PathBuf;

use serde_json::{Value, json};

fn both_ways(files: &[(PathBuf, String)]) -> (String, String) {
    let checked = chanspec::check_texts(files);
    let mut taken = chanspec::check_texts(files);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let copied = chanspec::lower::lower(&checked);
    let moved = chanspec::lower::lower_taking(&mut taken);
    (format!("{copied:#?}"), format!("{moved:#?}"))
}

#[test]
fn every_valid_fixture_lowers_the_same_moved_or_copied() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/valid");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in &paths {
        let (copied, moved) = both_ways(&[(path.clone(), std::fs::read_to_string(path).unwrap())]);
        assert!(copied == moved, "{}: lowered differently when moved", path.display());
    }
    // All together, as one run (shared schema files).
    let all: Vec<(PathBuf, String)> = paths.iter().map(|p| (p.clone(), std::fs::read_to_string(p).unwrap())).collect();
    let checked = chanspec::check_texts(&all);
    if !checked.has_errors() {
        let (copied, moved) = both_ways(&all);
        assert!(copied == moved, "all fixtures: lowered differently when moved");
    }
}

#[test]
fn generated_definitions_lower_the_same_moved_or_copied() {
    let mut rng = chanspec::sample::Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut next = move |n: u64| rng.below(n as usize) as u64;
    let (mut compared, mut pointer_refs) = (0, 0);
    for round in 0..150 {
        let count = 2 + next(8) as usize;
        // A reference somewhere: a definition, a property inside one, a nested definition, or
        // a part of the first topic's inline schema.
        let target = |next: &mut dyn FnMut(u64) -> u64| -> String {
            let k = next(count as u64);
            match next(5) {
                0 | 1 => format!("#/$defs/D{k}"),
                2 => format!("#/$defs/D{k}/properties/p0"),
                3 => format!("#/$defs/D{k}/$defs/Inner"),
                _ => "#/channels/gen/topics/t0/schema/properties/x".to_string(),
            }
        };
        let leaf = |next: &mut dyn FnMut(u64) -> u64| -> Value {
            match next(6) {
                0 => json!({"type": "string", "$comment": "dropped"}),
                1 => json!({"type": ["integer", "null"]}),
                2 | 3 => json!({"$ref": target(next)}),
                4 => json!({"type": "array", "items": {"$ref": target(next)}}),
                _ => json!({"type": "object", "properties": {"k": {"type": "boolean"}}, "required": ["k"]}),
            }
        };
        let mut defs = serde_json::Map::new();
        for i in 0..count {
            let properties: serde_json::Map<String, Value> =
                (0..1 + next(3)).map(|p| (format!("p{p}"), leaf(&mut next))).collect();
            let mut def = json!({"type": "object", "properties": properties, "$defs": {"Inner": leaf(&mut next)}});
            if next(3) == 0 {
                def["$id"] = json!(format!("urn:example:d{i}"));
            }
            defs.insert(format!("D{i}"), def);
        }
        let inline = json!({"type": "object", "properties": {"x": leaf(&mut next), "y": {"type": "string"}}});
        let bare = json!({"$ref": target(&mut next)});
        let lifecycle = json!({"result": leaf(&mut next), "error": {"$ref": target(&mut next)}});
        let definition = json!({
            "chanspec": 1,
            "channels": {
                "gen": {"name": "gen", "topics": {"t0": {"schema": inline}, "t1": {"schema": bare}}},
                "run": {"name": "run:{id}", "params": {"id": {"type": "string"}}, "topics": {"t": {"schema": leaf(&mut next)}}, "lifecycle": lifecycle},
            },
            "$defs": defs,
        });
        let text = serde_json::to_string_pretty(&definition).unwrap();
        pointer_refs += usize::from(text.contains("/properties/") && text.contains("\"$ref\": \"#/$defs/D"));
        let files = [(PathBuf::from(format!("generated-{round}.json")), text)];
        // Some draws break a rule (a `$ref` cycle with no way out, a name taken twice): they
        // are checked alike by both ways or not at all.
        if chanspec::check_texts(&files).has_errors() {
            continue;
        }
        let (copied, moved) = both_ways(&files);
        assert!(copied == moved, "round {round}: lowered differently when moved\n{}", files[0].1);
        compared += 1;
    }
    assert!(compared >= 60, "only {compared} of 150 generated definitions were valid");
    assert!(pointer_refs >= 30, "only {pointer_refs} used references into other schemas");
}
