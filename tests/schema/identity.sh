#!/bin/sh
# identity.sh PORT: one current definition.  CREATE EXTENSION user_activity
# runs the newest version's full install script (assembled from
# extension/sql/parts), while a database made with an older version gets
# there through the upgrade scripts.  Both must end with the same database:
# for every older version V (1.0 and the start of each upgrade script), a
# database that installs V and updates to the newest is compared with one
# that installs the newest fresh, and any difference fails the test.
#
# What is compared, each database made alone in a throw-away cluster (no
# pg_cron) with no user_activity role left from the one before:
#
#   schema   pg_dump --schema-only --binary-upgrade.  A plain dump prints
#            only CREATE EXTENSION for the extension's members; in
#            binary-upgrade mode every member is dumped (tables with their
#            column order, constraints, indexes, triggers, functions with
#            their bodies, views, types, sequences, comments, owners, ACLs in
#            their order), followed by ALTER EXTENSION ... ADD, and the
#            extension itself with its version and its configuration tables
#            (binary_upgrade_create_empty_extension), the initial privileges
#            (pg_init_privs, between binary_upgrade_set_record_init_privs
#            calls) and dropped columns.  What legitimately differs is
#            blanked, not removed, so that the number of such lines still
#            counts:
#            - the arguments of binary_upgrade_set_next_*(): OIDs, relfilenodes
#              and the LSNs of attribute versions, which depend on how many
#              objects were made (and dropped) before;
#            - relfrozenxid, relminmxid and the OID of the UPDATE of pg_class
#              that sets them: transaction ids;
#            - the OIDs in the list of configuration tables of
#              binary_upgrade_create_empty_extension (compared by name below);
#            - \restrict and \unrestrict, whose key is random in each dump.
#   config   the configuration tables (pg_extension_config_dump) by name,
#            with their conditions, sorted: each upgrade appends the tables it
#            adds, so their order tells the history, and pg_dump reads the
#            list as a set (it marks each table's data to be dumped; the order
#            of the dump comes from its dependency sort).
#   data     pg_dump --data-only: rows and sequence positions the install
#            leaves behind (a fresh install leaves none, and no partition).
#   roles    pg_dumpall --roles-only, lines naming a user_activity_* role:
#            the roles the scripts create, their attributes, comments and
#            memberships (roles belong to the cluster, not to the dump).
#
# Partitions of user_activity.events are data, not part of the extension
# (pg_dump dumps them like any table).  A fresh install makes none, which is
# checked.  Version 1.1's CREATE EXTENSION makes the current partition and
# those ahead, and 1.2 drops only the ones its own transaction made, so a
# database installed at 1.1 keeps its partitions through the update (empty
# here), as it keeps any partition that holds rows: they are dropped, and
# counted, before an updated database is compared.
#
# Prints "ok - ..." or "not ok - ..." with the diff; exits non-zero on any
# difference.  The dumps stay in $UA_TEST_TMP/identity.
set -eu
cd "$(dirname "$0")/../.."
port=${1:?usage: identity.sh PORT}
data=$UA_TEST_TMP/identity-data
out=$UA_TEST_TMP/identity
bindir=$(${PG_CONFIG:-pg_config} --bindir)
db=ua_identity
roles="user_activity_http, user_activity_admin, user_activity_writer, user_activity_reader"

newest=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" user_activity.control)
older=$(ls extension/sql/user_activity--*--*.sql |
	sed 's/.*user_activity--\([^-]*\)--.*/\1/' | sort -uV | grep -vFx "$newest")

# Without its full install script, CREATE EXTENSION would run 1.0 and the
# upgrades, and this test would compare them with themselves.
script=$(${PG_CONFIG:-pg_config} --sharedir)/extension/user_activity--$newest.sql
if [ ! -f "$script" ]; then
	echo "not ok - $script is not installed: a fresh install would run the upgrades"
	exit 1
fi

PG_CRON=0 tests/lib/cluster.sh start "$data" "$port"
trap 'tests/lib/cluster.sh stop "$data"' EXIT
rm -rf "$out"
mkdir -p "$out"

