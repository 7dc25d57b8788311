import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LayoutKind } from "../../src/wheel/index.js";
import { extractZip, installWheel } from "./helpers.js";

/** The real python3.11 executable (not a pyenv shim), or undefined when it is missing. */
function findPython(): string | undefined {
  const result = spawnSync("python3.11", ["-c", "import sys; print(sys.executable)"], {
    encoding: "utf8",
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

const CLI_MODULE = `import os
import sys


def main():
    print("argv=" + repr(sys.argv[1:]))
    import runner
    print("package=" + os.path.realpath(runner.__file__))
    return 3


class App:
    @staticmethod
    def run():
        print("gui ok")
        return 0
`;

/** A classic setuptools script: docstring before a __future__ import, __doc__ as usage text. */
const LEGACY_SCRIPT = `#!python
"""Usage: runner-legacy [fail]"""
from __future__ import annotations

import sys

import runner.cli

print("doc=" + repr(__doc__))
print("file=" + __file__)
print("argv=" + repr(sys.argv))
print("path0=" + sys.path[0])
if sys.argv[1:] == ["fail"]:
    raise RuntimeError("boom")
`;

const LATIN1_SCRIPT = Buffer.concat([
  Buffer.from("#!python\n# -*- coding: latin-1 -*-\nprint('caf"),
  Buffer.from([0xe9]),
  Buffer.from("')\n"),
]);

// Lambda runs subprocesses with PYTHONPATH=/var/runtime, so the layer's site folder is not
// on sys.path unless the launcher puts it there.
describe.each<[LayoutKind, string]>([
  ["python", "python"],
  ["site-packages", "python/lib/python3.11/site-packages"],
])("scripts in the %s layout run with a real python3.11", (layoutKind, siteDir) => {
  const python = findPython();
  let opt = "";
  let elsewhere = "";
  let environment: NodeJS.ProcessEnv = {};
  let folder = "";

  afterAll(async () => {
    if (folder !== "") await rm(folder, { recursive: true, force: true });
  });

  beforeAll(async () => {
    if (python === undefined) return;
    folder = await mkdtemp(join(tmpdir(), "pylayer-scripts-"));
    const { zipPath } = await installWheel(
      folder,
      {
        name: "runner",
        version: "1.0",
        files: { "runner/__init__.py": "", "runner/cli.py": CLI_MODULE },
        consoleScripts: { "runner-cli": "runner.cli:main" },
        guiScripts: { "runner-gui": "runner.cli:App.run" },
        data: {
          scripts: {
            "runner-legacy": LEGACY_SCRIPT,
            "runner-latin": new Uint8Array(LATIN1_SCRIPT),
          },
        },
      },
      layoutKind,
      "python3.11",
    );
    opt = join(folder, "opt");
    await extractZip(zipPath, opt);
    elsewhere = join(folder, "elsewhere");
    await mkdir(join(elsewhere, "links"), { recursive: true });
    await symlink(join(opt, "bin", "runner-cli"), join(elsewhere, "links", "absolute-link"));
    await symlink(
      relative(join(elsewhere, "links"), join(opt, "bin", "runner-legacy")),
      join(elsewhere, "links", "runner-legacy"),
    );
    environment = {
      PATH: `${join(elsewhere, "links")}:/usr/bin:/bin`,
      PYLAYER_PYTHON: python,
      PYTHONPATH: "/var/runtime",
      LANG: "C.UTF-8",
      PYTHONIOENCODING: "utf-8",
    };
  });

  function run(command: string, args: string[] = [], cwd = elsewhere, env = environment) {
    const result = spawnSync(command, args, { cwd, env, encoding: "utf8" });
    if (result.error !== undefined) throw result.error;
    return result;
  }

  it("runs a console script by absolute path from another folder", (context) => {
    if (python === undefined) return context.skip("python3.11 is not installed");
    const result = run(join(opt, "bin", "runner-cli"), ["a b", "--flag"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(3);
    expect(result.stdout).toContain("argv=['a b', '--flag']");
    expect(result.stdout).toContain(`package=${join(opt, siteDir, "runner", "__init__.py")}`);
  });

  it("runs a console script by relative path, through symlinks and by PATH lookup", (context) => {
    if (python === undefined) return context.skip("python3.11 is not installed");
    const relativeRun = run("./bin/runner-cli", [], opt);
    expect(relativeRun.status, relativeRun.stderr).toBe(3);
    const linked = run(join(elsewhere, "links", "absolute-link"), ["x"]);
    expect(linked.status, linked.stderr).toBe(3);
    expect(linked.stdout).toContain("argv=['x']");
    const lookedUp = run("absolute-link", ["y"]);
    expect(lookedUp.status, lookedUp.stderr).toBe(3);
    expect(lookedUp.stdout).toContain("argv=['y']");
  });

  it("runs a GUI script the same way, also when PYTHONPATH is not set at all", (context) => {
    if (python === undefined) return context.skip("python3.11 is not installed");
    const { PYTHONPATH: _unused, ...withoutPythonPath } = environment;
    const result = run(join(opt, "bin", "runner-gui"), [], elsewhere, withoutPythonPath);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("gui ok\n");
  });

  it("runs a rewritten #!python script with its docstring, __future__ import and argv intact", (context) => {
    if (python === undefined) return context.skip("python3.11 is not installed");
    // Reached through a relative symlink found on PATH.
    const result = run("runner-legacy", ["--opt"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const script = join(elsewhere, "links", "runner-legacy");
    expect(result.stdout.split("\n")).toEqual([
      "doc='Usage: runner-legacy [fail]'",
      `file=${script}`,
      `argv=['${script}', '--opt']`,
      `path0=${join(opt, "bin")}`,
      "",
    ]);
  });

  it("reports errors in a rewritten script at the line of the file on disk", async (context) => {
    if (python === undefined) return context.skip("python3.11 is not installed");
    const path = join(opt, "bin", "runner-legacy");
    const result = run(path, ["fail"]);
    expect(result.status).toBe(1);
    const lines = (await readFile(path, "utf8")).split("\n");
    const raiseLine = lines.findIndex((line) => line.includes('raise RuntimeError("boom")')) + 1;
    expect(result.stderr).toContain(`File "${path}", line ${raiseLine}, in <module>`);
    expect(result.stderr).toContain('raise RuntimeError("boom")');
    expect(result.stderr).toContain("RuntimeError: boom");
  });

  it("honours an encoding declaration on the rewritten script's second line", (context) => {
    if (python === undefined) return context.skip("python3.11 is not installed");
    const result = run(join(opt, "bin", "runner-latin"));
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("café\n");
  });

  it("is seen by importlib.metadata, with every RECORD path resolving to a file", (context) => {
    if (python === undefined) return context.skip("python3.11 is not installed");
    const check = [
      "import importlib.metadata as metadata",
      "files = metadata.files('runner')",
      "print(metadata.version('runner'), metadata.distribution('runner').read_text('INSTALLER'), end='')",
      "print(sorted(str(f) for f in files if not f.locate().is_file()))",
      "print(sorted(str(f) for f in files if str(f).startswith('..')))",
    ].join("\n");
    const result = run(python, ["-c", check], elsewhere, {
      ...environment,
      PYTHONPATH: join(opt, siteDir),
    });
    expect(result.stderr).toBe("");
    const up = siteDir === "python" ? "../" : "../../../../";
    expect(result.stdout.split("\n")).toEqual([
      "1.0 pylayer",
      "[]",
      `[${["runner-cli", "runner-gui", "runner-latin", "runner-legacy"].map((name) => `'${up}bin/${name}'`).join(", ")}]`,
      "",
    ]);
  });

  it("uses Lambda's interpreter when PYLAYER_PYTHON is not set", (context) => {
    if (python === undefined) return context.skip("python3.11 is not installed");
    const { PYLAYER_PYTHON: _unused, ...withoutOverride } = environment;
    const result = run(join(opt, "bin", "runner-cli"), [], elsewhere, withoutOverride);
    expect(result.status).toBe(127);
    expect(result.stderr).toContain("/var/lang/bin/python3.11");
  });
});
