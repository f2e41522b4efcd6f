// Builds the web chat (clients/web) into the local host's webchat/ folder (served at / by `dotnet run`; not in git).
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, "../../web");
const out = path.resolve(here, "../../../functions/ImFunctions.Local/webchat");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(web, "app.ts")],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outfile: path.join(out, "app.js"),
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) copyFileSync(path.join(web, file), path.join(out, file));
console.log("web chat built into", out);
