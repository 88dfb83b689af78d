//! `cargo fuzz run check`: arbitrary bytes, read as YAML and as JSON, through the whole
//! check (load, validate, report). Any panic is a bug. Seed the corpus with the fixtures:
//! `mkdir -p fuzz/corpus/check && cp fixtures/valid/* fixtures/invalid/* fuzz/corpus/check/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    for name in ["fuzz.yaml", "fuzz.json"] {
        let checked = chanspec::check_texts(&[(name.into(), text.clone())]);
        let diags: Vec<_> = checked.diagnostics.iter().cloned().collect();
        chanspec::report::render(&diags, &checked.workspace.sources, chanspec::report::Format::Human, false);
    }
});
