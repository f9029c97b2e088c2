#pragma once
// Every kind of payload the core writes, as JSON lines {"topic","retain","payload"} on stdout:
// what real devices (in memory, with fake sensors in each fault) publish, plus the encoders at
// the edges of every range and with strings that need escaping. firmware-host.test.ts checks
// each against the JSON Schema of `npm run schema`.
int printSamples();
