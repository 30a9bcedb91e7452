/**
 * Markdown helpers of the documentation specs: the fenced code blocks of README.md and docs/*.md,
 * the prelude every `ts` block may rely on (the reader's user store), headings, links and the
 * marked tables.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

/** The repository root. */
export const ROOT = resolve(__dirname, '..', '..')

/**
 * Declarations every ts block may use without importing them: the reader's user store. The docs
 * say so where they first use them. No imports here, so blocks can import what they like.
 */
export const PRELUDE = `/** A user of the reader's app. */
interface User { user_id: number; username: string; scopes: string[] }
/** The reader's user store. */
declare const users: {
  check(username: unknown, password: unknown): Promise<User | null>
  byId(id: unknown): Promise<User | null>
  /** The user whose credentials a login body holds; throws AuthenticationFailed otherwise. */
  login(body: unknown): Promise<User>
}
`

/** How many lines the prelude adds in front of a block. */
export const PRELUDE_LINES = PRELUDE.split('\n').length - 1

/**
 * Written on the line before a ts block (blank lines between are allowed), it makes the block
 * compile without {@link PRELUDE}. README.md needs no marker: none of its blocks gets the prelude.
 */
export const NO_PRELUDE = '<!-- no-prelude -->'

/** A fenced code block of a Markdown file. */
export interface Block {
  /** The file, relative to the repository root (`README.md`, `docs/scopes.md`). */
  file: string
  lang: string
  code: string
  /** 1-based line of the first code line in its file. */
  line: number
  /** True when the block compiles without {@link PRELUDE}: see {@link NO_PRELUDE}. */
  noPrelude?: boolean
}

/** The fenced code blocks of a Markdown text, with their language tag. */
export function fencedBlocks(markdown: string, file = 'README.md'): Block[] {
  const blocks: Block[] = []
  const lines = markdown.split('\n')
  let open: { lang: string; line: number; lines: string[]; noPrelude: boolean } | undefined
  for (const [index, text] of lines.entries()) {
    if (open === undefined) {
      const start = /^```(\S*)\s*$/.exec(text)
      if (start) {
        const before = lines.slice(0, index).reverse().find((line) => line.trim() !== '')
        const noPrelude = file === 'README.md' || before?.trim() === NO_PRELUDE
        open = { lang: start[1] ?? '', line: index + 2, lines: [], noPrelude }
      }
    } else if (/^```\s*$/.test(text)) {
      const block: Block = { file, lang: open.lang, code: open.lines.join('\n'), line: open.line }
      if (open.noPrelude) block.noPrelude = true
      blocks.push(block)
      open = undefined
    } else {
      open.lines.push(text)
    }
  }
  if (open !== undefined) {
    throw new Error(`${file}: the code block opened on line ${open.line - 1} is never closed`)
  }
  return blocks
}

/**
 * The TypeScript module a ts block stands for: the prelude (unless the block opts out), the code,
 * and `export {}` so that every block is a module of its own.
 */
export function blockSource(block: Block): { text: string; preludeLines: number } {
  const prelude = block.noPrelude === true ? '' : PRELUDE
  return {
    text: `${prelude}${block.code}\nexport {}\n`,
    preludeLines: block.noPrelude === true ? 0 : PRELUDE_LINES,
  }
}

/** README.md and every docs/*.md, as paths relative to the root, README first. */
export function documentationFiles(): string[] {
  const docs = join(ROOT, 'docs')
  const guides = existsSync(docs)
    ? readdirSync(docs)
        .filter((name) => name.endsWith('.md'))
        .sort()
        .map((name) => relative(ROOT, join(docs, name)))
    : []
  return ['README.md', ...guides]
}

/** Every fenced block of README.md and docs/*.md. */
export function documentationBlocks(): Block[] {
  return documentationFiles().flatMap((file) => fencedBlocks(readDoc(file), file))
}

/** The text of a file of the repository (`docs/scopes.md`). */
export function readDoc(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8')
}

/** The text without its fenced code blocks (each line kept, blanked) and without inline code. */
export function prose(markdown: string): string {
  let inBlock = false
  return markdown
    .split('\n')
    .map((line) => {
      if (/^```/.test(line)) {
        inBlock = !inBlock
        return ''
      }
      return inBlock ? '' : line.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length))
    })
    .join('\n')
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The anchors of a file's headings, numbered like GitHub's when two headings share one. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  let inBlock = false
  for (const line of markdown.split('\n')) {
    if (/^```/.test(line)) inBlock = !inBlock
    if (inBlock || !/^#{1,6} /.test(line)) continue
    const base = slug(line.replace(/^#+ /, ''))
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  return result
}

/** A link of a Markdown file: its target as written, and the 1-based line. */
export interface Link {
  target: string
  line: number
}

/** The inline links (`[text](target)`) outside code, images included. */
export function links(markdown: string): Link[] {
  return prose(markdown)
    .split('\n')
    .flatMap((text, index) =>
      [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => ({ target: match[1] ?? '', line: index + 1 })),
    )
}

/**
 * The body rows (cells trimmed) of the first table after `<!-- marker -->`; `\|` is a literal bar.
 * Undefined when the text has no such marker.
 *
 * @throws when the marker is there but no table follows it.
 */
export function markedTable(markdown: string, marker: string): string[][] | undefined {
  const start = markdown.indexOf(`<!-- ${marker} -->`)
  if (start === -1) return undefined
  const lines = markdown.slice(start).split('\n').slice(1)
  const first = lines.findIndex((line) => line.startsWith('|'))
  if (first === -1) throw new Error(`no table after <!-- ${marker} -->`)
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
