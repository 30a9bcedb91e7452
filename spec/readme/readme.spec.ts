/**
 * Keeps README.md and docs/*.md honest: every ```ts block type-checks against the source (strict
 * compiler options of the repo; README's Quick start also with the consumer tsconfig of
 * docs/tsconfig.md, and without the users prelude), the links resolve, the README stays short and
 * shows the two commands, and the reference tables (settings, handlers, errors, codes, warnings,
 * scope rules) agree with the code, in whichever page holds them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

import { expect } from 'chai'
import ts from 'typescript'

import * as kit from '../../source'
import {
  anchors,
  blockSource,
  documentationFiles,
  fencedBlocks,
  links,
  markedTable,
  readDoc,
  ROOT,
  type Block,
} from '../helpers/markdown'

/** Most lines README.md may have: it is the ten-minute read, the guides are in docs/. */
const README_MAX_LINES = 200

/** The body rows of the `<!-- marker -->` table, in the one documentation file that holds it. */
function table(marker: string): { file: string; rows: string[][] } {
  const found = documentationFiles().flatMap((file) => {
    const rows = markedTable(readDoc(file), marker)
    return rows === undefined ? [] : [{ file, rows }]
  })
  if (found.length === 0) throw new Error(`no documentation file has a <!-- ${marker} --> table`)
  if (found.length > 1) {
    throw new Error(`<!-- ${marker} --> is in several files: ${found.map((entry) => entry.file).join(', ')}`)
  }
  return found[0] as { file: string; rows: string[][] }
}

/** The row of `rows` whose first cell is exactly `first`. */
function rowOf(rows: readonly string[][], first: string): string[] | undefined {
  return rows.find((cells) => cells[0] === first)
}

/** How the settings table writes a default value. */
function renderDefault(value: unknown): string | undefined {
  if (typeof value === 'function') return undefined
  if (typeof value === 'string') return `\`'${value}'\``
  return `\`${JSON.stringify(value)}\``
}

/** The `.ts` files under a directory, recursively. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

/** The compiler options of the repo (tsconfig.json), for checking blocks. */
function repoOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path))
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'))
  return ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT).options
}

/** The compiler options of the consumer tsconfig shown in docs/tsconfig.md (its first json block). */
function consumerOptions(): { json: Record<string, unknown>; options: ts.CompilerOptions } {
  const block = fencedBlocks(readDoc('docs/tsconfig.md'), 'docs/tsconfig.md').find((b) => b.lang === 'json')
  if (block === undefined) throw new Error('docs/tsconfig.md has no json block')
  const json = JSON.parse(block.code) as { compilerOptions?: Record<string, unknown> }
  const converted = ts.convertCompilerOptionsFromJson(json.compilerOptions ?? {}, ROOT)
  if (converted.errors.length > 0) {
    throw new Error(converted.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'))
  }
  return { json: json.compilerOptions ?? {}, options: converted.options }
}

/**
 * The type-check of ts blocks in one program, `koa-jwt-kit` mapped to source/index.ts; the
 * diagnostics as readable lines naming `file:line:column` of the Markdown file.
 */
function typeCheck(blocks: readonly Block[], base: ts.CompilerOptions): string[] {
  const options: ts.CompilerOptions = {
    ...base,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    baseUrl: ROOT,
    paths: { 'koa-jwt-kit': [join(ROOT, 'source', 'index.ts')] },
  }
  // Virtual files inside the repo, so 'koa', '@koa/router', ... resolve from its node_modules
  // and the files are CommonJS like the rest of the package. Nothing is written to disk.
  const dir = join(ROOT, 'spec', 'readme', '__doc_blocks__')
  const files = new Map<string, { block: Block; index: number; preludeLines: number }>()
  const texts = new Map<string, string>()
  const counters = new Map<string, number>()
  for (const block of blocks) {
    const index = (counters.get(block.file) ?? 0) + 1
    counters.set(block.file, index)
    const name = join(dir, `${block.file.replace(/[/.]/g, '_')}-${String(index).padStart(2, '0')}.ts`)
    const { text, preludeLines } = blockSource(block)
    files.set(name, { block, index, preludeLines })
    texts.set(name, text)
  }
  const host = ts.createCompilerHost(options, true)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = texts.get(fileName)
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion, true)
    return getSourceFile(fileName, languageVersion, onError, shouldCreate)
  }
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (fileName) => texts.has(fileName) || fileExists(fileName)
  const readFile = host.readFile.bind(host)
  host.readFile = (fileName) => texts.get(fileName) ?? readFile(fileName)

  const program = ts.createProgram({ rootNames: [...files.keys()], options, host })
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...[...files.keys()].flatMap((name) => {
      const source = program.getSourceFile(name)
      if (source === undefined) throw new Error(`${name} was not part of the program`)
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    }),
  ]
  return diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ')
    const where = diagnostic.file && files.get(diagnostic.file.fileName)
    if (diagnostic.file === undefined || diagnostic.start === undefined || where === undefined) {
      const file = diagnostic.file ? relative(ROOT, diagnostic.file.fileName) : '(program)'
      return `${file}: TS${diagnostic.code} ${message}`
    }
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
    const blockLine = line + 1 - where.preludeLines
    const block = `${where.block.file} ts block #${where.index}`
    return blockLine < 1
      ? `${block}, prelude line ${line + 1}: TS${diagnostic.code} ${message}`
      : `${where.block.file}:${where.block.line + blockLine - 1}:${character + 1} (${block}): TS${diagnostic.code} ${message}`
  })
}

