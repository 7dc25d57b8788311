import { describe, expect, it } from "vitest";
import {
  decodeHtmlEntities,
  parseSimpleHtml,
  parseSimpleJson,
  parseSimplePage,
} from "../../src/index/simple.js";
import type { DistributionFile } from "../../src/index/types.js";

const PAGE = "https://example.org/simple/demo/";
const HASH = "a".repeat(64);
const META_HASH = "b".repeat(64);

type Expected = Partial<DistributionFile>;

// PEP 503 (anchors, #hash fragments, data-requires-python HTML-escaped), PEP 592
// (data-yanked), PEP 658 (data-dist-info-metadata), PEP 714 (data-core-metadata).
const htmlCases: [string, string, Expected][] = [
  [
    "relative href with a sha256 fragment",
    `<a href="../../files/demo-1.0-py3-none-any.whl#sha256=${HASH}">demo-1.0-py3-none-any.whl</a>`,
    {
      filename: "demo-1.0-py3-none-any.whl",
      url: "https://example.org/files/demo-1.0-py3-none-any.whl",
      hashes: { sha256: HASH },
      yanked: false,
      coreMetadata: false,
    },
  ],
  [
    "escaped requires-python, attributes in any order and quoting",
    `<A data-requires-python='&gt;=3.8,&lt;4' HREF=/files/demo-1.0-py3-none-any.whl>x</A>`,
    { url: "https://example.org/files/demo-1.0-py3-none-any.whl", requiresPython: ">=3.8,<4" },
  ],
  [
    "numeric character references",
    `<a data-requires-python="&#62;=3.9" href="demo-1.0-py3-none-any.whl">x</a>`,
    { requiresPython: ">=3.9", url: `${PAGE}demo-1.0-py3-none-any.whl` },
  ],
  [
    "unescaped > inside a quoted attribute",
    `<a href="demo-1.0-py3-none-any.whl" data-requires-python=">=3.7">x</a>`,
    { requiresPython: ">=3.7" },
  ],
  [
    "yanked without a reason (bare attribute)",
    `<a href="d-1.0-py3-none-any.whl" data-yanked>x</a>`,
    { yanked: {} },
  ],
  [
    "yanked with an empty reason",
    `<a href="d-1.0-py3-none-any.whl" data-yanked="">x</a>`,
    { yanked: {} },
  ],
  [
    "yanked with an escaped reason",
    `<a href="d-1.0-py3-none-any.whl" data-yanked="broken &amp; &quot;bad&quot;">x</a>`,
    { yanked: { reason: 'broken & "bad"' } },
  ],
  [
    "PEP 658 data-dist-info-metadata=true",
    `<a href="d-1.0-py3-none-any.whl" data-dist-info-metadata="true">x</a>`,
    { coreMetadata: { hashes: {} } },
  ],
  [
    "PEP 714 data-core-metadata with a hash",
    `<a href="d-1.0-py3-none-any.whl" data-core-metadata="sha256=${META_HASH}">x</a>`,
    { coreMetadata: { hashes: { sha256: META_HASH } } },
  ],
  [
    "PEP 714: data-core-metadata preferred over data-dist-info-metadata",
    `<a href="d-1.0-py3-none-any.whl" data-dist-info-metadata="sha256=${HASH}" data-core-metadata="sha256=${META_HASH}">x</a>`,
    { coreMetadata: { hashes: { sha256: META_HASH } } },
  ],
  [
    "unusable metadata attribute means no metadata",
    `<a href="d-1.0-py3-none-any.whl" data-core-metadata="false">x</a>`,
    { coreMetadata: false },
  ],
  [
    "absolute URL on another host, fragment with other hash",
    `<a href="https://files.example.net/p/d-1.0-py3-none-any.whl#sha512=ABCD">x</a>`,
    { url: "https://files.example.net/p/d-1.0-py3-none-any.whl", hashes: { sha512: "abcd" } },
  ],
  [
    "percent-encoded filename (local version)",
    `<a href="/files/torch-2.0%2Bcpu-cp311-cp311-linux_x86_64.whl">x</a>`,
    { filename: "torch-2.0+cpu-cp311-cp311-linux_x86_64.whl" },
  ],
  [
    "entity in href",
    `<a href="/files/d-1.0-py3-none-any.whl?a=1&amp;b=2#sha256=${HASH}">x</a>`,
    { url: "https://example.org/files/d-1.0-py3-none-any.whl?a=1&b=2", hashes: { sha256: HASH } },
  ],
  [
    "sdists are listed too (the client filters)",
    `<a href="/files/demo-1.0.tar.gz">demo-1.0.tar.gz</a>`,
    { filename: "demo-1.0.tar.gz" },
  ],
];

