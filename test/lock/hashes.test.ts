/**
 * Recomputing other tools' freshness hashes exactly: Python's json.dumps, Poetry's
 * content-hash and pipenv's Pipfile hash, against golden values computed with Python
 * 3.11 (test/lock/golden/generate.py).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  PIPENV_DEFAULT_SOURCE,
  pipfileHashes,
  poetryContentHash,
  pythonJsonDumps,
} from "../../src/lock/index.js";
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

  it("hashes a Pipfile without [[source]] with pipenv's default source", () => {
    const packages = '[packages]\nsix = "*"\n';
    const source = `[[source]]\nurl = "${PIPENV_DEFAULT_SOURCE.url}"\nverify_ssl = true\nname = "${PIPENV_DEFAULT_SOURCE.name}"\n\n`;
    const hashes = (text: string) => pipfileHashes(parseTomlText(text, "Pipfile"));
    expect(hashes(packages)).toEqual(hashes(source + packages));
    expect(hashes(packages)).not.toEqual(
      hashes(source.replace(PIPENV_DEFAULT_SOURCE.url, "http://127.0.0.1:8080/simple") + packages),
    );
  });
});
