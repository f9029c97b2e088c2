/**
 * Version 3: sign-in per person (issue 14). A person's own password (scrypt, optional: a person
 * may sign in only by link), one-time sign-in links, sessions, and broker accounts that belong to
 * a session (the console's live view: a viewer scoped to the person's farms, gone with the
 * session) or to a person (their own viewer or operator login, gone with them). Only hashes are stored: sha256 of the 256-bit link and session tokens, scrypt of
 * passwords. Shipped: never edit this file; add a new migration.
 */
import type { Migration } from '../migrate.js'

export const signIn: Migration = {
  version: 3,
  name: 'sign-in',
  sql: (t) => `
ALTER TABLE people ADD COLUMN password_hash TEXT;

-- A link is used once: redeeming it deletes it and starts a session.
CREATE TABLE sign_in_links (
  token_hash TEXT PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
  created_by TEXT NOT NULL,
  created_at ${t.timestamp} NOT NULL,
  expires_at ${t.timestamp} NOT NULL
)${t.table};
CREATE INDEX sign_in_links_person ON sign_in_links (person_id);

-- how: password or link. Removing the person ends every session of theirs.
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
  how TEXT NOT NULL,
  created_at ${t.timestamp} NOT NULL,
  expires_at ${t.timestamp} NOT NULL
)${t.table};
CREATE INDEX sessions_person ON sessions (person_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- A broker account made for one session (the console's live view) goes with it; a person's
-- own viewer or operator account (their MQTT tools) goes with the person. Either way its farms
-- follow the person's roles.
ALTER TABLE service_accounts ADD COLUMN session_hash TEXT REFERENCES sessions (token_hash) ON DELETE CASCADE;
ALTER TABLE service_accounts ADD COLUMN person_id TEXT REFERENCES people (id) ON DELETE CASCADE;
`,
}
