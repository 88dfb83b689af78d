// Type-level tests of the generated module for fixtures/valid/kitchen-sink.yaml: optional
// versus nullable, tuples, maps, literals, integer params, unions and recursion.

import {
  kitchenSink,
  type KitchenSinkEverything,
  type KitchenSinkMessage,
  type SinkShape,
  type SinkTreeNode,
} from "../../target/ts-check/gen/kitchen-sink.js";

type E = KitchenSinkEverything;

// Integer params are numbers.
kitchenSink.name({ tenant: "acme", shard: 3, itemId: "6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6" });
// @ts-expect-error an integer param given as a string
kitchenSink.name({ tenant: "acme", shard: "3", itemId: "6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6" });

// Nullable is not optional: `default` is required and may be null.
const nullable: E["default"] = null;
// @ts-expect-error `default` cannot be left out even though it is nullable
const withoutDefault: Pick<E, "default"> = {};
// Optional is not nullable: `secret` may be absent, not null.
const absent: Pick<E, "secret"> = {};
// @ts-expect-error an optional property is not nullable
const nullSecret: Pick<E, "secret"> = { secret: null };

// Tuples have fixed length and element types.
const pair: E["pair"] = ["bolts", 12];
// @ts-expect-error wrong element type
const badPair: E["pair"] = [12, "bolts"];
// @ts-expect-error too many elements
const longPair: E["pair"] = ["bolts", 12, 3];

// Maps take any key with typed values.
const labels: E["labels"] = { color: "red" };
// @ts-expect-error map values are strings
const badLabels: E["labels"] = { color: 1 };

// `additionalProperties: false`: no extra keys in literals.
// @ts-expect-error an undeclared property on a closed object
const extra: E["dimensions"] = { unit: "mm", size: { width: 1, height: 1, depth: 1 }, weight: 3 };

// Literal types from `const` and `enum`.
const version: E["apiVersion"] = 3;
// @ts-expect-error a different constant
const wrongVersion: E["apiVersion"] = 4;

// Discriminated union by `kind`.
function area(s: SinkShape): number {
  return s.kind === "circle" ? Math.PI * s.radius * s.radius : s.width * s.height;
}
// @ts-expect-error the circle variant has no width
const badShape: SinkShape = { kind: "circle", width: 1 };

// Recursive types.
const tree: SinkTreeNode = { label: "root", children: [{ label: "leaf", children: [] }] };

// Topics with names that are not identifiers.
const raw: KitchenSinkMessage = { topic: "raw-text", data: "hello" };
// @ts-expect-error the raw-text topic carries a string
const badRaw: KitchenSinkMessage = { topic: "raw-text", data: 1 };

export { nullable, withoutDefault, absent, nullSecret, pair, badPair, longPair, labels, badLabels, extra };
export { version, wrongVersion, area, badShape, tree, raw, badRaw };
