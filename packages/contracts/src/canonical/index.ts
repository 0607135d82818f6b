export * from './types';
export * from './detect';
export { applySql, lit as sqlLiteral } from './sql';
export { COUNTRY_ALPHA2, COUNTRY_ALPHA3, CURRENCIES, LANGUAGES } from './data';
