// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-side passthrough: a session registers backing files, and a reply
 * may map its request onto extents of them instead of carrying data.  kbdus
 * then does the I/O itself, in a worker, on the request's own pages, so the
 * data never enters user space (see "Kernel-side passthrough" in kbdus.h).
 *
 * Who holds what:
 *   - the session's table holds one reference per registered file, until
 *     the file is unregistered or the session is released;
 *   - an accepted passthrough (struct pt_io) holds its own reference on
 *     every file it names, taken while it is validated, so the table and
 *     the session may go while its I/O runs;
 *   - the request stays COMPLETING from its acceptance until the worker
 *     ends it: the timeout, session release and recovery leave COMPLETING
 *     slots alone, and the device cannot be torn down under it, because
 *     del_gendisk() waits for requests in flight;
 *   - the device's workqueue (kdev->passthrough_wq) is made with the first
 *     backing file and destroyed with the device, once no request, and so
 *     no passthrough, is left.
 * A reply is validated against the request while the driver still holds
 * it (kbdus_inverter_data_begin()), then claimed under the same handle, so
 * a refused passthrough leaves the request with the driver.
 */

#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/nospec.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "compat.h"
#include "kbdus.h"

struct pt_extent {
	struct file *file; /* referenced */
	loff_t pos;
	u32 length;
};

struct pt_io {
	struct work_struct work;
	struct kbdus_slot *slot; /* COMPLETING until pt_work() ends it */
	int type;
	/*
	 * Whether what it writes must be stable before it completes: a FUA
	 * write, or any write to a device without a write cache, to which
	 * the block layer sends no FLUSH that would make it so later.
	 */
	bool stable;
	u32 num_extents;
	u32 num_bvecs;
	struct pt_extent extents[KBDUS_PASSTHROUGH_MAX_EXTENTS];
	struct bio_vec bvecs[]; /* reads and writes: the request's data */
};

/*
 * The device's passthrough workqueue, made on first use.  Its I/O may block
 * on the files for long, so it may run a worker per slot (up to the
 * maximum), and it has a rescuer, as it serves block I/O that memory
 * reclaim may wait for.  Per CPU, not unbound: the work runs on the CPU of
 * the driver thread that replied, once that thread sleeps, instead of
 * waking a worker elsewhere with an interrupt (measured with bench/profile:
 * the unbound queue cost ~3 context switches and interrupts per request).
 * A worker that blocks on its file lets the next one run.
 */
static struct workqueue_struct *pt_device_wq(struct kbdus_device *kdev)
{
	struct workqueue_struct *wq = smp_load_acquire(&kdev->passthrough_wq);

	if (wq)
		return wq;
	wq = alloc_workqueue("kbdus%llu-pt", WQ_MEM_RECLAIM,
			     min_t(u32, kdev->num_slots, WQ_MAX_ACTIVE),
			     kdev->id);
	if (!wq)
		return NULL;
	if (cmpxchg_release(&kdev->passthrough_wq, NULL, wq)) {
		destroy_workqueue(wq); /* another registration made one */
		wq = smp_load_acquire(&kdev->passthrough_wq);
	}
	return wq;
}

/* At the device's last reference: no request is left to pass through. */
void kbdus_passthrough_device_free(struct kbdus_device *kdev)
{
	if (kdev->passthrough_wq)
		destroy_workqueue(kdev->passthrough_wq);
}

/* ------------------------------------------------------------------------- */
/* Backing files */

void kbdus_backing_init(struct kbdus_session *session)
{
	spin_lock_init(&session->backing.lock);
}

/* Called once no call on the session can run (its file's release). */
void kbdus_backing_release(struct kbdus_session *session)
{
	unsigned int i;

	for (i = 0; i < KBDUS_MAX_BACKING_FILES; i++) {
		if (session->backing.files[i])
			fput(session->backing.files[i]);
		session->backing.files[i] = NULL;
	}
}

