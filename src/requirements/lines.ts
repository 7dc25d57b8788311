/**
 * From file content to logical lines, in the order pip applies its steps (pip's
 * "Requirements File Format" reference: line continuations, comments, environment
 * variables): join continuations, strip comments and blank lines, expand `${NAME}`.
 */

export interface LogicalLine {
  /** 1-based number of the first physical line. */
  readonly line: number;
  /** The line before environment variables were expanded (for messages: no secrets). */
  readonly written: string;
  /** The line pylayer reads. */
  readonly text: string;
}

/** A comment line ends a continuation instead of being continued. */
const COMMENT_LINE = /^\s*#/;
/** Only `${NAME}` with POSIX names of upper-case letters, digits and `_` expands, as in pip. */
const ENVIRONMENT_VARIABLE = /\$\{([A-Z0-9_]+)\}/g;

export function logicalLines(content: string, environment: NodeJS.ProcessEnv): LogicalLine[] {
  const lines: LogicalLine[] = [];
  const emit = (line: number, joined: string): void => {
    const written = stripComment(joined).trim();
    if (written === "") return;
    lines.push({ line, written, text: expandVariables(written, environment) });
  };

  const physical = content.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  let pending: string[] | undefined;
  let pendingStart = 0;
  physical.forEach((text, index) => {
    const isComment = COMMENT_LINE.test(text);
    if (text.endsWith("\\") && !isComment) {
      if (pending === undefined) {
        pending = [];
        pendingStart = index + 1;
      }
      pending.push(withoutTrailingBackslashes(text));
      return;
    }
    // A comment line after a continuation is joined as a comment, which ends the line.
    const piece = isComment ? ` ${text}` : text;
    if (pending === undefined) {
      emit(index + 1, piece);
    } else {
      pending.push(piece);
      emit(pendingStart, pending.join(""));
      pending = undefined;
    }
  });
  if (pending !== undefined) emit(pendingStart, pending.join(""));
  return lines;
}

/*
 * Linear scans instead of regular expressions where a backtracking engine would go
 * quadratic (`(^|\s+)#.*$` on a line of 100,000 spaces took seconds): every function
 * here is O(length of the line).
 */

/** The line up to its comment: `#` at the start or after whitespace starts one (pip's rule). */
export function stripComment(text: string): string {
  for (let index = text.indexOf("#"); index !== -1; index = text.indexOf("#", index + 1)) {
    if (index === 0 || isWhitespace(text.charCodeAt(index - 1))) return text.slice(0, index);
  }
  return text;
}

function withoutTrailingBackslashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x5c) end--;
  return text.slice(0, end);
}

/** The characters `\s` matches in the ASCII and Latin-1 range, plus the Unicode spaces trim() removes. */
function isWhitespace(code: number): boolean {
  return /\s/.test(String.fromCharCode(code));
}

/** Undefined and empty variables stay as written, as pip leaves them. */
function expandVariables(text: string, environment: NodeJS.ProcessEnv): string {
  return text.replace(ENVIRONMENT_VARIABLE, (whole, name: string) => {
    const value = environment[name];
    return value === undefined || value === "" ? whole : value;
  });
}

/**
 * POSIX shell-style word splitting of an option string (pip runs `shlex.split` on the
 * options part of a line): whitespace separates words, single quotes keep text literally,
 * double quotes allow backslash escapes of `"`, `\`, `$` and `` ` ``, and a backslash
 * outside quotes escapes the next character. Returns undefined on an unclosed quote.
 */
export function splitShellWords(text: string): string[] | undefined {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let index = 0;
  while (index < text.length) {
    const character = text[index]!;
    if (/\s/.test(character)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      index += 1;
    } else if (character === "'") {
      const close = text.indexOf("'", index + 1);
      if (close === -1) return undefined;
      word += text.slice(index + 1, close);
      inWord = true;
      index = close + 1;
    } else if (character === '"') {
      index += 1;
      for (;;) {
        if (index >= text.length) return undefined;
        const inner = text[index]!;
        if (inner === '"') break;
        const next = text[index + 1];
        if (inner === "\\" && next !== undefined && '"\\$`'.includes(next)) {
          word += next;
          index += 2;
        } else {
          word += inner;
          index += 1;
        }
      }
      inWord = true;
      index += 1;
    } else if (character === "\\") {
      word += text[index + 1] ?? "";
      inWord = true;
      index += 2;
    } else {
      word += character;
      inWord = true;
      index += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}
