// SPDX-License-Identifier: MIT
/*
 * zoned.c - zoned devices (bdus_ext_attrs.zone_size and the zone
 * callbacks): their checks, naming the attribute at fault, their share of
 * the kbdus configuration and of the effective attributes, and the report
 * helper.  The callbacks run from sync/dispatch.c.
 */

#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

_Static_assert(sizeof(struct bdus_zone) == sizeof(struct kbdus_zone),
	       "a report's payload is an array of either");
_Static_assert(BDUS_ZONE_COND_FULL == KBDUS_ZONE_COND_FULL &&
		       BDUS_ZONE_COND_OFFLINE == KBDUS_ZONE_COND_OFFLINE &&
		       BDUS_ZONE_TYPE_SEQ_WRITE_REQUIRED ==
			       KBDUS_ZONE_TYPE_SEQ_WRITE_REQUIRED,
	       "zone conditions and types pass through");

static bool any_zoned_field(const struct bdus_ext_attrs *ext,
			    const char **name)
{
	if (ext->num_conventional_zones)
		*name = "num_conventional_zones";
	else if (ext->max_open_zones)
		*name = "max_open_zones";
	else if (ext->max_active_zones)
		*name = "max_active_zones";
	else if (ext->max_zone_append_size)
		*name = "max_zone_append_size";
	else if (ext->zone_manage)
		*name = "zone_manage";
	else if (ext->zone_append)
		*name = "zone_append";
	else if (ext->report_zones)
		*name = "report_zones";
	else
		return false;
	return true;
}

/* What a zoned device cannot serve. */
static const char *refused_op(const struct bdus_ops *ops)
{
	return ops->write_zeros  ? "write_zeros" :
	       ops->discard	 ? "discard" :
	       ops->secure_erase ? "secure_erase" :
	       ops->write_same	 ? "write_same" :
				   NULL;
}

bool bdus_validate_zoned(const struct bdus_ops *ops,
			 const struct bdus_attrs *attrs,
			 const struct bdus_ext_attrs *ext)
{
	uint64_t zone = ext->zone_size, nr_zones, nr_seq;
	const char *name;

	if (!zone) {
		if (any_zoned_field(ext, &name))
			return bdus_fail(EINVAL,
					 "ext %s is set but zone_size is 0 (the "
					 "device is not zoned)",
					 name);
		return true;
	}

	if (zone < 4096 || (zone & (zone - 1)) ||
	    zone < attrs->physical_block_size)
		return bdus_fail(EINVAL,
				 "ext zone_size must be a power of two of at "
				 "least 4096 bytes and the physical block size, "
				 "got %" PRIu64,
				 zone);
	if (attrs->size % zone)
		return bdus_fail(EINVAL,
				 "ext zone_size (%" PRIu64 ") must divide the "
				 "size (%" PRIu64 " bytes)",
				 zone, attrs->size);
	nr_zones = attrs->size / zone;
	if (nr_zones > UINT32_MAX)
		return bdus_fail(EINVAL,
				 "the device would have %" PRIu64 " zones; at "
				 "most %" PRIu32 " (a larger ext zone_size)",
				 nr_zones, UINT32_MAX);
	if (ext->num_conventional_zones >= nr_zones)
		return bdus_fail(EINVAL,
				 "ext num_conventional_zones (%" PRIu32 ") must "
				 "be fewer than the %" PRIu64 " zones",
				 ext->num_conventional_zones, nr_zones);
	nr_seq = nr_zones - ext->num_conventional_zones;
	if (ext->max_open_zones > nr_seq || ext->max_active_zones > nr_seq)
		return bdus_fail(EINVAL,
				 "ext %s (%" PRIu32 ") must be at most the %" PRIu64
				 " sequential zones",
				 ext->max_open_zones > nr_seq ? "max_open_zones" :
								"max_active_zones",
				 ext->max_open_zones > nr_seq ?
					 ext->max_open_zones :
					 ext->max_active_zones,
				 nr_seq);
	if (ext->max_open_zones && ext->max_active_zones &&
	    ext->max_open_zones > ext->max_active_zones)
		return bdus_fail(EINVAL,
				 "ext max_open_zones (%" PRIu32 ") must not "
				 "exceed max_active_zones (%" PRIu32 ")",
				 ext->max_open_zones, ext->max_active_zones);
	if (ext->max_zone_append_size % attrs->logical_block_size)
		return bdus_fail(EINVAL,
				 "ext max_zone_append_size (%" PRIu32 ") must be "
				 "a multiple of the logical block size",
				 ext->max_zone_append_size);

	name = !ops->read	     ? "ops->read" :
	       !ops->write	     ? "ops->write" :
	       !ext->zone_manage   ? "ext zone_manage" :
	       !ext->zone_append   ? "ext zone_append" :
	       !ext->report_zones  ? "ext report_zones" :
				     NULL;
	if (name)
		return bdus_fail(EINVAL, "a zoned device needs %s", name);
	name = refused_op(ops);
	if (name)
		return bdus_fail(EINVAL,
				 "a zoned device cannot have ops->%s: "
				 "sequential zones take writes only at their "
				 "write pointer",
				 name);
	return true;
}

