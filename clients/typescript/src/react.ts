import { useCallback, useEffect, useMemo, useReducer, useRef } from "react";
import type { BackoffOptions } from "./backoff.js";
import {
  type ChannelDescriptor,
  type Message,
  type ParamsOf,
  type ParamsOption,
  type ResultOf,
  type RunErrorOf,
  type StatusItem,
  type TopicOf,
  channelName,
  chosenTopics,
} from "./descriptor.js";
import { ChanspecError } from "./errors.js";
import { type Position, type RunStatus, isTerminal } from "./protocol.js";
import {
  type InvalidMessage,
  type RecoveryEvent,
  type StatusEvent,
  type Subscription,
  type TokenSource,
  type WebSocketConstructor,
  subscribe,
} from "./subscription.js";

/** Why the hook is not connected on purpose: the page is hidden (`pauseOnHidden`), or `enabled` is `false`. */
export type PauseReason = "hidden" | "disabled" | null;

export type ConnectionStatus = "idle" | "connecting" | "open" | "paused" | "closed" | "error";

export interface UseRealtimeOptionsBase<D extends ChannelDescriptor, T extends TopicOf<D>> {
  readonly channel: D;
  /** Default: every topic of the channel. */
  readonly topics?: readonly T[];
  /** A token, or a function fetching one. Read from a ref: a new function each render does not reconnect. */
  readonly token: TokenSource;
  /** The hub's WebSocket URL. */
  readonly url: string;
  /** `false` keeps the hook idle (no socket); default `true`. */
  readonly enabled?: boolean;
  /** How many messages `all` and each `listByTopic` list keep (the newest). Default 100. */
  readonly historyLimit?: number;
  /**
   * Close the socket while the document is hidden and resume (with `since`) when it is
   * visible. Default `false`: a hidden tab keeps receiving; with `true`, nothing is lost
   * either, since the resume replays what was missed (within the hub's history).
   */
  readonly pauseOnHidden?: boolean;
  /**
   * Render at most this often (ms): messages arriving in between are applied together, and
   * `messages.delta` holds them. Default 0: every message renders.
   */
  readonly bufferInterval?: number;
  /** On a lifecycle channel: stop (no reconnects) once the run has ended. Default `true`. */
  readonly autoCloseOnTerminal?: boolean;
  /**
   * Where to resume when the hook starts on a channel, e.g. a `position` saved before the
   * page was reloaded: the messages after it that the hub still holds are replayed first,
   * and `recovered` tells whether any were lost. A function gets the channel's runtime name
   * (positions belong to one channel). Read when the channel changes, not on every render.
   */
  readonly since?: Position | ((channel: string) => Position | undefined);
  readonly WebSocket?: WebSocketConstructor;
  readonly validate?: boolean;
  readonly backoff?: BackoffOptions;
}

export type UseRealtimeOptions<D extends ChannelDescriptor, T extends TopicOf<D> = TopicOf<D>> = UseRealtimeOptionsBase<D, T> &
  ParamsOption<D>;

export interface RealtimeMessages<M extends { topic: string }> {
  /** Every kept message, oldest first. */
  readonly all: readonly M[];
  /** The newest message per topic (as in Inngest's `messages.byTopic`). */
  readonly byTopic: { readonly [K in M["topic"]]?: Extract<M, { topic: K }> };
  /** Kept messages per topic, oldest first. */
  readonly listByTopic: { readonly [K in M["topic"]]: readonly Extract<M, { topic: K }>[] };
  /** The messages of the latest render (one, or a `bufferInterval`'s worth). */
  readonly delta: readonly M[];
  /** The newest message per topic: the same as `byTopic` (kept for code written before it). */
  readonly last: { readonly [K in M["topic"]]?: Extract<M, { topic: K }> };
}

