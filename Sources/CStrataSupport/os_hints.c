// Per-thread priority (background merges yield to indexing; Swift cannot call syscall(2)) and
// early writeback of files a later commit fsyncs.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "strata_support.h"

int strata_lower_thread_priority(int nice) {
#ifdef __linux__
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int current = getpriority(PRIO_PROCESS, (id_t)tid);
    return setpriority(PRIO_PROCESS, (id_t)tid, current + nice);
#else
    (void)nice;
    return 0;
#endif
}

int strata_start_writeback(int fd) {
#ifdef __linux__
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    return 0;
#endif
}
