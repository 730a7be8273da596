#compdef bdus
# SPDX-License-Identifier: MIT
#
# zsh completion for bdus(8).  Install as _bdus in a directory of $fpath.

_bdus_devices() {
	local -a nodes
	nodes=(/dev/bdus-<->(N-%b))
	_describe -t devices 'BDUS device' nodes
}

_bdus() {
	local -a commands
	commands=(
		'list:list the devices'
		'info:show a device'\''s configuration and state'
		'flush:flush devices'
		'destroy:flush and destroy devices'
		'version:show the versions of bdus, libbdus and kbdus'
		'help:show the help of a command'
	)

	if (( CURRENT == 2 )); then
		_describe -t commands 'bdus command' commands
		return
	fi

	local command=$words[2]
	shift words
	(( CURRENT-- ))
	case $command in
	destroy)
		_arguments \
			'--no-flush[do not flush before destroying]' \
			'(-q --quiet)'{-q,--quiet}'[print nothing but errors]' \
			'(-h --help)'{-h,--help}'[show the help]' \
			'*:device:_bdus_devices'
		;;
	flush)
		_arguments '(-h --help)'{-h,--help}'[show the help]' \
			'*:device:_bdus_devices'
		;;
	info)
		_arguments \
			'*--id[the id]' '*--path[the block special file]' \
			'*--major[the major number]' '*--minor[the minor number]' \
			'*--size[the size in bytes]' \
			'*--logical-block-size[the logical block size]' \
			'*--physical-block-size[the physical block size]' \
			'*--max-read-write-size[the largest read or write]' \
			'*--requests[the request types served]' \
			'*--protocol[ioctl, mmap or uring]' '*--queues[the queues]' \
			'*--queue-depth[the queue depth]' \
			'*--request-timeout[the request timeout in ms]' \
			'*--state[the device state]' \
			'*--driver-pid[the driver process id]' \
			'*--recoverable[whether the device is recoverable]' \
			'--json[every field as JSON]' \
			'(-h --help)'{-h,--help}'[show the help]' \
			':device:_bdus_devices'
		;;
	list)
		_arguments '--json[print JSON]' \
			'(-h --help)'{-h,--help}'[show the help]'
		;;
	version)
		_arguments '--cmdbdus[this command'\''s version]' \
			'--libbdus[the version of libbdus]' \
			'--kbdus[the version of kbdus]' \
			'(-h --help)'{-h,--help}'[show the help]'
		;;
	help)
		_describe -t commands 'bdus command' commands
		;;
	esac
}

_bdus "$@"
