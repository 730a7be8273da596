// SPDX-License-Identifier: MIT
/*
 * validate.c - checks callbacks and attributes before any device exists.
 *
 * kbdus validates the device configuration too, but only answers EINVAL.
 * Checking here first, with the same rules as the UAPI comments, lets the
 * error message name the field and the rule it breaks.
 */

#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

bool bdus_validate_ops(const struct bdus_ops *ops)
{
	if (!ops)
		return bdus_fail(EINVAL, "ops must not be NULL");
	if (ops->fua_write && !ops->flush)
		return bdus_fail(EINVAL,
				 "the fua_write callback requires the flush "
				 "callback: a device with FUA writes has a write "
				 "cache that must be flushable");
	return true;
}

static bool validate_block_sizes(const struct bdus_attrs *attrs,
				 uint32_t page_size)
{
	uint32_t lbs = attrs->logical_block_size;
	uint32_t pbs = attrs->physical_block_size;

	if (!bdus_is_power_of_two(lbs) || lbs < 512 || lbs > page_size)
		return bdus_fail(EINVAL,
				 "logical_block_size must be a power of two "
				 "between 512 and the page size (%" PRIu32
				 "), got %" PRIu32,
				 page_size, lbs);

	if (pbs != 0 &&
	    (!bdus_is_power_of_two(pbs) || pbs < lbs || pbs > page_size))
		return bdus_fail(EINVAL,
				 "physical_block_size must be 0 or a power of "
				 "two between logical_block_size (%" PRIu32
				 ") and the page size (%" PRIu32 "), got %" PRIu32,
				 lbs, page_size, pbs);
	return true;
}

static bool validate_max_size(const char *name, uint32_t value,
			      uint32_t minimum, const char *minimum_name)
{
	if (value != 0 && value < minimum)
		return bdus_fail(EINVAL,
				 "%s must be 0 or at least %s (%" PRIu32
				 "), got %" PRIu32,
				 name, minimum_name, minimum, value);
	return true;
}

bool bdus_validate_attrs_for_run(const struct bdus_attrs *attrs)
{
	uint32_t page_size = (uint32_t)bdus_page_size();
	uint32_t lbs, pbs;

	if (!attrs)
		return bdus_fail(EINVAL, "attrs must not be NULL");
	if (!validate_block_sizes(attrs, page_size))
		return false;

	lbs = attrs->logical_block_size;
	pbs = attrs->physical_block_size ? attrs->physical_block_size : lbs;

	if (attrs->size > (uint64_t)INT64_MAX)
		return bdus_fail(EINVAL,
				 "size must be at most %" PRId64 " (2^63 - 1), "
				 "got %" PRIu64,
				 INT64_MAX, attrs->size);
	if (attrs->size == 0 || attrs->size % pbs != 0)
		return bdus_fail(EINVAL,
				 "size must be a positive multiple of "
				 "physical_block_size (%" PRIu32 "), got %" PRIu64,
				 pbs, attrs->size);

	return validate_max_size("max_read_write_size",
				 attrs->max_read_write_size, page_size,
				 "the page size") &&
	       validate_max_size("max_write_same_size",
				 attrs->max_write_same_size, lbs,
				 "logical_block_size") &&
	       validate_max_size("max_write_zeros_size",
				 attrs->max_write_zeros_size, lbs,
				 "logical_block_size") &&
	       validate_max_size("max_discard_erase_size",
				 attrs->max_discard_erase_size, lbs,
				 "logical_block_size");
}

