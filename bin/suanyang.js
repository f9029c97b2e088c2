#!/usr/bin/env node
// The package's command. TypeScript runs through tsx's loader so a fresh clone needs no build step.
import { register } from 'tsx/esm/api'

register()
await import('../cli/main.ts')
