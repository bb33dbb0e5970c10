-- One database, one role and one schema per service (identity, projects, funding), each role owning
-- its schema and nothing else: a service can neither read nor write another service's tables.
--
-- The postgres image runs this file once, on an empty data volume (/docker-entrypoint-initdb.d), with
-- psql connected as POSTGRES_USER to POSTGRES_DB. The role passwords come from the container's
-- environment through psql's \getenv (psql 15+), never from this file.
\set ON_ERROR_STOP on

\getenv identity_password IDENTITY_DB_PASSWORD
\getenv projects_password PROJECTS_DB_PASSWORD
\getenv funding_password FUNDING_DB_PASSWORD
\if :{?identity_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'IDENTITY_DB_PASSWORD is not set in the postgres container'; END $$;
\endif
\if :{?projects_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'PROJECTS_DB_PASSWORD is not set in the postgres container'; END $$;
\endif
\if :{?funding_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'FUNDING_DB_PASSWORD is not set in the postgres container'; END $$;
\endif

SELECT current_database() AS dbname \gset

BEGIN;

-- Nobody connects or creates anything unless granted below (PostgreSQL 15 already keeps PUBLIC from
-- creating in schema public; this also closes TEMPORARY and CONNECT).
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE ROLE "identity" LOGIN PASSWORD :'identity_password';
CREATE SCHEMA "identity" AUTHORIZATION "identity";
GRANT CONNECT ON DATABASE :"dbname" TO "identity";
ALTER ROLE "identity" IN DATABASE :"dbname" SET search_path = "identity";

CREATE ROLE "projects" LOGIN PASSWORD :'projects_password';
CREATE SCHEMA "projects" AUTHORIZATION "projects";
GRANT CONNECT ON DATABASE :"dbname" TO "projects";
ALTER ROLE "projects" IN DATABASE :"dbname" SET search_path = "projects";

CREATE ROLE "funding" LOGIN PASSWORD :'funding_password';
CREATE SCHEMA "funding" AUTHORIZATION "funding";
GRANT CONNECT ON DATABASE :"dbname" TO "funding";
ALTER ROLE "funding" IN DATABASE :"dbname" SET search_path = "funding";

COMMIT;
