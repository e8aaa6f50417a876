#ifndef LB_OBJECTS_H
#define LB_OBJECTS_H
/* The BPF objects built from bpf/, embedded so the daemon is one file to install. */
extern const unsigned char lb_balancer_object[];
extern const unsigned long lb_balancer_object_size;
extern const unsigned char lb_decap_object[];
extern const unsigned long lb_decap_object_size;
extern const unsigned char lb_bench_object[];
extern const unsigned long lb_bench_object_size;
#endif
