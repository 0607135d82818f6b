// Monaco's JSON language worker: the variables, headers and result editors.
import 'monaco-editor/esm/vs/language/json/json.worker.js';
