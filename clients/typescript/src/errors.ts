/** Why a subscription failed or could not go on. `code` is the hub's error code or one of the client's own. */
export class ChanspecError extends Error {
  override readonly name = "ChanspecError";
  constructor(
    /**
     * The hub's code (`forbidden`, `invalid_token`, `token_expired`, `not_found`, `too_large`,
     * `too_many_subscriptions`, `invalid_frame`, `unavailable`, …) or the client's:
     * `wrong_channel` (the token names another channel), `topic_not_allowed` (the token lacks
     * a chosen topic), `token` (the token factory failed), `connection` (the socket failed),
     * `ping_timeout`, `connect_timeout`, `slow_consumer` (close code 4008), `hub_closing`, `unsubscribed`.
     */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
