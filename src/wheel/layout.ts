/**
 * Where a wheel's files go inside a layer zip (the zip root is `/opt` on Lambda). The
 * install target is data, so both layouts share one installer.
 */
import type { LambdaRuntime } from "../runtime/index.js";

/**
 * `python`: the site folder is `/opt/python` (on sys.path for every Python runtime).
 * `site-packages`: `/opt/python/lib/python3.X/site-packages` (only for that minor version).
 * `function`: a function package, whose zip root is `/var/task`, first on sys.path; the site
 * folder is the zip root, scripts go to `bin/` as `pip install --target` puts them.
 */
export type LayoutKind = "python" | "site-packages" | "function";

export interface Layout {
  kind: LayoutKind;
  /** Zip path of the folder on sys.path: purelib, platlib and root files. */
  siteDir: string;
  /** Zip path for scripts (`/opt/bin` is on Lambda's PATH). */
  binDir: string;
  /** Zip path for the `data` scheme; "" is the zip root (`/opt`). */
  dataDir: string;
  /** The interpreter generated scripts run by default (Lambda's `python3.X`). */
  pythonExecutable: string;
}

export function layoutFor(kind: LayoutKind, runtime: LambdaRuntime): Layout {
  const [major, minor] = runtime.python;
  return {
    kind,
    siteDir:
      kind === "function"
        ? ""
        : kind === "python"
          ? "python"
          : `python/lib/python${major}.${minor}/site-packages`,
    binDir: "bin",
    dataDir: "",
    pythonExecutable: `/var/lang/bin/python${major}.${minor}`,
  };
}
