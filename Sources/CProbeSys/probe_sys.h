/* The Linux calls of the health checks' socket loop (epoll, eventfd, TCP options) that
 * Swift's Glibc module does not export, and accessors for the packed epoll_event. */
#ifndef PROBE_SYS_H
#define PROBE_SYS_H

#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const uint32_t probe_sys_epollin = EPOLLIN;
static const uint32_t probe_sys_epollout = EPOLLOUT;
static const uint32_t probe_sys_epollerr = EPOLLERR;
static const uint32_t probe_sys_epollhup = EPOLLHUP;
static const uint32_t probe_sys_epollrdhup = EPOLLRDHUP;

static inline int probe_sys_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int probe_sys_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

/* Watches `fd` for input, output and hang-ups, edge-triggered, under `token`. */
static inline int probe_sys_epoll_add(int epfd, int fd, uint64_t token) {
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = token};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

/* Watches `fd` for input only, level-triggered (the wakeup eventfd). */
static inline int probe_sys_epoll_add_input(int epfd, int fd, uint64_t token) {
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = token};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

/* Waits for events for at most `timeout_ns` nanoseconds (negative: without limit). */
static inline int probe_sys_epoll_wait(int epfd, struct epoll_event *events, int capacity, int64_t timeout_ns) {
    if (timeout_ns < 0) return epoll_pwait2(epfd, events, capacity, NULL, NULL);
    struct timespec timeout = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    return epoll_pwait2(epfd, events, capacity, &timeout, NULL);
}

static inline uint32_t probe_sys_event_flags(const struct epoll_event *events, int index) {
    return events[index].events;
}

static inline uint64_t probe_sys_event_token(const struct epoll_event *events, int index) {
    return events[index].data.u64;
}

static inline size_t probe_sys_event_size(void) { return sizeof(struct epoll_event); }

/* A TCP socket that does not block and is not inherited by children. */
static inline int probe_sys_tcp_socket(int family) {
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
}

/* A probe through the tunnel: the mark names its backend to the LB's egress program, and
 * the interface is the one that program is attached to (routes through other interfaces
 * would send the probe to the VIP unencapsulated). 0, or -1 with errno. */
static inline int probe_sys_route_through(int fd, uint32_t mark, uint32_t ifindex) {
    int index = (int)ifindex;
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) return -1;
    return setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &index, sizeof index);
}

/* connect(AF_UNSPEC): resets a TCP connection (a RST when it was established or
 * being set up, so no TIME_WAIT) and returns the socket to the closed state, from which
 * it can connect again. */
static inline bool probe_sys_disconnect(int fd) {
    struct sockaddr address = {.sa_family = AF_UNSPEC};
    return connect(fd, &address, sizeof address) == 0;
}

/* Asks the kernel to stamp received data with its arrival time (CLOCK_REALTIME). */
static inline int probe_sys_timestamp_arrivals(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}

/* recv() that also returns, in *arrival_ns, when the last segment read arrived
 * (CLOCK_REALTIME nanoseconds), or 0 when the kernel did not say. */
static inline ssize_t probe_sys_recv_stamped(int fd, void *bytes, size_t capacity, int64_t *arrival_ns) {
    struct iovec iov = {.iov_base = bytes, .iov_len = capacity};
    union {
        char space[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
    *arrival_ns = 0;
    ssize_t count = recvmsg(fd, &message, 0);
    if (count <= 0) return count;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec stamp;
            memcpy(&stamp, CMSG_DATA(header), sizeof stamp);
            *arrival_ns = (int64_t)stamp.tv_sec * 1000000000 + stamp.tv_nsec;
        }
    }
    return count;
}

/* Raises the soft limit of open files to the hard limit (systemd's soft default is
 * 1024, for select(); the hard one is far higher) and returns the soft limit. */
static inline int64_t probe_sys_raise_open_files_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        struct rlimit raised = {.rlim_cur = limit.rlim_max, .rlim_max = limit.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)limit.rlim_cur;
}

static inline int64_t probe_sys_realtime_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* The pending error of a socket (a failed connect), or the errno of getsockopt. */
static inline int probe_sys_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return errno;
    return error;
}

/* Names the calling thread (15 characters at most), for ps and perf. */
static inline void probe_sys_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

/* Sends without SIGPIPE on a reset connection. */
static inline ssize_t probe_sys_send(int fd, const void *bytes, size_t count) {
    return send(fd, bytes, count, MSG_NOSIGNAL);
}

#endif
