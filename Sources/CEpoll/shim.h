// epoll and eventfd for the HTTP target's event loop, and thread naming: Linux interfaces the Swift
// Glibc module does not export.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// Names the calling thread (at most 15 bytes are kept), as `top -H` and debuggers show it.
static inline int periscope_name_this_thread(const char *name) { return pthread_setname_np(pthread_self(), name); }