/* The block device a file is, or whose filesystem it lives on; or NULL. */
static struct block_device *backing_bdev(struct file *file)
{
	struct inode *inode = file_inode(file);

	if (S_ISBLK(inode->i_mode))
		return I_BDEV(file->f_mapping->host);
	return inode->i_sb->s_bdev;
}

static int backing_check(struct kbdus_device *kdev, struct file *file)
{
	struct inode *inode = file_inode(file);
	struct block_device *bdev;

	if (!S_ISREG(inode->i_mode) && !S_ISBLK(inode->i_mode))
		return -EINVAL;
	if (!(file->f_mode & (FMODE_READ | FMODE_WRITE)))
		return -EINVAL;
	/* Its writes would all land at the end, not at the extents. */
	if (file->f_flags & O_APPEND)
		return -EINVAL;
	if (((file->f_mode & FMODE_READ) && !file->f_op->read_iter) ||
	    ((file->f_mode & FMODE_WRITE) && !file->f_op->write_iter))
		return -EINVAL;

	/* Serving the device from itself would wait for itself. */
	bdev = backing_bdev(file);
	if (bdev && bdev->bd_disk == kdev->disk)
		return -ELOOP;
	return 0;
}

/* Drops entry id if it still holds file (NULL: whatever it holds). */
static int backing_remove(struct kbdus_session *session, u32 id,
			  struct file *file)
{
	struct kbdus_backing_table *table = &session->backing;
	struct file *old;

	spin_lock(&table->lock);
	old = table->files[id];
	if (old && (!file || old == file))
		table->files[id] = NULL;
	else
		old = NULL;
	spin_unlock(&table->lock);

	if (!old)
		return -ENOENT;
	fput(old);
	return 0;
}

static long backing_register(struct kbdus_session *session,
			     struct kbdus_backing_args *args,
			     struct kbdus_backing_args __user *uarg)
{
	struct kbdus_backing_table *table = &session->backing;
	struct file *file;
	int ret;
	u32 id;

	if (args->id)
		return -EINVAL; /* an "out" field */
	/* The control device needs it to open, but a session fd can be
	 * passed on: check the caller, who is about to do I/O as kbdus. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!pt_device_wq(session->kdev))
		return -ENOMEM;

	file = fget(args->fd);
	if (!file)
		return -EBADF;
	ret = backing_check(session->kdev, file);
	if (ret)
		goto err_put;

	ret = -EMFILE;
	spin_lock(&table->lock);
	for (id = 0; id < KBDUS_MAX_BACKING_FILES; id++) {
		if (!table->files[id]) {
			table->files[id] = file;
			ret = 0;
			break;
		}
	}
	spin_unlock(&table->lock);
	if (ret)
		goto err_put;

	if (put_user(id, &uarg->id)) {
		backing_remove(session, id, file);
		return -EFAULT;
	}
	return 0;

err_put:
	fput(file);
	return ret;
}

long kbdus_backing_ioctl(struct kbdus_session *session, unsigned int command,
			 struct kbdus_backing_args __user *uarg)
{
	struct kbdus_backing_args args;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags || args.reserved0 ||
	    !kbdus_all_zero(args.reserved, sizeof(args.reserved)))
		return -EINVAL;

	if (command == KBDUS_IOCTL_BACKING_REGISTER)
		return backing_register(session, &args, uarg);

	if (args.fd != -1 || args.id >= KBDUS_MAX_BACKING_FILES)
		return -EINVAL;
	return backing_remove(session,
			      array_index_nospec(args.id,
						 KBDUS_MAX_BACKING_FILES),
			      NULL);
}

/* ------------------------------------------------------------------------- */
/* Validation */

static bool pt_type_writes(int type)
{
	return type != KBDUS_REQ_READ && type != KBDUS_REQ_FLUSH;
}

static int pt_copy_descriptor(u64 descriptor, u32 *num_extents,
			      struct kbdus_extent *extents)
{
	const void __user *uptr = u64_to_user_ptr(descriptor);
	struct kbdus_passthrough hdr;
	u32 i;

