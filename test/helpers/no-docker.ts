/** A PATH with no `docker` executable on it, for tests that prove a build never needs Docker. */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

function hasDocker(folder: string): boolean {
  try {
    accessSync(join(folder, "docker"), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `path` without the folders that hold a `docker` executable. */
export function pathWithoutDocker(path = process.env.PATH ?? ""): string {
  return path
    .split(delimiter)
    .filter((folder) => folder !== "" && !hasDocker(folder))
    .join(delimiter);
}

/** Whether any folder of `path` holds a `docker` executable. */
export function dockerOnPath(path: string): boolean {
  return path.split(delimiter).some((folder) => folder !== "" && hasDocker(folder));
}
