// SPDX-License-Identifier: MIT
/*
 * cmd-info.c - "bdus info" and "bdus list": what kbdus knows about devices,
 * for people (aligned text) and for scripts (one value per line, JSON).
 */

#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

/* The fields that "bdus info" can print on their own. */
enum field {
	FIELD_ID = 256,
	FIELD_PATH,
	FIELD_MAJOR,
	FIELD_MINOR,
	FIELD_SIZE,
	FIELD_LOGICAL_BLOCK_SIZE,
	FIELD_PHYSICAL_BLOCK_SIZE,
	FIELD_MAX_READ_WRITE_SIZE,
	FIELD_REQUESTS,
	FIELD_PROTOCOL,
	FIELD_QUEUES,
	FIELD_QUEUE_DEPTH,
	FIELD_REQUEST_TIMEOUT,
	FIELD_STATE,
	FIELD_DRIVER_PID,
	FIELD_RECOVERABLE,
	FIELD_JSON,
};

static const struct option info_options[] = {
	{ "id", no_argument, NULL, FIELD_ID },
	{ "path", no_argument, NULL, FIELD_PATH },
	{ "major", no_argument, NULL, FIELD_MAJOR },
	{ "minor", no_argument, NULL, FIELD_MINOR },
	{ "size", no_argument, NULL, FIELD_SIZE },
	{ "logical-block-size", no_argument, NULL, FIELD_LOGICAL_BLOCK_SIZE },
	{ "physical-block-size", no_argument, NULL, FIELD_PHYSICAL_BLOCK_SIZE },
	{ "max-read-write-size", no_argument, NULL, FIELD_MAX_READ_WRITE_SIZE },
	{ "requests", no_argument, NULL, FIELD_REQUESTS },
	{ "protocol", no_argument, NULL, FIELD_PROTOCOL },
	{ "queues", no_argument, NULL, FIELD_QUEUES },
	{ "queue-depth", no_argument, NULL, FIELD_QUEUE_DEPTH },
	{ "request-timeout", no_argument, NULL, FIELD_REQUEST_TIMEOUT },
	{ "state", no_argument, NULL, FIELD_STATE },
	{ "driver-pid", no_argument, NULL, FIELD_DRIVER_PID },
	{ "recoverable", no_argument, NULL, FIELD_RECOVERABLE },
	{ "json", no_argument, NULL, FIELD_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char info_help[] =
	"Usage: bdus info [<options>] <device>\n"
	"\n"
	"Show a device's configuration and state.  With field options, print\n"
	"only those fields' values, one per line, in the order given.\n"
	"\n"
	"A device is an id (7), a name (bdus-7) or a path (/dev/bdus-7).\n"
	"\n"
	"Field options:\n"
	"  --id --path --major --minor\n"
	"  --size --logical-block-size --physical-block-size\n"
	"  --max-read-write-size   in bytes\n"
	"  --requests              request types served, space-separated\n"
	"  --protocol              ioctl, mmap or uring\n"
	"  --queues --queue-depth\n"
	"  --request-timeout       in milliseconds\n"
	"  --state                 unavailable, active, inactive or terminated\n"
	"  --driver-pid            0 if the device has no driver\n"
	"  --recoverable           true or false\n"
	"\n"
	"Other options:\n"
	"  --json       Print every field as a JSON object\n"
	"  -h, --help   Show this help\n";

static const char list_help[] =
	"Usage: bdus list [<options>]\n"
	"\n"
	"List the devices, one per line: name, path, size, state, protocol and\n"
	"driver process id (- if none).\n"
	"\n"
	"Options:\n"
	"  --json       Print a JSON array with one object per device, as\n"
	"               'bdus info --json' prints them\n"
	"  -h, --help   Show this help\n";

static const char *yes_no(bool value)
{
	return value ? "true" : "false";
}

static void print_field(const struct bdus_dev_info *info, int field)
{
	char buf[256];

	switch (field) {
	case FIELD_ID:
		printf("%" PRIu64 "\n", (uint64_t)info->id);
		break;
	case FIELD_PATH:
		device_path(info, buf, sizeof(buf));
		printf("%s\n", buf);
		break;
	case FIELD_MAJOR:
		printf("%u\n", info->major);
		break;
	case FIELD_MINOR:
		printf("%u\n", info->minor);
		break;
	case FIELD_SIZE:
		printf("%" PRIu64 "\n", (uint64_t)info->size);
		break;
	case FIELD_LOGICAL_BLOCK_SIZE:
		printf("%u\n", info->logical_block_size);
		break;
	case FIELD_PHYSICAL_BLOCK_SIZE:
		printf("%u\n", info->physical_block_size);
		break;
	case FIELD_MAX_READ_WRITE_SIZE:
		printf("%u\n", info->max_read_write_size);
		break;
	case FIELD_REQUESTS:
		format_requests(info->requests, buf, sizeof(buf));
		printf("%s\n", buf);
		break;
	case FIELD_PROTOCOL:
		printf("%s\n", protocol_name(info->protocol));
		break;
	case FIELD_QUEUES:
		printf("%u\n", info->num_queues);
		break;
	case FIELD_QUEUE_DEPTH:
		printf("%u\n", info->queue_depth);
		break;
	case FIELD_REQUEST_TIMEOUT:
		printf("%u\n", info->request_timeout_ms);
		break;
	case FIELD_STATE:
		printf("%s\n", state_name(info->state));
		break;
	case FIELD_DRIVER_PID:
		printf("%u\n", info->driver_pid);
		break;
	case FIELD_RECOVERABLE:
		printf("%s\n", yes_no(info->flags & BDUS_DEV_RECOVERABLE));
		break;
	}
}

/* "limit" or "none". */
static const char *limit_text(uint32_t limit, char *buf, size_t size)
{
	if (!limit)
		return "none";
	snprintf(buf, size, "%u", limit);
	return buf;
}

static void print_zones_human(const struct bdus_dev_info *info)
{
	char buf[64], num[16];

	if (!(info->flags & BDUS_DEV_ZONED)) {
		printf("  %-22s %s\n", "zone model", "none");
		return;
	}
	printf("  %-22s %s\n", "zone model", "host-managed");
	format_size(info->zone_size, buf, sizeof(buf));
	printf("  %-22s %s x %" PRIu64 " (%u conventional)\n", "zones", buf,
	       info->size / info->zone_size, info->num_conventional_zones);
	printf("  %-22s %s\n", "max open zones",
	       limit_text(info->max_open_zones, num, sizeof(num)));
	printf("  %-22s %s\n", "max active zones",
	       limit_text(info->max_active_zones, num, sizeof(num)));
	format_size(info->max_zone_append_size, buf, sizeof(buf));
	printf("  %-22s %s\n", "max zone append size", buf);
}

static void print_human(const struct bdus_dev_info *info)
{
	char buf[256];

	printf("bdus-%" PRIu64 "\n", (uint64_t)info->id);
	device_path(info, buf, sizeof(buf));
	printf("  %-22s %s\n", "path", buf);
	printf("  %-22s %u:%u\n", "device number", info->major, info->minor);
	printf("  %-22s %s\n", "state", state_name(info->state));
	if (info->driver_pid)
		printf("  %-22s %u\n", "driver pid", info->driver_pid);
	else
		printf("  %-22s none\n", "driver pid");
	format_size(info->size, buf, sizeof(buf));
	printf("  %-22s %s (%" PRIu64 " bytes)\n", "size", buf,
	       (uint64_t)info->size);
	printf("  %-22s %u\n", "logical block size", info->logical_block_size);
	printf("  %-22s %u\n", "physical block size", info->physical_block_size);
	format_size(info->max_read_write_size, buf, sizeof(buf));
	printf("  %-22s %s\n", "max read/write size", buf);
	format_requests(info->requests, buf, sizeof(buf));
	printf("  %-22s %s\n", "requests", buf[0] ? buf : "none");
	printf("  %-22s %s\n", "protocol", protocol_name(info->protocol));
	printf("  %-22s %u x %u\n", "queues x depth", info->num_queues,
	       info->queue_depth);
	printf("  %-22s %u ms\n", "request timeout", info->request_timeout_ms);
	printf("  %-22s %s\n", "recoverable",
	       info->flags & BDUS_DEV_RECOVERABLE ? "yes" : "no");
	printf("  %-22s %s\n", "write cache",
	       !(info->flags & BDUS_DEV_WRITE_CACHE) ? "no" :
	       info->flags & BDUS_DEV_FUA	       ? "yes, with FUA" :
							 "yes");
	printf("  %-22s %s\n", "rotational",
	       info->flags & BDUS_DEV_ROTATIONAL ? "yes" : "no");
	printf("  %-22s %s\n", "partition scanning",
	       info->flags & BDUS_DEV_PARTITION_SCAN ? "yes" : "no");
	print_zones_human(info);
}

static void print_json_string(const char *text)
{
	putchar('"');
	for (; *text; text++) {
		if (*text == '"' || *text == '\\')
			printf("\\%c", *text);
		else if ((unsigned char)*text < 0x20)
			printf("\\u%04x", (unsigned char)*text);
		else
			putchar(*text);
	}
	putchar('"');
}

static void print_json(const struct bdus_dev_info *info)
{
	char buf[256];

	printf("{\"id\":%" PRIu64 ",\"path\":", (uint64_t)info->id);
	device_path(info, buf, sizeof(buf));
	print_json_string(buf);
	printf(",\"major\":%u,\"minor\":%u,\"size\":%" PRIu64, info->major,
	       info->minor, (uint64_t)info->size);
	printf(",\"logical_block_size\":%u,\"physical_block_size\":%u",
	       info->logical_block_size, info->physical_block_size);
	printf(",\"max_read_write_size\":%u,\"max_write_zeros_size\":%u",
	       info->max_read_write_size, info->max_write_zeros_size);
	printf(",\"max_discard_erase_size\":%u,\"requests\":[",
	       info->max_discard_erase_size);
	format_requests(info->requests, buf, sizeof(buf));
	for (char *name = strtok(buf, " "); name; name = strtok(NULL, " ")) {
		if (name != buf)
			putchar(',');
		print_json_string(name);
	}
	printf("],\"protocol\":\"%s\",\"queues\":%u,\"queue_depth\":%u",
	       protocol_name(info->protocol), info->num_queues, info->queue_depth);
	printf(",\"request_timeout_ms\":%u,\"state\":\"%s\",\"driver_pid\":%u",
	       info->request_timeout_ms, state_name(info->state),
	       info->driver_pid);
	printf(",\"recoverable\":%s,\"write_cache\":%s,\"fua\":%s",
	       yes_no(info->flags & BDUS_DEV_RECOVERABLE),
	       yes_no(info->flags & BDUS_DEV_WRITE_CACHE),
	       yes_no(info->flags & BDUS_DEV_FUA));
	printf(",\"rotational\":%s,\"partition_scanning\":%s",
	       yes_no(info->flags & BDUS_DEV_ROTATIONAL),
	       yes_no(info->flags & BDUS_DEV_PARTITION_SCAN));
	if (info->flags & BDUS_DEV_ZONED)
		printf(",\"zoned\":{\"zone_size\":%" PRIu64
		       ",\"conventional_zones\":%u,\"max_open_zones\":%u"
		       ",\"max_active_zones\":%u,\"max_zone_append_size\":%u}}",
		       (uint64_t)info->zone_size, info->num_conventional_zones,
		       info->max_open_zones, info->max_active_zones,
		       info->max_zone_append_size);
	else
		printf(",\"zoned\":null}");
}

/* ------------------------------------------------------------------------- */

static int show_info(const char *spec, const int *fields, int num_fields,
		     bool json)
{
	struct bdus_dev_info info;
	uint64_t id;

	if (!check_device_spec(spec) ||
	    resolve_device(spec, &id, &info, true) != RESOLVED)
		return EXIT_FAILED;

	if (json) {
		print_json(&info);
		putchar('\n');
	} else if (num_fields == 0) {
		print_human(&info);
	}
	for (int i = 0; i < num_fields; i++)
		print_field(&info, fields[i]);
	return EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
	int fields[64];
	int num_fields = 0, opt;
	bool json = false;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", info_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(info_help, stdout);
			return EXIT_OK;
		} else if (opt == FIELD_JSON) {
			json = true;
		} else if (opt >= FIELD_ID && opt < FIELD_JSON) {
			if (num_fields == 64)
				return usage_error("info", "too many fields");
			fields[num_fields++] = opt;
		} else {
			return bad_option("info", argv, opt);
		}
	}
	if (json && num_fields > 0)
		return usage_error("info", "--json prints every field: give "
					   "no field options with it");
	if (optind >= argc)
		return usage_error("info", "missing the device");
	if (argc - optind > 1)
		return usage_error("info", "one device at a time");
	return show_info(argv[optind], fields, num_fields, json);
}

