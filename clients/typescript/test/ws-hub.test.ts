// Node integration: the client (with the `ws` package's WebSocket) against an in-process
// WebSocketServer that plays the hub's protocol: subscribe with since, replay, cut sockets.
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { type Message, decodeJwtPayload, subscribe } from "../src/index.js";
import { fakeJwt } from "./fake-socket.js";
import { pipeline } from "./fixtures/pipeline.js";

interface Published {
  topic: string;
  offset: number;
  data: unknown;
}

/** A tiny hub: one channel, full history, every subscriber gets every later message. */
class MiniHub {
  readonly server: WebSocketServer;
  readonly history: Published[] = [];
  readonly epoch = "ep-1";
  readonly subscribes: Record<string, unknown>[] = [];
  readonly refreshes: string[] = [];
  private subs = new Set<{ ws: WebSocket; id: number; topics: string[] }>();

  constructor() {
    this.server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    this.server.on("connection", (ws) => {
      ws.on("message", (raw) => {
        const f = JSON.parse(String(raw)) as Record<string, any>;
        if (f.type === "ping") return ws.send(JSON.stringify({ type: "pong" }));
        if (f.type === "refresh") return void this.refreshes.push(f.token);
        if (f.type !== "subscribe") return;
        this.subscribes.push(f);
        const claims = decodeJwtPayload(f.token);
        if (!claims || claims.chan !== "pipeline:7") {
          return ws.send(JSON.stringify({ type: "error", id: f.id, code: "forbidden", message: "wrong channel" }));
        }
        const topics = (claims.topics ?? []) as string[];
        const recovered = f.since?.epoch === this.epoch;
        const from = recovered ? f.since.offset : this.history.length;
        ws.send(JSON.stringify({ type: "subscribed", id: f.id, channel: "pipeline:7", topics, epoch: this.epoch, offset: from, recovered }));
        const sub = { ws, id: f.id as number, topics };
        // Replay one message of overlap, as a hub racing a publish might: the client drops it.
        for (const m of this.history.slice(Math.max(0, from - 1))) this.deliver(sub, m);
        this.subs.add(sub);
        ws.on("close", () => this.subs.delete(sub));
      });
    });
  }

  get url(): string {
    const addr = this.server.address();
    if (typeof addr !== "object" || addr === null) throw new Error("not listening");
    return `ws://127.0.0.1:${addr.port}/v1/ws`;
  }

  publish(topic: string, data: unknown): void {
    const m = { topic, offset: this.history.length + 1, data };
    this.history.push(m);
    for (const s of this.subs) this.deliver(s, m);
  }

  /** Cuts every connection without a close handshake. */
  cut(): void {
    for (const s of this.subs) s.ws.terminate();
    this.subs.clear();
  }

  private deliver(s: { ws: WebSocket; id: number; topics: string[] }, m: Published): void {
    if (!s.topics.includes(m.topic) || s.ws.readyState !== WebSocket.OPEN) return;
    s.ws.send(JSON.stringify({ type: "message", id: s.id, channel: "pipeline:7", topic: m.topic, offset: m.offset, data: m.data, publishedAt: new Date().toISOString() }));
  }

  close(): Promise<void> {
    for (const c of this.server.clients) c.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let hub: MiniHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe("against a ws server playing the hub", () => {
  it("receives typed messages, survives cuts mid-stream with nothing lost or duplicated", async () => {
    hub = new MiniHub();
    await new Promise((r) => hub!.server.once("listening", r));
    const h = hub;
    let tokens = 0;
    const statuses: string[] = [];
    const sub = subscribe({
      url: h.url,
      channel: pipeline,
      params: { runId: "7" },
      topics: ["tokens"],
      token: async () => fakeJwt({ chan: "pipeline:7", topics: ["status", "tokens"], n: ++tokens, exp: Date.now() / 1000 + 3600 }),
      WebSocket,
      backoff: { initialMs: 20, maxMs: 100 },
      onStatus: (e) => statuses.push(e.status),
    });
    const got: Message<typeof pipeline, "tokens">[] = [];
    const reading = (async () => {
      for await (const m of sub) {
        got.push(m);
        if (got.length === 300) break;
      }
    })();
    await until(() => sub.status === "open", "the first subscribe");
    let n = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 60; i++) {
        n++;
        h.publish("tokens", { token: `t${n}` });
        if (n % 7 === 0) h.publish("status", { step: `s${n}`, state: "running" });
      }
      h.cut();
      await until(() => h.subscribes.length === round + 2 || got.length === 300, `resubscribe ${round + 1}`);
    }
    await reading;
    expect(got.map((m) => m.data.token)).toEqual(Array.from({ length: 300 }, (_, i) => `t${i + 1}`));
    const offsets = got.map((m) => m.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(offsets).size).toBe(300);
    // Every reconnect asked for a new token and resumed from the last offset it had.
    expect(tokens).toBe(h.subscribes.length);
    expect(h.subscribes.slice(1).every((f) => (f.since as { epoch: string }).epoch === "ep-1")).toBe(true);
    expect(statuses).toContain("reconnecting");
    expect(sub.status).toBe("closed");
  });

  it("refreshes a short-lived token on the same socket", async () => {
    hub = new MiniHub();
    await new Promise((r) => hub!.server.once("listening", r));
    const h = hub;
    let minted = 0;
    const sub = subscribe({
      url: h.url,
      channel: pipeline,
      params: { runId: "7" },
      // Two seconds of life: refreshed halfway, after about one second.
      token: () => fakeJwt({ chan: "pipeline:7", topics: ["status", "tokens"], n: ++minted, exp: Date.now() / 1000 + 2 }),
      WebSocket,
    });
    await until(() => h.refreshes.length >= 2, "two refreshes");
    expect(h.subscribes).toHaveLength(1); // no reconnect
    expect(h.server.clients.size).toBe(1);
    expect(decodeJwtPayload(h.refreshes[1]!)?.n).toBe(3);
    sub.close();
  });

  it("a token for another channel is refused with forbidden", async () => {
    hub = new MiniHub();
    await new Promise((r) => hub!.server.once("listening", r));
    const sub = subscribe({
      url: hub.url,
      channel: pipeline,
      params: { runId: "7" },
      token: fakeJwt({ chan: "pipeline:8", topics: ["status"] }),
      WebSocket,
    });
    await expect(sub[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "forbidden" });
  });

  it("closing while the socket is still connecting throws nothing (ws emits an error event then)", async () => {
    // A TCP server that accepts and never answers the handshake.
    const sockets: import("node:net").Socket[] = [];
    const tcp = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    const port = (tcp.address() as { port: number }).port;
    const statuses: string[] = [];
    const sub = subscribe({
      url: `ws://127.0.0.1:${port}/v1/ws`,
      channel: pipeline,
      params: { runId: "7" },
      token: "t",
      WebSocket,
      onStatus: (e) => statuses.push(e.status),
    });
    await until(() => sockets.length === 1, "the TCP connection");
    sub.close();
    await new Promise((r) => setTimeout(r, 50)); // ws reports the aborted handshake on the next tick
    expect(statuses).toEqual(["connecting", "closed"]);
    for (const s of sockets) s.destroy();
    await new Promise((r) => tcp.close(r));
  });
});
