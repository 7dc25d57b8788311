/**
 * Wheel filenames, the tags each Lambda target accepts (best first), and the check that ranks
 * a wheel for a target or says why it does not run there.
 */
export {
  compatibleTags,
  legacyManylinuxAlias,
  oldestManylinuxGlibcMinor,
  platformTags,
} from "./compatible.js";
export {
  type Compatibility,
  INCOMPATIBILITY_CODES,
  type IncompatibilityCode,
  TagSelector,
} from "./selector.js";
export { expandTagSet, parseTag, parseTagSet, type Tag, tagToString } from "./tag.js";
export { isWheelFilename, parseWheelFilename, type WheelFilename } from "./wheel-filename.js";
