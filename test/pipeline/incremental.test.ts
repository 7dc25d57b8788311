/**
 * A changed set of wheels (one requirement added or bumped in a built set): only the new
 * distribution is fetched (page, metadata, wheel), planned and read by the check; every
 * other wheel's install plan comes from `installs-v1`, and the zip is byte for byte the
 * zip a build with an empty cache writes. Install plans are keyed by what decides them
 * (wheel sha256, layout, install format, pylayer's version), and a damaged one is evicted
 * and planned again, never used.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildOptions, buildLayer } from "../../src/pipeline/index.js";
import { RUNTIMES } from "../../src/runtime/index.js";
import { INSTALL_FORMAT, installPlanKey, layoutFor } from "../../src/wheel/index.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

let server: IndexServer;
/** The same index, without `Cache-Control`: every page is revalidated on every build. */
let revalidating: IndexServer;

beforeAll(async () => {
  const wheels = [
    buildWheel({
      name: "app",
      version: "1.0",
      requires: ["helper"],
      consoleScripts: { app: "app:main" },
    }),
    buildWheel({ name: "helper", version: "2.0" }),
    buildWheel({ name: "extra", version: "1.0" }),
    buildWheel({ name: "extra", version: "1.1" }),
  ];
  // Fresh pages are not asked for again (PyPI's max-age), so every request after the
  // first build is one the change needed.
  server = await startIndexServer(wheels, { cacheControl: "max-age=600" });
  revalidating = await startIndexServer(wheels);
});
afterAll(async () => {
  await server?.close();
  await revalidating?.close();
});

