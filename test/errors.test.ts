/** Credential redaction in messages, logs and --json (every URL pylayer shows). */
import { describe, expect, it } from "vitest";
import { hasSecretQuery, PylayerError, redactCredentials } from "../src/errors.js";

describe("redactCredentials", () => {
  it.each<[string, string, string]>([
    ["user and password", "https://user:pa55@host/simple/", "https://***@host/simple/"],
    ["token as user", "git+https://ghp_abc@github.com/o/r@v1", "git+https://***@github.com/o/r@v1"],
    [
      "query token",
      "https://host/pkg-1.0.tar.gz?token=abc123",
      "https://host/pkg-1.0.tar.gz?token=***",
    ],
    [
      "private_token after another parameter, fragment kept",
      "https://host/a.whl?x=1&private_token=s3cr3t#sha256=ab",
      "https://host/a.whl?x=1&private_token=***#sha256=ab",
    ],
    [
      "pre-signed S3 URL",
      "https://b.s3.amazonaws.com/p.whl?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=f00&X-Amz-Security-Token=tok",
      "https://b.s3.amazonaws.com/p.whl?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***",
    ],
    [
      "Azure SAS signature",
      "https://a.blob.core.windows.net/c/p.whl?sv=2020&sig=xyz",
      "https://a.blob.core.windows.net/c/p.whl?sv=2020&sig=***",
    ],
    [
      "api key and password",
      "https://h/p?api_key=k&password=p",
      "https://h/p?api_key=***&password=***",
    ],
    [
      "inside a sentence",
      "fetching https://h/p.whl?access_token=t failed",
      "fetching https://h/p.whl?access_token=*** failed",
    ],
    [
      "harmless parameters kept",
      "git+https://h/r?rev=main&subdirectory=pkg",
      "git+https://h/r?rev=main&subdirectory=pkg",
    ],
    [
      "no credentials",
      "https://index.example/simple/requests/",
      "https://index.example/simple/requests/",
    ],
  ])("%s", (_title, text, expected) => {
    expect(redactCredentials(text)).toBe(expected);
  });

  it("applies to a PylayerError's message and hint, and says which URLs carry secrets", () => {
    const error = new PylayerError("x", "get https://h/p.whl?token=abc", {
      hint: "retry https://u:p@h/",
    });
    expect(JSON.stringify(error.toJSON())).not.toMatch(/abc|u:p/);
    expect(hasSecretQuery("https://h/p.whl?token=abc")).toBe(true);
    expect(hasSecretQuery("https://h/p.whl?rev=abc")).toBe(false);
  });
});
