//! `chanspec diff`: every pair under `fixtures/diff/` gives its expected verdict in each mode,
//! and every breaking `wire` finding carries a witness the writer's schema accepts and the
//! reader's refuses (checked again here with `jsonschema`). A property test holds the rules
//! to the validator on generated schema pairs: judged compatible, sampled writer instances
//! are accepted by the reader; judged breaking, the witness is real.

use std::path::{Path, PathBuf};

use chanspec::diff::{self, Category, Direction, Mode};
use chanspec::ir::Spec;
use chanspec::sample;
use serde_json::{Map, Value, json};

fn spec(file: &Path) -> Spec {
    let checked = chanspec::check_files(&[file.to_path_buf()]);
    assert!(!checked.has_errors(), "{} does not check: {:?}", file.display(), checked.diagnostics);
    chanspec::lower::lower(&checked).unwrap()
}

fn defs(s: &Spec) -> Map<String, Value> {
    s.types.iter().map(|t| (t.name.clone(), t.schema.to_serde())).collect()
}

fn validator(spec: &Spec, payload: &str) -> jsonschema::Validator {
    jsonschema::draft202012::new(&json!({ "$ref": format!("#/definitions/{payload}"), "definitions": defs(spec) }))
        .unwrap()
}

/// The named type a finding's topic label reads: a topic's payload, or `lifecycle result` /
/// `lifecycle error`.
fn payload(spec: &Spec, channel: &str, topic: &str) -> String {
    let ch = spec.channels.iter().find(|c| c.id == channel).unwrap();
    match topic.strip_prefix("lifecycle ") {
        Some("result") => ch.lifecycle.as_ref().and_then(|l| l.result.clone()).unwrap(),
        Some(_) => ch.lifecycle.as_ref().and_then(|l| l.error.clone()).unwrap(),
        None => ch.topics.iter().find(|t| t.name == topic).unwrap().payload.clone(),
    }
}

