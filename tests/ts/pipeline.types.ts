// Type-level tests of the generated module for examples/pipeline (compiled by
// tests/generate_ts.rs under `tsc --strict`). Every `@ts-expect-error` line must be a type
// error: if it compiled, tsc would report the directive as unused and the test would fail.

import {
  announcements,
  decodePipeline,
  isPipelineStatus,
  pipeline,
  type PipelineMessage,
  type PipelineParams,
  type PipelineStatus,
  type PipelineTopics,
  type Token,
} from "../../target/ts-check/gen/pipeline.js";

// Channel names are typed by their params.
const name: `pipeline:${string}` = pipeline.name({ runId: "6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6" });
// @ts-expect-error a missing param
pipeline.name({});
// @ts-expect-error a param of the wrong type
pipeline.name({ runId: 7 });
// @ts-expect-error a param the channel does not have
pipeline.name({ runId: "x", stepId: "y" });
// A static channel has a constant name.
const staticName: "announcements" = announcements.name;
// @ts-expect-error a static channel's name is not a function
announcements.name({});

// Topic names are a readonly tuple of literals.
const topics: readonly ["status", "tokens"] = pipeline.topics;
// @ts-expect-error a topic the channel does not have
const wrongTopic: keyof PipelineTopics = "statuz";
// @ts-expect-error the tuple is readonly
pipeline.topics.push("x");

// Payloads are checked against their schema's type.
const ok: PipelineStatus = { step: "build", state: "running" };
// @ts-expect-error a value outside the enum
const badState: PipelineStatus = { step: "build", state: "done" };
// @ts-expect-error a missing required property
const missing: PipelineStatus = { state: "queued" };
// @ts-expect-error a property of the wrong type
const wrongType: Token = { token: 42 };

// The message union narrows by topic.
function show(m: PipelineMessage): string {
  switch (m.topic) {
    case "status":
      return m.data.state;
    case "tokens":
      return m.data.token;
  }
}
// @ts-expect-error the payload of another topic
const mixed: PipelineMessage = { topic: "tokens", data: { step: "a", state: "queued" } };

// Guards narrow unknown values; decoders give the message union.
function receive(topic: string, data: unknown): string | undefined {
  if (isPipelineStatus(data)) {
    const s: PipelineStatus = data;
    return s.step;
  }
  const m = decodePipeline(topic, data);
  return m === undefined ? undefined : show(m);
}

// A client can infer payload types from a descriptor alone, through its guards.
type PayloadOf<D extends { guards: object }, K extends keyof D["guards"]> = D["guards"][K] extends (
  x: unknown,
) => x is infer P
  ? P
  : never;
type ParamsOf<D extends { name: unknown }> = D["name"] extends (params: infer P) => string ? P : undefined;
const inferred: PayloadOf<typeof pipeline, "status"> = ok;
const inferredParams: ParamsOf<typeof pipeline> = { runId: "x" } satisfies PipelineParams;
const noParams: ParamsOf<typeof announcements> = undefined;
// @ts-expect-error the payload of `tokens` is not a status
const notInferred: PayloadOf<typeof pipeline, "tokens"> = ok;

export { name, staticName, topics, wrongTopic, badState, missing, wrongType, mixed, receive, inferred, inferredParams, noParams, notInferred };
