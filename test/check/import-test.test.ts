import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CheckResult, checkLayer } from "../../src/check/index.js";
import { findInterpreter } from "../../src/invoke/environment.js";
import { findRuntime } from "../../src/runtime/index.js";
import { installedDistribution, manifestFor, writeLayerZip } from "./layers.js";
import { compileShared, HAS_GCC } from "./native-build.js";

const dir = mkdtempSync(join(tmpdir(), "pylayer-import-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const search = await findInterpreter(findRuntime("python3.11"));
const PYTHON = search.interpreter?.path;
const HOST_ARCH = process.arch === "arm64" ? "arm64" : "x86_64";
const title = (text: string) =>
  PYTHON === undefined ? `${text} — skipped: no local python3.11 on this machine` : text;

describe.skipIf(PYTHON === undefined || process.platform !== "linux")(
  title("import test with the local python3.11"),
  () => {
    let result: CheckResult;
    beforeAll(async () => {
      const files = {
        ...installedDistribution("good", "1.0", { "good/__init__.py": "VALUE = 1\n" }),
        ...installedDistribution("bad", "1.0", {
          "bad/__init__.py": "raise RuntimeError('configuration missing')\n",
        }),
        ...installedDistribution("needsdep", "1.0", {
          "needsdep/__init__.py": "import not_installed_dependency\n",
        }),
        ...installedDistribution("crash", "1.0", { "crash.py": "import os\nos._exit(3)\n" }),
        ...installedDistribution("usesboto", "1.0", { "usesboto/__init__.py": "import boto3\n" }),
        // Lambda's order: site-packages of the runtime's version before python/, both before the stdlib.
        "python/lib/python3.11/site-packages/shadow.py": "WHERE = 'site-packages'\n",
        "python/shadow.py": "WHERE = 'python'\n",
        ...installedDistribution("order", "1.0", {
          "order/__init__.py": [
            "import sys, shadow",
            "assert shadow.WHERE == 'site-packages', shadow.WHERE",
            "assert sys.path[1].endswith('/opt/python/lib/python3.11/site-packages'), sys.path",
            "assert sys.path[2].endswith('/opt/python'), sys.path",
            "assert not any('site-packages' in entry and '/opt/' not in entry for entry in sys.path), sys.path",
            "",
          ].join("\n"),
        }),
        // .pth files in the layer folders work (the runtime uses site.addsitedir).
        "python/vendored.pth": "vendored\n",
        "python/vendored/vendmod.py": "X = 1\n",
      };
      const path = await writeLayerZip(join(dir, "layer.zip"), files, {
        manifest: manifestFor("python3.11", HOST_ARCH),
      });
      result = await checkLayer(path, { importTimeoutSeconds: 30 });
    });

    it("imports every top-level module, each in its own process", () => {
      const [report] = result.importTests;
      expect(report).toMatchObject({
        target: `python3.11-${HOST_ARCH}`,
        ran: true,
        interpreter: PYTHON,
      });
      const outcomes = Object.fromEntries(
        report!.outcomes.map((outcome) => [outcome.module, outcome]),
      );
      expect(Object.keys(outcomes).sort()).toEqual(
        ["bad", "crash", "good", "needsdep", "order", "shadow", "usesboto", "vendored"].sort(),
      );
      expect(outcomes.good).toMatchObject({ ok: true, package: "good 1.0" });
      expect(outcomes.order).toMatchObject({ ok: true });
      expect(outcomes.shadow).toMatchObject({ ok: true });
    });

    it("reports each failure with the last line of its traceback", () => {
      const failures = Object.fromEntries(
        result.findings
          .filter((finding) => finding.code === "import-failed")
          .map((finding) => [finding.details?.module, finding]),
      );
      expect(Object.keys(failures).sort()).toEqual(["bad", "crash", "needsdep"]);
      expect(failures.bad).toMatchObject({ severity: "error", package: "bad 1.0" });
      expect(failures.bad!.details?.error).toBe("RuntimeError: configuration missing");
      expect(failures.needsdep!.details?.error).toBe(
        "ModuleNotFoundError: No module named 'not_installed_dependency'",
      );
      expect(failures.crash!.details?.error).toBe("the interpreter exited with status 3");
      expect(result.ok).toBe(false);
    });

    it("treats a missing boto3 as the runtime's (a warning, not an error)", () => {
      const [finding] = result.findings.filter(
        (item) => item.code === "import-needs-runtime-package",
      );
      expect(finding).toMatchObject({ severity: "warning", details: { module: "usesboto" } });
    });

    it("imports only the --import list when one is given", async () => {
      const reimport = await checkLayer(join(dir, "layer.zip"), { imports: ["good", "vendmod"] });
      expect(
        reimport.importTests[0]!.outcomes.map((outcome) => [outcome.module, outcome.ok]),
      ).toEqual([
        ["good", true],
        ["vendmod", true],
      ]);
      expect(reimport.ok).toBe(true);
    });

    it.skipIf(!HAS_GCC)(
      "puts the layer's lib/ on LD_LIBRARY_PATH, as /opt/lib is on Lambda",
      async () => {
        compileShared(dir, "libstub.so", "int stub(void) { return 42; }", {
          args: ["-Wl,-soname,libstub.so.1"],
        });
        const files = {
          "lib/libstub.so.1": readFileSync(join(dir, "libstub.so")),
          "python/useslib.py": "import ctypes\nassert ctypes.CDLL('libstub.so.1').stub() == 42\n",
        };
        const path = await writeLayerZip(join(dir, "lib-layer.zip"), files, {
          manifest: manifestFor("python3.11", HOST_ARCH),
        });
        const check = await checkLayer(path);
        expect(check.importTests[0]!.outcomes).toEqual([{ module: "useslib", ok: true }]);
      },
    );
  },
);

describe("when the import test cannot run", () => {
  it("says why for another architecture, and still runs the static checks", async () => {
    const other = HOST_ARCH === "x86_64" ? "arm64" : "x86_64";
    const path = await writeLayerZip(join(dir, "other-arch.zip"), { "python/m.py": "" });
    const result = await checkLayer(path, { runtimes: ["python3.11"], architectures: [other] });
    const [finding] = result.findings.filter((item) => item.code === "import-test-skipped");
    expect(finding).toMatchObject({ severity: "info", target: `python3.11-${other}` });
    expect(finding!.message).toContain(`the layer is for ${other}`);
    expect(result.importTests[0]).toMatchObject({ ran: false });
    expect(result.ok).toBe(true);
  });

  it("says what was searched when no interpreter of the version exists", async () => {
    const path = await writeLayerZip(join(dir, "no-python.zip"), { "python/m.py": "" });
    const empty = mkdtempSync(join(dir, "empty-"));
    const result = await checkLayer(path, {
      runtimes: ["python3.13"],
      architectures: [HOST_ARCH],
      env: { PATH: empty, HOME: empty, PYENV_ROOT: join(empty, "pyenv") },
    });
    const [finding] = result.findings.filter((item) => item.code === "import-test-skipped");
    expect(finding!.message).toContain("no local CPython 3.13 was found");
    expect(finding!.hint).toContain("pyenv install 3.13");
  });

  it("rejects an explicit interpreter of the wrong version, saying which it is", async () => {
    const path = await writeLayerZip(join(dir, "wrong-python.zip"), { "python/m.py": "" });
    const result = await checkLayer(path, {
      runtimes: ["python3.9"],
      architectures: [HOST_ARCH],
      python: process.execPath,
    });
    const [finding] = result.findings.filter((item) => item.code === "import-test-skipped");
    expect(finding!.message).toContain(process.execPath);
  });
});
