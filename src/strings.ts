/** Small text helpers shared by the CLI and the library ("did you mean …?" suggestions). */

/** Levenshtein distance: insertions, deletions and substitutions each cost 1. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      previous[j] = Math.min(
        above + 1,
        previous[j - 1]! + 1,
        diagonal + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

/**
 * The candidate nearest to `word`, if it is near enough to be a likely typo: at most
 * two edits, or a third of the candidate's length for long names.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word, name);
    if (
      distance <= Math.max(2, Math.floor(name.length / 3)) &&
      (best === undefined || distance < best.distance)
    ) {
      best = { name, distance };
    }
  }
  return best?.name;
}

/**
 * Bytes as B/KiB/MiB/GiB with one decimal (none from 100 up). Self-contained, with no
 * outside references: the HTML report embeds its source in the page.
 *
 * The one unit system of pylayer's output is binary (1 MiB = 1,048,576 bytes) because
 * Lambda's quotas are: its "250 MB" is 262,144,000 bytes (250 MiB, the API's own error
 * text) and its "50 MB" direct upload 52,428,800 bytes (50 MiB), so limits show as round
 * numbers and a size compares with them as printed.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** `part` as a percentage of `whole`, rounded half up to one decimal (37.44 → 37.4). */
export function percentOf(part: number, whole: number): number {
  return Math.round((part / Math.max(1, whole)) * 1000) / 10;
}

/** `37.4%`: a percentage of `whole` as every command prints one. */
export function formatPercent(part: number, whole: number): string {
  return `${percentOf(part, whole).toFixed(1)}%`;
}

/** `1 file`, `2 files`: a count with its noun, plural by an added "s". */
export function count(amount: number, noun: string): string {
  return `${amount} ${amount === 1 ? noun : `${noun}s`}`;
}