export interface UseRealtimeResult<M extends { topic: string }, R = never, E = never> {
  readonly connectionStatus: ConnectionStatus;
  /**
   * On a lifecycle channel: the run's status, `unknown` until the hub first answers (on any
   * other channel it stays `unknown`). A page opened after the run ended gets its end at once.
   */
  readonly runStatus: RunStatus | "unknown";
  /** A completed run's result, typed by the lifecycle's `result` schema. */
  readonly result: R | undefined;
  /** A failed run's error, typed by the lifecycle's `error` schema. */
  readonly runError: E | undefined;
  /** Not connected on purpose: see `pauseReason`. */
  readonly isPaused: boolean;
  readonly pauseReason: PauseReason;
  readonly messages: RealtimeMessages<M>;
  /** `false` after a resume that lost messages (until `reset()`); `undefined` before any resume. */
  readonly recovered: boolean | undefined;
  /** The last error: the one that ended the subscription, or the reason of the latest reconnect. */
  readonly error: ChanspecError | undefined;
  /** Clears messages, `recovered` and `error` (the connection stays). */
  readonly reset: () => void;
  /** The position of the newest message (or of the subscription, before any): save it to pass as `since` later. */
  readonly position: Position | undefined;
}

interface State {
  status: ConnectionStatus;
  all: { topic: string }[];
  lists: Record<string, { topic: string }[]>;
  last: Record<string, { topic: string }>;
  delta: { topic: string }[];
  run: RunStatus | "unknown";
  result: unknown;
  runError: unknown;
  recovered: boolean | undefined;
  error: ChanspecError | undefined;
  position: Position | undefined;
  /** The channel `position` belongs to. */
  positionOf: string | undefined;
}

type Action =
  | { type: "status"; status: ConnectionStatus; error?: ChanspecError }
  | { type: "messages"; messages: { topic: string }[]; limit: number; position: Position | undefined; channel: string }
  | { type: "run"; status: RunStatus | "unknown"; result: unknown; error: unknown }
  | { type: "position"; position: Position | undefined; channel: string }
  | { type: "recovered"; recovered: boolean }
  | { type: "invalid"; error: ChanspecError }
  | { type: "reset" };

const EMPTY: readonly never[] = Object.freeze([]);

const initial: State = {
  status: "idle",
  all: [],
  lists: {},
  last: {},
  delta: [],
  run: "unknown",
  result: undefined,
  runError: undefined,
  recovered: undefined,
  error: undefined,
  position: undefined,
  positionOf: undefined,
};

function bounded<X>(list: X[], items: X[], limit: number): X[] {
  if (limit <= 0) return [];
  const next = list.concat(items);
  return next.length > limit ? next.slice(next.length - limit) : next;
}

function reducer(state: State, action: Action): State {
  switch (action.type) {
    case "status":
      if (state.status === action.status && action.error === undefined) return state;
      // An open connection clears the reason of the reconnect before it.
      return { ...state, status: action.status, error: action.status === "open" ? undefined : (action.error ?? state.error) };
    case "messages": {
      const { messages, limit } = action;
      const lists = { ...state.lists };
      const last = { ...state.last };
      for (const m of messages) {
        last[m.topic] = m;
      }
      for (const topic of new Set(messages.map((m) => m.topic))) {
        lists[topic] = bounded(lists[topic] ?? [], messages.filter((m) => m.topic === topic), limit);
      }
      return {
        ...state,
        all: bounded(state.all, messages, limit),
        lists,
        last,
        delta: messages,
        position: action.position ?? state.position,
        positionOf: action.channel,
      };
    }
    case "run":
      if (state.run === action.status && state.result === action.result && state.runError === action.error) return state;
      return { ...state, run: action.status, result: action.result, runError: action.error };
    case "position":
      if (action.position === state.position && action.channel === state.positionOf) return state;
      return { ...state, position: action.position, positionOf: action.channel };
    case "recovered":
      // A loss stays visible until reset().
      return { ...state, recovered: state.recovered === false ? false : action.recovered };
    case "invalid":
      return { ...state, error: action.error };
    case "reset":
      return { ...state, all: [], lists: {}, last: {}, delta: [], recovered: undefined, error: undefined };
  }
}

