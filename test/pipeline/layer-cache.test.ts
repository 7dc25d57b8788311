/**
 * The cache of built layers: a build whose inputs (wheels by sha256, targets, layout,
 * timestamp, slim/compile settings, pylayer version) match an earlier one copies that
 * zip instead of assembling it again, with the same bytes and the same report.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CACHED_LAYERS_KEPT } from "../../src/cache/index.js";
import type { BuildEvent, BuildOptions } from "../../src/pipeline/index.js";
import { ARCHITECTURES, RUNTIMES } from "../../src/runtime/index.js";
import { buildCollecting } from "../helpers/build.js";
import { indexForFile } from "../helpers/index-server.js";
import { temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const server = await indexForFile([
  buildWheel({ name: "app", version: "1.0", requires: ["helper"] }),
  buildWheel({
    name: "helper",
    version: "2.0",
    files: {
      "helper/__init__.py": "VALUE = 2\n",
      "helper/tests/__init__.py": "",
      "helper/tests/test_helper.py": "def test():\n    pass\n",
    },
  }),
]);

async function build(home: string, options: Partial<BuildOptions> = {}, extraEnv = {}) {
  const { result, events } = await buildCollecting(
    server.url,
    home,
    { requirements: ["app"], ...options },
    extraEnv,
  );
  const zip = result.zips[0]!;
  return { result, zip, events, bytes: await readFile(zip.path) };
}

const layersIn = async (home: string) =>
  (await readdir(join(home, "cache", "layers-v1")).catch(() => [] as string[])).filter((name) =>
    name.endsWith(".zip"),
  );
const copiedFromCache = (events: BuildEvent[]) =>
  events.some(
    (event) => event.type === "detail" && /same inputs as cached layer/.test(event.message),
  );

describe("layer cache", () => {
  it("gives a second build with the same inputs the same bytes and report, from the cache", async () => {
    const home = await temporaryFolder();
    const first = await build(home, { slim: true });
    expect(copiedFromCache(first.events)).toBe(false);
    expect(await layersIn(home)).toHaveLength(1);

    const second = await build(home, { slim: true });
    expect(copiedFromCache(second.events)).toBe(true);
    expect(second.zip.path).not.toBe(first.zip.path);
    expect(createHash("sha256").update(second.bytes).digest("hex")).toBe(first.zip.sha256);
    expect({ ...second.zip, path: "" }).toEqual({ ...first.zip, path: "" });
    expect(second.result.warnings).toEqual(first.result.warnings);
    // The removals listed while slimming are listed again.
    const removals = (events: BuildEvent[]) =>
      events.filter((event) => event.type === "detail" && /tests/.test(event.message));
    expect(removals(first.events).length).toBeGreaterThan(0);
    expect(removals(second.events)).toEqual(removals(first.events));
  });

  it.each([
    ["another timestamp", {}, { SOURCE_DATE_EPOCH: "1700000000" }],
    ["--slim", { slim: true }, {}],
    ["another layout", { layout: "site-packages" as const }, {}],
    ["another architecture", { architectures: ["arm64" as const] }, {}],
    ["an excluded package", { exclude: ["helper"] }, {}],
  ])("builds anew for %s", async (_name, options, env) => {
    const home = await temporaryFolder();
    const plain = await build(home);
    const changed = await build(home, options, env);
    expect(copiedFromCache(changed.events)).toBe(false);
    expect(changed.zip.sha256).not.toBe(plain.zip.sha256);
    expect(await layersIn(home)).toHaveLength(2);
  });

  it("does not trust a cached zip whose size changed", async () => {
    const home = await temporaryFolder();
    const first = await build(home);
    const [name] = await layersIn(home);
    await writeFile(join(home, "cache", "layers-v1", name!), "damaged");
    const second = await build(home);
    expect(copiedFromCache(second.events)).toBe(false);
    expect(second.zip.sha256).toBe(first.zip.sha256);
    expect(createHash("sha256").update(second.bytes).digest("hex")).toBe(first.zip.sha256);
  });

  it(`keeps the ${CACHED_LAYERS_KEPT} most recently used layers`, async () => {
    const home = await temporaryFolder();
    for (let index = 0; index < CACHED_LAYERS_KEPT + 2; index++) {
      await build(home, {}, { SOURCE_DATE_EPOCH: String(1_600_000_000 + index * 86_400) });
    }
    expect(await layersIn(home)).toHaveLength(CACHED_LAYERS_KEPT);
    // The newest is still there; the oldest was dropped.
    const newest = await build(
      home,
      {},
      { SOURCE_DATE_EPOCH: String(1_600_000_000 + (CACHED_LAYERS_KEPT + 1) * 86_400) },
    );
    expect(copiedFromCache(newest.events)).toBe(true);
    const oldest = await build(home, {}, { SOURCE_DATE_EPOCH: "1600000000" });
    expect(copiedFromCache(oldest.events)).toBe(false);
  });

  it(`keeps every zip of a build with more than ${CACHED_LAYERS_KEPT} outputs: a second matrix build is all hits`, async () => {
    const home = await temporaryFolder();
    // The site-packages layout names the Python version, so every target gets its own zip.
    const matrix = {
      runtimes: RUNTIMES.map((runtime) => runtime.name),
      architectures: [...ARCHITECTURES],
      layout: "site-packages" as const,
    };
    expect(matrix.runtimes.length * matrix.architectures.length).toBeGreaterThan(
      CACHED_LAYERS_KEPT,
    );
    const first = await buildCollecting(server.url, home, { requirements: ["app"], ...matrix });
    const outputs = first.result.zips.length;
    expect(outputs).toBe(matrix.runtimes.length * matrix.architectures.length);
    expect(await layersIn(home)).toHaveLength(outputs);
    const second = await buildCollecting(server.url, home, { requirements: ["app"], ...matrix });
    expect(second.result.cache?.layers).toEqual({ reused: outputs, built: 0, fromPrevious: 0 });
    expect(second.result.zips.map((zip) => zip.sha256)).toEqual(
      first.result.zips.map((zip) => zip.sha256),
    );
    // A later one-target build prunes back to CACHED_LAYERS_KEPT.
    await build(home, {}, { SOURCE_DATE_EPOCH: "1700000000" });
    expect(await layersIn(home)).toHaveLength(CACHED_LAYERS_KEPT);
  });

  it("writes no layer cache with --no-cache", async () => {
    const home = await temporaryFolder();
    await build(home, { noCache: true });
    expect(existsSync(join(home, "cache", "layers-v1"))).toBe(false);
  });
});
