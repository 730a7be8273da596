// SPDX-License-Identifier: GPL-2.0
/*
 * The protocol registry, and the shared memory that protocols map into
 * their drivers.
 */

#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "kbdus.h"

const struct kbdus_protocol_ops *kbdus_protocol_find(u32 id)
{
	switch (id) {
	case KBDUS_PROTOCOL_IOCTL:
		return &kbdus_protocol_ioctl;
	case KBDUS_PROTOCOL_MMAP:
		return &kbdus_protocol_mmap;
	case KBDUS_PROTOCOL_URING:
		return &kbdus_protocol_uring;
	default:
		return NULL;
	}
}

/*
 * Zeroed memory for a driver to map, charged to the caller's memory cgroup:
 * a session's buffers are the driver's memory, and a driver must not be
 * able to pin more than its own limits allow.
 */
void *kbdus_shm_alloc(size_t size)
{
	/* Failing is an ordinary outcome (ENOMEM, memcg limit): no splat. */
	return __vmalloc(PAGE_ALIGN(size),
			 GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN);
}

void kbdus_shm_free(void *area)
{
	vfree(area);
}

/*
 * Checks that vma may map a shared area of size bytes: MAP_SHARED, at
 * offset 0, no larger than size.  Read-only if !writable: mprotect cannot
 * make it writable later.  Like remap_vmalloc_range(), the mapping cannot
 * grow and stays out of core dumps.
 */
int kbdus_shm_prepare_vma(struct vm_area_struct *vma, size_t size,
			  bool writable)
{
	if (!kbdus_vma_is_shared(vma) || vma->vm_pgoff ||
	    vma->vm_end - vma->vm_start > size)
		return -EINVAL;
	if (!writable) {
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		kbdus_vma_forbid_write(vma);
	}
	kbdus_vma_set_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return 0;
}

/* Maps the length bytes (a page multiple) at area, from kbdus_shm_alloc(),
 * at offset bytes into vma. */
int kbdus_shm_insert(struct vm_area_struct *vma, unsigned long offset,
		     void *area, unsigned long length)
{
	unsigned long done = 0, batch, count, i;
	struct page *pages[64];
	int ret;

	while (done < length) {
		batch = min_t(unsigned long, ARRAY_SIZE(pages),
			      (length - done) >> PAGE_SHIFT);
		for (i = 0; i < batch; i++)
			pages[i] = vmalloc_to_page(area + done +
						   (i << PAGE_SHIFT));
		/* Leaves in count the pages it did not insert. */
		count = batch;
		ret = vm_insert_pages(vma, vma->vm_start + offset + done,
				      pages, &count);
		if (ret)
			return ret;
		if (WARN_ON_ONCE(count))
			return -EFAULT;
		done += batch << PAGE_SHIFT;
	}
	return 0;
}

/* Maps [area, area + vma size) into vma (see kbdus_shm_prepare_vma()). */
int kbdus_shm_mmap(struct vm_area_struct *vma, void *area, size_t size,
		   bool writable)
{
	int ret = kbdus_shm_prepare_vma(vma, size, writable);

	if (ret)
		return ret;
	return kbdus_shm_insert(vma, 0, area, vma->vm_end - vma->vm_start);
}
