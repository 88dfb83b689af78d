import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type ChanspecError,
  type InvalidMessage,
  type RecoveryEvent,
  type StatusEvent,
  type SubscribeOptions,
  subscribe,
} from "../src/index.js";
import { parseFrame } from "../src/protocol.js";
import { FakeSocket, fakeJwt } from "./fake-socket.js";
import { pipeline } from "./fixtures/pipeline.js";
import { announcements } from "./fixtures/announcements.js";

const URL = "ws://hub.test/v1/ws";
const status = (step: string, state = "running") => ({ step, state });

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000_000 });
  FakeSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs pending timers of zero delay and microtasks (the token await before a socket opens). */
const tick = () => vi.advanceTimersByTimeAsync(0);

function start(over: Partial<SubscribeOptions<typeof pipeline, "status" | "tokens">> = {}) {
  const events = { status: [] as StatusEvent[], recovered: [] as RecoveryEvent[], invalid: [] as InvalidMessage[], errors: [] as ChanspecError[] };
  const received: { topic: string; data: unknown; offset: number; publishedAt: string }[] = [];
  const sub = subscribe({
    url: URL,
    channel: pipeline,
    params: { runId: "7" },
    token: "tok",
    WebSocket: FakeSocket,
    backoff: { initialMs: 1000, maxMs: 8000, random: () => 0.5 },
    onStatus: (e) => events.status.push(e),
    onRecovered: (e) => events.recovered.push(e),
    onInvalid: (m) => events.invalid.push(m),
    onError: (e) => events.errors.push(e),
    onMessage: (m) => received.push(m),
    ...over,
  } as SubscribeOptions<typeof pipeline, "status" | "tokens">);
  return { sub, events, received };
}

