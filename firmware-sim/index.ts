/**
 * The `sim` service: the demo farms of the Ranong pilot, registered as devices and connected to
 * the broker, on a real-time or accelerated clock, controllable by trainers over `sim/control`.
 */
import { defineService } from '../runtime/service.js'
import { SimEnv } from './config.js'
import { startControl } from './control.js'
import { Engine } from './engine.js'
import { systemClock } from './scheduler.js'
import { planFleet, registerDevices } from './setup.js'
import { markTrainingFarms, watchTraining } from './training.js'
import { mqttTransport } from './transport-mqtt.js'

export { SimEnv } from './config.js'

export const simService = defineService({
  name: 'sim',
  env: SimEnv,
  async start(config, ctx) {
    const { log } = ctx
    if (config.SIM_FARMS === 0 && config.SIM_DEVICES === undefined) {
      // A real install with `suanyang start`: no simulated farm, no simulated reading, nothing registered.
      log.info('SIM_FARMS=0: the simulator is off')
      return { info: { off: true }, close: async () => {} }
    }
    const startMs = config.SIM_START ? Date.parse(config.SIM_START) : ctx.now()
    const planned = await planFleet({
      farms: config.SIM_FARMS,
      devices: config.SIM_DEVICES,
      seed: config.SIM_SEED,
      training: config.SIM_TRAINING_FARMS,
      scenarioPath: config.SIM_SCENARIO,
      startMs,
    })
    if (!planned.ok) throw new Error(`sim: ${planned.reason}`)
    const { farms, faults } = planned.plan
    // Training farms live in the registry: the list sets the flag, the fleet then follows the registry.
    await markTrainingFarms(ctx.registry, farms, log)
    const passwords = await registerDevices(ctx.accounts, farms, ctx.common.DATA_DIR, log)
    const url = ctx.mqttUrl()
    const engine = new Engine({
      farms,
      seed: config.SIM_SEED,
      startMs,
      speed: config.SIM_SPEED,
      transport: mqttTransport({ url, passwordOf: (d) => passwords.get(d), log }),
      log,
      faults,
      bufferCapacity: config.SIM_BUFFER,
      wall: { ...systemClock, now: ctx.now },
    })
    const credentials = await ctx.accounts.serviceCredentials('sim')
    // The client id must be the login's (broker/client-id.ts): `sim-1a2b3c4d`, or `sim` from before.
    const control = startControl({ url, credentials, fleet: engine.fleet, log, clientId: credentials.username })
    engine.fleet.onFaultsChanged = () => control.publishState()
    const training = watchTraining(ctx.registry, farms, log, () => control.publishState())
    await training.start()

    const fleet = engine.fleet
    ctx.metrics.gauge('sim_devices', 'Simulated devices').set(fleet.devices.size)
    const connected = ctx.metrics.gauge('sim_devices_connected', 'Simulated devices with a broker connection')
    connected.collect(() => connected.set(fleet.connectedCount()))
    const backlog = ctx.metrics.gauge('sim_backlog_messages', 'Readings buffered or in flight on simulated devices')
    backlog.collect(() => backlog.set(fleet.backlog()))
    engine.startLive()
    log.info({ farms: farms.length, devices: fleet.devices.size, speed: config.SIM_SPEED, seed: config.SIM_SEED, url }, 'simulator running')
    return {
      info: { farms: farms.length, devices: fleet.devices.size, speed: config.SIM_SPEED },
      async close() {
        training.close()
        await control.close()
        await engine.close(true)
      },
    }
  },
})
