/**
 * `--slim-pattern` globs, gitignore-like: `*` and `?` stay within one path segment, `**`
 * spans segments, `[abc]`/`[!abc]` are character classes and `{a,b}` alternatives. A
 * pattern without `/` matches any single segment (a file or folder name anywhere); a
 * pattern with `/` matches a path relative to the site folder (`python/` or
 * `python/lib/python3.X/site-packages/`) or to the zip root. A file is matched when the
 * pattern matches its path or the path of one of its folders.
 */
import { usageError } from "../errors.js";

export interface CompiledGlob {
  pattern: string;
  /** True when the pattern names a single segment (no `/`). */
  segmentOnly: boolean;
  regex: RegExp;
}

/** `flag` names the option the pattern came from, for error messages. */
export function compileGlob(pattern: string, flag = "--slim-pattern"): CompiledGlob {
  const trimmed = pattern.trim().replace(/^\.\//, "").replace(/\/+$/, "");
  if (trimmed === "" || trimmed.startsWith("/")) {
    throw usageError(
      `${flag} "${pattern}" is not a relative glob`,
      "Give a file or folder name such as '*.md', or a path such as 'botocore/data/**/examples-1.json'.",
    );
  }
  return {
    pattern,
    segmentOnly: !trimmed.includes("/"),
    regex: new RegExp(`^${globToRegexSource(trimmed, pattern, flag)}$`, "u"),
  };
}

function globToRegexSource(glob: string, original: string, flag: string): string {
  let source = "";
  let index = 0;
  let braceDepth = 0;
  while (index < glob.length) {
    const character = glob[index]!;
    if (character === "*") {
      if (glob[index + 1] === "*") {
        const atSegmentStart = index === 0 || glob[index - 1] === "/";
        const atSegmentEnd = index + 2 === glob.length || glob[index + 2] === "/";
        if (atSegmentStart && atSegmentEnd) {
          if (glob[index + 2] === "/") {
            // `**/` matches zero or more whole folders.
            source += "(?:[^/]+/)*";
            index += 3;
          } else {
            source += ".*";
            index += 2;
          }
          continue;
        }
      }
      source += "[^/]*";
      index++;
    } else if (character === "?") {
      source += "[^/]";
      index++;
    } else if (character === "[") {
      const close = glob.indexOf("]", index + 2);
      if (close === -1) throw badGlob(flag, original, "a [ is not closed");
      let body = glob.slice(index + 1, close);
      if (body.startsWith("!")) body = `^${body.slice(1)}`;
      source += `[${body.replace(/\\/g, "\\\\")}]`;
      index = close + 1;
    } else if (character === "{") {
      braceDepth++;
      source += "(?:";
      index++;
    } else if (character === "}" && braceDepth > 0) {
      braceDepth--;
      source += ")";
      index++;
    } else if (character === "," && braceDepth > 0) {
      source += "|";
      index++;
    } else {
      source += character.replace(/[.+^${}()|\\]/g, "\\$&");
      index++;
    }
  }
  if (braceDepth > 0) throw badGlob(flag, original, "a { is not closed");
  return source;
}

function badGlob(flag: string, pattern: string, reason: string) {
  return usageError(`${flag} "${pattern}" is not a valid glob: ${reason}`);
}

/**
 * Whether `glob` matches `relativePath` (a `/`-separated file path relative to a site
 * folder or the zip root) or one of its folders.
 */
export function globMatches(glob: CompiledGlob, relativePath: string): boolean {
  const segments = relativePath.split("/");
  if (glob.segmentOnly) return segments.some((segment) => glob.regex.test(segment));
  for (let length = segments.length; length >= 1; length--) {
    if (glob.regex.test(segments.slice(0, length).join("/"))) return true;
  }
  return false;
}
