/** The sealfig version (kept equal to package.json and deno.json by the build). */
export const VERSION = "0.1.0";
