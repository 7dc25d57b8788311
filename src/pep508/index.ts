/**
 * PEP 508 dependency specifiers and environment markers, with PEP 503 name
 * normalization and PEP 685 extra normalization.
 *
 * CONTRACT (implemented by the pep508 work item; signatures are fixed):
 */
import type { SpecifierSet } from "../pep440/index.js";
import type { MarkerEnvironment } from "../runtime/index.js";

export type MarkerValue =
  | { readonly kind: "variable"; readonly name: string }
  | { readonly kind: "literal"; readonly value: string };

export type Marker =
  | { readonly kind: "and" | "or"; readonly left: Marker; readonly right: Marker }
  | {
      readonly kind: "compare";
      readonly left: MarkerValue;
      readonly operator: string;
      readonly right: MarkerValue;
    };

export interface Requirement {
  /** The name as written. */
  readonly name: string;
  /** PEP 503 normalized name (`Foo.Bar_baz` → `foo-bar-baz`). */
  readonly normalizedName: string;
  /** PEP 685 normalized extras, sorted and unique. */
  readonly extras: readonly string[];
  readonly specifier: SpecifierSet;
  /** Direct reference (`name @ url`), if any. */
  readonly url?: string;
  readonly marker?: Marker;
  /** The requirement as written, for messages. */
  readonly text: string;
}

export declare function normalizeName(name: string): string;
export declare function parseRequirement(text: string): Requirement;
export declare function parseMarker(text: string): Marker;
export declare function evaluateMarker(
  marker: Marker,
  environment: MarkerEnvironment,
  extras?: Iterable<string>,
): boolean;
export declare function markerToString(marker: Marker): string;
