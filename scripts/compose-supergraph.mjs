#!/usr/bin/env node
// Composes the subgraphs listed in supergraph.yaml into schema/supergraph.graphql with Apollo's
// composition library. `--check` fails when composition has errors or the committed file drifted.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const { parse } = require('graphql');
const { composeServices } = require('@apollo/composition');
const YAML = require('yaml');

const check = process.argv.includes('--check');
const config = YAML.parse(readFileSync(path.join(root, 'supergraph.yaml'), 'utf8'));
const services = Object.entries(config.subgraphs).map(([name, s]) => ({
  name,
  url: s.routing_url,
  typeDefs: parse(readFileSync(path.join(root, s.schema.file), 'utf8')),
}));
const result = composeServices(services);
if (result.errors?.length) {
  console.error(`compose: ${result.errors.length} composition error(s):`);
  for (const e of result.errors) console.error(`  - ${e.message}`);
  process.exit(1);
}
for (const h of result.hints ?? []) if (process.env.COMPOSE_HINTS) console.warn(`hint: ${h.message}`);
const out = path.join(root, 'schema', 'supergraph.graphql');
const sdl = `${result.supergraphSdl.trim()}\n`;
if (check) {
  let committed = '';
  try {
    committed = readFileSync(out, 'utf8');
  } catch {
    /* missing counts as drift */
  }
  if (committed !== sdl) {
    console.error('compose: schema/supergraph.graphql is out of date. Run `npm run compose` and commit the result.');
    process.exit(1);
  }
  console.log(`compose: supergraph up to date (${services.length} subgraphs)`);
} else {
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, sdl);
  console.log(`compose: wrote ${path.relative(root, out)} from ${services.length} subgraphs`);
}