psql() {
	PGOPTIONS='-c client_min_messages=warning' \
		"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}

# make LABEL SQL...: a new database, with no user_activity role in the
# cluster, where each SQL statement runs in turn (its own transaction).
make_db() {
	label=$1
	shift
	psql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $roles" \
		-c "CREATE DATABASE $db"
	for stmt in "$@"; do
		psql -d "$db" -c "$stmt" 2>>"$out/$label.log" || { cat "$out/$label.log" >&2; exit 1; }
	done
}

# snapshot LABEL: everything compared, in $out/LABEL.txt (the raw dumps
# beside it).
snapshot() {
	label=$1
	"$bindir/pg_dump" -h 127.0.0.1 -p "$port" -U postgres --schema-only --binary-upgrade \
		-f "$out/$label.schema.sql" "$db"
	"$bindir/pg_dump" -h 127.0.0.1 -p "$port" -U postgres --data-only -f "$out/$label.data.sql" "$db"
	"$bindir/pg_dumpall" -h 127.0.0.1 -p "$port" -U postgres --roles-only --no-role-passwords \
		-f "$out/$label.roles.sql"
	{
		echo "==== schema"
		sed -e '/^\\\(un\)\{0,1\}restrict /d' \
			-e 's/\(binary_upgrade_set_next_[a-z_]*\)(.*);$/\1(...);/' \
			-e "s/^SET relfrozenxid = '[0-9]*', relminmxid = '[0-9]*'\$/SET relfrozenxid = ..., relminmxid = .../" \
			-e "s/^WHERE oid = '[0-9]*';\$/WHERE oid = ...;/" \
			-e "/binary_upgrade_create_empty_extension(/s/'{[0-9,]*}'/'{...}'/" \
			"$out/$label.schema.sql"
		echo "==== config"
		psql -d "$db" -At -c "
			SELECT c.tab::pg_catalog.regclass::text, pg_catalog.quote_literal(c.cond)
			FROM pg_catalog.pg_extension e,
			     ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS c(tab, cond)
			WHERE e.extname = 'user_activity' ORDER BY 1"
		echo "==== data"
		sed -e '/^\\\(un\)\{0,1\}restrict /d' "$out/$label.data.sql"
		echo "==== roles"
		grep 'user_activity_' "$out/$label.roles.sql" || true
	} >"$out/$label.txt"
}

# partitions: how many partitions user_activity.events has.
partitions() {
	psql -d "$db" -At -c "SELECT pg_catalog.count(*) FROM pg_catalog.pg_inherits
	                      WHERE inhparent = 'user_activity.events'::pg_catalog.regclass"
}

make_db fresh "CREATE EXTENSION user_activity"
n=$(partitions)
if [ "$n" != 0 ]; then
	echo "not ok - a fresh install makes $n partitions of user_activity.events"
	exit 1
fi
snapshot fresh
if ! grep -q "binary_upgrade_create_empty_extension('user_activity', 'user_activity', false, '$newest'" \
	"$out/fresh.txt"; then
	echo "not ok - a fresh install is not version $newest"
	exit 1
fi

status=0
for v in $older; do
	make_db "from-$v" "CREATE EXTENSION user_activity VERSION '$v'" \
		"ALTER EXTENSION user_activity UPDATE TO '$newest'"
	n=$(partitions)
	if [ "$n" != 0 ]; then
		echo "# $v updated to $newest: $n partitions (data its install made) dropped"
		psql -d "$db" -c "
			DO \$\$
			DECLARE
			    r record;
			BEGIN
			    FOR r IN SELECT i.inhrelid::pg_catalog.regclass AS part FROM pg_catalog.pg_inherits i
			             WHERE i.inhparent = 'user_activity.events'::pg_catalog.regclass
			    LOOP
			        EXECUTE pg_catalog.format('DROP TABLE %s', r.part);
			    END LOOP;
			END
			\$\$"
	fi
	snapshot "from-$v"
	if diff -u "$out/fresh.txt" "$out/from-$v.txt" >"$out/from-$v.diff"; then
		echo "ok - a fresh install of $newest is $v updated to $newest"
	else
		cat "$out/from-$v.diff"
		echo "not ok - a fresh install of $newest differs from $v updated to $newest (- fresh, + updated)"
		status=1
	fi
done
exit $status
