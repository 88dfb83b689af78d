import { describe, expect, it } from "vitest";
import { decodeJwtPayload, refreshDelayMs } from "../src/jwt.js";
import { fakeJwt } from "./fake-socket.js";

describe("jwt", () => {
  it("decodes the payload without verifying (base64url, UTF-8)", () => {
    const t = fakeJwt({ chan: "pipeline:ü", topics: ["status"], exp: 2000, iat: 1000 });
    expect(decodeJwtPayload(t)).toEqual({ chan: "pipeline:ü", topics: ["status"], exp: 2000, iat: 1000 });
  });

  it("returns undefined for what is not a JWT", () => {
    expect(decodeJwtPayload("opaque")).toBeUndefined();
    expect(decodeJwtPayload("a.b.c")).toBeUndefined();
    expect(decodeJwtPayload(`x.${Buffer.from("[1]").toString("base64url")}.y`)).toBeUndefined();
  });

  it("schedules the refresh lead before exp, or halfway for short-lived tokens", () => {
    const now = 1_000_000; // ms
    // 10 minutes left: refresh 30 s before expiry.
    expect(refreshDelayMs(fakeJwt({ exp: 1000 + 600 }), now)).toBe(570_000);
    // 20 s left: halfway, 10 s from now.
    expect(refreshDelayMs(fakeJwt({ exp: 1000 + 20 }), now)).toBe(10_000);
    // A custom lead.
    expect(refreshDelayMs(fakeJwt({ exp: 1000 + 600 }), now, 60_000)).toBe(540_000);
    // Already expired: now.
    expect(refreshDelayMs(fakeJwt({ exp: 999 }), now)).toBe(0);
    // No exp: never.
    expect(refreshDelayMs(fakeJwt({ chan: "x" }), now)).toBeUndefined();
    expect(refreshDelayMs("opaque", now)).toBeUndefined();
  });
});
