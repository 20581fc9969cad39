// libfcgi's request API (FCGX_*), the only FastCGI header the Swift side sees, and the few Linux calls the runtime
// around it needs (epoll, eventfd, the sock_diag lookup of a TCP peer's owner, process control). Variadic C calls
// (ioctl, prctl) are wrapped here: Swift cannot call them.
#include <fcgiapp.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);  // glibc; declared only under _GNU_SOURCE

int memfd_create(const char *name, unsigned int flags);  // glibc; declared only under _GNU_SOURCE

/// An anonymous memory file (memfd_create), not inherited across exec unless dup2'd to a descriptor the child keeps:
/// the supervisor's shared counters. -1 on failure (errno set).
static inline int sso_fcgi_memfd(const char *name) {
    return memfd_create(name, 1U /* MFD_CLOEXEC */);
}

/// accept4 with SOCK_CLOEXEC: the connection is never inherited by a spawned process.
static inline int sso_fcgi_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_CLOEXEC);
}

/// Bytes waiting to be read on a socket, or -1.
static inline int sso_fcgi_bytes_readable(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

/// send(2) that never raises SIGPIPE, and with `nowait` never blocks. (Swift could not always find `MSG_NOSIGNAL`:
/// the sanitizer and fuzzer builds failed on it.)
static inline ssize_t sso_fcgi_send(int fd, const void *bytes, size_t count, int nowait) {
    return send(fd, bytes, count, MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0));
}

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000  // Linux; declared only under _GNU_SOURCE
#endif

/// True when the peer has closed its side (or the connection failed): a half-sent request can never complete.
static inline int sso_fcgi_peer_closed(int fd) {
    struct pollfd p = { .fd = fd, .events = POLLRDHUP, .revents = 0 };
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/// Asks the kernel to send `sig` to this process when its parent exits (a supervised worker never outlives its supervisor).
static inline int sso_fcgi_die_with_parent(int sig) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0);
}

/// The uid owning the local TCP socket at `peer` (address and port, network order) connected to `local`: the other
/// end of a loopback connection, found with NETLINK_SOCK_DIAG (what `ss -e` and nftables' `meta skuid` see).
/// `family` is AF_INET (4-byte addresses) or AF_INET6 (16 bytes); `seq` numbers the question, so a late answer to an
/// earlier one is never taken for this one. Returns 0 and sets *uid, or -1 (not found, no
/// answer within the socket's timeout, or no netlink).
/// Only the connected socket at exactly this pair of addresses answers: the kernel's lookup skips a socket bound to a
/// device (SO_BINDTODEVICE, which needs no privilege) and may answer with a listener on the peer's port instead, which
/// could be another user's; and a TIME_WAIT socket reports uid 0. So the answer's state and addresses are checked.
static inline int sso_fcgi_tcp_peer_uid(int netlink_fd, int family, const void *peer_addr, unsigned short peer_port_be,
                                        const void *local_addr, unsigned short local_port_be, unsigned int seq,
                                        unsigned int *uid) {
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;
    memset(&msg, 0, sizeof msg);
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST;
    msg.nlh.nlmsg_seq = seq;
    msg.req.sdiag_family = (unsigned char)family;
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = ~0u;
    msg.req.id.idiag_sport = peer_port_be;
    msg.req.id.idiag_dport = local_port_be;
    msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    size_t len = family == AF_INET6 ? 16 : 4;
    memcpy(msg.req.id.idiag_src, peer_addr, len);
    memcpy(msg.req.id.idiag_dst, local_addr, len);
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    if (sendto(netlink_fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -1;
    union { struct nlmsghdr h; char bytes[8192]; } reply;
    for (;;) {
        ssize_t n = recv(netlink_fd, &reply, sizeof reply, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < (ssize_t)sizeof(struct nlmsghdr)) return -1;
        struct nlmsghdr *h = &reply.h;
        for (; NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != seq) continue;  // a late answer to an earlier question
            if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
                struct inet_diag_msg *m = (struct inet_diag_msg *)NLMSG_DATA(h);
                int state = m->idiag_state;
                int connected = state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
                                state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
                if (!connected || m->idiag_family != family || m->id.idiag_sport != peer_port_be ||
                    m->id.idiag_dport != local_port_be || memcmp(m->id.idiag_src, peer_addr, len) != 0 ||
                    memcmp(m->id.idiag_dst, local_addr, len) != 0) {
                    return -1;  // not the peer's own connected socket
                }
                *uid = m->idiag_uid;
                return 0;
            }
            return -1;  // NLMSG_ERROR (ENOENT: no such socket) or anything else
        }
    }
}
