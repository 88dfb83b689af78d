//! Every valid fixture checks clean (alone and merged); every invalid fixture fails with the
//! diagnostic its header names (or, for a warning's rule, warns with it), at the line and column it names, and its full report matches
//! the snapshot.

use std::path::{Path, PathBuf};

use chanspec::report::{self, Format};
use chanspec::workspace::normalize;

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new("fixtures").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
        .collect();
    files.sort();
    files
}

fn errors_of(checked: &chanspec::Checked) -> Vec<report::Located> {
    checked.diagnostics.iter().filter(|d| d.is_error()).map(|d| report::locate(d, &checked.workspace.sources)).collect()
}

#[test]
fn valid_fixtures_are_clean_alone_and_merged() {
    let files = fixtures("valid");
    assert!(files.len() >= 12, "at least 12 valid fixtures, found {}", files.len());
    for f in &files {
        let checked = chanspec::check_files(std::slice::from_ref(f));
        assert!(errors_of(&checked).is_empty(), "{}: {:#?}", f.display(), errors_of(&checked));
        assert!(!checked.channels.is_empty(), "{} declares channels", f.display());
    }
    let merged = chanspec::check_files(&files);
    assert!(errors_of(&merged).is_empty(), "{:#?}", errors_of(&merged));
    // Only the fixture written to show them has warnings.
    for d in merged.diagnostics.iter() {
        let l = report::locate(d, &merged.workspace.sources);
        assert_eq!(l.file.as_deref(), Some("fixtures/valid/narrowing.yaml"), "{l:?}");
    }
}

/// `# expect: CODE LINE:COL [in FILE]` on the first line, or in a sibling `.expect` file.
fn expectation(path: &Path) -> (String, String, Option<PathBuf>) {
    let text = std::fs::read_to_string(path).unwrap();
    let line = match text.lines().next().and_then(|l| l.strip_prefix("# expect: ")) {
        Some(l) => l.to_string(),
        None => {
            std::fs::read_to_string(format!("{}.expect", path.display())).expect("an expectation").trim().to_string()
        }
    };
    let mut parts = line.split_whitespace();
    let code = parts.next().unwrap().to_string();
    let pos = parts.next().unwrap().to_string();
    let file = match (parts.next(), parts.next()) {
        (Some("in"), Some(f)) => Some(normalize(&path.parent().unwrap().join(f))),
        _ => None,
    };
    (code, pos, file)
}

#[test]
fn invalid_fixtures_report_their_rule_at_its_position() {
    let files = fixtures("invalid");
    assert!(files.len() >= 25, "at least 25 invalid fixtures, found {}", files.len());
    for path in files {
        let checked = chanspec::check_files(std::slice::from_ref(&path));
        let (code, pos, file) = expectation(&path);
        // The first error; a fixture of a warning's rule has no error, and names its first warning.
        let mut found = errors_of(&checked);
        if found.is_empty() {
            found = checked.diagnostics.iter().map(|d| report::locate(d, &checked.workspace.sources)).collect();
        }
        let first = found.first().unwrap_or_else(|| panic!("{}: no diagnostic", path.display()));
        let want_file = file.unwrap_or(path.clone());
        assert_eq!(
            (first.code, format!("{}:{}", first.line.unwrap(), first.column.unwrap()), first.file.clone().unwrap()),
            (code.as_str(), pos, want_file.to_string_lossy().to_string()),
            "{}",
            path.display()
        );
    }
}

#[test]
fn invalid_fixture_reports_match_snapshots() {
    insta::glob!("../fixtures/invalid", "*.{yaml,json}", |path| {
        let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().to_path_buf();
        let checked = chanspec::check_files(&[rel]);
        let diags: Vec<_> = checked.diagnostics.iter().cloned().collect();
        let human = report::render(&diags, &checked.workspace.sources, Format::Human, false);
        let json = report::render(&diags, &checked.workspace.sources, Format::Json, false);
        insta::assert_snapshot!(format!("{human}\n--- json ---\n{json}"));
    });
}

#[test]
fn duplicate_channels_across_files_name_both_places() {
    let a = "chanspec: 1\nchannels:\n  news:\n    topics:\n      posted: { schema: { type: string } }\n";
    let b = "chanspec: 1\nchannels:\n  other:\n    topics:\n      x: { schema: { type: string } }\n  news:\n    name: news2\n    topics:\n      y: { schema: { type: string } }\n";
    let checked = chanspec::check_texts(&[("a.yaml".into(), a.into()), ("b.yaml".into(), b.into())]);
    let errors = errors_of(&checked);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!((e.code, e.file.as_deref(), e.line, e.column), ("duplicate-channel", Some("b.yaml"), Some(6), Some(3)));
    assert!(e.message.contains("a.yaml"), "{}", e.message);
    let d = checked.diagnostics.iter().find(|d| d.is_error()).unwrap();
    let human = report::human(d, &checked.workspace.sources, false);
    assert!(human.contains("a.yaml:3:3"), "{human}");
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let text = r##"chanspec: 1
channels:
  a:
    name: "a:{x}"
    params: { y: { type: string } }
    topics:
      t: { schema: { type: object, not: {}, properties: { p: { $ref: "#/$defs/Nope" } } } }
  b:
    topcis: {}
    topics:
      u: { schema: { type: strng } }
"##;
    let checked = chanspec::check_texts(&[("all.yaml".into(), text.into())]);
    let mut codes: Vec<&str> = errors_of(&checked).iter().map(|e| e.code).collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "invalid-schema",
            "undeclared-param",
            "unknown-field",
            "unresolved-ref",
            "unsupported-keyword",
            "unused-param"
        ]
    );
}

/// Schema rules report in walk order: each schema's keyword problems, then its references'.
/// Keyword rules of the roots run on another thread and are put back in that order; roots
/// reached first through a reference, or below one, are checked where they are walked.
#[test]
fn schema_problems_are_reported_in_walk_order() {
    let text = r##"
chanspec: 1
channels:
  a:
    topics:
      t: { schema: { nullable: true, $ref: "#/$defs/Nope" } }
      u: { schema: { $ref: "#/$defs/C/properties/x" } }
      v: { schema: { $ref: "#/$defs/B" } }
$defs:
  B: { if: {}, properties: { p: { not: {} } } }
  C: { else: {}, properties: { x: { then: {} }, y: { $ref: "#/$defs/Gone" } } }
  D: { minLength: 1 }
"##;
    let checked = chanspec::check_texts(&[("order.yaml".into(), text.into())]);
    let found: Vec<(&str, String)> = checked
        .diagnostics
        .iter()
        .map(|d| match &d.anchor {
            chanspec::diagnostic::Anchor::Node { location, .. } => (d.code, location.pointer.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected = [
        ("unknown-keyword", "/channels/a/topics/t/schema/nullable"),
        ("unresolved-ref", "/channels/a/topics/t/schema/$ref"),
        ("unsupported-keyword", "/$defs/C/properties/x/then"),
        ("unsupported-keyword", "/$defs/B/if"),
        ("unsupported-keyword", "/$defs/B/properties/p/not"),
        ("unsupported-keyword", "/$defs/C/else"),
        ("unresolved-ref", "/$defs/C/properties/y/$ref"),
        ("narrowing-keyword", "/$defs/D/minLength"),
    ];
    let expected: Vec<(&str, String)> = expected.iter().map(|(c, p)| (*c, p.to_string())).collect();
    assert_eq!(found, expected);
}
