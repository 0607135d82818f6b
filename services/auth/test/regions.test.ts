import { Kind, type DocumentNode, type InputObjectTypeDefinitionNode, type ObjectTypeDefinitionNode } from 'graphql';
import { typeDefs } from '../src/app';
import { REGIONS } from '../src/managers/regions';

/** The SDL documents the sign-up regions in prose (`region` stays a String so a wrong one is a typed REGION_INVALID): it must name exactly REGIONS. */
describe('sign-up regions', () => {
  const descriptionOf = (doc: DocumentNode, type: string, field: string): string => {
    const def = doc.definitions.find(
      (d): d is ObjectTypeDefinitionNode | InputObjectTypeDefinitionNode =>
        (d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) && d.name.value === type,
    );
    return def?.fields?.find((f) => f.name.value === field)?.description?.value ?? '';
  };
  const named = (text: string) => [...text.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]);

  it.each([
    ['SignUpInput', 'region'],
    ['Organization', 'region'],
  ])('%s.%s names exactly the regions sign-up accepts', (type, field) => {
    expect(named(descriptionOf(typeDefs, type, field))).toEqual([...REGIONS]);
  });
});
