// SPDX-License-Identifier: MIT
/*
 * uring-cmd.c - kbdus's URING_CMD commands as io_uring SQEs, for every ring
 * that carries them (the sync API's and the asynchronous API's).
 */

#include "internal.h"

#include <liburing.h>
#include <stddef.h>
#include <string.h>

void bdus_uring_prep_cmd(struct io_uring_sqe *sqe, int fd, bool fixed_file,
			 uint32_t op, const struct kbdus_uring_cmd *cmd,
			 uint64_t user_data)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	if (fixed_file)
		sqe->flags |= IOSQE_FIXED_FILE;
	sqe->cmd_op = op;
	sqe->user_data = user_data;
	/* The command area of a 64-byte SQE starts at addr3 and holds 16
	 * bytes: exactly struct kbdus_uring_cmd. */
	memcpy((char *)sqe + offsetof(struct io_uring_sqe, addr3), cmd,
	       sizeof(*cmd));
}
