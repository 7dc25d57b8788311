/**
 * Reusing a resolution: same inputs and unchanged index pages (fresh by their max-age,
 * or a file:// page read again) give the earlier plan without running the resolver.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { BuildOptions } from "../../src/pipeline/index.js";
import { buildCollecting } from "../helpers/build.js";
import {
  type IndexServer,
  type IndexServerOptions,
  startIndexServer,
  writeFileIndex,
} from "../helpers/index-server.js";
import { temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const WHEELS = [
  buildWheel({ name: "app", version: "1.0", requires: ["helper"] }),
  buildWheel({ name: "helper", version: "1.0" }),
  buildWheel({ name: "helper", version: "2.0" }),
  buildWheel({ name: "other", version: "1.0" }),
];

const servers: IndexServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: IndexServerOptions) {
  const server = await startIndexServer(WHEELS, options);
  servers.push(server);
  return server;
}

async function build(home: string, indexUrl: string, options: Partial<BuildOptions> = {}) {
  const { result, events } = await buildCollecting(indexUrl, home, {
    requirements: ["app"],
    ...options,
  });
  const versions = result.plan.targets[0]!.packages.map((item) => `${item.name}==${item.version}`);
  const reused = events.some(
    (event) => event.type === "detail" && event.message.startsWith("Resolution reused"),
  );
  return { result, versions, reused };
}

const pageRequests = (server: IndexServer) =>
  server.requests.filter((request) => request.path.startsWith("/simple/")).length;

describe("resolution reuse", () => {
  it("reuses a resolution while the pages are fresh; --refresh resolves again", async () => {
    const yanked: Record<string, string | true> = {};
    const server = await serve({ cacheControl: "max-age=600", yanked });
    const home = await temporaryFolder();
    const first = await build(home, server.url);
    expect(first.reused).toBe(false);
    expect(first.versions).toEqual(["app==1.0", "helper==2.0"]);

    const before = pageRequests(server);
    const second = await build(home, server.url);
    expect(second.reused).toBe(true);
    expect(second.versions).toEqual(first.versions);
    expect(second.result.plan.outputs[0]!.path).not.toBe(first.result.plan.outputs[0]!.path);
    expect(pageRequests(server)).toBe(before);

    // The index yanks helper 2.0: within max-age the pages (and so the plan) stand, as
    // pip and uv treat PyPI's max-age; --refresh asks the index and resolves again.
    // --refresh revalidates every page; unchanged (304) pages keep the plan.
    const unchanged = await build(home, server.url, { refresh: true });
    expect(unchanged.reused).toBe(true);
    expect(pageRequests(server)).toBe(before + 2);
    expect(
      server.requests.slice(-2).every((request) => request.headers["if-none-match"] !== undefined),
    ).toBe(true);

    // The index yanks helper 2.0: within max-age the pages (and so the plan) stand, as
    // pip and uv treat PyPI's max-age; --refresh asks the index and resolves again.
    yanked["helper-2.0-py3-none-any.whl"] = "broken";
    expect((await build(home, server.url)).versions).toContain("helper==2.0");
    const refreshed = await build(home, server.url, { refresh: true });
    expect(refreshed.reused).toBe(false);
    expect(refreshed.versions).toEqual(["app==1.0", "helper==1.0"]);
  });

  it("revalidates pages without a max-age: reused while the index answers 304, not after a change", async () => {
    const yanked: Record<string, string | true> = {};
    const server = await serve({ yanked });
    const home = await temporaryFolder();
    await build(home, server.url);
    const before = pageRequests(server);
    const second = await build(home, server.url);
    expect(second.reused).toBe(true);
    expect(pageRequests(server)).toBe(before + 2);
    yanked["helper-2.0-py3-none-any.whl"] = true;
    const third = await build(home, server.url);
    expect(third.reused).toBe(false);
    expect(third.versions).toEqual(["app==1.0", "helper==1.0"]);
  });

  it("reads file:// pages again and resolves again when one changed", async () => {
    const home = await temporaryFolder();
    const folder = join(await temporaryFolder(), "simple");
    const indexUrl = await writeFileIndex(folder, WHEELS);
    await build(home, indexUrl);
    const second = await build(home, indexUrl);
    expect(second.reused).toBe(true);
    await writeFileIndex(folder, WHEELS, { yanked: { "helper-2.0-py3-none-any.whl": true } });
    const third = await build(home, indexUrl);
    expect(third.reused).toBe(false);
    expect(third.versions).toEqual(["app==1.0", "helper==1.0"]);
  });

  it.each<[string, Partial<BuildOptions>]>([
    ["other requirements", { requirements: ["app", "other"] }],
    ["another runtime", { runtimes: ["python3.13"] }],
    ["an exclusion", { exclude: ["helper"] }],
    ["pre-releases allowed", { pre: true }],
  ])("does not reuse across %s", async (_name, options) => {
    const server = await serve({ cacheControl: "max-age=600" });
    const home = await temporaryFolder();
    await build(home, server.url);
    expect((await build(home, server.url, options)).reused).toBe(false);
    expect((await build(home, server.url, options)).reused).toBe(true);
  });
});
