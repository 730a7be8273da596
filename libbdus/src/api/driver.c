// SPDX-License-Identifier: MIT
/*
 * driver.c - bdus_run(), bdus_rerun() and their _ext variants: a driver's
 * life from validation to terminate().
 */

#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <string.h>
#include <unistd.h>

/* Everything a running driver owns; ctx points into it. */
struct driver {
	struct bdus_ops ops;
	struct bdus_attrs attrs; /* effective */
	struct bdus_attrs requested;
	struct bdus_ext_attrs ext; /* requested, then effective */
	struct bdus_session session;
	struct bdus_daemon daemon;
	char path[32];
};

static bool fail_callback(int ret, const char *name)
{
	if (ret == bdus_abort)
		return bdus_fail(EIO, BDUS_ABORT_MESSAGE, name);
	if (ret < 0)
		return bdus_fail(EIO,
				 "the %s callback failed with an invalid value "
				 "(%d)",
				 name, ret);
	return bdus_fail_errno(ret, "the %s callback failed", name);
}

static int print_device_path(struct bdus_ctx *ctx)
{
	if (puts(ctx->path) == EOF || fflush(stdout) == EOF)
		return EIO;
	return 0;
}

/* on_device_available (or its default), then daemonizing. */
static bool announce_device(struct bdus_ctx *ctx, void *arg)
{
	struct driver *driver = arg;
	int (*callback)(struct bdus_ctx *) = ctx->ops->on_device_available;
	int ret;

	if (ctx->attrs->log && !callback)
		bdus_log(ctx, "on_device_available() [not set: printing the "
			      "path]");
	ret = callback ? bdus_call_lifecycle(ctx, callback,
					     "on_device_available") :
			 print_device_path(ctx);
	if (ret != 0)
		return fail_callback(ret, "on_device_available");

	if (ctx->attrs->dont_daemonize)
		return true;
	if (ctx->attrs->log)
		bdus_log(ctx, "daemonizing");
	return bdus_daemon_detach(&driver->daemon);
}

/* A device we created and failed to start is of no use to anyone, even if
 * recoverable: nobody knows of it. */
static void destroy_unstarted_device(struct bdus_session *session)
{
	struct kbdus_destroy_args args = {
		.id = session->config.id,
		.flags = KBDUS_DESTROY_NO_FLUSH,
	};

	bdus_ioctl_retry(session->fd, KBDUS_IOCTL_DESTROY_DEVICE, &args);
}

/* ------------------------------------------------------------------------- */
/* Backing files: which session fd serves a callback's ctx */

/* The ctxs of the drivers running in this process, for the calls that take
 * one.  Protected by running_lock. */
struct running_driver {
	struct running_driver *next;
	const struct bdus_ctx *ctx;
	int session_fd;
};

static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static struct running_driver *running;

static void running_add(struct running_driver *entry)
{
	pthread_mutex_lock(&running_lock);
	entry->next = running;
	running = entry;
	pthread_mutex_unlock(&running_lock);
}

static void running_remove(struct running_driver *entry)
{
	struct running_driver **p;

	pthread_mutex_lock(&running_lock);
	for (p = &running; *p; p = &(*p)->next) {
		if (*p == entry) {
			*p = entry->next;
			break;
		}
	}
	pthread_mutex_unlock(&running_lock);
}

/* The session fd of ctx's driver, or -1 (error set). */
static int running_session_fd(const struct bdus_ctx *ctx)
{
	const struct running_driver *entry;
	int fd = -1;

	pthread_mutex_lock(&running_lock);
	for (entry = running; entry; entry = entry->next) {
		if (entry->ctx == ctx) {
			fd = entry->session_fd;
			break;
		}
	}
	pthread_mutex_unlock(&running_lock);
	if (fd < 0)
		bdus_fail(EINVAL, "ctx is not the context of a driver that "
				  "this process is running");
	return fd;
}

BDUS_API int bdus_register_backing(struct bdus_ctx *ctx, int fd)
{
	struct kbdus_backing_args args = { .fd = fd };
	int session_fd = running_session_fd(ctx);

	if (session_fd < 0)
		return -1;
	if (bdus_ioctl_retry(session_fd, KBDUS_IOCTL_BACKING_REGISTER, &args) <
	    0) {
		int err = errno == ENOTTY ? ENOSYS : errno;

		bdus_fail_errno(err, "cannot register fd %d as a backing file",
				fd);
		return -1;
	}
	return (int)args.id;
}

