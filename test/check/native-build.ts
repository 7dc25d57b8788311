/**
 * Compiles tiny shared libraries with the machine's gcc/g++ for the native-code tests, so
 * the ELF reader and the checks meet real linker output (symbol versions bound by the
 * real glibc and libstdc++ of this machine).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasCommand } from "./layers.js";

export const HAS_GCC = hasCommand("gcc");
export const HAS_GXX = hasCommand("g++");
/** A describe title that says why the block is skipped when the compilers are missing. */
export function compilerTitle(title: string): string {
  return HAS_GCC && HAS_GXX
    ? title
    : `${title} — skipped: gcc/g++ are not installed, so no real ELF files can be built`;
}

/** Compiles `source` into `dir/output` as a shared object and returns its bytes. */
export function compileShared(
  dir: string,
  output: string,
  source: string,
  options: { cplusplus?: boolean; args?: string[] } = {},
): Buffer {
  const sourcePath = join(dir, `${output}.${options.cplusplus ? "cpp" : "c"}`);
  writeFileSync(sourcePath, source);
  const outputPath = join(dir, output);
  execFileSync(
    options.cplusplus ? "g++" : "gcc",
    ["-shared", "-fPIC", "-O1", "-o", outputPath, sourcePath, ...(options.args ?? [])],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  return readFileSync(outputPath);
}

/** Needs GLIBC_2.34 (pthread_create moved into libc in 2.34) and GLIBC_2.28 (fcntl64). */
export const NEWER_GLIBC_SOURCE = `
#include <pthread.h>
__asm__(".symver pthread_create,pthread_create@GLIBC_2.34");
__asm__(".symver fcntl64,fcntl64@GLIBC_2.28");
extern int fcntl64(int, int, ...);
static void *run(void *argument) { return argument; }
int start(void) { pthread_t thread; pthread_create(&thread, 0, run, 0); return fcntl64(0, 1); }
`;

/** Needs only GLIBC_2.2.5-era symbols (x86_64's baseline). */
export const OLD_GLIBC_SOURCE = `
#include <string.h>
__asm__(".symver strlen,strlen@GLIBC_2.2.5");
int length(const char *text) { return (int)strlen(text); }
`;

/** Needs GLIBCXX_3.4.29 and CXXABI_1.3.13 (GCC 11's libstdc++). */
export const GCC11_CXX_SOURCE = `
#include <exception>
__asm__(".symver _ZSt28__throw_bad_array_new_lengthv,_ZSt28__throw_bad_array_new_lengthv@GLIBCXX_3.4.29");
namespace std { [[noreturn]] void __throw_bad_array_new_length(); }
void fail() { std::__throw_bad_array_new_length(); }
std::exception_ptr copy(std::exception_ptr pointer) { std::exception_ptr copied = pointer; return copied; }
`;

/** Needs GLIBCXX_3.4.30 (GCC 12's std::condition_variable::wait). */
export const GCC12_CXX_SOURCE = `
#include <condition_variable>
#include <mutex>
void wait(std::condition_variable &condition, std::unique_lock<std::mutex> &lock) { condition.wait(lock); }
`;
