import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/** Enough for every header table checkExecutable reads (Mach-O load commands are the longest). */
const HEAD_BYTES = 64 * 1024

/** A file's first bytes (all of them when it is small) and its size: what release.ts's checks read. */
export function readHead(file: string): [Buffer, number] {
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES))
    readSync(fd, head, 0, head.length, 0)
    return [head, size]
  } finally {
    closeSync(fd)
  }
}
