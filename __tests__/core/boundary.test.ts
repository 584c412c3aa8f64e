import { describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

/**
 * src/core is the Convox logic any front end can use: it imports nothing from @actions/*, nothing
 * of ours outside src/core (src/action, src/toolkit, src/index.ts), and does not read process.env;
 * what it needs from the runner comes in as arguments and interfaces. eslint.config.js says the
 * same to an editor; this says it in `npm test`, for dynamic imports and every file included.
 */

const root = path.resolve(import.meta.dirname, '../..')
const core = path.join(root, 'src', 'core')

/** What in one source file crosses the boundary, as `line: what`. */
function crossings(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const at = (node: ts.Node, what: string) =>
    found.push(`${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`)
  const checkSpecifier = (node: ts.Node, specifier: string) => {
    if (specifier.startsWith('@actions/')) return at(node, `imports ${specifier}`)
    if (!specifier.startsWith('.')) return
    const target = path.resolve(path.dirname(file), specifier)
    if (path.relative(core, target).startsWith('..')) at(node, `imports ${path.relative(root, target)}`)
    else if (!fs.existsSync(target)) at(node, `imports ${specifier}, which does not exist`)
  }
  const isProcess = (node: ts.Node) =>
    (ts.isIdentifier(node) && node.text === 'process') ||
    (ts.isPropertyAccessExpression(node) && node.name.text === 'process')
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) checkSpecifier(node, node.moduleSpecifier.text)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments
      if (argument && ts.isStringLiteralLike(argument)) checkSpecifier(node, argument.text)
      else at(node, 'imports a computed module name')
    } else if (
      ts.isPropertyAccessExpression(node) &&
      node.name.text === 'env' &&
      isProcess(node.expression)
    ) {
      at(node, 'reads process.env')
    } else if (
      ts.isElementAccessExpression(node) &&
      isProcess(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === 'env'
    ) {
      at(node, 'reads process.env')
    } else if (
      ts.isVariableDeclaration(node) &&
      node.initializer &&
      isProcess(node.initializer) &&
      ts.isObjectBindingPattern(node.name) &&
      node.name.elements.some(e => (e.propertyName ?? e.name).getText(source) === 'env')
    ) {
      at(node, 'reads process.env')
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

describe('the core boundary', () => {
  it('src/core imports nothing from @actions/* or from outside src/core, and reads no process.env', () => {
    const files = fs
      .readdirSync(core, { recursive: true, encoding: 'utf8' })
      .filter(name => name.endsWith('.ts'))
      .map(name => path.join(core, name))
    expect(files.length).toBeGreaterThan(15)
    const found = files.flatMap(file =>
      crossings(file, fs.readFileSync(file, 'utf8')).map(c => `${path.relative(root, file)}:${c}`)
    )
    expect(found).toEqual([])
  })

  it('finds each way of crossing it', () => {
    const file = path.join(core, 'example.ts')
    const text = [
      "import { getInput } from '@actions/core'",
      "import type { Inputs } from '../action/inputs.ts'",
      "export { toolCacheDownloader } from '../toolkit/tool-cache.ts'",
      "const tc = await import('@actions/tool-cache')",
      'const name = "x"; await import(name)',
      'const home = process.env.HOME',
      "const temp = globalThis.process['env'].RUNNER_TEMP",
      'const { env } = process',
      "import { join } from 'node:path'",
      "import sodium from 'libsodium-wrappers'",
      "import { ConvoxError } from './errors.ts'",
      "import { cliAsset } from './cli-install/release.ts'",
      "import { nothing } from './nothing.ts'",
      '// process.env in a comment is not a read'
    ].join('\n')
    expect(crossings(file, text)).toEqual([
      '1: imports @actions/core',
      '2: imports src/action/inputs.ts',
      '3: imports src/toolkit/tool-cache.ts',
      '4: imports @actions/tool-cache',
      '5: imports a computed module name',
      '6: reads process.env',
      '7: reads process.env',
      '8: reads process.env',
      '13: imports ./nothing.ts, which does not exist'
    ])
  })
})
