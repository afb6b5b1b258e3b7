/* Sends PostgreSQL's syslog output over TCP at a fixed rate, for bench/syslog.sh.
 *
 *   syslog_sender HOST PORT LINES_PER_SECOND SECONDS octet|newline
 *
 * Lines are what a PostgreSQL server with log_destination = 'syslog', the Debian log_line_prefix
 * ('%m [%p] %q%u@%d ') and log_min_duration_statement = 0 sends through rsyslog's RFC 5424
 * template: mostly "duration: ... statement: ..." lines from 64 backends, each backend with its
 * own [sequence-chunk] numbers, and one error in 1,000 lines as three chunks of one message
 * (ERROR, DETAIL, STATEMENT). Framing is RFC 6587 octet-counted ("LEN SP MSG") or newline.
 *
 * Pacing: every millisecond it writes the lines due since the start (rate x elapsed time), with
 * blocking writes, so a receiver that cannot keep up slows the sender and shows in the achieved
 * rate and the lag. Prints one JSON object: lines, error lines, bytes, seconds, achieved rate,
 * largest lag behind the schedule. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kBackends = 64, kBatchMax = 2000, kLineMax = 1024 };

static const char* const kStatements[] = {
    "SELECT abalance FROM pgbench_accounts WHERE aid = %u",
    "UPDATE pgbench_accounts SET abalance = abalance + %u WHERE aid = 8812",
    "SELECT o.id, o.status, o.total FROM orders o JOIN customers c ON c.id = o.customer_id "
    "WHERE c.email = 'user%u@example.com' ORDER BY o.created_at DESC LIMIT 20",
    "INSERT INTO events (kind, payload, created_at) VALUES ('page_view', "
    "'{\"path\": \"/products/%u\", \"ref\": \"search\"}', now())",
    "BEGIN",
    "COMMIT",
    "SELECT count(*) FROM sessions WHERE user_id = %u AND expires_at > now()",
    "UPDATE inventory SET reserved = reserved + 1, updated_at = now() WHERE sku = 'SKU-%u' "
    "AND reserved < stock",
};
enum { kStatementCount = sizeof kStatements / sizeof kStatements[0] };

static double Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int Connect(const char* host, const char* port) {
  struct addrinfo hints = {0}, *found = NULL;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &found) != 0 || found == NULL) return -1;
  int fd = socket(found->ai_family, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  return fd;
}

static int WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t wrote = write(fd, data, size);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += wrote;
    size -= (size_t)wrote;
  }
  return 0;
}

struct Clock {
  char header[96]; /* 2026-12-07T02:00:00.123456+00:00 */
  char prefix[96]; /* 2026-12-07 02:00:00.123 UTC */
};

static void Stamp(struct Clock* clock) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%d", &tm);
  char time_of_day[16];
  strftime(time_of_day, sizeof time_of_day, "%H:%M:%S", &tm);
  snprintf(clock->header, sizeof clock->header, "%sT%s.%06ld+00:00", date, time_of_day,
           ts.tv_nsec / 1000);
  snprintf(clock->prefix, sizeof clock->prefix, "%s %s.%03ld UTC", date, time_of_day,
           ts.tv_nsec / 1000000);
}

struct Sender {
  int octet;
  unsigned long long lines, errors, bytes;
  unsigned pids[kBackends];
  unsigned long long sequence[kBackends];
  int error_chunk; /* 0: no error message in flight; 1..3: its next chunk */
  int error_backend;
  unsigned random;
};

static unsigned Next(struct Sender* s) {
  s->random = s->random * 1103515245u + 12345u;
  return (s->random >> 8) & 0xffffff;
}

