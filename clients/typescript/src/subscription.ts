import { Backoff, type BackoffOptions } from "./backoff.js";
import {
  type ChannelDescriptor,
  type Item,
  type Message,
  type ParamsOption,
  type StatusItem,
  type TopicOf,
  type ParamsOf,
  channelName,
  chosenTopics,
} from "./descriptor.js";
import { ChanspecError } from "./errors.js";
import { refreshDelayMs } from "./jwt.js";
import {
  BATCH_PROTOCOL,
  COMPACT_PROTOCOL,
  CLOSE_SLOW_CONSUMER,
  type ClientFrame,
  type Position,
  type RunStatus,
  type ServerFrame,
  encodeFrame,
  isTerminal,
  parseFrame,
} from "./protocol.js";
import { AsyncQueue } from "./queue.js";

/** What the client needs of a WebSocket: the browser's, or the `ws` package's in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** A token, or a function fetching a fresh one (called on every connect, reconnect and refresh). */
export type TokenSource = string | (() => string | Promise<string>);

/** Timers and time, injectable for tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
};

export type SubscriptionStatus = "connecting" | "open" | "reconnecting" | "closed" | "error";

export interface StatusEvent {
  readonly status: SubscriptionStatus;
  /** Why the previous connection ended (on `reconnecting`), or why the subscription failed (on `error`). */
  readonly error?: ChanspecError;
  /** The wait before the next attempt, on `reconnecting`. */
  readonly delayMs?: number;
}

export interface RecoveryEvent {
  /** `false`: messages between `since` and the new position were lost (history too short, or a new epoch). */
  readonly recovered: boolean;
  /** Where the client asked to resume from. */
  readonly since: Position;
  /** Where the subscription resumed: later messages have greater offsets. */
  readonly position: Position;
}

export interface InvalidMessage {
  readonly topic: string;
  readonly data: unknown;
  readonly offset: number;
  readonly publishedAt: string;
  readonly error: ChanspecError;
}

export interface SubscribeOptionsBase<D extends ChannelDescriptor, T extends TopicOf<D>> {
  /** The hub's WebSocket URL, e.g. `wss://example.com/realtime/v1/ws`. */
  readonly url: string;
  /** A generated channel descriptor. */
  readonly channel: D;
  /** The topics to receive (default: all of the channel's). The token must allow them. */
  readonly topics?: readonly T[];
  readonly token: TokenSource;
  /** A WebSocket implementation; default `globalThis.WebSocket` (browsers, Node 22+). */
  readonly WebSocket?: WebSocketConstructor;
  /** Check each message's data with the descriptor's guard (default `true`). */
  readonly validate?: boolean;
  /** Resume from this position at the first connect (e.g. saved from an earlier subscription). */
  readonly since?: Position;
  readonly backoff?: Backoff | BackoffOptions;
  /** Ping interval (default 25 s) and how long to wait for the pong (default 10 s). */
  readonly pingIntervalMs?: number;
  readonly pongTimeoutMs?: number;
  /** How long a connection may take from opening the socket to `subscribed` (default 15 s). */
  readonly connectTimeoutMs?: number;
  /** Refresh the token this long before its `exp` (at most halfway through its remaining life). Default 30 s. */
  readonly refreshLeadMs?: number;
  readonly clock?: Clock;
  readonly onStatus?: (event: StatusEvent) => void;
  /** After each resume (a subscribe with `since`): whether nothing was lost. */
  readonly onRecovered?: (event: RecoveryEvent) => void;
  /** A message whose data its topic's guard refused; it is not delivered. */
  readonly onInvalid?: (message: InvalidMessage) => void;
  /** Problems that do not end the subscription (a failed refresh, an unreadable frame). */
  readonly onError?: (error: ChanspecError) => void;
  /**
   * Receive messages (and, on a lifecycle channel, status changes) through this callback
   * instead of iterating. With it, the subscription buffers nothing and iterating it throws.
   */
  readonly onMessage?: (item: Item<D, T>) => void;
  /** On a lifecycle channel: close once the run has ended (no reconnects after). Default `false`. */
  readonly closeOnTerminal?: boolean;
}

export type SubscribeOptions<D extends ChannelDescriptor, T extends TopicOf<D> = TopicOf<D>> = SubscribeOptionsBase<D, T> &
  ParamsOption<D>;

