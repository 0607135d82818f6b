// monaco-graphql's language worker: validation, completion and hover in the query editor.
import 'monaco-graphql/esm/graphql.worker.js';
