//! Publish throughput with and without the schema check every typed publish makes:
//! `publish-bench checked|unchecked [COUNT]` publishes COUNT of the pipeline example's
//! payloads (a status per step, three tokens per status) through `MemoryPublisher` and
//! prints publishes per second. Compare the two modes as whole processes, runs alternating
//! (BENCHMARKS.md).

use chanspec_runtime::{MemoryPublisher, Publish};

#[allow(dead_code)]
mod channels {
    include!(concat!(env!("OUT_DIR"), "/chanspec.rs"));
}

use channels::{PipelineStatus, PipelineStatusState, Token};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let checked = match args.next().as_deref() {
        Some("checked") => true,
        Some("unchecked") => false,
        _ => return Err("usage: publish-bench checked|unchecked [COUNT]".into()),
    };
    let count: usize = args.next().map_or(Ok(200_000), |n| n.parse())?;
    let publisher = MemoryPublisher::new();
    let pipeline = channels::pipeline("6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6")?;
    let (status, tokens) = (pipeline.status(), pipeline.tokens());
    let start = std::time::Instant::now();
    for i in 0..count {
        if i % 4 == 0 {
            let payload = PipelineStatus {
                step: format!("step {i}"),
                state: PipelineStatusState::Running,
                message: Some("compiling the workspace".into()),
            };
            if checked {
                publisher.publish(&status, &payload).await?;
            } else {
                publisher.publish_unchecked(&status, &payload).await?;
            }
        } else {
            let payload = Token { token: format!("token{i}") };
            if checked {
                publisher.publish(&tokens, &payload).await?;
            } else {
                publisher.publish_unchecked(&tokens, &payload).await?;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} publishes/s ({count} in {seconds:.3} s, {})",
        (count as f64 / seconds) as u64,
        if checked { "checked" } else { "unchecked" }
    );
    Ok(())
}
