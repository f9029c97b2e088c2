/**
 * The registry's one variable. Unset: SQLite in DATA_DIR/registry.sqlite, nothing to install.
 * Set: a PostgreSQL server that every broker and ingest process of the installation shares.
 */
import { z } from 'zod'

export const RegistryEnv = z.object({
  DATABASE_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .refine((s) => /^postgres(ql)?:\/\//.test(s) && URL.canParse(s), 'expected postgres://user:password@host:5432/database')
      .optional(),
  ),
})
export type RegistryConfig = z.output<typeof RegistryEnv>
