import { afterEach, describe, expect, it } from '@jest/globals'
import net from 'node:net'
import type { Clock } from '../../../src/core/clock.ts'
import {
  PROBE_BUDGET_MS,
  probeDownloadHost,
  unreachableCause
} from '../../../src/core/cli-install/download-probe.ts'
import { closedPort } from '../../../test-support/tls.ts'

/** The check before a CLI download, against real loopback ports and a name that cannot exist. */

/** Virtual time: a sleep moves the clock and runs `onSleep`, nothing waits. */
function clock(onSleep: () => Promise<void> = async () => undefined): Clock & { sleeps: number[] } {
  let t = 1_000_000
  const sleeps: number[] = []
  return {
    sleeps,
    now: () => t,
    sleep: async ms => {
      sleeps.push(ms)
      t += ms
      await onSleep()
    },
    random: () => 0.5
  }
}

const servers: net.Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(s => new Promise(resolve => s.close(resolve))))
})

function listen(port = 0): Promise<number> {
  const server = net.createServer(socket => socket.destroy())
  servers.push(server)
  return new Promise(resolve =>
    server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
  )
}

describe('probeDownloadHost', () => {
  it('says a name that does not exist at once, without trying again', async () => {
    const c = clock()
    const verdict = await probeDownloadHost('https://cli.example.invalid/convox/3.24.9/convox-linux', {
      clock: c
    })
    expect(verdict?.error.kind).toBe('dns')
    expect(c.sleeps).toEqual([])
    expect(unreachableCause(verdict!)).toBe('the host name does not resolve')
  })

  it('tries a refused port again for a few seconds, then says so with the time it tried', async () => {
    const port = await closedPort()
    const c = clock()
    const verdict = await probeDownloadHost(`https://127.0.0.1:${port}/x`, { clock: c })
    expect(verdict?.error.kind).toBe('refused')
    expect(c.sleeps.length).toBeGreaterThan(1)
    expect(verdict!.spentMs).toBeLessThanOrEqual(PROBE_BUDGET_MS)
    expect(unreachableCause(verdict!)).toMatch(/^it refuses connections, still after \d(\.\d)?s$/)
  })

  it('leaves the download to go on when the port starts listening while it tries (a mirror restarting)', async () => {
    const port = await closedPort()
    const c = clock(async () => {
      if (servers.length === 0) await listen(port)
    })
    expect(await probeDownloadHost(`https://127.0.0.1:${port}/x`, { clock: c })).toBeUndefined()
    expect(c.sleeps).toHaveLength(1)
  })

  it('leaves the download to go on when the host takes connections', async () => {
    const port = await listen()
    expect(await probeDownloadHost(`https://127.0.0.1:${port}/x`, { clock: clock() })).toBeUndefined()
  })

  it('asks nothing through a proxy, which resolves and connects for the download', async () => {
    const c = clock()
    const proxyEnv = { HTTPS_PROXY: `http://127.0.0.1:${await closedPort()}` }
    expect(await probeDownloadHost('https://cli.example.invalid/x', { clock: c, proxyEnv })).toBeUndefined()
    const bypass = { ...proxyEnv, NO_PROXY: 'cli.example.invalid' }
    expect(
      (await probeDownloadHost('https://cli.example.invalid/x', { clock: c, proxyEnv: bypass }))?.error.kind
    ).toBe('dns')
  })
})
