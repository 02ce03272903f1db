/**
 * The list of commands, in the order `sealfig --help` shows them.
 *
 * @module
 */
import type { Command } from "../command.ts";
import { decryptCommand } from "./decrypt.ts";
import { editCommand } from "./edit.ts";
import { encryptCommand } from "./encrypt.ts";
import { getCommand } from "./get.ts";
import { initCommand } from "./init.ts";
import { keygenCommand } from "./keygen.ts";
import { kmsServerCommand } from "./kms_server.ts";
import { mergeCommand } from "./merge.ts";
import { rewrapCommand, rotateCommand } from "./rotate.ts";
import { runCommand } from "./run.ts";
import { sealEnvCommand } from "./seal_env.ts";
import { setCommand, unsetCommand } from "./set.ts";
import { stampCommand } from "./stamp.ts";
import { checkCommand, statusCommand } from "./status.ts";
import { textconvCommand } from "./textconv.ts";

/** Every command. */
export const COMMANDS: readonly Command[] = [
  keygenCommand,
  initCommand,
  encryptCommand,
  decryptCommand,
  editCommand,
  setCommand,
  sealEnvCommand,
  getCommand,
  unsetCommand,
  rotateCommand,
  rewrapCommand,
  statusCommand,
  checkCommand,
  stampCommand,
  mergeCommand,
  runCommand,
  textconvCommand,
  kmsServerCommand,
];
