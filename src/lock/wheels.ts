/** Choosing a locked wheel for a target: best tag priority (as the resolver does), with reasons for the others. */
import type { Target } from "../runtime/index.js";
import { parseWheelFilename, type Tag, TagSelector } from "../tags/index.js";

export interface WheelChoice<F> {
  file: F;
  tag: Tag;
  priority: number;
}

export interface WheelSelection<F> {
  chosen: WheelChoice<F> | undefined;
  /** Every file that does not run on the target, with the reason. */
  rejected: { filename: string; reason: string }[];
}

/**
 * The wheel of `files` that runs on the target with the best tag priority; among equal
 * priorities the highest build number, then the first by file name (deterministic).
 */
export function chooseWheel<F extends { filename: string }>(
  files: readonly F[],
  target: Target | TagSelector,
): WheelSelection<F> {
  const selector = target instanceof TagSelector ? target : new TagSelector(target);
  let best: (WheelChoice<F> & { build: number }) | undefined;
  const rejected: { filename: string; reason: string }[] = [];
  const sorted = [...files].sort((a, b) =>
    a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0,
  );
  for (const file of sorted) {
    let wheel: ReturnType<typeof parseWheelFilename>;
    try {
      wheel = parseWheelFilename(file.filename);
    } catch {
      rejected.push({ filename: file.filename, reason: "not a valid wheel file name" });
      continue;
    }
    const compatibility = selector.check(wheel);
    if (!compatibility.compatible) {
      rejected.push({ filename: file.filename, reason: compatibility.reason });
      continue;
    }
    const build = wheel.build?.number ?? -1;
    if (
      best === undefined ||
      compatibility.priority < best.priority ||
      (compatibility.priority === best.priority && build > best.build)
    ) {
      best = { file, tag: compatibility.tag, priority: compatibility.priority, build };
    }
  }
  return {
    chosen:
      best === undefined ? undefined : { file: best.file, tag: best.tag, priority: best.priority },
    rejected,
  };
}
