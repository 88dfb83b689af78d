/**
 * Reading a JWT's payload, without verifying it (the hub verifies; the client only needs
 * `exp` to refresh in time).
 */

export interface JwtClaims {
  readonly exp?: number;
  readonly iat?: number;
  readonly chan?: string;
  readonly topics?: readonly string[];
  readonly [claim: string]: unknown;
}

/** The payload of a compact JWT, or `undefined` when it is not one. */
export function decodeJwtPayload(token: string): JwtClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    let b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    b64 += "=".repeat((4 - (b64.length % 4)) % 4);
    const binary = atob(b64);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JwtClaims) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long to wait before refreshing a token that expires at `exp` (seconds since the epoch):
 * `leadMs` before expiry, but never later than halfway through the time left, so short-lived
 * tokens refresh in time too. `undefined` when the token has no `exp`.
 */
export function refreshDelayMs(token: string, nowMs: number, leadMs = 30_000): number | undefined {
  const exp = decodeJwtPayload(token)?.exp;
  if (typeof exp !== "number" || !Number.isFinite(exp)) return undefined;
  const left = exp * 1000 - nowMs;
  if (left <= 0) return 0;
  return Math.max(0, Math.floor(left - Math.min(leadMs, left / 2)));
}
