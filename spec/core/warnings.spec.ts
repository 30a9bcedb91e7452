import { expect } from 'chai'

import { resetWarnings, warn, warnOnce, WARNING_TYPE } from '../../source/core/warnings'
import { warningsDuring } from '../helpers/warnings'

describe('core/warnings', () => {
  describe('warnOnce()', () => {
    it('emits a process warning of type KoaJwtKitWarning with the code', async () => {
      const warnings = await warningsDuring(() => warnOnce('KOA_JWT_TEST', 'something to say'))
      expect(warnings).to.deep.equal([
        { name: 'KoaJwtKitWarning', code: 'KOA_JWT_TEST', message: 'something to say' },
      ])
      expect(WARNING_TYPE).to.equal('KoaJwtKitWarning')
    })

    it('delivers on the next tick, not synchronously', async () => {
      let during = -1
      const warnings = await warningsDuring(() => {
        const seen: unknown[] = []
        const listener = (warning: Error): void => {
          seen.push(warning)
        }
        process.on('warning', listener)
        warnOnce('KOA_JWT_TEST', 'later')
        during = seen.length
        process.off('warning', listener)
      })
      expect(during).to.equal(0)
      expect(warnings).to.have.length(1)
    })

    it('emits each code and message once per process', async () => {
      const warnings = await warningsDuring(() => {
        for (let i = 0; i < 3; i++) warnOnce('KOA_JWT_TEST', 'repeated')
      })
      expect(warnings).to.have.length(1)
    })

    it('tells apart the same message under two codes and two messages under one code', async () => {
      const warnings = await warningsDuring(() => {
        warnOnce('KOA_JWT_A', 'message one')
        warnOnce('KOA_JWT_B', 'message one')
        warnOnce('KOA_JWT_A', 'message two')
        warnOnce('KOA_JWT_A', 'message one')
      })
      expect(warnings.map((w) => [w.code, w.message])).to.deep.equal([
        ['KOA_JWT_A', 'message one'],
        ['KOA_JWT_B', 'message one'],
        ['KOA_JWT_A', 'message two'],
      ])
    })

    it('emits a key already emitted again after resetWarnings() (for specs)', async () => {
      const warnings = await warningsDuring(() => {
        warnOnce('KOA_JWT_TEST', 'reset me')
        warnOnce('KOA_JWT_TEST', 'reset me')
        resetWarnings()
        warnOnce('KOA_JWT_TEST', 'reset me')
      })
      expect(warnings).to.have.length(2)
    })
  })

  describe('warn()', () => {
    it('emits on every call, with the same type and code', async () => {
      const warnings = await warningsDuring(() => {
        warn('KOA_JWT_TEST', 'each time')
        warn('KOA_JWT_TEST', 'each time')
      })
      expect(warnings).to.deep.equal([
        { name: 'KoaJwtKitWarning', code: 'KOA_JWT_TEST', message: 'each time' },
        { name: 'KoaJwtKitWarning', code: 'KOA_JWT_TEST', message: 'each time' },
      ])
    })
  })
})