BDUS_API bool bdus_unregister_backing(struct bdus_ctx *ctx, int backing)
{
	struct kbdus_backing_args args = { .fd = -1, .id = (uint32_t)backing };
	int session_fd = running_session_fd(ctx);

	if (session_fd < 0)
		return false;
	if (backing < 0)
		return bdus_fail(ENOENT, "no backing file has id %d", backing);
	if (bdus_ioctl_retry(session_fd, KBDUS_IOCTL_BACKING_UNREGISTER,
			     &args) < 0)
		return bdus_fail_errno(errno == EINVAL ? ENOENT : errno,
				       "cannot unregister backing file %d",
				       backing);
	return true;
}

/* ------------------------------------------------------------------------- */

/* The protocol to ask bdus_session_create() or _attach() for. */
static uint32_t session_protocol(const struct bdus_ext_attrs *ext)
{
	return ext->protocol | (ext->alloc_buffers ? BDUS_SESSION_DRIVER_BUFFERS : 0);
}

static bool run_driver_here(struct driver *driver, void *private_data,
			    bool is_rerun)
{
	struct bdus_session *session = &driver->session;
	struct bdus_saved_error error;
	bool served;
	int ret;

	bdus_device_path(driver->path, sizeof(driver->path), session->config.id);

	struct bdus_ctx ctx = {
		.id = session->config.id,
		.path = driver->path,
		.ops = &driver->ops,
		.attrs = &driver->attrs,
		.is_rerun = is_rerun,
		.private_data = private_data,
		.major = session->config.major,
		.minor = session->config.minor,
		.ext = &driver->ext,
	};

	struct running_driver entry = { .ctx = &ctx, .session_fd = session->fd };

	if (driver->attrs.log)
		bdus_log_effective_attrs(&ctx, &driver->requested);

	running_add(&entry);
	ret = bdus_call_lifecycle(&ctx, driver->ops.initialize, "initialize");
	if (ret != 0) {
		running_remove(&entry);
		fail_callback(ret, "initialize");
		if (!is_rerun)
			destroy_unstarted_device(session);
		return false;
	}

	/* After initialize, which may set up what the allocator uses. */
	if (bdus_session_take_driver_buffers(session, &ctx)) {
		served = bdus_serve(&ctx, session, announce_device, driver) ==
			 BDUS_SERVE_TERMINATED;
		bdus_save_error(&error);
	} else {
		served = false;
		bdus_save_error(&error);
		if (!is_rerun)
			destroy_unstarted_device(session);
	}
	/* Nothing uses them once serving returned: its rings are gone. */
	bdus_session_return_driver_buffers(session, &ctx);

	ret = bdus_call_lifecycle(&ctx, driver->ops.terminate, "terminate");
	running_remove(&entry);
	if (!served)
		return bdus_restore_error(&error);
	if (ret != 0)
		return fail_callback(ret, "terminate");
	return true;
}

static bool run_driver(struct driver *driver, void *private_data,
		       bool is_rerun)
{
	struct bdus_serving previous = bdus_enter_device(
		driver->session.config.id,
		driver->attrs.max_concurrent_callbacks == 1);
	bool ok = run_driver_here(driver, private_data, is_rerun);

	bdus_leave_device(previous);
	return ok;
}

/*
 * Forks if the driver daemonizes (see daemon.c).  Returns true in the
 * process that goes on; false in the one that must return *result from
 * bdus_run() at once.
 */
static bool fork_if_daemonizing(struct driver *driver, bool *result)
{
	bool in_child;

	driver->daemon.socket = -1;
	if (driver->attrs.dont_daemonize)
		return true;
	*result = bdus_daemon_fork(&driver->daemon, &in_child);
	return in_child;
}

/* The end of bdus_run() in a child that never detached: its parent returns
 * the result instead. */
static bool finish(struct driver *driver, bool ok)
{
	bdus_daemon_end(&driver->daemon, ok);
	return ok;
}

/* ------------------------------------------------------------------------- */
/* bdus_run() */

/*
 * ioctl_v01: the driver came in through BDUS 0.1's API (bdus_run(),
 * bdus_rerun() or their versioned names), so its ioctl callback follows
 * 0.1.x's direction convention (KBDUS_CONFIG_IOCTL_DIR_V01); the extended
 * API follows Linux's.
 */
