import type { PylayerError } from "../../errors.js";

/** Per-region or per-function results for `--json`: each error as its JSON form. */
export function withErrorsAsJson<T extends { error?: PylayerError }>(
  items: readonly T[],
): (Omit<T, "error"> & { error?: ReturnType<PylayerError["toJSON"]> })[] {
  return items.map(({ error, ...item }) => ({
    ...item,
    ...(error === undefined ? {} : { error: error.toJSON() }),
  }));
}
