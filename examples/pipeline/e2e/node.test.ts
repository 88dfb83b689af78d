// Node end to end: the real Rust server (hub embedded, publishing through its generated
// bindings) and the TypeScript client over `ws`, through a TCP proxy the test severs
// mid-stream. The client must resume with every message once, in order.
import { type RecoveryEvent, type StatusEvent, subscribe } from "@chanspec/client";
import { afterAll, beforeAll, describe, expect, expectTypeOf, test } from "vitest";
import { WebSocket } from "ws";
import { type PipelineStatus, type RunSummary, type Token, pipeline } from "../web/src/channels.js";
import { Proxy, Server, createRun, freePort, requestToken, startRun, tempDir } from "./harness.js";

let server: Server;
let proxy: Proxy;

beforeAll(async () => {
  server = await Server.start({ port: await freePort(), dataDir: tempDir("pipeline-node-e2e-"), tokenDelayMs: 20 });
  proxy = await Proxy.start(server.options.port);
});

afterAll(async () => {
  await proxy?.close();
  await server?.kill("SIGTERM");
});

describe("the TypeScript client against the real Rust hub", () => {
  test("typed messages arrive; after two cuts mid-stream the client resumes with nothing lost or duplicated", async () => {
    const { run, cookie } = await createRun(server.url);
    let tokenCalls = 0;
    const token = async () => {
      tokenCalls++;
      const response = await requestToken(server.url, run.runId, cookie);
      expect(response.status).toBe(200);
      return ((await response.json()) as { token: string }).token;
    };
    const statusEvents: StatusEvent[] = [];
    const recoveries: RecoveryEvent[] = [];
    const invalid: unknown[] = [];
    const sub = subscribe({
      url: `ws://127.0.0.1:${proxy.port}/v1/ws`,
      channel: pipeline,
      params: { runId: run.runId },
      topics: ["status", "tokens"],
      token,
      WebSocket,
      backoff: { initialMs: 50, maxMs: 500 },
      onStatus: (e) => {
        statusEvents.push(e);
        // Subscribed: now the run may start (as the page does), so the client sees all of it.
        if (e.status === "open" && statusEvents.filter((s) => s.status === "open").length === 1) {
          void startRun(server.url, run.runId, cookie);
        }
      },
      onRecovered: (e) => recoveries.push(e),
      onInvalid: (m) => invalid.push(m),
    });

    const offsets: number[] = [];
    const statuses: PipelineStatus[] = [];
    const tokens: Token[] = [];
    const cutAt: number[] = [];
    const cutAfter = [8, 30];
    const lifecycle: string[] = [];
    let result: RunSummary | undefined;
    for await (const m of sub) {
      if (m.kind === "status") {
        // The run's lifecycle: told on subscribing, then its end, typed by its schema.
        lifecycle.push(m.status);
        if (m.status === "completed") {
          expectTypeOf(m.result).toEqualTypeOf<RunSummary | undefined>();
          result = m.result;
          break;
        }
        continue;
      }
      offsets.push(m.offset);
      expect(typeof m.publishedAt).toBe("string");
      if (m.topic === "status") {
        expectTypeOf(m.data).toEqualTypeOf<PipelineStatus>();
        statuses.push(m.data);
      } else {
        expectTypeOf(m.data).toEqualTypeOf<Token>();
        tokens.push(m.data);
      }
      // Sever the live socket twice while the run is still publishing: once early, once mid-log.
      const next = cutAfter[cutAt.length];
      if (next !== undefined && offsets.length >= next && sub.status === "open" && proxy.open > 0) {
        proxy.cut();
        cutAt.push(m.offset);
      }
    }
    expect(sub.status).toBe("closed");
    expect(lifecycle[0]).toBe("pending");
    expect(lifecycle.at(-1)).toBe("completed");
    expect(result).toEqual({ steps: run.steps.length, tokens: run.tokens, summary: `all ${run.steps.length} steps passed` });

    // Both cuts hit a live connection, and both resumes recovered.
    expect(cutAt).toHaveLength(2);
    expect(statusEvents.filter((e) => e.status === "reconnecting")).toHaveLength(2);
    expect(recoveries.map((r) => r.recovered)).toEqual([true, true]);
    // (The client may have read a little past the message being handled when the cut came.)
    expect(recoveries[0]?.since?.offset).toBeGreaterThanOrEqual(cutAt[0]!);
    expect(recoveries[1]?.since?.offset).toBeGreaterThanOrEqual(cutAt[1]!);
    expect(tokenCalls).toBeGreaterThanOrEqual(3);
    expect(invalid).toEqual([]);

    // Every message exactly once, in order: offsets 1..N without a gap or a repeat.
    const expected = 1 + run.steps.length + 2 * run.steps.length + run.tokens + 1;
    expect(offsets).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
    expect(tokens).toHaveLength(run.tokens);
    expect(tokens.map((t) => t.token).join("")).toContain("successfully rolled out");

    // Every step went queued → running → succeeded, and the run finished.
    for (const step of run.steps) {
      expect(statuses.filter((s) => s.step === step).map((s) => s.state)).toEqual(["queued", "running", "succeeded"]);
    }
    expect(statuses.at(-1)).toEqual({ step: "run", state: "succeeded", message: "all 4 steps passed" });
  });

  test("tokens are minted only for the session that started the run", async () => {
    const { run, cookie } = await createRun(server.url);
    const other = await createRun(server.url);
    expect(other.cookie).not.toBe(cookie);
    expect((await requestToken(server.url, run.runId, cookie)).status).toBe(200);
    expect((await requestToken(server.url, run.runId)).status).toBe(401);
    expect((await requestToken(server.url, run.runId, other.cookie)).status).toBe(403);
    expect((await requestToken(server.url, "6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6", cookie)).status).toBe(404);
    expect((await requestToken(server.url, "not-a-run", cookie)).status).toBe(400);
    // Only the owner may start it.
    const foreignStart = await fetch(`${server.url}/api/runs/${run.runId}/start`, { method: "POST", headers: { cookie: other.cookie } });
    expect(foreignStart.status).toBe(403);
    // The token names this run's channel only: the hub refuses it for another run's.
    const response = await requestToken(server.url, run.runId, cookie);
    const { token } = (await response.json()) as { token: string };
    const sub = subscribe({
      url: `${server.url.replace("http", "ws")}/v1/ws`,
      channel: pipeline,
      params: { runId: other.run.runId },
      token,
      WebSocket,
    });
    await expect(sub[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "wrong_channel" });
  });
});