describe('documentation: README.md and docs/*.md', function () {
  const files = documentationFiles()
  const texts = new Map(files.map((file) => [file, readDoc(file)]))
  const blocks = files.flatMap((file) => fencedBlocks(texts.get(file) ?? '', file))
  const readme = texts.get('README.md') ?? ''
  const readmeBlocks = blocks.filter((block) => block.file === 'README.md')

  describe('README.md', function () {
    it('shows the command that installs and starts the demo app', function () {
      expect(readme).to.include('```sh\nnpm install && npm start\n```')
    })

    it('shows the command that installs and runs every test', function () {
      expect(readme).to.include('```sh\nnpm ci && npm test\n```')
    })

    it(`stays short (under ${README_MAX_LINES} lines)`, function () {
      expect(readme.split('\n').length).to.be.below(README_MAX_LINES)
    })

    it('has no § reference', function () {
      const lines = readme
        .split('\n')
        .map((text, index) => ({ text, line: index + 1 }))
        .filter(({ text }) => text.includes('§'))
        .map(({ text, line }) => `README.md:${line}: ${text}`)
      expect(lines).to.deep.equal([])
    })

    it('has a Quick start that needs no prelude: every ts block compiles without it', function () {
      const quickStart = readmeBlocks.filter((block) => block.lang === 'ts')
      expect(quickStart.length, 'ts blocks in README.md').to.be.at.least(1)
      expect(quickStart.every((block) => block.noPrelude === true)).to.equal(true)
      const code = quickStart.map((block) => block.code).join('\n')
      expect(code).to.match(/new Initialize(<\w+>)?\(app, \{/)
      for (const needle of ['secret', 'authenticate', 'retrieveUser', '.protected()', '.scoped(', 'app.listen(']) {
        expect(code, needle).to.include(needle)
      }
    })

    it('has a Quick start that compiles with the consumer tsconfig of docs/tsconfig.md', function () {
      this.timeout(30_000)
      const { json, options } = consumerOptions()
      expect(json['strict'], 'strict').to.equal(true)
      expect(String(json['module']).toLowerCase(), 'module').to.equal('nodenext')
      expect(String(json['moduleResolution']).toLowerCase(), 'moduleResolution').to.equal('nodenext')
      const problems = typeCheck(
        readmeBlocks.filter((block) => block.lang === 'ts'),
        options,
      )
      expect(problems, `\n${problems.join('\n')}\n`).to.deep.equal([])
    })

    it('links to every page of docs/', function () {
      const targets = new Set(links(readme).map((link) => link.target.split('#')[0]))
      const missing = files.filter((file) => file.startsWith('docs/') && !targets.has(file))
      expect(missing).to.deep.equal([])
    })
  })

  describe('docs/', function () {
    it('has the pages the README promises', function () {
      for (const page of [
        'README.md',
        'configuration.md',
        'endpoints.md',
        'protecting-routes.md',
        'scopes.md',
        'refresh-tokens.md',
        'cookies.md',
        'errors.md',
        'security.md',
        'migrating.md',
        'verify-cache.md',
        'tsconfig.md',
      ]) {
        expect(files, page).to.include(`docs/${page}`)
      }
    })

    it('lists every page in its index, docs/README.md', function () {
      const targets = new Set(links(texts.get('docs/README.md') ?? '').map((link) => link.target.split('#')[0]))
      const missing = files
        .filter((file) => file.startsWith('docs/') && file !== 'docs/README.md')
        .filter((file) => !targets.has(file.slice('docs/'.length)))
      expect(missing).to.deep.equal([])
    })

    it('cites no § but RFC sections', function () {
      const lines = files
        .filter((file) => file !== 'README.md')
        .flatMap((file) =>
          (texts.get(file) ?? '')
            .split('\n')
            .map((text, index) => ({ text, where: `${file}:${index + 1}` }))
            .filter(({ text }) => text.replace(/RFC \d+ §[\d.]+/g, '').includes('§')),
        )
        .map(({ text, where }) => `${where}: ${text}`)
      expect(lines).to.deep.equal([])
    })
  })

  describe('every file', function () {
    it('labels every code block ts, sh, json or text', function () {
      const unlabelled = blocks
        .filter((block) => !['ts', 'sh', 'json', 'text'].includes(block.lang))
        .map((block) => `${block.file}:${block.line - 1} \`\`\`${block.lang}`)
      expect(unlabelled).to.deep.equal([])
    })

    it('holds valid JSON in every json block', function () {
      const invalid = blocks
        .filter((block) => block.lang === 'json')
        .flatMap((block) => {
          try {
            JSON.parse(block.code)
            return []
          } catch (error) {
            return [`${block.file}:${block.line}: ${(error as Error).message}`]
          }
        })
      expect(invalid).to.deep.equal([])
    })

    it('links only to files and headings that exist', function () {
      const problems: string[] = []
      for (const file of files) {
        for (const { target, line } of links(texts.get(file) ?? '')) {
          if (/^[a-z]+:/i.test(target)) continue // https:, mailto:
          const [path = '', anchor] = target.split('#')
          const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURI(path))
          const where = `${file}:${line}: ${target}`
          if (!resolved.startsWith(ROOT) || !existsSync(resolved)) {
            problems.push(`${where}: no such file`)
            continue
          }
          if (anchor === undefined) continue
          if (!resolved.endsWith('.md')) {
            problems.push(`${where}: an anchor into a file that is not Markdown`)
            continue
          }
          if (!anchors(readFileSync(resolved, 'utf8')).has(anchor)) problems.push(`${where}: no such heading`)
        }
      }
      expect(problems).to.deep.equal([])
    })

    it('type-checks every ts block against the source with the repo compiler options', function () {
      this.timeout(60_000)
      const tsBlocks = blocks.filter((block) => block.lang === 'ts')
      expect(tsBlocks.length, 'ts blocks found').to.be.at.least(30)
      const problems = typeCheck(tsBlocks, repoOptions())
      expect(problems, `\n${problems.join('\n')}\n`).to.deep.equal([])
    })
  })

  describe('reference tables', function () {
    it('has a settings row for every setting, with the default DEFAULTS holds', function () {
      const { file, rows } = table('settings-table')
      const problems: string[] = []
      for (const name of kit.SETTING_NAMES) {
        const cells = rowOf(rows, `\`${name}\``)
        if (cells === undefined) {
          problems.push(`${file}: ${name}: no table row`)
          continue
        }
        const expected = renderDefault(kit.DEFAULTS[name])
        const actual = cells[2] ?? ''
        if (expected !== undefined && !actual.startsWith(expected)) {
          problems.push(`${file}: ${name}: default cell "${actual}" does not start with ${expected}`)
        }
      }
      expect(problems).to.deep.equal([])
    })

    it('names every alias', function () {
      const all = [...texts.values()].join('\n')
      for (const [alias, name] of Object.entries(kit.ALIASES)) {
        expect(all).to.include(`\`${alias}\` = \`${name}\``)
      }
    })

    it('has a handler row for every handler', function () {
      const { file, rows } = table('handlers-table')
      const missing = kit.HANDLER_NAMES.filter((name) => rowOf(rows, `\`${name}\``) === undefined)
      expect(missing, file).to.deep.equal([])
    })

    it('has an error row for every exported error class, with its status, code and message', function () {
      const classes = Object.entries(kit).filter(
        (entry): entry is [string, typeof kit.KoaJwtError] =>
          typeof entry[1] === 'function' &&
          (entry[1] === kit.KoaJwtError || entry[1].prototype instanceof kit.KoaJwtError),
      )
      expect(classes.length).to.be.at.least(27)
      const { file, rows } = table('errors-table')
      const problems: string[] = []
      for (const [name, ErrorClass] of classes) {
        const cells = rowOf(rows, `\`${name}\``)
        if (cells === undefined) {
          problems.push(`${file}: ${name}: no table row`)
          continue
        }
        if (cells[1] !== String(ErrorClass.status)) problems.push(`${name}: status ${cells[1]} != ${ErrorClass.status}`)
        if (cells[2] !== `\`${ErrorClass.code}\``) problems.push(`${name}: code ${cells[2]} != ${ErrorClass.code}`)
        if (cells[3] !== `\`${ErrorClass.defaultMessage}\``) {
          problems.push(`${name}: message ${cells[3]} != ${ErrorClass.defaultMessage}`)
        }
      }
      expect(problems).to.deep.equal([])
    })

    it('lists every error code with its status', function () {
      const { file, rows } = table('codes-table')
      const problems: string[] = []
      for (const [code, status] of Object.entries(kit.ERROR_CODES)) {
        const cells = rowOf(rows, `\`${code}\``)
        if (cells === undefined) problems.push(`${file}: ${code}: no table row`)
        else if (cells[1] !== String(status)) problems.push(`${file}: ${code}: status ${cells[1]} != ${status}`)
      }
      expect(problems).to.deep.equal([])
    })

    it('lists every process warning code the source emits', function () {
      const { file, rows } = table('warnings-table')
      const codes = new Set(
        sourceFiles(join(ROOT, 'source')).flatMap((path) =>
          [...readFileSync(path, 'utf8').matchAll(/'(KOA_JWT_[A-Z_]+)'/g)].map((match) => match[1] ?? ''),
        ),
      )
      expect(codes.size, 'warning codes in source/').to.be.at.least(1)
      const missing = [...codes].filter((code) => rowOf(rows, `\`${code}\``) === undefined)
      expect(missing, file).to.deep.equal([])
    })

    it('states the scope rules as validateSingleScope applies them', function () {
      const { file, rows } = table('scope-rules')
      expect(rows.length, 'scope rule rows').to.be.at.least(20)
      const problems: string[] = []
      for (const cells of rows) {
        const [required, granted, allActions, verdict] = cells
        const line = `${file}: ${cells.join(' | ')}`
        // The required scope is written as is (`""` for the empty scope), the user's as a JSON list.
        const written = (required ?? '').replace(/`/g, '')
        const requiredScope = written === '""' ? '' : written
        const userScopes = JSON.parse((granted ?? '').replace(/`/g, '')) as unknown[]
        const requireAllActions = allActions === 'yes'
        if (allActions !== 'yes' && allActions !== 'no') problems.push(`${line}: requireAllActions must be yes or no`)
        const expected = verdict === 'yes'
        if (verdict !== 'yes' && verdict !== 'no') problems.push(`${line}: verdict must be yes or no`)
        const actual = kit.validateSingleScope(requiredScope, userScopes, requireAllActions)
        if (actual !== expected) problems.push(`${line}: validateSingleScope says ${actual}`)
      }
      expect(problems).to.deep.equal([])
    })
  })
})
