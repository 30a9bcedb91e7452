'use strict'
/**
 * Summaries of a V8 CPU profile (`node --cpu-prof`) as Markdown: where a server's CPU time went,
 * by component (koa-jwt-kit file, npm package, Node internals, native work such as `writev` and the
 * garbage collector) and by function, self time and inclusive time.
 */
const path = require('node:path')

/** What a call frame belongs to: a koa-jwt-kit file, an npm package, Node itself, or a native entry. */
function componentOf(frame) {
  const url = frame.url
  if (url === '') return frame.functionName || '(anonymous native)'
  const modules = url.lastIndexOf('node_modules/')
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const dist = url.lastIndexOf('/dist/')
  if (dist !== -1) return `koa-jwt-kit ${url.slice(dist + 1)}`
  if (url.startsWith('node:')) return 'Node.js internals (JS)'
  return path.basename(url)
}

const frameName = (frame) =>
  `${frame.functionName || '(anonymous)'} ${frame.url ? `${componentOf(frame)}:${frame.lineNumber + 1}` : '(native)'}`

/**
 * Self and inclusive time per component and per function. `(idle)` (the process waiting, e.g.
 * before the load starts) is left out of the total.
 *
 * @returns `{ totalMs, components, functions, inclusive }`, each list `[name, ms]`, largest first.
 */
function summarize(profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const selfByNode = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const components = new Map()
  const functions = new Map()
  const inclusive = new Map()
  let total = 0
  for (const [id, micros] of selfByNode) {
    const node = nodes.get(id)
    if (node.callFrame.functionName === '(idle)') continue
    total += micros
    const component = componentOf(node.callFrame)
    components.set(component, (components.get(component) ?? 0) + micros)
    const name = frameName(node.callFrame)
    functions.set(name, (functions.get(name) ?? 0) + micros)
    // Inclusive time: once per distinct function on the sampled stack (recursion counted once).
    const seen = new Set()
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frameKey = frameName(nodes.get(at).callFrame)
      if (seen.has(frameKey)) continue
      seen.add(frameKey)
      inclusive.set(frameKey, (inclusive.get(frameKey) ?? 0) + micros)
    }
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]).map(([name, us]) => [name, us / 1000])
  return { totalMs: total / 1000, components: sorted(components), functions: sorted(functions), inclusive: sorted(inclusive) }
}

/**
 * Markdown tables of a summary.
 *
 * @param requests - requests served while profiled, to show µs per request (optional).
 * @param match - a RegExp selecting the inclusive-time rows to show (default: koa-jwt-kit,
 *   jsonwebtoken, jws, koa-body, co-body, raw-body, type-is and the response path).
 */
function renderSummary(summary, { requests, top = 25, match } = {}) {
  const { markdownTable } = require('./common')
  const perRequest = (ms) => (requests > 0 ? ((ms * 1000) / requests).toFixed(1) : '—')
  const share = (ms) => `${((100 * ms) / summary.totalMs).toFixed(1)}%`
  const rows = (list) => list.map(([name, ms]) => [name, share(ms), perRequest(ms)])
  const wanted =
    match ?? /koa-jwt-kit|jsonwebtoken|jws |jwa |koa-body|co-body|raw-body|type-is|Hmac|respond |writev/
  const inclusive = summary.inclusive.filter(([name]) => wanted.test(name)).slice(0, top)
  return [
    `Busy time profiled: ${summary.totalMs.toFixed(0)} ms` +
      (requests > 0 ? ` for ${requests} requests (${perRequest(summary.totalMs)} µs of CPU per request).` : '.'),
    '',
    'Self time by component:',
    '',
    markdownTable(['Component', 'Share', 'µs/request'], rows(summary.components.slice(0, top)), ['l', 'r', 'r']),
    '',
    'Self time by function:',
    '',
    markdownTable(['Function', 'Share', 'µs/request'], rows(summary.functions.slice(0, top)), ['l', 'r', 'r']),
    '',
    'Inclusive time of the login/verify path (a function and everything it calls; async work resumed',
    'from the microtask queue is counted under the function that resumed it):',
    '',
    markdownTable(['Function', 'Share', 'µs/request'], rows(inclusive), ['l', 'r', 'r']),
  ].join('\n')
}

module.exports = { componentOf, renderSummary, summarize }
