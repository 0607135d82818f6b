/**
 * Byte-level helpers shared by the file readers: size limits, encoding detection over the whole
 * file (BOM, else the configured encoding, else UTF-8 when every byte sequence is valid, else
 * Latin-1), and decoded text streamed in chunks.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { ReaderError } from './types';

export type FileEncoding = 'utf-8' | 'latin1' | 'utf-16le';

export interface DetectedEncoding {
  encoding: FileEncoding;
  /** Bytes of byte-order mark to skip. */
  bomBytes: number;
}

export const CHUNK_BYTES = 64 * 1024;

export async function checkFile(path: string, maxBytes: number | undefined): Promise<number> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ReaderError('FILE_NOT_FOUND', `${path} is not a regular file.`);
    size = s.size;
  } catch (err) {
    if (err instanceof ReaderError) throw err;
    throw new ReaderError(
      'FILE_NOT_FOUND',
      `The file is not in file storage (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Upload it again.`,
    );
  }
  if (maxBytes !== undefined && size > maxBytes)
    throw new ReaderError('FILE_TOO_LARGE', `The file is ${size} bytes; the limit is ${maxBytes} (FILE_MAX_BYTES).`);
  return size;
}

export async function readHead(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    let read = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, read, buf.length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
      if (read === buf.length) break;
    }
    return buf.subarray(0, read);
  } finally {
    await fh.close();
  }
}

/** Whether every byte of the file from `start` is valid UTF-8 (one streaming pass, bounded memory). */
async function isUtf8(path: string, start: number): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(path, { start, highWaterMark: CHUNK_BYTES })) decoder.decode(chunk as Buffer, { stream: true });
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

export async function detectEncoding(path: string, configured?: FileEncoding): Promise<DetectedEncoding> {
  const head = await readHead(path, 4);
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bomBytes: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomBytes: 2 };
  if (head[0] === 0xfe && head[1] === 0xff)
    throw new ReaderError('ENCODING_UNSUPPORTED', 'The file is UTF-16 big-endian, which is not supported. Save it as UTF-8 and upload it again.');
  if (configured === 'latin1' || configured === 'utf-16le') return { encoding: configured, bomBytes: 0 };
  if (await isUtf8(path, 0)) return { encoding: 'utf-8', bomBytes: 0 };
  if (configured === 'utf-8') throw new ReaderError('ENCODING_MISMATCH', 'The file is not valid UTF-8. Save it as UTF-8, or set its encoding to latin1.');
  return { encoding: 'latin1', bomBytes: 0 };
}

/** Node's name of an encoding. */
export const nodeEncoding = (e: FileEncoding): BufferEncoding => (e === 'utf-8' ? 'utf8' : e === 'latin1' ? 'latin1' : 'utf16le');

/** The file's text from `start`, decoded in chunks (multi-byte sequences split across chunks are kept whole). */
export async function* decodedText(path: string, enc: DetectedEncoding): AsyncGenerator<string> {
  const decoder = new TextDecoder(enc.encoding === 'latin1' ? 'latin1' : enc.encoding);
  const stream = createReadStream(path, { start: enc.bomBytes, highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream) {
      const s = enc.encoding === 'latin1' ? (chunk as Buffer).toString('latin1') : decoder.decode(chunk as Buffer, { stream: true });
      if (s) yield s;
    }
    if (enc.encoding !== 'latin1') {
      const rest = decoder.decode();
      if (rest) yield rest;
    }
  } finally {
    stream.destroy();
  }
}
