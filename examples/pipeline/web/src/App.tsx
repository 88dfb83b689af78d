import { useEffect, useMemo, useRef, useState } from "react";
import { useRealtime } from "@chanspec/client/react";
import { type PipelineStatus, pipeline } from "./channels";

/** The hub is mounted by the same server that serves this page. */
const HUB_URL = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/v1/ws`;

/** The step name of the run's overall status. */
const RUN_STEP = "run";

type State = PipelineStatus["state"];

/** What the server stores about a run (`GET /api/runs/{runId}`, `POST /api/runs`). */
interface RunInfo {
  runId: string;
  started: boolean;
  steps: string[];
  currentStep: string | null;
  finished: boolean;
  tokens: number;
}

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, init);
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${path}: HTTP ${response.status}`);
  return body as T;
}

/** The token factory: called by the client on every connect, reconnect and refresh. */
async function fetchToken(runId: string): Promise<string> {
  const { token } = await api<{ token: string }>(`/api/realtime-token?runId=${encodeURIComponent(runId)}`);
  return token;
}

function runFromHash(): string | undefined {
  return new URLSearchParams(location.hash.slice(1)).get("run") ?? undefined;
}

export function App() {
  const [runId, setRunId] = useState<string | undefined>(runFromHash);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string>();

  const start = async (fail?: string) => {
    setStarting(true);
    setStartError(undefined);
    try {
      // Create the run; <Run> starts it once its subscription is open, so nothing is missed.
      const run = await api<RunInfo>(fail ? `/api/runs?fail=${fail}` : "/api/runs", { method: "POST" });
      location.hash = `run=${run.runId}`;
      setRunId(run.runId);
    } catch (e) {
      setStartError(e instanceof Error ? e.message : String(e));
    } finally {
      setStarting(false);
    }
  };

  return (
    <main>
      <header>
        <h1>Pipeline</h1>
        <p className="subtitle">
          A simulated CI run streamed over a typed chanspec channel (<code>{pipeline.template}</code>).
        </p>
        <button type="button" data-testid="start-run" onClick={() => start()} disabled={starting}>
          {starting ? "Starting…" : "Start run"}
        </button>{" "}
        <button type="button" data-testid="start-failing-run" onClick={() => start("test")} disabled={starting}>
          Start a run that fails
        </button>
        {startError && <p className="error">Could not start a run: {startError}</p>}
      </header>
      {runId ? <Run key={runId} runId={runId} /> : <p className="hint">Start a run to watch its progress live.</p>}
    </main>
  );
}

const RANK: Record<State, number> = { queued: 0, running: 1, succeeded: 2, failed: 2 };

