import { relative } from "node:path";

/** A path as printed: relative to the working folder when inside it, else as it is. */
export function shownPath(cwd: string, path: string): string {
  const relativeForm = relative(cwd, path);
  return relativeForm.startsWith("..") ? path : relativeForm;
}
