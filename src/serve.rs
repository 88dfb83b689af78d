//! `chanspec serve` and `chanspec token`: the hub of `chanspec-runtime`, standalone, with
//! the definitions read from files; subscribe tokens minted from the command line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chanspec_runtime::broker::BrokerConfig;
use chanspec_runtime::broker::redis::{RedisBroker, RedisTarget};
use chanspec_runtime::hub::{Hub, HubConfig};
use chanspec_runtime::token::TokenIssuer;

/// What `chanspec serve` needs.
pub struct ServeOptions {
    pub files: Vec<PathBuf>,
    pub listen: String,
    pub secret_env: String,
    pub publish_key_env: String,
    pub previous_secret_env: Option<String>,
    pub redis: Option<String>,
    pub max_message_bytes: usize,
    pub history: usize,
    pub history_age: Duration,
    /// History across every channel, in bytes (memory broker).
    pub history_bytes: usize,
    /// Bytes queued per connection before it is cut as a slow consumer.
    pub queue_bytes: usize,
    /// How long an idempotency key is remembered.
    pub dedup_window: Duration,
    /// Time for a publish body to arrive (`--body-timeout`).
    pub body_timeout: Duration,
    /// The longest a subscribe token may stay valid (`--max-token-ttl`).
    pub max_token_ttl: Duration,
    /// Request-head timeout and connection limits.
    pub connections: chanspec_runtime::hub::server::ConnectionLimits,
}

/// A required environment variable; the error names it.
pub fn env(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("error: the environment variable `{name}` is not set (or empty)")),
    }
}

/// Run the hub until Ctrl-C (or SIGTERM).
pub fn serve(options: ServeOptions) -> Result<(), String> {
    let definitions = crate::definitions::from_files(&options.files)?;
    let secret = env(&options.secret_env)?;
    let publish_key = env(&options.publish_key_env)?;
    let previous = options.previous_secret_env.as_deref().map(env).transpose()?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("error: cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let broker_config = BrokerConfig {
            history_count: options.history,
            history_age: options.history_age,
            history_bytes: options.history_bytes,
            dedup_window: options.dedup_window,
        };
        let config = HubConfig {
            max_message_bytes: options.max_message_bytes,
            max_token_ttl: options.max_token_ttl,
            queue_bytes: options.queue_bytes,
            body_timeout: options.body_timeout,
            connections: options.connections.clone(),
            broker: broker_config.clone(),
            ..HubConfig::default()
        };
        let channels = definitions.channels.len();
        let mut builder = Hub::builder(definitions).secret(&secret).publish_key(publish_key).config(config);
        if let Some(previous) = &previous {
            builder = builder.previous_secret(previous);
        }
        if let Some(url) = &options.redis {
            let broker = RedisBroker::connect(url, broker_config)
                .await
                .map_err(|e| format!("error: cannot connect to Redis at {url}: {e}"))?;
            builder = builder.broker(Arc::new(broker));
        }
        let hub = builder.build().map_err(|e| format!("error: {e}"))?;
        let listener = tokio::net::TcpListener::bind(&options.listen)
            .await
            .map_err(|e| format!("error: cannot listen on {}: {e}", options.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let broker = match options.redis.as_deref().map(RedisTarget::parse) {
            Some(Ok(RedisTarget::Cluster(_))) => "Redis Cluster",
            Some(_) => "Redis",
            None => "memory",
        };
        eprintln!("chanspec hub: {channels} channel(s), {broker} broker, listening on http://{addr}");
        hub.serve(listener, shutdown_signal()).await.map_err(|e| format!("error: {e}"))
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// What `chanspec token` needs.
pub struct TokenOptions<'a> {
    pub secret_env: &'a str,
    pub channel: &'a str,
    pub topics: &'a str,
    pub ttl: &'a str,
    /// The longest lifetime accepted (`--max-ttl`).
    pub max_ttl: &'a str,
    /// Definition files to check the channel and topics against (`--definitions`).
    pub definitions: &'a [PathBuf],
}

/// `chanspec token`: the token alone. Refuses a lifetime that is not positive or is over the
/// maximum, and, given definitions, a channel no template produces and topics it lacks.
pub fn token(o: &TokenOptions<'_>) -> Result<String, String> {
    let ttl = chanspec_runtime::token::parse_ttl(o.ttl).map_err(|e| format!("error: --ttl {e}"))?;
    let max = chanspec_runtime::token::parse_ttl(o.max_ttl).map_err(|e| format!("error: --max-ttl {e}"))?;
    if ttl.is_zero() {
        return Err("error: --ttl must be positive: a token with no lifetime is expired when it is made".into());
    }
    if ttl > max {
        return Err(format!(
            "error: --ttl {} is longer than the maximum of {} (raise it with --max-ttl)",
            o.ttl, o.max_ttl
        ));
    }
    let topics: Vec<&str> = o.topics.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    if topics.is_empty() {
        return Err("error: --topics needs at least one topic".into());
    }
    if !o.definitions.is_empty() {
        let definitions = crate::definitions::from_files(o.definitions)?;
        check_token_scope(&definitions, o.channel, &topics)?;
    }
    let secret = env(o.secret_env)?;
    // A hub refuses a short secret, so a token signed with one would be refused too.
    chanspec_runtime::token::check_secret(secret.as_bytes(), "token secret").map_err(|e| format!("error: {e}"))?;
    Ok(TokenIssuer::new(secret.as_bytes()).mint(o.channel, &topics, ttl))
}

/// The channel must come from a template of the definitions, with acceptable params, and
/// every topic must be one of its topics; errors say what is close.
fn check_token_scope(
    definitions: &chanspec_runtime::Definitions,
    channel: &str,
    topics: &[&str],
) -> Result<(), String> {
    // " (did you mean …?)" when one of `names` is close to `word`.
    let close = |word: &str, names: &[&str], what: &str| {
        crate::diagnostic::did_you_mean(word, names.iter().copied())
            .map(|n| format!(" (did you mean {what}`{n}`?)"))
            .unwrap_or_default()
    };
    let Some(def) = definitions.find(channel) else {
        if let Some(why) = definitions.refusal(channel) {
            return Err(format!("error: --channel {why}"));
        }
        let templates: Vec<&str> = definitions.channels.iter().map(|c| c.template.as_str()).collect();
        return Err(format!(
            "error: --channel `{channel}` is not a name of any channel{}; the templates are: {}",
            close(channel, &templates, "a name of "),
            templates.join(", ")
        ));
    };
    let names: Vec<&str> = def.topics.iter().map(|t| t.name.as_str()).collect();
    if let Some(topic) = topics.iter().find(|t| def.topic(t).is_none()) {
        return Err(format!(
            "error: --topics: channel `{}` has no topic `{topic}`{}; its topics are: {}",
            def.id,
            close(topic, &names, ""),
            names.join(", ")
        ));
    }
    Ok(())
}
