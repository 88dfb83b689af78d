//! Property tests: no input, however broken, makes the loader, the validator or the
//! reporter panic, and every diagnostic gets a position inside its file. The same property
//! runs under libFuzzer in `fuzz/` for longer campaigns.

use std::path::PathBuf;

use chanspec::report::{self, Format};
use proptest::prelude::*;

fn check_never_panics(name: &str, text: String) {
    let checked = chanspec::check_texts(&[(PathBuf::from(name), text)]);
    let diags: Vec<_> = checked.diagnostics.iter().cloned().collect();
    for d in &diags {
        let l = report::locate(d, &checked.workspace.sources);
        if let (Some(file), Some(line)) = (&l.file, l.line) {
            let (_, f) = checked.workspace.sources.iter().find(|(_, f)| &f.display == file).unwrap();
            assert!(line >= 1 && line <= f.text().lines().count().max(1) + 1, "{l:?}");
        }
    }
    report::render(&diags, &checked.workspace.sources, Format::Human, false);
    report::render(&diags, &checked.workspace.sources, Format::Json, false);
}

fn valid_fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir("fixtures/valid")
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.to_string_lossy().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let fragment = prop::collection::vec(
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ":",
            ": ",
            ",",
            "-",
            "- ",
            "'",
            "\"",
            "#",
            "&a ",
            "*a",
            "!!str ",
            "|",
            ">",
            "\n",
            " ",
            "  ",
            "\t",
            "$ref: ",
            "\"#/$defs/X\"",
            "{x}",
            "null",
            "1e999",
            "\u{e9}",
            "\\",
            "~",
        ]),
        1..6,
    )
    .prop_map(|v| v.concat());
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), fragment).prop_map(|(a, s)| Edit::Insert(a, s)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let boundary = |i: usize| {
        let mut i = i % (text.len() + 1);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match edit {
        Edit::Delete(a, n) => {
            let a = boundary(*a);
            let b = boundary((a + n).min(text.len()));
            format!("{}{}", &text[..a], &text[b.max(a)..])
        }
        Edit::Insert(a, s) => {
            let a = boundary(*a);
            format!("{}{s}{}", &text[..a], &text[a..])
        }
        Edit::DuplicateLine(i) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = i % lines.len();
                lines.insert(i, lines[i]);
            }
            lines.join("\n")
        }
        Edit::SwapLines(a, b) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let n = lines.len();
                lines.swap(a % n, b % n);
            }
            lines.join("\n")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        check_never_panics("fuzz.yaml", text.clone());
        check_never_panics("fuzz.json", text);
    }

    #[test]
    fn mutated_valid_fixtures(which in any::<usize>(), edits in prop::collection::vec(edit(), 1..8)) {
        let fixtures = valid_fixtures();
        let (path, text) = &fixtures[which % fixtures.len()];
        let mutated = edits.iter().fold(text.clone(), |t, e| apply(&t, e));
        check_never_panics(path, mutated);
    }
}
