//! The `chanspec` command line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use chanspec::report::{self, Format};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `check` runs once and exits. mimalloc hands freed memory back to the kernel after 10 ms by
/// default, and memory taken again costs a page fault and a zeroed page per use: a third of
/// `check`'s time on a large definition. `check` keeps it; `generate`, whose emitters start
/// after checking's memory is freed, gives it back (see there); `serve` does not keep it.
fn keep_freed_memory() {
    /// `mi_option_purge_delay` in mimalloc 3, the version libmimalloc-sys 0.1.49 builds (its
    /// Rust bindings name only some options); -1 turns purging off.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is allowed at any time; mimalloc reads it when it next purges.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

/// `generate` takes no transparent huge pages. mimalloc asks for them, and where the kernel
/// must first compact memory to make one (`defrag` on `madvise`, the usual setting, after
/// another large process ran, as in any build), the run waits: `generate --ts` on the
/// benchmark corpus right after json2ts took 0.43–0.93 s, by luck, with 0.03–0.52 s of system
/// time; without huge pages 0.49–0.50 s every time, with a smaller peak RSS (BENCHMARKS.md).
/// Run after run with nothing between, huge pages are ready and 10% faster: `check`, short and
/// often run alone, keeps them. The kernel reads the flag at each page fault, so setting it
/// from `main` covers the memory mimalloc reserved before.
fn small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(
            libc::PR_SET_THP_DISABLE,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        );
    }
}

/// `serve` has mimalloc commit memory as it is used. By default mimalloc commits each arena
/// at once, in transparent huge pages where the kernel gives them on request, and a hub's first
/// burst of fan-out then spends a fifth of its CPU zeroing 2 MiB pages (a `perf` profile of the
/// fan-out burst; BENCHMARKS.md). mimalloc reads the option when the process starts, before
/// `main`, so the hub starts itself again with it set (once: the variable is then present).
#[cfg(unix)]
fn commit_on_demand() {
    use std::os::unix::process::CommandExt;
    const VAR: &str = "MIMALLOC_ARENA_EAGER_COMMIT";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    // Only returns when it could not start itself again: then it runs as it is.
    let _ = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env(VAR, "0").exec();
}

#[cfg(not(unix))]
fn commit_on_demand() {}

