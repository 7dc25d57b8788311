import { crc32, deflateRawSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { gunzipMembers, useFreshMemoryForGunzip } from "../../src/zip/gunzip-members.js";

/** One gzip member (RFC 1952): header, raw deflate, CRC-32 and length trailer. */
function member(contents: Buffer, recorded = { crc32: crc32(contents), length: contents.length }) {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(recorded.crc32 >>> 0, 0);
  trailer.writeUInt32LE(recorded.length >>> 0, 4);
  return [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]), deflateRawSync(contents), trailer];
}

const first = Buffer.from("import os\n".repeat(600));
const second = Buffer.from("VALUE = 1\n".repeat(500));
const total = first.length + second.length;

describe.each([
  ["into reused memory", false],
  ["with gunzipSync", true],
])("gunzipMembers (%s)", (_path, fresh) => {
  afterEach(() => useFreshMemoryForGunzip(false));

  it("returns the contents of every member, and null for any stream that is not exactly right", () => {
    useFreshMemoryForGunzip(fresh);
    const good = [...member(first), ...member(second)];
    expect(gunzipMembers(good, total)).toEqual(Buffer.concat([first, second]));
    // Longer or shorter than expected.
    expect(gunzipMembers(good, total - 1)).toBeNull();
    expect(gunzipMembers(good, total + 1)).toBeNull();
    // A trailer whose CRC-32 or length does not match the member (RFC 1952 2.3.1).
    const badCrc = member(second, { crc32: crc32(second) ^ 1, length: second.length });
    expect(gunzipMembers([...member(first), ...badCrc], total)).toBeNull();
    const badLength = member(second, { crc32: crc32(second), length: second.length + 1 });
    expect(gunzipMembers([...member(first), ...badLength], total)).toBeNull();
    // A member cut short, and bytes after the last member.
    const cut = Buffer.concat(member(second)).subarray(0, 40);
    expect(gunzipMembers([...member(first), cut], total)).toBeNull();
    expect(gunzipMembers([...good, Buffer.from("garbage")], total)).toBeNull();
    // Every failure above leaves the next stream to inflate as the first did.
    expect(gunzipMembers(good, total)).toEqual(Buffer.concat([first, second]));
  });

  it(fresh ? "allocates each result afresh" : "writes every result into the same memory", () => {
    useFreshMemoryForGunzip(fresh);
    const one = gunzipMembers(member(first), first.length);
    const other = gunzipMembers(member(second), second.length);
    expect(other).toEqual(second);
    expect(one?.buffer === other?.buffer).toBe(!fresh);
  });
});
