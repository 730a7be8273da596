// SPDX-License-Identifier: MIT
/*
 * zoned.c - bdus-zoned: a host-managed zoned device in memory, or in a
 * file (--store) that outlives the driver.
 *
 * What it shows a driver author:
 *   - declaring a zoned device (ext zone_size and its limits) and serving
 *     the zone requests: zone_manage, zone_append and report_zones;
 *   - keeping every zone's write pointer and condition, and enforcing the
 *     rules the kernel and zoned file systems expect, as ZBC and null_blk's
 *     zoned mode do: sequential zones take writes only at their write
 *     pointer; a write opens a zone implicitly; at most max_open_zones are
 *     open (an implicitly open one is closed to make room) and at most
 *     max_active_zones open or closed; a full zone takes no writes;
 *   - the errors that go with them: EIO for a bad write, ETOOMANYREFS and
 *     EOVERFLOW for the open and active limits.
 * One lock serializes the zone state: requests may run concurrently
 * (--concurrency), but a zone's writes must not.
 *
 * Usage: bdus-zoned [options] SIZE
 */

#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help_text[] =
	"Usage: bdus-zoned [<options>] <size>\n"
	"\n"
	"Create a host-managed zoned block device that keeps its data in\n"
	"memory, and print its path once it is available.  The data is lost\n"
	"when the driver stops, unless --store keeps it in a file.\n"
	"\n"
	"  <size>                The device's size in bytes, with an optional\n"
	"                        K, M, G or T suffix: a multiple of the zone\n"
	"                        size.\n"
	"\n"
	"  --zone-size <bytes>   Zone size: a power of two of at least 4K\n"
	"                        (default 4M).\n"
	"  --conventional <n>    The first n zones take writes anywhere\n"
	"                        (default 0).\n"
	"  --max-open <n>        At most n zones open at once (default 0:\n"
	"                        no limit).\n"
	"  --max-active <n>      At most n zones open or closed at once\n"
	"                        (default 0: no limit).\n"
	"  --store <file>        Keep the data and every zone's state in\n"
	"                        <file> (created if missing, e.g. in /dev/shm),\n"
	"                        so that a later driver finds them: with\n"
	"                        --recoverable and --rerun after a crash, or\n"
	"                        for a live replacement.\n"
	"\n";

enum {
	OPT_ZONE_SIZE = OPT_FIRST_DRIVER_SPECIFIC,
	OPT_CONVENTIONAL,
	OPT_MAX_OPEN,
	OPT_MAX_ACTIVE,
	OPT_STORE,
};

/* Fixed-size, as it may live in a --store file. */
struct zone {
	uint64_t write_pointer; /* bytes from the start of the device */
	uint8_t condition; /* BDUS_ZONE_COND_* */
	uint8_t reserved[7];
};

/*
 * A --store file: this header, the zone table and the data, each starting
 * on a page boundary.  The header is written last when the file is new, so
 * a file whose magic is still zero was never set up.  Data is written
 * before the write pointer moves past it: a driver killed in between
 * leaves the pointer where it was, and kbdus fails the write it held.
 */
#define STORE_MAGIC "BDUSZNE1"

struct store_header {
	char magic[8];
	uint64_t size;
	uint64_t zone_size;
	uint32_t nr_conventional;
	uint32_t reserved;
};

#define STORE_ALIGN 4096u

struct zoned {
	void *map; /* the header, the zone table and the data */
	uint64_t map_size;
	char *memory; /* the data */
	uint64_t size;
	uint64_t zone_size;
	uint32_t nr_zones;
	uint32_t nr_conventional;
	uint32_t max_open; /* 0: no limit */
	uint32_t max_active; /* 0: no limit */
	pthread_mutex_t lock; /* protects zones */
	struct zone *zones; /* in map */
};

static struct zoned *zoned_of(struct bdus_ctx *ctx)
{
	return ctx->private_data;
}

static uint64_t zone_start(const struct zoned *z, uint32_t index)
{
	return (uint64_t)index * z->zone_size;
}

static bool is_open(uint8_t condition)
{
	return condition == BDUS_ZONE_COND_IMP_OPEN ||
	       condition == BDUS_ZONE_COND_EXP_OPEN;
}

/* Zones open (and, if active, also closed) now. */
static uint32_t count_zones(const struct zoned *z, bool active)
{
	uint32_t n = 0;

	for (uint32_t i = z->nr_conventional; i < z->nr_zones; i++)
		n += is_open(z->zones[i].condition) ||
		     (active && z->zones[i].condition == BDUS_ZONE_COND_CLOSED);
	return n;
}