bool bdus_validate_ext(const struct bdus_ext_attrs *ext)
{
	if (ext->protocol > BDUS_PROTOCOL_URING)
		return bdus_fail(EINVAL,
				 "ext protocol must be BDUS_PROTOCOL_DEFAULT, "
				 "_IOCTL, _MMAP or _URING, got %" PRIu32,
				 ext->protocol);
	if (ext->num_queues > KBDUS_MAX_QUEUES)
		return bdus_fail(EINVAL,
				 "ext num_queues must be between 0 (default) and "
				 "%d, got %" PRIu32,
				 KBDUS_MAX_QUEUES, ext->num_queues);
	if (ext->queue_depth > KBDUS_MAX_QUEUE_DEPTH)
		return bdus_fail(EINVAL,
				 "ext queue_depth must be between 0 (default) "
				 "and %d, got %" PRIu32,
				 KBDUS_MAX_QUEUE_DEPTH, ext->queue_depth);
	if (ext->request_timeout_ms != 0 &&
	    (ext->request_timeout_ms < KBDUS_MIN_REQUEST_TIMEOUT_MS ||
	     ext->request_timeout_ms > KBDUS_MAX_REQUEST_TIMEOUT_MS))
		return bdus_fail(EINVAL,
				 "ext request_timeout_ms must be 0 (default) or "
				 "between %u and %u, got %" PRIu32,
				 KBDUS_MIN_REQUEST_TIMEOUT_MS,
				 KBDUS_MAX_REQUEST_TIMEOUT_MS,
				 ext->request_timeout_ms);
	if (ext->flags & ~BDUS_EXT_ROTATIONAL)
		return bdus_fail(EINVAL,
				 "ext flags has unknown bits 0x%" PRIx32,
				 ext->flags & ~BDUS_EXT_ROTATIONAL);
	if (ext->poll_us > BDUS_MAX_POLL_US)
		return bdus_fail(EINVAL,
				 "ext poll_us must be between 0 (no polling) "
				 "and %u, got %" PRIu32,
				 BDUS_MAX_POLL_US, ext->poll_us);
	if (ext->poll_us != 0 && (ext->protocol == BDUS_PROTOCOL_IOCTL ||
				  ext->protocol == BDUS_PROTOCOL_MMAP))
		return bdus_fail(EINVAL,
				 "ext poll_us needs the uring protocol (or the "
				 "default), not %s",
				 bdus_protocol_name(ext->protocol));
	if (ext->reserved0)
		return bdus_fail(EINVAL, "ext reserved0 must be zero");
	if (!ext->alloc_buffers != !ext->free_buffers)
		return bdus_fail(EINVAL, "ext %s is set without %s: set both "
					 "or neither",
				 ext->alloc_buffers ? "alloc_buffers" :
						      "free_buffers",
				 ext->alloc_buffers ? "free_buffers" :
						      "alloc_buffers");
	return true;
}

bool bdus_validate_ext_ops(const struct bdus_ext_attrs *ext,
			   const struct bdus_ops *ops)
{
	if (ext->read_ref && !ops->read)
		return bdus_fail(EINVAL, "ext read_ref needs ops->read too: "
					 "it is what tells the kernel that the "
					 "driver serves reads");
	if (ext->write_ref && !ops->write)
		return bdus_fail(EINVAL, "ext write_ref needs ops->write too: "
					 "it is what tells the kernel that the "
					 "driver serves writes");
	return true;
}

bool bdus_copy_ext(struct bdus_ext_attrs *out,
		   const struct bdus_ext_attrs *ext, size_t ext_size)
{
	const unsigned char *bytes = (const unsigned char *)ext;

	memset(out, 0, sizeof(*out));
	if (!ext)
		return true;

	/* A newer bdus.h may have appended fields: fine if they are unset. */
	for (size_t i = sizeof(*out); i < ext_size; i++)
		if (bytes[i] != 0)
			return bdus_fail(E2BIG,
					 "ext sets fields that this libbdus (%d.%d.%d) "
					 "does not know: the driver was built "
					 "with a newer bdus.h",
					 BDUS_HEADER_VERSION_MAJOR,
					 BDUS_HEADER_VERSION_MINOR,
					 BDUS_HEADER_VERSION_PATCH);

	memcpy(out, ext, ext_size < sizeof(*out) ? ext_size : sizeof(*out));
	return true;
}

/* ------------------------------------------------------------------------- */
/* bdus_rerun(): consistency with the existing device */

static bool require_equal(const char *name, uint64_t value, uint64_t current)
{
	if (value != 0 && value != current)
		return bdus_fail(EINVAL,
				 "%s must be 0 or equal to the device's (%" PRIu64
				 "), got %" PRIu64,
				 name, current, value);
	return true;
}

static bool require_at_least(const char *name, uint32_t value,
			     uint32_t current)
{
	if (value != 0 && value < current)
		return bdus_fail(EINVAL,
				 "%s must be 0 or at least the device's (%" PRIu32
				 "), got %" PRIu32,
				 name, current, value);
	return true;
}

struct callback_requirement {
	uint32_t type;
	const char *request_name;
	const char *callback_name;
	size_t offset; /* of the callback in struct bdus_ops */
};