describe("parseSimpleHtml", () => {
  it.each(htmlCases)("%s", (_name, anchor, expected) => {
    const files = parseSimpleHtml(`<html><body>${anchor}</body></html>`, PAGE, "index-label");
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ ...expected, index: "index-label" });
  });

  it("honours <base href> and skips comments and anchors without href", () => {
    const html = `<!DOCTYPE html><html><head><base href="https://mirror.example.com/packages/"></head>
      <body><!-- <a href="commented-1.0-py3-none-any.whl">x</a> -->
      <a name="top">anchor</a>
      <a href="d-1.0-py3-none-any.whl">d</a></body></html>`;
    const files = parseSimpleHtml(html, PAGE, "i");
    expect(files.map((file) => file.url)).toEqual([
      "https://mirror.example.com/packages/d-1.0-py3-none-any.whl",
    ]);
  });

  it("omits requires-python when empty", () => {
    const [file] = parseSimpleHtml(
      `<a href="d-1.0-py3-none-any.whl" data-requires-python="">x</a>`,
      PAGE,
      "i",
    );
    expect(file).not.toHaveProperty("requiresPython");
  });
});

describe("decodeHtmlEntities", () => {
  it.each([
    ["&gt;=3.8", ">=3.8"],
    ["&#x3E;&#x3c;", "><"],
    ["&amp;amp;", "&amp;"],
    ["&unknown; stays", "&unknown; stays"],
    ["&#99999999;", "&#99999999;"],
  ])("%s → %s", (input, output) => {
    expect(decodeHtmlEntities(input)).toBe(output);
  });
});

const jsonFile = (fields: Record<string, unknown>) =>
  JSON.stringify({
    meta: { "api-version": "1.1" },
    name: "demo",
    files: [
      {
        filename: "demo-1.0-py3-none-any.whl",
        url: "../../files/demo-1.0-py3-none-any.whl",
        hashes: { sha256: HASH },
        ...fields,
      },
    ],
  });

// PEP 691 fields; yanked is bool or a reason string (PEP 691 / 592); core-metadata
// and dist-info-metadata are bool or a hash dict (PEP 714 keeps both, prefers core-metadata);
// size is PEP 700.
const jsonCases: [string, Record<string, unknown>, Expected][] = [
  [
    "relative url resolved against the page",
    {},
    {
      url: "https://example.org/files/demo-1.0-py3-none-any.whl",
      hashes: { sha256: HASH },
      yanked: false,
      coreMetadata: false,
    },
  ],
  ["requires-python", { "requires-python": ">=3.8" }, { requiresPython: ">=3.8" }],
  ["requires-python null", { "requires-python": null }, {}],
  ["yanked true", { yanked: true }, { yanked: {} }],
  ["yanked false", { yanked: false }, { yanked: false }],
  ["yanked with reason", { yanked: "security issue" }, { yanked: { reason: "security issue" } }],
  ["core-metadata true", { "core-metadata": true }, { coreMetadata: { hashes: {} } }],
  [
    "dist-info-metadata hashes (legacy key)",
    { "dist-info-metadata": { sha256: META_HASH } },
    { coreMetadata: { hashes: { sha256: META_HASH } } },
  ],
  [
    "core-metadata preferred over dist-info-metadata",
    { "core-metadata": { sha256: META_HASH }, "dist-info-metadata": { sha256: HASH } },
    { coreMetadata: { hashes: { sha256: META_HASH } } },
  ],
  [
    "core-metadata false",
    { "core-metadata": false, "dist-info-metadata": true },
    { coreMetadata: false },
  ],
  ["size", { size: 1234 }, { size: 1234 }],
  [
    "upper-case hash digests are lowercased",
    { hashes: { SHA256: HASH.toUpperCase() } },
    { hashes: { sha256: HASH } },
  ],
];

describe("parseSimpleJson", () => {
  it.each(jsonCases)("%s", (_name, fields, expected) => {
    const files = parseSimpleJson(jsonFile(fields), PAGE, "i");
    expect(files[0]).toMatchObject(expected);
    if (!("requiresPython" in expected)) expect(files[0]).not.toHaveProperty("requiresPython");
  });

  it.each([
    ["not JSON", "<html>"],
    ["missing files", JSON.stringify({ meta: { "api-version": "1.0" }, name: "x" })],
    [
      "wrong major version",
      JSON.stringify({ meta: { "api-version": "2.0" }, name: "x", files: [] }),
    ],
    ["bad yanked type", jsonFile({ yanked: 3 })],
  ])("rejects %s with index-invalid-response", (_name, body) => {
    expect(() => parseSimpleJson(body, PAGE, "i")).toThrow(
      expect.objectContaining({ code: "index-invalid-response" }),
    );
  });

  it("never shows credentials of the page URL in errors", () => {
    expect(() =>
      parseSimpleJson("nope", "https://user:secret@example.org/simple/demo/", "i"),
    ).toThrow(expect.objectContaining({ message: expect.not.stringContaining("secret") }));
  });
});

describe("parseSimplePage (content type dispatch)", () => {
  const json = jsonFile({});
  const html = `<a href="../../files/demo-1.0-py3-none-any.whl#sha256=${HASH}">demo</a>`;
  it.each([
    ["application/vnd.pypi.simple.v1+json", json],
    ["application/vnd.pypi.simple.v1+html", html],
    ["text/html; charset=utf-8", html],
    [undefined, json],
    [undefined, html],
  ])("%s", (contentType, body) => {
    const files = parseSimplePage(body, contentType, PAGE, "i");
    expect(files.map((file) => file.url)).toEqual([
      "https://example.org/files/demo-1.0-py3-none-any.whl",
    ]);
    expect(files[0]?.hashes).toEqual({ sha256: HASH });
  });
});
