import fs from 'node:fs'

/**
 * Stand-ins for the Convox CLI that really run: static Linux executables of a few hundred bytes,
 * written here byte by byte, that print what `convox version` prints and exit. An ELF header is
 * what the installer's download check wants, and a script would not pass it. Built for the
 * runner's processor, or for the other one to see a binary that does not run; under an emulator
 * registered with binfmt_misc (qemu-user) that one would run.
 */

export const CLI_OUTPUT = 'client: 3.24.9\nserver: none\n'

export interface FakeCliOptions {
  /** `process.arch`'s name: x64 or arm64; the runner's when omitted. */
  arch?: string
  /** What it writes to stdout. */
  output?: string
  exitCode?: number
  /** Loops for ever instead of exiting: a CLI that hangs. */
  hang?: boolean
  /** A program loader (PT_INTERP) for the kernel to start it with: a missing one fails with ENOENT. */
  interpreter?: string
}

/** The processor that is not this runner's, of the two the Convox CLI is built for. */
export function otherArch(arch: string = process.arch): 'x64' | 'arm64' {
  return arch === 'arm64' ? 'x64' : 'arm64'
}

const BASE = 0x400000
const HEADER = 64
const PROGRAM_HEADER = 56

/** write(1, message, length); exit(code), or a jump to itself. */
function machineCode(arch: string, length: number, exitCode: number, hang: boolean): Buffer {
  if (arch === 'x64') {
    const code = Buffer.from([
      ...[0xb8, 1, 0, 0, 0], // mov eax, 1 (write)
      ...[0xbf, 1, 0, 0, 0], // mov edi, 1
      ...[0x48, 0x8d, 0x35, 19, 0, 0, 0], // lea rsi, [rip + 19]: the message, after the code
      ...[0xba, 0, 0, 0, 0], // mov edx, length
      ...[0x0f, 0x05], // syscall
      ...(hang
        ? [0xeb, 0xfe, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90]
        : [0xb8, 60, 0, 0, 0, 0xbf, 0, 0, 0, 0]), // jmp . | mov eax, 60 (exit); mov edi, code
      ...[0x0f, 0x05] // syscall
    ])
    code.writeUInt32LE(length, 18)
    if (!hang) code.writeUInt32LE(exitCode, 30)
    return code
  }
  if (arch === 'arm64') {
    const movz = (register: number, value: number) => 0xd2800000 | (value << 5) | register
    const words = [
      movz(0, 1), // mov x0, #1
      0x10000000 | (7 << 5) | 1, // adr x1, . + 28: the message, after the code
      movz(2, length), // mov x2, #length
      movz(8, 64), // mov x8, #64 (write)
      0xd4000001, // svc #0
      hang ? 0x14000000 : movz(0, exitCode), // b . | mov x0, #code
      movz(8, 93), // mov x8, #93 (exit)
      0xd4000001 // svc #0
    ]
    const code = Buffer.alloc(words.length * 4)
    words.forEach((word, i) => code.writeUInt32LE(word >>> 0, i * 4))
    return code
  }
  throw new Error(`no fake CLI for ${arch}`)
}

export function fakeCli(options: FakeCliOptions = {}): Buffer {
  const arch = options.arch ?? process.arch
  const message = Buffer.from(options.output ?? CLI_OUTPUT)
  const interpreter = options.interpreter ? Buffer.from(`${options.interpreter}\0`) : undefined
  const headers = interpreter ? 2 : 1
  const codeAt = HEADER + headers * PROGRAM_HEADER
  const code = machineCode(arch, message.length, options.exitCode ?? 0, options.hang ?? false)
  const interpreterAt = codeAt + code.length + message.length
  const file = Buffer.concat([Buffer.alloc(codeAt), code, message, interpreter ?? Buffer.alloc(0)])

  file.write('\x7fELF', 0, 'latin1')
  file[4] = 2 // 64-bit
  file[5] = 1 // little-endian
  file[6] = 1 // ELF version
  file.writeUInt16LE(2, 16) // an executable
  file.writeUInt16LE(arch === 'x64' ? 0x3e : 0xb7, 18)
  file.writeUInt32LE(1, 20)
  file.writeBigUInt64LE(BigInt(BASE + codeAt), 24) // entry point
  file.writeBigUInt64LE(BigInt(HEADER), 32) // program headers
  file.writeUInt16LE(HEADER, 52)
  file.writeUInt16LE(PROGRAM_HEADER, 54)
  file.writeUInt16LE(headers, 56)

  const programHeader = (
    at: number,
    type: number,
    flags: number,
    offset: number,
    size: number,
    align: number
  ) => {
    file.writeUInt32LE(type, at)
    file.writeUInt32LE(flags, at + 4)
    file.writeBigUInt64LE(BigInt(offset), at + 8)
    file.writeBigUInt64LE(BigInt(BASE + offset), at + 16)
    file.writeBigUInt64LE(BigInt(BASE + offset), at + 24)
    file.writeBigUInt64LE(BigInt(size), at + 32)
    file.writeBigUInt64LE(BigInt(size), at + 40)
    file.writeBigUInt64LE(BigInt(align), at + 48)
  }
  // PT_INTERP must come before the segment it serves.
  if (interpreter) programHeader(HEADER, 3, 4, interpreterAt, interpreter.length, 1)
  programHeader(HEADER + (headers - 1) * PROGRAM_HEADER, 1, 5, 0, file.length, 0x1000) // PT_LOAD, read + execute
  return file
}

/** A real, dynamically linked executable of this machine, with the section tables a truncation check reads. */
export function realExecutable(): Buffer {
  return fs.readFileSync(fs.existsSync('/bin/true') ? '/bin/true' : '/usr/bin/true')
}