/* Opens a sequential zone, explicitly or for a write, within the limits.
 * Under the lock. */
static int open_zone(struct zoned *z, uint32_t index, bool explicit)
{
	struct zone *zone = &z->zones[index];
	uint32_t i;

	if (zone->condition == BDUS_ZONE_COND_FULL)
		return explicit ? 0 : EIO; /* opening a full zone: no-op */
	if (is_open(zone->condition)) {
		if (explicit)
			zone->condition = BDUS_ZONE_COND_EXP_OPEN;
		return 0;
	}
	/* An empty zone becomes active; a closed one already is. */
	if (zone->condition == BDUS_ZONE_COND_EMPTY && z->max_active &&
	    count_zones(z, true) >= z->max_active)
		return EOVERFLOW;
	if (z->max_open && count_zones(z, false) >= z->max_open) {
		/* Make room by closing an implicitly open zone, if any. */
		for (i = z->nr_conventional; i < z->nr_zones; i++)
			if (z->zones[i].condition == BDUS_ZONE_COND_IMP_OPEN)
				break;
		if (i == z->nr_zones)
			return ETOOMANYREFS;
		z->zones[i].condition = BDUS_ZONE_COND_CLOSED;
	}
	zone->condition = explicit ? BDUS_ZONE_COND_EXP_OPEN :
				     BDUS_ZONE_COND_IMP_OPEN;
	return 0;
}

static void reset_zone(struct zoned *z, uint32_t index)
{
	/* Reads of a reset zone return zeros. */
	memset(z->memory + zone_start(z, index), 0, z->zone_size);
	z->zones[index].write_pointer = zone_start(z, index);
	z->zones[index].condition = BDUS_ZONE_COND_EMPTY;
}

/* Writes size bytes at *offset (at the write pointer if append, and then
 * *offset is where they went).  Under the lock. */
static int write_locked(struct zoned *z, const char *data, uint64_t *offset,
			uint32_t size, bool append)
{
	uint32_t index = (uint32_t)(*offset / z->zone_size);
	struct zone *zone = &z->zones[index];
	uint64_t end = zone_start(z, index) + z->zone_size;
	int ret;

	if (index < z->nr_conventional) {
		if (append)
			return EIO; /* conventional zones have no pointer */
		memcpy(z->memory + *offset, data, size);
		return 0;
	}
	if (append)
		*offset = zone->write_pointer;
	if (zone->condition == BDUS_ZONE_COND_FULL ||
	    *offset != zone->write_pointer || size > end - *offset)
		return EIO;
	ret = open_zone(z, index, false);
	if (ret)
		return ret;
	memcpy(z->memory + *offset, data, size);
	zone->write_pointer += size;
	if (zone->write_pointer == end)
		zone->condition = BDUS_ZONE_COND_FULL; /* no longer active */
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Callbacks */

static uint64_t store_align(uint64_t bytes)
{
	return (bytes + STORE_ALIGN - 1) / STORE_ALIGN * STORE_ALIGN;
}

/* Maps the state: anonymous memory, or the --store file (path). */
static int zoned_map(struct zoned *z, const char *path)
{
	struct stat st;
	int fd, err;

	if (!path) {
		/* MAP_NORESERVE: untouched pages cost nothing, read as 0. */
		z->map = mmap(NULL, z->map_size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			      0);
		return z->map == MAP_FAILED ? ENOMEM : 0;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) != 0) {
		err = errno;
		fprintf(stderr, "bdus-zoned: %s: %s\n", path, strerror(err));
		goto out;
	}
	if (st.st_size == 0 && ftruncate(fd, (off_t)z->map_size) != 0) {
		err = errno;
		fprintf(stderr, "bdus-zoned: %s: cannot grow it to %llu bytes: %s\n",
			path, (unsigned long long)z->map_size, strerror(err));
		goto out;
	}
	if (st.st_size != 0 && (uint64_t)st.st_size != z->map_size) {
		fprintf(stderr, "bdus-zoned: %s: holds %lld bytes, but this device needs %llu: another geometry's store?\n",
			path, (long long)st.st_size,
			(unsigned long long)z->map_size);
		err = EINVAL;
		goto out;
	}
	z->map = mmap(NULL, z->map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      fd, 0);
	err = z->map == MAP_FAILED ? errno : 0;
out:
	if (fd >= 0)
		close(fd);
	return err;
}

