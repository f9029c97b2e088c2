#!/usr/bin/env node
// The package's command. TypeScript runs through tsx's loader, so a fresh clone needs no build step.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../cli/main.ts')
const code = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr })
// Exit explicitly: a closed service must not keep the process alive through a stray handle.
process.exit(code)
