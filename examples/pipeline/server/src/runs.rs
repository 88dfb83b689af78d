//! Runs: who started them, how far they got (stored in `runs.json`, so a restarted server
//! knows its runs and finishes the unfinished ones), and the simulated pipeline that publishes
//! their progress through the generated bindings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chanspec_runtime::Publish;
use chanspec_runtime::hub::Hub;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::channels::{self, PipelineStatus, PipelineStatusState, RunError, RunSummary, Token};

/// The simulated pipeline: each step's name and the log (one line) it streams, token by token.
pub const STEPS: [(&str, &str); 4] = [
    ("checkout", "Cloning into 'shop'... Receiving objects: 100% (1284/1284), done. HEAD is now at 4f2c1e9.\n"),
    ("build", "Compiling shop v0.3.0 (/work/shop) ... Finished `release` profile [optimized] target(s) in 41.7s\n"),
    ("test", "running 128 tests ... test result: ok. 128 passed; 0 failed; 0 ignored; finished in 3.02s\n"),
    ("deploy", "Uploading shop-0.3.0.tar.gz ... rolling out 3 replicas ... \"shop\" successfully rolled out\n"),
];

/// The step name of the run's overall status (the first and the last status of a run).
pub const RUN_STEP: &str = "run";

/// A step's log as the tokens it is streamed in: words, each with its trailing space.
pub fn tokens(log: &str) -> impl Iterator<Item = &str> {
    log.split_inclusive(' ')
}

/// How many tokens a whole run streams.
pub fn token_count() -> usize {
    STEPS.iter().map(|(_, log)| tokens(log).count()).sum()
}

/// One run as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    owner: String,
    /// Started by `POST /api/runs/{runId}/start` (the page starts it once it is subscribed).
    started: bool,
    /// The step being run (`STEPS.len()` when finished).
    step: usize,
    finished: bool,
    /// A step to fail at, on purpose (`POST /api/runs?fail=test`): the run ends `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fail_at: Option<String>,
}

/// What `POST /api/runs` and `GET /api/runs/{runId}` answer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    run_id: String,
    channel: String,
    started: bool,
    steps: Vec<&'static str>,
    /// The step being run, or `None` once finished.
    current_step: Option<&'static str>,
    finished: bool,
    /// How many tokens a whole run streams.
    tokens: usize,
}

/// Every run, shared by the handlers and the simulations.
#[derive(Clone)]
pub struct Runs {
    runs: Arc<Mutex<BTreeMap<String, Run>>>,
    file: PathBuf,
    hub: Hub,
    delay: Duration,
}