/* ------------------------------------------------------------------------- */

static void print_list_line(const struct bdus_dev_info *info)
{
	char name[32], path[256], size[32], pid[16];

	snprintf(name, sizeof(name), "bdus-%" PRIu64, (uint64_t)info->id);
	device_path(info, path, sizeof(path));
	format_size(info->size, size, sizeof(size));
	if (info->driver_pid)
		snprintf(pid, sizeof(pid), "%u", info->driver_pid);
	else
		snprintf(pid, sizeof(pid), "-");
	printf("%-10s %-16s %10s  %-11s %-6s %s\n", name, path, size,
	       state_name(info->state), protocol_name(info->protocol),
	       pid);
}

static int list_devices(bool json)
{
	struct bdus_dev_info info;
	uint64_t id = 0;
	int count = 0;

	for (; bdus_get_next_dev_id(&id); id++) {
		if (bdus_get_dev_info(id, &info)) { /* else: just destroyed */
			if (json) {
				fputs(count ? ",\n" : "[\n", stdout);
				print_json(&info);
			} else {
				print_list_line(&info);
			}
			count++;
		}
		if (id == UINT64_MAX) {
			errno = ENODEV; /* no id after it */
			break;
		}
	}
	if (errno != ENODEV) {
		if (json && count)
			fputs("\n]\n", stdout);
		error("%s", bdus_get_error_message());
		return EXIT_FAILED;
	}
	if (json)
		fputs(count ? "\n]\n" : "[]\n", stdout);
	return EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(list_help, stdout);
			return EXIT_OK;
		} else if (opt == 'j') {
			json = true;
		} else {
			return bad_option("list", argv, opt);
		}
	}
	if (optind < argc)
		return usage_error("list", "unexpected argument '%s'",
				   argv[optind]);
	return list_devices(json);
}
