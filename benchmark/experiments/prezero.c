// Sync latency of 64 KiB written into a segment-like file through a shared
// mapping, by how the file's blocks were prepared (benchmark/RESULTS.md,
// "Pre-zeroed segments, measured again").
//
//   cc -O2 -pthread -o /tmp/prezero prezero.c
//   /tmp/prezero falloc 0   # fallocated, as walnut's segments are
//   /tmp/prezero sparse 0   # only sized (ftruncate): blocks allocated at
//                           # write-back instead
//   /tmp/prezero 4096 0     # written with zeros in 4 KiB pwrites, synced
//   /tmp/prezero 1048576 0  # ... in 1 MiB pwrites (large folios)
//   /tmp/prezero 4096 1     # 4 KiB zeros, while a second thread keeps
//                           # zeroing (and syncing) further 64 MiB files
//   /tmp/prezero evicted 0  # 4 KiB zeros, then dropped from the page cache:
//                           # a reused (recycled) segment file that is no
//                           # longer cached, which faulting in must read
//   cc -O2 -pthread -DCHUNK=1048576UL -DSTEPS=60 -o /tmp/prezero1m prezero.c
//                           # the same with 1 MiB per sync (W3's largest)
//
// The file is mapped and faulted in writable (timed: "faulted in"), then
// each step copies 64 KiB into the mapping, drops the pages it covers from
// the page tables and msyncs them, as walnut's sync thread does. Files are
// created in the current directory and unlinked at once.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define SEGMENT (64UL << 20)
#ifndef CHUNK
#define CHUNK 65536UL // -DCHUNK=1048576UL for W3's 1 MiB records
#endif
#ifndef STEPS
#define STEPS 900 // 900 x 64 KiB fit in the 64 MiB file; 60 with 1 MiB
#endif

static volatile int stop;
static size_t zero_chunk;
static double zeroed_mib;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int temp_file(void) {
  char path[] = "./prezero-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    exit(1);
  }
  unlink(path);
  return fd;
}

static int zeroed_file(void) {
  int fd = temp_file();
  char *zeros = calloc(1, zero_chunk);
  for (size_t off = 0; off < SEGMENT; off += zero_chunk) pwrite(fd, zeros, zero_chunk, off);
  fdatasync(fd);
  free(zeros);
  return fd;
}

static void *keep_zeroing(void *unused) {
  (void)unused;
  while (!stop) {
    close(zeroed_file());
    zeroed_mib += SEGMENT >> 20;
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: prezero falloc|sparse|evicted|<zeroing pwrite size> <0|1: zero more files meanwhile>\n");
    return 2;
  }
  int falloc = !strcmp(argv[1], "falloc");
  int sparse = !strcmp(argv[1], "sparse");
  int evicted = !strcmp(argv[1], "evicted");
  zero_chunk = falloc || sparse || evicted ? 4096 : strtoul(argv[1], NULL, 10);
  int background = atoi(argv[2]);
  int fd;
  double prepared = now_us();
  if (falloc || sparse) {
    fd = temp_file();
    if (falloc) fallocate(fd, 0, 0, SEGMENT);
    else ftruncate(fd, SEGMENT);
  } else {
    fd = zeroed_file();
  }
  prepared = now_us() - prepared;
  if (evicted) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  char *map = mmap(NULL, SEGMENT, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  madvise(map, SEGMENT, MADV_RANDOM); // as a syncing walnut log: page by page
  double faulted = now_us();
  madvise(map, SEGMENT, MADV_POPULATE_WRITE);
  faulted = now_us() - faulted;
  pthread_t zeroer;
  if (background) pthread_create(&zeroer, NULL, keep_zeroing, NULL);
  char *record = malloc(CHUNK);
  memset(record, 7, CHUNK);
  double lat[STEPS], sum = 0, t0 = now_us();
  for (size_t i = 0, off = 0; i < STEPS; i++, off += CHUNK) {
    memcpy(map + off, record, CHUNK);
    size_t from = off & ~4095UL, end = off + CHUNK;
    double s = now_us();
    madvise(map + from, (end & ~4095UL) - from, MADV_DONTNEED);
    msync(map + from, end - from, MS_SYNC);
    sum += lat[i] = now_us() - s;
  }
  double elapsed = now_us() - t0;
  stop = 1;
  if (background) pthread_join(zeroer, NULL);
  qsort(lat, STEPS, sizeof lat[0], by_value);
  printf("%s%s: file prepared in %.1f ms, faulted in in %.1f ms; msync mean %.0f p50 %.0f p90 %.0f p99 %.0f us; "
         "%.0f MiB zeroed meanwhile in %.0f ms\n",
         argv[1], background ? " + zeroing" : "", prepared / 1e3, faulted / 1e3, sum / STEPS, lat[STEPS / 2], lat[STEPS * 9 / 10],
         lat[STEPS * 99 / 100], zeroed_mib, elapsed / 1e3);
  return 0;
}
