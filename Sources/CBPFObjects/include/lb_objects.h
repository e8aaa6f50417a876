#ifndef LB_OBJECTS_H
#define LB_OBJECTS_H
/*
 * The BPF objects built from bpf/, embedded so the daemon is one file to install.
 * Accessors rather than arrays: Swift cannot import an unsized extern array.
 */
const void *lb_balancer_object_bytes(void);
unsigned long lb_balancer_object_size(void);
const void *lb_decap_object_bytes(void);
unsigned long lb_decap_object_size(void);
const void *lb_healthcheck_object_bytes(void);
unsigned long lb_healthcheck_object_size(void);
#endif