describe("connecting", () => {
  it("offers the compact and batch subprotocols and splits a batched message into its frames", async () => {
    const { received } = start();
    await tick();
    const ws = FakeSocket.last();
    expect(ws.protocols).toEqual(["chanspec.v1.compact", "chanspec.v1.batch"]);
    ws.open();
    ws.subscribed();
    const { id } = ws.lastSubscribe();
    const frame = (offset: number) =>
      JSON.stringify({ type: "message", id, channel: "pipeline:7", topic: "tokens", offset, data: { token: `t${offset}` }, publishedAt: "x" });
    ws.receive([1, 2, 3].map(frame).join("\n"));
    expect(received.map((m) => m.offset)).toEqual([1, 2, 3]);
  });

  it("parses a compact message into the object frame, on the channel it is given", () => {
    expect(parseFrame('[3,"tokens",42,1767323045678,{"token":"x"}]', "pipeline:7")).toEqual({
      type: "message",
      id: 3,
      channel: "pipeline:7",
      topic: "tokens",
      offset: 42,
      data: { token: "x" },
      publishedAt: "2026-01-02T03:04:05.678Z",
    });
    expect(parseFrame('[3,"tokens",-1,0,{}]', "c")).toBeUndefined();
    expect(parseFrame('[3,"tokens",1,0]', "c")).toBeUndefined();
  });

  it("reads compact messages (arrays) beside object frames, and reports a malformed one", async () => {
    const { received, events } = start();
    await tick();
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed();
    const { id } = ws.lastSubscribe();
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const compact = (offset: number) => JSON.stringify([id, "tokens", offset, at, { token: `t${offset}` }]);
    ws.receive([compact(1), compact(2)].join("\n"));
    ws.receive(compact(3));
    expect(received.map((m) => [m.offset, m.topic, m.data, m.publishedAt])).toEqual([
      [1, "tokens", { token: "t1" }, "2026-01-02T03:04:05.678Z"],
      [2, "tokens", { token: "t2" }, "2026-01-02T03:04:05.678Z"],
      [3, "tokens", { token: "t3" }, "2026-01-02T03:04:05.678Z"],
    ]);
    const before = events.errors.length;
    ws.receive(JSON.stringify([id, "tokens", 4, "2026-01-02T03:04:05.678Z", { token: "t4" }]));
    ws.receive(JSON.stringify([id, "tokens", 5]));
    expect(received).toHaveLength(3);
    expect(events.errors.slice(before).map((e) => e.code)).toEqual(["invalid_frame", "invalid_frame"]);
  });

  it("subscribes with the token on open and iterates typed messages", async () => {
    const sub = subscribe({ url: URL, channel: pipeline, params: { runId: "7" }, topics: ["status"], token: "tok", WebSocket: FakeSocket });
    expect(sub.channelName).toBe("pipeline:7");
    expect(sub.status).toBe("connecting");
    await tick();
    const ws = FakeSocket.last();
    expect(ws.url).toBe(URL);
    ws.open();
    expect(ws.sent).toEqual([{ type: "subscribe", id: 1, token: "tok" }]);
    ws.subscribed({ offset: 41 });
    expect(sub.status).toBe("open");
    ws.message(42, "status", status("build"));
    ws.message(43, "tokens", { token: "x" }); // not chosen: dropped
    ws.message(44, "status", status("test", "succeeded"));
    const got: unknown[] = [];
    for await (const m of sub) {
      got.push({ topic: m.topic, step: m.data.step, offset: m.offset, publishedAt: m.publishedAt });
      if (got.length === 2) break; // break closes the subscription
    }
    expect(got).toEqual([
      { topic: "status", step: "build", offset: 42, publishedAt: "2026-01-02T03:04:05.678Z" },
      { topic: "status", step: "test", offset: 44, publishedAt: "2026-01-02T03:04:05.678Z" },
    ]);
    expect(sub.status).toBe("closed");
    expect(ws.frames("unsubscribe")).toEqual([{ type: "unsubscribe", id: 1 }]);
    expect(ws.closedWith?.code).toBe(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(1); // no reconnect after close
  });

  it("static channels need no params", async () => {
    const sub = subscribe({ url: URL, channel: announcements, token: "tok", WebSocket: FakeSocket });
    expect(sub.channelName).toBe("announcements");
    sub.close();
  });

  it("refuses unknown topics and bad params before connecting", () => {
    expect(() =>
      subscribe({ url: URL, channel: pipeline, params: { runId: "a:b" }, token: "t", WebSocket: FakeSocket }),
    ).toThrow(RangeError);
    expect(() =>
      // @ts-expect-error: not a topic of the channel
      subscribe({ url: URL, channel: pipeline, params: { runId: "7" }, topics: ["nope"], token: "t", WebSocket: FakeSocket }),
    ).toThrow(/no topic "nope"/);
    expect(FakeSocket.instances).toHaveLength(0);
  });

  it("calls the token factory on every connect and reconnect", async () => {
    let n = 0;
    const factory = vi.fn(async () => `tok-${++n}`);
    const { sub } = start({ token: factory });
    await tick();
    FakeSocket.last().open();
    expect(FakeSocket.last().lastSubscribe().token).toBe("tok-1");
    FakeSocket.last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(500); // random 0.5 of the 1000 ms cap
    FakeSocket.last().open();
    expect(FakeSocket.last().lastSubscribe().token).toBe("tok-2");
    expect(factory).toHaveBeenCalledTimes(2);
    sub.close();
  });

  it("a failing token factory is retried with backoff", async () => {
    let fail = true;
    const { sub, events } = start({ token: async () => { if (fail) throw new Error("503"); return "ok"; } });
    await tick();
    expect(FakeSocket.instances).toHaveLength(0);
    expect(events.status.at(-1)).toMatchObject({ status: "reconnecting", delayMs: 500 });
    expect(events.status.at(-1)?.error?.code).toBe("token");
    fail = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.instances).toHaveLength(1);
    sub.close();
  });
});

