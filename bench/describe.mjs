/**
 * How the benchmark names what it measured in bench/RESULTS.md, which is committed: never
 * a path or host of the machine it ran on (pure functions, tested in test/bench).
 */

/** `text` with every absolute path (and `file://` URL) shortened to `…/<last part>`. */
export function withoutMachinePaths(text) {
  return text.replace(/(?<![\w:/.~-])(?:file:\/\/)?(?:\/[\w.+@~-]+)+/g, (path) => {
    const parts = path.split("/").filter((part) => part !== "");
    return `…/${parts.at(-1) ?? ""}`;
  });
}

/** The kind of index at `url`, without its path or host. */
export function describeIndex(url, distributions) {
  const count = distributions === undefined ? "" : ` (${distributions} distributions)`;
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return `a local folder of wheels${count}`;
  }
  if (parsed.protocol === "file:") return `a local file:// mirror of real wheels${count}`;
  if (["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname)) {
    return `an index on loopback HTTP${count}`;
  }
  return `a remote ${parsed.protocol === "https:" ? "HTTPS" : "HTTP"} index${count}`;
}

/**
 * Why a `build --json` of every target did not run, from its output: which targets the
 * index has no usable wheels for, and of which projects; else the error's first line.
 */
export function matrixFailure(output) {
  let error;
  try {
    error = JSON.parse(output).error;
  } catch {
    return withoutMachinePaths(output.trim().split("\n")[0] ?? "no output");
  }
  const targets = error?.details?.targets;
  if (Array.isArray(targets) && targets.some((target) => target.ok === false)) {
    const failed = targets.filter((target) => target.ok === false);
    const resolved = targets.filter((target) => target.ok !== false);
    const projects = [...new Set(failed.flatMap((target) => target.unsatisfiable ?? []))];
    const which =
      resolved.length > 0 && resolved.length < failed.length
        ? `every target but ${resolved.map((target) => target.target).join(", ")}`
        : failed.map((target) => target.target).join(", ");
    return `the index has no usable wheel${projects.length > 0 ? ` of ${projects.join(", ")}` : ""} for ${failed.length} of ${targets.length} targets (${which})`;
  }
  const message = String(error?.message ?? "unknown error").split("\n")[0];
  return withoutMachinePaths(`${error?.code ?? "error"}: ${message}`);
}
