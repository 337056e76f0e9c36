# A clickhouse-server of our own for the tests and the benchmark (sourced):
# its config, data and logs in one directory, loopback only, stopped by
# its PID. Users: "default" without a password, "fleet" with s3cret-pw.
#   chsrv_found                      clickhouse-server is installed
#   chsrv_config DIR HTTP TCP        write DIR/config.xml and users.xml
#   chsrv_start DIR HTTP [PREFIX...] start it (PREFIX: ip netns exec NS),
#                                    wait until it answers; CH_PID
#   chsrv_stop                       stop CH_PID, and wait for it

chsrv_found() {
	CH_SERVER=$(command -v clickhouse-server || ls /usr/sbin/clickhouse-server 2>/dev/null)
}

chsrv_config() {
	local d=$1 http=$2 tcp=$3
	mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas"
	cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>$d/server.log</log>
        <errorlog>$d/error.log</errorlog><console>0</console></logger>
    <http_port>$http</http_port>
    <tcp_port>$tcp</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <format_schema_path>$d/format_schemas/</format_schema_path>
    <users_config>$d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>536870912</mark_cache_size>
</yandex>
EOF
	cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
    <users>
        <default><password></password><networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile><quota>default</quota></default>
        <fleet><password>s3cret-pw</password><networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile><quota>default</quota></fleet>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries>
        <errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows>
        <execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
}

chsrv_start() {
	local d=$1 http=$2
	shift 2
	# in the background directly, so that $! is the server itself
	"$@" "$CH_SERVER" --config-file="$d/config.xml" >"$d/stdout.log" 2>&1 &
	CH_PID=$!
	for _ in $(seq 300); do
		[ "$("$@" curl -s "http://127.0.0.1:$http/ping" 2>/dev/null)" = "Ok." ] && return 0
		kill -0 "$CH_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

chsrv_stop() {
	[ -n "${CH_PID:-}" ] || return 0
	# (callers may run under set -e: a server already gone is no error)
	kill -TERM "$CH_PID" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$CH_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$CH_PID" 2>/dev/null || true
	wait "$CH_PID" 2>/dev/null || true
	CH_PID=
}
