//! `chanspec serve` and `chanspec token`: the hub of `chanspec-runtime`, standalone, with
//! the definitions read from files; subscribe tokens minted from the command line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chanspec_runtime::broker::BrokerConfig;
use chanspec_runtime::broker::redis::RedisBroker;
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
            ..BrokerConfig::default()
        };
        let config = HubConfig {
            max_message_bytes: options.max_message_bytes,
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
        let broker = if options.redis.is_some() { "redis" } else { "memory" };
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

/// `chanspec token`: the token alone.
pub fn token(secret_env: &str, channel: &str, topics: &str, ttl: &str) -> Result<String, String> {
    let secret = env(secret_env)?;
    let ttl = chanspec_runtime::token::parse_ttl(ttl).map_err(|e| format!("error: --ttl {e}"))?;
    let topics: Vec<&str> = topics.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    if topics.is_empty() {
        return Err("error: --topics needs at least one topic".into());
    }
    Ok(TokenIssuer::new(secret.as_bytes()).mint(channel, &topics, ttl))
}
