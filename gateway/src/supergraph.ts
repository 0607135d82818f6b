import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The committed, composed supergraph (schema/supergraph.graphql at the repo root). */
export function loadSupergraph(file = path.resolve(__dirname, '..', '..', 'schema', 'supergraph.graphql')): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read the supergraph at ${file} (${(err as Error).message}). Run \`npm run compose\` to compose it from the subgraphs' SDL.`);
  }
}
