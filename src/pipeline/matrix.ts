/**
 * A matrix build (several targets) that fails reports every target's outcome in one error:
 * which targets resolved, which failed and why, and for each failed target every one of
 * its requirements that no usable version satisfies there, not only the first the
 * resolver stopped at.
 */
import { PylayerError } from "../errors.js";
import type { Requirement } from "../pep508/index.js";
import type { ResolverProvider } from "../resolver/index.js";
import type { Target } from "../runtime/index.js";
import type { WheelCandidate } from "./provider.js";
import type { TargetPlan } from "./types.js";

/**
 * The requirements (given directly) that no usable version of their project satisfies on
 * the provider's target, and the project the failure was about when it is another one.
 */
export async function unsatisfiableRequirements(
  provider: ResolverProvider<WheelCandidate>,
  requirements: readonly Requirement[],
  allowPrereleases: boolean,
  error: unknown,
): Promise<string[]> {
  const found: string[] = [];
  for (const requirement of requirements) {
    const list = await provider.findCandidates(requirement.normalizedName).catch(() => null);
    const prereleases = allowPrereleases || requirement.specifier.mentionsPrerelease;
    const usable = list?.candidates.some((candidate) =>
      requirement.specifier.contains(candidate.version, { prereleases }),
    );
    if (usable !== true) found.push(requirement.text);
  }
  const project = error instanceof PylayerError ? error.details?.project : undefined;
  if (
    typeof project === "string" &&
    !requirements.some((requirement) => requirement.normalizedName === project)
  ) {
    found.push(project);
  }
  return found;
}

/**
 * The plans of every target, or (when any failed) one error: the single target's own
 * error for a one-target build; for a matrix, every target's outcome.
 */
export function settledTargetPlans(
  targets: readonly Target[],
  settled: readonly PromiseSettledResult<TargetPlan>[],
  unsatisfiable: ReadonlyMap<string, string[]>,
): TargetPlan[] {
  const failures = settled.flatMap((result, index) =>
    result.status === "rejected" ? [{ target: targets[index]!, error: result.reason }] : [],
  );
  if (failures.length === 0) {
    return settled.map((result) => (result as PromiseFulfilledResult<TargetPlan>).value);
  }
  if (targets.length === 1 || failures.some(({ error }) => !(error instanceof PylayerError))) {
    throw failures[0]!.error;
  }
  const errors = failures.map(({ error }) => error as PylayerError);
  const lines: string[] = [];
  const rows: Record<string, unknown>[] = [];
  for (const [index, result] of settled.entries()) {
    const target = targets[index]!;
    if (result.status === "fulfilled") {
      lines.push(`  ${target.id}: resolved (${result.value.packages.length} packages)`);
      rows.push({ target: target.id, ok: true, packages: result.value.packages.length });
      continue;
    }
    const error = result.reason as PylayerError;
    const packages = unsatisfiable.get(target.id) ?? [];
    lines.push(`  ${target.id}: failed [${error.code}]`);
    if (packages.length > 0) lines.push(`    cannot be satisfied here: ${packages.join(", ")}`);
    lines.push(...error.message.split("\n").map((line) => `    ${line}`));
    rows.push({ target: target.id, ok: false, unsatisfiable: packages, error: error.toJSON() });
  }
  const codes = [...new Set(errors.map((error) => error.code))];
  const hints = [
    ...new Set(errors.flatMap((error) => (error.hint === undefined ? [] : [error.hint]))),
  ];
  return throwError(
    new PylayerError(
      codes.length === 1 ? codes[0]! : "matrix-failed",
      `Resolution failed for ${failures.length} of ${targets.length} targets:\n${lines.join("\n")}`,
      {
        ...(hints.length === 0 ? {} : { hint: hints.join(" ") }),
        cause: errors[0],
        details: { ...errors[0]!.details, targets: rows },
      },
    ),
  );
}

function throwError(error: PylayerError): never {
  throw error;
}
