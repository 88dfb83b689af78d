//! Channel params are checked the same way wherever a name is built or read: the generated
//! Rust constructors, the generated TypeScript `name()`, and the hub (the run-time
//! definitions it matches names with). One table of values, one verdict each, all three
//! must agree with it: `pattern` (ECMA-262: `\d` is ASCII only), `enum`, `format: uuid`
//! (lower case only), integer bounds, and the separator.

mod common;

use std::path::Path;

const DEFINITION: &str = r#"chanspec: 1
channels:
  room:
    name: "room:{roomId}"
    params: { roomId: { type: string, pattern: "^[a-z]{3,}$" } }
    topics: { t: { schema: { type: object } } }
  job:
    name: "job:{jobId}"
    params: { jobId: { type: string, format: uuid } }
    topics: { t: { schema: { type: object } } }
  env:
    name: "env:{stage}"
    params: { stage: { type: string, enum: [dev, prod] } }
    topics: { t: { schema: { type: object } } }
  code:
    name: "code:{digits}"
    params: { digits: { type: string, pattern: "^\\d+$" } }
    topics: { t: { schema: { type: object } } }
  shard:
    name: "shard:{n}"
    params: { n: { type: integer, minimum: 0, maximum: 9 } }
    topics: { t: { schema: { type: object } } }
"#;

/// (channel, value, accepted)
const TABLE: &[(&str, &str, bool)] = &[
    ("room", "abc", true),
    ("room", "ab", false),
    ("room", "abC", false),
    ("room", "a:bc", false),
    ("room", "", false),
    ("job", "6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6", true),
    ("job", "6F1C1A2E-1B2C-4D5E-8F90-A1B2C3D4E5F6", false),
    ("job", "6f1c1a2e-1b2c-4d5e-8f90", false),
    ("env", "dev", true),
    ("env", "prod", true),
    ("env", "qa", false),
    ("code", "123", true),
    ("code", "١٢٣", false),
    ("code", "12a", false),
    ("shard", "0", true),
    ("shard", "9", true),
    ("shard", "10", false),
    ("shard", "-1", false),
];

#[test]
fn rust_typescript_and_the_hub_give_params_the_same_verdicts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/params-check");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let def = work.join("params.yaml");
    std::fs::write(&def, DEFINITION).unwrap();
    let expected: Vec<bool> = TABLE.iter().map(|c| c.2).collect();

    // The hub's matching, on the run-time definitions made from the same file.
    let definitions = chanspec::definitions::from_files(std::slice::from_ref(&def)).unwrap();
    let hub: Vec<bool> = TABLE.iter().map(|(ch, v, _)| definitions.find(&format!("{ch}:{v}")).is_some()).collect();
    assert_eq!(hub, expected, "the hub's verdicts");

    // Generated Rust constructors.
    let dir = common::generated_crate("params-rust");
    chanspec::Builder::new().file(&def).rust_out(dir.join("src/channels.rs")).cargo_output(false).generate().unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "#[allow(dead_code)]\nmod channels;\nuse std::io::BufRead;\n\nfn main() {\n    \
         for line in std::io::stdin().lock().lines() {\n        let line = line.unwrap();\n        \
         let (ch, v) = line.split_once('\\t').unwrap();\n        let ok = match ch {\n            \
         \"room\" => channels::room(v).is_ok(),\n            \"job\" => channels::job(v).is_ok(),\n            \
         \"env\" => channels::env(v).is_ok(),\n            \"code\" => channels::code(v).is_ok(),\n            \
         \"shard\" => channels::shard(v.parse().unwrap()).is_ok(),\n            _ => unreachable!(),\n        };\n        \
         println!(\"{}\", if ok { 1 } else { 0 });\n    }\n}\n",
    )
    .unwrap();
    let build = common::cargo(&dir, &["build", "--quiet"]);
    common::assert_success(&build, "cargo build");
    let input: String = TABLE.iter().map(|(ch, v, _)| format!("{ch}\t{v}\n")).collect();
    let rust = common::run_lines(&common::target_dir().join("debug/params-rust"), &input);
    assert_eq!(rust, expected, "the Rust constructors' verdicts");

    // Generated TypeScript `name()`.
    let module = common::ts_module("params-ts", &def);
    let program = module.with_file_name("run.mjs");
    std::fs::write(
        &program,
        format!(
            "import * as c from {:?};\nimport {{ createInterface }} from \"node:readline\";\n\
             const keys = {{ room: \"roomId\", job: \"jobId\", env: \"stage\", code: \"digits\", shard: \"n\" }};\n\
             for await (const line of createInterface({{ input: process.stdin }})) {{\n\
             \x20 const [ch, v] = line.split(\"\\t\");\n\
             \x20 const value = ch === \"shard\" ? Number(v) : v;\n\
             \x20 try {{ c[ch].name({{ [keys[ch]]: value }}); console.log(\"1\"); }}\n\
             \x20 catch (e) {{ if (!(e instanceof RangeError)) throw e; console.log(\"0\"); }}\n\
             }}\n",
            module.display().to_string()
        ),
    )
    .unwrap();
    let ts_verdicts: Vec<bool> = common::node_lines(&program, &input).iter().map(|l| l == "1").collect();
    assert_eq!(ts_verdicts, expected, "the TypeScript name() verdicts");
}
