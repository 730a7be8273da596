# SPDX-License-Identifier: MIT
#
# fish completion for bdus(8).  Install as
# ~/.config/fish/completions/bdus.fish or in vendor_completions.d.

function __bdus_devices
    for node in /dev/bdus-*
        if test -b $node; and not string match -q '*p*' $node
            echo $node
        end
    end
end

set -l commands destroy flush info list version help

complete -c bdus -f
complete -c bdus -n "not __fish_seen_subcommand_from $commands" -l help -d 'Show the help'
complete -c bdus -n "not __fish_seen_subcommand_from $commands" -l version -d 'Show the versions'
complete -c bdus -n "not __fish_seen_subcommand_from $commands" -a list -d 'List the devices'
complete -c bdus -n "not __fish_seen_subcommand_from $commands" -a info -d "Show a device's configuration and state"
complete -c bdus -n "not __fish_seen_subcommand_from $commands" -a flush -d 'Flush devices'
complete -c bdus -n "not __fish_seen_subcommand_from $commands" -a destroy -d 'Flush and destroy devices'
complete -c bdus -n "not __fish_seen_subcommand_from $commands" -a version -d 'Show the versions of bdus, libbdus and kbdus'
complete -c bdus -n "not __fish_seen_subcommand_from $commands" -a help -d 'Show the help of a command'

complete -c bdus -n "__fish_seen_subcommand_from $commands" -s h -l help -d 'Show the help'
complete -c bdus -n "__fish_seen_subcommand_from help" -a "destroy flush info list version"
complete -c bdus -n "__fish_seen_subcommand_from destroy flush info" -a "(__bdus_devices)"

complete -c bdus -n "__fish_seen_subcommand_from destroy" -l no-flush -d 'Do not flush before destroying'
complete -c bdus -n "__fish_seen_subcommand_from destroy" -s q -l quiet -d 'Print nothing but errors'

for field in id path major minor size logical-block-size physical-block-size \
        max-read-write-size requests protocol queues queue-depth \
        request-timeout state driver-pid recoverable
    complete -c bdus -n "__fish_seen_subcommand_from info" -l $field -d "Print the $field"
end
complete -c bdus -n "__fish_seen_subcommand_from info list" -l json -d 'Print JSON'

complete -c bdus -n "__fish_seen_subcommand_from version" -l cmdbdus -d "This command's version"
complete -c bdus -n "__fish_seen_subcommand_from version" -l libbdus -d 'The version of libbdus'
complete -c bdus -n "__fish_seen_subcommand_from version" -l kbdus -d 'The version of kbdus'
