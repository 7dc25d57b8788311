// Logical lines as pip's "Requirements File Format" reference defines them (line
// continuations, comments, environment variables). Expected values were checked by hand
// against pip 23.2's req_file.preprocess.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: pip's ${NAME} expansion is under test
import { describe, expect, it } from "vitest";
import { logicalLines, splitShellWords } from "../../src/requirements/lines.js";

describe("logicalLines", () => {
  const sample = [
    "# comment",
    "foo==1.0 \\",
    "    --hash=sha256:aaaa \\",
    "    --hash=sha256:bbbb",
    "bar \\",
    "# a comment line ends the continuation",
    "baz>=1 # inline comment",
    "url @ https://host/x.whl#sha256=abc",
    'qux; python_version >= "3" \\',
    '  and os_name == "posix"',
    "-i https://${USER_TOKEN}@host/simple",
    "--extra-index-url ${UNDEFINED}/x",
    "last \\",
  ].join("\n");

  it("joins, strips and expands like pip", () => {
    const lines = logicalLines(sample, { USER_TOKEN: "secret" });
    expect(lines.map((line) => [line.line, line.text])).toEqual([
      [2, "foo==1.0     --hash=sha256:aaaa     --hash=sha256:bbbb"],
      [5, "bar"],
      [7, "baz>=1"],
      [8, "url @ https://host/x.whl#sha256=abc"],
      [9, 'qux; python_version >= "3"   and os_name == "posix"'],
      [11, "-i https://secret@host/simple"],
      [12, "--extra-index-url ${UNDEFINED}/x"],
      [13, "last"],
    ]);
    // The text as written keeps the variable, so messages never show its value.
    expect(lines[5]?.written).toBe("-i https://${USER_TOKEN}@host/simple");
  });

  it.each<[string, Record<string, string>, string[]]>([
    ["a\r\nb\rc\n", {}, ["a", "b", "c"]],
    ["\uFEFFname", {}, ["name"]],
    ["   \n\t\n", {}, []],
    ["#only a comment", {}, []],
    ["name#not-a-comment", {}, ["name#not-a-comment"]],
    ["name\t# comment", {}, ["name"]],
    ["${LOWER_case}", { LOWER_case: "x" }, ["${LOWER_case}"]],
    ["$NAME ${NAME}", { NAME: "x" }, ["$NAME x"]],
    ["${EMPTY}", { EMPTY: "" }, ["${EMPTY}"]],
    ["${A}${B}", { A: "1", B: "2" }, ["12"]],
    ["${HASH}", { HASH: "a # b" }, ["a # b"]], // expansion comes after comment stripping
  ])("%j", (content, environment, expected) => {
    expect(logicalLines(content, environment).map((line) => line.text)).toEqual(expected);
  });
});

describe("splitShellWords (shlex.split)", () => {
  it.each<[string, string[] | undefined]>([
    ["", []],
    ["  -i  url ", ["-i", "url"]],
    ["--hash=sha256:a\t--hash=sha256:b", ["--hash=sha256:a", "--hash=sha256:b"]],
    ["-f 'a folder'", ["-f", "a folder"]],
    ['-f "a \\"quoted\\" folder"', ["-f", 'a "quoted" folder']],
    ["-f a\\ b", ["-f", "a b"]],
    ["-f ''", ["-f", ""]],
    ["-f 'unclosed", undefined],
    ['-f "unclosed', undefined],
  ])("%j", (text, expected) => {
    expect(splitShellWords(text)).toEqual(expected);
  });
});
