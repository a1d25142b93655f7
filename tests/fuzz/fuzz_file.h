/* fuzz_file.h — for fuzz targets whose parser reads a file by name: the input as an anonymous
 * in-memory file (memfd) named /proc/self/fd/N, so nothing touches the disk and every input is
 * a fresh file. It is: a harness helper only. */
#ifndef XF_FUZZ_FILE_H
#define XF_FUZZ_FILE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* writes data to a new memfd and its name to path; the fd (close it after), or -1 */
static int fuzz_file(const uint8_t *data, size_t size, char *path, size_t path_size)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t k = write(fd, data + done, size - done);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t) k;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
