#pragma once

#include <string>

namespace pgvigil::http {

// The listen backlog for the agent's listening sockets: the kernel's own ceiling,
// net.core.somaxconn (read from `somaxconn_path`), as Go's net/http sizes it; 4096 when the
// file cannot be read or parsed, and at most 65535 (the kernel keeps the backlog in 16 bits).
// A small backlog (cpp-httplib's is 5) makes a burst of connections beyond it wait for the
// client's SYN retransmission, a whole second: 50 scrapers at once saw a p99 of 1 s.
int ListenBacklog(const std::string& somaxconn_path = "/proc/sys/net/core/somaxconn");

// Gives the bound or listening socket `fd` ListenBacklog()'s backlog: listen() again on a
// listening socket only changes its backlog (Linux). False (errno set) if listen() failed.
bool ApplyListenBacklog(int fd);

}  // namespace pgvigil::http