describe("reconnect and resume", () => {
  it("backs off exponentially with jitter, and resets after a successful subscribe", async () => {
    const { sub, events } = start();
    await tick();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      FakeSocket.last().serverClose(1006);
      const e = events.status.at(-1)!;
      expect(e.status).toBe("reconnecting");
      delays.push(e.delayMs!);
      const before = FakeSocket.instances.length;
      await vi.advanceTimersByTimeAsync(e.delayMs! - 1);
      expect(FakeSocket.instances.length).toBe(before); // not yet
      await vi.advanceTimersByTimeAsync(1);
      expect(FakeSocket.instances.length).toBe(before + 1);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000]); // half of 1000, 2000, 4000, 8000, 8000 (max)
    FakeSocket.last().open();
    FakeSocket.last().subscribed();
    FakeSocket.last().serverClose(1006);
    expect(events.status.at(-1)?.delayMs).toBe(500);
    sub.close();
  });

  it("resumes with since from the last offset seen and drops duplicates", async () => {
    const { sub, received, events } = start();
    await tick();
    let ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ epoch: "e1", offset: 10 });
    ws.message(11, "status", status("a"));
    ws.message(12, "tokens", { token: "b" });
    ws.message(12, "tokens", { token: "b" }); // duplicate within a connection
    ws.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    ws = FakeSocket.last();
    ws.open();
    expect(ws.lastSubscribe().since).toEqual({ epoch: "e1", offset: 12 });
    ws.subscribed({ epoch: "e1", offset: 12, recovered: true });
    // The hub replays an overlap; the client drops what it has.
    ws.message(11, "status", status("a"));
    ws.message(12, "tokens", { token: "b" });
    ws.message(13, "status", status("c"));
    expect(received.map((m) => m.offset)).toEqual([11, 12, 13]);
    expect(events.recovered).toEqual([{ recovered: true, since: { epoch: "e1", offset: 12 }, position: { epoch: "e1", offset: 12 } }]);
    expect(sub.position).toEqual({ epoch: "e1", offset: 13 });
    sub.close();
  });

  it("surfaces recovered:false when the gap is older than the history", async () => {
    const { sub, received, events } = start();
    await tick();
    let ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ epoch: "e1", offset: 5 });
    ws.message(6, "status", status("a"));
    ws.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ epoch: "e1", offset: 900, recovered: false });
    ws.message(901, "status", status("z"));
    expect(events.recovered).toEqual([{ recovered: false, since: { epoch: "e1", offset: 6 }, position: { epoch: "e1", offset: 900 } }]);
    expect(received.map((m) => m.offset)).toEqual([6, 901]);
    sub.close();
  });

  it("a new epoch is a gap even if the hub says recovered, and offsets start over", async () => {
    const { sub, received, events } = start();
    await tick();
    let ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ epoch: "e1", offset: 50 });
    ws.message(51, "status", status("a"));
    ws.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ epoch: "e2", offset: 0, recovered: true });
    ws.message(1, "status", status("b")); // lower than 51, but a new epoch: delivered
    expect(events.recovered[0]?.recovered).toBe(false);
    expect(received.map((m) => m.offset)).toEqual([51, 1]);
    sub.close();
  });

  it("a second subscribed on a live subscription (epoch changed under it) replaces the position and reports the gap", async () => {
    const { sub, received, events } = start();
    await tick();
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ epoch: "e1", offset: 20 });
    ws.message(21, "status", status("a"));
    ws.subscribed({ epoch: "e2", offset: 0, recovered: false });
    ws.message(1, "status", status("b"));
    expect(received.map((m) => m.offset)).toEqual([21, 1]);
    expect(events.recovered).toEqual([{ recovered: false, since: { epoch: "e1", offset: 21 }, position: { epoch: "e2", offset: 0 } }]);
    expect(events.status.filter((e) => e.status === "open")).toHaveLength(1);
    sub.close();
  });

  it("starts from a given since", async () => {
    const { sub, events } = start({ since: { epoch: "e9", offset: 99 } });
    await tick();
    FakeSocket.last().open();
    expect(FakeSocket.last().lastSubscribe().since).toEqual({ epoch: "e9", offset: 99 });
    FakeSocket.last().subscribed({ epoch: "e9", offset: 99, recovered: true });
    expect(events.recovered[0]).toMatchObject({ recovered: true });
    sub.close();
  });

  it("close code 4008 (slow consumer) reconnects with since", async () => {
    const { sub, events } = start();
    await tick();
    let ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ offset: 3 });
    ws.serverClose(4008);
    expect(events.status.at(-1)?.error?.code).toBe("slow_consumer");
    await vi.advanceTimersByTimeAsync(500);
    ws = FakeSocket.last();
    ws.open();
    expect(ws.lastSubscribe().since).toEqual({ epoch: "e1", offset: 3 });
    sub.close();
  });

  it("a closing frame then close 1001 reconnects, reported as hub_closing", async () => {
    const { sub, events } = start();
    await tick();
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed();
    ws.receive({ type: "closing" });
    ws.serverClose(1001);
    expect(events.status.at(-1)).toMatchObject({ status: "reconnecting" });
    expect(events.status.at(-1)?.error?.code).toBe("hub_closing");
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.instances).toHaveLength(2);
    sub.close();
  });

  it("sends pings and reconnects when no pong comes", async () => {
    const { sub, events } = start({ pingIntervalMs: 1000, pongTimeoutMs: 300 });
    await tick();
    const ws = FakeSocket.last();
    ws.autoPong = false;
    ws.open();
    ws.subscribed();
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws.frames("ping")).toHaveLength(1);
    ws.receive({ type: "pong" });
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws.frames("ping")).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(300); // no pong
    expect(events.status.at(-1)?.error?.code).toBe("ping_timeout");
    expect(ws.closedWith).toBeDefined();
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.instances).toHaveLength(2);
    sub.close();
  });
});

