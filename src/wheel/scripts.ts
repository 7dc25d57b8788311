/**
 * Launchers for scripts in a layer's bin folder.
 *
 * On Lambda, a script is typically run as a subprocess of the function, where PYTHONPATH
 * is `/var/runtime` and the layer's site folder is therefore not on sys.path. Every
 * launcher starts with the same POSIX sh part: it follows symbolic links to find the real
 * file, puts the layer's site folder (found relative to that file) in front of PYTHONPATH,
 * and execs Lambda's interpreter, or `$PYLAYER_PYTHON` when set. It needs only sh builtins,
 * plus `readlink` when the script is reached through a symbolic link.
 *
 * - Generated console/GUI scripts are sh/Python polyglots, the trick pip uses for long
 *   shebangs: the sh part sits inside a Python string that opens with `'''` (for sh, the
 *   empty string `''` followed by `'true'`), so Python sees one module docstring followed by
 *   the entry point call.
 * - `.data/scripts` files starting with `#!python` keep their Python text unchanged after
 *   the sh part, and sh runs them through a small loader (`python -c`) that skips the sh
 *   lines. A polyglot would turn the sh part into the module docstring, which changes
 *   `__doc__` (scripts that print it as their usage text) and breaks a script whose own
 *   docstring precedes `from __future__` imports. The loader keeps line numbers, the
 *   encoding declaration, `__doc__`, `__file__`, `sys.argv` and `sys.path[0]` as running
 *   the script directly would.
 */
import { posix } from "node:path";
import type { ScriptEntryPoint } from "./entry-points.js";
import type { Layout } from "./layout.js";

/** The sh lines that set PYTHONPATH; no backslashes and no `'''`, so they fit in a Python string. */
function pythonPathLines(layout: Layout): string[] {
  const siteFromBin = posix.relative(layout.binDir, layout.siteDir);
  return [
    "# Written by pylayer. Puts the layer's site folder, found relative to this file's",
    `# real location at ${siteFromBin},`,
    "# in front of PYTHONPATH, then runs Python (PYLAYER_PYTHON overrides the interpreter).",
    'script="$0"',
    'while [ -h "$script" ]; do',
    '  link="$(readlink "$script")"',
    '  case "$link" in',
    '    /*) script="$link" ;;',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: sh parameter expansion
    '    *) case "$script" in */*) script="${script%/*}/$link" ;; *) script="$link" ;; esac ;;',
    "  esac",
    "done",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: sh parameter expansion
    'case "$script" in */*) bin="${script%/*}" ;; *) bin=. ;; esac',
    'case "$bin" in /*) ;; *) bin="$(pwd -P)/$bin" ;; esac',
    `site="$(cd -P "$bin/${siteFromBin}" 2>/dev/null && pwd -P)"`,
    'if [ -n "$site" ]; then',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: sh parameter expansion
    '  PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"',
    "  export PYTHONPATH",
    "fi",
  ];
}

function interpreter(layout: Layout): string {
  return `"\${PYLAYER_PYTHON:-${layout.pythonExecutable}}"`;
}

/** A console or GUI script for `entryPoint` (both behave the same on Linux). */
export function entryPointScript(entryPoint: ScriptEntryPoint, layout: Layout): string {
  const [head] = entryPoint.attribute.split(".") as [string];
  return [
    "#!/bin/sh",
    "'''true'",
    ...pythonPathLines(layout),
    `exec ${interpreter(layout)} "$0" "$@"`,
    "' '''",
    "import sys",
    "",
    `from ${entryPoint.module} import ${head}`,
    "",
    'if __name__ == "__main__":',
    `    sys.exit(${entryPoint.attribute}())`,
    "",
  ].join("\n");
}

/** Whether a `.data/scripts` file gets its interpreter line rewritten (binary distribution format). */
export function hasPythonShebang(contents: Buffer): boolean {
  return contents.subarray(0, 8).toString("latin1") === "#!python";
}

/**
 * Replaces the `#!python` (or `#!pythonw`, arguments included) first line of a
 * `.data/scripts` file by the sh launcher; the rest of the file is kept byte for byte.
 */
export function rewritePythonScript(contents: Buffer, layout: Layout): Buffer {
  const newline = contents.indexOf(0x0a);
  const body = newline < 0 ? Buffer.alloc(0) : contents.subarray(newline + 1);
  const head = (skipLines: number) =>
    [
      "#!/bin/sh",
      ...pythonPathLines(layout),
      `exec ${interpreter(layout)} -c '${loader(skipLines)}' "$0" "$@"`,
      "",
    ].join("\n");
  // The loader's line count does not depend on the number written into it.
  const lineCount = head(0).split("\n").length - 1;
  return Buffer.concat([Buffer.from(head(lineCount), "utf8"), body]);
}

/**
 * Python run with `-c` by a rewritten script: compiles the file minus its first
 * `skipLines` lines (kept as blank lines, so line numbers match the file) and executes it
 * as `__main__`, as `python script` would. No single quotes (it sits in sh single quotes).
 */
function loader(skipLines: number): string {
  return [
    "def _pylayer_run():",
    "    import io, os, sys, tokenize, __main__",
    "    script = sys.argv[1]",
    "    del sys.argv[0]",
    "    sys.path[0] = os.path.dirname(os.path.realpath(script))",
    '    with open(script, "rb") as stream:',
    `        body = stream.read().split(b"\\n", ${skipLines})[-1]`,
    "    encoding = tokenize.detect_encoding(io.BytesIO(body).readline)[0]",
    `    source = "\\n" * ${skipLines} + body.decode(encoding)`,
    '    del globals()["_pylayer_run"]',
    "    __main__.__file__ = script",
    '    exec(compile(source, script, "exec", dont_inherit=True), __main__.__dict__)',
    "_pylayer_run()",
  ].join("\n");
}
