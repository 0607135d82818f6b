/** Positions in the user's text from the parser's byte offsets and character cursor positions. */
import type { SqlPosition } from './types';

/**
 * The user's text as given to the parser, behind `prefix` (the `SELECT ` an expression is
 * wrapped in). PostgreSQL reports node locations as UTF-8 byte offsets and syntax-error cursors
 * as 0-based character (code point) offsets; both are mapped back to the user's text, with
 * UTF-16 offsets and columns as JavaScript strings and editors count them.
 */
export class SourceText {
  readonly full: string;

  constructor(
    readonly text: string,
    readonly prefix = '',
  ) {
    this.full = prefix + text;
  }

  /** The position of a UTF-16 offset of the user's text. */
  at(offset: number): SqlPosition {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < o; i++) {
      if (this.text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    return { offset: o, line, column: o - lineStart + 1 };
  }

  /** The position of a byte offset of the full parsed text; undefined for PostgreSQL's "no location" (-1). */
  fromByte(byteOffset: number | undefined): SqlPosition | undefined {
    if (byteOffset === undefined || byteOffset < 0) return undefined;
    let bytes = 0;
    let units = 0;
    for (const ch of this.full) {
      if (bytes >= byteOffset) break;
      const cp = ch.codePointAt(0) ?? 0;
      bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      units += ch.length;
    }
    return this.at(units - this.prefix.length);
  }

  /** The position of a 0-based code point offset of the full parsed text. */
  fromCodePoint(cpOffset: number): SqlPosition {
    let count = 0;
    let units = 0;
    for (const ch of this.full) {
      if (count >= cpOffset) break;
      count++;
      units += ch.length;
    }
    return this.at(units - this.prefix.length);
  }
}