async function build(home: string, requirements: string[], options: Partial<BuildOptions> = {}) {
  const result = await buildLayer({
    requirements,
    runtimes: ["python3.12"],
    index: { indexUrl: server.url },
    env: isolatedEnv(home),
    cwd: await temporaryFolder(),
    check: true,
    ...options,
  });
  const zip = result.zips[0]!;
  return { result, zip, bytes: await readFile(zip.path) };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function installEntries(home: string): Promise<string[]> {
  const root = join(home, "cache", "installs-v1");
  const names = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  return names.filter((name) => name.endsWith(".json")).map((name) => join(root, name));
}

describe("one requirement added to a built set", () => {
  it("fetches, plans and checks only the new distribution, and writes the bytes of a clean build", async () => {
    const home = await temporaryFolder();
    const first = await build(home, ["app"]);
    expect(first.result.cache).toEqual({
      resolution: "resolved",
      layers: { reused: 0, built: 1, fromPrevious: 0 },
      installs: { reused: 0, planned: 2, evicted: 0 },
    });
    expect(await installEntries(home)).toHaveLength(2);

    const before = server.requests.length;
    const changed = await build(home, ["app", "extra"]);
    const requested = server.requests.slice(before).map((request) => request.path);
    expect(requested.sort()).toEqual(
      [
        "/simple/extra/",
        "/files/extra-1.1-py3-none-any.whl.metadata",
        "/files/extra-1.1-py3-none-any.whl",
      ].sort(),
    );
    // The records of app and helper are copied from the zip written before.
    expect(changed.result.cache).toEqual({
      resolution: "resolved",
      layers: { reused: 0, built: 1, fromPrevious: 1 },
      installs: { reused: 2, planned: 1, evicted: 0 },
    });
    expect(changed.result.checks?.[0]?.ok).toBe(true);
    expect(changed.result.checks?.[0]?.cache).toMatchObject({
      result: "computed",
      wheelsReused: 2,
      wheelsRead: 1,
    });

    // The same set from an empty cache: the same bytes.
    const clean = await build(await temporaryFolder(), ["app", "extra"]);
    expect(clean.result.cache?.installs).toEqual({ reused: 0, planned: 3, evicted: 0 });
    expect(sha256(changed.bytes)).toBe(clean.zip.sha256);
    expect(changed.zip.sha256).toBe(clean.zip.sha256);

    // A bump (extra 1.1 → ==1.0) plans only the other version of extra.
    const bumped = await build(home, ["app", "extra==1.0"]);
    expect(bumped.result.cache?.installs).toEqual({ reused: 2, planned: 1, evicted: 0 });
  });

  it("copies records only from a previous zip whose bytes are intact and whose timestamp is the same", async () => {
    const home = await temporaryFolder();
    const first = await build(home, ["app"]);
    const layers = join(home, "cache", "layers-v1");
    const zipName = (await readdir(layers)).find((name) => name.endsWith(".zip"))!;
    expect(zipName.slice(0, 64)).toMatch(/^[0-9a-f]{64}$/);
    // One byte of the cached zip changed (in the name of its first record), same size.
    const damaged = Buffer.from(first.bytes);
    expect(damaged.subarray(30, 34).toString()).toBe("bin/");
    damaged[30] = "B".charCodeAt(0);
    await writeFile(join(layers, zipName), damaged);

    const changed = await build(home, ["app", "extra"]);
    expect(changed.result.cache?.layers).toEqual({ reused: 0, built: 1, fromPrevious: 0 });
    expect(changed.result.warnings.join("\n")).toMatch(
      new RegExp(
        `cached layer .*${zipName} was not used \\(.*does not hash to the sha256 recorded with it\\); removed it`,
      ),
    );
    expect(await readdir(layers)).not.toContain(zipName);
    const clean = await build(await temporaryFolder(), ["app", "extra"]);
    expect(changed.zip.sha256).toBe(clean.zip.sha256);
    expect(sha256(changed.bytes)).toBe(clean.zip.sha256);

    // The zip just written is the next one's previous zip, for the same timestamp only.
    const bumped = await build(home, ["app", "extra==1.0"]);
    expect(bumped.result.cache?.layers).toEqual({ reused: 0, built: 1, fromPrevious: 1 });
    const epoch = { env: isolatedEnv(home, { SOURCE_DATE_EPOCH: "1700000000" }) };
    const retimed = await build(home, ["app", "extra"], epoch);
    expect(retimed.result.cache?.layers).toEqual({ reused: 0, built: 1, fromPrevious: 0 });
    const retimedClean = await build(await temporaryFolder(), ["app", "extra"], epoch);
    expect(retimed.zip.sha256).toBe(retimedClean.zip.sha256);
    // A damaged record of the latest layer is evicted and read as a miss.
    const latest = join(layers, "latest");
    const records = await readdir(latest);
    expect(records.length).toBeGreaterThan(0);
    for (const name of records) await writeFile(join(latest, name), "{");
    const again = await build(home, ["app"], epoch);
    expect(again.result.cache?.layers).toEqual({ reused: 0, built: 1, fromPrevious: 0 });
    const cleanAgain = await build(await temporaryFolder(), ["app"], epoch);
    expect(again.zip.sha256).toBe(cleanAgain.zip.sha256);
  });

  it("asks only for the new distribution, and revalidates the pages of the others, when pages are not fresh", async () => {
    const home = await temporaryFolder();
    const indexUrl = { index: { indexUrl: revalidating.url } };
    await build(home, ["app"], indexUrl);
    const before = revalidating.requests.length;
    const changed = await build(home, ["app", "extra"], indexUrl);
    const requests = revalidating.requests.slice(before);
    const conditional = requests.filter(
      (request) => request.headers["if-none-match"] !== undefined,
    );
    expect(conditional.map((request) => request.path).sort()).toEqual([
      "/simple/app/",
      "/simple/helper/",
    ]);
    expect(
      requests
        .filter((request) => !conditional.includes(request))
        .map((request) => request.path)
        .sort(),
    ).toEqual(
      [
        "/simple/extra/",
        "/files/extra-1.1-py3-none-any.whl.metadata",
        "/files/extra-1.1-py3-none-any.whl",
      ].sort(),
    );
    expect(changed.result.cache?.installs).toEqual({ reused: 2, planned: 1, evicted: 0 });
  });

  it("plans again for another layout or runtime, and keys plans by the install format", async () => {
    const home = await temporaryFolder();
    await build(home, ["app"]);
    const otherLayout = await build(home, ["app"], { layout: "site-packages" });
    expect(otherLayout.result.cache?.installs).toEqual({ reused: 0, planned: 2, evicted: 0 });
    // app's scripts name the runtime's interpreter: another runtime plans it again; helper
    // has no scripts, and its plan serves every interpreter.
    const otherRuntime = await build(home, ["app"], { runtimes: ["python3.13"] });
    expect(otherRuntime.result.cache?.installs).toEqual({ reused: 1, planned: 1, evicted: 0 });
    // One zip for two runtimes names `python3`: app is planned for it, helper reused.
    const shared = await build(home, ["app"], { runtimes: ["python3.10", "python3.11"] });
    expect(shared.result.cache?.installs).toEqual({ reused: 1, planned: 1, evicted: 0 });
    const again = await build(home, ["app"], { layout: "site-packages", refresh: true });
    expect(again.result.cache?.layers).toEqual({ reused: 1, built: 0, fromPrevious: 0 });

    const runtime = RUNTIMES.find((candidate) => candidate.name === "python3.12")!;
    const inputs = {
      wheelSha256: "a".repeat(64),
      wheelFilename: "app-1.0-py3-none-any.whl",
      layout: layoutFor("python", runtime),
      installer: "pylayer",
      pylayer: "1.0.0",
    };
    const key = installPlanKey(inputs);
    expect(installPlanKey({ ...inputs, format: INSTALL_FORMAT })).toBe(key);
    for (const changed of [
      { format: INSTALL_FORMAT + 1 },
      { pylayer: "1.0.1" },
      { wheelSha256: "b".repeat(64) },
      { wheelFilename: "app-1.0-py2.py3-none-any.whl" },
      { installer: "pip" },
      { layout: layoutFor("site-packages", runtime) },
      { layout: layoutFor("function", runtime) },
      { layout: { ...inputs.layout, pythonExecutable: "/var/lang/bin/python3" } },
    ]) {
      expect(installPlanKey({ ...inputs, ...changed })).not.toBe(key);
    }
    // The key for plans that name no interpreter leaves only the interpreter out.
    const anyInterpreter = installPlanKey({ ...inputs, anyInterpreter: true });
    expect(anyInterpreter).not.toBe(key);
    const otherPython = { ...inputs.layout, pythonExecutable: "/var/lang/bin/python3" };
    expect(installPlanKey({ ...inputs, layout: otherPython, anyInterpreter: true })).toBe(
      anyInterpreter,
    );
    expect(
      installPlanKey({
        ...inputs,
        layout: layoutFor("site-packages", runtime),
        anyInterpreter: true,
      }),
    ).not.toBe(anyInterpreter);
  });

  it("evicts a damaged install plan, says so, plans the wheel again and writes the same bytes", async () => {
    const home = await temporaryFolder();
    const first = await build(home, ["app"]);
    const entries = await installEntries(home);
    expect(entries).toHaveLength(2);
    // One entry with a flipped byte in its payload, one whose payload is consistent with
    // its checksum but is not an install plan.
    const damaged = await readFile(entries[0]!, "utf8");
    const at = damaged.indexOf('\\"version\\"') + 4;
    await writeFile(entries[0]!, `${damaged.slice(0, at)}X${damaged.slice(at + 1)}`);
    const payload = JSON.stringify({ name: "app" });
    const key = JSON.parse(await readFile(entries[1]!, "utf8")).key as string;
    await writeFile(
      entries[1]!,
      JSON.stringify({ key, sha256: sha256(Buffer.from(payload)), payload }),
    );

    // A new timestamp misses the cache of built layers, so the zip is assembled again.
    const epoch = (seconds: string) => ({ env: isolatedEnv(home, { SOURCE_DATE_EPOCH: seconds }) });
    const third = await build(home, ["app"], epoch("1700000000"));
    expect(third.result.cache?.layers).toEqual({ reused: 0, built: 1, fromPrevious: 0 });
    expect(third.result.cache?.installs).toEqual({ reused: 0, planned: 2, evicted: 2 });
    const warnings = third.result.warnings.filter((warning) =>
      /cached install plan .* was corrupt/.test(warning),
    );
    expect(warnings).toHaveLength(2);
    expect(warnings.join("\n")).toMatch(/checksum does not match/);
    expect(warnings.join("\n")).toMatch(/not an install plan/);
    expect(third.result.checks?.[0]?.ok).toBe(true);

    // The plans stored again serve the next assembly, which writes a clean build's bytes.
    const fourth = await build(home, ["app"], epoch("1700000002"));
    expect(fourth.result.cache?.installs).toEqual({ reused: 2, planned: 0, evicted: 0 });
    const cleanHome = await temporaryFolder();
    const clean = await build(cleanHome, ["app"], {
      env: isolatedEnv(cleanHome, { SOURCE_DATE_EPOCH: "1700000002" }),
    });
    expect(clean.result.cache?.installs).toEqual({ reused: 0, planned: 2, evicted: 0 });
    expect(fourth.zip.sha256).toBe(clean.zip.sha256);
    expect(sha256(fourth.bytes)).toBe(clean.zip.sha256);
    expect(first.zip.sha256).not.toBe(clean.zip.sha256);
  });
});