#define REQUIREMENT(type, request, callback) \
	{ type, request, #callback, offsetof(struct bdus_ops, callback) }

static const struct callback_requirement callback_requirements[] = {
	REQUIREMENT(KBDUS_REQ_READ, "read", read),
	REQUIREMENT(KBDUS_REQ_WRITE, "write", write),
	REQUIREMENT(KBDUS_REQ_WRITE_ZEROS_NO_UNMAP, "write-zeros", write_zeros),
	REQUIREMENT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP, "write-zeros", write_zeros),
	REQUIREMENT(KBDUS_REQ_FUA_WRITE, "FUA write", fua_write),
	REQUIREMENT(KBDUS_REQ_FLUSH, "flush", flush),
	REQUIREMENT(KBDUS_REQ_DISCARD, "discard", discard),
	REQUIREMENT(KBDUS_REQ_SECURE_ERASE, "secure-erase", secure_erase),
	REQUIREMENT(KBDUS_REQ_IOCTL, "ioctl", ioctl),
};

static bool has_callback(const struct bdus_ops *ops, size_t offset)
{
	void (*callback)(void);

	/* Every member of struct bdus_ops is a function pointer. */
	memcpy(&callback, (const char *)ops + offset, sizeof(callback));
	return callback != NULL;
}

static bool validate_ops_for_device(const struct bdus_ops *ops,
				    const struct kbdus_device_config *config)
{
	size_t count = sizeof(callback_requirements) /
		       sizeof(callback_requirements[0]);

	for (size_t i = 0; i < count; i++) {
		const struct callback_requirement *req =
			&callback_requirements[i];

		if ((config->supported_requests & KBDUS_REQ_BIT(req->type)) &&
		    !has_callback(ops, req->offset))
			return bdus_fail(EINVAL,
					 "the device serves %s requests, so the "
					 "%s callback is required",
					 req->request_name, req->callback_name);
	}
	return true;
}

static bool validate_attrs_for_device(const struct bdus_attrs *attrs,
				      const struct kbdus_device_config *config)
{
	if (!attrs)
		return bdus_fail(EINVAL, "attrs must not be NULL");

	return require_equal("logical_block_size", attrs->logical_block_size,
			     config->logical_block_size) &&
	       require_equal("physical_block_size",
			     attrs->physical_block_size,
			     config->physical_block_size) &&
	       require_equal("size", attrs->size, config->size) &&
	       require_at_least("max_read_write_size",
				attrs->max_read_write_size,
				config->max_read_write_size) &&
	       validate_max_size("max_write_same_size",
				 attrs->max_write_same_size,
				 config->logical_block_size,
				 "logical_block_size") &&
	       require_at_least("max_write_zeros_size",
				attrs->max_write_zeros_size,
				config->max_write_zeros_size) &&
	       require_at_least("max_discard_erase_size",
				attrs->max_discard_erase_size,
				config->max_discard_erase_size);
}

/* A zoned device needs its zone callbacks; the zoned attributes must be
 * the device's or 0. */
static bool validate_zoned_for_device(const struct bdus_ext_attrs *ext,
				      const struct kbdus_device_config *config)
{
	const char *missing;

	if (!(config->flags & KBDUS_CONFIG_ZONED))
		return require_equal("ext zone_size", ext->zone_size, 0);
	missing = !ext->zone_manage ? "zone_manage" :
		  !ext->zone_append ? "zone_append" :
		  !ext->report_zones ? "report_zones" :
				       NULL;
	if (missing)
		return bdus_fail(EINVAL,
				 "the device is zoned, so the ext %s callback is "
				 "required",
				 missing);
	return require_equal("ext zone_size", ext->zone_size,
			     config->zone_size) &&
	       require_equal("ext num_conventional_zones",
			     ext->num_conventional_zones,
			     config->num_conventional_zones) &&
	       require_equal("ext max_open_zones", ext->max_open_zones,
			     config->max_open_zones) &&
	       require_equal("ext max_active_zones", ext->max_active_zones,
			     config->max_active_zones) &&
	       require_equal("ext max_zone_append_size",
			     ext->max_zone_append_size,
			     config->max_zone_append_size);
}

static bool validate_ext_for_device(const struct bdus_ext_attrs *ext,
				    const struct kbdus_device_config *config)
{
	return validate_zoned_for_device(ext, config) &&
	       require_equal("ext num_queues", ext->num_queues,
			     config->num_queues) &&
	       require_equal("ext queue_depth", ext->queue_depth,
			     config->queue_depth) &&
	       require_equal("ext request_timeout_ms", ext->request_timeout_ms,
			     config->request_timeout_ms);
}

bool bdus_validate_for_rerun(const struct bdus_ops *ops,
			     const struct bdus_attrs *attrs,
			     const struct bdus_ext_attrs *ext,
			     const struct kbdus_device_config *config)
{
	return validate_ops_for_device(ops, config) &&
	       validate_attrs_for_device(attrs, config) &&
	       validate_ext_for_device(ext, config);
}
