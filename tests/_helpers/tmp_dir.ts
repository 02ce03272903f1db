/** Temporary directories for tests that need real files (removed by `cleanup`). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A temporary directory and helpers to fill it. */
export interface TempDir {
  /** Absolute path of the directory. */
  readonly dir: string;
  /** Absolute path of `name` inside it. */
  path(name: string): string;
  /** Write a file (parents created); returns its absolute path. */
  write(name: string, content: string | Uint8Array): string;
  /** Read a file as UTF-8. */
  read(name: string): string;
  /** Remove the directory and everything in it. */
  cleanup(): void;
}

/** Create a fresh temporary directory. */
export function makeTempDir(prefix = "sealfig-test-"): TempDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    path: (name) => path.join(dir, name),
    write(name, content) {
      const p = path.join(dir, name);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
      return p;
    },
    read: (name) => fs.readFileSync(path.join(dir, name), "utf8"),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
