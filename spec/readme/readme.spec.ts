/**
 * Keeps README.md honest: every ```ts block type-checks against the source (strict compiler
 * options of the repo), the two commands are there, and the reference tables (settings, errors,
 * codes, scope rules) agree with the code.
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { expect } from 'chai'
import ts from 'typescript'

import * as kit from '../../source'

const ROOT = resolve(__dirname, '..', '..')
const README_PATH = join(ROOT, 'README.md')

/**
 * Declarations every ts block may use without importing them: the reader's user store. README
 * says so where it first uses them. No imports here, so blocks can import what they like.
 */
const PRELUDE = `/** A user of the reader's app. */
interface User { user_id: number; username: string; scopes: string[] }
/** The reader's user store. */
declare const users: {
  check(username: unknown, password: unknown): Promise<User | null>
  byId(id: unknown): Promise<User | null>
  /** The user whose credentials a login body holds; throws AuthenticationFailed otherwise. */
  login(body: unknown): Promise<User>
}
`
const PRELUDE_LINES = PRELUDE.split('\n').length - 1

/** A fenced code block of the README. */
interface Block {
  lang: string
  code: string
  /** 1-based README line of the first code line. */
  line: number
}

/** The fenced code blocks of a Markdown text, with their language tag. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = []
  let open: { lang: string; line: number; lines: string[] } | undefined
  for (const [index, text] of markdown.split('\n').entries()) {
    if (open === undefined) {
      const start = /^```(\S*)\s*$/.exec(text)
      if (start) open = { lang: start[1] ?? '', line: index + 2, lines: [] }
    } else if (/^```\s*$/.test(text)) {
      blocks.push({ lang: open.lang, code: open.lines.join('\n'), line: open.line })
      open = undefined
    } else {
      open.lines.push(text)
    }
  }
  if (open !== undefined) {
    throw new Error(`README.md: the code block opened on line ${open.line - 1} is never closed`)
  }
  return blocks
}

/**
 * The body rows (cells trimmed) of the first table after `<!-- marker -->`; `\|` is a literal bar.
 *
 * @throws when the marker or the table is missing.
 */
function table(markdown: string, marker: string): string[][] {
  const start = markdown.indexOf(`<!-- ${marker} -->`)
  if (start === -1) throw new Error(`README.md has no <!-- ${marker} --> marker`)
  const lines = markdown.slice(start).split('\n').slice(1)
  const first = lines.findIndex((line) => line.startsWith('|'))
  if (first === -1) throw new Error(`README.md has no table after <!-- ${marker} -->`)
  const rows: string[][] = []
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break
    rows.push(
      line
        .replace(/\\\|/g, '\u0000')
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.replace(/\u0000/g, '|').trim()),
    )
  }
  return rows
}

/** The row of `rows` whose first cell is exactly `first`. */
function rowOf(rows: readonly string[][], first: string): string[] | undefined {
  return rows.find((cells) => cells[0] === first)
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** How the settings table writes a default value. */
function renderDefault(value: unknown): string | undefined {
  if (typeof value === 'function') return undefined
  if (typeof value === 'string') return `\`'${value}'\``
  return `\`${JSON.stringify(value)}\``
}

/** The type-check of every ts block in one program; diagnostics as readable lines. */
function typeCheck(blocks: readonly Block[]): string[] {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path))
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT)
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    baseUrl: ROOT,
    paths: { 'koa-jwt-kit': [join(ROOT, 'source', 'index.ts')] },
  }
  // Virtual files inside the repo, so 'koa', '@koa/router', ... resolve from its node_modules
  // and the files are CommonJS like the rest of the package. Nothing is written to disk.
  const dir = join(ROOT, 'spec', 'readme', '__readme_blocks__')
  const files = new Map<string, { block: number; readmeLine: number }>()
  const texts = new Map<string, string>()
  blocks.forEach((block, index) => {
    const name = join(dir, `block-${String(index + 1).padStart(2, '0')}.ts`)
    files.set(name, { block: index + 1, readmeLine: block.line })
    texts.set(name, `${PRELUDE}${block.code}\nexport {}\n`)
  })
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
      return `${diagnostic.file?.fileName ?? '(program)'}: TS${diagnostic.code} ${message}`
    }
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
    const blockLine = line + 1 - PRELUDE_LINES
    return blockLine < 1
      ? `prelude line ${line + 1}: TS${diagnostic.code} ${message}`
      : `ts block #${where.block}, line ${blockLine}:${character + 1} (README.md:${where.readmeLine + blockLine - 1}): TS${diagnostic.code} ${message}`
  })
}