impl Runs {
    /// Loads the runs stored in `dir` (none on a first start).
    pub fn open(dir: &Path, hub: Hub, delay: Duration) -> Result<Runs, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let file = dir.join("runs.json");
        let runs = match std::fs::read_to_string(&file) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        };
        Ok(Runs { runs: Arc::new(Mutex::new(runs)), file, hub, delay })
    }

    /// Writes the runs (whole file, replaced atomically); called with the lock held.
    fn save(&self, runs: &BTreeMap<String, Run>) {
        let tmp = self.file.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(runs).expect("runs serialize");
        if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &self.file)) {
            eprintln!("cannot store runs in {}: {e}", self.file.display());
        }
    }

    /// Creates a run for `owner` (not started yet; failing at the step `fail_at`, when it is
    /// one) and returns what the client needs to follow it.
    pub async fn create(&self, owner: &str, fail_at: Option<String>) -> RunView {
        let id = uuid_v4();
        let fail_at = fail_at.filter(|f| STEPS.iter().any(|(s, _)| s == f));
        let run = Run { owner: owner.to_string(), started: false, step: 0, finished: false, fail_at };
        let mut runs = self.runs.lock().await;
        runs.insert(id.clone(), run.clone());
        self.save(&runs);
        view(&id, &run)
    }

    /// Starts a run's pipeline; a run already started goes on undisturbed.
    pub async fn start(&self, id: &str) -> Option<RunView> {
        let mut runs = self.runs.lock().await;
        let run = runs.get_mut(id)?;
        if !run.started {
            run.started = true;
            self.spawn(id.to_string(), 0);
        }
        let view = view(id, run);
        self.save(&runs);
        Some(view)
    }

    pub async fn owner(&self, id: &str) -> Option<String> {
        self.runs.lock().await.get(id).map(|r| r.owner.clone())
    }

    pub async fn view(&self, id: &str) -> Option<RunView> {
        self.runs.lock().await.get(id).map(|r| view(id, r))
    }

    /// After a restart: every run that had not finished goes on from the step it was in.
    pub async fn resume_unfinished(&self) {
        let unfinished: Vec<(String, usize)> = self
            .runs
            .lock()
            .await
            .iter()
            .filter(|(_, r)| r.started && !r.finished)
            .map(|(id, r)| (id.clone(), r.step))
            .collect();
        for (id, step) in unfinished {
            println!("resuming run {id} at step {}", STEPS.get(step).map_or(RUN_STEP, |s| s.0));
            self.spawn(id, step);
        }
    }

    fn spawn(&self, id: String, from: usize) {
        let runs = self.clone();
        tokio::spawn(async move {
            if let Err(e) = runs.simulate(&id, from).await {
                eprintln!("run {id} stopped: {e}");
            }
        });
    }

    async fn record(&self, id: &str, step: usize, finished: bool) {
        let mut runs = self.runs.lock().await;
        if let Some(run) = runs.get_mut(id) {
            run.step = step;
            run.finished = finished;
            self.save(&runs);
        }
    }

    /// The simulated pipeline, published through the generated bindings: the run's status,
    /// every step queued, then per step `running`, its log token by token, `succeeded`; the
    /// run's final status, then its end (`complete` with a typed summary), both published
    /// durably (a retry with its key is delivered once). A run told to fail at a step ends
    /// there with `fail` and a typed error.
    async fn simulate(&self, id: &str, from: usize) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let pipeline = channels::pipeline(id)?;
        let fail_at = self.runs.lock().await.get(id).and_then(|r| r.fail_at.clone());
        let status = |step: &str, state, message: Option<String>| PipelineStatus { step: step.into(), state, message };
        let hub = &self.hub;
        if from == 0 {
            hub.publish(&pipeline.status(), &status(RUN_STEP, PipelineStatusState::Running, Some("started".into())))
                .await?;
            for (step, _) in STEPS {
                hub.publish(&pipeline.status(), &status(step, PipelineStatusState::Queued, None)).await?;
            }
        } else {
            let message = Some("resumed after a server restart".to_string());
            hub.publish(&pipeline.status(), &status(RUN_STEP, PipelineStatusState::Running, message)).await?;
        }
        for (i, (step, log)) in STEPS.iter().enumerate().skip(from) {
            self.record(id, i, false).await;
            hub.publish(&pipeline.status(), &status(step, PipelineStatusState::Running, None)).await?;
            for token in tokens(log) {
                tokio::time::sleep(self.delay).await;
                hub.publish(&pipeline.tokens(), &Token { token: token.into() }).await?;
            }
            tokio::time::sleep(self.delay * 2).await;
            if fail_at.as_deref() == Some(*step) {
                let message = format!("{step} failed: 2 of 128 tests failed");
                hub.publish(&pipeline.status(), &status(step, PipelineStatusState::Failed, Some(message.clone())))
                    .await?;
                let failed = status(RUN_STEP, PipelineStatusState::Failed, Some(message.clone()));
                hub.publish_durable(&format!("{id}:final"), &pipeline.status(), &failed).await?;
                let error = RunError { step: step.to_string(), message };
                hub.fail_durable(&format!("{id}:end"), &pipeline, &error).await?;
                self.record(id, STEPS.len(), true).await;
                return Ok(());
            }
            let message = Some(format!("{step} done"));
            hub.publish(&pipeline.status(), &status(step, PipelineStatusState::Succeeded, message)).await?;
        }
        let summary = format!("all {} steps passed", STEPS.len());
        let done = status(RUN_STEP, PipelineStatusState::Succeeded, Some(summary.clone()));
        hub.publish_durable(&format!("{id}:final"), &pipeline.status(), &done).await?;
        let result = RunSummary::new(STEPS.len() as i64, token_count() as i64, summary);
        hub.complete_durable(&format!("{id}:end"), &pipeline, &result).await?;
        self.record(id, STEPS.len(), true).await;
        Ok(())
    }
}

fn view(id: &str, run: &Run) -> RunView {
    RunView {
        run_id: id.to_string(),
        channel: format!("pipeline:{id}"),
        started: run.started,
        steps: STEPS.iter().map(|(s, _)| *s).collect(),
        current_step: if run.finished { None } else { STEPS.get(run.step).map(|s| s.0) },
        finished: run.finished,
        tokens: token_count(),
    }
}

/// A random (version 4) UUID.
pub fn uuid_v4() -> String {
    let n = rand::random::<u128>() & !(0xf000 << 64) & !(0xc << 60) | (0x4000 << 64) | (0x8 << 60);
    let h = format!("{n:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_uuids_the_channel_accepts() {
        for _ in 0..100 {
            let id = uuid_v4();
            assert_eq!(&id[14..15], "4", "{id}");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
            channels::pipeline(&id).unwrap();
        }
    }

    #[test]
    fn tokens_rebuild_the_log() {
        for (_, log) in STEPS {
            assert_eq!(tokens(log).collect::<String>(), log);
        }
        assert!(token_count() > 40);
    }
}
