// PEP 440 conformance against vectors generated from the reference implementation
// (`packaging`; vectors/generate.py writes vectors/vectors.json): which strings are versions
// and specifiers, normalization, the total order ("Summary of permitted suffixes and relative
// ordering"), and every operator of "Version specifiers" with epochs, pre-, post- and
// dev-releases, local labels and wildcards, with pre-releases allowed and by the default rule.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SpecifierSet, Version } from "../../src/pep440/index.js";

interface Vectors {
  generator: string;
  versions: { text: string; normalized: string; public: string; rank: number }[];
  invalidVersions: string[];
  invalidSpecifiers: string[];
  specifiers: { specifier: string; allowed: string; default: string }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("vectors/vectors.json", import.meta.url), "utf8"),
) as Vectors;

describe(`PEP 440 versions (vectors from ${vectors.generator})`, () => {
  it.each(vectors.versions)("$text parses to $normalized", (entry) => {
    const version = Version.parse(entry.text);
    expect(version.public).toBe(entry.public);
    expect(Version.fromParts(version).text).toBe(entry.normalized);
  });

  it.each(vectors.invalidVersions)("%j is not a version", (text) => {
    expect(Version.tryParse(text)).toBeNull();
  });

  it("orders every pair as packaging does", () => {
    const wrong: string[] = [];
    for (const a of vectors.versions) {
      for (const b of vectors.versions) {
        const sign = Math.sign(Version.parse(a.text).compare(Version.parse(b.text)));
        if (sign !== Math.sign(a.rank - b.rank)) wrong.push(`${a.text} vs ${b.text}: ${sign}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe(`PEP 440 specifiers (vectors from ${vectors.generator})`, () => {
  it.each(vectors.invalidSpecifiers)("%j is not a specifier", (text) => {
    expect(() => SpecifierSet.parse(text)).toThrowError(/not a valid PEP 440 version specifier/);
  });

  it.each(vectors.specifiers)("$specifier", (row) => {
    const set = SpecifierSet.parse(row.specifier);
    const wrong: string[] = [];
    vectors.versions.forEach((entry, index) => {
      const allowed = set.contains(entry.text, { prereleases: true });
      if (allowed !== (row.allowed[index] === "1")) {
        wrong.push(`${entry.text} with pre-releases: ${allowed}`);
      }
      const byDefault = set.contains(entry.text);
      if (byDefault !== (row.default[index] === "1")) wrong.push(`${entry.text}: ${byDefault}`);
    });
    expect(wrong).toEqual([]);
  });
});
