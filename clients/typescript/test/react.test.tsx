// @vitest-environment jsdom
import { StrictMode, type ReactNode } from "react";
import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useRealtime } from "../src/react.js";
import { FakeSocket } from "./fake-socket.js";
import { pipeline, run } from "./fixtures/pipeline.js";

const URL = "ws://hub.test/v1/ws";
const strict = ({ children }: { children: ReactNode }) => <StrictMode>{children}</StrictMode>;
const flush = () => act(() => vi.advanceTimersByTimeAsync(0));
const backoff = { initialMs: 1000, maxMs: 8000, random: () => 0.5 };

let hidden = false;
beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
  hidden = false;
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
});
afterEach(() => {
  vi.useRealTimers();
});

function setHidden(value: boolean) {
  hidden = value;
  act(() => {
    document.dispatchEvent(new Event("visibilitychange"));
  });
}

describe("useRealtime", () => {
  it("under StrictMode ends with one live socket, and delivers typed messages", async () => {
    const token = vi.fn(async () => "tok");
    const { result } = renderHook(
      () => useRealtime({ url: URL, channel: pipeline, params: { runId: "7" }, topics: ["status", "tokens"], token, WebSocket: FakeSocket }),
      { wrapper: strict },
    );
    expect(result.current.connectionStatus).toBe("connecting");
    await flush();
    expect(FakeSocket.live()).toHaveLength(1);
    const ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed();
    });
    expect(result.current.connectionStatus).toBe("open");
    act(() => {
      ws.message(1, "status", { step: "build", state: "running" });
      ws.message(2, "tokens", { token: "hello" });
    });
    const { messages } = result.current;
    expect(messages.all.map((m) => m.offset)).toEqual([1, 2]);
    expect(messages.byTopic.status?.data.step).toBe("build");
    expect(messages.listByTopic.status[0]?.data.step).toBe("build");
    expect(messages.delta.map((m) => m.offset)).toEqual([2]);
    expect(messages.last.tokens?.data.token).toBe("hello");
    // Every socket but the live one was closed by the client.
    expect(FakeSocket.instances.filter((s) => s !== ws).every((s) => s.readyState === 3)).toBe(true);
  });

  it("an inline token function does not reconnect on re-render; the newest one is used on reconnect", async () => {
    let calls: string[] = [];
    const { rerender, result } = renderHook(
      ({ n }: { n: number }) =>
        useRealtime({
          url: URL,
          channel: pipeline,
          params: { runId: "7" }, // a new object each render, same value
          topics: ["status"], // a new array each render
          token: async () => {
            calls.push(`render-${n}`);
            return `tok-${n}`;
          },
          WebSocket: FakeSocket,
          backoff,
        }),
      { wrapper: strict, initialProps: { n: 0 } },
    );
    await flush();
    const ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed({ topics: ["status"] });
    });
    for (let n = 1; n <= 20; n++) rerender({ n });
    await flush();
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(FakeSocket.live()).toHaveLength(1);
    expect(FakeSocket.instances).toHaveLength(1); // never a second socket
    expect(calls.length).toBeLessThanOrEqual(2); // StrictMode's throwaway mount may have started one
    expect(result.current.connectionStatus).toBe("open");
    calls = [];
    act(() => ws.serverClose(1006));
    expect(result.current.connectionStatus).toBe("connecting");
    await act(() => vi.advanceTimersByTimeAsync(500));
    expect(calls).toEqual(["render-20"]);
    expect(FakeSocket.live()).toHaveLength(1);
  });

  it("starts idle with enabled: false and connects once enabled", async () => {
    const { result, rerender } = renderHook(
      ({ enabled }: { enabled: boolean }) =>
        useRealtime({ url: URL, channel: pipeline, params: { runId: "7" }, token: "tok", enabled, WebSocket: FakeSocket }),
      { wrapper: strict, initialProps: { enabled: false } },
    );
    await flush();
    expect(result.current.connectionStatus).toBe("idle");
    expect(result.current.messages.listByTopic).toEqual({ status: [], tokens: [] });
    expect(result.current.messages.byTopic).toEqual({});
    expect([result.current.isPaused, result.current.pauseReason]).toEqual([true, "disabled"]);
    expect(FakeSocket.instances).toHaveLength(0);
    rerender({ enabled: true });
    expect(result.current.connectionStatus).toBe("connecting");
    await flush();
    expect(FakeSocket.live()).toHaveLength(1);
    act(() => {
      FakeSocket.live()[0]!.open();
      FakeSocket.live()[0]!.subscribed();
    });
    expect(result.current.connectionStatus).toBe("open");
    rerender({ enabled: false });
    expect(result.current.connectionStatus).toBe("idle");
    expect(FakeSocket.live()).toHaveLength(0);
  });

  it("a change of params reconnects to the new channel; unmount closes", async () => {
    const { rerender, unmount, result } = renderHook(
      ({ runId }: { runId: string }) => useRealtime({ url: URL, channel: pipeline, params: { runId }, token: "tok", WebSocket: FakeSocket }),
      { initialProps: { runId: "7" } },
    );
    await flush();
    const first = FakeSocket.live()[0]!;
    act(() => {
      first.open();
      first.subscribed({ offset: 5 });
    });
    act(() => first.message(6, "status", { step: "a", state: "running" }));
    expect(result.current.messages.all).toHaveLength(1);
    expect(result.current.position?.offset).toBe(6);
    rerender({ runId: "8" });
    expect(result.current.position).toBeUndefined(); // not even for one render
    await flush();
    expect(first.readyState).toBe(3);
    expect(result.current.messages.all).toHaveLength(0); // another channel's messages are gone
    expect(result.current.messages.listByTopic.status).toEqual([]);
    const second = FakeSocket.live()[0]!;
    act(() => second.open());
    expect(second.lastSubscribe().since).toBeUndefined(); // a new channel does not resume the old one's position
    unmount();
    expect(FakeSocket.live()).toHaveLength(0);
  });

  it("historyLimit bounds all and listByTopic; byTopic keeps the newest per topic", async () => {
    const { result } = renderHook(() =>
      useRealtime({ url: URL, channel: pipeline, params: { runId: "7" }, token: "tok", historyLimit: 3, WebSocket: FakeSocket }),
    );
    await flush();
    const ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed();
      for (let i = 1; i <= 10; i++) ws.message(i, i % 2 ? "status" : "tokens", i % 2 ? { step: `s${i}`, state: "running" } : { token: `t${i}` });
    });
    const { all, listByTopic, byTopic, last } = result.current.messages;
    expect(all.map((m) => m.offset)).toEqual([8, 9, 10]);
    expect(listByTopic.status.map((m) => m.offset)).toEqual([5, 7, 9]);
    expect(listByTopic.tokens.map((m) => m.offset)).toEqual([6, 8, 10]);
    expect(byTopic.status?.offset).toBe(9);
    expect(last.status?.offset).toBe(9);
    act(() => result.current.reset());
    expect(result.current.messages.all).toEqual([]);
  });

  it("pauseOnHidden closes while hidden and resumes with since when visible", async () => {
    const { result } = renderHook(
      () => useRealtime({ url: URL, channel: pipeline, params: { runId: "7" }, token: "tok", pauseOnHidden: true, WebSocket: FakeSocket }),
      { wrapper: strict },
    );
    await flush();
    const ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed({ epoch: "e1", offset: 10 });
      ws.message(11, "status", { step: "a", state: "running" });
    });
    setHidden(true);
    expect(result.current.connectionStatus).toBe("paused");
    expect(FakeSocket.live()).toHaveLength(0);
    setHidden(false);
    await flush();
    expect(FakeSocket.live()).toHaveLength(1);
    const again = FakeSocket.live()[0]!;
    act(() => again.open());
    expect(again.lastSubscribe().since).toEqual({ epoch: "e1", offset: 11 });
    act(() => again.subscribed({ epoch: "e1", offset: 11, recovered: true }));
    expect(result.current.connectionStatus).toBe("open");
    expect(result.current.recovered).toBe(true);
  });

  it("since resumes a saved position on the first subscribe; position follows the stream", async () => {
    const since = { epoch: "e1", offset: 5 };
    const { result } = renderHook(
      () => useRealtime({ url: URL, channel: pipeline, params: { runId: "7" }, token: "tok", since, WebSocket: FakeSocket }),
      { wrapper: strict },
    );
    expect(result.current.position).toBeUndefined();
    await flush();
    const ws = FakeSocket.live()[0]!;
    act(() => ws.open());
    expect(ws.lastSubscribe().since).toEqual(since);
    act(() => ws.subscribed({ epoch: "e1", offset: 5, recovered: true }));
    expect(result.current.position).toEqual({ epoch: "e1", offset: 5 });
    expect(result.current.recovered).toBe(true);
    act(() => {
      ws.message(6, "status", { step: "a", state: "running" });
      ws.message(7, "tokens", { token: "x" });
    });
    expect(result.current.position).toEqual({ epoch: "e1", offset: 7 });
    expect(result.current.messages.all.map((m) => m.offset)).toEqual([6, 7]);
  });

  it("since as a function gets the channel's name; a new epoch under a live subscription moves position", async () => {
    const saved: Record<string, { epoch: string; offset: number }> = { "pipeline:8": { epoch: "e8", offset: 3 } };
    const asked: string[] = [];
    const since = (channel: string) => {
      asked.push(channel);
      return saved[channel];
    };
    const { result, rerender } = renderHook(
      ({ runId }: { runId: string }) => useRealtime({ url: URL, channel: pipeline, params: { runId }, token: "tok", since, WebSocket: FakeSocket }),
      { initialProps: { runId: "7" } },
    );
    await flush();
    const first = FakeSocket.live()[0]!;
    act(() => first.open());
    expect(first.lastSubscribe().since).toBeUndefined();
    rerender({ runId: "8" });
    await flush();
    const second = FakeSocket.live()[0]!;
    act(() => second.open());
    expect(second.lastSubscribe().since).toEqual({ epoch: "e8", offset: 3 });
    expect(asked).toEqual(["pipeline:7", "pipeline:8"]);
    act(() => second.subscribed({ channel: "pipeline:8", epoch: "e8", offset: 3, recovered: true }));
    expect(result.current.position).toEqual({ epoch: "e8", offset: 3 });
    // The hub lost its data: a second `subscribed` with a new epoch, and no message yet.
    act(() => second.subscribed({ channel: "pipeline:8", epoch: "e9", offset: 0, recovered: false }));
    expect(result.current.position).toEqual({ epoch: "e9", offset: 0 });
    expect(result.current.recovered).toBe(false);
  });

  it("mounted while hidden with pauseOnHidden: paused, no socket until visible", async () => {
    hidden = true;
    const { result } = renderHook(() =>
      useRealtime({ url: URL, channel: pipeline, params: { runId: "7" }, token: "tok", pauseOnHidden: true, WebSocket: FakeSocket }),
    );
    await flush();
    expect(result.current.connectionStatus).toBe("paused");
    expect(FakeSocket.instances).toHaveLength(0);
    setHidden(false);
    await flush();
    expect(FakeSocket.live()).toHaveLength(1);
  });

  it("surfaces recovered: false until reset, and errors that end the subscription", async () => {
    const { result } = renderHook(() =>
      useRealtime({ url: URL, channel: pipeline, params: { runId: "7" }, token: "tok", WebSocket: FakeSocket, backoff }),
    );
    await flush();
    let ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed({ offset: 3 });
      ws.serverClose(1006);
    });
    await act(() => vi.advanceTimersByTimeAsync(500));
    ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed({ offset: 400, recovered: false });
    });
    expect(result.current.recovered).toBe(false);
    act(() => result.current.reset());
    expect(result.current.recovered).toBeUndefined();
    // The hook reads the token through a ref, so an expiry subscribes again with the current token.
    act(() => ws.receive({ type: "unsubscribed", id: ws.lastSubscribe().id, reason: "token_expired" }));
    await flush();
    expect(ws.frames("subscribe")).toHaveLength(2);
    act(() => ws.receive({ type: "error", id: ws.lastSubscribe().id, code: "forbidden", message: "wrong channel" }));
    expect(result.current.connectionStatus).toBe("error");
    expect(result.current.error?.code).toBe("forbidden");
  });

  it("bad params give an error status instead of throwing", () => {
    const { result } = renderHook(() =>
      useRealtime({ url: URL, channel: pipeline, params: { runId: "a:b" }, token: "tok", WebSocket: FakeSocket }),
    );
    expect(result.current.connectionStatus).toBe("error");
    expect(result.current.error?.code).toBe("invalid_params");
  });

  it("runStatus goes from unknown to the run's end, with the typed result; the connection then closes", async () => {
    const { result } = renderHook(
      () => useRealtime({ url: URL, channel: run, params: { runId: "7" }, token: "tok", WebSocket: FakeSocket }),
      { wrapper: strict },
    );
    expect(result.current.runStatus).toBe("unknown");
    await flush();
    const ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed({ status: "pending" });
    });
    expect(result.current.runStatus).toBe("pending");
    act(() => {
      ws.message(1, "status", { step: "build", state: "running" });
      ws.status(2, "running");
      ws.message(3, "tokens", { token: "ok" });
      ws.status(4, "completed", { result: { steps: 3, summary: "all passed" } });
    });
    expect(result.current.runStatus).toBe("completed");
    expect(result.current.result).toEqual({ steps: 3, summary: "all passed" });
    expect(result.current.runError).toBeUndefined();
    expect(result.current.messages.all.map((m) => m.offset)).toEqual([1, 3]);
    // autoCloseOnTerminal: no socket and no reconnect after the end.
    expect(result.current.connectionStatus).toBe("closed");
    expect(FakeSocket.live()).toHaveLength(0);
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(FakeSocket.live()).toHaveLength(0);
  });

  it("a page opened after the run failed shows failed and the error at once", async () => {
    const { result } = renderHook(() =>
      useRealtime({ url: URL, channel: run, params: { runId: "7" }, token: "tok", WebSocket: FakeSocket, autoCloseOnTerminal: false }),
    );
    await flush();
    const ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed({ offset: 12, status: "failed", error: { step: "test", message: "2 tests failed" } });
    });
    expect(result.current.runStatus).toBe("failed");
    expect(result.current.runError).toEqual({ step: "test", message: "2 tests failed" });
    // autoCloseOnTerminal: false keeps the connection.
    expect(result.current.connectionStatus).toBe("open");
    expect(FakeSocket.live()).toHaveLength(1);
  });

  it("a result that breaks its type is not shown; the status stays", async () => {
    const { result } = renderHook(() => useRealtime({ url: URL, channel: run, params: { runId: "7" }, token: "tok", WebSocket: FakeSocket }));
    await flush();
    const ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed({ status: "running" });
      ws.status(1, "completed", { result: { steps: "three" } });
    });
    expect(result.current.runStatus).toBe("running");
    expect(result.current.error?.code).toBe("invalid_payload");
  });

  it("bufferInterval renders the messages of an interval together, in delta", async () => {
    let renders = 0;
    const { result } = renderHook(() => {
      renders++;
      return useRealtime({ url: URL, channel: pipeline, params: { runId: "7" }, token: "tok", WebSocket: FakeSocket, bufferInterval: 100 });
    });
    await flush();
    const ws = FakeSocket.live()[0]!;
    act(() => {
      ws.open();
      ws.subscribed();
    });
    const before = renders;
    act(() => {
      for (let i = 1; i <= 5; i++) ws.message(i, "tokens", { token: `t${i}` });
    });
    expect(result.current.messages.all).toHaveLength(0); // not yet rendered
    await act(() => vi.advanceTimersByTimeAsync(100));
    expect(result.current.messages.all.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5]);
    expect(result.current.messages.delta.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5]);
    expect(result.current.messages.byTopic.tokens?.data.token).toBe("t5");
    expect(renders - before).toBe(1);
  });

  it("pauseReason says hidden while paused", async () => {
    const { result } = renderHook(() =>
      useRealtime({ url: URL, channel: pipeline, params: { runId: "7" }, token: "tok", WebSocket: FakeSocket, pauseOnHidden: true }),
    );
    await flush();
    expect([result.current.isPaused, result.current.pauseReason]).toEqual([false, null]);
    setHidden(true);
    expect([result.current.connectionStatus, result.current.isPaused, result.current.pauseReason]).toEqual(["paused", true, "hidden"]);
  });
});
