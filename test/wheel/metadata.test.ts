import { describe, expect, it } from "vitest";
import {
  type CoreMetadata,
  formatRecord,
  headerBlock,
  parseCoreMetadata,
  parseHeaders,
  parseRecord,
  parseScriptEntryPoints,
  parseWheelInfo,
} from "../../src/wheel/index.js";

// Core metadata specification (packaging.python.org, "Core metadata specifications"):
// email header format, multiple-use Requires-Dist and Provides-Extra, the description may
// be the message body (2.1+), License-Expression / License-File added in 2.4.
describe("parseCoreMetadata", () => {
  const cases: { label: string; text: string; expected: Partial<CoreMetadata> }[] = [
    {
      label: "minimal 1.0",
      text: "Metadata-Version: 1.0\nName: six\nVersion: 1.16.0\n",
      expected: {
        metadataVersion: "1.0",
        name: "six",
        version: "1.16.0",
        requiresDist: [],
        providesExtra: [],
      },
    },
    {
      label: "continuation lines are unfolded",
      text: "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: a summary\n  spread over lines\nRequires-Dist: requests\n\t>=2.0\n",
      expected: {
        summary: "a summary  spread over lines",
        requiresDist: ["requests\t>=2.0"],
      },
    },
    {
      label: "multiple Requires-Dist and Provides-Extra keep their order",
      text: [
        "Metadata-Version: 2.1",
        "Name: httpx",
        "Version: 0.27.0",
        "Requires-Python: >=3.8",
        "Requires-Dist: anyio",
        "Requires-Dist: certifi",
        "Provides-Extra: brotli",
        "Requires-Dist: brotli; platform_python_implementation == 'CPython' and extra == 'brotli'",
        "Provides-Extra: http2",
        "Requires-Dist: h2<5,>=3; extra == 'http2'",
        "",
      ].join("\n"),
      expected: {
        requiresPython: ">=3.8",
        requiresDist: [
          "anyio",
          "certifi",
          "brotli; platform_python_implementation == 'CPython' and extra == 'brotli'",
          "h2<5,>=3; extra == 'http2'",
        ],
        providesExtra: ["brotli", "http2"],
      },
    },
    {
      label: "Metadata-Version 2.4 fields are accepted, the body is ignored",
      text: [
        "Metadata-Version: 2.4",
        "Name: Modern.Package",
        "Version: 2.0rc1",
        "Summary: Uses the newest fields",
        "License-Expression: MIT OR Apache-2.0",
        "License-File: LICENSE",
        "License-File: licenses/NOTICE",
        "Dynamic: Requires-Dist",
        "Project-URL: Homepage, https://example.test",
        "Requires-Dist: typing-extensions>=4; python_version < '3.11'",
        "Description-Content-Type: text/markdown",
        "",
        "# Modern package",
        "Requires-Dist: not-a-header-in-the-body",
        "",
      ].join("\n"),
      expected: {
        metadataVersion: "2.4",
        name: "Modern.Package",
        version: "2.0rc1",
        summary: "Uses the newest fields",
        requiresDist: ["typing-extensions>=4; python_version < '3.11'"],
        providesExtra: [],
      },
    },
    {
      label: "CRLF line endings, field names in any case",
      text: "metadata-version: 2.3\r\nNAME: crlf\r\nversion: 3\r\nrequires-dist: a\r\n\r\nbody\r\n",
      expected: { metadataVersion: "2.3", name: "crlf", version: "3", requiresDist: ["a"] },
    },
  ];
  for (const { label, text, expected } of cases) {
    it(label, () => {
      expect(parseCoreMetadata(text)).toMatchObject(expected);
    });
  }

  it("leaves optional fields out when absent", () => {
    const metadata = parseCoreMetadata("Metadata-Version: 2.1\nName: a\nVersion: 1\n");
    expect(metadata).toEqual({
      metadataVersion: "2.1",
      name: "a",
      version: "1",
      requiresDist: [],
      providesExtra: [],
    });
  });

  const invalid: { label: string; text: string }[] = [
    { label: "no Name", text: "Metadata-Version: 2.1\nVersion: 1\n" },
    { label: "no Version", text: "Metadata-Version: 2.1\nName: a\n" },
    { label: "no Metadata-Version", text: "Name: a\nVersion: 1\n" },
    { label: "Metadata-Version 3.0", text: "Metadata-Version: 3.0\nName: a\nVersion: 1\n" },
    { label: "fields only in the body", text: "\nMetadata-Version: 2.1\nName: a\nVersion: 1\n" },
  ];
  for (const { label, text } of invalid) {
    it(`rejects metadata with ${label}, naming the source`, () => {
      expect(() => parseCoreMetadata(text, "demo-1.0.dist-info/METADATA")).toThrow(
        expect.objectContaining({
          code: "invalid-metadata",
          message: expect.stringContaining("demo-1.0.dist-info/METADATA"),
        }),
      );
    });
  }
});

