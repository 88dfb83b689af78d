// Type-level tests: `tsc -p tsconfig.test.json` checks them (expectTypeOf and @ts-expect-error);
// at run time vitest only sees that they compile and run.
import { describe, expectTypeOf, it } from "vitest";
import {
  type Item,
  type Message,
  type ParamsOf,
  type PayloadOf,
  type ResultOf,
  type RunErrorOf,
  type RunStatus,
  type StatusItem,
  type Subscription,
  type TopicOf,
  subscribe,
} from "../src/index.js";
import { type UseRealtimeResult, useRealtime } from "../src/react.js";
import { FakeSocket } from "./fake-socket.js";
import { type AnnouncementsPosted, announcements } from "./fixtures/announcements.js";
import {
  type PipelineParams,
  type PipelineStatus,
  type RunError,
  type RunSummary,
  type Token,
  pipeline,
  run,
} from "./fixtures/pipeline.js";

const base = { url: "ws://x/v1/ws", token: "t", WebSocket: FakeSocket } as const;

describe("types", () => {
  it("reads params, topics and payloads from a descriptor", () => {
    expectTypeOf<ParamsOf<typeof pipeline>>().toEqualTypeOf<PipelineParams>();
    expectTypeOf<ParamsOf<typeof announcements>>().toEqualTypeOf<undefined>();
    expectTypeOf<TopicOf<typeof pipeline>>().toEqualTypeOf<"status" | "tokens">();
    expectTypeOf<PayloadOf<typeof pipeline, "status">>().toEqualTypeOf<PipelineStatus>();
    expectTypeOf<PayloadOf<typeof pipeline, "tokens">>().toEqualTypeOf<Token>();
  });

  it("narrows messages to the chosen topics", () => {
    const sub = subscribe({ ...base, channel: pipeline, params: { runId: "7" }, topics: ["status"] });
    expectTypeOf(sub).toEqualTypeOf<Subscription<Message<typeof pipeline, "status">>>();
    type M = typeof sub extends Subscription<infer X> ? X : never;
    expectTypeOf<M["topic"]>().toEqualTypeOf<"status">();
    expectTypeOf<M["data"]>().toEqualTypeOf<PipelineStatus>();
    sub.close();
  });

  it("a message union is discriminated by topic", async () => {
    const sub = subscribe({ ...base, channel: pipeline, params: { runId: "7" } });
    sub.close();
    for await (const m of sub) {
      if (m.topic === "status") expectTypeOf(m.data).toEqualTypeOf<PipelineStatus>();
      else expectTypeOf(m.data).toEqualTypeOf<Token>();
      expectTypeOf(m.offset).toBeNumber();
      expectTypeOf(m.publishedAt).toBeString();
    }
  });

  it("refuses wrong topics, missing or wrong params", () => {
    const subs = [
      // @ts-expect-error: "logs" is not a topic of pipeline
      () => subscribe({ ...base, channel: pipeline, params: { runId: "7" }, topics: ["logs"] }),
      // @ts-expect-error: pipeline needs params
      () => subscribe({ ...base, channel: pipeline }),
      // @ts-expect-error: runId is a string
      () => subscribe({ ...base, channel: pipeline, params: { runId: 7 } }),
      // @ts-expect-error: a static channel takes no params
      () => subscribe({ ...base, channel: announcements, params: { runId: "7" } }),
      // @ts-expect-error: token is required
      () => subscribe({ url: "ws://x", channel: announcements }),
    ];
    void subs;
    const ok = () => subscribe({ ...base, channel: announcements, token: async () => "t" });
    void ok;
  });

  it("messages after narrowing cannot be of another topic", async () => {
    const sub = subscribe({ ...base, channel: pipeline, params: { runId: "7" }, topics: ["tokens"] });
    sub.close();
    for await (const m of sub) {
      // @ts-expect-error: only "tokens" was chosen
      if (m.topic === "status") void m;
      expectTypeOf(m.data.token).toBeString();
    }
  });

  it("useRealtime returns typed messages by topic", () => {
    type R = ReturnType<typeof useRealtime<typeof pipeline, "status">>;
    expectTypeOf<R>().toEqualTypeOf<UseRealtimeResult<Message<typeof pipeline, "status">>>();
    expectTypeOf<R["messages"]["all"][number]["data"]>().toEqualTypeOf<PipelineStatus>();
    expectTypeOf<R["messages"]["listByTopic"]["status"][number]["data"]>().toEqualTypeOf<PipelineStatus>();
    expectTypeOf<NonNullable<R["messages"]["byTopic"]["status"]>["data"]>().toEqualTypeOf<PipelineStatus>();
    expectTypeOf<R["messages"]["delta"][number]["data"]>().toEqualTypeOf<PipelineStatus>();
    expectTypeOf<NonNullable<R["messages"]["last"]["status"]>["data"]>().toEqualTypeOf<PipelineStatus>();
    expectTypeOf<R["connectionStatus"]>().toEqualTypeOf<"idle" | "connecting" | "open" | "paused" | "closed" | "error">();
    expectTypeOf<R["recovered"]>().toEqualTypeOf<boolean | undefined>();
    type A = ReturnType<typeof useRealtime<typeof announcements>>;
    expectTypeOf<A["messages"]["listByTopic"]["posted"][number]["data"]>().toEqualTypeOf<AnnouncementsPosted>();
    // @ts-expect-error: no such topic
    type Bad = R["messages"]["listByTopic"]["tokens"];
    // Inferred from the call, as a component writes it (never called here: hooks need a component).
    const component = () => {
      const r = useRealtime({ url: "ws://x", channel: pipeline, params: { runId: "7" }, topics: ["tokens"], token: async () => "t" });
      expectTypeOf(r.messages.all[0]!.topic).toEqualTypeOf<"tokens">();
      expectTypeOf(r.messages.listByTopic.tokens[0]!.data).toEqualTypeOf<Token>();
      expectTypeOf(r.messages.byTopic.tokens!.data).toEqualTypeOf<Token>();
      // @ts-expect-error: "status" was not chosen
      void r.messages.byTopic.status;
      // @ts-expect-error: pipeline needs params
      useRealtime({ url: "ws://x", channel: pipeline, token: "t" });
      return r;
    };
    void component;
  });

  it("a lifecycle channel types runStatus, result and runError; other channels have none", () => {
    expectTypeOf<ResultOf<typeof run>>().toEqualTypeOf<RunSummary>();
    expectTypeOf<RunErrorOf<typeof run>>().toEqualTypeOf<RunError>();
    expectTypeOf<ResultOf<typeof pipeline>>().toEqualTypeOf<never>();
    // Without a lifecycle, a subscription yields messages only; with one, status items too.
    expectTypeOf<Item<typeof pipeline>>().toEqualTypeOf<Message<typeof pipeline>>();
    expectTypeOf<Item<typeof run>>().toEqualTypeOf<Message<typeof run> | StatusItem<typeof run>>();
    const sub = subscribe({ ...base, channel: run, params: { runId: "7" } });
    sub.close();
    expectTypeOf(sub.runStatus).toEqualTypeOf<RunStatus | "unknown">();
    const component = () => {
      const r = useRealtime({ url: "ws://x", channel: run, params: { runId: "7" }, token: "t" });
      expectTypeOf(r.runStatus).toEqualTypeOf<RunStatus | "unknown">();
      expectTypeOf(r.result).toEqualTypeOf<RunSummary | undefined>();
      expectTypeOf(r.runError).toEqualTypeOf<RunError | undefined>();
      if (r.runStatus === "completed" && r.result) expectTypeOf(r.result.steps).toBeNumber();
      // The quick start's markup: the latest status message's data.
      expectTypeOf(r.messages.byTopic.status?.data.message).toEqualTypeOf<string | undefined>();
      const plain = useRealtime({ url: "ws://x", channel: pipeline, params: { runId: "7" }, token: "t" });
      expectTypeOf(plain.result).toEqualTypeOf<undefined>();
      // @ts-expect-error: a channel without a lifecycle has no result to read
      void plain.result.steps;
      return r;
    };
    void component;
    (async () => {
      for await (const item of sub) {
        if (item.kind === "status") {
          expectTypeOf(item.result).toEqualTypeOf<RunSummary | undefined>();
        } else {
          expectTypeOf(item.topic).toEqualTypeOf<"status" | "tokens">();
        }
      }
    })();
  });
});
