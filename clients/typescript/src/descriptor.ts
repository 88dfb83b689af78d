import type { RunStatus } from "./protocol.js";

/**
 * The structural type of a generated channel descriptor. Generated modules import nothing:
 * they export plain objects of this shape, and the client accepts any such object.
 */

/** A generated type guard, e.g. `isPipelineStatus(x): x is PipelineStatus`. */
export type Guard = (x: unknown) => boolean;

export interface ChannelDescriptor {
  /** The channel's identifier in the definition, e.g. `pipeline`. */
  readonly id: string;
  /** The runtime name template, e.g. `pipeline:{runId}`. */
  readonly template: string;
  /** A static name (`announcements`), or a function of the params building it. */
  readonly name: string | ((params: any) => string);
  /** Every topic of the channel. */
  readonly topics: readonly string[];
  /** One guard per topic. */
  readonly guards: { readonly [topic: string]: Guard };
  /** Why the last guard of the descriptor's module refused a value (`/pointer: reason`), if it says. */
  readonly explain?: () => string | undefined;
  /** A channel with a run lifecycle: guards of a completed run's result and a failed run's error. */
  readonly lifecycle?: { readonly result: Guard; readonly error: Guard };
}

/** The result type of a lifecycle channel's completed run (`never` without a lifecycle). */
export type ResultOf<D extends ChannelDescriptor> = D["lifecycle"] extends { readonly result: (x: unknown) => x is infer R }
  ? R
  : never;

/** The error type of a lifecycle channel's failed run (`never` without a lifecycle). */
export type RunErrorOf<D extends ChannelDescriptor> = D["lifecycle"] extends { readonly error: (x: unknown) => x is infer E }
  ? E
  : never;

/** Whether the channel has a run lifecycle. */
export type HasLifecycle<D extends ChannelDescriptor> = D["lifecycle"] extends { readonly result: Guard } ? true : false;

/** A change of a lifecycle channel's run status, delivered beside its messages. */
export interface StatusItem<D extends ChannelDescriptor> {
  readonly kind: "status";
  readonly status: RunStatus;
  /** A completed run's result (typed by the lifecycle's `result` schema). */
  readonly result?: ResultOf<D>;
  /** A failed run's error (typed by the lifecycle's `error` schema). */
  readonly error?: RunErrorOf<D>;
  /** The offset of the change (the subscription's position, for the status it subscribed into). */
  readonly offset: number;
  /** When the hub accepted the change; absent for the status told on subscribing. */
  readonly publishedAt?: string;
}

/** What a subscription yields: its messages, and status changes on a lifecycle channel. */
export type Item<D extends ChannelDescriptor, T extends TopicOf<D> = TopicOf<D>> =
  | Message<D, T>
  | (HasLifecycle<D> extends true ? StatusItem<D> : never);

/** The params a channel's name needs, or `undefined` for a static channel. */
export type ParamsOf<D extends ChannelDescriptor> = D["name"] extends (params: infer P) => string ? P : undefined;

/** The union of a channel's topic names. */
export type TopicOf<D extends ChannelDescriptor> = D["topics"][number];

/** The payload type of one topic, read from its guard (`unknown` without one). */
export type PayloadOf<D extends ChannelDescriptor, K extends string> = K extends keyof D["guards"]
  ? D["guards"][K] extends (x: unknown) => x is infer P
    ? P
    : unknown
  : unknown;

/** A received message, a union discriminated by `topic` over the topics `T`. */
export type Message<D extends ChannelDescriptor, T extends TopicOf<D> = TopicOf<D>> = {
  [K in T]: {
    readonly kind: "message";
    readonly topic: K;
    readonly data: PayloadOf<D, K>;
    /** The message's offset in its channel (gap-free per channel and epoch). */
    readonly offset: number;
    /** When the hub accepted it: RFC 3339, UTC. */
    readonly publishedAt: string;
  };
}[T];

/** `{ params }` when the channel has params, nothing otherwise. */
export type ParamsOption<D extends ChannelDescriptor> = ParamsOf<D> extends undefined
  ? { readonly params?: undefined }
  : { readonly params: ParamsOf<D> };

/** The runtime name of a channel: the static name, or the template filled with `params`. */
export function channelName<D extends ChannelDescriptor>(channel: D, params: ParamsOf<D>): string {
  const name = channel.name;
  if (typeof name === "string") return name;
  if (params === undefined || params === null) {
    throw new TypeError(`channel ${channel.id} (${channel.template}) needs params`);
  }
  return name(params);
}

/** Checks a topic subset against the descriptor; defaults to every topic. */
export function chosenTopics(channel: ChannelDescriptor, topics: readonly string[] | undefined): readonly string[] {
  if (topics === undefined) return channel.topics;
  if (topics.length === 0) throw new RangeError(`no topics chosen for channel ${channel.id}`);
  for (const t of topics) {
    if (!channel.topics.includes(t)) {
      throw new RangeError(`channel ${channel.id} has no topic ${JSON.stringify(t)} (it has ${channel.topics.join(", ")})`);
    }
  }
  return [...new Set(topics)];
}
