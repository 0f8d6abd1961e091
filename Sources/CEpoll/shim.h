// epoll and eventfd for the HTTP target's event loop: Linux headers the Swift Glibc module does not export.
#include <sys/epoll.h>
#include <sys/eventfd.h>
