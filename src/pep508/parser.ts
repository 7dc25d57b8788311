/**
 * A hand-written recursive-descent parser for the PEP 508 grammar ("Dependency
 * specifiers", packaging.python.org, "Complete Grammar"): requirements and marker
 * expressions. Errors name the text, the column and what was expected there.
 */
import { PylayerError } from "../errors.js";
import { SpecifierSet, Version } from "../pep440/index.js";
import { normalizeExtra } from "./names.js";
import type { Marker, MarkerValue } from "./syntax.js";

/** Marker variables of the specification, plus the names only containing layers define. */
export const MARKER_VARIABLES: readonly string[] = [
  "implementation_name",
  "implementation_version",
  "os_name",
  "platform_machine",
  "platform_python_implementation",
  "platform_release",
  "platform_system",
  "platform_version",
  "python_full_version",
  "python_version",
  "sys_platform",
  "extra",
  "extras",
  "dependency_groups",
];

/**
 * Legacy spellings (PEP 345 dotted names, setuptools' `python_implementation`), read as
 * their PEP 508 names as the packaging library does.
 */
const LEGACY_VARIABLES: ReadonlyMap<string, string> = new Map([
  ["os.name", "os_name"],
  ["sys.platform", "sys_platform"],
  ["platform.version", "platform_version"],
  ["platform.machine", "platform_machine"],
  ["platform.python_implementation", "platform_python_implementation"],
  ["python_implementation", "platform_python_implementation"],
]);

/** Variables whose literal operand is compared after PEP 685 normalization. */
const EXTRA_LIKE_VARIABLES = new Set(["extra", "extras", "dependency_groups"]);

const REQUIREMENT_HINT =
  'A requirement looks like name[extra1,extra2]>=1.0,<2; python_version >= "3.9", or name @ https://host/file.whl (PEP 508).';
const MARKER_HINT =
  'A marker looks like python_version >= "3.9" and (sys_platform == "linux" or extra == "fast") (PEP 508).';

const WHITESPACE = /[ \t]*/y;
const NAME = /[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/y;
const VERSION_OPERATOR = /===|==|~=|!=|<=|>=|<|>/y;
const VERSION = /[A-Za-z0-9_.*+!-]+/y;
/** `===` compares strings, so its operand may be nearly anything (as in packaging). */
const ARBITRARY_VERSION = /[^\s;),]+/y;
const URL = /[^ \t]+/y;
const WORD = /[A-Za-z_][A-Za-z0-9_.]*/y;
const WORD_CHARACTER = /[A-Za-z0-9_.]/;
/** For errors whose message already quotes the offending text. */
const QUOTED = { showFound: false } as const;

export interface ParsedRequirement {
  name: string;
  extras: string[];
  /** Comma-joined clauses without whitespace, e.g. `>=1.0,<2`. */
  specifier: string;
  url?: string;
  marker?: Marker;
}

export class Parser {
  private readonly source: string;
  private readonly subject: "requirement" | "marker";
  private position = 0;

  constructor(source: string, subject: "requirement" | "marker") {
    this.source = source;
    this.subject = subject;
  }

  /** `specification` of the grammar: a name-based or URL-based requirement. */
  parseRequirement(): ParsedRequirement {
    this.skipWhitespace();
    const name = this.match(NAME);
    if (name === undefined) this.fail("expected a project name");
    this.skipWhitespace();
    const extras = this.parseExtras();
    this.skipWhitespace();

    const requirement: ParsedRequirement = { name, extras, specifier: "" };
    if (this.peek() === "@") {
      this.position += 1;
      this.skipWhitespace();
      const url = this.match(URL);
      if (url === undefined) this.fail('expected a URL after "@"');
      requirement.url = url;
      const hadWhitespace = this.skipWhitespace();
      if (this.atEnd()) return requirement;
      if (!hadWhitespace || this.peek() !== ";") {
        this.fail('expected ";" and a marker, or the end, after the URL and a space');
      }
    } else {
      requirement.specifier = this.parseVersionSpecifier();
      this.skipWhitespace();
      if (this.atEnd()) return requirement;
      if (this.peek() !== ";") {
        this.fail(
          requirement.specifier === ""
            ? 'expected a version specifier (such as >=1.0), "@ URL", ";" and a marker, or the end after the name'
            : 'expected ",", ";" and a marker, or the end after the version specifier',
        );
      }
    }
    this.position += 1; // the ";" before the marker
    requirement.marker = this.parseMarkerToEnd();
    return requirement;
  }

  /** A whole marker expression, up to the end of the text. */
  parseMarkerToEnd(): Marker {
    this.skipWhitespace();
    const marker = this.parseOr();
    this.skipWhitespace();
    if (!this.atEnd()) this.fail('expected "and", "or" or the end of the marker');
    return marker;
  }

