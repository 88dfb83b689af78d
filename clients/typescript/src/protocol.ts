/**
 * The hub's WebSocket protocol (`GET /v1/ws`, JSON text frames with a `type`), as described
 * in docs/protocol.md and schemas/protocol.schema.json of the chanspec repository.
 */

/** A position in a channel: the last offset seen, within an epoch. */
export interface Position {
  readonly epoch: string;
  readonly offset: number;
}

export type ClientFrame =
  | { type: "subscribe"; id: number; token: string; since?: Position }
  | { type: "unsubscribe"; id: number }
  | { type: "refresh"; id: number; token: string }
  | { type: "ping" };

/** Error codes the hub sends in `error` frames. */
export type ErrorCode =
  | "invalid_frame"
  | "invalid_token"
  | "token_expired"
  | "forbidden"
  | "too_large"
  | "too_many_subscriptions"
  | "not_found"
  | "invalid_payload"
  | "unauthorized"
  | "unavailable"
  | "channel_closed"
  | "timeout";

/** A run's status on a channel with a lifecycle. */
export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled";

const RUN_STATUSES: readonly string[] = ["pending", "running", "completed", "failed", "cancelled"];

/** `completed`, `failed` or `cancelled`: the run has ended. */
export function isTerminal(status: RunStatus | "unknown"): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

export type ServerFrame =
  | {
      type: "subscribed";
      id: number;
      channel: string;
      topics: string[];
      epoch: string;
      /** The last offset the client already has; later messages have greater offsets. */
      offset: number;
      recovered: boolean;
      /** On a lifecycle channel: the run's status now, with its result or error once ended. */
      status?: RunStatus;
      result?: unknown;
      error?: unknown;
    }
  | {
      type: "status";
      id: number;
      channel: string;
      status: RunStatus;
      result?: unknown;
      error?: unknown;
      offset: number;
      publishedAt: string;
    }
  | {
      type: "message";
      id: number;
      /** A compact message (`chanspec.v1.compact`) does not carry it: `parseFrame` is told it. */
      channel: string;
      topic: string;
      offset: number;
      data: unknown;
      /** RFC 3339, UTC, milliseconds. */
      publishedAt: string;
    }
  | { type: "unsubscribed"; id: number; reason: string }
  | { type: "error"; id?: number; code: ErrorCode | (string & {}); message: string }
  | { type: "pong" }
  | { type: "closing" };

/**
 * The WebSocket subprotocol the client offers: the hub may then send several frames in one
 * WebSocket message, joined by "\n".
 */
export const BATCH_PROTOCOL = "chanspec.v1.batch";

/**
 * The WebSocket subprotocol the client offers first: batched as {@link BATCH_PROTOCOL}, and each
 * `message` frame sent as the array `[id, topic, offset, publishedAt, data]` (`publishedAt` in
 * milliseconds since the Unix epoch). Every other frame is the same object.
 */
export const COMPACT_PROTOCOL = "chanspec.v1.compact";

/** The close code the hub uses for a subscriber whose queue filled (slow consumer). */
export const CLOSE_SLOW_CONSUMER = 4008;

export function encodeFrame(frame: ClientFrame): string {
  return JSON.stringify(frame);
}

const isInt = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
const isStr = (x: unknown): x is string => typeof x === "string";
const isRunStatus = (x: unknown): x is RunStatus => typeof x === "string" && RUN_STATUSES.includes(x);

/**
 * Parses one text frame from the hub; `undefined` for anything that is not a known frame.
 * `channel` is the subscription's channel, which compact messages do not repeat.
 */
export function parseFrame(text: unknown, channel = ""): ServerFrame | undefined {
  if (typeof text !== "string") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (Array.isArray(v)) return compactMessage(v, channel);
  if (typeof v !== "object" || v === null) return undefined;
  const f = v as Record<string, unknown>;
  switch (f.type) {
    case "subscribed":
      return isInt(f.id) && isStr(f.channel) && Array.isArray(f.topics) && f.topics.every(isStr) && isStr(f.epoch) &&
        isInt(f.offset) && typeof f.recovered === "boolean" && (f.status === undefined || isRunStatus(f.status))
        ? (f as ServerFrame)
        : undefined;
    case "status":
      return isInt(f.id) && isStr(f.channel) && isRunStatus(f.status) && isInt(f.offset) && isStr(f.publishedAt)
        ? (f as ServerFrame)
        : undefined;
    case "message":
      return isInt(f.id) && isStr(f.channel) && isStr(f.topic) && isInt(f.offset) && "data" in f && isStr(f.publishedAt)
        ? (f as ServerFrame)
        : undefined;
    case "unsubscribed":
      return isInt(f.id) && isStr(f.reason) ? (f as ServerFrame) : undefined;
    case "error":
      return (f.id === undefined || f.id === null || isInt(f.id)) && isStr(f.code)
        ? ({ type: "error", id: isInt(f.id) ? f.id : undefined, code: f.code, message: isStr(f.message) ? f.message : "" } as ServerFrame)
        : undefined;
    case "pong":
      return { type: "pong" };
    case "closing":
      return { type: "closing" };
    default:
      return undefined;
  }
}

/** A compact `message` frame, `[id, topic, offset, publishedAt, data]`, as the object frame. */
function compactMessage(v: unknown[], channel: string): ServerFrame | undefined {
  if (v.length !== 5) return undefined;
  const [id, topic, offset, at, data] = v;
  if (!isInt(id) || !isStr(topic) || !isInt(offset) || !isInt(at)) return undefined;
  const publishedAt = new Date(at);
  if (Number.isNaN(publishedAt.getTime())) return undefined;
  return { type: "message", id, channel, topic, offset, data, publishedAt: publishedAt.toISOString() };
}
