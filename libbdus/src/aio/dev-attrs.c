// SPDX-License-Identifier: MIT
/*
 * dev-attrs.c - what a new device of an asynchronous context is asked for:
 * the request types it serves (struct bdus_aio_dev_attrs), the extended
 * attributes this API takes, and the transport its protocol gets.
 */

#include "aio/aio.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* The sync API's validation and configuration work on struct bdus_ops; a
 * device of this API has these placeholders for the request types it
 * serves.  They are never called. */
static int aio_shape_data(char *b, uint64_t o, uint32_t s, struct bdus_ctx *c)
{
	(void)b, (void)o, (void)s, (void)c;
	return EIO;
}

static int aio_shape_write(const char *b, uint64_t o, uint32_t s,
			   struct bdus_ctx *c)
{
	(void)b, (void)o, (void)s, (void)c;
	return EIO;
}

static int aio_shape_zeros(uint64_t o, uint32_t s, bool u, struct bdus_ctx *c)
{
	(void)o, (void)s, (void)u, (void)c;
	return EIO;
}

static int aio_shape_flush(struct bdus_ctx *c)
{
	(void)c;
	return EIO;
}

static int aio_shape_range(uint64_t o, uint32_t s, struct bdus_ctx *c)
{
	(void)o, (void)s, (void)c;
	return EIO;
}

static int aio_shape_ioctl(uint32_t cmd, void *arg, struct bdus_ctx *c)
{
	(void)cmd, (void)arg, (void)c;
	return ENOTTY;
}

#define AIO_KNOWN_REQUESTS                                                   \
	(BDUS_REQ_READ | BDUS_REQ_WRITE | BDUS_REQ_WRITE_ZEROS_NO_UNMAP |    \
	 BDUS_REQ_WRITE_ZEROS_MAY_UNMAP | BDUS_REQ_FUA_WRITE |               \
	 BDUS_REQ_FLUSH | BDUS_REQ_DISCARD | BDUS_REQ_SECURE_ERASE |         \
	 BDUS_REQ_IOCTL)

bool aio_copy_dattrs(struct bdus_aio_dev_attrs *out,
			    const struct bdus_aio_dev_attrs *dattrs,
			    size_t size)
{
	const unsigned char *bytes = (const unsigned char *)dattrs;

	if (!dattrs)
		return bdus_fail(EINVAL, "dattrs must not be NULL: it says "
					 "which requests the driver serves");
	for (size_t i = sizeof(*out); i < size; i++)
		if (bytes[i])
			return bdus_fail(EINVAL, "bdus_aio_dev_attrs has a "
						 "field this libbdus does not "
						 "know");
	memset(out, 0, sizeof(*out));
	memcpy(out, dattrs, size < sizeof(*out) ? size : sizeof(*out));
	for (size_t i = 0; i < sizeof(out->reserved) / sizeof(*out->reserved);
	     i++)
		if (out->reserved[i])
			return bdus_fail(EINVAL, "bdus_aio_dev_attrs.reserved "
						 "must be zero");
	return true;
}

/* Checks the requests and makes the placeholder ops that stand for them. */
bool aio_shape_ops(struct bdus_ops *ops, uint32_t requests)
{
	memset(ops, 0, sizeof(*ops));
	if (requests & BDUS_REQ_WRITE_SAME)
		return bdus_fail(EINVAL, "BDUS_REQ_WRITE_SAME cannot be served: "
					 "Linux has no such request");
	if (requests & ~AIO_KNOWN_REQUESTS)
		return bdus_fail(EINVAL, "unknown request bits 0x%" PRIx32,
				 requests & ~AIO_KNOWN_REQUESTS);
	if (requests == 0)
		return bdus_fail(EINVAL, "the driver must serve at least one "
					 "request type");
	if ((requests & BDUS_REQ_WRITE_ZEROS_MAY_UNMAP) &&
	    !(requests & BDUS_REQ_WRITE_ZEROS_NO_UNMAP))
		return bdus_fail(EINVAL,
				 "BDUS_REQ_WRITE_ZEROS_MAY_UNMAP needs "
				 "BDUS_REQ_WRITE_ZEROS_NO_UNMAP: Linux cannot "
				 "send write-zeroes requests of one variant only");
	if (requests & BDUS_REQ_READ)
		ops->read = aio_shape_data;
	if (requests & BDUS_REQ_WRITE)
		ops->write = aio_shape_write;
	if (requests & BDUS_REQ_WRITE_ZEROS_NO_UNMAP)
		ops->write_zeros = aio_shape_zeros;
	if (requests & BDUS_REQ_FUA_WRITE)
		ops->fua_write = aio_shape_write;
	if (requests & BDUS_REQ_FLUSH)
		ops->flush = aio_shape_flush;
	if (requests & BDUS_REQ_DISCARD)
		ops->discard = aio_shape_range;
	if (requests & BDUS_REQ_SECURE_ERASE)
		ops->secure_erase = aio_shape_range;
	if (requests & BDUS_REQ_IOCTL)
		ops->ioctl = aio_shape_ioctl;
	return bdus_validate_ops(ops);
}

bool aio_check_ext(struct bdus_ext_attrs *ext)
{
	if (!bdus_validate_ext(ext))
		return false;
	if (ext->read_ref || ext->write_ref || ext->passthrough)
		return bdus_fail(EINVAL, "ext %s is for bdus_run_ext(): the "
					 "asynchronous API hands out requests, "
					 "not callbacks",
				 ext->read_ref	? "read_ref" :
				 ext->write_ref ? "write_ref" :
						  "passthrough");
	if (ext->alloc_buffers)
		return bdus_fail(EINVAL, "ext alloc_buffers is for "
					 "bdus_run_ext(): an asynchronous "
					 "context has shared_buffers");
	if (ext->zone_size || ext->zone_manage || ext->zone_append ||
	    ext->report_zones)
		return bdus_fail(EINVAL, "zoned devices are for bdus_run_ext(): "
					 "the asynchronous API does not serve "
					 "them yet");
	return true;
}

const struct aio_transport *aio_transport_for(uint32_t protocol)
{
	switch (protocol) {
	case KBDUS_PROTOCOL_IOCTL:
		return &aio_ioctl_transport;
	case KBDUS_PROTOCOL_MMAP:
		return &aio_mmap_transport;
	default:
		return &aio_uring_transport;
	}
}

bool aio_check_protocol(const struct bdus_aio *aio, uint32_t *protocol)
{
	/* The default is uring, the one without a system call per request,
	 * which shared buffers and shared devices need; mmap without a
	 * ring. */
	if (*protocol == BDUS_PROTOCOL_DEFAULT)
		*protocol = aio->ring ? BDUS_PROTOCOL_URING : BDUS_PROTOCOL_MMAP;
	if (*protocol == BDUS_PROTOCOL_URING && !aio->ring)
		return bdus_fail(EINVAL,
				 "the context has no io_uring ring (io_uring is "
				 "refused, or BDUS_AIO_NO_RING): serve the "
				 "device over the mmap or ioctl protocol");
	if (*protocol != BDUS_PROTOCOL_URING && aio->pool.count)
		return bdus_fail(EINVAL,
				 "a context with shared_buffers serves devices "
				 "over the uring protocol only, not %s",
				 bdus_protocol_name(*protocol));
	return true;
}
