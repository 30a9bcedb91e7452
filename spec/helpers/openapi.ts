/**
 * Checks of OpenAPI documents for the specs: validation against the OpenAPI 3.1 schema, and live
 * answers against the document's schemas (JSON Schema 2020-12, compiled by ajv in strict mode).
 */
import { Validator } from '@seriousme/openapi-schema-validator'
import Ajv2020 from 'ajv/dist/2020'
import { expect } from 'chai'
import type request from 'supertest'

import type { OpenApiDocument, OpenApiOperation, OpenApiResponse } from '../../source'

type Res = request.Response
/** The verbs the checked operations use. */
export type Verb = 'get' | 'post'

/** Validates a document against the OpenAPI 3.1 schema, and resolves its `$ref`s. */
export async function validate(doc: OpenApiDocument): Promise<Record<string, unknown>> {
  const validator = new Validator()
  const result = await validator.validate(structuredClone(doc) as Record<string, unknown>)
  expect(result.errors, JSON.stringify(result.errors, null, 1)).to.equal(undefined)
  expect(result.valid).to.equal(true)
  expect(validator.version).to.equal('3.1')
  return validator.resolveRefs()
}

/** A strict JSON Schema 2020-12 compiler: a schema that is not valid 2020-12 fails to compile. */
export function compiler(): Ajv2020 {
  return new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true })
}

/** The operation of `verb path`, failing when the document does not have it. */
export function operationOf(doc: Record<string, unknown>, verb: Verb, path: string): OpenApiOperation {
  const paths = doc['paths'] as Record<string, Record<string, OpenApiOperation>>
  const operation = paths[path]?.[verb]
  expect(operation, `${verb.toUpperCase()} ${path} in the document`).to.not.equal(undefined)
  return operation as OpenApiOperation
}

/**
 * Checks a live answer against the (resolved) document: its status is documented for the
 * operation, its JSON body matches the documented schema, its documented headers are there.
 */
export function conforms(resolved: Record<string, unknown>, verb: Verb, path: string, res: Res): void {
  const what = `${verb.toUpperCase()} ${path} → ${res.status} ${JSON.stringify(res.body)}`
  const responses = operationOf(resolved, verb, path).responses ?? {}
  const documented = responses[String(res.status)] as OpenApiResponse | undefined
  expect(documented, `${what}: status documented`).to.not.equal(undefined)
  if (res.status !== 304) {
    const type = String(res.headers['content-type']).split(';')[0] ?? ''
    const schema = documented?.content?.[type]?.schema
    expect(schema, `${what}: ${type} body documented`).to.not.equal(undefined)
    const check = compiler().compile(schema as object)
    expect(check(res.body), `${what}: ${JSON.stringify(check.errors)}`).to.equal(true)
  } else {
    expect(documented?.content, what).to.equal(undefined)
  }
  for (const header of Object.keys(documented?.headers ?? {})) {
    expect(res.headers[header.toLowerCase()], `${what}: header ${header}`).to.not.equal(undefined)
  }
}
