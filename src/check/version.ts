/**
 * The version of what the check reads and decides. Cached check results (per wheel and per
 * zip, src/check/reuse.ts) are keyed by it together with pylayer's version: bump it when a
 * rule, the facts kept per wheel, or the OS facts change within one pylayer version.
 */
export const CHECKER_VERSION = 2;