uint32_t bdus_zone_requests(const struct bdus_ext_attrs *ext)
{
	uint32_t mask = 0;

	if (ext->zone_manage)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_ZONE_OPEN) |
			KBDUS_REQ_BIT(KBDUS_REQ_ZONE_CLOSE) |
			KBDUS_REQ_BIT(KBDUS_REQ_ZONE_FINISH) |
			KBDUS_REQ_BIT(KBDUS_REQ_ZONE_RESET) |
			KBDUS_REQ_BIT(KBDUS_REQ_ZONE_RESET_ALL);
	if (ext->zone_append)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_ZONE_APPEND);
	if (ext->report_zones)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_REPORT_ZONES);
	return ext->zone_size ? mask : 0;
}

void bdus_config_zoned(struct kbdus_device_config *config,
		       const struct bdus_ext_attrs *ext)
{
	if (!ext->zone_size)
		return;
	/* Linux reads no partition table on a host-managed device. */
	config->flags = (config->flags & ~KBDUS_CONFIG_PARTITION_SCAN) |
			KBDUS_CONFIG_ZONED;
	config->supported_requests |= bdus_zone_requests(ext);
	config->zone_size = ext->zone_size;
	config->num_conventional_zones = ext->num_conventional_zones;
	config->max_open_zones = ext->max_open_zones;
	config->max_active_zones = ext->max_active_zones;
	config->max_zone_append_size = ext->max_zone_append_size;
}

void bdus_effective_zoned(struct bdus_ext_attrs *ext,
			  const struct kbdus_device_config *config)
{
	if (!(config->flags & KBDUS_CONFIG_ZONED)) {
		ext->zone_size = 0;
		ext->num_conventional_zones = 0;
		ext->max_open_zones = 0;
		ext->max_active_zones = 0;
		ext->max_zone_append_size = 0;
		return;
	}
	ext->zone_size = config->zone_size;
	ext->num_conventional_zones = config->num_conventional_zones;
	ext->max_open_zones = config->max_open_zones;
	ext->max_active_zones = config->max_active_zones;
	ext->max_zone_append_size = config->max_zone_append_size;
}

/* The zone operation of a zone management request type. */
uint32_t bdus_zone_op(uint32_t type)
{
	switch (type) {
	case KBDUS_REQ_ZONE_OPEN:
		return BDUS_ZONE_OPEN;
	case KBDUS_REQ_ZONE_CLOSE:
		return BDUS_ZONE_CLOSE;
	case KBDUS_REQ_ZONE_FINISH:
		return BDUS_ZONE_FINISH;
	case KBDUS_REQ_ZONE_RESET:
		return BDUS_ZONE_RESET;
	default:
		return BDUS_ZONE_RESET_ALL;
	}
}

BDUS_API void bdus_zone_fill(struct bdus_zone *zone, uint64_t start,
			     uint64_t write_pointer, uint8_t condition,
			     const struct bdus_ctx *ctx)
{
	const struct bdus_ext_attrs *ext = ctx->ext;
	uint64_t size = ext->zone_size;

	memset(zone, 0, sizeof(*zone));
	zone->start = start;
	zone->length = size;
	zone->capacity = size;
	zone->write_pointer = write_pointer;
	zone->condition = condition;
	zone->type = size && start / size < ext->num_conventional_zones ?
			     BDUS_ZONE_TYPE_CONVENTIONAL :
			     BDUS_ZONE_TYPE_SEQ_WRITE_REQUIRED;
}
