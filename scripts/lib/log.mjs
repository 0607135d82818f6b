// Console output for the start/test runners: our own messages are tagged `[datalinx]`, every
// child process line is prefixed with the child's name so interleaved logs stay readable.
// Plain Node ESM (runs before `npm install`): node built-ins only.
import fs from 'node:fs';
import readline from 'node:readline';

const useColor = (Boolean(process.stdout.isTTY) && !process.env.NO_COLOR) || Boolean(process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0');

const PALETTE = [36, 32, 33, 35, 34, 96, 92, 93, 95, 94, 91];
let nextColor = 0;

/**
 * @param {number} code ANSI SGR code
 * @param {string} text
 */
export function paint(code, text) {
  return useColor ? `\x1b[${code}m${text}\x1b[0m` : text;
}

/** @param {string} text */
export const bold = (text) => paint(1, text);

// `npm start | head` closes our stdout early: never crash on that.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (/** @type {NodeJS.ErrnoException} */ err) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

/**
 * @typedef {{
 *   info: (msg: string) => void,
 *   step: (msg: string) => void,
 *   warn: (msg: string) => void,
 *   error: (msg: string) => void,
 * }} Log
 */

/**
 * @param {string} [tag]
 * @returns {Log}
 */
export function createLog(tag = 'datalinx') {
  const prefix = paint(1, `[${tag}]`);
  return {
    info: (msg) => process.stdout.write(`${prefix} ${msg}\n`),
    step: (msg) => process.stdout.write(`${prefix} ${paint(1, '▶')} ${paint(1, msg)}\n`),
    warn: (msg) => process.stderr.write(`${prefix} ${paint(33, 'warning:')} ${msg}\n`),
    error: (msg) => process.stderr.write(`${prefix} ${paint(31, 'error:')} ${msg}\n`),
  };
}

/** Width the child-name column is padded to; grows when a longer name shows up. */
let nameWidth = 10;

/**
 * Pads the name column for every name that will appear, so columns line up from the start.
 * @param {string[]} names
 */
export function reserveNameWidth(names) {
  nameWidth = Math.max(nameWidth, ...names.map((n) => n.length));
}

/**
 * Returns a function that writes one line with a colored `name │` prefix.
 * @param {string} name
 * @returns {(line: string, isErr?: boolean) => void}
 */
export function linePrinter(name) {
  const color = PALETTE[nextColor++ % PALETTE.length];
  nameWidth = Math.max(nameWidth, name.length);
  return (line, isErr = false) => {
    const label = paint(color, `${name.padEnd(nameWidth)} │`);
    (isErr ? process.stderr : process.stdout).write(`${label} ${line}\n`);
  };
}

/**
 * Calls `onLine` for every complete line of `stream` (the last partial line is flushed at end).
 * @param {NodeJS.ReadableStream | null | undefined} stream
 * @param {(line: string) => void} onLine
 */
export function forEachLine(stream, onLine) {
  if (!stream) return;
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', onLine);
}

/**
 * Last lines of a text file, indented, for error messages.
 * @param {string} file
 * @param {number} n
 */
export function tail(file, n) {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-n)
      .map((l) => `    ${l}`)
      .join('\n');
  } catch {
    return '    (no log)';
  }
}
