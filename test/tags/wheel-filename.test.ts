// Cases from the PyPA binary distribution format specification (PEP 427: file name convention,
// escaping, build tag) and the platform compatibility tags specification (PEP 425: compressed
// tag sets), plus real filenames from PyPI.
import { describe, expect, it } from "vitest";
import { isPylayerError } from "../../src/errors.js";
import {
  isWheelFilename,
  parseTag,
  parseTagSet,
  parseWheelFilename,
  tagToString,
} from "../../src/tags/index.js";

describe("parseWheelFilename", () => {
  it.each([
    [
      "numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
      "numpy",
      "2.1.3",
      undefined,
      ["cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-manylinux2014_x86_64"],
    ],
    [
      "six-1.17.0-py2.py3-none-any.whl",
      "six",
      "1.17.0",
      undefined,
      ["py2-none-any", "py3-none-any"],
    ],
    [
      "pydantic_core-2.41.5-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
      "pydantic-core",
      "2.41.5",
      undefined,
      ["cp312-cp312-manylinux_2_17_aarch64", "cp312-cp312-manylinux2014_aarch64"],
    ],
    [
      "zope.interface-7.2-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.whl",
      "zope-interface",
      "7.2",
      undefined,
      ["cp311-cp311-manylinux_2_5_x86_64", "cp311-cp311-manylinux1_x86_64"],
    ],
    ["Foo_Bar.baz-1.0-py3-none-any.whl", "foo-bar-baz", "1.0", undefined, ["py3-none-any"]],
    ["pkg-1.0-1-py3-none-any.whl", "pkg", "1.0", { number: 1, tag: "" }, ["py3-none-any"]],
    ["pkg-1.0-20foo-py3-none-any.whl", "pkg", "1.0", { number: 20, tag: "foo" }, ["py3-none-any"]],
    // The version is kept as written, not normalized.
    ["pkg-1.0rc1.post0-py3-none-any.whl", "pkg", "1.0rc1.post0", undefined, ["py3-none-any"]],
    ["pkg-01.2-py3-none-any.whl", "pkg", "01.2", undefined, ["py3-none-any"]],
    ["pkg-1!2.0+local.7-py3-none-any.whl", "pkg", "1!2.0+local.7", undefined, ["py3-none-any"]],
    // Tags are lowercased as packaging.tags.Tag does.
    ["pkg-1.0-PY3-None-Any.whl", "pkg", "1.0", undefined, ["py3-none-any"]],
    [
      "pkg-1.0-cp38.cp39-abi3.none-linux_x86_64.whl",
      "pkg",
      "1.0",
      undefined,
      [
        "cp38-abi3-linux_x86_64",
        "cp38-none-linux_x86_64",
        "cp39-abi3-linux_x86_64",
        "cp39-none-linux_x86_64",
      ],
    ],
  ])("parses %s", (filename, name, version, build, tags) => {
    const parsed = parseWheelFilename(filename);
    expect(parsed.filename).toBe(filename);
    expect(parsed.name).toBe(name);
    expect(parsed.version).toBe(version);
    expect(parsed.build).toEqual(build);
    expect(parsed.tags.map(tagToString)).toEqual(tags);
    expect(isWheelFilename(filename)).toBe(true);
  });

  it.each([
    ["pkg-1.0-py3-none-any.zip", /does not end in "\.whl"/],
    ["pkg-1.0.tar.gz", /does not end in "\.whl"/],
    ["pkg-1.0-py3-none.whl", /got 4 parts/],
    ["pkg-1.0-1-2-py3-none-any.whl", /got 7 parts/],
    ["pkg-1.0-foo-py3-none-any.whl", /build tag "foo" does not start with a digit/],
    ["pkg-not.a.version-py3-none-any.whl", /"not\.a\.version" is not a valid PEP 440 version/],
    ["pkg-1.0-py3..py2-none-any.whl", /empty component/],
    ["pkg-1.0-py3-none-.whl", /empty component/],
    ["-1.0-py3-none-any.whl", /is not a distribution name/],
    ["foo__bar-1.0-py3-none-any.whl", /is not a distribution name/],
    ["p+kg-1.0-py3-none-any.whl", /is not a distribution name/],
    ["pkg-1.0-py3-none-any+x.whl", /not made of letters/],
  ])("rejects %s", (filename, message) => {
    expect(isWheelFilename(filename)).toBe(false);
    let caught: unknown;
    try {
      parseWheelFilename(filename);
    } catch (error) {
      caught = error;
    }
    expect(isPylayerError(caught)).toBe(true);
    if (!isPylayerError(caught)) return;
    expect(caught.code).toBe("invalid-wheel-filename");
    expect(caught.message).toContain(filename);
    expect(caught.message).toMatch(message);
    expect(caught.hint).toMatch(/name-version\(-build\)-python-abi-platform\.whl/);
  });

  it("gives every caller the same frozen result, which no caller can change for the next", () => {
    const filename = "Frozen_Pkg-2.0-1a-cp312.cp313-abi3-manylinux_2_17_x86_64.whl";
    const first = parseWheelFilename(filename);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.tags)).toBe(true);
    expect(first.tags.every((tag) => Object.isFrozen(tag))).toBe(true);
    expect(Object.isFrozen(first.build)).toBe(true);
    expect(() => {
      (first.tags as unknown as { interpreter: string }[])[0]!.interpreter = "py2";
    }).toThrow(TypeError);
    expect(() => (first.tags as unknown[]).pop()).toThrow(TypeError);
    const again = parseWheelFilename(filename);
    expect(again.tags.map(tagToString)).toEqual([
      "cp312-abi3-manylinux_2_17_x86_64",
      "cp313-abi3-manylinux_2_17_x86_64",
    ]);
    expect(again.name).toBe("frozen-pkg");
  });
});

describe("parseTag", () => {
  it("round-trips a single tag", () => {
    const tag = parseTag("cp312-abi3-manylinux_2_28_x86_64");
    expect(tag).toEqual({ interpreter: "cp312", abi: "abi3", platform: "manylinux_2_28_x86_64" });
    expect(tagToString(tag)).toBe("cp312-abi3-manylinux_2_28_x86_64");
  });

  it.each([["py2.py3-none-any"], ["cp312-cp312"], ["a-b-c-d"], [""]])(
    "rejects %j as a single tag",
    (text) => {
      expect(() => parseTag(text)).toThrowError(/is not a single platform compatibility tag/);
    },
  );

  it("expands compressed tag sets with parseTagSet", () => {
    expect(parseTagSet("py2.py3-none-any").map(tagToString)).toEqual([
      "py2-none-any",
      "py3-none-any",
    ]);
  });
});
