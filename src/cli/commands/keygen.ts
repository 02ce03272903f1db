/**
 * `sealfig keygen`: create a local key in the key file (mode 0600) and print its id.
 *
 * @module
 */
import { addAgeIdentityToFile, defaultAgeKeyFile } from "../../keys/age.ts";
import { addKeyToFile, defaultKeyFile } from "../../keys/local.ts";
import { type Command, flagBool, flagString } from "../command.ts";

/** The keygen command. */
export const keygenCommand: Command = {
  name: "keygen",
  summary: "Create a local key in the key file (0600) and print its id",
  usage: "keygen [--age] [--key-file FILE]",
  details:
    "The key file defaults to $SEALFIG_KEY_FILE, else $XDG_CONFIG_HOME/sealfig/keys (on Windows\n" +
    "%APPDATA%\\sealfig\\keys), else ~/.config/sealfig/keys. It is created with mode 0600 and\n" +
    "refused when group or others can read it. Keep it out of git; back it up (docs/keys.md);\n" +
    "use the printed id in .sealfig.yaml as key: local:<id>.\n" +
    "With --age: an age identity, as age-keygen -o writes it, appended to $SEALFIG_AGE_KEY_FILE,\n" +
    "else $XDG_CONFIG_HOME/sealfig/age/keys.txt, else ~/.config/sealfig/age/keys.txt (0600); prints\n" +
    "its recipient (age1…) for .sealfig.yaml's key: (docs/keys.md, age keys).",
  flags: {
    "key-file": { type: "string", value: "FILE", description: "Key file to add the key to" },
    age: { type: "boolean", description: "Create an age identity instead of a local key" },
  },
  async run(args, ctx) {
    if (flagBool(args, "age")) {
      const file = flagString(args, "key-file") || ctx.env.SEALFIG_AGE_KEY_FILE ||
        defaultAgeKeyFile();
      const recipient = await addAgeIdentityToFile(file);
      ctx.stdout(`${recipient}\n`);
      ctx.stderr(`Created an age identity in ${file}; its recipient is ${recipient}\n`);
      return 0;
    }
    const file = flagString(args, "key-file") || ctx.env.SEALFIG_KEY_FILE || defaultKeyFile();
    const id = await addKeyToFile(file);
    ctx.stdout(`${id}\n`);
    ctx.stderr(`Created local key ${id} in ${file}\n`);
    return 0;
  },
};
