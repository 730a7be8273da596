// SPDX-License-Identifier: MIT
/*
 * bdus.c - the bdus command: manage BDUS devices.  Each subcommand lives in
 * its own file; this one only dispatches.
 *
 * Exit status: 0 on success, 1 on failure, 2 on a usage error.
 */

#include "common.h"

#include <string.h>

static const char usage_text[] =
	"Usage: bdus <command> [<options>] [<args>]\n"
	"\n"
	"Manage block devices whose drivers run in user space (BDUS).\n"
	"\n"
	"Commands:\n"
	"  list      List the devices\n"
	"  info      Show a device's configuration and state\n"
	"  flush     Flush devices: make their written data persistent\n"
	"  destroy   Flush and destroy devices\n"
	"  version   Show the versions of bdus, libbdus and kbdus\n"
	"  help      Show the help of a command\n"
	"\n"
	"Devices are named by id (7), name (bdus-7) or path (/dev/bdus-7).\n"
	"Run 'bdus <command> --help' for a command's options.\n"
	"Exit status: 0 on success, 1 on failure, 2 on a usage error.\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "destroy", cmd_destroy }, { "flush", cmd_flush },
	{ "info", cmd_info },	    { "list", cmd_list },
	{ "version", cmd_version },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	fprintf(stderr,
		"bdus: unknown command '%s'\nTry 'bdus --help'.\n", name);
	return EXIT_USAGE;
}

/* "bdus help [<command>]" is "bdus <command> --help". */
static int help(int argc, char **argv)
{
	const struct command *command;
	char help_option[] = "--help";
	char *args[] = { NULL, help_option, NULL };

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (argc > 2) {
		fprintf(stderr, "bdus help: too many arguments\n"
				"Try 'bdus --help'.\n");
		return EXIT_USAGE;
	}
	command = find_command(argv[1]);
	if (!command)
		return unknown_command(argv[1]);
	args[0] = argv[1];
	return command->run(2, args);
}

int main(int argc, char **argv)
{
	const struct command *command;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	if (strcmp(argv[1], "help") == 0)
		return help(argc - 1, argv + 1);
	if (argv[1][0] == '-') {
		fprintf(stderr, "bdus: unknown option '%s'\nTry 'bdus --help'.\n",
			argv[1]);
		return EXIT_USAGE;
	}

	command = find_command(argv[1]);
	if (!command)
		return unknown_command(argv[1]);
	return command->run(argc - 1, argv + 1);
}
