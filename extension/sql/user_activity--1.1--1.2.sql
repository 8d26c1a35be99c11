/* user_activity--1.1--1.2.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.2'" to load this file. \quit

--
-- Version 1.2.  CREATE EXTENSION installs 1.0 and applies every upgrade
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


-- ----------------------------------------------------------------------
-- Partitions and retention
-- ----------------------------------------------------------------------


-- ----------------------------------------------------------------------
-- Counting status
-- ----------------------------------------------------------------------
