//! Publishes a simulated pipeline run through the in-memory publisher, then reads the
//! messages back as the channel's typed message enum.

use chanspec_runtime::{MemoryPublisher, Publish};

/// The bindings generated from `examples/pipeline/chanspec.yaml` by build.rs. A binary uses
/// only some of them; the rest would be dead code.
#[allow(dead_code)]
mod channels {
    include!(concat!(env!("OUT_DIR"), "/chanspec.rs"));
}

use channels::{PipelineMessage, PipelineStatus, PipelineStatusState, Token};

/// Publish one run: a status per step, a few tokens, and the final status durably.
pub async fn run<P: Publish + Sync>(publisher: &P, run_id: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let pipeline = channels::pipeline(run_id)?;
    for step in ["checkout", "build", "test"] {
        let status = PipelineStatus { step: step.into(), state: PipelineStatusState::Running, message: None };
        publisher.publish(&pipeline.status(), &status).await?;
        for word in ["compiling", step, "ok"] {
            publisher.publish(&pipeline.tokens(), &Token { token: word.into() }).await?;
        }
    }
    let done = PipelineStatus {
        step: "test".into(),
        state: PipelineStatusState::Succeeded,
        message: Some("all green".into()),
    };
    // A retried final status (same key) is delivered once.
    let key = format!("{run_id}:final");
    let offset = publisher.publish_durable(&key, &pipeline.status(), &done).await?;
    publisher.publish_durable(&key, &pipeline.status(), &done).await?;
    Ok(offset)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let publisher = MemoryPublisher::new();
    let run_id = "6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6";
    let last = run(&publisher, run_id).await?;
    let name = channels::pipeline(run_id)?.name().to_string();
    for message in publisher.decoded::<PipelineMessage>(&name) {
        match message? {
            PipelineMessage::Status(s) => println!("status  {:<9} {}", s.step, s.state),
            PipelineMessage::Tokens(t) => println!("token   {}", t.token),
        }
    }
    println!("published {last} messages on {name}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chanspec_runtime::ChannelMessage;

    #[tokio::test]
    async fn publishes_typed_messages_and_dedupes_the_durable_one() {
        let publisher = MemoryPublisher::new();
        let run_id = "6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6";
        let last = run(&publisher, run_id).await.unwrap();
        let messages = publisher.messages();
        // 3 statuses + 9 tokens + 1 final status; the retried durable publish added nothing.
        assert_eq!(messages.len(), 13);
        assert_eq!(last, 13);
        assert!(messages.iter().all(|(_, m)| m.channel == format!("pipeline:{run_id}")));
        let decoded: Vec<PipelineMessage> =
            publisher.decoded(&format!("pipeline:{run_id}")).into_iter().map(Result::unwrap).collect();
        assert_eq!(decoded.iter().filter(|m| m.topic() == "status").count(), 4);
        assert_eq!(messages[1].1.data, serde_json::json!({ "token": "compiling" }));
    }

    #[test]
    fn params_are_checked_and_bad_payloads_refused() {
        assert!(channels::pipeline("not-a-uuid").is_err());
        assert!(channels::pipeline("a:b").is_err());
        assert_eq!(channels::announcements().name(), "announcements");
        let bad = PipelineMessage::decode("status", serde_json::json!({ "step": "x", "state": "exploded" }));
        assert!(bad.is_err());
        assert!(PipelineMessage::decode("nope", serde_json::json!({})).is_err());
        assert_eq!(channels::PipelineChannel::TOPICS, ["status", "tokens"]);
    }
}
