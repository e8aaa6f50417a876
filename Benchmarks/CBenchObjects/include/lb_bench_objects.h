#ifndef LB_BENCH_OBJECTS_H
#define LB_BENCH_OBJECTS_H
/*
 * The benchmark's BPF objects built from bpf/bench/, embedded for the benchmarks and the
 * tests only: lbd does not carry them.
 */
const void *lb_bench_object_bytes(void);
unsigned long lb_bench_object_size(void);
const void *lb_trivial_encap_object_bytes(void);
unsigned long lb_trivial_encap_object_size(void);
#endif
