//! A refused payload is explained the same way wherever it is refused: by the runtime's
//! check (Rust `decode`, every publish, the hub's 400 bodies) and by the generated TypeScript
//! guards (the client's `invalid_payload`). One table of invalid payloads, one expected
//! explanation each: the JSON pointer and the keyword; for a union tagged by a `const`, the
//! variant the tag selects; otherwise the closest variant.

mod common;

use std::path::Path;

use serde_json::{Value, json};

const DEFINITION: &str = r##"chanspec: 1
channels:
  chat:
    name: "chat:{roomId}"
    params: { roomId: { type: string } }
    topics:
      message:
        schema:
          type: object
          additionalProperties: false
          required: [text]
          properties:
            text: { type: string, minLength: 1 }
            attachments: { type: array, items: { $ref: "#/$defs/Attachment" } }
            score: { type: integer, minimum: 0, maximum: 10 }
            step: { type: number, multipleOf: 0.1 }
            code: { type: string, pattern: "^\\d+$" }
            tree: { $ref: "#/$defs/Node" }
            either:
              anyOf:
                - { type: string }
                - { type: object, properties: { a: { type: object, properties: { b: { maximum: 3 } } } } }
x-chanspec-allow: [narrowing-keyword]
$defs:
  Node:
    anyOf:
      - { type: object, required: [next], properties: { next: { $ref: "#/$defs/Node" } } }
      - { type: "null" }
  Attachment:
    oneOf:
      - type: object
        additionalProperties: false
        required: [kind, url, width]
        properties: { kind: { const: image }, url: { type: string }, width: { type: integer, minimum: 1 } }
      - type: object
        additionalProperties: false
        required: [kind, name]
        properties: { kind: { const: file }, name: { type: string } }
"##;

fn table() -> Vec<(Value, &'static str)> {
    vec![
        (json!({ "text": "" }), "/text: has 0 characters, fewer than the minLength of 1"),
        (json!({}), "/: missing required property `text`"),
        (json!({ "text": "a", "extra": 1 }), "/extra: property `extra` is not allowed (additionalProperties is false)"),
        (json!({ "text": "a", "score": 11 }), "/score: 11 is greater than the maximum of 10"),
        (json!({ "text": 5 }), "/text: expected string, found integer"),
        (json!({ "text": "a", "step": 0.35 }), "/step: 0.35 is not a multiple of 0.1 (multipleOf)"),
        (json!({ "text": "a", "code": "١٢" }), r#"/code: "١٢" does not match the pattern `^\d+$`"#),
        (
            json!({ "text": "a", "tree": (0..128).fold(Value::Null, |next, _| json!({ "next": next })) }),
            &*Box::leak(
                format!(
                    "{}: nested deeper than 128 levels, the most a message may nest",
                    "/tree".to_string() + &"/next".repeat(127)
                )
                .into_boxed_str(),
            ),
        ),
        (
            json!({ "text": "a", "attachments": [{ "kind": "image", "url": "u", "width": 0 }] }),
            "/attachments/0/width: 0 is less than the minimum of 1",
        ),
        (
            json!({ "text": "a", "attachments": [{ "kind": "file" }] }),
            "/attachments/0: missing required property `name`",
        ),
        (
            json!({ "text": "a", "attachments": [{ "kind": "video" }] }),
            r#"/attachments/0/kind: "video" is not one of the tags of `oneOf`: ["image","file"]"#,
        ),
        (
            json!({ "text": "a", "attachments": [{ "url": "u" }] }),
            "/attachments/0: missing the tag property `kind` that selects a variant of `oneOf`",
        ),
        (
            json!({ "text": "a", "either": { "a": { "b": 4 } } }),
            "/either: matches none of the variants of `anyOf`; the closest, variant 2, fails at /either/a/b: 4 is greater than the maximum of 3",
        ),
        (
            json!({ "text": "a", "either": 5 }),
            "/either: matches none of the variants of `anyOf` (expected string, found integer; expected object, found integer)",
        ),
    ]
}

#[test]
fn rust_and_typescript_explain_refusals_alike() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/refusals-check");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let def = work.join("refusals.yaml");
    std::fs::write(&def, DEFINITION).unwrap();
    let cases = table();
    let expected: Vec<&str> = cases.iter().map(|c| c.1).collect();

    // The runtime's check, on the bundled schemas the generated module embeds.
    let definitions = chanspec::definitions::from_files(std::slice::from_ref(&def)).unwrap();
    let payload = definitions.channels[0].topics[0].payload.clone();
    let schemas = chanspec_runtime::check::Schemas::from_map(definitions.schemas.clone());
    let rust: Vec<String> = cases.iter().map(|(data, _)| schemas.check(&payload, data).unwrap_err()).collect();
    assert_eq!(rust, expected, "the runtime's explanations");
    // What must pass, passes in both (exact decimals, ECMA-262 digits, a deep but allowed tree).
    let valid = [
        json!({ "text": "a", "step": 0.3 }),
        json!({ "text": "a", "code": "123" }),
        json!({ "text": "a", "tree": (0..100).fold(Value::Null, |next, _| json!({ "next": next })) }),
    ];
    for v in &valid {
        assert_eq!(schemas.check(&payload, v), Ok(()), "{v}");
    }

    // The generated TypeScript guards.
    let module = common::ts_module("refusals-ts", &def);
    let program = module.with_file_name("run.mjs");
    std::fs::write(
        &program,
        format!(
            "import * as c from {:?};\nimport {{ createInterface }} from \"node:readline\";\n\
             for await (const line of createInterface({{ input: process.stdin }})) {{\n\
             \x20 const ok = c.chat.guards.message(JSON.parse(line));\n\
             \x20 console.log(JSON.stringify(ok ? \"accepted\" : c.chat.explain()));\n\
             }}\n",
            module.display().to_string()
        ),
    )
    .unwrap();
    let input: String = cases.iter().map(|(data, _)| data).chain(&valid).map(|data| format!("{data}\n")).collect();
    let ts_explained: Vec<String> =
        common::node_lines(&program, &input).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (refused, accepted) = ts_explained.split_at(expected.len());
    assert_eq!(refused, expected, "the TypeScript guards' explanations");
    assert!(accepted.iter().all(|a| a == "accepted"), "{accepted:?}");
}
