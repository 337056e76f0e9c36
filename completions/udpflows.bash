# bash completion for udpflows and udpflowd (installed by make install).

_udpflows_states="refused host-unreachable net-unreachable proto-unreachable
prohibited frag-needed ttl-exceeded unreachable param-problem answered silent"

_udpflows()
{
	local cur prev opts
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	opts="--refused --unreachable --silent --answered --state --all --host
	--src --dst --net --port --proto --reporter --since --until --limit
	--sort --json --csv --summary --explain --timeline --bucket --stats
	--color --utc --numeric --database --clickhouse --gateway --init --timeout --help
	--version -d -n -h -V"
	case $prev in
	-d|--database)
		COMPREPLY=($(compgen -f -- "$cur"))
		return;;
	--clickhouse)
		COMPREPLY=($(compgen -W "http://127.0.0.1:8123/?database=udpflows" -- "$cur"))
		return;;
	--state)
		# a list: complete the name after the last comma
		local done=${cur%,*} last=${cur##*,}
		[ "$done" = "$cur" ] && done= || done=$done,
		COMPREPLY=($(compgen -P "$done" -W "$_udpflows_states" -- "$last"))
		return;;
	--sort)
		COMPREPLY=($(compgen -W "first last packets errors" -- "$cur"))
		return;;
	--proto)
		COMPREPLY=($(compgen -W "udp tcp icmp icmp6 gre esp sctp dns ntp" -- "$cur"))
		return;;
	--color)
		COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
		return;;
	--since|--until)
		COMPREPLY=($(compgen -W "15m 1h 2h 1d today yesterday now" -- "$cur"))
		return;;
	--host|--src|--dst|--net|--port|--reporter|--limit|--bucket|--gateway|--timeout)
		return;;
	esac
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}

_udpflowd()
{
	local cur prev opts
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	opts="--read --database --quiet --interface --foreground --user
	--pidfile --filter --buffer --max-flows --udp-timeout --tcp-timeout
	--flush --retain --ndjson --clickhouse --gateway --clickhouse-spool --send
	--help --version -r -d -q -i -F -Z -P -f -B -h -V"
	case $prev in
	-r|--read|-d|--database|-P|--pidfile|--ndjson)
		COMPREPLY=($(compgen -f -- "$cur"))
		return;;
	-i|--interface)
		COMPREPLY=($(compgen -W "any $(ls /sys/class/net 2>/dev/null)" -- "$cur"))
		return;;
	-Z|--user)
		COMPREPLY=($(compgen -u -- "$cur"))
		return;;
	--clickhouse)
		COMPREPLY=($(compgen -W "http://127.0.0.1:8123/?database=udpflows" -- "$cur"))
		return;;
	-f|--filter|-B|--buffer|--max-flows|--udp-timeout|--tcp-timeout|--flush|--retain|--gateway|--clickhouse-spool)
		return;;
	esac
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}

complete -F _udpflows udpflows
complete -F _udpflowd udpflowd
