// What writing memory costs the first time against the second, on this
// machine: the price of every page the page cache must allocate for a new
// segment, which the Buffer.copy limit of W2 (a ring touched before) does not
// pay (benchmark/RESULTS.md, "Where each target stands": W2).
//
//   cc -O2 -o /tmp/first-touch first-touch.c && /tmp/first-touch 512
//
// Three rounds over N MiB of fresh anonymous memory, in 4 KiB pages and with
// MADV_HUGEPAGE (2 MiB pages where the kernel finds them), each round mapped
// anew after the previous one was unmapped: memset the first time, then
// memset again.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void round_of(size_t n, int huge) {
  char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  if (huge) madvise(p, n, MADV_HUGEPAGE);
  double t = now();
  memset(p, 1, n);
  double first = now() - t;
  t = now();
  memset(p, 2, n);
  double second = now() - t;
  printf("%s pages: first touch %.2f GB/s, second %.2f GB/s\n", huge ? "2 MiB" : "4 KiB",
         n / first / 1e9, n / second / 1e9);
  munmap(p, n);
}

int main(int argc, char **argv) {
  size_t n = (size_t)(argc > 1 ? atoi(argv[1]) : 512) << 20;
  for (int huge = 0; huge < 2; huge++)
    for (int r = 0; r < 3; r++) round_of(n, huge);
  return 0;
}