// The email header format: lines end at \r\n, \n or \r; a continuation line (space or tab)
// is appended to the previous value; the first empty line ends the headers (the body is
// not headers); a leading byte order mark is not part of the first field's name.
describe("parseHeaders and headerBlock", () => {
  const cases: [label: string, text: string, headers: Record<string, string[]>][] = [
    ["empty text", "", {}],
    ["no trailing line break", "Name: a\nVersion: 1", { name: ["a"], version: ["1"] }],
    [
      "a body after the first empty line",
      "Name: a\nVersion: 1\n\nName: body\nnot: headers\n",
      { name: ["a"], version: ["1"] },
    ],
    ["\r\n line breaks", "Name: a\r\nVersion: 1\r\n\r\nbody\r\n", { name: ["a"], version: ["1"] }],
    ["\r line breaks", "Name: a\rVersion: 1\r\rbody", { name: ["a"], version: ["1"] }],
    [
      "mixed line breaks",
      "Name: a\r\nVersion: 1\rSummary: s\n\n",
      {
        name: ["a"],
        version: ["1"],
        summary: ["s"],
      },
    ],
    ["a byte order mark", "\uFEFFName: a\n", { name: ["a"] }],
    [
      "continuation lines",
      "Name: a\nSummary: one\n two\n\tthree\nVersion: 1\n",
      { name: ["a"], summary: ["one two\tthree"], version: ["1"] },
    ],
    [
      "repeated fields in order",
      "Requires-Dist: x\nrequires-dist: y\n",
      { "requires-dist": ["x", "y"] },
    ],
    [
      "a line that is not a header ends them",
      "Name: a\nnot a header\nVersion: 1\n",
      { name: ["a"] },
    ],
    ["a blank line first", "\nName: a\n", {}],
  ];
  for (const [label, text, headers] of cases) {
    it(`${label}: headers, and the same headers from headerBlock`, () => {
      expect(Object.fromEntries(parseHeaders(text))).toEqual(headers);
      const block = headerBlock(text);
      expect(Object.fromEntries(parseHeaders(block))).toEqual(headers);
      expect(block).not.toContain("body");
    });
  }
});

// Binary distribution format: Wheel-Version major must be 1; a newer minor is accepted.
describe("parseWheelInfo", () => {
  it("reads version, Root-Is-Purelib, tags and build", () => {
    expect(
      parseWheelInfo(
        "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.43.0)\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux2014_x86_64\nBuild: 1\n",
      ),
    ).toEqual({
      wheelVersion: "1.0",
      rootIsPurelib: false,
      tags: ["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"],
      build: "1",
    });
  });

  const versions: { version: string; ok: boolean }[] = [
    { version: "1.0", ok: true },
    { version: "1.9", ok: true },
    { version: "1", ok: true },
    { version: "2.0", ok: false },
    { version: "0.9", ok: false },
  ];
  for (const { version, ok } of versions) {
    it(`Wheel-Version ${version} is ${ok ? "accepted" : "rejected"}`, () => {
      const parse = () =>
        parseWheelInfo(`Wheel-Version: ${version}\nRoot-Is-Purelib: TRUE\n`, "x/WHEEL");
      if (ok) expect(parse().rootIsPurelib).toBe(true);
      else expect(parse).toThrow(expect.objectContaining({ code: "unsupported-wheel-version" }));
    });
  }

  it("requires Wheel-Version", () => {
    expect(() => parseWheelInfo("Root-Is-Purelib: true\n")).toThrow(
      expect.objectContaining({ code: "invalid-wheel" }),
    );
  });
});

// PEP 376 RECORD: CSV, hash `algorithm=urlsafe-b64-nopad`, sha256 or stronger.
describe("RECORD files", () => {
  it("parses quoted fields and empty hash/size", () => {
    const text =
      'a/b.py,sha256=abc_-,12\n"odd,name.txt",sha256=x,3\n"q""uote",sha512=y,0\nx.dist-info/RECORD,,\n';
    expect(parseRecord(text)).toEqual([
      { path: "a/b.py", hash: "sha256=abc_-", size: 12 },
      { path: "odd,name.txt", hash: "sha256=x", size: 3 },
      { path: 'q"uote', hash: "sha512=y", size: 0 },
      { path: "x.dist-info/RECORD", hash: "", size: undefined },
    ]);
  });

  it("formats rows that parse back to the same rows", () => {
    const rows = [
      { path: "../bin/tool", hash: "sha256=abc", size: 5 },
      { path: "odd,name.txt", hash: "sha256=x", size: 3 },
      { path: "x.dist-info/RECORD", hash: "", size: undefined },
    ];
    const text = formatRecord(rows);
    expect(text).toBe(
      '../bin/tool,sha256=abc,5\n"odd,name.txt",sha256=x,3\nx.dist-info/RECORD,,\n',
    );
    expect(parseRecord(text)).toEqual(rows);
  });

  for (const line of [
    "a.py,md5=abc,1",
    "a.py,sha1=abc,1",
    "a.py,sha256=abc",
    "a.py,sha256=abc,x",
  ]) {
    it(`rejects "${line}"`, () => {
      expect(() => parseRecord(`${line}\n`)).toThrow(
        expect.objectContaining({ code: "invalid-wheel" }),
      );
    });
  }
});

// Entry points specification: INI groups, `name = module:object.attr [extras]`.
describe("parseScriptEntryPoints", () => {
  it("reads console and GUI scripts and ignores other groups", () => {
    const text = [
      "[console_scripts]",
      "# a comment",
      "demo = demo.cli:main",
      "demo-extra=demo.cli:Command.run [fast, other]",
      "",
      "[gui_scripts]",
      "demo-gui = demo.gui:start",
      "",
      "[pytest11]",
      "plugin = demo.plugin",
    ].join("\n");
    expect(parseScriptEntryPoints(text)).toEqual([
      { name: "demo", group: "console_scripts", module: "demo.cli", attribute: "main" },
      {
        name: "demo-extra",
        group: "console_scripts",
        module: "demo.cli",
        attribute: "Command.run",
      },
      { name: "demo-gui", group: "gui_scripts", module: "demo.gui", attribute: "start" },
    ]);
  });

  for (const line of ["demo = demo.cli", "demo = demo-cli:main", "demo = :main", "= demo:main"]) {
    it(`rejects "${line}"`, () => {
      expect(() => parseScriptEntryPoints(`[console_scripts]\n${line}\n`)).toThrow(
        expect.objectContaining({ code: "invalid-wheel" }),
      );
    });
  }
});
