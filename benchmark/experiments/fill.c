// Bandwidth of filling four fresh 64 MiB files with 512 KiB copies, by how
// the bytes get there (benchmark/RESULTS.md, "A pwrite path for large
// appends").
//
//   cc -O2 -pthread -o /tmp/fill fill.c
//   /tmp/fill pwrite    # write(2) into the page cache: no zero-fill
//   /tmp/fill map       # memcpy into a shared mapping, faulting on the way
//   /tmp/fill prefault  # memcpy, while a second thread faults pages in
//                       # ahead (MADV_POPULATE_WRITE), as walnut's preparer
//
// Files are created in the current directory and unlinked at once.
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
#define FILES 4
#define CHUNK (512UL << 10)

static char *maps[FILES];

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void *prefault(void *unused) {
  (void)unused;
  for (int i = 0; i < FILES; i++) madvise(maps[i], SEGMENT, MADV_POPULATE_WRITE);
  return NULL;
}

int main(int argc, char **argv) {
  const char *how = argc > 1 ? argv[1] : "";
  int use_pwrite = !strcmp(how, "pwrite"), ahead = !strcmp(how, "prefault");
  if (!use_pwrite && !ahead && strcmp(how, "map")) {
    fprintf(stderr, "usage: fill pwrite|map|prefault\n");
    return 2;
  }
  char *src = aligned_alloc(4096, CHUNK);
  memset(src, 5, CHUNK);
  int fds[FILES];
  for (int i = 0; i < FILES; i++) {
    char path[] = "./fill-XXXXXX";
    fds[i] = mkstemp(path);
    if (fds[i] < 0) {
      perror("mkstemp");
      return 1;
    }
    unlink(path);
    fallocate(fds[i], 0, 0, SEGMENT);
    maps[i] = mmap(NULL, SEGMENT, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
  }
  pthread_t faulter;
  if (ahead) pthread_create(&faulter, NULL, prefault, NULL);
  double t0 = now_us();
  for (int i = 0; i < FILES; i++)
    for (size_t off = 0; off < SEGMENT; off += CHUNK) {
      if (use_pwrite)
        pwrite(fds[i], src, CHUNK, off);
      else
        memcpy(maps[i] + off, src, CHUNK);
    }
  double elapsed = now_us() - t0;
  if (ahead) pthread_join(faulter, NULL);
  printf("%s: %.2f GB/s\n", how, (double)FILES * SEGMENT / elapsed / 1e3);
  return 0;
}
