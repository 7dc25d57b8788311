/**
 * `checkLayer` on function packages (handler, shadowing, the function with its layers: total
 * size and versions on sys.path) and `invokeHandler` running a function zip with its layers
 * in a real python3.12 with Lambda's sys.path order (/var/task, then
 * /opt/python/lib/python3.12/site-packages, then /opt/python).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BuildOptions,
  buildLayer,
  checkLayer,
  findInterpreter,
  invokeHandler,
  writeDeterministicZip,
} from "../../src/index.js";
import { findRuntime } from "../../src/runtime/index.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, writeTree } from "../helpers/sandbox.js";
import { buildWheel, type WheelSpec } from "../helpers/wheels.js";

const SPECS: WheelSpec[] = ["1.0", "1.5", "2.0"].map((version) => ({
  name: "helper",
  version,
}));
SPECS.push({ name: "web-kit", version: "3.0", requires: ["helper"] });

const search = await findInterpreter(findRuntime("python3.12"));
const PYTHON = search.interpreter?.path;
const withPython = (text: string) =>
  PYTHON === undefined ? `${text} — skipped: no local python3.12 on this machine` : text;

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer(SPECS.map(buildWheel));
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

async function build(cwd: string, options: BuildOptions): Promise<string> {
  const result = await buildLayer({
    index: { indexUrl: server.url },
    env: isolatedEnv(home),
    runtimes: ["python3.12"],
    check: false,
    cwd,
    ...options,
  });
  return result.zips[0]!.path;
}

const HANDLER = `import helper

def handler(event, context):
    return {"version": helper.__version__, "file": helper.__file__}
`;

describe("checking a function package", () => {
  it(
    withPython("passes a built function and loads its handler in Lambda's sys.path order"),
    async () => {
      const cwd = await temporaryFolder();
      await writeTree(join(cwd, "src"), { "app.py": HANDLER, "requirements.txt": "helper==2.0\n" });
      const zip = await build(cwd, { function: { source: "src", handler: "app.handler" } });
      const result = await checkLayer(zip, { env: process.env });
      expect(result.kind).toBe("function");
      expect(result.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
      expect(result.ok).toBe(true);
      if (PYTHON === undefined) return;
      expect(result.importTests[0]!.ran).toBe(true);
      expect(result.importTests[0]!.outcomes).toEqual([
        { module: "helper", ok: true, package: "helper 2.0" },
        { module: "app:handler", ok: true },
      ]);
    },
  );

  it("reports a named handler whose module is missing as an error, Lambda's default one as a warning", async () => {
    const cwd = await temporaryFolder();
    await writeTree(cwd, { "main.py": "def run(event, context):\n    return 1\n" });
    const named = await build(cwd, {
      function: { source: ".", handler: "service.handler" },
      output: "named.zip",
    });
    const namedResult = await checkLayer(named, { importTest: false });
    expect(namedResult.ok).toBe(false);
    expect(namedResult.findings[0]).toMatchObject({
      code: "handler-not-found",
      severity: "error",
    });
    expect(namedResult.findings[0]!.message).toContain(
      "none of service.py, service/__init__.py, service.pyc, service.so is in the function package",
    );
    const unnamed = await build(cwd, { function: { source: "." }, output: "unnamed.zip" });
    const unnamedResult = await checkLayer(unnamed, { importTest: false });
    expect(unnamedResult.ok).toBe(true);
    expect(
      unnamedResult.findings.find((finding) => finding.code === "handler-not-found"),
    ).toMatchObject({ severity: "warning" });
    // Naming it at check time is enough.
    const checked = await checkLayer(unnamed, { importTest: false, handler: "main.run" });
    expect(checked.findings.some((finding) => finding.code === "handler-not-found")).toBe(false);
  });

  it(
    withPython("reports a handler that does not load (missing dependency, missing function)"),
    async () => {
      if (PYTHON === undefined) return;
      const cwd = await temporaryFolder();
      await writeTree(cwd, {
        "app.py": "import not_installed\n\ndef handler(event, context):\n    return 1\n",
        "other.py": "def something_else(event, context):\n    return 1\n",
      });
      const zip = await build(cwd, { function: { source: ".", handler: "app.handler" } });
      const result = await checkLayer(zip, { env: process.env });
      const finding = result.findings.find((item) => item.code === "handler-import-failed");
      expect(finding?.message).toContain("No module named 'not_installed'");
      const wrongName = await checkLayer(zip, {
        handler: "other.handler",
        env: process.env,
      });
      expect(
        wrongName.findings.find((item) => item.code === "handler-import-failed")?.message,
      ).toContain("module 'other' has no function 'handler'");
    },
  );

  it("finds source files that shadow a dependency in a zip made by another tool", async () => {
    const folder = await temporaryFolder();
    const encode = (text: string) => new TextEncoder().encode(text);
    const path = join(folder, "foreign.zip");
    await writeFile(
      path,
      zipSync({
        "helper/__init__.py": encode("__version__ = '1.0'\n"),
        "helper-1.0.dist-info/METADATA": encode(
          "Metadata-Version: 2.1\nName: helper\nVersion: 1.0\n",
        ),
        "helper-1.0.dist-info/RECORD": encode(
          "helper/__init__.py,,\nhelper-1.0.dist-info/METADATA,,\nhelper-1.0.dist-info/RECORD,,\n",
        ),
        "helper.py": encode("# shadows the package\n"),
        "app.py": encode("def handler(event, context):\n    return 1\n"),
      }),
    );
    const result = await checkLayer(path, {
      kind: "function",
      runtimes: ["python3.12"],
      handler: "app.handler",
      importTest: false,
    });
    expect(result.findings.map((finding) => finding.code)).toContain("source-shadows-dependency");
    const finding = result.findings.find((item) => item.code === "source-shadows-dependency")!;
    expect(finding).toMatchObject({ file: "helper.py", package: "helper 1.0", severity: "error" });
    // As a layer, the same zip only gets the layer layout's findings.
    const asLayer = await checkLayer(path, { runtimes: ["python3.12"], importTest: false });
    expect(asLayer.kind).toBe("layer");
    expect(asLayer.findings.some((item) => item.code === "layout-root-package")).toBe(true);
  });
});

describe("a function with its layers", () => {
  let functionZip: string;
  let plainFunction: string;
  let layers: { python15: string; python10: string; sitePackages10: string };

  beforeAll(async () => {
    const cwd = await temporaryFolder();
    await writeTree(join(cwd, "with-helper"), {
      "app.py": HANDLER,
      "requirements.txt": "helper==2.0\n",
    });
    await writeTree(join(cwd, "plain"), { "app.py": HANDLER });
    functionZip = await build(cwd, {
      function: { source: "with-helper", handler: "app.handler" },
      output: "function.zip",
    });
    plainFunction = await build(cwd, {
      function: { source: "plain", handler: "app.handler" },
      output: "plain.zip",
    });
    layers = {
      python10: await build(cwd, { requirements: ["helper==1.0"], output: "python10.zip" }),
      python15: await build(cwd, { requirements: ["helper==1.5"], output: "python15.zip" }),
      sitePackages10: await build(cwd, {
        requirements: ["helper==1.0"],
        layout: "site-packages",
        output: "site-packages10.zip",
      }),
    };
  });

  it("reports versions on sys.path and which copy wins", async () => {
    const result = await checkLayer(functionZip, {
      layers: [layers.python10, layers.python15],
      importTest: false,
    });
    expect(result.layers).toEqual([layers.python10, layers.python15]);
    const skew = result.findings.find((finding) => finding.code === "version-skew")!;
    expect(skew.severity).toBe("warning");
    expect(skew.details).toMatchObject({
      package: "helper",
      winner: { version: "2.0", place: "the function", folder: "/var/task" },
      copies: [
        { version: "2.0", folder: "/var/task" },
        { version: "1.5", place: `layer 2 (${layers.python15})`, folder: "/opt/python" },
        { version: "1.0", place: `layer 1 (${layers.python10})`, folder: "/opt/python" },
      ],
    });
    // Without the function's copy, the later of two layers sharing /opt/python wins and the
    // message says their files mix; a site-packages layer comes before /opt/python.
    const layered = await checkLayer(plainFunction, {
      layers: [layers.python10, layers.python15],
      importTest: false,
    });
    const mixed = layered.findings.find((finding) => finding.code === "version-skew")!;
    expect(mixed.details).toMatchObject({ winner: { version: "1.5", folder: "/opt/python" } });
    expect(mixed.message).toContain("install into the same folder");
    const sitePackagesFirst = await checkLayer(plainFunction, {
      layers: [layers.python15, layers.sitePackages10],
      importTest: false,
    });
    expect(
      sitePackagesFirst.findings.find((finding) => finding.code === "version-skew")!.details,
    ).toMatchObject({
      winner: { version: "1.0", folder: "/opt/python/lib/python3.12/site-packages" },
    });
    // One version in two places is only noted.
    const same = await checkLayer(plainFunction, {
      layers: [layers.python10, layers.sitePackages10],
      importTest: false,
    });
    expect(same.findings.find((finding) => finding.code === "duplicate-package")?.severity).toBe(
      "info",
    );
  });

  it(withPython("imports the copy that wins, as Lambda's sys.path order does"), async () => {
    if (PYTHON === undefined) return;
    const cases: [string, string[], string][] = [
      [functionZip, [layers.python10, layers.python15], "2.0"],
      [plainFunction, [layers.python10, layers.python15], "1.5"],
      [plainFunction, [layers.python15, layers.python10], "1.0"],
      [plainFunction, [layers.python15, layers.sitePackages10], "1.0"],
    ];
    for (const [zip, layerZips, version] of cases) {
      const result = await invokeHandler({
        functionZip: zip,
        layers: layerZips,
        runtime: "python3.12",
        env: process.env,
      });
      expect(result.error, result.payload).toBeUndefined();
      expect(JSON.parse(result.payload).version, `${zip} with ${layerZips.join(", ")}`).toBe(
        version,
      );
    }
    // The check's import test loads the handler against the same layers.
    const checked = await checkLayer(plainFunction, {
      layers: [layers.python10],
      env: process.env,
    });
    expect(checked.importTests[0]!.outcomes).toContainEqual({ module: "app:handler", ok: true });
  });

  it("counts the function and its layers against the 250 MB unzipped limit", async () => {
    const folder = await temporaryFolder();
    // Zeros deflate to almost nothing: 90 MB unzipped each, a few hundred kB on disk.
    const blob = Buffer.alloc(90_000_000);
    const big: string[] = [];
    for (const name of ["one", "two", "three"]) {
      const path = join(folder, `${name}.zip`);
      await writeDeterministicZip(path, [
        { name: `python/${name}.bin`, mode: 0o644, source: { kind: "bytes", data: blob } },
      ]);
      big.push(path);
    }
    const under = await checkLayer(plainFunction, { layers: big.slice(0, 2), importTest: false });
    expect(under.findings.find((finding) => finding.code === "size-total")?.message).toMatch(
      /^function and layers: 172 MiB unzipped together \(function [\d.]+ (B|KiB) \+ layer 1 85\.8 MiB \+ layer 2 85\.8 MiB\), 68\.7% of the 250 MiB limit/,
    );
    const over = await checkLayer(plainFunction, { layers: big, importTest: false });
    expect(over.ok).toBe(false);
    const finding = over.findings.find((item) => item.code === "size-total-over-limit")!;
    expect(finding.severity).toBe("error");
    expect((finding.details as { total: number }).total).toBeGreaterThan(270_000_000);
    await expect(
      checkLayer(plainFunction, { layers: [...big, ...big], importTest: false }),
    ).rejects.toThrow("a function can use at most 5 layers; 6 were given");
    await expect(checkLayer(big[0]!, { kind: "layer", layers: [big[1]!] })).rejects.toThrow(
      "--layer lists the layers of a function package",
    );
  });
});
