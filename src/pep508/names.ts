/**
 * Project and extra names: validity (core metadata "Name", PEP 508 `identifier`),
 * PEP 503 normalization for names and PEP 685 normalization for extras.
 */

/** A valid project name (and PEP 508 identifier): ASCII letters and digits at both ends, `._-` inside. */
const NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/** Whether `name` is a valid project name as PEP 508 and the core metadata define it. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/** PEP 503 normalization: runs of `-`, `_` and `.` become one `-`, letters become lowercase. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

/** PEP 685: extras are compared after the same normalization as project names. */
export function normalizeExtra(extra: string): string {
  return normalizeName(extra);
}