/* A new state (every zone empty), or the check that a stored one is this
 * device's. */
static int zoned_load(struct zoned *z, const char *path)
{
	struct store_header *header = z->map;
	static const char unset[sizeof(header->magic)];

	if (path && memcmp(header->magic, unset, sizeof(unset)) != 0) {
		if (memcmp(header->magic, STORE_MAGIC, sizeof(header->magic)) ||
		    header->size != z->size ||
		    header->zone_size != z->zone_size ||
		    header->nr_conventional != z->nr_conventional) {
			fprintf(stderr, "bdus-zoned: %s: not the store of a device of this size, zone size and conventional zones\n",
				path);
			return EINVAL;
		}
		return 0;
	}
	for (uint32_t i = 0; i < z->nr_zones; i++) {
		z->zones[i].write_pointer = zone_start(z, i);
		z->zones[i].condition = i < z->nr_conventional ?
						BDUS_ZONE_COND_NOT_WP :
						BDUS_ZONE_COND_EMPTY;
	}
	header->size = z->size;
	header->zone_size = z->zone_size;
	header->nr_conventional = z->nr_conventional;
	memcpy(header->magic, STORE_MAGIC, sizeof(header->magic));
	return 0;
}

static int zoned_initialize(struct bdus_ctx *ctx)
{
	const struct bdus_ext_attrs *ext = ctx->ext;
	const char *path = ctx->private_data; /* --store, or NULL */
	struct zoned *z = calloc(1, sizeof(*z));
	uint64_t table_offset, data_offset;
	int err;

	if (!z)
		return ENOMEM;
	z->size = ctx->attrs->size;
	z->zone_size = ext->zone_size;
	z->nr_zones = (uint32_t)(z->size / z->zone_size);
	z->nr_conventional = ext->num_conventional_zones;
	z->max_open = ext->max_open_zones;
	z->max_active = ext->max_active_zones;
	table_offset = store_align(sizeof(struct store_header));
	data_offset = table_offset +
		      store_align((uint64_t)z->nr_zones * sizeof(struct zone));
	z->map_size = data_offset + z->size;
	err = zoned_map(z, path);
	if (err) {
		free(z);
		return err;
	}
	z->zones = (struct zone *)((char *)z->map + table_offset);
	z->memory = (char *)z->map + data_offset;
	err = zoned_load(z, path);
	if (err) {
		munmap(z->map, z->map_size);
		free(z);
		return err;
	}
	pthread_mutex_init(&z->lock, NULL);
	ctx->private_data = z;
	return 0;
}

static int zoned_terminate(struct bdus_ctx *ctx)
{
	struct zoned *z = zoned_of(ctx);

	munmap(z->map, z->map_size);
	pthread_mutex_destroy(&z->lock);
	free(z);
	return 0;
}

static int zoned_read(char *buffer, uint64_t offset, uint32_t size,
		      struct bdus_ctx *ctx)
{
	struct zoned *z = zoned_of(ctx);

	/* Concurrent with writes to the same range as on any disk: the
	 * lock is for the zone state, which reads do not change. */
	memcpy(buffer, z->memory + offset, size);
	return 0;
}

static int zoned_write(const char *buffer, uint64_t offset, uint32_t size,
		       struct bdus_ctx *ctx)
{
	struct zoned *z = zoned_of(ctx);
	int ret;

	pthread_mutex_lock(&z->lock);
	ret = write_locked(z, buffer, &offset, size, false);
	pthread_mutex_unlock(&z->lock);
	return ret;
}

static int zoned_append(const char *buffer, uint64_t zone_offset,
			uint32_t size, uint64_t *offset, struct bdus_ctx *ctx)
{
	struct zoned *z = zoned_of(ctx);
	int ret;

	*offset = zone_offset;
	pthread_mutex_lock(&z->lock);
	ret = write_locked(z, buffer, offset, size, true);
	pthread_mutex_unlock(&z->lock);
	return ret;
}

