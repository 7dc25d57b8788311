/**
 * Issue 19, point 15: requirement-file parsing is linear in the size of the input. Each
 * case is a line that a backtracking regular expression took seconds to minutes on (the
 * comment pattern `(^|\s+)#.*$` on a line of 100,000 spaces); the test's time-out is the
 * bound (a quadratic scan of these lines would run for minutes), no timing is asserted.
 */
import { describe, expect, it } from "vitest";
import { isPylayerError } from "../../src/errors.js";
import { parseRequirementsText } from "../../src/requirements/index.js";
import { stripComment } from "../../src/requirements/lines.js";

const SIZE = 1_000_000;

describe("linear parsing of hostile lines", () => {
  it.each<[string, string, string[]]>([
    ["a line of spaces", " ".repeat(SIZE), []],
    ["spaces before a requirement", `${" ".repeat(SIZE)}requests`, ["requests"]],
    ["spaces, then a comment", `requests${" ".repeat(SIZE)}# note`, ["requests"]],
    ["tabs and spaces, no comment", `requests${" \t".repeat(SIZE / 2)}x`, []],
    ["hashes without whitespace before them", `requests${"#".repeat(SIZE)}`, []],
    ["a continuation of many backslashes", `requests${"\\".repeat(SIZE)}a\\\n`, []],
  ])("%s", async (_label, text, names) => {
    try {
      const parsed = await parseRequirementsText(`${text}\n`, "requirements.txt", { env: {} });
      expect(parsed.requirements.map((line) => line.requirement.name)).toEqual(names);
    } catch (error) {
      // Malformed lines are errors naming the file and line, never a hang or a crash.
      expect(names).toEqual([]);
      expect(isPylayerError(error)).toBe(true);
      expect((error as Error).message).toMatch(/^requirements\.txt:1/);
    }
  });

  it.each([
    ["requests # comment", "requests "],
    ["# whole line", ""],
    ["a#b # c", "a#b "],
    ["url#egg=x\t# c", "url#egg=x\t"],
    ["no comment", "no comment"],
  ])("stripComment(%j) is %j (pip: # at the start or after whitespace)", (text, expected) => {
    expect(stripComment(text)).toBe(expected);
  });
});
