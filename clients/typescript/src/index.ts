export { Backoff, type BackoffOptions } from "./backoff.js";
export {
  type ChannelDescriptor,
  type Guard,
  type HasLifecycle,
  type Item,
  type Message,
  type ParamsOf,
  type ParamsOption,
  type PayloadOf,
  type ResultOf,
  type RunErrorOf,
  type StatusItem,
  type TopicOf,
  channelName,
} from "./descriptor.js";
export { ChanspecError } from "./errors.js";
export { type JwtClaims, decodeJwtPayload, refreshDelayMs } from "./jwt.js";
export {
  BATCH_PROTOCOL,
  CLOSE_SLOW_CONSUMER,
  COMPACT_PROTOCOL,
  type ClientFrame,
  type ErrorCode,
  type Position,
  type RunStatus,
  type ServerFrame,
  isTerminal,
} from "./protocol.js";
export {
  type Clock,
  type InvalidMessage,
  type RecoveryEvent,
  type StatusEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionStatus,
  type TokenSource,
  type WebSocketConstructor,
  type WebSocketLike,
  subscribe,
  systemClock,
} from "./subscription.js";
