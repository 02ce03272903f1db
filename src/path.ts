/**
 * Value paths: where a value sits in a document. Used in associated data (so a blob cannot move),
 * in error messages, by `get`/`set` and by environment flattening.
 *
 * A path is a list of segments: a map key (string) or a sequence index (number). Its text form:
 * - plain keys made of `A-Z a-z 0-9 _ -` are joined with `.`: `db.password`
 * - sequence indexes are bracketed: `servers[0].host`
 * - any other key is a bracketed JSON string: `labels["app.kubernetes.io/name"]`, `["a b"]`
 * - the empty string is the root.
 * {@link formatPath} always produces the canonical form; {@link parsePath} accepts only it plus
 * bracket-quoting of keys that did not need it.
 *
 * @module
 */
import { SealfigError } from "./errors.ts";
import { hasLoneSurrogate } from "./crypto/bytes.ts";

/** One step of a path: a map key or a sequence index. */
export type PathSegment = string | number;

/** A path as segments. */
export type ValuePath = readonly PathSegment[];

const PLAIN = /^[A-Za-z0-9_-]+$/;
/** The longest path text {@link parsePath} accepts (and a document may hold): 8,192 characters. */
export const MAX_PATH_CHARS = 8192;

/**
 * Format segments as a path string.
 *
 * @example
 * ```ts
 * import { formatPath } from "@sealfig/sealfig/document";
 * formatPath(["servers", 0, "a.b"]); // 'servers[0]["a.b"]'
 * ```
 */
export function formatPath(path: ValuePath): string {
  let out = "";
  for (const seg of path) out = appendPath(out, seg);
  return out;
}

/**
 * The text of a path one segment longer: `appendPath(formatPath(p), seg)` is
 * `formatPath([...p, seg])`, at the cost of formatting `seg` alone (a document's walk formats
 * each key once, not once per value beneath it).
 *
 * @example
 * ```ts ignore
 * appendPath("servers[0]", "a.b"); // 'servers[0]["a.b"]'
 * ```
 */
export function appendPath(prefix: string, seg: PathSegment): string {
  if (typeof seg === "number") return `${prefix}[${seg}]`;
  if (PLAIN.test(seg)) return prefix === "" ? seg : `${prefix}.${seg}`;
  return `${prefix}[${JSON.stringify(seg)}]`;
}

/**
 * Parse a path string into segments. Throws `PATH_INVALID` on bad syntax.
 *
 * @example
 * ```ts
 * import { parsePath } from "@sealfig/sealfig/document";
 * parsePath('db.hosts[1]["x.y"]'); // ["db", "hosts", 1, "x.y"]
 * ```
 */
export function parsePath(text: string): PathSegment[] {
  if (text.length > MAX_PATH_CHARS) throw bad(text, `longer than ${MAX_PATH_CHARS} characters`);
  const out: PathSegment[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "[") {
      if (text[i + 1] === '"') {
        const end = findStringEnd(text, i + 2);
        if (end < 0 || text[end + 1] !== "]") throw bad(text, `unterminated quoted key at ${i}`);
        let key: unknown;
        try {
          key = JSON.parse(text.slice(i + 1, end + 1));
        } catch {
          throw bad(text, `bad quoted key at ${i}`);
        }
        out.push(key as string);
        i = end + 2;
      } else {
        const m = /^\[(0|[1-9][0-9]{0,8})\]/.exec(text.slice(i, i + 12));
        if (!m) throw bad(text, `bad index at ${i}`);
        out.push(Number(m[1]));
        i += m[0].length;
      }
    } else {
      if (out.length > 0) {
        if (c !== ".") throw bad(text, `expected "." or "[" at ${i}`);
        i++;
      }
      const m = /^[A-Za-z0-9_-]+/.exec(text.slice(i));
      if (!m) throw bad(text, `expected a key at ${i}`);
      out.push(m[0]);
      i += m[0].length;
    }
  }
  return out;
}

function findStringEnd(text: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j;
  }
  return -1;
}

function bad(text: string, why: string) {
  return new SealfigError(
    "PATH_INVALID",
    `Invalid path ${JSON.stringify(text.slice(0, 200))}: ${why}`,
    {
      hint: 'Write paths like db.password, servers[0].host or labels["a.b"]',
    },
  );
}

/** Accept a path as text or segments; returns segments. */
export function toSegments(path: string | ValuePath): ValuePath {
  const segments = typeof path === "string" ? parsePath(path) : path;
  for (const s of segments) {
    // A lone surrogate has no UTF-8 form: the AAD binding a value to its path could not hold it.
    if (typeof s === "string" && hasLoneSurrogate(s)) {
      throw new SealfigError("PATH_INVALID", "A path segment is not well-formed Unicode", {
        hint: "Path segments must be valid text: a lone surrogate (\\uD800) cannot be written",
      });
    }
  }
  return segments;
}