/* Appends one framed message to out; returns its size. */
static size_t Line(struct Sender* s, const struct Clock* clock, char* out) {
  char message[kLineMax];
  char text[kLineMax];
  int priority = 134; /* local0.info: LOG */
  int backend;
  unsigned long long chunk = 1;
  if (s->error_chunk == 0 && s->lines % 1000 == 999) s->error_chunk = 1;
  if (s->error_chunk > 0) {
    backend = s->error_backend;
    priority = 132; /* local0.warning: PostgreSQL sends ERROR and its lines as LOG_WARNING */
    if (s->error_chunk == 1) {
      backend = s->error_backend = (int)(Next(s) % kBackends);
      ++s->sequence[backend];
      snprintf(text, sizeof text,
               "ERROR:  duplicate key value violates unique constraint \"orders_pkey\"");
      ++s->errors;
    } else if (s->error_chunk == 2) {
      snprintf(text, sizeof text, "DETAIL:  Key (id)=(%u) already exists.", Next(s) % 1000000);
    } else {
      snprintf(text, sizeof text,
               "STATEMENT:  INSERT INTO orders (id, customer_id, total) VALUES (%u, 77, 19.90)",
               Next(s) % 1000000);
    }
    chunk = (unsigned long long)s->error_chunk;
    s->error_chunk = s->error_chunk == 3 ? 0 : s->error_chunk + 1;
  } else {
    backend = (int)(Next(s) % kBackends);
    ++s->sequence[backend];
    char statement[512];
    snprintf(statement, sizeof statement, kStatements[Next(s) % kStatementCount], Next(s) % 100000);
    const unsigned micros = 20 + Next(s) % 5000;
    snprintf(text, sizeof text, "LOG:  duration: %u.%03u ms  statement: %s", micros / 1000,
             micros % 1000, statement);
  }
  const unsigned pid = s->pids[backend];
  const int size = snprintf(
      message, sizeof message, "<%d>1 %s db postgres %u - - [%llu-%llu] %s [%u] app@shop %s",
      priority, clock->header, pid, s->sequence[backend], chunk, clock->prefix, pid, text);
  int framed;
  if (s->octet) {
    framed = sprintf(out, "%d %s", size, message);
  } else {
    framed = sprintf(out, "%s\n", message);
  }
  ++s->lines;
  s->bytes += (unsigned long long)framed;
  return (size_t)framed;
}

int main(int argc, char** argv) {
  if (argc != 6 || (strcmp(argv[5], "octet") != 0 && strcmp(argv[5], "newline") != 0)) {
    fprintf(stderr, "usage: %s HOST PORT LINES_PER_SECOND SECONDS octet|newline\n", argv[0]);
    return 2;
  }
  const double rate = atof(argv[3]);
  const double seconds = atof(argv[4]);
  const int fd = Connect(argv[1], argv[2]);
  if (fd < 0) {
    fprintf(stderr, "syslog_sender: cannot connect to %s:%s: %s\n", argv[1], argv[2],
            strerror(errno));
    return 1;
  }
  struct Sender s = {0};
  s.octet = strcmp(argv[5], "octet") == 0;
  s.random = 20261207u;
  for (int i = 0; i < kBackends; ++i) s.pids[i] = 20000 + (unsigned)i * 37;
  char* batch = malloc((size_t)kBatchMax * (kLineMax + 16));
  const unsigned long long total = (unsigned long long)(rate * seconds + 0.5);
  double max_lag = 0;
  struct Clock clock;
  const double start = Now();
  struct timespec tick;
  clock_gettime(CLOCK_MONOTONIC, &tick);
  while (s.lines < total) {
    const double elapsed = Now() - start;
    unsigned long long due = (unsigned long long)(rate * elapsed);
    if (due > total) due = total;
    if (due > s.lines) {
      const double lag = (double)(due - s.lines) / rate;
      if (lag > max_lag) max_lag = lag;
      Stamp(&clock);
      while (s.lines < due) {
        size_t size = 0;
        for (int i = 0; i < kBatchMax && s.lines < due; ++i) size += Line(&s, &clock, batch + size);
        if (WriteAll(fd, batch, size) != 0) {
          fprintf(stderr, "syslog_sender: write: %s\n", strerror(errno));
          return 1;
        }
      }
    }
    tick.tv_nsec += 1000000;
    if (tick.tv_nsec >= 1000000000) {
      tick.tv_nsec -= 1000000000;
      ++tick.tv_sec;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
  }
  const double took = Now() - start;
  close(fd);
  printf(
      "{\"lines\": %llu, \"errors\": %llu, \"bytes\": %llu, \"seconds\": %.3f, "
      "\"rate\": %.1f, \"max_lag_s\": %.3f}\n",
      s.lines, s.errors, s.bytes, took, (double)s.lines / took, max_lag);
  free(batch);
  return 0;
}
