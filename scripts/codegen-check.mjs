#!/usr/bin/env node
// Fails when the committed generated resolver types (and the web app's typed documents) differ from what codegen produces now.
// Generates into a temp copy of the outputs, compares, and leaves the tree untouched.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const services = ['auth', 'workspace', 'schema', 'mapping', 'monitoring'];
// The web app's typed documents (client preset) come from the same run.
const webFiles = ['gql.ts', 'graphql.ts', 'index.ts'].map((f) => `web/gql/__generated__/${f}`);
const files = [...services.map((s) => `services/${s}/src/graphql/__generated__/resolvers.ts`), ...webFiles];
const backup = mkdtempSync(path.join(tmpdir(), 'dlx-codegen-'));
for (const f of files) if (existsSync(path.join(root, f))) cpSync(path.join(root, f), path.join(backup, f.replaceAll('/', '__')));
let drift = [];
try {
  execFileSync(process.execPath, [path.join(root, 'node_modules', '@graphql-codegen', 'cli', 'cjs', 'bin.js'), '--config', 'codegen.ts', '--silent'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  drift = files.filter((f) => {
    const saved = path.join(backup, f.replaceAll('/', '__'));
    return !existsSync(saved) || readFileSync(saved, 'utf8') !== readFileSync(path.join(root, f), 'utf8');
  });
} finally {
  // Restore the committed versions so the check never rewrites the tree.
  for (const f of files) {
    const saved = path.join(backup, f.replaceAll('/', '__'));
    if (existsSync(saved)) cpSync(saved, path.join(root, f));
  }
  rmSync(backup, { recursive: true, force: true });
}
if (drift.length) {
  console.error(`codegen: generated resolver types are out of date:\n  ${drift.join('\n  ')}\nRun \`npm run codegen\` and commit the result.`);
  process.exit(1);
}
console.log(`codegen: resolver types (${services.length} subgraphs) and the web app's documents up to date`);
