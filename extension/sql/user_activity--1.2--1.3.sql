/* user_activity--1.2--1.3.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.3'" to load this file. \quit

--
-- Version 1.3.  CREATE EXTENSION installs 1.0 and applies every upgrade
-- script in turn, so fresh installs and upgrades run the same code.
--
-- Each section below belongs to one concern; keep changes inside it.
--


-- ----------------------------------------------------------------------
-- Ingest
-- ----------------------------------------------------------------------


-- ----------------------------------------------------------------------
-- Search
-- ----------------------------------------------------------------------
--
-- find_events is C (extension/src/search.c), no longer an SQL function.
-- An SQL function plans its query on every call, and as its values are
-- parameters, that plan is generic over every partition of the table:
-- planning it over 30 daily partitions cost about ten times reading a
-- 100-row page.  The C function runs search_events' page query with the
-- session's kept span plans; the signature, defaults, row type, attributes,
-- comment and privileges stay (CREATE OR REPLACE keeps the last two), and
-- so do the rows, their order and the errors.  find_start, which only the
-- SQL function called, stays for callers of its own.
--
CREATE OR REPLACE FUNCTION user_activity.find_events(
    user_id bigint,
    since timestamptz,
    until timestamptz,
    page_size integer DEFAULT NULL,
    after text DEFAULT NULL,
    actions user_activity.action[] DEFAULT NULL,
    action_since timestamptz DEFAULT NULL,
    action_until timestamptz DEFAULT NULL)
RETURNS SETOF user_activity.events
LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_find_events';


-- ----------------------------------------------------------------------
-- Partitions and retention
-- ----------------------------------------------------------------------


-- ----------------------------------------------------------------------
-- Counting
-- ----------------------------------------------------------------------
