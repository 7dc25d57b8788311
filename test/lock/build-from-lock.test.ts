/**
 * Building from lock files and pyproject.toml end to end, against wheels on the loopback
 * index: pylock round trip (same zip as from requirements), uv.lock, poetry.lock and
 * Pipfile.lock installs with hash checks, clear failures, discovery, export.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPylayerError } from "../../src/errors.js";
import {
  type BuildEvent,
  type BuildOptions,
  buildLayer,
  exportRequirements,
  lockLayer,
} from "../../src/pipeline/index.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, unzipFile } from "../helpers/sandbox.js";
import { type BuiltWheel, writeWheels } from "../helpers/wheels.js";
import { buildFixtureWheels, Fixtures } from "./fixtures.js";

let wheels: BuiltWheel[];
let server: IndexServer;
let bare: IndexServer;
let fixtures: Fixtures;
let home: string;

beforeAll(async () => {
  wheels = buildFixtureWheels();
  server = await startIndexServer(wheels);
  // An index that announces no hashes or sizes (like many simple HTML indexes).
  bare = await startIndexServer(wheels, { format: "html", hashes: false, sizes: false });
  fixtures = new Fixtures(server, wheels);
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
  await bare?.close();
});

function options(extra: BuildOptions & { cwd: string }): BuildOptions {
  return { index: { indexUrl: server.url }, env: isolatedEnv(home), ...extra };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const versions = (result: Awaited<ReturnType<typeof buildLayer>>) =>
  Object.fromEntries(
    result.plan.targets.map((target) => [
      target.id,
      target.packages.map((item) => `${item.name}==${item.version}`),
    ]),
  );

async function failure(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; hint: string }> {
  try {
    await promise;
  } catch (error) {
    if (isPylayerError(error))
      return { code: error.code, message: error.message, hint: error.hint ?? "" };
    throw error;
  }
  throw new Error("expected a failure");
}

describe("pylock.toml round trip", () => {
  it("lock then build --lock gives the same zips, byte for byte, as building from requirements", async () => {
    const targets = { runtimes: ["python3.11", "python3.12"], architectures: ["x86_64"] };
    const direct = await buildLayer(
      options({
        cwd: await temporaryFolder(),
        requirements: ["core", "native"],
        ...targets,
        output: "out",
      }),
    );
    const lockFolder = await temporaryFolder();
    const locked = await lockLayer(
      options({ cwd: lockFolder, requirements: ["core", "native"], ...targets }),
    );
    expect(locked.path).toBe(join(lockFolder, "pylock.toml"));
    const text = await readFile(locked.path, "utf8");
    expect(text).toContain('created-by = "pylayer"');
    expect(text).toContain('marker = "python_version == \\"3.11\\""');
    expect(text).toContain(`sha256 = "${fixtures.of("oldpy")[0]!.sha256}"`);
    // Only the wheels the build chose: cp311 and the best cp312 one (manylinux_2_28 on AL2023).
    expect(text).toContain("native-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
    expect(text).toContain("native-1.0-cp312-cp312-manylinux_2_28_x86_64.whl");
    expect(text).not.toContain("macosx");

    const fromLock = await buildLayer(
      options({ cwd: await temporaryFolder(), lock: locked.path, output: "out", index: {} }),
    );
    expect(fromLock.plan.input).toMatchObject({ kind: "pylock", discovered: false });
    expect(versions(fromLock)).toEqual(versions(direct));
    expect(fromLock.zips.map((zip) => [zip.targets, zip.sha256])).toEqual(
      direct.zips.map((zip) => [zip.targets, zip.sha256]),
    );
    for (const zip of fromLock.zips) expect(sha256(await readFile(zip.path))).toBe(zip.sha256);
  });

  it("records local wheels (find-links folders) as paths relative to the lock", async () => {
    const cwd = await temporaryFolder();
    await writeWheels(join(cwd, "wheels"), [{ name: "local-pkg", version: "0.5" }]);
    const local = { index: { noIndex: true, findLinks: [join(cwd, "wheels")] } };
    const locked = await lockLayer(
      options({ cwd, requirements: ["local-pkg"], runtimes: ["python3.12"], ...local }),
    );
    expect(locked.text).toContain('path = "wheels/local_pkg-0.5-py3-none-any.whl"');
    expect(locked.text).not.toContain("file:");
    const direct = await buildLayer(
      options({
        cwd,
        requirements: ["local-pkg"],
        runtimes: ["python3.12"],
        ...local,
        output: "a.zip",
      }),
    );
    const fromLock = await buildLayer(
      options({ cwd, lock: "pylock.toml", output: "b.zip", index: {} }),
    );
    expect(fromLock.zips[0]!.sha256).toBe(direct.zips[0]!.sha256);
  });

  it("verifies the recorded hash of every downloaded wheel", async () => {
    const cwd = await temporaryFolder();
    const wrong = "f".repeat(64);
    await writeFile(
      join(cwd, "pylock.toml"),
      `lock-version = "1.0"\ncreated-by = "hand"\n[[packages]]\nname = "helper"\nversion = "2.0"\nwheels = [${fixtures.pylockWheel("helper-2.0-py3-none-any.whl", wrong)}]\n`,
    );
    const error = await failure(buildLayer(options({ cwd, lock: "pylock.toml", noCache: true })));
    expect(error.code).toBe("hash-mismatch");
    expect(error.message).toContain("helper-2.0-py3-none-any.whl");
    expect(error.message).toContain(wrong);
  });

  it("fails clearly when no locked wheel runs on the target, listing the wheels and why", async () => {
    const cwd = await temporaryFolder();
    await writeFile(
      join(cwd, "pylock.toml"),
      `lock-version = "1.0"\ncreated-by = "hand"
[[packages]]
name = "macos-only"
version = "3.0"
sdist = { url = "https://example.invalid/macos_only-3.0.tar.gz", hashes = { sha256 = "${"0".repeat(64)}" } }
wheels = [${fixtures.pylockWheel("macos_only-3.0-cp312-cp312-macosx_11_0_arm64.whl")}]
`,
    );
    const error = await failure(
      buildLayer(options({ cwd, lock: "pylock.toml", runtimes: ["python3.12"] })),
    );
    expect(error.code).toBe("lock-no-wheel");
    expect(error.message).toContain("no wheel of macos-only 3.0 that runs on python3.12-x86_64");
    expect(error.message).toMatch(
      /macos_only-3\.0-cp312-cp312-macosx_11_0_arm64\.whl \([^)]*macOS[^)]*\)/,
    );
    expect(error.message).toContain("macos_only-3.0.tar.gz (a source distribution");
    expect(error.hint).toContain("another platform");
  });
});

describe("uv.lock", () => {
  async function uvProject(): Promise<string> {
    const cwd = await temporaryFolder();
    await writeFile(join(cwd, "uv.lock"), fixtures.uvLock());
    await writeFile(join(cwd, "pyproject.toml"), Fixtures.UV_PYPROJECT);
    return cwd;
  }

  it("installs the locked packages per target, dev groups only on request", async () => {
    const cwd = await uvProject();
    const result = await buildLayer(
      options({
        cwd,
        lock: "uv.lock",
        runtimes: ["python3.11", "python3.12"],
        output: "out",
        index: {},
      }),
    );
    expect(versions(result)).toEqual({
      "python3.11-x86_64": ["core==1.0", "helper==2.0", "native==1.0", "oldpy==1.0"],
      "python3.12-x86_64": ["core==1.0", "helper==2.0", "native==1.0"],
    });
    expect(result.plan.targets[1]!.packages.find((item) => item.name === "native")!.filename).toBe(
      "native-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
    );
    const withDev = await buildLayer(
      options({
        cwd,
        lock: "uv.lock",
        runtimes: ["python3.12"],
        groups: ["dev"],
        extras: ["fast"],
        dryRun: true,
      }),
    );
    expect(versions(withDev)["python3.12-x86_64"]).toEqual([
      "core==1.0",
      "devtool==1.0",
      "helper==2.0",
      "native==1.0",
      "speedups==1.0",
    ]);
    const entries = await unzipFile(result.zips[0]!.path);
    expect(Object.keys(entries)).toContain("python/native/_c.cpython-311-x86_64-linux-gnu.so");
  });

  it("builds workspace members from their folder (named when missing), and reports a stale lock", async () => {
    const cwd = await uvProject();
    const member = await failure(
      buildLayer(options({ cwd, lock: "uv.lock", extras: ["local"], dryRun: true })),
    );
    expect(member.code).toBe("file-not-found");
    expect(member.message).toContain(`sibling: ${join(cwd, "packages", "sibling")} does not exist`);
    await writeFile(
      join(cwd, "pyproject.toml"),
      Fixtures.UV_PYPROJECT.replace('"core>=1"', '"core>=1.1"'),
    );
    const stale = await failure(buildLayer(options({ cwd, lock: "uv.lock", dryRun: true })));
    expect(stale.code).toBe("lock-stale");
    expect(stale.hint).toContain("uv lock");
  });
});

describe("poetry.lock", () => {
  it("finds the locked files on the index by name and hash", async () => {
    const cwd = await temporaryFolder();
    await writeFile(join(cwd, "poetry.lock"), fixtures.poetryLock());
    const result = await buildLayer(
      options({ cwd, lock: "poetry.lock", runtimes: ["python3.11"] }),
    );
    expect(versions(result)["python3.11-x86_64"]).toEqual([
      "core==1.0",
      "helper==2.0",
      "native==1.0",
      "oldpy==1.0",
    ]);
    expect(result.zips).toHaveLength(1);
  });

  it("refuses a file whose hash on the index differs from the lock", async () => {
    const cwd = await temporaryFolder();
    await writeFile(join(cwd, "poetry.lock"), fixtures.poetryLock({ nativeHash: "e".repeat(64) }));
    const error = await failure(
      buildLayer(options({ cwd, lock: "poetry.lock", runtimes: ["python3.11"] })),
    );
    expect(error.code).toBe("hash-mismatch");
    expect(error.message).toContain("e".repeat(64));
  });

  it("verifies downloads against the lock when the index announces no hash", async () => {
    const cwd = await temporaryFolder();
    await writeFile(join(cwd, "poetry.lock"), fixtures.poetryLock({ nativeHash: "e".repeat(64) }));
    const error = await failure(
      buildLayer(
        options({
          cwd,
          lock: "poetry.lock",
          runtimes: ["python3.11"],
          index: { indexUrl: bare.url },
        }),
      ),
    );
    expect(error.code).toBe("hash-mismatch");
  });
});

describe("Pipfile.lock", () => {
  it("finds wheels by hash on the lock's source, even when the index announces none", async () => {
    for (const index of [server, bare]) {
      const cwd = await temporaryFolder();
      await writeFile(
        join(cwd, "Pipfile.lock"),
        fixtures.pipfileLock().replaceAll(server.url, index.url),
      );
      const result = await buildLayer(
        options({ cwd, lock: "Pipfile.lock", runtimes: ["python3.12"], index: {}, dryRun: true }),
      );
      expect(versions(result)["python3.12-x86_64"]).toEqual([
        "core==1.0",
        "helper==2.0",
        "native==1.0",
      ]);
    }
  });
});

describe("pyproject.toml", () => {
  it("resolves [project] dependencies with extras and groups", async () => {
    const cwd = await temporaryFolder();
    await writeFile(
      join(cwd, "pyproject.toml"),
      Fixtures.UV_PYPROJECT.replace('local = ["sibling"]\n', ""),
    );
    const result = await buildLayer(
      options({
        cwd,
        pyproject: "pyproject.toml",
        extras: ["fast"],
        groups: ["dev"],
        runtimes: ["python3.12"],
        dryRun: true,
      }),
    );
    expect(versions(result)["python3.12-x86_64"]).toEqual([
      "core==1.0",
      "devtool==1.0",
      "helper==2.0",
      "native==1.0",
      "speedups==1.0",
    ]);
    const tooOld = await failure(
      buildLayer(
        options({ cwd, pyproject: "pyproject.toml", runtimes: ["python3.10"], dryRun: true }),
      ),
    );
    expect(tooOld.code).toBe("project-requires-python");
  });
});

describe("input discovery", () => {
  async function discover(files: Record<string, string>): Promise<{
    events: BuildEvent[];
    result?: Awaited<ReturnType<typeof buildLayer>>;
    error?: Awaited<ReturnType<typeof failure>>;
  }> {
    const cwd = await temporaryFolder();
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(cwd, name, ".."), { recursive: true });
      await writeFile(join(cwd, name), text);
    }
    const events: BuildEvent[] = [];
    const run = buildLayer(
      options({
        cwd,
        runtimes: ["python3.12"],
        dryRun: true,
        onEvent: (event) => events.push(event),
      }),
    );
    try {
      return { events, result: await run };
    } catch {
      return { events, error: await failure(run) };
    }
  }

  it.each([
    [["pylock.toml", "uv.lock", "pyproject.toml", "requirements.txt"], "pylock"],
    [["uv.lock", "poetry.lock", "pyproject.toml"], "uv"],
    [["poetry.lock", "Pipfile.lock"], "poetry"],
    [["Pipfile.lock", "pyproject.toml"], "pipfile"],
    [["pyproject.toml", "requirements.txt"], "pyproject"],
    [["requirements.txt"], "requirements"],
  ])("takes the first of %j and says so", async (present, kind) => {
    const texts: Record<string, string> = {
      "pylock.toml": `lock-version = "1.0"\ncreated-by = "hand"\n[[packages]]\nname = "helper"\nversion = "2.0"\nwheels = [${fixtures.pylockWheel("helper-2.0-py3-none-any.whl")}]\n`,
      "uv.lock": fixtures.uvLock(),
      "poetry.lock": fixtures.poetryLock(),
      "Pipfile.lock": fixtures.pipfileLock(),
      "pyproject.toml": Fixtures.UV_PYPROJECT,
      "requirements.txt": "helper\n",
    };
    const { events, result, error } = await discover(
      Object.fromEntries(present.map((name) => [name, texts[name]!])),
    );
    expect(error).toBeUndefined();
    expect(result!.plan.input).toMatchObject({ kind, discovered: true });
    const first = present[0]!;
    expect(events).toContainEqual({
      type: "info",
      message: expect.stringContaining(`${first} (found in the current folder)`),
    });
  });

  it("skips a pyproject.toml without dependencies, and names what it looked for", async () => {
    const { result } = await discover({
      "pyproject.toml": "[tool.black]\nline-length = 100\n",
      "requirements.txt": "helper\n",
    });
    expect(result!.plan.input?.kind).toBe("requirements");
    const { error } = await discover({});
    expect(error!.code).toBe("usage");
    expect(error!.message).toContain(
      "none of pylock.toml, uv.lock, poetry.lock, Pipfile.lock, pyproject.toml, requirements.txt",
    );
  });
});

describe("export", () => {
  it("pins each version with the hashes of every wheel usable on the targets", async () => {
    const cwd = await temporaryFolder();
    const { text } = await exportRequirements(
      options({ cwd, requirements: ["core", "native"], runtimes: ["python3.11", "python3.12"] }),
    );
    const native = fixtures.of("native");
    const usable = native.filter((wheel) => !wheel.filename.includes("macosx"));
    expect(text).toContain("native==1.0 \\");
    for (const wheel of usable) expect(text).toContain(`--hash=sha256:${wheel.sha256}`);
    expect(text).not.toContain(native.find((wheel) => wheel.filename.includes("macosx"))!.sha256);
    expect(text).toContain('oldpy==1.0 ; python_version == "3.11" \\');
  });

  it("exports a lock file as locked", async () => {
    const cwd = await temporaryFolder();
    await writeFile(join(cwd, "poetry.lock"), fixtures.poetryLock());
    const { text } = await exportRequirements(options({ cwd, runtimes: ["python3.12"] }));
    expect(text.split("\n").filter((line) => /^[a-z]/.test(line))).toEqual([
      "core==1.0 \\",
      "helper==2.0 \\",
      "native==1.0 \\",
    ]);
  });
});
