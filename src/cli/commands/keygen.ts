/**
 * `sealfig keygen`: create a local key in the key file (mode 0600) and print its id.
 *
 * @module
 */
import { addKeyToFile, defaultKeyFile } from "../../keys/local.ts";
import { type Command, flagString } from "../command.ts";

/** The keygen command. */
export const keygenCommand: Command = {
  name: "keygen",
  summary: "Create a local key in the key file (0600) and print its id",
  usage: "keygen [--key-file FILE]",
  details:
    "The key file defaults to $SEALFIG_KEY_FILE, else $XDG_CONFIG_HOME/sealfig/keys (on Windows\n" +
    "%APPDATA%\\sealfig\\keys), else ~/.config/sealfig/keys. It is created with mode 0600 and\n" +
    "refused when group or others can read it. Keep it out of git; back it up (docs/keys.md);\n" +
    "use the printed id in .sealfig.yaml as key: local:<id>.",
  flags: {
    "key-file": { type: "string", value: "FILE", description: "Key file to add the key to" },
  },
  async run(args, ctx) {
    const file = flagString(args, "key-file") || ctx.env.SEALFIG_KEY_FILE || defaultKeyFile();
    const id = await addKeyToFile(file);
    ctx.stdout(`${id}\n`);
    ctx.stderr(`Created local key ${id} in ${file}\n`);
    return 0;
  },
};
