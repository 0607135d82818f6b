import { Kind, parse, type DocumentNode, type ObjectTypeDefinitionNode, type ObjectTypeExtensionNode } from 'graphql';

/**
 * What a schema exposes, read from SDL with graphql-js (no server needed): the root fields of
 * Query and Mutation, and the entity types a subgraph can resolve through `_entities`. Tests that
 * must cover "every field" enumerate from here, so a field added anywhere fails them until it
 * is listed.
 */
const FEDERATION_FIELDS = new Set(['_service', '_entities']);

type ObjectNode = ObjectTypeDefinitionNode | ObjectTypeExtensionNode;

const objectNodes = (doc: DocumentNode): ObjectNode[] =>
  doc.definitions.filter((d): d is ObjectNode => d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION);

/** `Query.x` / `Mutation.y` for every root field in the document (type definitions and extensions alike). */
export function rootFieldsOf(sdl: string | DocumentNode): string[] {
  const doc = typeof sdl === 'string' ? parse(sdl) : sdl;
  const out = new Set<string>();
  for (const node of objectNodes(doc)) {
    const root = node.name.value;
    if (root !== 'Query' && root !== 'Mutation' && root !== 'Subscription') continue;
    for (const f of node.fields ?? []) if (!FEDERATION_FIELDS.has(f.name.value)) out.add(`${root}.${f.name.value}`);
  }
  return [...out].sort();
}

/**
 * Types of one subgraph's SDL with a resolvable `@key` (`resolvable: false` stubs excluded):
 * exactly the types its `_entities` field answers for.
 */
export function resolvableEntityTypesOf(doc: DocumentNode): string[] {
  const out = new Set<string>();
  for (const node of objectNodes(doc)) {
    for (const d of node.directives ?? []) {
      if (d.name.value !== 'key') continue;
      const resolvable = d.arguments?.find((a) => a.name.value === 'resolvable');
      if (resolvable && resolvable.value.kind === Kind.BOOLEAN && !resolvable.value.value) continue;
      out.add(node.name.value);
    }
  }
  return [...out].sort();
}
