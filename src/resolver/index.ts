/**
 * A backtracking dependency resolver over PEP 440 versions and PEP 508 requirements, with
 * errors that explain who required what. Generic over a provider, so it knows nothing about
 * package indexes, wheel tags or markers.
 */
import { Search } from "./search.js";
import type { Candidate, Resolution, ResolveOptions, ResolverProvider } from "./types.js";

export {
  type Candidate,
  type CandidateList,
  DEFAULT_RESOLVER_BUDGET,
  type Dependencies,
  type Rejection,
  type Resolution,
  type ResolvedPackage,
  type ResolveOptions,
  type ResolverProvider,
} from "./types.js";

/**
 * Chooses one version of every project the requirements need.
 *
 * Candidates are tried in the provider's order (best first); a version must satisfy every
 * active requirement and constraint on its project, and a pre-release is admitted only
 * when `allowPrereleases` is set or one of those specifiers names a pre-release (PEP 440).
 * Throws `PylayerError` with code `no-matching-distribution`, `resolution-impossible`,
 * `resolution-too-complex`, `direct-url-unsupported` or `invalid-constraint`.
 */
export async function resolve<C extends Candidate>(
  provider: ResolverProvider<C>,
  options: ResolveOptions,
): Promise<Resolution<C>> {
  return new Search(provider, options).run();
}
