// Monaco's generic editor worker (diffs, links, word-based suggestions).
import 'monaco-editor/esm/vs/editor/editor.worker.js';