#[test]
fn fixtures_give_their_verdicts_with_real_witnesses() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("fixtures/diff").unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    assert!(dirs.len() >= 20);
    let mut problems = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let expect: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expect.json")).unwrap()).unwrap();
        let (old, new) = (spec(&dir.join("old.json")), spec(&dir.join("new.json")));
        for (mode, key) in [(Mode::Forward, "forward"), (Mode::Backward, "backward"), (Mode::Full, "full")] {
            let findings = diff::diff(&old, &new, mode, &[Category::Wire, Category::Names]);
            let breaking = findings.iter().any(|f| !f.allowed);
            let verdict = if breaking { "breaking" } else { "compatible" };
            if verdict != expect[key] {
                problems.push(format!("{name} ({key}): {verdict}, expected {}: {findings:#?}", expect[key]));
            }
            for f in findings.iter().filter(|f| f.category == Category::Wire) {
                let Some(w) = &f.witness else {
                    problems.push(format!("{name} ({key}): no witness for {}", f.message));
                    continue;
                };
                let topic = f.topic.as_deref().unwrap();
                let (writer, reader) = match f.direction {
                    Some(Direction::Forward) => (&new, &old),
                    _ => (&old, &new),
                };
                let ok_w = validator(writer, &payload(writer, &f.channel, topic)).is_valid(&w.to_serde());
                let ok_r = validator(reader, &payload(reader, &f.channel, topic)).is_valid(&w.to_serde());
                if !ok_w || ok_r {
                    problems.push(format!("{name} ({key}): witness {w} writer={ok_w} reader={ok_r}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn renamed_types_and_changed_fields_are_generated_findings() {
    let dir = Path::new("fixtures/diff/defs-renamed");
    let (old, new) = (spec(&dir.join("old.json")), spec(&dir.join("new.json")));
    let findings = diff::diff(&old, &new, Mode::Full, &[Category::Wire, Category::Names, Category::Generated]);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].category, Category::Generated);
    assert!(findings[0].message.contains("`Status` is now `OrderStatus`"), "{}", findings[0].message);
    let dir = Path::new("fixtures/diff/made-optional");
    let (old, new) = (spec(&dir.join("old.json")), spec(&dir.join("new.json")));
    let generated: Vec<_> = diff::diff(&old, &new, Mode::Full, &[Category::Generated]);
    assert!(
        generated.iter().any(|f| f.message.contains("`state` of `Status` changes from required to optional")),
        "{generated:#?}"
    );
}

/// A random object schema: a few properties of several kinds, some required, open or closed.
fn random_schema(rng: &mut sample::Rng) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for name in ["a", "b", "c", "d"] {
        if !rng.chance(75) {
            continue;
        }
        let s = match rng.below(6) {
            0 => json!({ "type": "string", "maxLength": 3 + rng.below(6) }),
            1 => json!({ "type": "integer", "minimum": rng.below(5) as i64 - 2 }),
            2 => json!({ "type": "number", "maximum": rng.below(100) }),
            3 => {
                let values = ["x", "y", "z"][..1 + rng.below(3)].to_vec();
                json!({ "enum": values })
            }
            4 => json!({ "type": ["string", "null"] }),
            _ => json!({ "type": "array", "items": { "type": "integer" }, "maxItems": 1 + rng.below(3) }),
        };
        props.insert(name.into(), s);
        if rng.chance(50) {
            required.push(json!(name));
        }
    }
    let mut o = json!({ "type": "object", "properties": props, "required": required });
    if rng.chance(40) {
        o["additionalProperties"] = json!(false);
    }
    o
}

/// One change of the kinds the rules table covers.
fn mutate_schema(s: &Value, rng: &mut sample::Rng) -> Value {
    let mut s = s.clone();
    let names: Vec<String> = s["properties"].as_object().unwrap().keys().cloned().collect();
    let pick = |rng: &mut sample::Rng| names.get(rng.below(names.len().max(1))).cloned();
    match rng.below(9) {
        0 => {
            s["properties"]["e"] = json!({ "type": "string" });
        }
        1 => {
            if let Some(n) = pick(rng) {
                s["properties"].as_object_mut().unwrap().remove(&n);
                s["required"].as_array_mut().unwrap().retain(|r| r != &json!(n));
            }
        }
        2 => {
            if let Some(n) = pick(rng) {
                let req = s["required"].as_array_mut().unwrap();
                if req.contains(&json!(n)) {
                    req.retain(|r| r != &json!(n));
                } else {
                    req.push(json!(n));
                }
            }
        }
        3 => {
            let closed = s.get("additionalProperties") == Some(&json!(false));
            if closed {
                s.as_object_mut().unwrap().remove("additionalProperties");
            } else {
                s["additionalProperties"] = json!(false);
            }
        }
        _ => {
            if let Some(n) = pick(rng) {
                let p = &mut s["properties"][&n];
                for (k, delta) in [("maxLength", 2i64), ("minimum", 1), ("maximum", 10), ("maxItems", 1)] {
                    if let Some(v) = p.get(k).and_then(Value::as_i64) {
                        p[k] = json!(if rng.chance(50) { v + delta } else { (v - delta).max(0) });
                    }
                }
                if let Some(Value::Array(e)) = p.get_mut("enum") {
                    if rng.chance(50) && e.len() > 1 {
                        e.pop();
                    } else {
                        e.push(json!("w"));
                    }
                }
                if p.get("type") == Some(&json!("integer")) && rng.chance(30) {
                    p["type"] = json!("number");
                }
                if p.get("type") == Some(&json!(["string", "null"])) && rng.chance(50) {
                    p["type"] = json!("string");
                }
            }
        }
    }
    s
}

fn definition(schema: &Value) -> Spec {
    let dir = std::env::temp_dir().join(format!("chanspec-diff-prop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.json", schema.to_string().len()));
    let doc = json!({ "chanspec": 1, "x-chanspec-allow": ["narrowing-keyword"],
        "channels": { "c": { "topics": { "t": { "schema": schema } } } } });
    std::fs::write(&file, doc.to_string()).unwrap();
    let s = spec(&file);
    let _ = std::fs::remove_file(&file);
    s
}

#[test]
fn judgements_agree_with_the_validator_on_generated_schema_pairs() {
    let cases: usize = std::env::var("CHANSPEC_PROPERTY_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(50) * 4;
    let mut rng = sample::Rng::new(2026);
    let (mut compatible, mut breaking) = (0, 0);
    for case in 0..cases {
        let old_schema = random_schema(&mut rng);
        let new_schema = mutate_schema(&old_schema, &mut rng);
        let (old, new) = (definition(&old_schema), definition(&new_schema));
        for (mode, dir) in [(Mode::Forward, Direction::Forward), (Mode::Backward, Direction::Backward)] {
            let findings = diff::diff(&old, &new, mode, &[Category::Wire]);
            let (writer, reader, w_schema) = match dir {
                Direction::Forward => (&new, &old, &new_schema),
                Direction::Backward => (&old, &new, &old_schema),
            };
            let (wv, rv) =
                (validator(writer, &payload(writer, "c", "t")), validator(reader, &payload(reader, "c", "t")));
            let context = format!("case {case} {dir:?}\nold {old_schema}\nnew {new_schema}");
            match findings.first() {
                None => {
                    compatible += 1;
                    for _ in 0..100 {
                        let v = sample::instance(&w_schema.clone().into(), &chanspec::value::Map::new(), &mut rng, 0);
                        let m = sample::mutate(&v, &mut rng);
                        for v in [v.to_serde(), m.to_serde()] {
                            assert!(
                                !wv.is_valid(&v) || rv.is_valid(&v),
                                "judged compatible, but {v} is refused\n{context}"
                            );
                        }
                    }
                }
                Some(f) => {
                    breaking += 1;
                    let w = f.witness.as_ref().unwrap_or_else(|| panic!("no witness: {}\n{context}", f.message));
                    let w = &w.to_serde();
                    assert!(wv.is_valid(w) && !rv.is_valid(w), "witness {w} is not one\n{context}");
                }
            }
        }
    }
    eprintln!("diff property: {} schema pairs, {compatible} compatible and {breaking} breaking judgements", cases);
    assert!(compatible > 0 && breaking > 0);
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chanspec")).args(args).current_dir(dir).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn against_a_git_ref_reads_the_files_at_that_commit() {
    let dir = std::env::temp_dir().join(format!("chanspec-diff-git-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(ok.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&ok.stderr));
    };
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/diff/enum-value-added");
    std::fs::copy(fixture.join("old.json"), dir.join("chanspec.json")).unwrap();
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "old"]);
    // Unchanged: compatible.
    assert_eq!(run(&dir, &["diff", "--against", "main", "chanspec.json"]).0, 0);
    std::fs::copy(fixture.join("new.json"), dir.join("chanspec.json")).unwrap();
    let (code, out, _) = run(&dir, &["diff", "--against", "main", "chanspec.json", "--format", "github"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("::error file=chanspec.json,title=chanspec diff (wire, forward)::orders/status"), "{out}");
    assert_eq!(run(&dir, &["diff", "--against", "main", "--mode", "backward", "chanspec.json"]).0, 0);
    // A ref that does not exist, and a missing argument: exit 2 with a clear message.
    let (code, _, err) = run(&dir, &["diff", "--against", "no-such-branch", "chanspec.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("`no-such-branch` is not a commit, branch or tag"), "{err}");
    let (code, _, err) = run(&dir, &["diff", "chanspec.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("give `OLD NEW`"), "{err}");
    // Definitions that do not check: exit 2, nothing compared.
    std::fs::write(dir.join("broken.json"), "{\"chanspec\": 1}").unwrap();
    let (code, _, err) = run(&dir, &["diff", "chanspec.json", "broken.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("the new definitions do not check"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