	if (copy_from_user(&hdr, uptr, sizeof(hdr)))
		return -EFAULT;
	if (hdr.flags || !kbdus_all_zero(hdr.reserved, sizeof(hdr.reserved)) ||
	    hdr.num_extents == 0 ||
	    hdr.num_extents > KBDUS_PASSTHROUGH_MAX_EXTENTS)
		return -EINVAL;
	if (copy_from_user(extents,
			   uptr + offsetof(struct kbdus_passthrough, extents),
			   hdr.num_extents * sizeof(*extents)))
		return -EFAULT;

	for (i = 0; i < hdr.num_extents; i++) {
		if (extents[i].backing >= KBDUS_MAX_BACKING_FILES)
			return -EBADF;
	}
	*num_extents = hdr.num_extents;
	return 0;
}

/* Checks extents against the request they answer; -EINVAL or
 * -EOPNOTSUPP (see kbdus.h). */
static int pt_check_extents(struct kbdus_device *kdev,
			    const struct kbdus_request *request,
			    const struct kbdus_extent *extents, u32 num)
{
	u32 block = kdev->config.logical_block_size;
	u64 total = 0, end;
	u32 i;

	switch (request->type) {
	case KBDUS_REQ_READ:
	case KBDUS_REQ_WRITE:
	case KBDUS_REQ_FUA_WRITE:
	case KBDUS_REQ_DISCARD:
	case KBDUS_REQ_WRITE_ZEROS_NO_UNMAP:
	case KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP:
	case KBDUS_REQ_FLUSH:
		break;
	default:
		return -EOPNOTSUPP;
	}

	for (i = 0; i < num; i++) {
		const struct kbdus_extent *e = &extents[i];

		if (request->type == KBDUS_REQ_FLUSH) {
			if (e->offset || e->length)
				return -EINVAL;
		} else if (!e->length || e->length % block ||
			   check_add_overflow(e->offset, (u64)e->length,
					      &end) ||
			   end > LLONG_MAX) {
			return -EINVAL;
		}
		total += e->length;
	}

	return total == request->size ? 0 : -EINVAL;
}

/*
 * Two extents of one file may not overlap: a write would land twice, a
 * flush be asked for twice.  One file may hide behind two backing ids (or
 * two opens of it), so compare inodes, once pt_get_files() has them.
 */
static int pt_check_overlap(const struct pt_io *io)
{
	u32 i, j;

	for (i = 0; i < io->num_extents; i++) {
		const struct pt_extent *e = &io->extents[i];

		for (j = 0; j < i; j++) {
			const struct pt_extent *f = &io->extents[j];

			if (file_inode(f->file) != file_inode(e->file))
				continue;
			if (io->type == KBDUS_REQ_FLUSH ||
			    (e->pos < f->pos + f->length &&
			     f->pos < e->pos + e->length))
				return -EINVAL;
		}
	}
	return 0;
}

/* Takes a reference on each extent's file: -EBADF if one is not
 * registered or not open for what the request does. */
static int pt_get_files(struct kbdus_session *session, struct pt_io *io,
			const struct kbdus_extent *extents)
{
	fmode_t need = io->type == KBDUS_REQ_FLUSH ? 0 :
		       pt_type_writes(io->type) ? FMODE_WRITE :
						  FMODE_READ;
	struct kbdus_backing_table *table = &session->backing;
	int ret = 0;
	u32 i;

	spin_lock(&table->lock);
	for (i = 0; i < io->num_extents; i++) {
		struct file *file = table->files[array_index_nospec(
			extents[i].backing, KBDUS_MAX_BACKING_FILES)];

		if (!file || (file->f_mode & need) != need) {
			ret = -EBADF;
			break;
		}
		io->extents[i].file = get_file(file);
		io->extents[i].pos = extents[i].offset;
		io->extents[i].length = extents[i].length;
	}
	spin_unlock(&table->lock);
	return ret;
}

static void pt_io_free(struct pt_io *io)
{
	u32 i;

	for (i = 0; i < io->num_extents; i++) {
		if (io->extents[i].file)
			fput(io->extents[i].file);
	}
	kfree(io);
}

/* ------------------------------------------------------------------------- */
/* I/O, in the device's passthrough workqueue */

/* A file's error as a reply error: a full file or quota means something
 * to callers. */
static int pt_error(long ret)
{
	return ret == -ENOSPC || ret == -EDQUOT ? ENOSPC : EIO;
}

/* A synchronous kiocb at pos, positional whatever the file's flags. */
static void pt_init_kiocb(struct kiocb *kiocb, struct file *file, loff_t pos)
{
	init_sync_kiocb(kiocb, file);
	/* O_APPEND may have been set since registration (F_SETFL). */
	kiocb->ki_flags &= ~IOCB_APPEND;
	kiocb->ki_pos = pos;
}

/*
 * Whether I/O at pos from iter may bypass the page cache.  The request's
 * pages need only be 4-byte aligned (dma_alignment) and an extent's offset
 * only byte aligned, while the backing device may want its logical block
 * size for both (a 4Kn disk under a device of 512-byte blocks): there, go
 * through the page cache rather than fail.
 */
static bool pt_can_go_direct(struct file *file, loff_t pos,
			     struct iov_iter *iter)
{
	struct block_device *bdev;

