/** What the Ui shows depends on the terminal: progress only on a TTY, never in --json/--quiet/CI. */
import { describe, expect, it } from "vitest";
import { Ui } from "../../src/cli/ui.js";

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, chunks, write: (text: string) => chunks.push(text), columns: 80 };
}

describe("Ui progress", () => {
  it.each([
    ["a TTY", { tty: true, json: false, quiet: false, env: {} }, true],
    ["a pipe", { tty: false, json: false, quiet: false, env: {} }, false],
    ["--json on a TTY", { tty: true, json: true, quiet: false, env: {} }, false],
    ["--quiet on a TTY", { tty: true, json: false, quiet: true, env: {} }, false],
    ["CI on a TTY", { tty: true, json: false, quiet: false, env: { CI: "true" } }, false],
  ])("on %s shows progress: %s", (_name, setup, shown) => {
    const stderr = stream(setup.tty);
    const stdout = stream(false);
    const ui = new Ui({
      json: setup.json,
      quiet: setup.quiet,
      verbose: false,
      stderr,
      stdout,
      env: setup.env,
    });
    ui.progress("Resolving… 3 requests");
    ui.clearProgress();
    expect(stderr.chunks.join("").includes("Resolving")).toBe(shown);
    expect(stdout.chunks).toEqual([]);
  });

  it("redacts credentials in everything it prints", () => {
    const stderr = stream(false);
    const stdout = stream(false);
    const ui = new Ui({ json: false, quiet: false, verbose: false, stderr, stdout, env: {} });
    ui.warn("cannot reach https://user:token@index.example/simple/");
    ui.out("from https://user:token@index.example/simple/x.whl");
    expect([...stderr.chunks, ...stdout.chunks].join("")).not.toContain("token");
  });
});
