/**
 * Platform compatibility tags (PyPA "Platform compatibility tags" specification, from PEP 425).
 *
 * A tag is `interpreter-abi-platform`, e.g. `cp312-cp312-manylinux_2_17_x86_64`. A wheel may
 * carry a compressed tag set, where each part lists alternatives separated by dots
 * (`py2.py3-none-any`); it stands for the cartesian product of its parts.
 *
 * Tags are lowercased when parsed, as `packaging.tags.Tag` does, and then compared exactly.
 */
import { PylayerError } from "../errors.js";

export interface Tag {
  readonly interpreter: string;
  readonly abi: string;
  readonly platform: string;
}

/** `cp312-cp312-manylinux_2_17_x86_64`. */
export function tagToString(tag: Tag): string {
  return `${tag.interpreter}-${tag.abi}-${tag.platform}`;
}

/** One component of a tag: letters, digits and underscores (the spec replaces `-` and `.` by `_`). */
const TAG_COMPONENT = /^[a-z0-9_]+$/;

/**
 * Expands a tag or compressed tag set (`py2.py3-none-any`) into its tags, in the order the
 * alternatives are written (interpreters outermost, platforms innermost). Returns a sentence
 * saying what is wrong instead when `text` is not one.
 */
export function expandTagSet(text: string): Tag[] | string {
  const parts = text.toLowerCase().split("-");
  if (parts.length !== 3) {
    return `a tag has three parts separated by "-" (interpreter-abi-platform), got "${text}"`;
  }
  const [interpreters, abis, platforms] = parts.map((part) => part.split(".")) as [
    string[],
    string[],
    string[],
  ];
  for (const component of [...interpreters, ...abis, ...platforms]) {
    if (!TAG_COMPONENT.test(component)) {
      return component === ""
        ? `empty component in tag "${text}"`
        : `"${component}" in tag "${text}" is not made of letters, digits and "_"`;
    }
  }
  const tags: Tag[] = [];
  for (const interpreter of interpreters) {
    for (const abi of abis) {
      for (const platform of platforms) {
        tags.push({ interpreter, abi, platform });
      }
    }
  }
  return tags;
}

/** Parses a single tag such as `cp312-abi3-manylinux_2_28_x86_64`; throws `invalid-tag`. */
export function parseTag(text: string): Tag {
  const expanded = expandTagSet(text);
  if (typeof expanded === "string" || expanded.length !== 1) {
    throw new PylayerError(
      "invalid-tag",
      `"${text}" is not a single platform compatibility tag: ${
        typeof expanded === "string" ? expanded : "it is a compressed tag set"
      }`,
      {
        hint: "A tag looks like cp312-cp312-manylinux_2_17_x86_64 (interpreter-abi-platform); a compressed set such as py2.py3-none-any is parsed with parseTagSet.",
      },
    );
  }
  return expanded[0]!;
}

/** Parses a tag or compressed tag set into its tags; throws `invalid-tag`. */
export function parseTagSet(text: string): Tag[] {
  const expanded = expandTagSet(text);
  if (typeof expanded === "string") {
    throw new PylayerError(
      "invalid-tag",
      `"${text}" is not a platform compatibility tag: ${expanded}`,
      {
        hint: "A tag looks like cp312-cp312-manylinux_2_17_x86_64 or py2.py3-none-any (interpreter-abi-platform).",
      },
    );
  }
  return expanded;
}
