/** Small file-system helpers shared by the input readers. */
import { access } from "node:fs/promises";

/** Whether something exists at `path` (any error reads as "no"). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
