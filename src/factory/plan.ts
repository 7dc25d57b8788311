/**
 * `planFactory`: the work items of a manifest and, when a table of published layers
 * is given, what each (item, region) would do: `new` (never published), `changed`
 * (inputs differ from the recorded version's), `skip` (a lock with the recorded
 * fingerprint: nothing is built or published) or `check` (requirements with the
 * recorded fingerprint: rebuilt to see new releases, published only when the zip's
 * CodeSha256 differs).
 */
import { type LayerRecord, RecordTable } from "./records.js";
import { itemFingerprint } from "./run-item.js";
import type { FactorySettings, WorkItem } from "./types.js";

export type PlanAction = "new" | "changed" | "skip" | "check" | "unknown";

export interface PlannedRegion {
  region: string;
  action: PlanAction;
  /** The recorded version, when there is one. */
  version?: number;
  layerVersionArn?: string;
}

export interface PlannedItem {
  item: WorkItem;
  fingerprint: string;
  regions: PlannedRegion[];
}

export interface FactoryPlan {
  items: PlannedItem[];
  counts: Record<PlanAction, number>;
}

export async function planFactory(
  items: readonly WorkItem[],
  settings: Pick<FactorySettings, "table" | "tableRegion" | "aws"> = {},
): Promise<FactoryPlan> {
  const counts: Record<PlanAction, number> = { new: 0, changed: 0, skip: 0, check: 0, unknown: 0 };
  const recordsByLayer = new Map<string, LayerRecord[]>();
  if (settings.table !== undefined && settings.table !== "") {
    const table = new RecordTable(
      settings.table,
      settings.tableRegion ?? items[0]?.regions[0] ?? "us-east-1",
      settings.aws ?? {},
    );
    for (const layer of new Set(items.map((item) => item.layer))) {
      recordsByLayer.set(layer, await table.layerRecords(layer));
    }
  }
  const planned: PlannedItem[] = [];
  for (const item of items) {
    const fingerprint = await itemFingerprint(item);
    const records = recordsByLayer.get(item.layer);
    const regions = item.regions.map((region): PlannedRegion => {
      if (records === undefined) return { region, action: "unknown" };
      const record = records.find(
        (entry) =>
          entry.runtime === item.runtime &&
          entry.architecture === item.architecture &&
          entry.region === region,
      );
      if (record === undefined) return { region, action: "new" };
      const action: PlanAction =
        record.fingerprint !== fingerprint
          ? "changed"
          : item.input.kind === "lock"
            ? "skip"
            : "check";
      return { region, action, version: record.version, layerVersionArn: record.layerVersionArn };
    });
    for (const region of regions) counts[region.action] += 1;
    planned.push({ item, fingerprint, regions });
  }
  return { items: planned, counts };
}
