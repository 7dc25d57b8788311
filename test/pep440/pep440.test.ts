// Cases from PEP 440 ("Version specifiers", "Handling of pre-releases") and packaging's test_specifiers.py.
import { describe, expect, it } from "vitest";
import { compareVersions, SpecifierSet, Version } from "../../src/pep440/index.js";

describe("Version", () => {
  it.each([
    ["1.0", "1.0.0", 0],
    ["1.0a1", "1.0", -1],
    ["1.0.dev1", "1.0a1", -1],
    ["1.0.post1", "1.0", 1],
    ["1!0.1", "2.0", 1],
    ["1.0+local", "1.0", 1],
    ["1.10", "1.9", 1],
  ])("compares %s with %s", (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });

  it("rejects invalid versions with a stable code", () => {
    expect(Version.tryParse("not-a-version")).toBeNull();
    expect(() => Version.parse("1.0-foo-bar")).toThrowError(/not a valid PEP 440 version/);
  });
});

describe("SpecifierSet.contains", () => {
  it.each([
    [">=1.0,<2", "1.5", true],
    [">=1.0,<2", "2.0", false],
    ["~=1.4.2", "1.4.5", true],
    ["~=1.4.2", "1.5.0", false],
    ["==1.1.*", "1.1.post1", true],
    ["!=1.1.*", "1.1.3", false],
    [">1.7", "1.7.post2", false],
    ["<2", "2.0rc1", false],
    ["", "1.0", true],
    ["", "1.0rc1", false],
    [">=1.0b1", "1.0b2", true], // a clause naming a pre-release admits pre-releases
    [">=1.0b1,<2", "1.5rc1", true], // set-level rule (PEP 440), not per clause
    ["!=1.0b1", "1.0b2", false],
    ["==1.0+local", "1.0+local", true],
    ["==1.0", "1.0+local", true],
    // Found by a differential run against packaging (issue 19, point 12):
    [">0.1.0", "1!0.1.0", true], // epochs count for exclusive >
    ["!=2.0.*", "2", false], // prefix matching pads 2 to 2.0
    ["<2.0a0", "2.0.dev0", true], // V is a pre-release: its earlier pre-releases are admitted
    ["<2.0", "2.0.dev0", false],
  ])("%s contains %s: %s", (spec, version, expected) => {
    expect(SpecifierSet.parse(spec).contains(version)).toBe(expected);
  });

  it("admits pre-releases when asked", () => {
    expect(SpecifierSet.parse(">=1").contains("2.0a1", { prereleases: true })).toBe(true);
    expect(SpecifierSet.parse(">=1").contains("2.0a1")).toBe(false);
  });

  it("rejects malformed specifiers", () => {
    expect(() => SpecifierSet.parse(">=1.0,<<2")).toThrowError(
      /not a valid PEP 440 version specifier/,
    );
    expect(() => SpecifierSet.parse("~=1")).toThrowError();
  });
});
