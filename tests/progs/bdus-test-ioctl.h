// SPDX-License-Identifier: MIT
/*
 * bdus-test-ioctl.h - the ioctl commands bdus-test-driver serves and
 * bdus-test-ioctl issues, one per direction.
 */

#ifndef BDUS_TEST_IOCTL_H_
#define BDUS_TEST_IOCTL_H_

#include <linux/ioctl.h>

/* _IOR: the driver returns the last string set (initially "bdus"). */
#define BDUS_TEST_IOC_GET _IOR(0xbe, 1, char[64])
/* _IOW: the driver stores the caller's string. */
#define BDUS_TEST_IOC_SET _IOW(0xbe, 2, char[64])
/* _IOWR: the driver adds one to the caller's int. */
#define BDUS_TEST_IOC_INC _IOWR(0xbe, 3, int)
/* _IO: the driver fails it with EPERM. */
#define BDUS_TEST_IOC_FAIL _IO(0xbe, 4)

#endif /* BDUS_TEST_IOCTL_H_ */