export interface Subscription<M> extends AsyncIterable<M> {
  /** Ends the subscription: the socket closes, iteration finishes, no reconnect follows. */
  close(): void;
  readonly status: SubscriptionStatus;
  /** The runtime channel name, e.g. `pipeline:7`. */
  readonly channelName: string;
  /** The last position seen (what a reconnect resumes from). */
  readonly position: Position | undefined;
  /** The error that ended the subscription, when status is `error`. */
  readonly error: ChanspecError | undefined;
  /** On a lifecycle channel: the run's status as last heard; `unknown` before the first `subscribed`. */
  readonly runStatus: RunStatus | "unknown";
}

const OPEN = 1;
const MAX_AUTH_FAILURES = 3;

/**
 * Subscribes to chosen topics of one channel. Returns at once; the connection opens in the
 * background. Iterate the result for typed messages (narrowed by `topic`).
 */
export function subscribe<D extends ChannelDescriptor, T extends TopicOf<D> = TopicOf<D>>(
  options: SubscribeOptions<D, T>,
): Subscription<Item<D, T>> {
  return new Connection<D, T>(options);
}

class Connection<D extends ChannelDescriptor, T extends TopicOf<D>> implements Subscription<Item<D, T>> {
  readonly channelName: string;
  private readonly topics: ReadonlySet<string>;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly WS: WebSocketConstructor;
  private readonly queue: AsyncQueue<Item<D, T>>;
  private run: RunStatus | "unknown" = "unknown";
  private iterated = false;

  private state: SubscriptionStatus = "connecting";
  private failure: ChanspecError | undefined;
  private pos: Position | undefined;
  private resumeFrom: Position | undefined;

  private ws: WebSocketLike | undefined;
  /** Bumped whenever a socket is abandoned: callbacks of older sockets and awaits see a stale value. */
  private generation = 0;
  private nextId = 1;
  private subId = 0;
  private subscribed = false;
  private token: string | undefined;
  private authFailures = 0;

  private reconnectTimer: unknown;
  private pingTimer: unknown;
  private pongTimer: unknown;
  private refreshTimer: unknown;
  private connectTimer: unknown;

  constructor(private readonly options: SubscribeOptions<D, T>) {
    this.channelName = channelName(options.channel, options.params as ParamsOf<D>);
    this.topics = new Set(chosenTopics(options.channel, options.topics));
    this.clock = options.clock ?? systemClock;
    this.backoff = options.backoff instanceof Backoff ? options.backoff : new Backoff(options.backoff);
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new TypeError("no WebSocket implementation: pass `WebSocket` (in Node 20, from the `ws` package)");
    this.WS = WS;
    this.queue = new AsyncQueue(() => this.close());
    this.resumeFrom = options.since;
    this.pos = options.since;
    this.emitStatus({ status: "connecting" });
    void this.connect();
  }

  get status(): SubscriptionStatus {
    return this.state;
  }
  get position(): Position | undefined {
    return this.pos;
  }
  get error(): ChanspecError | undefined {
    return this.failure;
  }
  get runStatus(): RunStatus | "unknown" {
    return this.run;
  }

  [Symbol.asyncIterator](): AsyncIterator<Item<D, T>> {
    if (this.options.onMessage) throw new TypeError("this subscription delivers to onMessage; it cannot be iterated");
    if (this.iterated) throw new TypeError("a subscription can be iterated once");
    this.iterated = true;
    return this.queue;
  }

  close(): void {
    if (this.finished) return;
    const ws = this.ws;
    if (ws && ws.readyState === OPEN && this.subscribed) this.send({ type: "unsubscribe", id: this.subId });
    this.abandonSocket(1000, "closed by the client");
    this.setState("closed");
    this.emitStatus({ status: "closed" });
    this.queue.end();
  }

  private get finished(): boolean {
    return this.state === "closed" || this.state === "error";
  }