  private parseExtras(): string[] {
    if (this.peek() !== "[") return [];
    const open = this.position;
    this.position += 1;
    this.skipWhitespace();
    const extras: string[] = [];
    const first = this.match(NAME);
    if (first !== undefined) {
      extras.push(first);
      for (;;) {
        this.skipWhitespace();
        if (this.peek() === ",") {
          this.position += 1;
          this.skipWhitespace();
          const extra = this.match(NAME);
          if (extra === undefined) this.fail('expected an extra name after ","');
          extras.push(extra);
        } else if (this.lookingAt(NAME)) {
          this.fail('expected "," between extra names');
        } else {
          break;
        }
      }
    }
    this.skipWhitespace();
    if (this.peek() !== "]") {
      this.fail(`expected "]" to close the extras opened at column ${open + 1}`);
    }
    this.position += 1;
    return extras;
  }

  /** `versionspec`: clauses, optionally in parentheses (accepted for PEP 345 compatibility). */
  private parseVersionSpecifier(): string {
    const open = this.peek() === "(" ? this.position : undefined;
    if (open !== undefined) {
      this.position += 1;
      this.skipWhitespace();
    }
    const clauses: string[] = [];
    const start = this.position;
    for (;;) {
      const operatorStart = this.position;
      const operator = this.match(VERSION_OPERATOR);
      if (operator === undefined) break;
      this.skipWhitespace();
      const version = this.match(operator === "===" ? ARBITRARY_VERSION : VERSION);
      if (version === undefined) this.fail(`expected a version after "${operator}"`);
      this.checkClause(operator, version, operatorStart);
      clauses.push(`${operator}${version}`);
      this.skipWhitespace();
      if (this.peek() !== ",") break;
      this.position += 1;
      this.skipWhitespace();
      // The grammar allows one trailing comma; anything else after a comma must be a clause.
      const next = this.peek();
      if (!this.lookingAt(VERSION_OPERATOR) && next !== undefined && next !== ";" && next !== ")") {
        this.fail('expected a version clause (such as <2) after ","');
      }
    }
    if (open !== undefined) {
      this.skipWhitespace();
      if (this.peek() !== ")") {
        this.fail(
          clauses.length === 0
            ? 'expected a version operator (==, !=, <=, >=, <, >, ~=, ===) or ")"'
            : `expected "," or ")" to close the version specifier opened at column ${open + 1}`,
        );
      }
      this.position += 1;
    }
    const specifier = clauses.join(",");
    try {
      SpecifierSet.parse(specifier);
    } catch {
      this.fail(`"${specifier}" is not a valid version specifier`, start, QUOTED);
    }
    return specifier;
  }

  /** The PEP 440 rules on single clauses, checked here to point at the clause. */
  private checkClause(operator: string, version: string, at: number): void {
    if (operator === "===") return;
    if (version.endsWith(".*")) {
      if (operator !== "==" && operator !== "!=") {
        this.fail(
          `a ".*" suffix can only follow == or != (in "${operator}${version}")`,
          at,
          QUOTED,
        );
      }
      const prefix = Version.tryParse(version.slice(0, -2));
      if (prefix === null || version.slice(0, -2).includes("*")) {
        this.fail(`"${version}" is not a valid version prefix`, at, QUOTED);
      }
      if (
        prefix.isPrerelease ||
        prefix.isPostrelease ||
        prefix.isDevrelease ||
        prefix.local !== null
      ) {
        this.fail(
          `a ".*" suffix cannot follow a pre-, post-, dev- or local version (in "${operator}${version}")`,
          at,
          QUOTED,
        );
      }
      return;
    }
    const parsed = Version.tryParse(version);
    if (parsed === null) this.fail(`"${version}" is not a valid PEP 440 version`, at, QUOTED);
    if (parsed.local !== null && operator !== "==" && operator !== "!=") {
      this.fail(
        `a local version label can only follow == or != (in "${operator}${version}")`,
        at,
        QUOTED,
      );
    }
    if (operator === "~=" && parsed.release.length < 2) {
      this.fail(
        `~= needs at least two release segments, such as ~=1.4 (in "~=${version}")`,
        at,
        QUOTED,
      );
    }
  }

  /** `marker_or`: `and` binds tighter than `or`; both group to the left. */
  private parseOr(): Marker {
    let left = this.parseAnd();
    for (;;) {
      this.skipWhitespace();
      if (!this.matchKeyword("or")) return left;
      const right = this.parseAnd();
      left = { kind: "or", left, right };
    }
  }

  private parseAnd(): Marker {
    let left = this.parseAtom();
    for (;;) {
      this.skipWhitespace();
      if (!this.matchKeyword("and")) return left;
      const right = this.parseAtom();
      left = { kind: "and", left, right };
    }
  }

  private parseAtom(): Marker {
    this.skipWhitespace();
    if (this.peek() !== "(") return this.parseComparison();
    const open = this.position;
    this.position += 1;
    this.skipWhitespace();
    const inner = this.parseOr();
    this.skipWhitespace();
    if (this.peek() !== ")") {
      this.fail(`expected "and", "or" or ")" to close the "(" at column ${open + 1}`);
    }
    this.position += 1;
    return inner;
  }

