-- restoreproof's roles on a PostgreSQL store (docs/store.md, "An independent verifier").
--
-- Run as a superuser, connected to the store's database:
--
--   psql -v ON_ERROR_STOP=1 -d restoreproof -f roles.sql
--
-- once before the first `restoreproof store migrate` (it creates the roles; the tables do not
-- exist yet, so it says so and grants nothing on them), and again after every `store migrate`
-- (it grants on the tables, the new ones too). Running it again changes nothing else. It sets no
-- password: give each role one (\password restoreproof_owner, ...) and put it in the
-- [store] password_file of the hosts that use that role.
--
--   restoreproof_owner      owns the tables and migrates them (`restoreproof store migrate`)
--   restoreproof_appliance  `serve` and the commands on the appliance: reads and writes, deletes
--                           only expired web sessions
--   restoreproof_verifier   agents on other hosts: reads, claims queued runs and records their
--                           results, queues retries, appends to the restoration log, stores
--                           baselines; never deletes, never changes a finished result
--
-- Whatever a role is granted, the store's triggers (created by the migrations) refuse to anyone,
-- the owner included: an UPDATE of a finished run, a DELETE of a run, and any change or
-- DELETE of a restoration-log record (except its appender setting its hash once).

DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'restoreproof_owner') THEN
    CREATE ROLE restoreproof_owner LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'restoreproof_appliance') THEN
    CREATE ROLE restoreproof_appliance LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'restoreproof_verifier') THEN
    CREATE ROLE restoreproof_verifier LOGIN;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO restoreproof_owner, restoreproof_appliance, restoreproof_verifier',
                 current_database());
END
$roles$;

-- Only the owner creates tables (PostgreSQL 15 grants nobody CREATE on public by default).
GRANT USAGE, CREATE ON SCHEMA public TO restoreproof_owner;
GRANT USAGE ON SCHEMA public TO restoreproof_appliance, restoreproof_verifier;
REVOKE CREATE ON SCHEMA public FROM restoreproof_appliance, restoreproof_verifier;

DO $grants$
BEGIN
  IF to_regclass('public.schema_version') IS NULL OR to_regclass('public.runs') IS NULL THEN
    RAISE NOTICE 'restoreproof: no store tables yet: run `restoreproof store migrate` as restoreproof_owner, then this file again';
    RETURN;
  END IF;
  -- From nothing, so that running this again after an upgrade leaves exactly these grants.
  REVOKE ALL ON ALL TABLES IN SCHEMA public FROM restoreproof_appliance, restoreproof_verifier;

  -- serve: everything it does, and no DELETE but of sessions (sign-out, expiry).
  GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO restoreproof_appliance;
  GRANT DELETE ON sessions TO restoreproof_appliance;

  -- An agent: reads what it needs ...
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO restoreproof_verifier;
  -- ... queues a retry or a re-run of an interrupted run, appends to the log, stores baselines ...
  GRANT INSERT ON runs, restoration_log, baselines TO restoreproof_verifier;
  -- ... and changes only the columns that claiming, renewing, recording the start, the progress
  -- and the result of a run need. Not cancel_requested (an operator's), not target, trigger,
  -- drill or requested_by; and a finished run not at all (the triggers).
  GRANT UPDATE (state, lease_owner, lease_until, started_at, finished_at, point_id, point_time, location, seed,
                worker, version, config_hash, files, bytes, duration_s, message, report, clock_synced,
                clock_error_us, clock_max_error_us, progress_files, progress_bytes, progress_total, progress_at,
                db_role)
    ON runs TO restoreproof_verifier;
  -- The appender sets the hash of the record it has just inserted (the triggers refuse any other
  -- change of a record).
  GRANT UPDATE (hash) ON restoration_log TO restoreproof_verifier;
END
$grants$;
