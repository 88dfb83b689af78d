// A scripted in-process WebSocket: tests open it, feed it hub frames and close it.
import type { WebSocketLike } from "../src/index.js";

export class FakeSocket implements WebSocketLike {
  static instances: FakeSocket[] = [];
  static reset(): void {
    FakeSocket.instances = [];
  }
  static last(): FakeSocket {
    const s = FakeSocket.instances[FakeSocket.instances.length - 1];
    if (!s) throw new Error("no socket was created");
    return s;
  }
  static live(): FakeSocket[] {
    return FakeSocket.instances.filter((s) => s.readyState <= 1);
  }

  readyState = 0;
  /** Answer pings with pongs (a microtask later, like a real hub). */
  autoPong = true;
  readonly sent: Record<string, unknown>[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.instances.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    const frame = JSON.parse(data) as Record<string, unknown>;
    this.sent.push(frame);
    if (frame.type === "ping" && this.autoPong) queueMicrotask(() => this.readyState === 1 && this.receive({ type: "pong" }));
  }
  close(code?: number, reason?: string): void {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.closedWith = { code, reason };
  }

  // --- the hub's side ---
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }
  serverClose(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  /** The frames of one type the client sent. */
  frames(type: string): Record<string, unknown>[] {
    return this.sent.filter((f) => f.type === type);
  }
  lastSubscribe(): { id: number; token: string; since?: { epoch: string; offset: number } } {
    const f = this.frames("subscribe").at(-1);
    if (!f) throw new Error("no subscribe frame was sent");
    return f as never;
  }
  /** Answers the last subscribe frame. */
  subscribed(
    over: Partial<{
      channel: string;
      topics: string[];
      epoch: string;
      offset: number;
      recovered: boolean;
      status: string;
      result: unknown;
      error: unknown;
    }> = {},
  ): void {
    const { id } = this.lastSubscribe();
    this.receive({ type: "subscribed", id, channel: "pipeline:7", topics: ["status", "tokens"], epoch: "e1", offset: 0, recovered: false, ...over });
  }
  /** A run status change (a lifecycle channel). */
  status(offset: number, status: string, extra: { result?: unknown; error?: unknown } = {}, channel = "pipeline:7"): void {
    const { id } = this.lastSubscribe();
    this.receive({ type: "status", id, channel, status, offset, publishedAt: "2026-01-02T03:04:05.678Z", ...extra });
  }
  message(offset: number, topic: string, data: unknown, channel = "pipeline:7"): void {
    const { id } = this.lastSubscribe();
    this.receive({ type: "message", id, channel, topic, offset, data, publishedAt: "2026-01-02T03:04:05.678Z" });
  }
}

/** An unsigned JWT with the given claims (the client never verifies signatures). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}.c2lnbmF0dXJl`;
}

/** Lets pending promise callbacks (token factories, awaits) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
