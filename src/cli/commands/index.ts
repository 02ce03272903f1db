/**
 * The list of commands, in the order `sealfig --help` shows them.
 *
 * @module
 */
import type { Command } from "../command.ts";
import { initCommand } from "./init.ts";
import { keygenCommand } from "./keygen.ts";

/** Every command. */
export const COMMANDS: readonly Command[] = [
  keygenCommand,
  initCommand,
];
