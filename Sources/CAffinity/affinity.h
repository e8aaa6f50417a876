/* Binding the calling thread to one CPU, for tests and benchmarks of per-CPU BPF state:
 * sched_getcpu and sched_setaffinity are GNU extensions Swift's Glibc module does not
 * export, so these go through the system calls. Masks cover LB_AFFINITY_CPUS CPUs. */
#ifndef LB_AFFINITY_H
#define LB_AFFINITY_H

#include <sys/syscall.h>
#include <unistd.h>

#define LB_AFFINITY_CPUS 1024

struct lb_cpu_mask {
	unsigned long bits[LB_AFFINITY_CPUS / (8 * sizeof(unsigned long))];
};

/* The CPU the calling thread runs on, or -1. */
static inline int lb_current_cpu(void)
{
	unsigned cpu = 0;

	return syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 ? (int)cpu : -1;
}

/* 0, or -1 with errno. */
static inline int lb_get_affinity(struct lb_cpu_mask *mask)
{
	return syscall(SYS_sched_getaffinity, 0, sizeof(*mask), mask) < 0 ? -1 : 0;
}

static inline int lb_set_affinity(const struct lb_cpu_mask *mask)
{
	return (int)syscall(SYS_sched_setaffinity, 0, sizeof(*mask), mask);
}

/* Binds the calling thread to `cpu` alone. */
static inline int lb_bind_to_cpu(int cpu)
{
	struct lb_cpu_mask one = { 0 };
	unsigned width = 8 * sizeof(unsigned long);

	if (cpu < 0 || cpu >= LB_AFFINITY_CPUS)
		return -1;
	one.bits[cpu / width] = 1UL << (cpu % width);
	return lb_set_affinity(&one);
}

#endif