  // --- connecting -------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    let token: string;
    try {
      token = await this.fetchToken();
    } catch (cause) {
      if (generation !== this.generation || this.finished) return;
      const error = new ChanspecError("token", `the token factory failed: ${describe(cause)}`, { cause });
      // A fixed token that is no token will not get better.
      if (typeof this.options.token === "function") this.reconnect(error);
      else this.fail(error);
      return;
    }
    if (generation !== this.generation || this.finished) return;
    this.token = token;
    let ws: WebSocketLike;
    try {
      // Offer batched frames: the hub may then join queued frames with "\n" (split below).
      ws = new this.WS(this.options.url, [COMPACT_PROTOCOL, BATCH_PROTOCOL]);
    } catch (cause) {
      this.reconnect(new ChanspecError("connection", `cannot open ${this.options.url}: ${describe(cause)}`, { cause }));
      return;
    }
    this.ws = ws;
    this.subscribed = false;
    const connectTimeout = this.options.connectTimeoutMs ?? 15_000;
    this.connectTimer = this.clock.setTimeout(() => {
      this.connectTimer = undefined;
      if (generation !== this.generation) return;
      this.reconnect(new ChanspecError("connect_timeout", `not subscribed within ${connectTimeout} ms`));
    }, connectTimeout);
    ws.onopen = () => {
      if (generation !== this.generation) return;
      this.sendSubscribe(token);
      this.startPing();
    };
    ws.onmessage = (event: { data?: unknown }) => {
      if (generation !== this.generation) return;
      this.onFrame(event.data);
    };
    ws.onerror = () => {
      /* the close event follows and carries what there is to know */
    };
    ws.onclose = (event: { code?: number; reason?: string }) => {
      if (generation !== this.generation) return;
      this.onSocketClosed(event.code ?? 1006, event.reason ?? "");
    };
  }

  private async fetchToken(): Promise<string> {
    const source = this.options.token;
    const token = typeof source === "function" ? await source() : source;
    if (typeof token !== "string" || token === "") throw new TypeError("the token is not a non-empty string");
    return token;
  }

  private sendSubscribe(token: string): void {
    this.subId = this.nextId++;
    this.subscribed = false;
    this.resumeFrom = this.pos;
    const frame: ClientFrame = { type: "subscribe", id: this.subId, token };
    if (this.pos) frame.since = { epoch: this.pos.epoch, offset: this.pos.offset };
    this.send(frame);
  }

  private send(frame: ClientFrame): void {
    try {
      this.ws?.send(encodeFrame(frame));
    } catch {
      /* a socket closing under us: its close event handles it */
    }
  }

  /** Drops the current socket (its callbacks become no-ops) and every timer. */
  private abandonSocket(code: number, reason: string): void {
    this.generation++;
    const ws = this.ws;
    this.ws = undefined;
    this.subscribed = false;
    for (const t of [this.reconnectTimer, this.pingTimer, this.pongTimer, this.refreshTimer, this.connectTimer]) {
      if (t !== undefined) this.clock.clearTimeout(t);
    }
    this.reconnectTimer = this.pingTimer = this.pongTimer = this.refreshTimer = this.connectTimer = undefined;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      // Not null: the `ws` package emits `error` when a socket still connecting is closed,
      // and an EventEmitter with no error listener throws.
      ws.onerror = ignore;
      try {
        ws.close(code, reason);
      } catch {
        /* already closed */
      }
    }
  }

  private reconnect(why: ChanspecError): void {
    if (this.finished) return;
    this.abandonSocket(4000, why.code);
    const delayMs = this.backoff.next();
    this.setState("reconnecting");
    this.emitStatus({ status: "reconnecting", error: why, delayMs });
    const generation = this.generation;
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (generation !== this.generation || this.finished) return;
      void this.connect();
    }, delayMs);
  }

  private fail(error: ChanspecError): void {
    if (this.finished) return;
    this.abandonSocket(1000, error.code);
    this.failure = error;
    this.setState("error");
    this.emitStatus({ status: "error", error });
    this.queue.end(error);
  }

  private onSocketClosed(code: number, reason: string): void {
    if (code === CLOSE_SLOW_CONSUMER) {
      this.reconnect(new ChanspecError("slow_consumer", "the hub disconnected this subscriber: it did not read fast enough (4008)"));
    } else if (this.hubClosing) {
      this.hubClosing = false;
      this.reconnect(new ChanspecError("hub_closing", "the hub shut down"));
    } else {
      this.reconnect(new ChanspecError("connection", `the connection closed (${code}${reason ? ` ${reason}` : ""})`));
    }
  }
  private hubClosing = false;

  // --- frames -----------------------------------------------------------------------------

  private onFrame(raw: unknown): void {
    // A batched message (`chanspec.v1.batch`, `.compact`) holds several frames, one per line; JSON text
    // never holds a raw newline, so splitting is safe whatever was negotiated.
    if (typeof raw === "string" && raw.includes("\n")) {
      for (const line of raw.split("\n")) this.onFrame(line);
      return;
    }
    const frame = parseFrame(raw, this.channelName);
    if (!frame) {
      this.report(new ChanspecError("invalid_frame", `unreadable frame from the hub: ${String(raw).slice(0, 200)}`));
      return;
    }
    switch (frame.type) {
      case "subscribed":
        return this.onSubscribed(frame);
      case "message":
        return this.onMessage(frame);
      case "status":
        return this.onStatusFrame(frame);
      case "unsubscribed":
        return this.onUnsubscribed(frame);
      case "error":
        return this.onHubError(frame);
      case "pong":
        if (this.pongTimer !== undefined) this.clock.clearTimeout(this.pongTimer);
        this.pongTimer = undefined;
        return;
      case "closing":
        this.hubClosing = true;
        return;
    }
  }

  private onSubscribed(frame: Extract<ServerFrame, { type: "subscribed" }>): void {
    if (frame.id !== this.subId) return;
    if (frame.channel !== this.channelName) {
      return this.fail(
        new ChanspecError("wrong_channel", `the token is for channel ${frame.channel}, not ${this.channelName}`),
      );
    }
    const missing = [...this.topics].filter((t) => !frame.topics.includes(t));
    if (missing.length > 0) {
      return this.fail(new ChanspecError("topic_not_allowed", `the token does not allow topic(s) ${missing.join(", ")}`));
    }
    // A second `subscribed` for a live subscription: the channel's epoch changed under it
    // (e.g. Redis restarted without its data). It replaces the position, and is a gap.
    const again = this.subscribed;
    const since = again ? this.pos : this.resumeFrom;
    this.subscribed = true;
    if (this.connectTimer !== undefined) this.clock.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.authFailures = 0;
    this.backoff.reset();
    const position = { epoch: frame.epoch, offset: frame.offset };
    this.pos = position;
    if (!again) {
      this.setState("open");
      this.emitStatus({ status: "open" });
    }
    if (since) {
      // A new epoch is a gap whatever the hub says: offsets restarted.
      const recovered = frame.recovered && frame.epoch === since.epoch;
      this.options.onRecovered?.({ recovered, since, position });
    }
    this.scheduleRefresh();
    if (frame.status !== undefined) {
      this.deliverStatus(frame.status, frame.result, frame.error, frame.offset, undefined);
    }
  }

  private onStatusFrame(frame: Extract<ServerFrame, { type: "status" }>): void {
    if (frame.id !== this.subId || !this.subscribed || !this.pos) return;
    if (frame.offset <= this.pos.offset) return; // a duplicate (replay overlap)
    this.pos = { epoch: this.pos.epoch, offset: frame.offset };
    this.deliverStatus(frame.status, frame.result, frame.error, frame.offset, frame.publishedAt);
  }

  /** A status, its result or error checked by the descriptor's lifecycle guards. */
  private deliverStatus(status: RunStatus, result: unknown, error: unknown, offset: number, publishedAt: string | undefined): void {
    const lifecycle = this.options.channel.lifecycle;
    if (this.options.validate !== false && lifecycle) {
      const bad =
        (result !== undefined && !lifecycle.result(result) && "result") || (error !== undefined && !lifecycle.error(error) && "error");
      if (bad) {
        const why = this.options.channel.explain ? `: ${this.options.channel.explain() ?? "no reason given"}` : "";
        const e = new ChanspecError("invalid_payload", `the ${bad} of the run's ${status} status does not match its type${why}`);
        const invalid = { topic: "$status", data: bad === "result" ? result : error, offset, publishedAt: publishedAt ?? "", error: e };
        if (this.options.onInvalid) this.options.onInvalid(invalid);
        else this.report(e);
        return;
      }
    }
    this.run = status;
    const item: Record<string, unknown> = { kind: "status", status, offset };
    if (result !== undefined) item.result = result;
    if (error !== undefined) item.error = error;
    if (publishedAt !== undefined) item.publishedAt = publishedAt;
    const typed = item as unknown as StatusItem<D> as Item<D, T>;
    if (this.options.onMessage) this.options.onMessage(typed);
    else this.queue.push(typed);
    if (isTerminal(status) && this.options.closeOnTerminal) this.close();
  }

  private onMessage(frame: Extract<ServerFrame, { type: "message" }>): void {
    if (frame.id !== this.subId || !this.subscribed || !this.pos) return;
    if (frame.offset <= this.pos.offset) return; // a duplicate (replay overlap)
    this.pos = { epoch: this.pos.epoch, offset: frame.offset };
    if (!this.topics.has(frame.topic)) return;
    if (this.options.validate !== false) {
      const guard = this.options.channel.guards[frame.topic];
      if (!guard || !guard(frame.data)) {
        const error = new ChanspecError(
          "invalid_payload",
          guard
            ? `message ${frame.offset} on topic ${frame.topic} does not match its type` +
                (this.options.channel.explain ? `: ${this.options.channel.explain() ?? "no reason given"}` : "")
            : `no guard for topic ${frame.topic}`,
        );
        const invalid = { topic: frame.topic, data: frame.data, offset: frame.offset, publishedAt: frame.publishedAt, error };
        if (this.options.onInvalid) this.options.onInvalid(invalid);
        else this.report(error);
        return;
      }
    }
    // The first message of a `pending` run means it runs (the hub sends no frame for that).
    if (this.run === "pending") this.deliverStatus("running", undefined, undefined, frame.offset, frame.publishedAt);
    const message = {
      kind: "message",
      topic: frame.topic,
      data: frame.data,
      offset: frame.offset,
      publishedAt: frame.publishedAt,
    } as Message<D, T>;
    if (this.options.onMessage) this.options.onMessage(message);
    else this.queue.push(message);
  }

  private onUnsubscribed(frame: Extract<ServerFrame, { type: "unsubscribed" }>): void {
    if (frame.id !== this.subId) return;
    this.subscribed = false;
    if (frame.reason === "token_expired" && typeof this.options.token === "function") {
      // No refresh made it in time: subscribe again on the same socket with a new token.
      const generation = this.generation;
      this.fetchToken().then(
        (token) => {
          if (generation !== this.generation || this.finished) return;
          this.token = token;
          this.sendSubscribe(token);
        },
        (cause) => {
          if (generation !== this.generation) return;
          this.reconnect(new ChanspecError("token", `the token factory failed: ${describe(cause)}`, { cause }));
        },
      );
      return;
    }
    if (frame.reason === "token_expired") {
      return this.fail(new ChanspecError("token_expired", "the token expired; pass a token function to refresh it"));
    }
    this.fail(new ChanspecError("unsubscribed", `the hub ended the subscription (${frame.reason})`));
  }

  private onHubError(frame: Extract<ServerFrame, { type: "error" }>): void {
    const error = new ChanspecError(frame.code, frame.message || frame.code);
    if (frame.id !== undefined && frame.id !== this.subId) return this.report(error);
    if (frame.code === "unavailable") return this.reconnect(error);
    if (this.subscribed || frame.id === undefined) {
      // A refused refresh or ping: the subscription goes on; expiry, if it comes, is handled then.
      return this.report(error);
    }
    // The subscribe was refused.
    if ((frame.code === "invalid_token" || frame.code === "token_expired") && typeof this.options.token === "function") {
      if (++this.authFailures < MAX_AUTH_FAILURES) return this.reconnect(error);
    }
    this.fail(error);
  }

  // --- keepalive and refresh --------------------------------------------------------------

  private startPing(): void {
    const interval = this.options.pingIntervalMs ?? 25_000;
    const timeout = this.options.pongTimeoutMs ?? 10_000;
    const generation = this.generation;
    const tick = () => {
      if (generation !== this.generation) return;
      this.send({ type: "ping" });
      if (this.pongTimer === undefined) {
        this.pongTimer = this.clock.setTimeout(() => {
          this.pongTimer = undefined;
          if (generation !== this.generation) return;
          this.reconnect(new ChanspecError("ping_timeout", `no pong within ${timeout} ms`));
        }, timeout);
      }
      this.pingTimer = this.clock.setTimeout(tick, interval);
    };
    this.pingTimer = this.clock.setTimeout(tick, interval);
  }

  private scheduleRefresh(retryMs?: number): void {
    if (this.refreshTimer !== undefined) this.clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (typeof this.options.token !== "function" || this.token === undefined) return;
    const delay = retryMs ?? refreshDelayMs(this.token, this.clock.now(), this.options.refreshLeadMs);
    if (delay === undefined) return;
    const generation = this.generation;
    this.refreshTimer = this.clock.setTimeout(() => {
      this.refreshTimer = undefined;
      if (generation !== this.generation) return;
      void this.refresh(generation);
    }, delay);
  }

  private async refresh(generation: number): Promise<void> {
    let token: string;
    try {
      token = await this.fetchToken();
    } catch (cause) {
      if (generation !== this.generation || this.finished) return;
      this.report(new ChanspecError("token", `the token factory failed during refresh: ${describe(cause)}`, { cause }));
      const left = refreshDelayMs(this.token ?? "", this.clock.now(), 0);
      if (left !== undefined && left > 1000) this.scheduleRefresh(Math.min(5000, Math.floor(left / 2)));
      return;
    }
    if (generation !== this.generation || this.finished || !this.subscribed) return;
    if (token === this.token) return; // nothing new to send; expiry will tell
    this.token = token;
    this.send({ type: "refresh", id: this.subId, token });
    this.scheduleRefresh();
  }

  // --- reporting --------------------------------------------------------------------------

  private setState(state: SubscriptionStatus): void {
    this.state = state;
  }

  private emitStatus(event: StatusEvent): void {
    try {
      this.options.onStatus?.(event);
    } catch {
      /* a throwing callback must not break the connection */
    }
  }

  private report(error: ChanspecError): void {
    this.options.onError?.(error);
  }
}

function ignore(): void {}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
