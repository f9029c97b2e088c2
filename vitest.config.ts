import { defineConfig } from 'vitest/config'

// Unit tests sit next to the code they test and touch no socket; integration tests live in
// test/ and run real servers (InfluxDB, the broker, mosquitto clients, Redis, Chromium, PostgreSQL).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{contracts,runtime,registry,broker,ingest,alerts,firmware-sim,dashboards,cli,console}/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
})
