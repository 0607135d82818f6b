/**
 * The regions an organization can be signed up in (`SignUpInput.region`; the SDL documents the
 * same list, a test keeps the two equal). A closed list: adding one is easy, taking one away is
 * not (organizations live there), so only regions the platform is run in are listed.
 */
export const REGIONS = ['eu', 'us'] as const;
export type Region = (typeof REGIONS)[number];

export const isRegion = (value: string): value is Region => (REGIONS as readonly string[]).includes(value);
