/**
 * The one error for a file whose top level is not a map (a scalar, a sequence): bad input, with
 * the place where the top-level value starts. Used alike by the loader (config/tree.ts), the
 * writers (document/edit.ts) and the integrity record (integrity/verify.ts).
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import type { SealfigDocument } from "./document.ts";

/** `YAML_UNSUPPORTED` at the top-level value of `doc` (file:line:col). */
export function topLevelNotMap(doc: SealfigDocument): SealfigError {
  const root = doc.yaml.contents as { range?: [number, number, number] } | null;
  const at = root?.range ? doc.position(root.range[0]) : { line: 1, col: 1 };
  return new SealfigError(
    "YAML_UNSUPPORTED",
    "The top level of a config file must be a map (key: value pairs), not a scalar or a sequence",
    {
      ...(doc.file !== undefined ? { file: doc.file } : {}),
      line: at.line,
      col: at.col,
      hint: "Write key: value pairs at the top level",
    },
  );
}
