// Type-level tests of the generated module for fixtures/valid/chat.yaml: a discriminated union
// of `$defs` variants, topics whose names are not identifiers, deprecated topics, and
// decoding into the channel's message union.

import {
  chatRoom,
  decodeChatRoom,
  isMessageContent,
  roomDirectory,
  type ChatRoomMessage,
  type ChatRoomTopics,
  type MessageContent,
} from "../../target/ts-check/gen/chat.js";

// The union narrows on its tag, as the Rust enum is tagged.
function describe(c: MessageContent): string {
  switch (c.kind) {
    case "text":
      return c.text;
    case "image":
      return `${c.width}x${c.height}`;
    case "file":
      return c.fileName;
  }
}
// @ts-expect-error a variant's fields belong to its tag
const mixed: MessageContent = { kind: "text", url: "https://x" };
// @ts-expect-error a tag no variant has
const unknownKind: MessageContent = { kind: "video", url: "https://x" };

// Topic names that are not identifiers are string keys.
const typing: ChatRoomTopics["typing"] = { userId: "u", typing: true };
type Edited = ChatRoomTopics["message-edited"];
// @ts-expect-error a topic the channel does not have
type Deleted = ChatRoomTopics["message-deleted"];

// Params are checked by type; static channels have constant names.
chatRoom.name({ roomId: "6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6" });
// @ts-expect-error the param is roomId
chatRoom.name({ room: "x" });
const directory: "rooms:directory" = roomDirectory.name;

// Decoding gives the message union, narrowed by topic.
function onMessage(topic: string, data: unknown): string {
  const m: ChatRoomMessage | undefined = decodeChatRoom(topic, data);
  if (m === undefined) return "rejected";
  if (m.topic === "typing") return m.data.typing ? "typing" : "idle";
  // @ts-expect-error `typing` was handled: the payload is no longer a typing event
  const t: ChatRoomTopics["typing"] = m.data;
  return m.topic;
}
const content: unknown = JSON.parse('{"kind":"text","text":"hi"}');
const shown = isMessageContent(content) ? describe(content) : "";

export { mixed, unknownKind, typing, directory, onMessage, shown };
export type { Edited, Deleted };