	if (!(file->f_flags & O_DIRECT))
		return false;
	bdev = backing_bdev(file);
	return !bdev || (IS_ALIGNED(pos, bdev_logical_block_size(bdev)) &&
			 bdev_iter_is_aligned(bdev, iter));
}

/* Writes all of iter at pos, retrying short writes so that a full file
 * reports its error. */
static ssize_t pt_write_all(struct file *file, struct iov_iter *iter,
			    loff_t pos, bool stable, bool direct)
{
	size_t total = iov_iter_count(iter);
	struct kiocb kiocb;
	ssize_t ret;

	while (iov_iter_count(iter)) {
		pt_init_kiocb(&kiocb, file, pos);
		if (stable)
			kiocb.ki_flags |= IOCB_DSYNC;
		if (!direct)
			kiocb.ki_flags &= ~IOCB_DIRECT;
		file_start_write(file);
		ret = file->f_op->write_iter(&kiocb, iter);
		file_end_write(file);
		if (ret <= 0)
			return ret ?: -EIO;
		pos += ret;
	}
	return total;
}

static ssize_t pt_read(struct file *file, struct iov_iter *iter, loff_t pos,
		       bool direct)
{
	struct kiocb kiocb;

	pt_init_kiocb(&kiocb, file, pos);
	if (!direct)
		kiocb.ki_flags &= ~IOCB_DIRECT;
	return file->f_op->read_iter(&kiocb, iter);
}

/*
 * Reads or writes iter at pos.  Direct I/O may still refuse an alignment
 * that pt_can_go_direct() cannot see, where the data lives on another
 * device than i_sb->s_bdev (an XFS realtime file).  Then the page cache
 * serves it, as for the misaligned I/O above.
 */
static ssize_t pt_rw(struct file *file, struct iov_iter *iter, loff_t pos,
		     bool write, bool stable)
{
	bool direct = pt_can_go_direct(file, pos, iter);
	struct iov_iter start = *iter;
	ssize_t ret;

	ret = write ? pt_write_all(file, iter, pos, stable, direct) :
		      pt_read(file, iter, pos, direct);
	if (ret != -EINVAL || !direct)
		return ret;
	*iter = start;
	return write ? pt_write_all(file, iter, pos, stable, false) :
		       pt_read(file, iter, pos, false);
}

/* Reads or writes one extent's share of the request's pages, which start
 * done bytes into them. */
static int pt_read_write(struct pt_io *io, struct pt_extent *e, size_t done)
{
	bool write = io->type != KBDUS_REQ_READ;
	struct iov_iter iter;
	ssize_t ret;

	iov_iter_bvec(&iter, write ? ITER_SOURCE : ITER_DEST, io->bvecs,
		      io->num_bvecs, done + e->length);
	iov_iter_advance(&iter, done);
	ret = pt_rw(e->file, &iter, e->pos, write, io->stable);

	/* Short: the file ended (or shrank).  Never let unread pages, which
	 * hold whatever they held, pass for data. */
	if (ret == e->length)
		return 0;
	return ret < 0 ? pt_error(ret) : EIO;
}

/* Writes zeros where the file cannot allocate them (tmpfs, say). */
static int pt_write_zeros(struct pt_extent *e, bool stable)
{
	struct bio_vec zeros[16];
	struct iov_iter iter;
	loff_t pos = e->pos;
	u64 left = e->length;
	ssize_t ret;
	size_t n;
	int i;

	for (i = 0; i < ARRAY_SIZE(zeros); i++)
		zeros[i] = (struct bio_vec){ .bv_page = ZERO_PAGE(0),
					     .bv_len = PAGE_SIZE };

	while (left) {
		n = min_t(u64, left, ARRAY_SIZE(zeros) * PAGE_SIZE);
		iov_iter_bvec(&iter, ITER_SOURCE, zeros, ARRAY_SIZE(zeros), n);
		ret = pt_rw(e->file, &iter, pos, true, stable);
		if (ret != n)
			return ret < 0 ? pt_error(ret) : EIO;
		pos += n;
		left -= n;
	}
	return 0;
}

/* fallocate, then, for a stable write, the range's data and the metadata
 * that finds it (a punched hole, new blocks, the size). */
static int pt_fallocate(struct pt_io *io, struct pt_extent *e, int mode)
{
	int ret = vfs_fallocate(e->file, mode, e->pos, e->length);

	if (ret || !io->stable)
		return ret;
	return vfs_fsync_range(e->file, e->pos, e->pos + e->length - 1, 1);
}

static int pt_extent(struct pt_io *io, struct pt_extent *e, size_t done)
{
	struct inode *inode = file_inode(e->file);
	int mode = FALLOC_FL_KEEP_SIZE;
	int ret;

	switch (io->type) {
	case KBDUS_REQ_READ:
	case KBDUS_REQ_WRITE:
	case KBDUS_REQ_FUA_WRITE:
		return pt_read_write(io, e, done);
	case KBDUS_REQ_FLUSH:
		ret = vfs_fsync(e->file, 0);
		return ret ? pt_error(ret) : 0;
	case KBDUS_REQ_DISCARD:
		/* A hint: where holes cannot be punched (or a device refuses
		 * the range), nothing is lost by keeping the data. */
		ret = pt_fallocate(io, e, mode | FALLOC_FL_PUNCH_HOLE);
		return ret && ret != -EOPNOTSUPP && ret != -EINVAL ?
			       pt_error(ret) :
			       0;
	case KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP:
		mode |= FALLOC_FL_PUNCH_HOLE;
		break;
	default: /* KBDUS_REQ_WRITE_ZEROS_NO_UNMAP */
		mode |= FALLOC_FL_ZERO_RANGE;
		break;
	}

	/* Zeros must read back as zeros, also past the file's end, where a
	 * hole that keeps the size would read short: zero the range and
	 * grow the file, or write them if need be. */
	if (S_ISREG(inode->i_mode) &&
	    e->pos + e->length > i_size_read(inode))
		mode = FALLOC_FL_ZERO_RANGE;
	/* A block device cannot grow, and its fallocate would quietly cut
	 * the range at its end: fail as a write there fails. */
	if (S_ISBLK(inode->i_mode) &&
	    e->pos + e->length > bdev_nr_bytes(backing_bdev(e->file)))
		return ENOSPC;
	ret = pt_fallocate(io, e, mode);
	/* A block device refuses ranges that are not aligned to its blocks
	 * (EINVAL), which writing zeros handles. */
	if (ret == -EOPNOTSUPP || (ret == -EINVAL && S_ISBLK(inode->i_mode)))
		return pt_write_zeros(e, io->stable);
	return ret ? pt_error(ret) : 0;
}

static void pt_work(struct work_struct *work)
{
	struct pt_io *io = container_of(work, struct pt_io, work);
	unsigned int old_flags = current->flags;
	const struct cred *old_cred;
	size_t done = 0;
	int error = 0;
	u32 i;

	/* As loop's workers: reclaim must not wait for I/O to this device
	 * from inside it, and dirty throttling must not wait for pages that
	 * only these workers clean. */
	current->flags |= PF_LOCAL_THROTTLE | PF_MEMALLOC_NOIO;

	for (i = 0; i < io->num_extents && !error; i++) {
		/* As whoever opened the file, not as a kernel thread: quotas
		 * and network file systems see the driver. */
		old_cred = override_creds(io->extents[i].file->f_cred);
		error = pt_extent(io, &io->extents[i], done);
		revert_creds(old_cred);
		done += io->extents[i].length;
	}

	current->flags = (current->flags & ~(PF_LOCAL_THROTTLE |
					     PF_MEMALLOC_NOIO)) |
			 (old_flags & (PF_LOCAL_THROTTLE | PF_MEMALLOC_NOIO));
	kbdus_inverter_reply_end(io->slot, error);
	pt_io_free(io);
}

/* ------------------------------------------------------------------------- */

/*
 * Answers the request named by handle with the passthrough at descriptor
 * (user memory).  0: the request belongs to the passthrough, which ends it;
 * else a negative errno and the request is untouched (kbdus.h lists them).
 */
int kbdus_passthrough_reply(struct kbdus_session *session, u64 handle,
			    u64 descriptor)
{
	struct kbdus_extent extents[KBDUS_PASSTHROUGH_MAX_EXTENTS];
	struct kbdus_request request;
	struct kbdus_slot *slot;
	struct pt_io *io;
	u32 num_extents, num_bvecs = 0;
	int ret;

	ret = pt_copy_descriptor(descriptor, &num_extents, extents);
	if (ret)
		return ret;

	/* Look at the request while the driver keeps it. */
	slot = kbdus_inverter_data_begin(session, handle);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	kbdus_inverter_fill_request(slot, &request);
	if (request.type == KBDUS_REQ_READ || request.type == KBDUS_REQ_WRITE ||
	    request.type == KBDUS_REQ_FUA_WRITE)
		num_bvecs = kbdus_inverter_nr_bvecs(slot);
	kbdus_inverter_data_end(slot);

	ret = pt_check_extents(session->kdev, &request, extents, num_extents);
	if (ret)
		return ret;

	/* Reclaim must not wait for this device's I/O, which may need the
	 * very thread that is replying. */
	io = kzalloc(struct_size(io, bvecs, num_bvecs), GFP_NOIO);
	if (!io)
		return -ENOMEM;
	io->type = request.type;
	io->stable = request.type == KBDUS_REQ_FUA_WRITE ||
		     !(session->kdev->config.flags & KBDUS_CONFIG_WRITE_CACHE);
	io->num_extents = num_extents;
	io->num_bvecs = num_bvecs;
	INIT_WORK(&io->work, pt_work);

	ret = pt_get_files(session, io, extents);
	if (!ret)
		ret = pt_check_overlap(io);
	if (ret)
		goto err_free;

	/* The same handle: the same request, unless it timed out or went
	 * back to its queue meanwhile (-ESTALE). */
	slot = kbdus_inverter_reply_begin(session, handle);
	if (IS_ERR(slot)) {
		ret = PTR_ERR(slot);
		goto err_free;
	}
	io->slot = slot;
	if (num_bvecs)
		kbdus_inverter_get_bvecs(slot, io->bvecs);
	/* Made by the files' registration, which pt_get_files() saw. */
	queue_work(READ_ONCE(session->kdev->passthrough_wq), &io->work);
	return 0;

err_free:
	pt_io_free(io);
	return ret;
}