interface VisibilityDocument {
  readonly hidden: boolean;
  addEventListener(type: "visibilitychange", listener: () => void): void;
  removeEventListener(type: "visibilitychange", listener: () => void): void;
}

/**
 * Subscribes while mounted (and `enabled`). The connection is keyed on url, channel name,
 * topics and `enabled` only: new `params` objects with the same values, a new token function
 * or new callbacks each render change nothing.
 */
export function useRealtime<D extends ChannelDescriptor, T extends TopicOf<D> = TopicOf<D>>(
  options: UseRealtimeOptions<D, T>,
): UseRealtimeResult<Message<D, T>, ResultOf<D>, RunErrorOf<D>> {
  const { channel, url, enabled = true, pauseOnHidden = false, historyLimit = 100, bufferInterval = 0, autoCloseOnTerminal = true } = options;
  const [state, dispatch] = useReducer(reducer, initial);

  // Everything the connection reads but is not keyed on lives in a ref.
  const latest = useRef(options);
  latest.current = options;
  const limitRef = useRef(historyLimit);
  limitRef.current = historyLimit;

  let name: string | undefined;
  let nameError: ChanspecError | undefined;
  let topics: readonly string[] = [];
  try {
    name = channelName(channel, options.params as ParamsOf<D>);
    topics = chosenTopics(channel, options.topics);
  } catch (cause) {
    nameError = new ChanspecError("invalid_params", cause instanceof Error ? cause.message : String(cause), { cause });
  }
  const topicsKey = [...topics].sort().join(",");
  const key = JSON.stringify([url, name ?? null, topicsKey, enabled, pauseOnHidden, bufferInterval, autoCloseOnTerminal]);

  // The position survives pauses and reconnects of the same channel, not a change of channel.
  const resume = useRef<{ name: string | undefined; position: Position | undefined; ended: boolean }>({
    name: undefined,
    position: undefined,
    ended: false,
  });

  useEffect(() => {
    if (!enabled) {
      dispatch({ type: "status", status: "idle" });
      return;
    }
    if (nameError || name === undefined) {
      dispatch({ type: "status", status: "error", error: nameError });
      return;
    }
    if (resume.current.name !== name) {
      // Another channel: its messages and position start afresh.
      if (resume.current.name !== undefined) {
        dispatch({ type: "reset" });
        dispatch({ type: "run", status: "unknown", result: undefined, error: undefined });
      }
      const since = latest.current.since;
      resume.current = { name, position: typeof since === "function" ? since(name) : since, ended: false };
    }
    const current = resume.current;
    const doc = (globalThis as { document?: VisibilityDocument }).document;
    let disposed = false;
    let sub: Subscription<unknown> | undefined;
    // Messages waiting for the next render (with `bufferInterval`).
    let buffer: { topic: string }[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      flushTimer = undefined;
      if (disposed || buffer.length === 0) return;
      const messages = buffer;
      buffer = [];
      dispatch({ type: "messages", messages, limit: limitRef.current, position: current.position, channel: current.name ?? "" });
    };

    const start = () => {
      // A run that has ended is not reopened (autoCloseOnTerminal).
      if (current.ended) {
        dispatch({ type: "status", status: "closed" });
        return;
      }
      const o = latest.current;
      try {
        sub = open(o);
      } catch (cause) {
        const error = cause instanceof ChanspecError ? cause : new ChanspecError("connection", cause instanceof Error ? cause.message : String(cause), { cause });
        dispatch({ type: "status", status: "error", error });
      }
    };
    const open = (o: UseRealtimeOptions<D, T>) =>
      subscribe<D, T>({
        url,
        channel: o.channel,
        params: o.params,
        topics: o.topics,
        since: current.position,
        WebSocket: o.WebSocket,
        validate: o.validate,
        backoff: o.backoff,
        token: () => {
          const t = latest.current.token;
          return typeof t === "function" ? t() : t;
        },
        onStatus: (e: StatusEvent) => {
          if (disposed) return;
          const status = e.status === "reconnecting" ? "connecting" : e.status;
          dispatch({ type: "status", status, error: e.error });
          if (status === "open" && sub?.position) dispatch({ type: "position", position: sub.position, channel: current.name ?? "" });
        },
        onRecovered: (e: RecoveryEvent) => {
          if (disposed) return;
          dispatch({ type: "recovered", recovered: e.recovered });
          // A new epoch under a live subscription moves the position without a message.
          current.position = e.position;
          dispatch({ type: "position", position: e.position, channel: current.name ?? "" });
        },
        onInvalid: (m: InvalidMessage) => {
          if (disposed) return;
          dispatch({ type: "invalid", error: m.error });
          // Passed over: a resume from here does not replay it.
          current.position = sub?.position ?? current.position;
          dispatch({ type: "position", position: current.position, channel: current.name ?? "" });
        },
        closeOnTerminal: autoCloseOnTerminal,
        onMessage: (item: { kind: string }) => {
          if (disposed) return;
          current.position = sub?.position ?? current.position;
          if (item.kind === "status") {
            const s = item as unknown as StatusItem<D>;
            // Messages before the change render first.
            flush();
            dispatch({ type: "run", status: s.status, result: s.result, error: s.error });
            if (isTerminal(s.status) && autoCloseOnTerminal) current.ended = true;
            return;
          }
          buffer.push(item as unknown as { topic: string });
          if (bufferInterval <= 0) flush();
          else if (flushTimer === undefined) flushTimer = setTimeout(flush, bufferInterval);
        },
      } as unknown as Parameters<typeof subscribe<D, T>>[0]);
    const stop = () => {
      if (sub) {
        current.position = sub.position ?? current.position;
        sub.close();
        sub = undefined;
      }
    };
    const onVisibility = () => {
      if (disposed || !doc) return;
      if (doc.hidden) {
        stop();
        dispatch({ type: "status", status: "paused" });
      } else if (!sub) {
        start();
      }
    };

    if (pauseOnHidden && doc) doc.addEventListener("visibilitychange", onVisibility);
    if (pauseOnHidden && doc?.hidden) dispatch({ type: "status", status: "paused" });
    else start();

    return () => {
      flush();
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      disposed = true;
      if (pauseOnHidden && doc) doc.removeEventListener("visibilitychange", onVisibility);
      stop();
    };
    // The key holds everything the connection depends on.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const reset = useCallback(() => dispatch({ type: "reset" }), []);
  const messages = useMemo(() => {
    // Every chosen topic has a list, empty until its first message.
    const listByTopic: Record<string, readonly { topic: string }[]> = {};
    for (const t of topicsKey ? topicsKey.split(",") : []) listByTopic[t] = state.lists[t] ?? EMPTY;
    return { all: state.all, byTopic: state.last, listByTopic, delta: state.delta, last: state.last } as unknown as RealtimeMessages<
      Message<D, T>
    >;
  }, [state.all, state.lists, state.last, state.delta, topicsKey]);
  const connectionStatus = enabled ? state.status : "idle";
  const pauseReason: PauseReason = !enabled ? "disabled" : connectionStatus === "paused" ? "hidden" : null;
  return {
    connectionStatus,
    runStatus: state.run,
    result: state.result as ResultOf<D> | undefined,
    runError: state.runError as RunErrorOf<D> | undefined,
    isPaused: pauseReason !== null,
    pauseReason,
    messages,
    recovered: state.recovered,
    error: nameError ?? state.error,
    reset,
    // Another channel's position is never shown, not even for the render before the effect.
    position: state.positionOf === name ? state.position : undefined,
  };
}
