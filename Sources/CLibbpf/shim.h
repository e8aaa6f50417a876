#ifndef CLIBBPF_SHIM_H
#define CLIBBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/vfs.h>

/*
 * The embedded BPF objects (Sources/CBPFObjects) are unsized extern arrays, which
 * Swift cannot import; these accessors hand Swift their addresses. The declarations
 * repeat lb_objects.h's exactly (the sizes are imported from CBPFObjects itself).
 */
extern const unsigned char lb_balancer_object[];
extern const unsigned char lb_decap_object[];
extern const unsigned char lb_bench_object[];
static inline const void *lbd_balancer_object_bytes(void) { return lb_balancer_object; }
static inline const void *lbd_decap_object_bytes(void) { return lb_decap_object; }
static inline const void *lbd_bench_object_bytes(void) { return lb_bench_object; }
#endif
