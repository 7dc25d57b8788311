/**
 * PEP 440 versions and specifier sets, as pylayer uses them: parsing, the total order,
 * specifier semantics as the reference implementation (`packaging`) has them, and the
 * set-level pre-release rule ("Handling of pre-releases": a specifier set admits
 * pre-releases when one of its clauses names one, or when the caller allows them).
 * Parsed values are cached, because the resolver compares the same strings many times.
 */
export { type Clause, type Operator, SpecifierSet } from "./specifier.js";
export {
  compareVersions,
  formatVersion,
  type PreReleaseLetter,
  sortVersionsDescending,
  Version,
  type VersionParts,
} from "./version.js";
