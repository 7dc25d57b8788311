/**
 * buildLayer end to end through the library API, against wheels served on 127.0.0.1.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeManifest } from "../../src/layer/index.js";
import { type BuildOptions, buildLayer } from "../../src/pipeline/index.js";
import { ZipReader } from "../../src/zip/index.js";
import { type IndexServer, startIndexServer, writeFileIndex } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, unzipFile } from "../helpers/sandbox.js";
import { type BuiltWheel, buildWheel, type WheelSpec, writeWheels } from "../helpers/wheels.js";

const SO = (text: string) => new TextEncoder().encode(`\u007fELF fake ${text}`);

const SPECS: WheelSpec[] = [
  { name: "app-core", version: "1.0", requires: ["helper>=1", "tiny-extra[fast]"] },
  { name: "app-core", version: "2.0", requires: ["helper>=2"], requiresPython: ">=3.12" },
  { name: "helper", version: "1.5" },
  { name: "helper", version: "2.1" },
  {
    name: "tiny-extra",
    version: "0.3",
    extras: { fast: ["speedup"] },
    consoleScripts: { "tiny-tool": "tiny_extra:main" },
    files: { "tiny_extra/__init__.py": "def main():\n    print('tiny')\n    return 0\n" },
  },
  { name: "speedup", version: "1.0", requires: ['oldpy-only; python_version < "3.12"'] },
  { name: "oldpy-only", version: "1.0" },
  // Native wheels: the newest needs glibc 2.28 (not on Amazon Linux 2), one is arm64 only.
  {
    name: "native",
    version: "1.0",
    tag: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    files: { "native/__init__.py": "", "native/_core.cpython-311-x86_64-linux-gnu.so": SO("1.0") },
  },
  {
    name: "native",
    version: "2.0",
    tag: "cp311-cp311-manylinux_2_28_x86_64",
    files: { "native/__init__.py": "", "native/_core.cpython-311-x86_64-linux-gnu.so": SO("2.0") },
  },
  {
    name: "native",
    version: "2.0",
    tag: "cp312-abi3-manylinux_2_28_x86_64",
    files: { "native/__init__.py": "", "native/_core.abi3.so": SO("2.0 abi3") },
  },
  {
    name: "native",
    version: "2.0",
    tag: "cp39-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64",
    files: { "native/__init__.py": "", "native/_core.abi3.so": SO("2.0 arm") },
  },
  { name: "boto3", version: "1.35.0", requires: ["botocore>=1.35"] },
  { name: "botocore", version: "1.35.2" },
];

let wheels: BuiltWheel[];
let server: IndexServer;
let home: string;

beforeAll(async () => {
  wheels = SPECS.map(buildWheel);
  server = await startIndexServer(wheels);
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

async function build(options: BuildOptions & { cwd?: string }) {
  const cwd = options.cwd ?? (await temporaryFolder());
  return buildLayer({
    index: { indexUrl: server.url },
    env: isolatedEnv(home),
    cwd,
    ...options,
  });
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest();

describe("buildLayer", () => {
  it("writes a layer with the resolved wheels under python/ and reports its hashes", async () => {
    const cwd = await temporaryFolder();
    const result = await build({ cwd, requirements: ["app-core"], runtimes: ["python3.11"] });
    expect(result.plan.targets[0]!.packages.map((item) => `${item.name}==${item.version}`)).toEqual(
      ["app-core==1.0", "helper==2.1", "oldpy-only==1.0", "speedup==1.0", "tiny-extra==0.3"],
    );
    const [zip] = result.zips;
    expect(zip!.path).toBe(join(cwd, "layer.zip"));
    const bytes = await readFile(zip!.path);
    expect(zip!.sha256).toBe(sha256(bytes).toString("hex"));
    expect(zip!.sha256Base64).toBe(sha256(bytes).toString("base64"));
    expect(zip!.size).toBe(bytes.length);
    const entries = await unzipFile(zip!.path);
    expect(Object.keys(entries)).toContain("python/app_core/__init__.py");
    expect(new TextDecoder().decode(entries["python/app_core-1.0.dist-info/INSTALLER"])).toBe(
      "pylayer\n",
    );
    expect(Object.keys(entries)).toContain("bin/tiny-tool");
    const manifest = decodeManifest((await ZipReader.open(zip!.path)).comment);
    expect(manifest).toMatchObject({
      runtimes: ["python3.11"],
      architectures: ["x86_64"],
      layout: "python",
    });
  });

  it("evaluates Requires-Python and markers per target", async () => {
    const result = await build({
      requirements: ["app-core"],
      runtimes: ["python3.11", "python3.12"],
      output: "out",
    });
    const versions = Object.fromEntries(
      result.plan.targets.map((target) => [
        target.id,
        target.packages.map((item) => `${item.name}==${item.version}`),
      ]),
    );
    expect(versions).toEqual({
      "python3.11-x86_64": [
        "app-core==1.0",
        "helper==2.1",
        "oldpy-only==1.0",
        "speedup==1.0",
        "tiny-extra==0.3",
      ],
      "python3.12-x86_64": ["app-core==2.0", "helper==2.1"],
    });
    expect(result.zips.map((zip) => zip.path.split("/").slice(-2).join("/"))).toEqual([
      "out/python3.11-x86_64.zip",
      "out/python3.12-x86_64.zip",
    ]);
  });

  it.each([
    ["python3.11", "x86_64", "1.0", "cp311-cp311-manylinux_2_17_x86_64"],
    ["python3.12", "x86_64", "2.0", "cp312-abi3-manylinux_2_28_x86_64"],
    ["python3.11", "arm64", "2.0", "cp39-abi3-manylinux_2_17_aarch64"],
  ])(
    "picks the wheel that runs on %s %s (glibc cap, abi3, arch)",
    async (runtime, arch, version, tag) => {
      const result = await build({
        requirements: ["native"],
        runtimes: [runtime],
        architectures: [arch],
        dryRun: true,
      });
      expect(result.plan.targets[0]!.packages[0]).toMatchObject({
        name: "native",
        version,
        tag,
        pure: false,
      });
    },
  );

  it("explains why no wheel fits a target", async () => {
    await expect(
      build({ requirements: ["native>=2"], runtimes: ["python3.11"], dryRun: true }),
    ).rejects.toMatchObject({
      code: "no-matching-distribution",
      message: expect.stringContaining("manylinux_2_28 needs glibc 2.28, python3.11 has 2.26"),
      hint: expect.stringContaining("wheels needing glibc 2.28 run on python3.12 and later"),
    });
  });

  it("writes one zip for several targets when every wheel is pure Python", async () => {
    const cwd = await temporaryFolder();
    const result = await build({
      cwd,
      requirements: ["helper"],
      runtimes: ["python3.11", "python3.12"],
      architectures: ["x86_64", "arm64"],
    });
    expect(result.zips).toHaveLength(1);
    expect(result.plan.outputs[0]).toMatchObject({ shared: true, path: join(cwd, "layer.zip") });
    expect(result.zips[0]!.targets).toHaveLength(4);
    expect(result.zips[0]).toMatchObject({
      runtimes: ["python3.11", "python3.12"],
      architectures: ["x86_64", "arm64"],
    });
  });

  it("points scripts of a zip shared by several Python versions at the runtime's python3", async () => {
    const shared = await build({
      requirements: ["tiny-extra"],
      runtimes: ["python3.11", "python3.12"],
    });
    const single = await build({ requirements: ["tiny-extra"], runtimes: ["python3.12"] });
    const script = async (path: string) =>
      new TextDecoder().decode((await unzipFile(path))["bin/tiny-tool"]);
    expect(await script(shared.zips[0]!.path)).toContain("/var/lang/bin/python3}");
    expect(await script(single.zips[0]!.path)).toContain("/var/lang/bin/python3.12}");
  });

  it("writes one zip per target when wheels differ, into a folder", async () => {
    const cwd = await temporaryFolder();
    const result = await build({
      cwd,
      requirements: ["native"],
      runtimes: ["python3.12"],
      architectures: ["x86_64", "arm64"],
      output: "layers",
    });
    expect((await readdir(join(cwd, "layers"))).sort()).toEqual([
      "python3.12-arm64.zip",
      "python3.12-x86_64.zip",
    ]);
    expect(result.zips.every((zip) => !zip.targets.includes(",") && zip.targets.length === 1)).toBe(
      true,
    );
  });

  it("refuses one zip path for targets that need different wheels", async () => {
    await expect(
      build({
        requirements: ["native"],
        runtimes: ["python3.11", "python3.12"],
        output: "one.zip",
      }),
    ).rejects.toMatchObject({ code: "usage", exitCode: 2 });
  });

  it("uses python/lib/python3.X/site-packages with --layout site-packages", async () => {
    const result = await build({
      requirements: ["helper"],
      runtimes: ["python3.13"],
      layout: "site-packages",
    });
    const names = Object.keys(await unzipFile(result.zips[0]!.path));
    expect(names).toContain("python/lib/python3.13/site-packages/helper/__init__.py");
    expect(names.some((name) => name.startsWith("python/helper"))).toBe(false);
  });

  it("leaves excluded and runtime-provided packages out of the zip but in the plan", async () => {
    const result = await build({
      requirements: ["boto3", "helper", "oldpy-only"],
      runtimes: ["python3.12"],
      exclude: ["Helper"],
      excludeRuntimeProvided: true,
    });
    const names = Object.keys(await unzipFile(result.zips[0]!.path));
    expect(names.some((name) => /^python\/(boto3|botocore|helper)/.test(name))).toBe(false);
    expect(result.zips[0]!.excluded.map((item) => item.name)).toEqual([
      "boto3",
      "botocore",
      "helper",
    ]);
    expect(result.plan.targets[0]!.packages.map((item) => item.excluded)).toEqual([
      "provided by the Lambda runtime (--exclude-runtime-provided)",
      "provided by the Lambda runtime (--exclude-runtime-provided)",
      "excluded with --exclude",
      undefined,
    ]);
    expect(names).toContain("python/oldpy_only/__init__.py");
  });

  it("writes nothing with dryRun", async () => {
    const cwd = await temporaryFolder();
    const result = await build({ cwd, requirements: ["helper"], dryRun: true });
    expect(result.zips).toEqual([]);
    expect(result.plan.outputs[0]!.path).toBe(join(cwd, "layer.zip"));
    expect(existsSync(join(cwd, "layer.zip"))).toBe(false);
  });
});

describe("determinism", () => {
  // The same inputs give the same bytes: other cache, other requirement order, other folder.
  it("produces byte-identical zips across caches and input order", async () => {
    const first = await build({ requirements: ["app-core", "native"], runtimes: ["python3.11"] });
    const second = await buildLayer({
      requirements: ["native", "app-core"],
      runtimes: ["python3.11"],
      index: { indexUrl: server.url },
      env: isolatedEnv(await temporaryFolder()),
      cwd: await temporaryFolder(),
    });
    expect(second.zips[0]!.sha256).toBe(first.zips[0]!.sha256);
  });

  it("honours SOURCE_DATE_EPOCH", async () => {
    const plain = await build({ requirements: ["helper"] });
    const dated = await build({
      requirements: ["helper"],
      env: isolatedEnv(home, { SOURCE_DATE_EPOCH: "1700000000" }),
    });
    expect(dated.zips[0]!.sha256).not.toBe(plain.zips[0]!.sha256);
    const reader = await ZipReader.open(dated.zips[0]!.path);
    expect(
      reader.entries.every((entry) => [0o644, 0o755].includes((entry.unixMode ?? 0) & 0o777)),
    ).toBe(true);
  });

  // Golden: wheels from the test builder are themselves deterministic, so this hash only
  // changes when the layer format changes (update it deliberately, never casually).
  it("matches the golden hash", async () => {
    const result = await build({ requirements: ["app-core"], runtimes: ["python3.11"] });
    expect(result.zips[0]!.sha256).toBe(
      "5b310e2691c6565e9f6b7a7451f9d32b06ee29ee09fa81ed3ead1f9d4ba633e5",
    );
  });
});

describe("index kinds", () => {
  it("reads HTML pages without PEP 658 metadata (range requests into the wheel)", async () => {
    const htmlServer = await startIndexServer(wheels, { format: "html", pep658: false });
    try {
      const result = await buildLayer({
        requirements: ["app-core"],
        runtimes: ["python3.11"],
        index: { indexUrl: htmlServer.url },
        env: isolatedEnv(await temporaryFolder()),
        cwd: await temporaryFolder(),
        dryRun: true,
      });
      expect(result.plan.targets[0]!.packages).toHaveLength(5);
      expect(htmlServer.requests.some((request) => request.path.endsWith(".metadata"))).toBe(false);
    } finally {
      await htmlServer.close();
    }
  });

  it("builds from a file:// index and from a find-links folder with --no-index", async () => {
    const folder = await temporaryFolder();
    const fileIndex = await writeFileIndex(join(folder, "index"), wheels);
    const fromFileIndex = await buildLayer({
      requirements: ["app-core"],
      runtimes: ["python3.11"],
      index: { indexUrl: fileIndex },
      env: isolatedEnv(await temporaryFolder()),
      cwd: folder,
    });
    await writeWheels(join(folder, "wheels"), SPECS);
    const fromFindLinks = await buildLayer({
      requirements: ["app-core"],
      runtimes: ["python3.11"],
      index: { noIndex: true, findLinks: ["wheels"] },
      env: isolatedEnv(await temporaryFolder()),
      cwd: folder,
      output: "find-links.zip",
    });
    expect(fromFindLinks.zips[0]!.sha256).toBe(fromFileIndex.zips[0]!.sha256);
  });
});

describe("requirements files", () => {
  it("reads -r and -c files, with options and markers", async () => {
    const cwd = await temporaryFolder();
    await writeFile(join(cwd, "constraints.txt"), "helper<2\n");
    await writeFile(
      join(cwd, "requirements.txt"),
      [
        `--index-url ${server.url}`,
        "-c constraints.txt",
        "app-core  # the app",
        'native; platform_machine == "aarch64"',
        "",
      ].join("\n"),
    );
    const result = await buildLayer({
      requirementFiles: ["requirements.txt"],
      runtimes: ["python3.11"],
      env: isolatedEnv(home),
      cwd,
      dryRun: true,
    });
    expect(result.plan.targets[0]!.packages.map((item) => `${item.name}==${item.version}`)).toEqual(
      ["app-core==1.0", "helper==1.5", "oldpy-only==1.0", "speedup==1.0", "tiny-extra==0.3"],
    );
  });

  it("checks --hash values and refuses an unpinned dependency in hash-checking mode", async () => {
    const cwd = await temporaryFolder();
    const helper = wheels.find((wheel) => wheel.filename.startsWith("helper-2.1"))!;
    await writeFile(join(cwd, "good.txt"), `helper==2.1 --hash=sha256:${helper.sha256}\n`);
    await writeFile(join(cwd, "bad.txt"), `helper==2.1 --hash=sha256:${"0".repeat(64)}\n`);
    await writeFile(
      join(cwd, "partial.txt"),
      `app-core==1.0 --hash=sha256:${"1".repeat(64)}\nhelper==2.1 --hash=sha256:${helper.sha256}\n`,
    );
    const good = await build({ cwd, requirementFiles: ["good.txt"], dryRun: true });
    expect(good.plan.targets[0]!.packages[0]!.sha256).toBe(helper.sha256);
    await expect(build({ cwd, requirementFiles: ["bad.txt"], dryRun: true })).rejects.toMatchObject(
      {
        code: "no-matching-distribution",
        message: expect.stringContaining("--hash"),
      },
    );
    await expect(
      build({ cwd, requirementFiles: ["partial.txt"], dryRun: true }),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/no-matching-distribution|hashes-required/),
    });
  });

  it("names the file and line of a requirement it cannot honour", async () => {
    const cwd = await temporaryFolder();
    await writeFile(join(cwd, "requirements.txt"), "helper\nlocal-package --global-option=x\n");
    await expect(build({ cwd, requirementFiles: ["requirements.txt"] })).rejects.toMatchObject({
      code: "unsupported-requirement",
      message: expect.stringContaining("requirements.txt:2"),
    });
  });
});

describe("failures leave nothing behind", () => {
  it("stops on a hash mismatch without writing the zip or caching the wheel", async () => {
    const helper = wheels.find((wheel) => wheel.filename.startsWith("helper-2.1"))!;
    const lying = await startIndexServer(wheels, {
      pep658: true,
      announcedSha256: { [helper.filename]: "f".repeat(64) },
    });
    const cwd = await temporaryFolder();
    const cacheHome = await temporaryFolder();
    try {
      await expect(
        buildLayer({
          requirements: ["helper"],
          index: { indexUrl: lying.url },
          env: isolatedEnv(cacheHome),
          cwd,
        }),
      ).rejects.toMatchObject({ code: "hash-mismatch" });
      expect(await readdir(cwd)).toEqual([]);
    } finally {
      await lying.close();
    }
  });
});
