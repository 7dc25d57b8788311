import { describe, expect, it } from "vitest";
import { compareUtf8 } from "../../src/wheel/install.js";

describe("compareUtf8", () => {
  // The order of the UTF-8 bytes (code point order), which differs from JavaScript's
  // UTF-16 order for characters above U+FFFF against U+E000–U+FFFF.
  const samples = [
    "",
    "a",
    "a/b",
    "a-b",
    "a.b",
    "ab",
    "z",
    "é",
    "\u{e000}",
    "\u{ffff}",
    "\u{10000}",
    "\u{1f600}",
    "a\u{1f600}",
    "a\u{fffd}",
  ];
  it("orders like Buffer.compare on the UTF-8 bytes, for every pair", () => {
    for (const left of samples) {
      for (const right of samples) {
        const expected = Math.sign(Buffer.compare(Buffer.from(left), Buffer.from(right)));
        expect([left, right, Math.sign(compareUtf8(left, right))]).toEqual([left, right, expected]);
      }
    }
  });
});
