// epoll and eventfd for the HTTP target's event loop, and thread naming: Linux interfaces the Swift
// Glibc module does not export.
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

// glibc declares it only under _GNU_SOURCE, which must not be defined here: the headers would then
// describe structs (fd_set) differently from the Swift Glibc module's, and the modules would clash.
extern int pthread_setname_np(pthread_t thread, const char *name);

/// Names the calling thread (at most 15 bytes are kept), as `top -H` and debuggers show it.
static inline int periscope_name_this_thread(const char *name) { return pthread_setname_np(pthread_self(), name); }
