export {
  DBT_REQUIRED_VERSION,
  RAW_SYSTEM_COLUMNS,
  dbtSourceName,
  generateDbtProject,
  martModelName,
  type DbtModelInput,
  type DbtProject,
  type DbtProjectFile,
  type DbtProjectInput,
  type DbtSourceTableInput,
} from './project';
export { dbtProjectDir, writeDbtProject } from './write';
export { isPlainIdentifier, jinjaLiteral, jinjaString, quoteIdent } from './sql';
export { toYaml, yamlString } from './yaml';
