// SPDX-License-Identifier: MIT
/*
 * uring-cmd.h - kbdus's URING_CMD commands as io_uring SQEs, for every ring
 * that carries them (the sync API's and the asynchronous API's).  Inline:
 * every request's reply and fetch goes through it.
 */

#ifndef LIBBDUS_TRANSPORT_URING_CMD_H_
#define LIBBDUS_TRANSPORT_URING_CMD_H_

#include "internal.h"

#include <liburing.h>
#include <stddef.h>
#include <string.h>

/* Fills sqe with kbdus command op on session fd (an index in the fixed
 * file table if fixed_file). */
static inline void bdus_uring_prep_cmd(struct io_uring_sqe *sqe, int fd,
				       bool fixed_file, uint32_t op,
				       const struct kbdus_uring_cmd *cmd,
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

#endif /* LIBBDUS_TRANSPORT_URING_CMD_H_ */
