#![cfg(feature = "cli")]
//! `chanspec token` and `chanspec serve`, as processes: the token printed alone, the hub
//! serving the files' channels, and refusals with their messages and exit codes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn chanspec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chanspec"))
}

#[test]
fn token_prints_only_the_token() {
    let out = chanspec()
        .args([
            "token",
            "--secret-env",
            "CS_TEST_SECRET",
            "--channel",
            "announcements",
            "--topics",
            "posted",
            "--ttl",
            "60s",
        ])
        .env("CS_TEST_SECRET", "s3cret-of-at-least-32-bytes-0123456789")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let token = text.trim_end();
    assert_eq!(text, format!("{token}\n"));
    let claims = chanspec_runtime::token::TokenVerifier::new(b"s3cret-of-at-least-32-bytes-0123456789", None)
        .verify(token)
        .unwrap();
    assert_eq!((claims.chan.as_str(), claims.topics), ("announcements", vec!["posted".to_string()]));
    assert!(claims.exp - claims.iat == 60);

    let missing = chanspec()
        .args(["token", "--secret-env", "CS_TEST_UNSET", "--channel", "a", "--topics", "b"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("CS_TEST_UNSET"));
    let bad_ttl = chanspec()
        .args(["token", "--secret-env", "CS_TEST_SECRET", "--channel", "a", "--topics", "b", "--ttl", "5 years"])
        .env("CS_TEST_SECRET", "s")
        .output()
        .unwrap();
    assert_eq!(bad_ttl.status.code(), Some(1));
}

#[test]
fn token_refuses_what_cannot_work() {
    let refused = |args: &[&str]| {
        let out = chanspec()
            .arg("token")
            .args(args)
            .env("CS_TEST_SECRET", "s3cret-of-at-least-32-bytes-0123456789")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "no token is printed");
        String::from_utf8(out.stderr).unwrap()
    };
    let base = ["--secret-env", "CS_TEST_SECRET", "--channel", "announcements", "--topics", "posted"];
    let with = |extra: &[&'static str]| [&base[..], extra].concat();
    assert!(refused(&with(&["--ttl", "0s"])).contains("--ttl must be positive"));
    let long = refused(&with(&["--ttl", "2d"]));
    assert!(long.contains("longer than the maximum of 24h"), "{long}");
    let def = "examples/pipeline/chanspec.yaml";
    let typo = refused(&[
        "--secret-env",
        "CS_TEST_SECRET",
        "--channel",
        "announcements",
        "--topics",
        "postde",
        "--definitions",
        def,
    ]);
    assert!(typo.contains("has no topic `postde` (did you mean `posted`?)"), "{typo}");
    let upper = refused(&[
        "--secret-env",
        "CS_TEST_SECRET",
        "--channel",
        "pipeline:6F1C1A2E-1B2C-4D5E-8F90-A1B2C3D4E5F6",
        "--topics",
        "status",
        "--definitions",
        def,
    ]);
    assert!(upper.contains("param `runId`") && upper.contains("lower case"), "{upper}");
    let unknown = refused(&[
        "--secret-env",
        "CS_TEST_SECRET",
        "--channel",
        "pipelines",
        "--topics",
        "status",
        "--definitions",
        def,
    ]);
    assert!(unknown.contains("is not a name of any channel"), "{unknown}");
    // A longer lifetime is allowed when the maximum is raised; a known channel and topic pass.
    let ok = chanspec()
        .arg("token")
        .args(with(&["--ttl", "2d", "--max-ttl", "7d", "--definitions", def]))
        .env("CS_TEST_SECRET", "s3cret-of-at-least-32-bytes-0123456789")
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}

#[test]
fn serve_runs_the_hub_for_the_files_channels() {
    let mut child = chanspec()
        .args(["serve", "examples/pipeline/chanspec.yaml", "--listen", "127.0.0.1:0"])
        .args(["--secret-env", "CS_TEST_SECRET", "--publish-key-env", "CS_TEST_KEY"])
        .env("CS_TEST_SECRET", "s3cret-of-at-least-32-bytes-0123456789")
        .env("CS_TEST_KEY", "k3y")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_string();
    let publish = |body: &str, key: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let req = format!(
            "POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        std::io::Write::write_all(&mut s, req.as_bytes()).unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
        answer
    };
    let ok = publish(r#"{"channel":"announcements","topic":"posted","data":{"text":"hi"}}"#, "k3y");
    let wrong = publish(r#"{"channel":"announcements","topic":"posted","data":{"text":"hi"}}"#, "nope");
    let invalid = publish(r#"{"channel":"announcements","topic":"posted","data":{"text":1}}"#, "k3y");
    // The hub runs with mimalloc committing memory on demand (it starts itself again with the
    // option set, keeping its process id).
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap_or_default();
    let on_demand = environ.split(|b| *b == 0).any(|v| v == b"MIMALLOC_ARENA_EAGER_COMMIT=0");
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("2 channel(s), memory broker"), "{line}");
    assert!(on_demand || !cfg!(target_os = "linux"), "serve did not set MIMALLOC_ARENA_EAGER_COMMIT=0");
    assert!(ok.starts_with("HTTP/1.1 200") && ok.contains(r#"{"offset":1,"duplicate":false}"#), "{ok}");
    assert!(wrong.starts_with("HTTP/1.1 403"), "{wrong}");
    assert!(invalid.starts_with("HTTP/1.1 400") && invalid.contains("invalid_payload"), "{invalid}");
}

#[test]
fn serve_refuses_bad_definitions_and_missing_secrets() {
    let out = chanspec()
        .args([
            "serve",
            "fixtures/invalid/undeclared-param.yaml",
            "--secret-env",
            "CS_TEST_SECRET",
            "--publish-key-env",
            "CS_TEST_KEY",
        ])
        .env("CS_TEST_SECRET", "s")
        .env("CS_TEST_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("undeclared-param"));
    let out = chanspec()
        .args([
            "serve",
            "examples/pipeline/chanspec.yaml",
            "--secret-env",
            "CS_TEST_UNSET",
            "--publish-key-env",
            "CS_TEST_KEY",
        ])
        .env("CS_TEST_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CS_TEST_UNSET"));
    // A secret too short for HS256 is refused at start, saying how to make one.
    let out = chanspec()
        .args([
            "serve",
            "examples/pipeline/chanspec.yaml",
            "--secret-env",
            "CS_TEST_SECRET",
            "--publish-key-env",
            "CS_TEST_KEY",
        ])
        .env("CS_TEST_SECRET", "s")
        .env("CS_TEST_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 bytes; use at least 32 random bytes"), "{err}");
}

#[allow(dead_code, clippy::all)]
mod committed {
    include!("../examples/committed-bindings/src/channels.rs");
}

/// `serve` builds from the files exactly the definitions the generated module embeds.
#[test]
fn serve_and_generated_code_share_one_conversion() {
    let from_files = chanspec::definitions::from_files(&["examples/pipeline/chanspec.yaml".into()]).unwrap();
    assert_eq!(from_files, committed::chanspec_definitions());
    assert_eq!(from_files.channels.len(), 2);
}
