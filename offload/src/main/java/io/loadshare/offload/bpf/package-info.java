/** The bpf(2) system call, maps, programs, XDP links and an eBPF assembler, over FFM and without a compiler. */
package io.loadshare.offload.bpf;