function Run({ runId }: { runId: string }) {
  const { connectionStatus, runStatus, result, runError, messages, recovered, error } = useRealtime({
    url: HUB_URL,
    channel: pipeline,
    params: { runId },
    topics: ["status", "tokens"],
    token: () => fetchToken(runId), // a new function each render: no reconnect
    historyLimit: 2000,
    backoff: { initialMs: 250, maxMs: 2000 },
  });

  // Start the run once the subscription is live (again after a reload: the server ignores it).
  const [startError, setStartError] = useState<string>();
  const startRequested = useRef(false);
  useEffect(() => {
    if (connectionStatus !== "open" || startRequested.current) return;
    startRequested.current = true;
    api<RunInfo>(`/api/runs/${runId}/start`, { method: "POST" }).catch((e: unknown) =>
      setStartError(e instanceof Error ? e.message : String(e)),
    );
  }, [connectionStatus, runId]);

  // The stream shows what happens from now on. The run's stored state fills in what it cannot:
  // what happened before this page subscribed (a reload), and what a gap lost. Remember where
  // in the log the gap is.
  const [snapshot, setSnapshot] = useState<RunInfo>();
  const tokenList = messages.listByTopic.tokens;
  const gapAt = useRef<number | undefined>(undefined);
  if (recovered === false && gapAt.current === undefined) gapAt.current = tokenList.length;
  useEffect(() => {
    let live = true;
    api<RunInfo>(`/api/runs/${runId}`).then(
      (run) => live && setSnapshot(run),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [recovered, runId]);

  // The latest state per step, in order of first appearance; after a gap, the server's
  // snapshot fills in what the stream missed (progress only moves forward).
  const steps = useMemo(() => {
    const byStep = new Map<string, PipelineStatus>();
    if (snapshot?.started) {
      const current = snapshot.currentStep ? snapshot.steps.indexOf(snapshot.currentStep) : snapshot.steps.length;
      snapshot.steps.forEach((step, i) =>
        byStep.set(step, { step, state: i < current ? "succeeded" : i === current ? "running" : "queued" }),
      );
      if (snapshot.finished) byStep.set(RUN_STEP, { step: RUN_STEP, state: "succeeded", message: "finished" });
    }
    for (const { data } of messages.listByTopic.status) {
      const known = byStep.get(data.step);
      if (!known || RANK[data.state] >= RANK[known.state]) byStep.set(data.step, data);
    }
    return byStep;
  }, [messages.listByTopic.status, snapshot]);

  const run = steps.get(RUN_STEP);
  const lastOffset = messages.all.length > 0 ? messages.all[messages.all.length - 1]?.offset : undefined;
  const at = gapAt.current;
  const before = tokenList.slice(0, at ?? tokenList.length).map((m) => m.data.token).join("");
  const after = at === undefined ? "" : tokenList.slice(at).map((m) => m.data.token).join("");

  return (
    <section className="run">
      <div className="bar">
        <span>
          Run <code data-testid="run-id">{runId}</code>
        </span>
        <span className={`badge conn-${connectionStatus}`} data-testid="connection-status" data-status={connectionStatus}>
          {connectionStatus}
        </span>
        <span className={`badge state-${run?.state ?? "queued"}`} data-testid="run-status" data-state={run?.state ?? "queued"}>
          {run ? `${run.state}${run.message ? `: ${run.message}` : ""}` : "waiting"}
        </span>
        {lastOffset !== undefined && <span className="muted">offset {lastOffset}</span>}
      </div>
      {/* The quick start of the realtime hook this one replaces, as it is written there. */}
      <p data-testid="quickstart">
        Connection: {connectionStatus} | Run: <span data-testid="run-lifecycle" data-run-status={runStatus}>{runStatus}</span>
      </p>
      {messages.byTopic.status && <p data-testid="latest-status">Status: {messages.byTopic.status.data.message}</p>}
      {result && (
        <p className="notice done" data-testid="run-result">
          Completed: {result.summary} ({result.steps} steps, {result.tokens} tokens)
        </p>
      )}
      {runError && (
        <p className="error" data-testid="run-error">
          Failed at <code>{runError.step}</code>: {runError.message}
        </p>
      )}
      {startError && <p className="error">Could not start the run: {startError}</p>}
      {error && connectionStatus !== "open" && (
        <p className="error" data-testid="connection-error">
          {connectionStatus === "connecting" ? "Reconnecting after: " : ""}
          {error.code}: {error.message}
        </p>
      )}
      {recovered === false && (
        <div className="notice" role="alert" data-testid="gap-notice">
          <strong>Some updates were missed.</strong> The connection was lost and the server could not replay what
          happened meanwhile (it restarted, and its history went with it). The log below has a gap; the step
          states were refreshed from the server.
        </div>
      )}
      {recovered === true && (
        <p className="muted" data-testid="resumed">
          Reconnected and resumed: nothing was missed.
        </p>
      )}
      <ol className="steps">
        {[...steps.values()]
          .filter((s) => s.step !== RUN_STEP)
          .map((s) => (
            <li key={s.step} data-testid={`step-${s.step}`} data-state={s.state} className={`state-${s.state}`}>
              <span className="step-name">{s.step}</span>
              <span className="step-state">{s.state}</span>
              {s.message && <span className="muted">{s.message}</span>}
            </li>
          ))}
      </ol>
      <h2>
        Log <span className="muted" data-testid="token-count">{tokenList.length} tokens</span>
      </h2>
      <pre className="log" data-testid="log">
        {before}
        {at !== undefined && (
          <span className="gap" data-testid="log-gap">
            {" ⋯ missed while disconnected ⋯ "}
          </span>
        )}
        {after}
      </pre>
    </section>
  );
}
