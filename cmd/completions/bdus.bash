# SPDX-License-Identifier: MIT
#
# bash completion for bdus(8).  Install as
# /usr/share/bash-completion/completions/bdus, or source it.

# Device arguments: the whole-disk nodes of existing BDUS devices.
_bdus_devices()
{
	local node
	for node in /dev/bdus-*; do
		[[ -b $node && $node != *p* ]] && printf '%s\n' "$node"
	done
}

_bdus()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local command=${COMP_WORDS[1]:-}
	local options=

	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "destroy flush info list version help
			--help --version" -- "$cur"))
		return
	fi

	case $command in
	destroy) options="--no-flush --quiet --help" ;;
	flush) options="--help" ;;
	info)
		options="--id --path --major --minor --size
			--logical-block-size --physical-block-size
			--max-read-write-size --requests --protocol --queues
			--queue-depth --request-timeout --state --driver-pid
			--recoverable --json --help"
		;;
	list) options="--json --help" ;;
	version) options="--cmdbdus --libbdus --kbdus --help" ;;
	help)
		((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W "destroy flush
			info list version" -- "$cur"))
		return
		;;
	*) return ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$options" -- "$cur"))
	elif [[ $command == @(destroy|flush|info) ]]; then
		COMPREPLY=($(compgen -W "$(_bdus_devices)" -- "$cur"))
	fi
}

complete -F _bdus bdus
