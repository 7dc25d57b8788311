// Name rules: PEP 503 ("Normalized Names"), the core metadata "Name" field / PEP 508
// `identifier`, and PEP 685 (extras compare normalized).
import { describe, expect, it } from "vitest";
import { isValidName, normalizeExtra, normalizeName } from "../../src/pep508/index.js";

describe("normalizeName (PEP 503)", () => {
  it.each([
    ["friendly-bard", "friendly-bard"],
    ["Friendly-Bard", "friendly-bard"],
    ["FRIENDLY-BARD", "friendly-bard"],
    ["friendly.bard", "friendly-bard"],
    ["friendly_bard", "friendly-bard"],
    ["friendly--bard", "friendly-bard"],
    ["FrIeNdLy-._.-bArD", "friendly-bard"],
    ["Foo.Bar_baz", "foo-bar-baz"],
    ["zope.interface", "zope-interface"],
  ])("%s → %s", (name, expected) => {
    expect(normalizeName(name)).toBe(expected);
  });
});

describe("normalizeExtra (PEP 685)", () => {
  it.each([
    ["security", "security"],
    ["SECURITY", "security"],
    ["PEP_685...norm", "pep-685-norm"],
    ["Different.punctuation..is...equal", "different-punctuation-is-equal"],
    ["different__punctuation_is_EQUAL", "different-punctuation-is-equal"],
  ])("%s → %s", (extra, expected) => {
    expect(normalizeExtra(extra)).toBe(expected);
  });
});

describe("isValidName", () => {
  it.each([
    ["a", true],
    ["A1", true],
    ["foo-bar.quux_bAz", true],
    ["android12", true],
    ["-foo", false],
    ["foo-", false],
    ["foo_", false],
    [".foo", false],
    ["", false],
    ["foo bar", false],
    ["føø", false],
  ])("%j is valid: %s", (name, expected) => {
    expect(isValidName(name)).toBe(expected);
  });
});