describe("timeouts", () => {
  it("a connection that does not reach subscribed in time is retried", async () => {
    const { sub, events } = start({ connectTimeoutMs: 5000 });
    await tick();
    FakeSocket.last().open(); // the hub never answers the subscribe
    await vi.advanceTimersByTimeAsync(4999);
    expect(FakeSocket.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(events.status.at(-1)?.error?.code).toBe("connect_timeout");
    expect(FakeSocket.instances[0]!.closedWith).toBeDefined();
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.last().open();
    FakeSocket.last().subscribed();
    await vi.advanceTimersByTimeAsync(60_000); // subscribed: the timeout is off
    expect(FakeSocket.instances).toHaveLength(2);
    sub.close();
  });

  it("an empty fixed token fails at once instead of retrying", async () => {
    const { sub } = start({ token: "" });
    await tick();
    expect(sub.status).toBe("error");
    expect(sub.error?.code).toBe("token");
    expect(FakeSocket.instances).toHaveLength(0);
  });
});

describe("tokens", () => {
  it("refreshes before exp on the same socket, with the factory's new token", async () => {
    const now = Date.now() / 1000;
    const tokens = [fakeJwt({ exp: now + 120 }), fakeJwt({ exp: now + 240 }), fakeJwt({ exp: now + 360 })];
    let n = 0;
    const { sub } = start({ token: () => tokens[n++]! });
    await tick();
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed();
    await vi.advanceTimersByTimeAsync(89_999);
    expect(ws.frames("refresh")).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1); // 30 s before the 120 s expiry
    expect(ws.frames("refresh")).toEqual([{ type: "refresh", id: 1, token: tokens[1] }]);
    await vi.advanceTimersByTimeAsync(120_000); // the next one, 30 s before 240 s
    expect(ws.frames("refresh")).toHaveLength(2);
    expect(FakeSocket.instances).toHaveLength(1); // no reconnect
    sub.close();
  });

  it("does not schedule refreshes for a fixed string token", async () => {
    const { sub } = start({ token: fakeJwt({ exp: Date.now() / 1000 + 60 }) });
    await tick();
    FakeSocket.last().open();
    FakeSocket.last().subscribed();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.last().frames("refresh")).toHaveLength(0);
    sub.close();
  });

  it("after token_expired, subscribes again on the same socket with since", async () => {
    let n = 0;
    const { sub } = start({ token: () => `t${++n}` });
    await tick();
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed({ offset: 8 });
    ws.receive({ type: "unsubscribed", id: 1, reason: "token_expired" });
    await tick();
    expect(ws.lastSubscribe()).toEqual({ type: "subscribe", id: 2, token: "t2", since: { epoch: "e1", offset: 8 } });
    expect(FakeSocket.instances).toHaveLength(1);
    sub.close();
  });

  it("with a fixed token, token_expired ends the subscription with an error", async () => {
    const sub = subscribe({ url: URL, channel: pipeline, params: { runId: "7" }, token: "fixed", WebSocket: FakeSocket });
    await tick();
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed();
    ws.receive({ type: "unsubscribed", id: 1, reason: "token_expired" });
    expect(sub.status).toBe("error");
    await expect(sub[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "token_expired" });
  });

  it("an invalid token is retried with a new one a few times, then fails", async () => {
    const { sub, events } = start({ token: async () => "bad" });
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(10_000);
      const ws = FakeSocket.last();
      ws.open();
      ws.receive({ type: "error", id: ws.lastSubscribe().id, code: "invalid_token", message: "bad signature" });
    }
    expect(FakeSocket.instances).toHaveLength(3);
    expect(sub.status).toBe("error");
    expect(sub.error?.code).toBe("invalid_token");
    expect(events.status.at(-1)?.status).toBe("error");
  });
});

