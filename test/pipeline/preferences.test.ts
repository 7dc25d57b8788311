/**
 * A build keeps the versions the last build of the same targets, index and options chose,
 * where they still fit (pip's only-if-needed): versions move when the requirements need it,
 * when a kept version is gone or yanked, or with `upgrade`.
 */
import { describe, expect, it } from "vitest";
import type { BuildOptions } from "../../src/pipeline/index.js";
import { buildCollecting } from "../helpers/build.js";
import { writeFileIndex } from "../helpers/index-server.js";
import { temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const FIRST = [
  buildWheel({ name: "app", version: "1.0", requires: ["helper"] }),
  buildWheel({ name: "helper", version: "1.0" }),
  buildWheel({ name: "other", version: "1.0" }),
];
/** The index later: a newer helper, and a package that needs it. */
const LATER = [
  ...FIRST,
  buildWheel({ name: "helper", version: "2.0" }),
  buildWheel({ name: "needs-new", version: "1.0", requires: ["helper>=2"] }),
];

async function build(home: string, indexUrl: string, options: Partial<BuildOptions>) {
  const { result, events } = await buildCollecting(indexUrl, home, { ...options });
  const versions = result.plan.targets[0]!.packages.map((item) => `${item.name}==${item.version}`);
  const kept = events.some(
    (event) => event.type === "detail" && event.message.startsWith("Keeping the versions"),
  );
  return { versions, kept };
}

/** A home whose last build resolved `app` when helper 1.0 was the newest, and the index now. */
async function builtBefore() {
  const home = await temporaryFolder();
  const folder = await temporaryFolder();
  const indexUrl = await writeFileIndex(folder, FIRST);
  const first = await build(home, indexUrl, { requirements: ["app"] });
  expect(first.versions).toEqual(["app==1.0", "helper==1.0"]);
  await writeFileIndex(folder, LATER);
  return { home, indexUrl, folder };
}

describe("versions kept across a changed requirement set", () => {
  it("adds a package without moving the others", async () => {
    const { home, indexUrl } = await builtBefore();
    const changed = await build(home, indexUrl, { requirements: ["app", "other"] });
    expect(changed.kept).toBe(true);
    expect(changed.versions).toEqual(["app==1.0", "helper==1.0", "other==1.0"]);
  });

  it("moves a kept version when the new requirements need it", async () => {
    const { home, indexUrl } = await builtBefore();
    const changed = await build(home, indexUrl, { requirements: ["app", "needs-new"] });
    expect(changed.versions).toEqual(["app==1.0", "helper==2.0", "needs-new==1.0"]);
  });

  it("keeps them on a rebuild of the same set, so the layer does not change", async () => {
    const { home, indexUrl } = await builtBefore();
    const rebuilt = await build(home, indexUrl, { requirements: ["app"] });
    expect(rebuilt.kept).toBe(true);
    expect(rebuilt.versions).toEqual(["app==1.0", "helper==1.0"]);
  });

  it("resolves afresh with upgrade, and keeps the upgraded versions after it", async () => {
    const { home, indexUrl } = await builtBefore();
    const upgraded = await build(home, indexUrl, { requirements: ["app"], upgrade: true });
    expect(upgraded.kept).toBe(false);
    expect(upgraded.versions).toEqual(["app==1.0", "helper==2.0"]);
    const after = await build(home, indexUrl, { requirements: ["app", "other"] });
    expect(after.versions).toEqual(["app==1.0", "helper==2.0", "other==1.0"]);
  });

  it("moves a kept version that the index yanked", async () => {
    const { home, indexUrl, folder } = await builtBefore();
    await writeFileIndex(folder, LATER, { yanked: { "helper-1.0-py3-none-any.whl": true } });
    const moved = await build(home, indexUrl, { requirements: ["app"] });
    expect(moved.versions).toEqual(["app==1.0", "helper==2.0"]);
  });

  it("keeps nothing for another target or a fresh cache", async () => {
    const { home, indexUrl } = await builtBefore();
    const otherTarget = await build(home, indexUrl, {
      requirements: ["app", "other"],
      runtimes: ["python3.13"],
    });
    expect(otherTarget.versions).toContain("helper==2.0");
    const fresh = await build(await temporaryFolder(), indexUrl, {
      requirements: ["app", "other"],
    });
    expect(fresh.versions).toContain("helper==2.0");
  });
});