static bool run(const struct bdus_ops *ops, const struct bdus_attrs *attrs,
		const struct bdus_ext_attrs *ext, size_t ext_size,
		void *private_data, bool ioctl_v01)
{
	struct kbdus_device_config config;
	struct driver driver;
	bool ok;

	memset(&driver, 0, sizeof(driver));
	if (!bdus_validate_ops(ops) || !bdus_validate_attrs_for_run(attrs) ||
	    !bdus_copy_ext(&driver.ext, ext, ext_size) ||
	    !bdus_validate_ext(&driver.ext) ||
	    !bdus_validate_ext_ops(&driver.ext, ops) ||
	    !bdus_validate_zoned(ops, attrs, &driver.ext))
		return false;

	driver.ops = *ops;
	driver.attrs = *attrs;
	driver.requested = *attrs;
	bdus_config_for_run(&config, ops, attrs, &driver.ext, ioctl_v01);

	if (!fork_if_daemonizing(&driver, &ok))
		return ok;
	if (!bdus_session_create(&driver.session, &config,
				 session_protocol(&driver.ext)))
		return finish(&driver, false);

	bdus_effective_attrs(&driver.attrs, &driver.ext, ops,
			     &driver.session.config, driver.session.protocol,
			     false);
	ok = run_driver(&driver, private_data, false);
	bdus_session_close(&driver.session);
	return finish(&driver, ok);
}

BDUS_API bool bdus_run(const struct bdus_ops *ops,
		       const struct bdus_attrs *attrs, void *private_data)
{
	return run(ops, attrs, NULL, 0, private_data, true);
}

BDUS_API bool bdus_run_ext_sized(const struct bdus_ops *ops,
				 const struct bdus_attrs *attrs,
				 const struct bdus_ext_attrs *ext,
				 size_t ext_size, void *private_data)
{
	return run(ops, attrs, ext, ext_size, private_data, false);
}

/* ------------------------------------------------------------------------- */
/* bdus_rerun() */

bool bdus_validate_against_device(uint64_t id, const struct bdus_ops *ops,
				  const struct bdus_attrs *attrs,
				  const struct bdus_ext_attrs *ext,
				  bool ioctl_v01,
				  struct kbdus_device_config *config)
{
	struct kbdus_device_info info;
	int fd = bdus_control_open(true);
	bool device_v01;
	bool ok;

	if (fd < 0)
		return false;
	ok = bdus_control_device_info(fd, id, &info);
	bdus_close_quietly(fd);
	if (!ok || !bdus_validate_for_rerun(ops, attrs, ext, &info.config))
		return false;

	/* A device keeps the ioctl convention of the API that created it:
	 * requests in flight were copied by it. */
	device_v01 = info.config.flags & KBDUS_CONFIG_IOCTL_DIR_V01;
	if ((info.config.supported_requests & KBDUS_REQ_BIT(KBDUS_REQ_IOCTL)) &&
	    device_v01 != ioctl_v01)
		return bdus_fail(EINVAL,
				 "bdus-%" PRIu64 ": its ioctls follow %s "
				 "direction convention; take it over with %s",
				 id,
				 device_v01 ? "BDUS 0.1's" : "Linux's",
				 device_v01 ? "bdus_rerun()" :
					      "bdus_rerun_ext()");
	if (config)
		*config = info.config;
	return true;
}

static bool rerun(uint64_t id, const struct bdus_ops *ops,
		  const struct bdus_attrs *attrs,
		  const struct bdus_ext_attrs *ext, size_t ext_size,
		  void *private_data, bool ioctl_v01)
{
	struct driver driver;
	bool ok;

	memset(&driver, 0, sizeof(driver));
	if (!bdus_validate_ops(ops) ||
	    (!attrs && !bdus_fail(EINVAL, "attrs must not be NULL")) ||
	    !bdus_copy_ext(&driver.ext, ext, ext_size) ||
	    !bdus_validate_ext(&driver.ext) ||
	    !bdus_validate_ext_ops(&driver.ext, ops))
		return false;

	/* Check before attaching: attaching stops the running driver. */
	if (!bdus_validate_against_device(id, ops, attrs, &driver.ext,
					  ioctl_v01, NULL))
		return false;

	driver.ops = *ops;
	driver.attrs = *attrs;
	driver.requested = *attrs;

	if (!fork_if_daemonizing(&driver, &ok))
		return ok;
	if (!bdus_session_attach(&driver.session, id,
				 session_protocol(&driver.ext)))
		return finish(&driver, false);

	bdus_effective_attrs(&driver.attrs, &driver.ext, ops,
			     &driver.session.config, driver.session.protocol,
			     true);
	ok = run_driver(&driver, private_data, true);
	bdus_session_close(&driver.session);
	return finish(&driver, ok);
}

BDUS_API bool bdus_rerun(uint64_t dev_id, const struct bdus_ops *ops,
			 const struct bdus_attrs *attrs, void *private_data)
{
	return rerun(dev_id, ops, attrs, NULL, 0, private_data, true);
}

BDUS_API bool bdus_rerun_ext_sized(uint64_t dev_id,
				   const struct bdus_ops *ops,
				   const struct bdus_attrs *attrs,
				   const struct bdus_ext_attrs *ext,
				   size_t ext_size, void *private_data)
{
	return rerun(dev_id, ops, attrs, ext, ext_size, private_data, false);
}
