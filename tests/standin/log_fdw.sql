-- A stand-in for Amazon RDS's log_fdw extension, for tests on a server without it: the two
-- functions log_fdw documents, with its signatures and results, made from contrib's file_fdw.
-- Run as a superuser in the database the agent connects to (CREATE EXTENSION file_fdw needs
-- one); for test servers only.
--
--   list_postgres_log_files(OUT file_name text, OUT file_size_bytes bigint): the files of the
--     log directory, over pg_ls_logdir() (which needs pg_monitor), as log_fdw's is.
--   create_foreign_table_for_log_file(table_name text, server_name text, log_file_name text):
--     a foreign table, named table_name in the caller's creation schema (the first schema of
--     its search_path), over one file of the log directory: csvlog's columns for *.csv files
--     (those of PostgreSQL 14 and later, as log_fdw 1.4 has them), one column log_entry text
--     for the others, one row a line.
--
-- Where it differs from log_fdw: file_fdw lets only superusers and pg_read_server_files name a
-- file, so the function runs as its owner (SECURITY DEFINER) and hands the table to the calling
-- role, which then owns, reads and drops it as it would a log_fdw table; it checks the grants
-- log_fdw's setup asks for (USAGE on the foreign server, CREATE on the schema) for the calling
-- role itself. A stderr-format file is read as CSV with delimiter and quote bytes that log lines
-- do not hold (0x01, 0x02): an empty line reads as NULL, and a line that is exactly \. would end
-- the file early.

CREATE EXTENSION IF NOT EXISTS file_fdw;

DO $standin$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_foreign_server WHERE srvname = 'log_server') THEN
    CREATE SERVER log_server FOREIGN DATA WRAPPER file_fdw;
  END IF;
END
$standin$;

CREATE OR REPLACE FUNCTION list_postgres_log_files(OUT file_name text, OUT file_size_bytes bigint)
RETURNS SETOF record
LANGUAGE sql STABLE
AS $standin$ SELECT name, size FROM pg_catalog.pg_ls_logdir() $standin$;

CREATE OR REPLACE FUNCTION create_foreign_table_for_log_file(table_name text, server_name text,
                                                             log_file_name text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
AS $standin$
DECLARE
  target_schema text := pg_catalog.current_schema();
  path text;
BEGIN
  IF pg_catalog.strpos(log_file_name, '/') > 0 OR NOT EXISTS (
      SELECT FROM pg_catalog.pg_ls_logdir() f WHERE f.name OPERATOR(pg_catalog.=) log_file_name) THEN
    RAISE EXCEPTION 'log file "%" does not exist', log_file_name USING ERRCODE = '58P01';
  END IF;
  IF target_schema IS NULL
     OR NOT pg_catalog.has_schema_privilege(session_user, target_schema, 'CREATE') THEN
    RAISE EXCEPTION 'permission denied for schema %', target_schema USING ERRCODE = '42501';
  END IF;
  IF NOT pg_catalog.has_server_privilege(session_user, server_name, 'USAGE') THEN
    RAISE EXCEPTION 'permission denied for foreign server %', server_name
      USING ERRCODE = '42501';
  END IF;
  path := pg_catalog.format('%s/%s', pg_catalog.current_setting('log_directory'), log_file_name);
  IF pg_catalog.right(log_file_name, 4) OPERATOR(pg_catalog.=) '.csv' THEN
    EXECUTE pg_catalog.format(
      'CREATE FOREIGN TABLE %I.%I (
         log_time timestamp(3) with time zone, user_name text, database_name text,
         process_id integer, connection_from text, session_id text, session_line_num bigint,
         command_tag text, session_start_time timestamp with time zone,
         virtual_transaction_id text, transaction_id bigint, error_severity text,
         sql_state_code text, message text, detail text, hint text, internal_query text,
         internal_query_pos integer, context text, query text, query_pos integer, location text,
         application_name text, backend_type text, leader_pid integer, query_id bigint
       ) SERVER %I OPTIONS (filename %L, format %L)',
      target_schema, table_name, server_name, path, 'csv');
  ELSE
    EXECUTE pg_catalog.format(
      'CREATE FOREIGN TABLE %I.%I (log_entry text) SERVER %I
         OPTIONS (filename %L, format %L, delimiter %L, quote %L)',
      target_schema, table_name, server_name, path, 'csv', pg_catalog.chr(1), pg_catalog.chr(2));
  END IF;
  EXECUTE pg_catalog.format('ALTER FOREIGN TABLE %I.%I OWNER TO %I', target_schema, table_name,
                            session_user);
END
$standin$;

-- As log_fdw's: no one but the owner until granted.
REVOKE ALL ON FUNCTION list_postgres_log_files() FROM PUBLIC;
REVOKE ALL ON FUNCTION create_foreign_table_for_log_file(text, text, text) FROM PUBLIC;
