import { describe, expect, it } from "vitest";
import {
  CredentialStore,
  Limiter,
  networkErrorCode,
  parseRetryAfter,
  stripCredentials,
} from "../../src/index/http.js";
import { parseNetrc } from "../../src/index/netrc.js";

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("CredentialStore", () => {
  const netrc = parseNetrc(
    "machine private.example login netrc-user password netrc-pass\nmachine elsewhere.example login x password y\ndefault login d password dp\n",
  );
  const store = new CredentialStore(
    [
      "https://alice:p%40ss@index.example/simple/",
      "https://private.example/simple/",
      "file:///srv/wheels",
    ],
    netrc,
  );

  it.each([
    [
      "URL user-info is decoded and stripped",
      "https://bob:pw@any.example/x.whl",
      "https://any.example/x.whl",
      basic("bob", "pw"),
    ],
    [
      "same origin as a credentialed index",
      "https://index.example/files/x.whl",
      "https://index.example/files/x.whl",
      basic("alice", "p@ss"),
    ],
    [
      "netrc for a configured host",
      "https://private.example/simple/a/",
      "https://private.example/simple/a/",
      basic("netrc-user", "netrc-pass"),
    ],
    [
      "no netrc for hosts that are not configured sources",
      "https://elsewhere.example/x.whl",
      "https://elsewhere.example/x.whl",
      undefined,
    ],
    [
      "no credentials for a file host of another origin",
      "https://files.example/x.whl",
      "https://files.example/x.whl",
      undefined,
    ],
    // URL credentials are per origin; netrc has no ports, so its default entry applies.
    [
      "another port does not get the URL credentials",
      "https://index.example:8443/files/x.whl",
      "https://index.example:8443/files/x.whl",
      basic("d", "dp"),
    ],
  ])("%s", (_name, url, expectedUrl, authorization) => {
    expect(store.prepare(url)).toEqual({ url: expectedUrl, authorization });
  });

  it("uses netrc default for a configured host without its own entry", () => {
    const withDefault = new CredentialStore(["https://other.example/simple/"], netrc);
    expect(withDefault.prepare("https://other.example/simple/a/").authorization).toBe(
      basic("d", "dp"),
    );
  });
});

describe("helpers", () => {
  it("strips credentials", () => {
    expect(stripCredentials("https://u:p@h.example/simple/")).toBe("https://h.example/simple/");
  });

  it.each([
    ["0", 0],
    ["12", 12_000],
    ["", undefined],
    ["soon", undefined],
    [new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), 30_000],
  ])("Retry-After %j", (value, expected) => {
    expect(parseRetryAfter(value, Date.UTC(2030, 0, 1))).toBe(expected);
  });

  it("finds error codes in undici's cause chains and aggregate errors", () => {
    const refused = Object.assign(new Error("connect"), { code: "ECONNREFUSED" });
    expect(networkErrorCode(new TypeError("fetch failed", { cause: refused }))).toBe(
      "ECONNREFUSED",
    );
    expect(
      networkErrorCode(new TypeError("fetch failed", { cause: new AggregateError([refused]) })),
    ).toBe("ECONNREFUSED");
    expect(networkErrorCode(new Error("plain"))).toBeUndefined();
  });

  it("limits concurrency", async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        limiter.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setImmediate(resolve));
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
  });
});
