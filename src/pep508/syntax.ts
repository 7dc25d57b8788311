/**
 * The syntax tree of an environment marker: what the parser (parser.ts) produces and the
 * evaluator and formatter (marker.ts) walk. Re-exported by index.ts.
 */
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