describe('README.md', function () {
  const readme = readFileSync(README_PATH, 'utf8')
  const blocks = fencedBlocks(readme)
  const tsBlocks = blocks.filter((block) => block.lang === 'ts')

  it('shows the command that installs and starts the demo app', function () {
    expect(readme).to.include('```sh\nnpm install && npm start\n```')
  })

  it('shows the command that installs and runs every test', function () {
    expect(readme).to.include('```sh\nnpm ci && npm test\n```')
  })

  it('labels every code block ts, sh, json or text', function () {
    const unlabelled = blocks
      .filter((block) => !['ts', 'sh', 'json', 'text'].includes(block.lang))
      .map((block) => `README.md:${block.line - 1} \`\`\`${block.lang}`)
    expect(unlabelled).to.deep.equal([])
  })

  it('holds valid JSON in every json block', function () {
    const invalid = blocks
      .filter((block) => block.lang === 'json')
      .filter((block) => {
        try {
          JSON.parse(block.code)
          return false
        } catch {
          return true
        }
      })
      .map((block) => `README.md:${block.line}`)
    expect(invalid).to.deep.equal([])
  })

  it('links only to headings that exist', function () {
    const prose = readme.replace(/^```[\s\S]*?^```/gm, '')
    const anchors = new Set(
      prose
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => slug(line.replace(/^#+ /, ''))),
    )
    const links = [...prose.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1] ?? '')
    expect(links.length, 'in-page links').to.be.at.least(10)
    expect(links.filter((link) => !anchors.has(link))).to.deep.equal([])
  })

  it('type-checks every ts block against the source with the repo compiler options', function () {
    this.timeout(20_000)
    expect(tsBlocks.length, 'ts blocks found').to.be.at.least(25)
    const problems = typeCheck(tsBlocks)
    expect(problems, `\n${problems.join('\n')}\n`).to.deep.equal([])
  })

  it('has a configuration row for every setting, with the default DEFAULTS holds', function () {
    const rows = table(readme, 'settings-table')
    const problems: string[] = []
    for (const name of kit.SETTING_NAMES) {
      const cells = rowOf(rows, `\`${name}\``)
      if (cells === undefined) {
        problems.push(`${name}: no table row`)
        continue
      }
      const expected = renderDefault(kit.DEFAULTS[name])
      const actual = cells[2] ?? ''
      if (expected !== undefined && !actual.startsWith(expected)) {
        problems.push(`${name}: default cell "${actual}" does not start with ${expected}`)
      }
    }
    expect(problems).to.deep.equal([])
  })

  it('names every alias', function () {
    for (const [alias, name] of Object.entries(kit.ALIASES)) {
      expect(readme).to.include(`\`${alias}\` = \`${name}\``)
    }
  })

  it('has an error row for every exported error class, with its status, code and message', function () {
    const classes = Object.entries(kit).filter(
      (entry): entry is [string, typeof kit.KoaJwtError] =>
        typeof entry[1] === 'function' &&
        (entry[1] === kit.KoaJwtError || entry[1].prototype instanceof kit.KoaJwtError),
    )
    expect(classes.length).to.be.at.least(27)
    const rows = table(readme, 'errors-table')
    const problems: string[] = []
    for (const [name, ErrorClass] of classes) {
      const cells = rowOf(rows, `\`${name}\``)
      if (cells === undefined) {
        problems.push(`${name}: no table row`)
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
    const rows = table(readme, 'codes-table')
    const problems: string[] = []
    for (const [code, status] of Object.entries(kit.ERROR_CODES)) {
      const cells = rowOf(rows, `\`${code}\``)
      if (cells === undefined) problems.push(`${code}: no table row`)
      else if (cells[1] !== String(status)) problems.push(`${code}: status ${cells[1]} != ${status}`)
    }
    expect(problems).to.deep.equal([])
  })

  it('states the scope rules as validateSingleScope applies them (reference §5)', function () {
    const rows = table(readme, 'scope-rules')
    expect(rows.length, 'scope rule rows').to.be.at.least(20)
    const problems: string[] = []
    for (const cells of rows) {
      const [required, granted, allActions, verdict] = cells
      const line = cells.join(' | ')
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