  private parseComparison(): Marker {
    const left = this.parseValue();
    this.skipWhitespace();
    const operator = this.parseOperator();
    this.skipWhitespace();
    const right = this.parseValue();
    return normalizeExtraOperand({ kind: "compare", left, operator, right });
  }

  private parseValue(): MarkerValue {
    const quote = this.peek();
    if (quote === '"' || quote === "'") {
      const open = this.position;
      const close = this.source.indexOf(quote, open + 1);
      if (close === -1) {
        this.fail(`expected a closing ${quote} for the string opened at column ${open + 1}`);
      }
      this.position = close + 1;
      return { kind: "literal", value: this.source.slice(open + 1, close) };
    }
    const start = this.position;
    const word = this.match(WORD);
    if (word === undefined || isKeyword(word)) {
      this.position = start;
      this.fail("expected a marker variable (such as python_version) or a quoted string");
    }
    const name = LEGACY_VARIABLES.get(word) ?? word;
    if (!MARKER_VARIABLES.includes(name)) {
      this.fail(`unknown marker variable "${word}"`, start, {
        showFound: false,
        hint: `Marker variables are ${MARKER_VARIABLES.join(", ")} (PEP 508).`,
      });
    }
    return { kind: "variable", name };
  }

  private parseOperator(): string {
    const operator = this.match(VERSION_OPERATOR);
    if (operator !== undefined) return operator;
    if (this.matchKeyword("in")) return "in";
    const notStart = this.position;
    if (this.matchKeyword("not")) {
      const spaced = this.skipWhitespace();
      if (!spaced || !this.matchKeyword("in")) {
        this.fail('expected "in" after "not"', spaced ? this.position : notStart + 3);
      }
      return "not in";
    }
    return this.fail("expected a marker operator (==, !=, <=, >=, <, >, ~=, ===, in, not in)");
  }

  private peek(): string | undefined {
    return this.source[this.position];
  }

  private atEnd(): boolean {
    return this.position >= this.source.length;
  }

  /** Skips spaces and tabs (the grammar's `wsp`); true when there were some. */
  private skipWhitespace(): boolean {
    const skipped = this.match(WHITESPACE) ?? "";
    return skipped.length > 0;
  }

  private lookingAt(pattern: RegExp): boolean {
    pattern.lastIndex = this.position;
    return pattern.test(this.source);
  }

  /** Consumes and returns the text `pattern` (a sticky regex) matches here, if any. */
  private match(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.position;
    const found = pattern.exec(this.source);
    if (found === null) return undefined;
    this.position += found[0].length;
    return found[0];
  }

  /** Consumes `keyword` when it stands here as a whole word. */
  private matchKeyword(keyword: string): boolean {
    if (!this.source.startsWith(keyword, this.position)) return false;
    const after = this.source[this.position + keyword.length];
    if (after !== undefined && WORD_CHARACTER.test(after)) return false;
    this.position += keyword.length;
    return true;
  }

  /**
   * Throws the syntax error. `at` is the offset the problem is at; the message quotes what
   * stands there unless the problem already names it (`showFound: false`).
   */
  private fail(
    problem: string,
    at: number = this.position,
    options: { showFound?: boolean; hint?: string } = {},
  ): never {
    const column = at + 1;
    let where = `at column ${column}`;
    if (options.showFound !== false) {
      where =
        at >= this.source.length
          ? `found the end at column ${column}`
          : `found "${truncate(this.source.slice(at), 24)}" at column ${column}`;
    }
    const isRequirement = this.subject === "requirement";
    throw new PylayerError(
      isRequirement ? "invalid-requirement" : "invalid-marker",
      `${isRequirement ? "Invalid requirement" : "Invalid marker"} "${this.source}": ${problem}; ${where}`,
      {
        hint: options.hint ?? (isRequirement ? REQUIREMENT_HINT : MARKER_HINT),
        details: { text: this.source, column, problem },
      },
    );
  }
}

function isKeyword(word: string): boolean {
  return word === "and" || word === "or" || word === "in" || word === "not";
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length)}…`;
}

/**
 * Extras and dependency groups compare PEP 685-normalized (as the packaging library does
 * at parse time), so the literal is stored normalized and markers print canonically.
 */
function normalizeExtraOperand(comparison: Marker & { kind: "compare" }): Marker {
  const { left, right } = comparison;
  if (left.kind === "variable" && EXTRA_LIKE_VARIABLES.has(left.name) && right.kind === "literal") {
    return { ...comparison, right: { kind: "literal", value: normalizeExtra(right.value) } };
  }
  if (
    right.kind === "variable" &&
    EXTRA_LIKE_VARIABLES.has(right.name) &&
    left.kind === "literal"
  ) {
    return { ...comparison, left: { kind: "literal", value: normalizeExtra(left.value) } };
  }
  return comparison;
}
