/**
 * Reading an OpenAPI (3.x) or Swagger (2.0) document and finding its collections: the GET
 * operations that return lists, which a sync can page through.
 */

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export type Parsed = { ok: true; doc: Json; version: string } | { ok: false; code: string; message: string };

/** JSON, or YAML through the `yaml` package (loaded only when a YAML document shows up). */
export function parseOpenApi(text: string): Parsed {
  let doc: unknown;
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('{')) {
    try {
      doc = JSON.parse(trimmed);
    } catch (err) {
      return {
        ok: false,
        code: 'OPENAPI_INVALID',
        message: `The OpenAPI document is not valid JSON (${(err as Error).message}). Fix the document or point to another one.`,
      };
    }
  } else {
    let yaml: { parse: (s: string) => unknown };
    try {
      yaml = require('yaml');
    } catch {
      return {
        ok: false,
        code: 'OPENAPI_YAML_UNSUPPORTED',
        message: 'The OpenAPI document is YAML, which this worker cannot read (the yaml package is missing). Provide the document as JSON.',
      };
    }
    try {
      doc = yaml.parse(trimmed);
    } catch (err) {
      return {
        ok: false,
        code: 'OPENAPI_INVALID',
        message: `The OpenAPI document is neither JSON nor valid YAML (${(err as Error).message.split('\n')[0]}). Fix the document or point to another one.`,
      };
    }
  }
  if (!isObj(doc))
    return {
      ok: false,
      code: 'OPENAPI_INVALID',
      message: "The document is not an OpenAPI description (not an object). Point to the API's OpenAPI (JSON or YAML) document.",
    };
  const version = typeof doc.openapi === 'string' ? doc.openapi : typeof doc.swagger === 'string' ? doc.swagger : undefined;
  if (!version)
    return {
      ok: false,
      code: 'OPENAPI_INVALID',
      message: 'The document has no "openapi" (or "swagger") version field, so it is not an OpenAPI description. Point to the API\'s OpenAPI document.',
    };
  if (!isObj(doc.paths))
    return {
      ok: false,
      code: 'OPENAPI_INVALID',
      message: `The OpenAPI ${version} document has no "paths". Point to a document that describes the API's endpoints.`,
    };
  return { ok: true, doc, version };
}

function resolve(doc: Json, v: unknown, depth = 0): unknown {
  if (!isObj(v) || typeof v.$ref !== 'string' || depth > 10) return v;
  if (!v.$ref.startsWith('#/')) return undefined; // external references are not followed
  let cur: unknown = doc;
  for (const part of v.$ref.slice(2).split('/')) cur = isObj(cur) ? cur[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return resolve(doc, cur, depth + 1);
}

/** The schema of an operation's first 2xx JSON response, if it declares one. */
function successSchema(doc: Json, op: Json): unknown {
  const responses = resolve(doc, op.responses);
  if (!isObj(responses)) return undefined;
  const code = Object.keys(responses)
    .filter((c) => /^2(\d\d|XX)$/i.test(c))
    .sort()[0];
  const res = code ? resolve(doc, responses[code]) : undefined;
  if (!isObj(res)) return undefined;
  if (res.schema) return resolve(doc, res.schema); // Swagger 2.0
  if (!isObj(res.content)) return undefined;
  const media = Object.keys(res.content).find((m) => /json/i.test(m)) ?? Object.keys(res.content)[0];
  const content = media ? resolve(doc, res.content[media]) : undefined;
  return isObj(content) ? resolve(doc, content.schema) : undefined;
}

const isArraySchema = (doc: Json, s: unknown) => {
  const r = resolve(doc, s);
  return isObj(r) && (r.type === 'array' || (Array.isArray(r.type) && r.type.includes('array')) || 'items' in r);
};

/**
 * A GET path is a collection when it returns an array, or an envelope object with an array
 * property ({"data": [...], "next": …}). Without a declared schema, a path that does not end in
 * a path parameter (/orders, not /orders/{id}) is taken as one.
 */
export function countCollections(doc: Json): { collections: number; paths: number } {
  const paths = doc.paths as Json;
  let collections = 0;
  for (const [p, raw] of Object.entries(paths)) {
    const item = resolve(doc, raw);
    const get = isObj(item) ? resolve(doc, item.get) : undefined;
    if (!isObj(get)) continue;
    const schema = successSchema(doc, get);
    if (schema === undefined) {
      if (!/\}\/?$/.test(p)) collections++;
    } else if (isArraySchema(doc, schema)) collections++;
    else if (isObj(schema) && isObj(schema.properties) && Object.values(schema.properties).some((prop) => isArraySchema(doc, prop))) collections++;
  }
  return { collections, paths: Object.keys(paths).length };
}
