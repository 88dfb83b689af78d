// The client against a module the real generator wrote: the example app's committed
// examples/pipeline/web/src/channels.ts (kept current by a test of example-pipeline), imported through the
// package's own name and exports (so the build in dist/ and its declarations are what is tested).
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import { type Message, subscribe } from "@chanspec/client";
import { useRealtime } from "@chanspec/client/react";
import { FakeSocket } from "./fake-socket.js";
import { type AnnouncementsPosted, type PipelineStatus, type Token, announcements, pipeline } from "../../../examples/pipeline/web/src/channels.js";

const URL = "ws://hub.test/v1/ws";
const runId = "0b5f3f4e-8a5d-4c4e-9a53-2f0f5c1b7d11";

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("generated descriptors", () => {
  it("type the messages of a generated channel", async () => {
    const got: Message<typeof pipeline, "status" | "tokens">[] = [];
    const invalid: unknown[] = [];
    const statuses: [string, string | undefined][] = [];
    const sub = subscribe({
      url: URL,
      channel: pipeline,
      params: { runId },
      token: "t",
      WebSocket: FakeSocket,
      onMessage: (m) => {
        if (m.kind === "message") got.push(m);
        else statuses.push([m.status, m.result?.summary]);
      },
      onInvalid: (m) => invalid.push(m.data),
    });
    expect(sub.channelName).toBe(`pipeline:${runId}`);
    await vi.advanceTimersByTimeAsync(0);
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ channel: `pipeline:${runId}` });
    ws.message(1, "status", { step: "build", state: "running" }, `pipeline:${runId}`);
    ws.message(2, "status", { step: "build", state: "exploded" }, `pipeline:${runId}`); // not in the enum
    ws.message(3, "tokens", { token: "hi" }, `pipeline:${runId}`);
    ws.message(4, "tokens", { token: "hi", extra: 1 }, `pipeline:${runId}`);
    expect(got.map((m) => m.offset)).toEqual([1, 3]); // Token's schema allows no other property
    // The lifecycle: the result is checked by the generated guard of RunSummary.
    ws.status(5, "completed", { result: { steps: 3, tokens: 10 } }, `pipeline:${runId}`); // no summary
    ws.status(6, "completed", { result: { steps: 3, tokens: 10, summary: "ok" } }, `pipeline:${runId}`);
    expect(statuses).toEqual([["completed", "ok"]]);
    expect(sub.runStatus).toBe("completed");
    expect(invalid).toContainEqual({ step: "build", state: "exploded" });
    expect(invalid).toContainEqual({ token: "hi", extra: 1 });
    for (const m of got) {
      if (m.topic === "status") expectTypeOf(m.data).toEqualTypeOf<PipelineStatus>();
      else expectTypeOf(m.data).toEqualTypeOf<Token>();
    }
    sub.close();
  });

  it("a refused message says where and why", async () => {
    const errors: string[] = [];
    const sub = subscribe({
      url: URL,
      channel: pipeline,
      params: { runId },
      token: "t",
      WebSocket: FakeSocket,
      onInvalid: (m) => errors.push(m.error.message),
    });
    await vi.advanceTimersByTimeAsync(0);
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ channel: `pipeline:${runId}` });
    ws.message(1, "status", { step: "build", state: "exploded" }, `pipeline:${runId}`);
    ws.message(2, "tokens", { token: "" }, `pipeline:${runId}`);
    ws.message(3, "tokens", { token: "hi", extra: 1 }, `pipeline:${runId}`);
    ws.message(4, "status", { state: "running" }, `pipeline:${runId}`);
    expect(errors).toEqual([
      'message 1 on topic status does not match its type: /state: "exploded" is not one of ["queued","running","succeeded","failed"]',
      "message 2 on topic tokens does not match its type: /token: has 0 characters, fewer than the minLength of 1",
      "message 3 on topic tokens does not match its type: /extra: property `extra` is not allowed (additionalProperties is false)",
      "message 4 on topic status does not match its type: /: missing required property `step`",
    ]);
    sub.close();
  });

  it("generated param checks run before connecting", () => {
    expect(() => subscribe({ url: URL, channel: pipeline, params: { runId: "not-a-uuid" }, token: "t", WebSocket: FakeSocket })).toThrow(
      RangeError,
    );
    expect(FakeSocket.instances).toHaveLength(0);
  });

  it("static generated channels and the hook's types", () => {
    const sub = subscribe({ url: URL, channel: announcements, token: "t", WebSocket: FakeSocket });
    expect(sub.channelName).toBe("announcements");
    sub.close();
    type R = ReturnType<typeof useRealtime<typeof announcements>>;
    expectTypeOf<R["messages"]["listByTopic"]["posted"][number]["data"]>().toEqualTypeOf<AnnouncementsPosted>();
    expect(() =>
      // @ts-expect-error: pipeline has no topic "posted"
      subscribe({ url: URL, channel: pipeline, params: { runId }, topics: ["posted"], token: "t", WebSocket: FakeSocket }),
    ).toThrow(/no topic "posted"/);
  });
});
