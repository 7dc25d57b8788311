/**
 * Recomputing other tools' freshness hashes exactly: Python's json.dumps, Poetry's
 * content-hash and pipenv's Pipfile hash, against golden values computed with Python
 * 3.11 (test/lock/golden/generate.py).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pipfileHashes, poetryContentHash, pythonJsonDumps } from "../../src/lock/index.js";
import { parseTomlText } from "../../src/pyproject/index.js";

const golden = JSON.parse(readFileSync(new URL("golden/hashes.json", import.meta.url), "utf8")) as {
  json: Record<string, { default: string; compact: string }>;
  poetry: Record<string, { withGroups: string; withoutGroups: string }>;
  pipfile: Record<string, { plette: string; normalized: string }>;
};

const read = (name: string) =>
  parseTomlText(readFileSync(new URL(`golden/${name}`, import.meta.url), "utf8"), name, {
    exactIntegers: true,
  });

describe("pythonJsonDumps", () => {
  it.each(Object.entries(golden.json))("matches Python's json.dumps for %s", (name, expected) => {
    const data = read(name);
    expect(pythonJsonDumps(data)).toBe(expected.default);
    expect(pythonJsonDumps(data, { itemSeparator: ",", keySeparator: ":" })).toBe(expected.compact);
  });
});

describe("poetryContentHash", () => {
  it.each(Object.entries(golden.poetry))(
    "matches Poetry's content-hash for %s",
    (name, expected) => {
      const data = read(name);
      expect(poetryContentHash(data, true)).toBe(expected.withGroups);
      expect(poetryContentHash(data, false)).toBe(expected.withoutGroups);
    },
  );
});

describe("pipfileHashes", () => {
  it.each(Object.entries(golden.pipfile))(
    "matches pipenv's Pipfile hash for %s",
    (name, expected) => {
      expect(pipfileHashes(read(name))).toEqual([expected.plette, expected.normalized]);
    },
  );
});
