// A Node module-customization hook for tests/api/import_cost.test.ts: appends the URL of every
// module Node loads through the ESM loader to the file named by `initialize`'s data, one per line.
// Registered with `module.register(<this file>, { data: { log } })` after tsx, so it runs first and
// sees every module (the TypeScript sources included) before passing it on.
import { appendFileSync } from "node:fs";

let log = "";

export function initialize(data) {
  log = data.log;
}

export function load(url, context, nextLoad) {
  appendFileSync(log, `${url}\n`);
  return nextLoad(url, context);
}
