/**
 * `buildLayer` as the cache and check tests run it: for python3.12 from one index, with
 * HOME (and the cache under it, see `isolatedEnv`) in `home`, in a fresh working folder,
 * no check unless asked; every event collected.
 */
import {
  type BuildEvent,
  type BuildOptions,
  type BuildResult,
  buildLayer,
} from "../../src/pipeline/index.js";
import { isolatedEnv, temporaryFolder } from "./sandbox.js";

export async function buildCollecting(
  indexUrl: string,
  home: string,
  options: Partial<BuildOptions>,
  extraEnv: Record<string, string> = {},
): Promise<{ result: BuildResult; events: BuildEvent[] }> {
  const events: BuildEvent[] = [];
  const result = await buildLayer({
    runtimes: ["python3.12"],
    index: { indexUrl },
    env: isolatedEnv(home, extraEnv),
    cwd: await temporaryFolder(),
    check: false,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { result, events };
}
