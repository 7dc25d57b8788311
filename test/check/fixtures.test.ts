import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FIXTURE_DIR, FIXTURES } from "./fixtures.js";

describe("checked-in byte fixtures", () => {
  for (const [name, build] of Object.entries(FIXTURES)) {
    it(`${name} equals the generator's output`, () => {
      const generated = build();
      if (process.env.PYLAYER_UPDATE_FIXTURES === "1") writeFileSync(FIXTURE_DIR + name, generated);
      const stored = readFileSync(FIXTURE_DIR + name);
      expect(stored.length).toBeLessThan(1024);
      expect(stored.equals(generated)).toBe(true);
    });
  }
});