#[derive(Parser)]
#[command(
    name = "chanspec",
    version,
    about = "Typed realtime channels: check definitions, generate Rust and TypeScript bindings"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate definition files and report every problem with file, line and column.
    Check {
        /// Definition files (YAML or JSON). Several files are merged into one set of channels.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
        /// `--deny warnings`: treat warnings as errors (exit 1 when any is left after
        /// `x-chanspec-allow`), for CI.
        #[arg(long, value_enum, value_name = "LINT")]
        deny: Option<Deny>,
        /// The same as `--deny warnings`.
        #[arg(long)]
        deny_warnings: bool,
        /// When to color human output.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Generate bindings: a Rust publisher module and TypeScript subscriber types, from one load.
    #[command(group = clap::ArgGroup::new("outputs").required(true).multiple(true).args(["rust", "ts"]))]
    Generate {
        /// Definition files (YAML or JSON), merged.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the Rust module here.
        #[arg(long, value_name = "OUT.rs")]
        rust: Option<PathBuf>,
        /// Write the TypeScript module here.
        #[arg(long, value_name = "OUT.ts")]
        ts: Option<PathBuf>,
        /// Write nothing; exit 1 when a committed output is missing or stale, with a short diff.
        #[arg(long)]
        check: bool,
        /// Pass the Rust output through rustfmt (with the rustfmt.toml that applies to it).
        /// Default: only when a rustfmt.toml or .rustfmt.toml is in the output's directory or
        /// above; otherwise the output is prettyplease's formatting.
        #[arg(long, conflicts_with = "no_rustfmt")]
        rustfmt: bool,
        /// Never pass the Rust output through rustfmt, even with a rustfmt.toml.
        #[arg(long)]
        no_rustfmt: bool,
    },
    /// Start a definition: write a commented chanspec.yaml (and the format's schema for
    /// editors) into DIR, and print the lines that wire it into a Rust crate and a web app.
    Init {
        /// Where to write (created if missing).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print the JSON Schema of the definition format (for editors and yaml-language-server).
    Schema,
    /// Run the hub: WebSocket and SSE subscribers, HTTP publishers, for the channels of FILE...
    Serve {
        /// Definition files (YAML or JSON), merged.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Environment variable holding the token secret (HS256).
        #[arg(long, value_name = "VAR")]
        secret_env: String,
        /// Environment variable holding the publish key (`Authorization: Bearer …`).
        #[arg(long, value_name = "VAR")]
        publish_key_env: String,
        /// Environment variable holding the previous token secret, accepted during a rotation.
        #[arg(long, value_name = "VAR")]
        previous_secret_env: Option<String>,
        /// Share channels with other hubs through this Redis (`redis://127.0.0.1:6379`) or
        /// Redis Cluster (`redis+cluster://10.0.0.5:7000,10.0.0.6:7000`: any of its nodes).
        #[arg(long, value_name = "URL")]
        redis: Option<String>,
        /// Largest publish, in bytes (larger ones get 413, never truncated).
        #[arg(long, default_value_t = 512 * 1024)]
        max_message_bytes: usize,
        /// Messages kept per channel for resuming subscribers.
        #[arg(long, default_value_t = 1000)]
        history: usize,
        /// Oldest message kept for resuming subscribers (e.g. 1h, 30m).
        #[arg(long, default_value = "1h")]
        history_age: String,
        /// History kept across every channel, in bytes (memory broker); over it the least
        /// recently used channels lose their oldest messages first.
        #[arg(long, default_value_t = 256 * 1024 * 1024)]
        history_bytes: usize,
        /// Bytes queued for one connection before it is cut as a slow consumer (WebSocket
        /// close 4008, SSE response ended); a larger message still goes out alone.
        #[arg(long, default_value_t = 1024 * 1024)]
        queue_bytes: usize,
        /// How long an idempotency key is remembered (e.g. 1h): a durable publish retried
        /// within it is delivered once.
        #[arg(long, default_value = "1h")]
        dedup_window: String,
        /// Tokens valid for longer than this from when they are presented are refused.
        #[arg(long, default_value = "24h")]
        max_token_ttl: String,
        /// Time to read a request head (and to keep an idle keep-alive connection).
        #[arg(long, default_value = "10s")]
        head_timeout: String,
        /// Time for a publish (or status) body to arrive once its head has (408 after).
        #[arg(long, default_value = "10s")]
        body_timeout: String,
        /// Open connections at most; over it a new one gets 503 with Retry-After.
        #[arg(long, default_value_t = 10_000)]
        max_connections: usize,
        /// Open connections per client IP at most (default: no per-IP limit).
        #[arg(long)]
        max_connections_per_ip: Option<usize>,
        /// A reverse proxy (IP address) whose `X-Forwarded-For` is believed for the per-IP
        /// limit (repeat for several). Without it the header is ignored.
        #[arg(long, value_name = "IP")]
        trusted_proxy: Vec<std::net::IpAddr>,
    },
    /// Say whether a change of definitions breaks subscribers already running: `diff OLD NEW`,
    /// or `diff --against REF FILE...` (the same files at a git commit). Exit 0 when
    /// compatible, 1 when breaking, 2 on usage errors or definitions that do not check.
    Diff {
        /// `OLD NEW` (one file each), or with `--against`, the definition files now.
        files: Vec<PathBuf>,
        /// Old definition files (several are merged), with `--new`.
        #[arg(long, num_args = 1.., conflicts_with = "against")]
        old: Vec<PathBuf>,
        /// New definition files (several are merged), with `--old`.
        #[arg(long, num_args = 1.., conflicts_with = "against")]
        new: Vec<PathBuf>,
        /// Compare FILE... with the same files at this git commit, branch or tag (e.g.
        /// `origin/main`), read with git.
        #[arg(long, value_name = "GIT_REF")]
        against: Option<String>,
        /// Which subscribers to protect: `forward` (old subscribers reading new messages),
        /// `backward` (new subscribers replaying old history), `full` (both).
        #[arg(long, value_enum, default_value_t = DiffMode::Full)]
        mode: DiffMode,
        /// Categories to report (repeatable): `wire` and `names` by default; `generated` adds
        /// changes that break code compiled against the old bindings.
        #[arg(long, value_enum, num_args = 1..)]
        category: Vec<DiffCategory>,
        /// How to print findings.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Mint a subscribe token and print it alone on stdout.
    Token {
        /// Environment variable holding the token secret.
        #[arg(long, value_name = "VAR")]
        secret_env: String,
        /// The runtime channel name, e.g. `pipeline:7`.
        #[arg(long)]
        channel: String,
        /// Comma-separated topics the token allows.
        #[arg(long)]
        topics: String,
        /// Lifetime, e.g. 60s, 15m, 1h: positive, and at most --max-ttl.
        #[arg(long, default_value = "60s")]
        ttl: String,
        /// The longest --ttl accepted.
        #[arg(long, default_value = "24h")]
        max_ttl: String,
        /// Definition files (recommended): the channel must be a name of one of their channels
        /// and every topic one of its topics, or no token is minted.
        #[arg(long, value_name = "FILE", num_args = 1..)]
        definitions: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Human,
    Json,
    Github,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffMode {
    Forward,
    Backward,
    Full,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum DiffCategory {
    Wire,
    Names,
    Generated,
}

#[derive(Clone, Copy, ValueEnum)]
enum Deny {
    Warnings,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    chanspec::trace::phase("start");
    // Before anything allocates much: the arenas made from here on follow it.
    if std::env::args_os().nth(1).is_some_and(|a| a == "serve") {
        commit_on_demand();
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files, format, deny, deny_warnings, color } => {
            let deny_warnings = deny_warnings || matches!(deny, Some(Deny::Warnings));
            keep_freed_memory();
            let checked = chanspec::check_files(&files);
            let diags = checked.diagnostics.iter().cloned().collect::<Vec<_>>();
            let format = match format {
                OutputFormat::Human => Format::Human,
                OutputFormat::Json => Format::Json,
                OutputFormat::Github => Format::Github,
            };
            let color = match color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            let text = report::render(&diags, &checked.workspace.sources, format, color);
            // Machine formats go to stdout; human diagnostics to stderr, like compilers.
            let _ = match format {
                Format::Human => std::io::stderr().write_all(text.as_bytes()),
                _ => std::io::stdout().write_all(text.as_bytes()),
            };
            let failed = checked.has_errors() || (deny_warnings && !diags.is_empty());
            if format == Format::Human && !failed {
                eprintln!("ok: {} channel(s) in {} file(s)", checked.channels.len(), checked.inputs.len());
            }
            // Exit without freeing the documents: the OS reclaims memory faster than drops.
            std::process::exit(if failed { 1 } else { 0 })
        }
        Command::Diff { files, old, new, against, mode, category, format } => {
            let mode = match mode {
                DiffMode::Forward => chanspec::diff::Mode::Forward,
                DiffMode::Backward => chanspec::diff::Mode::Backward,
                DiffMode::Full => chanspec::diff::Mode::Full,
            };
            let mut categories: Vec<chanspec::diff::Category> = category
                .iter()
                .map(|c| match c {
                    DiffCategory::Wire => chanspec::diff::Category::Wire,
                    DiffCategory::Names => chanspec::diff::Category::Names,
                    DiffCategory::Generated => chanspec::diff::Category::Generated,
                })
                .collect();
            if categories.is_empty() || (categories == [chanspec::diff::Category::Generated]) {
                categories.extend([chanspec::diff::Category::Wire, chanspec::diff::Category::Names]);
            }
            let format = match format {
                OutputFormat::Human => chanspec::diff::report::Format::Human,
                OutputFormat::Json => chanspec::diff::report::Format::Json,
                OutputFormat::Github => chanspec::diff::report::Format::Github,
            };
            match diff_command(files, old, new, against, mode, &categories, format) {
                Ok(breaking) => ExitCode::from(u8::from(breaking)),
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Generate { files, rust, ts, check, rustfmt, no_rustfmt } => {
            // Freed memory is given back here (mimalloc's default): the builder collects what
            // checking freed before the emitters run, and the peak is 83 MiB instead of
            // 89–103 MiB on the benchmark definition, in the same time (BENCHMARKS.md).
            small_pages();
            use chanspec::builder::Rustfmt;
            let when = if rustfmt {
                Rustfmt::Always
            } else if no_rustfmt {
                Rustfmt::Never
            } else {
                Rustfmt::Auto
            };
            let mut builder = chanspec::Builder::new()
                .files(&files)
                .check_only(check)
                .cargo_output(false)
                .rustfmt_when(when)
                .process_exits_after(true);
            if let Some(rust) = rust {
                builder = builder.rust_out(rust);
            }
            if let Some(ts) = ts {
                builder = builder.ts_out(ts);
            }
            match builder.generate() {
                Ok(generated) => {
                    for (path, outcome) in &generated.outputs {
                        let what = if *outcome == chanspec::write::Outcome::Written { "wrote" } else { "unchanged" };
                        eprintln!("{what}: {}", path.display());
                    }
                    if check {
                        eprintln!("ok: generated bindings are up to date");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Init { dir } => match chanspec::init::init(&dir) {
            Ok(written) => {
                for path in &written {
                    eprintln!("wrote: {}", path.display());
                }
                let def = if dir == std::path::Path::new(".") {
                    "chanspec.yaml".into()
                } else {
                    written[0].display().to_string()
                };
                println!("{}", chanspec::init::next_steps(&def));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Command::Schema => {
            let schema = chanspec::model::format_schema();
            println!("{}", serde_json::to_string_pretty(&schema).expect("schemas serialize"));
            ExitCode::SUCCESS
        }
        Command::Serve {
            files,
            listen,
            secret_env,
            publish_key_env,
            previous_secret_env,
            redis,
            max_message_bytes,
            history,
            history_age,
            history_bytes,
            queue_bytes,
            dedup_window,
            max_token_ttl,
            head_timeout,
            body_timeout,
            max_connections,
            max_connections_per_ip,
            trusted_proxy,
        } => {
            let durations = chanspec_runtime::token::parse_ttl(&max_token_ttl)
                .map_err(|e| format!("error: --max-token-ttl {e}"))
                .and_then(|t| {
                    chanspec_runtime::token::parse_ttl(&head_timeout)
                        .map(|h| (t, h))
                        .map_err(|e| format!("error: --head-timeout {e}"))
                });
            let (max_token_ttl, head_timeout) = match durations {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(1);
                }
            };
            let connections = chanspec_runtime::hub::server::ConnectionLimits {
                head_timeout,
                max_connections,
                max_connections_per_ip,
                trusted_proxies: trusted_proxy,
            };
            let body_timeout = match chanspec_runtime::token::parse_ttl(&body_timeout) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("error: --body-timeout {e}");
                    return ExitCode::from(1);
                }
            };
            let dedup_window = match chanspec_runtime::token::parse_ttl(&dedup_window) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("error: --dedup-window {e}");
                    return ExitCode::from(1);
                }
            };
            let run = chanspec_runtime_ttl(&history_age).and_then(|history_age| {
                chanspec::serve::serve(chanspec::serve::ServeOptions {
                    files,
                    listen,
                    secret_env,
                    publish_key_env,
                    previous_secret_env,
                    redis,
                    max_message_bytes,
                    history,
                    history_age,
                    history_bytes,
                    queue_bytes,
                    dedup_window,
                    body_timeout,
                    max_token_ttl,
                    connections,
                })
            });
            match run {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Token { secret_env, channel, topics, ttl, max_ttl, definitions } => {
            let options = chanspec::serve::TokenOptions {
                secret_env: &secret_env,
                channel: &channel,
                topics: &topics,
                ttl: &ttl,
                max_ttl: &max_ttl,
                definitions: &definitions,
            };
            match chanspec::serve::token(&options) {
                Ok(token) => {
                    println!("{token}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn chanspec_runtime_ttl(text: &str) -> Result<std::time::Duration, String> {
    chanspec_runtime::token::parse_ttl(text).map_err(|e| format!("error: --history-age {e}"))
}

/// `chanspec diff`: load both sides (each must check cleanly), compare, print. `Ok(true)` when
/// something breaks (acknowledged findings aside).
fn diff_command(
    files: Vec<PathBuf>,
    old: Vec<PathBuf>,
    new: Vec<PathBuf>,
    against: Option<String>,
    mode: chanspec::diff::Mode,
    categories: &[chanspec::diff::Category],
    format: chanspec::diff::report::Format,
) -> Result<bool, String> {
    let usage = "error: give `OLD NEW`, or `--old FILE... --new FILE...`, or `--against GIT_REF FILE...`";
    let snapshot;
    let (old, new) = match against {
        Some(rev) => {
            if files.is_empty() {
                return Err(format!("{usage}: --against needs the definition files"));
            }
            snapshot = chanspec::diff::git::Snapshot::at(&rev).map_err(|e| format!("error: {e}"))?;
            let old: Vec<PathBuf> = files.iter().filter_map(|f| snapshot.path_of(f)).collect();
            (old, files)
        }
        None if !old.is_empty() || !new.is_empty() => {
            if old.is_empty() || new.is_empty() || !files.is_empty() {
                return Err(usage.into());
            }
            (old, new)
        }
        None => match <[PathBuf; 2]>::try_from(files) {
            Ok([o, n]) => (vec![o], vec![n]),
            Err(_) => return Err(usage.into()),
        },
    };
    let load = |files: &[PathBuf], side: &str| -> Result<chanspec::ir::Spec, String> {
        if files.is_empty() {
            return Ok(chanspec::ir::Spec::default());
        }
        let checked = chanspec::check_files(files);
        if checked.has_errors() {
            let diags: Vec<_> = checked.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
            let text = report::render(&diags, &checked.workspace.sources, Format::Human, false);
            return Err(format!("{text}error: the {side} definitions do not check; nothing was compared"));
        }
        chanspec::lower::lower(&checked)
            .map_err(|d| format!("error: the {side} definitions could not be lowered: {d:?}"))
    };
    let (old_spec, new_spec) = (load(&old, "old")?, load(&new, "new")?);
    let findings = chanspec::diff::diff(&old_spec, &new_spec, mode, categories);
    let human = matches!(format, chanspec::diff::report::Format::Human);
    let file = new.first().map(|p| p.display().to_string());
    print!("{}", chanspec::diff::report::render(&findings, format, file.as_deref()));
    if human {
        println!("{}", chanspec::diff::report::summary(&findings));
    }
    Ok(findings.iter().any(|f| !f.allowed))
}