describe("hub errors", () => {
  it("forbidden ends the subscription and the iterator throws", async () => {
    const sub = subscribe({ url: URL, channel: pipeline, params: { runId: "7" }, token: "t", WebSocket: FakeSocket });
    await tick();
    const ws = FakeSocket.last();
    ws.open();
    ws.receive({ type: "error", id: 1, code: "forbidden", message: "token is for pipeline:8" });
    const it = sub[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ name: "ChanspecError", code: "forbidden" });
    expect(ws.closedWith).toBeDefined();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it("unavailable reconnects", async () => {
    const { sub } = start();
    await tick();
    FakeSocket.last().open();
    FakeSocket.last().receive({ type: "error", id: 1, code: "unavailable", message: "redis down" });
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.instances).toHaveLength(2);
    sub.close();
  });

  it("an error after subscribing (a refused refresh) is reported, not fatal", async () => {
    const { sub, events } = start();
    await tick();
    FakeSocket.last().open();
    FakeSocket.last().subscribed();
    FakeSocket.last().receive({ type: "error", id: 1, code: "invalid_token", message: "refresh refused" });
    expect(sub.status).toBe("open");
    expect(events.errors.map((e) => e.code)).toEqual(["invalid_token"]);
    sub.close();
  });

  it("a token for another channel or without a chosen topic fails", async () => {
    const a = start();
    await tick();
    FakeSocket.last().open();
    FakeSocket.last().subscribed({ channel: "pipeline:8" });
    expect(a.sub.error?.code).toBe("wrong_channel");
    const b = start({ topics: ["status", "tokens"] });
    await tick();
    FakeSocket.last().open();
    FakeSocket.last().subscribed({ topics: ["status"] });
    expect(b.sub.error?.code).toBe("topic_not_allowed");
  });

  it("unreadable frames are reported and skipped", async () => {
    const { sub, events, received } = start();
    await tick();
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed();
    ws.receive("not json");
    ws.receive({ type: "message", id: 1 });
    ws.message(1, "status", status("a"));
    expect(events.errors.map((e) => e.code)).toEqual(["invalid_frame", "invalid_frame"]);
    expect(received).toHaveLength(1);
    sub.close();
  });
});

describe("validation", () => {
  it("guards refuse invalid data: reported through onInvalid, not delivered", async () => {
    const { sub, received, events } = start();
    await tick();
    const ws = FakeSocket.last();
    ws.open();
    ws.subscribed();
    ws.message(1, "status", { step: "a", state: "exploded" });
    ws.message(2, "tokens", { token: 5 });
    ws.message(3, "tokens", { token: "ok" });
    expect(received.map((m) => m.offset)).toEqual([3]);
    expect(events.invalid.map((m) => [m.topic, m.offset, m.error.code])).toEqual([
      ["status", 1, "invalid_payload"],
      ["tokens", 2, "invalid_payload"],
    ]);
    // An invalid message still counts as seen: a resume does not ask for it again.
    expect(sub.position?.offset).toBe(3);
    sub.close();
  });

  it("without onInvalid, invalid messages go to onError", async () => {
    const { sub, events, received } = start({ onInvalid: undefined });
    await tick();
    FakeSocket.last().open();
    FakeSocket.last().subscribed();
    FakeSocket.last().message(1, "status", null);
    expect(received).toHaveLength(0);
    expect(events.errors[0]?.code).toBe("invalid_payload");
    sub.close();
  });

  it("validate: false passes data through unchecked", async () => {
    const { sub, received, events } = start({ validate: false });
    await tick();
    FakeSocket.last().open();
    FakeSocket.last().subscribed();
    FakeSocket.last().message(1, "status", { nonsense: true });
    expect(received).toHaveLength(1);
    expect(events.invalid).toHaveLength(0);
    sub.close();
  });
});

describe("injected clock", () => {
  it("uses the given clock for backoff timers", async () => {
    vi.useRealTimers();
    const timers: { fn: () => void; ms: number }[] = [];
    const clock = { now: () => 0, setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms }), clearTimeout: () => {} };
    const { sub } = start({ clock, pingIntervalMs: 1e9 });
    await Promise.resolve();
    await Promise.resolve();
    FakeSocket.last().serverClose(1006);
    const reconnect = timers.find((t) => t.ms === 500);
    expect(reconnect).toBeDefined();
    reconnect!.fn();
    await Promise.resolve();
    await Promise.resolve();
    expect(FakeSocket.instances).toHaveLength(2);
    sub.close();
  });
});