static int manage_locked(struct zoned *z, uint32_t op, uint64_t offset)
{
	uint32_t index = (uint32_t)(offset / z->zone_size);
	struct zone *zone = &z->zones[index];

	if (op == BDUS_ZONE_RESET_ALL) {
		for (uint32_t i = z->nr_conventional; i < z->nr_zones; i++)
			reset_zone(z, i);
		return 0;
	}
	if (index < z->nr_conventional)
		return EIO; /* nothing to manage */

	switch (op) {
	case BDUS_ZONE_OPEN:
		return open_zone(z, index, true);
	case BDUS_ZONE_CLOSE:
		if (is_open(zone->condition))
			zone->condition =
				zone->write_pointer == zone_start(z, index) ?
					BDUS_ZONE_COND_EMPTY :
					BDUS_ZONE_COND_CLOSED;
		return 0;
	case BDUS_ZONE_FINISH:
		zone->write_pointer = zone_start(z, index) + z->zone_size;
		zone->condition = BDUS_ZONE_COND_FULL;
		return 0;
	case BDUS_ZONE_RESET:
		reset_zone(z, index);
		return 0;
	default:
		return EOPNOTSUPP;
	}
}

static int zoned_manage(uint32_t op, uint64_t offset, struct bdus_ctx *ctx)
{
	struct zoned *z = zoned_of(ctx);
	int ret;

	pthread_mutex_lock(&z->lock);
	ret = manage_locked(z, op, offset);
	pthread_mutex_unlock(&z->lock);
	return ret;
}

static int zoned_report(struct bdus_zone *zones, uint64_t offset,
			uint32_t count, struct bdus_ctx *ctx)
{
	struct zoned *z = zoned_of(ctx);
	uint32_t first = (uint32_t)(offset / z->zone_size);

	pthread_mutex_lock(&z->lock);
	for (uint32_t n = 0; n < count; n++) {
		const struct zone *zone = &z->zones[first + n];

		bdus_zone_fill(&zones[n], zone_start(z, first + n),
			       zone->write_pointer, zone->condition, ctx);
	}
	pthread_mutex_unlock(&z->lock);
	return 0;
}

/* A volatile cache is declared so that file systems may flush; memory has
 * nothing to write back. */
static int zoned_flush(struct bdus_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static const struct bdus_ops zoned_ops = {
	.initialize = zoned_initialize,
	.terminate = zoned_terminate,
	.read = zoned_read,
	.write = zoned_write,
	.flush = zoned_flush,
};

/* ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		DRIVER_COMMON_OPTIONS,
		{ "zone-size", required_argument, NULL, OPT_ZONE_SIZE },
		{ "conventional", required_argument, NULL, OPT_CONVENTIONAL },
		{ "max-open", required_argument, NULL, OPT_MAX_OPEN },
		{ "max-active", required_argument, NULL, OPT_MAX_ACTIVE },
		{ "store", required_argument, NULL, OPT_STORE },
		{ NULL, 0, NULL, 0 },
	};
	struct driver_options options;
	struct bdus_ext_attrs *ext;
	const char *store_path = NULL;
	int opt, handled;
	bool ok = true;

	driver_options_init(&options, "bdus-zoned");
	ext = &options.ext;
	ext->zone_manage = zoned_manage;
	ext->zone_append = zoned_append;
	ext->report_zones = zoned_report;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) !=
	       -1) {
		switch (opt) {
		case 'h':
			printf("%s%s", help_text, driver_common_help);
			return 0;
		case OPT_ZONE_SIZE:
			ok = parse_size(optarg, &ext->zone_size);
			break;
		case OPT_CONVENTIONAL:
			ok = parse_u32(optarg, 0, UINT32_MAX,
				       &ext->num_conventional_zones);
			break;
		case OPT_MAX_OPEN:
			ok = parse_u32(optarg, 0, UINT32_MAX,
				       &ext->max_open_zones);
			break;
		case OPT_MAX_ACTIVE:
			ok = parse_u32(optarg, 0, UINT32_MAX,
				       &ext->max_active_zones);
			break;
		case OPT_STORE:
			store_path = optarg;
			break;
		default:
			handled = driver_parse_common(&options, opt, optarg);
			if (handled < 0)
				return 2;
			if (handled == 0)
				return driver_bad_option(&options, argv, opt);
			continue;
		}
		if (!ok)
			return driver_usage_error(&options,
						  "invalid value '%s' for %s",
						  optarg, argv[optind - 1]);
	}

	if (!driver_parse_size_operand(&options, argc, argv))
		return 2;
	/* With --rerun, 0 means the device's. */
	if (!ext->zone_size && !options.rerun)
		ext->zone_size = 4 << 20;

	return driver_run(&options, &zoned_ops, (void *)store_path);
}
