/**
 * An install plan as cached data (src/wheel/install-cache.ts): the cached form restores
 * to the plan it was made from, and anything that is not that form restores to null (the
 * caller evicts it and plans the wheel again).
 */
import { describe, expect, it } from "vitest";
import type { InstallPlan } from "../../src/wheel/index.js";
import { cachedInstallPlan, restoreInstallPlan } from "../../src/wheel/install-cache.js";
import { useTemporaryFolders } from "../zip/helpers.js";
import { installWheel } from "./helpers.js";

const temporaryFolder = useTemporaryFolders();

async function plannedWheel() {
  return installWheel(await temporaryFolder(), {
    name: "demo",
    version: "1.0",
    files: { "demo/__init__.py": "x = 1\n", "demo/data.txt": "data\n" },
    consoleScripts: { demo: "demo:main" },
  });
}

describe("cached install plans", () => {
  it("restore to the plan they were made from, through JSON", async () => {
    const { plan, wheelPath } = await plannedWheel();
    const cached = JSON.parse(JSON.stringify(cachedInstallPlan(plan)));
    const restored = restoreInstallPlan(cached, wheelPath);
    // A raw copy keeps its record's fields; the others only gave the mode, which the plan
    // holds.
    const recordsOnly = (value: InstallPlan | null) => ({
      ...value,
      entries: value?.entries.map((entry) =>
        entry.source.kind === "zip"
          ? {
              ...entry,
              source: {
                ...entry.source,
                entry: {
                  ...entry.source.entry,
                  versionMadeBy: 0,
                  externalAttributes: 0,
                  unixMode: undefined,
                },
              },
            }
          : entry,
      ),
    });
    expect(recordsOnly(restored)).toEqual(recordsOnly(plan));
    expect(plan.entries.some((entry) => entry.source.kind === "zip")).toBe(true);
    expect(plan.entries.some((entry) => entry.source.kind === "bytes")).toBe(true);
  });

  // Each case damages the first raw copy ("zip") or the first generated entry ("bytes").
  const damaged: [label: string, kind: "zip" | "bytes", damage: (item: unknown[]) => void][] = [
    ["a negative CRC-32", "zip", (item) => (item[5] = -1)],
    ["a fractional size", "zip", (item) => (item[6] = 1.5)],
    ["a size given as text", "zip", (item) => (item[7] = "12")],
    ["a missing field", "zip", (item) => item.pop()],
    ["an extra field", "zip", (item) => item.push(0)],
    ["a wheel entry name that is not text", "zip", (item) => (item[3] = 7)],
    ["a mode above 0o777", "zip", (item) => (item[2] = 0o1000)],
    ["an unknown kind", "zip", (item) => (item[0] = "link")],
    ["data that is not text", "bytes", (item) => (item[3] = 12)],
    ["an unknown compression setting", "bytes", (item) => (item[4] = 3)],
  ];
  for (const [label, kind, damage] of damaged) {
    it(`restore to null with ${label}`, async () => {
      const { plan, wheelPath } = await plannedWheel();
      const cached = JSON.parse(JSON.stringify(cachedInstallPlan(plan))) as {
        entries: unknown[][];
      };
      const item = cached.entries.find((entry) => entry[0] === kind)!;
      damage(item);
      expect(restoreInstallPlan(cached, wheelPath)).toBeNull();
    });
  }
});
